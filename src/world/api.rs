//! What a handler design sees: the request, the response it builds, the values it keeps in the
//! store, and [`Cx`], its window on the simulated world.
//!
//! A design is an `async fn(Cx, Request) -> Response`. Every `Cx` operation takes simulated time
//! and is a **suspension point** (other requests' handlers run while this one waits: that is how
//! a check-then-act race happens) and a **crash point** (a fault plan may crash the server just
//! before or just after it). Handlers keep no state of their own: what must survive a request
//! lives in the durable store ([`Cx::db`]), the per-server volatile store ([`Cx::cache`], lost
//! on a crash) or the outside world ([`Cx::payments`], whose charges are never rolled back).
//!
//! ```
//! use idemlab::handlers::api::{Body, Cx, Request, Response};
//! async fn charge_once(cx: Cx, req: Request) -> Response {
//!     let key = match req.idempotency_key() {
//!         Some(key) => format!("idem:{key}"),
//!         None => return Response::key_missing(),
//!     };
//!     if let Some(prev) = cx.db().get(&key).await.and_then(|v| v.response()) {
//!         return prev;
//!     }
//!     let receipt = match cx.payments().charge(req.amount()).await {
//!         Ok(receipt) => receipt,
//!         Err(unavailable) => return unavailable.into(), // 503: nothing charged
//!     };
//!     let response = Response::created(Body::Receipt(receipt));
//!     cx.db().put(&key, response.into()).await;
//!     response
//! }
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use smallvec::SmallVec;

use crate::fate::Identity;
use crate::time::{SimDuration, SimTime};
use crate::vocab::{EffectKind, Response, StepKind, Value};

use super::shared::{PointMode, Shared, TaskInfo};
use super::{Point, StepId, StoreKey};

/// The handler's window on the world: one per request being served. Cheap to clone.
#[derive(Clone)]
pub struct Cx {
    pub(crate) shared: Rc<RefCell<Shared>>,
    pub(crate) task: TaskInfo,
}

impl Cx {
    /// The durable store (the database): survives crashes.
    pub fn db(&self) -> Db<'_> {
        Db {
            cx: self,
            durable: true,
        }
    }

    /// This server's volatile store (process memory): lost when the server crashes.
    pub fn cache(&self) -> Db<'_> {
        Db {
            cx: self,
            durable: false,
        }
    }

    /// The payment provider in the outside world. Its charges are never rolled back.
    pub fn payments(&self) -> Payments<'_> {
        Payments { cx: self }
    }

    /// The free-form field `name` of the request's payload (`fields` of its operation's
    /// `[[workload.op]]` in the scenario), if it has one.
    pub fn field(&self, name: &str) -> Option<String> {
        let shared = self.shared.borrow();
        shared
            .payload_fields
            .get(&self.task.req.op)
            .and_then(|fields| fields.get(name))
            .cloned()
    }

    /// The current simulated time.
    ///
    /// A design that branches on the absolute time makes every operation's fate depend on
    /// when the others ran: `explore` notices the call and then decides no plan without
    /// running it (see `check::explore`). For a unique value use [`Cx::unique_id`]; for
    /// expiry, [`Db::put_for`] with [`Cx::key_ttl`].
    pub fn now(&self) -> SimTime {
        let mut shared = self.shared.borrow_mut();
        if let Some(recorder) = shared.journal.recorder.as_mut() {
            recorder.clock();
        }
        shared.now()
    }

    /// A value no other call in the run returns (an order number, a token, a row id): built
    /// from the request's identity (its operation, attempt and network copy, which a design
    /// cannot read otherwise) and how many ids this request's handler asked for before, so it
    /// is the same under every design and whatever the other requests do, and replays exactly.
    /// Like a UUID, it says nothing a design may branch on.
    pub fn unique_id(&self) -> String {
        let r = self.task.req;
        let n = self.shared.borrow_mut().tasks.next_id_index(&self.task);
        format!("id-{}-{}-{}-{n}", r.op, r.attempt, r.copy)
    }

    /// How long idempotency records live (`server.key_ttl` in the scenario); `None`: for ever.
    /// Designs pass it to [`Db::put_for`] so that their records expire as the scenario says.
    pub fn key_ttl(&self) -> Option<SimDuration> {
        self.shared.borrow().timings.key_ttl
    }

    /// Acknowledges the message this handler is consuming, now (a consumer's `ack`; for an
    /// HTTP request, answering early). The broker stops redelivering it once the ack arrives;
    /// the handler's own return value is then not sent. A step like any other: it can crash.
    ///
    /// An ack carries no answer: a queue has no reply channel, and the oracle records an ack
    /// as `200` with an empty body. A consumer whose outcome matters to the producer (an order
    /// id, a refusal) returns it from the handler instead of acking early: the return value is
    /// then the ack and the answer at once.
    pub fn ack(&self) -> impl Future<Output = ()> + '_ {
        self.step(StepKind::Ack, |w, t| w.ack(t))
    }

    /// A suspension point of `kind` that completes after its latency by running `apply` on the
    /// world. The latency is drawn from the fates by the step's identity.
    fn step<T, F>(&self, kind: StepKind, apply: F) -> Step<'_, T, F>
    where
        F: FnOnce(&mut Shared, &TaskInfo) -> T,
    {
        Step {
            cx: self,
            kind,
            apply: Some(apply),
            state: StepState::Init,
            position: 0,
        }
    }
}

