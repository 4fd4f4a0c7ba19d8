//! The catalog of handler designs, and the [`Design`] trait users implement for their own.
//!
//! A design is an async function over a [`Cx`]; [`design_fn`] turns one into a [`Design`]:
//!
//! ```
//! use idemlab::handlers::{design_fn, Design};
//! use idemlab::handlers::api::{Body, Cx, Request, Response};
//! async fn count(cx: Cx, req: Request) -> Response {
//!     let n = cx.db().incr("hits", req.amount() as i64).await;
//!     Response::ok(Body::Count(n))
//! }
//! let design = design_fn("my-counter", "adds the amount to a counter", count);
//! assert_eq!(design.name(), "my-counter");
//! ```
//!
//! The built-in designs live one family per file: [`basic`] (no idempotency at all) and
//! [`keys`] (idempotency keys). [`catalog`] lists them; [`lookup`] finds one by name and, for a
//! name it does not know, lists the known ones.

pub mod api;
pub mod basic;
pub mod keys;

use std::future::Future;
use std::pin::Pin;

use api::{Cx, Request, Response};

/// The future a design returns for one request.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response>>>;

/// A handler design: how a server answers one request.
pub trait Design {
    /// The stable kebab-case name used in scenario files and reports.
    fn name(&self) -> &str;
    /// One line: what the design does and the contract it offers.
    fn summary(&self) -> &str;
    /// Serves one request.
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture;
}

/// A design made from an async function; see [`design_fn`].
pub struct FnDesign<F> {
    name: String,
    summary: String,
    f: F,
}

/// Turns `async fn(Cx, Request) -> Response` into a [`Design`].
pub fn design_fn<F, Fut>(name: &str, summary: &str, f: F) -> FnDesign<F>
where
    F: Fn(Cx, Request) -> Fut,
    Fut: Future<Output = Response> + 'static,
{
    FnDesign {
        name: name.to_string(),
        summary: summary.to_string(),
        f,
    }
}

impl<F, Fut> Design for FnDesign<F>
where
    F: Fn(Cx, Request) -> Fut,
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
}

/// Every built-in design, in catalog order.
pub fn catalog() -> Vec<Box<dyn Design>> {
    vec![
        Box::new(design_fn("naive", basic::NAIVE, basic::naive)),
        Box::new(design_fn("counter", basic::COUNTER, basic::counter)),
        Box::new(design_fn(
            "check-then-act",
            keys::CHECK_THEN_ACT,
            keys::check_then_act,
        )),
        Box::new(design_fn("atomic-key", keys::ATOMIC_KEY, keys::atomic_key)),
        Box::new(design_fn(
            "key-in-transaction",
            keys::KEY_IN_TRANSACTION,
            keys::key_in_transaction,
        )),
        Box::new(design_fn(
            "claim-with-lease",
            keys::CLAIM_WITH_LEASE,
            keys::claim_with_lease,
        )),
    ]
}

/// The names of every built-in design, in catalog order.
pub fn names() -> Vec<String> {
    catalog().iter().map(|d| d.name().to_string()).collect()
}

/// A design name the catalog does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown design `{given}`{}; known designs: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
pub struct UnknownDesign {
    /// The name given.
    pub given: String,
    /// The closest known name, if one is close.
    pub suggestion: Option<String>,
    /// Every known name.
    pub known: Vec<String>,
}

/// The built-in design called `name`.
pub fn lookup(name: &str) -> Result<Box<dyn Design>, UnknownDesign> {
    let mut all = catalog();
    if let Some(i) = all.iter().position(|d| d.name() == name) {
        return Ok(all.swap_remove(i));
    }
    let known = names();
    let suggestion =
        crate::suggest::closest(name, known.iter().map(String::as_str)).map(str::to_string);
    Err(UnknownDesign {
        given: name.to_string(),
        suggestion,
        known,
    })
}
