//! The [`Design`] trait: how a server answers one request. The world runs any `Design`
//! without knowing the catalog (`crate::handlers`), which is one user of this trait among
//! others: users implement it for their own designs, most simply with [`design_fn`].
//!
//! ```
//! use idemlab::world::design::{design_fn, Design};
//! use idemlab::vocab::{Body, Request, Response};
//! use idemlab::world::api::Cx;
//! async fn count(cx: Cx, req: Request) -> Response {
//!     let n = cx.db().incr("hits", req.amount() as i64).await;
//!     Response::ok(Body::Count(n))
//! }
//! let design = design_fn("my-counter", "adds the amount to a counter", count);
//! assert_eq!(design.name(), "my-counter");
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::vocab::{Request, Response};

use super::api::Cx;

/// The future a design returns for one request.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response>>>;

/// A handler design: how a server answers one request.
///
/// `Send + Sync`: a design is a recipe, with no state of its own (what a handler keeps lives
/// behind [`Cx`]), so searches and sweeps run it on every core at once, one run per thread.
pub trait Design: Send + Sync {
    /// The stable kebab-case name used in scenario files and reports.
    fn name(&self) -> &str;
    /// One line: what the design does and the contract it offers.
    fn summary(&self) -> &str;
    /// Serves one request.
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture;
    /// True for a *safe* design (`GET`): it must make no effect at all, so the oracle expects
    /// none instead of one per operation.
    fn is_safe(&self) -> bool {
        false
    }
    /// True when the design includes its client's key handling and that client mints a new
    /// key on every attempt (catalog row 13): it overrides the scenario's `client.retry.key`.
    fn mints_key_per_attempt(&self) -> bool {
        false
    }
    /// The store the world's executor keeps this design's running tasks in, one per run. The
    /// default boxes each future [`Design::handle`] returns; [`FnDesign`] overrides it to keep
    /// its futures unboxed in reusable slots, so that serving a request allocates nothing.
    fn tasks(&self) -> Box<dyn TaskStore + '_> {
        Box::new(BoxedTasks {
            design: self,
            slots: Vec::new(),
        })
    }
}

/// Where the world's executor keeps the futures of one design's running tasks, by slot.
///
/// The world numbers the slots: it reuses a freed slot before it takes a new one, so a new
/// slot is always the next index. A slot holds at most one task; [`TaskStore::spawn`] into a
/// slot whose task is still there replaces (and drops) it.
pub trait TaskStore {
    /// Starts serving `req` in `slot`.
    fn spawn(&mut self, slot: u32, cx: Cx, req: Request);
    /// Polls the task in `slot` once; `None` when the slot holds no task.
    fn poll(&mut self, slot: u32, context: &mut Context<'_>) -> Option<Poll<Response>>;
    /// Drops the task in `slot`, if there is one.
    fn remove(&mut self, slot: u32);
    /// Drops every task.
    fn clear(&mut self);
}

/// The default store: one boxed future per task, from [`Design::handle`].
struct BoxedTasks<'a, D: ?Sized> {
    design: &'a D,
    slots: Vec<Option<HandlerFuture>>,
}

impl<D: Design + ?Sized> TaskStore for BoxedTasks<'_, D> {
    fn spawn(&mut self, slot: u32, cx: Cx, req: Request) {
        let fut = self.design.handle(cx, req);
        *slot_of(&mut self.slots, slot, || None) = Some(fut);
    }
    fn poll(&mut self, slot: u32, context: &mut Context<'_>) -> Option<Poll<Response>> {
        let fut = self.slots.get_mut(slot as usize)?.as_mut()?;
        Some(fut.as_mut().poll(context))
    }
    fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            *entry = None;
        }
    }
    fn clear(&mut self) {
        self.slots.clear();
    }
}

/// [`FnDesign`]'s store: each slot is a pinned box holding the future in place, allocated once
/// when the slot is first used and reused by every later task in it ([`Pin::set`] drops the
/// old future and writes the new one without moving the box).
struct FnTasks<'a, F, Fut> {
    f: &'a F,
    slots: Vec<Pin<Box<Option<Fut>>>>,
}

impl<F, Fut> TaskStore for FnTasks<'_, F, Fut>
where
    F: Fn(Cx, Request) -> Fut,
    Fut: Future<Output = Response>,
{
    fn spawn(&mut self, slot: u32, cx: Cx, req: Request) {
        let fut = (self.f)(cx, req);
        slot_of(&mut self.slots, slot, || Box::pin(None)).set(Some(fut));
    }
    fn poll(&mut self, slot: u32, context: &mut Context<'_>) -> Option<Poll<Response>> {
        let fut = self.slots.get_mut(slot as usize)?.as_mut().as_pin_mut()?;
        Some(fut.poll(context))
    }
    fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            entry.set(None);
        }
    }
    fn clear(&mut self) {
        self.slots.clear();
    }
}

/// The entry for `slot`, growing `slots` with `empty()` up to it.
fn slot_of<T>(slots: &mut Vec<T>, slot: u32, empty: impl Fn() -> T) -> &mut T {
    let index = slot as usize;
    while slots.len() <= index {
        slots.push(empty());
    }
    &mut slots[index]
}

/// A design made from an async function; see [`design_fn`].
pub struct FnDesign<F> {
    name: String,
    summary: String,
    f: F,
    safe: bool,
    key_per_attempt: bool,
}

impl<F> FnDesign<F> {
    /// Marks the design safe (no effects expected; see [`Design::is_safe`]).
    pub fn safe(mut self) -> Self {
        self.safe = true;
        self
    }
    /// Marks the design's client as minting a key per attempt (see
    /// [`Design::mints_key_per_attempt`]).
    pub fn key_per_attempt(mut self) -> Self {
        self.key_per_attempt = true;
        self
    }
}

/// Turns `async fn(Cx, Request) -> Response` into a [`Design`].
pub fn design_fn<F, Fut>(name: &str, summary: &str, f: F) -> FnDesign<F>
where
    F: Fn(Cx, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response> + 'static,
{
    FnDesign {
        name: name.to_string(),
        summary: summary.to_string(),
        f,
        safe: false,
        key_per_attempt: false,
    }
}

impl<F, Fut> Design for FnDesign<F>
where
    F: Fn(Cx, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response> + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn summary(&self) -> &str {
        &self.summary
    }
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture {
        Box::pin((self.f)(cx, req))
    }
    fn tasks(&self) -> Box<dyn TaskStore + '_> {
        Box::new(FnTasks {
            f: &self.f,
            slots: Vec::new(),
        })
    }
    fn is_safe(&self) -> bool {
        self.safe
    }
    fn mints_key_per_attempt(&self) -> bool {
        self.key_per_attempt
    }
}