/// A handle on the durable or the volatile store.
pub struct Db<'a> {
    cx: &'a Cx,
    durable: bool,
}

impl<'a> Db<'a> {
    /// Reads `key`.
    pub fn get<'k>(&self, key: &'k str) -> impl Future<Output = Option<Value>> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Get, move |w, t| {
            w.touch(t, key, durable);
            w.live(durable, t.server, key).cloned()
        })
    }

    /// Writes `key` (last writer wins).
    pub fn put<'k>(&self, key: &'k str, value: Value) -> impl Future<Output = ()> + use<'a, 'k> {
        self.put_for(key, value, None)
    }

    /// Writes `key` to live for `ttl` (`None`: for ever): after that, reads find nothing, as
    /// when a reaper prunes idempotency records.
    pub fn put_for<'k>(
        &self,
        key: &'k str,
        value: Value,
        ttl: Option<SimDuration>,
    ) -> impl Future<Output = ()> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Put, move |w, t| {
            w.touch(t, key, durable);
            w.declared_write(t, durable, key, Some(&value));
            w.upsert(durable, t.server, key, value);
            w.set_expiry(durable, key, ttl);
        })
    }

    /// `PUT`: sets resource `key` to `value` (an absolute write). An effect (`write`) only when
    /// the value changes, so repeating it changes nothing. Returns true if it changed.
    pub fn write<'k>(
        &self,
        key: &'k str,
        value: Value,
    ) -> impl Future<Output = bool> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Write, move |w, t| {
            w.touch(t, key, durable);
            if w.live(durable, t.server, key) == Some(&value) {
                return false;
            }
            let amount = value.as_int().map_or(0, i64::unsigned_abs);
            w.upsert(durable, t.server, key, value);
            w.record_effect(t, EffectKind::Write, amount);
            true
        })
    }

    /// `DELETE`: marks resource `key` deleted. An effect (`delete`) only the first time;
    /// returns false when it was already gone.
    pub fn remove<'k>(&self, key: &'k str) -> impl Future<Output = bool> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Delete, move |w, t| {
            w.touch(t, key, durable);
            if w.live(durable, t.server, key) == Some(&Value::Tombstone) {
                return false;
            }
            w.upsert(durable, t.server, key, Value::Tombstone);
            w.record_effect(t, EffectKind::Delete, 0);
            true
        })
    }

    /// `If-Match: v{expected}`: sets resource `key` to `value` only if its version is
    /// `expected` (an absent resource is version 0). `Ok(new version)`, an effect (`write`);
    /// or `Err(current version)`, nothing written: answer 412.
    pub fn write_if_version<'k>(
        &self,
        key: &'k str,
        expected: u64,
        value: i64,
    ) -> impl Future<Output = Result<u64, u64>> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::CompareAndSet, move |w, t| {
            w.touch(t, key, durable);
            let current = match w.live(durable, t.server, key) {
                Some(Value::Versioned { version, .. }) => *version,
                _ => 0,
            };
            if current != expected {
                w.tasks.claim_won = Some(false);
                return Err(current);
            }
            w.tasks.claim_won = Some(true);
            let version = current + 1;
            w.upsert(durable, t.server, key, Value::Versioned { version, value });
            w.record_effect(t, EffectKind::Write, value.unsigned_abs());
            Ok(version)
        })
    }

    /// Removes `key`; true if it was there.
    pub fn delete<'k>(&self, key: &'k str) -> impl Future<Output = bool> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Delete, move |w, t| {
            w.touch(t, key, durable);
            w.declared_write(t, durable, key, None);
            w.store.get_mut(durable, t.server).remove(key).is_some()
        })
    }

    /// `SELECT ... FOR UPDATE NOWAIT`: takes the row lock on `key` for this request, or
    /// `Err(Locked)` at once when another request holds it. The lock lasts as long as the
    /// request (its database session): it is released when the handler returns, and when the
    /// server crashes. Lock the key row first, and two attempts in flight cannot both proceed.
    pub fn lock<'k>(&self, key: &'k str) -> impl Future<Output = Result<(), Locked>> + use<'a, 'k> {
        self.cx.step(StepKind::Lock, move |w, t| {
            w.touch(t, key, true);
            let won = w.store.lock(t, key);
            w.tasks.claim_won = Some(won);
            if won { Ok(()) } else { Err(Locked) }
        })
    }

    /// Atomically writes `value` unless `key` exists; `Err(existing)` if it does.
    pub fn insert_if_absent<'k>(
        &self,
        key: &'k str,
        value: Value,
    ) -> impl Future<Output = Result<(), Value>> + use<'a, 'k> {
        self.insert_if_absent_for(key, value, None)
    }

    /// [`Db::insert_if_absent`] for a value that lives `ttl` (`None`: for ever).
    pub fn insert_if_absent_for<'k>(
        &self,
        key: &'k str,
        value: Value,
        ttl: Option<SimDuration>,
    ) -> impl Future<Output = Result<(), Value>> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::InsertIfAbsent, move |w, t| {
            w.touch(t, key, durable);
            if let Some(existing) = w.live(durable, t.server, key) {
                let existing = existing.clone();
                w.tasks.claim_won = Some(false);
                return Err(existing);
            }
            w.tasks.claim_won = Some(true);
            w.declared_write(t, durable, key, Some(&value));
            w.upsert(durable, t.server, key, value);
            w.set_expiry(durable, key, ttl);
            Ok(())
        })
    }

    /// Atomically replaces `key` when it currently holds `expected` (`None`: absent);
    /// `Err(current)` otherwise.
    pub fn compare_and_set<'k, 'v>(
        &self,
        key: &'k str,
        expected: Option<&'v Value>,
        new: Value,
    ) -> impl Future<Output = Result<(), Option<Value>>> + use<'a, 'k, 'v> {
        self.compare_and_set_for(key, expected, new, None)
    }

    /// [`Db::compare_and_set`] for a value that lives `ttl` (`None`: for ever).
    pub fn compare_and_set_for<'k, 'v>(
        &self,
        key: &'k str,
        expected: Option<&'v Value>,
        new: Value,
        ttl: Option<SimDuration>,
    ) -> impl Future<Output = Result<(), Option<Value>>> + use<'a, 'k, 'v> {
        let durable = self.durable;
        self.cx.step(StepKind::CompareAndSet, move |w, t| {
            w.touch(t, key, durable);
            let current = w.live(durable, t.server, key);
            if current == expected {
                w.tasks.claim_won = Some(true);
                w.declared_write(t, durable, key, Some(&new));
                w.upsert(durable, t.server, key, new);
                w.set_expiry(durable, key, ttl);
                Ok(())
            } else {
                let current = current.cloned();
                w.tasks.claim_won = Some(false);
                Err(current)
            }
        })
    }

    /// Adds `by` to the counter at `key` and returns the new value. Each call is an effect
    /// (`increment`): applying it twice counts twice.
    pub fn incr<'k>(&self, key: &'k str, by: i64) -> impl Future<Output = i64> + use<'a, 'k> {
        let durable = self.durable;
        self.cx.step(StepKind::Incr, move |w, t| {
            w.touch(t, key, durable);
            let next = w.update(durable, t.server, key, |current| {
                let next = current.and_then(Value::as_int).unwrap_or(0) + by;
                (Value::Int { value: next }, next)
            });
            w.record_effect(t, EffectKind::Increment, by.unsigned_abs());
            next
        })
    }

    /// Creates an order row for `amount` and returns its id. Each call is an effect (`order`).
    pub fn create_order(&self, amount: u64) -> impl Future<Output = u64> + use<'a> {
        self.cx
            .step(StepKind::CreateOrder, move |w, t| w.create_order(t, amount))
    }

    /// Runs `body` as one transaction: one suspension point, all of its writes and effects
    /// applied together, or none of them when `body` returns `Err` or the server crashes first.
    pub fn transaction<T, E, B>(
        &self,
        body: B,
    ) -> impl Future<Output = Result<T, E>> + use<'a, T, E, B>
    where
        B: FnOnce(&mut Txn<'_>) -> Result<T, E>,
    {
        let durable = self.durable;
        self.cx.step(StepKind::Transaction, move |w, t| {
            let mut txn = Txn {
                world: w,
                task: t,
                durable,
                writes: SmallVec::new(),
                orders: SmallVec::new(),
            };
            let result = body(&mut txn);
            if result.is_ok() {
                txn.commit();
            }
            result
        })
    }
}

/// One write of a transaction: the key, its value (`None`: removed) and how long it lives.
type Write = (StoreKey, Option<Value>, Option<SimDuration>);

/// A transaction in progress: reads see its own writes; nothing is visible to others until it
/// commits.
pub struct Txn<'a> {
    world: &'a mut Shared,
    task: &'a TaskInfo,
    durable: bool,
    /// Held inline up to two writes and two orders (the built-in designs' transactions write
    /// one key and create at most one order): no allocation for a transaction's bookkeeping.
    writes: SmallVec<[Write; 2]>,
    orders: SmallVec<[u64; 2]>,
}

impl Txn<'_> {
    /// Reads `key`, seeing this transaction's own writes.
    pub fn get(&mut self, key: &str) -> Option<Value> {
        self.world.touch(self.task, key, self.durable);
        if let Some((_, v, _)) = self.writes.iter().rev().find(|(k, _, _)| **k == *key) {
            return v.clone();
        }
        self.world
            .live(self.durable, self.task.server, key)
            .cloned()
    }

    /// Writes `key` at commit.
    pub fn put(&mut self, key: &str, value: Value) {
        self.world.touch(self.task, key, self.durable);
        self.writes.push((StoreKey::from(key), Some(value), None));
    }

    /// Writes `key` at commit, to live for `ttl` (`None`: for ever); see [`Db::put_for`].
    pub fn put_for(&mut self, key: &str, value: Value, ttl: Option<SimDuration>) {
        self.world.touch(self.task, key, self.durable);
        self.writes.push((StoreKey::from(key), Some(value), ttl));
    }

    /// Removes `key` at commit.
    pub fn delete(&mut self, key: &str) {
        self.world.touch(self.task, key, self.durable);
        self.writes.push((StoreKey::from(key), None, None));
    }

    /// Writes `value` unless `key` exists (seen by this transaction); `Err(existing)` if it does.
    pub fn insert_if_absent(&mut self, key: &str, value: Value) -> Result<(), Value> {
        match self.get(key) {
            Some(existing) => Err(existing),
            None => {
                self.put(key, value);
                Ok(())
            }
        }
    }

    /// Creates an order row at commit and returns the id it will have.
    pub fn create_order(&mut self, amount: u64) -> u64 {
        let id = self.world.outside.next_order_id() + self.orders.len() as u64;
        self.orders.push(amount);
        id
    }

    fn commit(self) {
        let Txn {
            world,
            task,
            durable,
            writes,
            orders,
        } = self;
        for (key, value, ttl) in writes {
            world.declared_write(task, durable, &key, value.as_ref());
            world.set_expiry(durable, &key, ttl);
            let store = world.store.get_mut(durable, task.server);
            match value {
                Some(v) => {
                    store.insert(key, v);
                }
                None => {
                    store.remove(&key);
                }
            }
        }
        for amount in orders {
            world.create_order(task, amount);
        }
    }
}

/// The payment provider: a foreign system whose effects cannot join a local transaction.
pub struct Payments<'a> {
    cx: &'a Cx,
}

impl<'a> Payments<'a> {
    /// Charges `amount` and returns the receipt id. Each call is an effect (`charge`) that
    /// stays made whatever happens to the server afterwards. When the provider is unavailable
    /// (an `unavailable` fault, or `provider.unavailable` in the scenario) it charges nothing
    /// and answers [`Unavailable`], which converts into a 503 response.
    pub fn charge(&self, amount: u64) -> impl Future<Output = Result<u64, Unavailable>> + use<'a> {
        self.cx.step(StepKind::Charge, move |w, t| {
            if w.provider_unavailable(t) {
                return Err(Unavailable);
            }
            Ok(w.charge(t, amount))
        })
    }

    /// Charges `amount` with the provider's own idempotency key (as Stripe's API takes one):
    /// the first call with `key` charges; every later call with the same key answers the same
    /// receipt and charges nothing. This is how a foreign call joins an idempotent design.
    pub fn charge_with_key<'k>(
        &self,
        key: &'k str,
        amount: u64,
    ) -> impl Future<Output = Result<u64, Unavailable>> + use<'a, 'k> {
        self.cx.step(StepKind::Charge, move |w, t| {
            // The provider's key is state the operations may share, like a store key.
            w.touch(t, key, true);
            if w.provider_unavailable(t) {
                return Err(Unavailable);
            }
            Ok(w.charge_with_key(t, key, amount))
        })
    }
}

/// Another request holds the row lock (`Db::lock`): answer 409 and let the client retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked;

impl From<Locked> for Response {
    fn from(_: Locked) -> Response {
        Response::key_in_use()
    }
}

/// The payment provider answered 503: it was unavailable and charged nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

impl From<Unavailable> for Response {
    fn from(_: Unavailable) -> Response {
        Response::unavailable()
    }
}

enum StepState {
    Init,
    Waiting,
    Halted,
}

/// The future behind every `Cx` operation; see [`Cx::step`].
struct Step<'a, T, F: FnOnce(&mut Shared, &TaskInfo) -> T> {
    cx: &'a Cx,
    kind: StepKind,
    apply: Option<F>,
    state: StepState,
    /// The step's position in the handler, from 1, once it has begun.
    position: u32,
}

// `Step` holds no self-references: moving it between polls is fine.
impl<T, F: FnOnce(&mut Shared, &TaskInfo) -> T> Unpin for Step<'_, T, F> {}

impl<T, F: FnOnce(&mut Shared, &TaskInfo) -> T> Future for Step<'_, T, F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _ctx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        let task = &this.cx.task;
        let mut world = this.cx.shared.borrow_mut();
        match this.state {
            StepState::Init => {
                let index = world.tasks.next_step_index(task);
                let position = index + 1;
                this.position = position;
                let identity = Identity::step(task.req.op, task.req.attempt, task.req.copy, index);
                let (latency, stall) = world.step_latency(task, this.kind, identity, position);
                let mode = world.point_mode();
                if mode == PointMode::Count {
                    world.pass_point();
                }
                if mode == PointMode::Record {
                    let r = &task.req;
                    let now = world.now().0;
                    let point = Point::StepStart {
                        server: task.server,
                        step: StepId {
                            op: r.op,
                            attempt: r.attempt,
                            copy: r.copy,
                            position,
                            kind: this.kind,
                        },
                        at_us: now,
                        done_us: now + latency.0,
                        slowed_us: stall.0,
                    };
                    world.point(|| point);
                }
                if world.crash_point(task, this.kind, position, false) {
                    this.state = StepState::Halted;
                    return Poll::Pending;
                }
                world.schedule_wake(task, latency + stall);
                this.state = StepState::Waiting;
                Poll::Pending
            }
            StepState::Waiting => {
                let Some(apply) = this.apply.take() else {
                    this.state = StepState::Halted;
                    return Poll::Pending;
                };
                let position = this.position;
                let mode = world.point_mode();
                if mode == PointMode::Count {
                    world.pass_point();
                }
                if mode == PointMode::Record {
                    let r = task.req;
                    let kind = this.kind;
                    let now = world.now().0;
                    let unavailable = kind == StepKind::Charge
                        && world.plan.unavailable(r.op, r.attempt, r.copy, position);
                    let server = task.server;
                    world.point(|| Point::StepDone {
                        server,
                        step: StepId {
                            op: r.op,
                            attempt: r.attempt,
                            copy: r.copy,
                            position,
                            kind,
                        },
                        at_us: now,
                        unavailable,
                    });
                }
                let out = apply(&mut world, task);
                world.trace_step(task, this.kind);
                if world.crash_point(task, this.kind, position, true) {
                    this.state = StepState::Halted;
                    return Poll::Pending;
                }
                Poll::Ready(out)
            }
            // The server crashed at this step: the task is about to be dropped.
            StepState::Halted => Poll::Pending,
        }
    }
}
