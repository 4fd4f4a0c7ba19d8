//! The state a handler can reach through [`Cx`](super::api::Cx): the stores, the payment
//! provider, the ledger, the clock, the trace and the recorder. The world's own parts (clients,
//! servers, the executor) live beside it in [`super`]; `Cx` reaches only this.

use std::collections::BTreeMap;

use crate::fate::{Decision, Fates, Identity};
use crate::fault::{FaultAtom, FaultPlan, When};
use crate::settings::LatencyRange;
use crate::sim::Kernel;
use crate::time::{SimDuration, SimTime};
use crate::trace::{CrashCause, Detail, EventKind, NO_OP, Node, Trace, TraceEvent};
use crate::vocab::{EffectKind, Request, Response, StepKind, Value};

use super::points::{self, Point};

/// One effect in the ledger, tagged with the logical operation that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// When it was made, in microseconds.
    pub time_us: u64,
    /// The logical operation.
    pub op: u32,
    /// What kind of effect.
    pub kind: EffectKind,
    /// Its amount.
    pub amount: u64,
}

/// Kernel events of the world.
pub(crate) enum Ev {
    /// A client begins logical operation `op`.
    OpStart { op: u32 },
    /// The client sends the current attempt of `op` (after any backoff).
    Send { op: u32 },
    /// A message in flight (`Shared::in_flight[slot]`) reaches its destination. Messages wait
    /// in a slab so that queue entries stay small.
    Arrives { slot: u32 },
    /// The timer of `attempt` of `op` fires.
    Timeout { op: u32, attempt: u32 },
    /// A task's processing delay is over: poll it for the first time.
    Start { slot: u32, generation: u32 },
    /// The step a task waits on has completed: poll it.
    Wake { slot: u32, generation: u32 },
    /// A scripted crash by time.
    CrashAt { server: u16 },
    /// A crashed server comes back.
    Restart { server: u16 },
    /// The broker redrives a dead-lettered message.
    Redrive { op: u32 },
}

/// A message on the wire.
pub(crate) enum InFlight {
    /// A request copy on its way to `server`.
    Request { req: Request, server: u16 },
    /// A response copy on its way to the client.
    Response { req: Request, response: Response },
}

/// Messages on the wire, by slot; freed slots are reused.
#[derive(Default)]
pub(crate) struct Wire {
    slots: Vec<Option<InFlight>>,
    free: Vec<u32>,
}

impl Wire {
    pub(crate) fn put(&mut self, msg: InFlight) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(msg);
                slot
            }
            None => {
                self.slots.push(Some(msg));
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub(crate) fn take(&mut self, slot: u32) -> Option<InFlight> {
        let msg = self.slots.get_mut(slot as usize)?.take();
        if msg.is_some() {
            self.free.push(slot);
        }
        msg
    }
}

/// What the running handler knows about itself. A plain copyable value, so that a `Cx` costs
/// no allocation; the task's step counter lives in [`Shared`], indexed by slot, so that every
/// clone of a `Cx` numbers steps the same way.
#[derive(Clone, Copy, Debug)]
pub struct TaskInfo {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) server: u16,
    pub(crate) req: Request,
}

/// Timing settings the steps need.
pub(crate) struct Timings {
    pub store_latency: LatencyRange,
    pub external_latency: LatencyRange,
    pub key_ttl: Option<SimDuration>,
    pub provider_unavailable: f64,
    pub network_latency: LatencyRange,
}

/// The state a handler can reach through `Cx`: stores, provider, ledger, clock, trace.
pub struct Shared {
    pub(crate) kernel: Kernel<Ev>,
    pub(crate) fates: Fates,
    pub(crate) plan: FaultPlan,
    /// Which crash-at-step atoms of the plan have fired (each fires once).
    pub(crate) fired: Vec<bool>,
    pub(crate) timings: Timings,
    pub(crate) trace: Trace,
    /// False with [`Recording::Metrics`]: events are counted, not stored.
    pub(crate) recording: bool,

    /// Events logged but not stored (with [`Recording::Metrics`]).
    pub(crate) unrecorded: u64,
    /// With [`Recording::Explore`]: the fault points and fingerprints.
    pub(crate) recorder: Option<Box<points::Recorder>>,
    /// Whether the atomic claim the current step made won (set by the step, read when it is
    /// traced).
    pub(crate) claim_won: Option<bool>,
    /// `[oracle] effect_keys`: key prefixes whose writes are effects.
    pub(crate) effect_keys: Vec<String>,
    /// The `(operation, key, value hash)` writes and `(operation, key)` removals already
    /// counted as effects on declared keys: each counts once per operation.
    pub(crate) declared: std::collections::BTreeSet<(u32, String, u64)>,
    /// The free-form fields of the operations' payloads, by operation (`Cx::field`).
    pub(crate) payload_fields: BTreeMap<u32, BTreeMap<String, String>>,
    pub(crate) durable: BTreeMap<String, Value>,
    pub(crate) volatile: Vec<BTreeMap<String, Value>>,
    pub(crate) ledger: Vec<LedgerEntry>,
    /// Applications so far per operation and effect kind (indexed by `op - 1`, then by
    /// `EffectKind as usize`): the running count the trace shows.
    pub(crate) applied: Vec<[u32; EffectKind::COUNT]>,
    pub(crate) orders_created: u64,
    pub(crate) charges_made: u64,
    /// Calls to the payment provider, answered or not (a design that never calls it has 0).
    pub(crate) provider_calls: u64,
    /// The payment provider's own idempotency keys: key to the receipt it answered with.
    pub(crate) provider_keys: BTreeMap<String, u64>,
    /// Messages on the wire.
    pub(crate) in_flight: Wire,
    /// The next step index of the task in each executor slot.
    pub(crate) task_steps: Vec<u32>,
    /// Ids handed out by `Cx::unique_id` per task slot, counting from 0 for each new task.
    pub(crate) task_ids: Vec<u32>,
    /// Set by a step that hit a crash point; the executor crashes the server after the poll.
    pub(crate) crash_requested: Option<(u16, CrashCause)>,
    /// When each expiring durable key expires, in microseconds.
    pub(crate) expiry: BTreeMap<String, u64>,
    /// Tasks that called `cx.ack()` during the current poll: the executor sends their acks.
    pub(crate) pending_acks: Vec<TaskInfo>,
    /// Whether the task in each executor slot has acked (its return value is then not sent).
    pub(crate) acked: Vec<bool>,
    /// Row locks, by key: the server, slot and generation of the task holding each. A lock
    /// lives as long as its task (its database session): released when the task ends or its
    /// server crashes.
    pub(crate) locks: BTreeMap<String, (u16, u32, u32)>,
}

impl Shared {
    pub(crate) fn now(&self) -> SimTime {
        self.kernel.now()
    }

    /// Every event logged so far, stored or not (the trace budget counts these).
    pub(crate) fn logged(&self) -> u64 {
        self.trace.len() as u64 + self.unrecorded
    }

    /// Appends an event to the trace at the current time.
    #[inline(always)]
    pub(crate) fn log(
        &mut self,
        node: Node,
        kind: EventKind,
        req: Option<&Request>,
        detail: Detail,
    ) {
        let (op, attempt, copy, key) = match req {
            Some(r) => (r.op, r.attempt as u16, r.copy as u8, r.key),
            None => (NO_OP, 0, 0, None),
        };
        self.log_op(node, kind, op, attempt, copy, key, detail);
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn log_op(
        &mut self,
        node: Node,
        kind: EventKind,
        op: u32,
        attempt: u16,
        copy: u8,
        key: Option<crate::vocab::IdemKey>,
        detail: Detail,
    ) {
        // The common cases stay as short as they were before searches recorded anything: a
        // sweep's runs count, a traced run pushes; a search's runs take the out-of-line path.
        if self.recorder.is_some() {
            let event = TraceEvent {
                time_us: self.kernel.now().0,
                op,
                attempt,
                copy,
                kind,
                node,
                key,
                detail,
            };
            self.log_explored(event);
            return;
        }
        if !self.recording {
            self.unrecorded += 1;
            return;
        }
        let time_us = self.kernel.now().0;
        self.trace.push(TraceEvent {
            time_us,
            op,
            attempt,
            copy,
            kind,
            node,
            key,
            detail,
        });
    }

    /// An event of a run with a recorder: fingerprinted, and traced when the run keeps a trace.
    #[cold]
    #[inline(never)]
    fn log_explored(&mut self, event: TraceEvent) {
        if let Some(recorder) = self.recorder.as_deref_mut() {
            recorder.event(&event);
        }
        if self.recording {
            self.trace.push(event);
        } else {
            self.unrecorded += 1;
        }
    }

    /// Records a fault point, when the run is exploring.
    #[inline]
    pub(crate) fn point(&mut self, point: impl FnOnce() -> Point) {
        if let Some(recorder) = self.recorder.as_deref_mut()
            && recorder.full()
        {
            recorder.point(point());
        }
    }

    /// True when the run records its fault points.
    #[inline]
    pub(crate) fn records_points(&self) -> bool {
        self.recorder.as_deref().is_some_and(points::Recorder::full)
    }

    /// Notes that `task`'s handler touched store `key`, when the run is exploring.
    #[inline]
    pub(crate) fn touch(&mut self, task: &TaskInfo, key: &str, durable: bool) {
        if let Some(recorder) = self.recorder.as_deref_mut() {
            recorder.touch(task.req.op, key, durable);
        }
    }

    /// Counts a write of `new` (`None`: a removal) to a durable key the scenario declares an
    /// effect key (`[oracle] effect_keys`): a `write` effect when the key gets a value this
    /// operation has not written there before, a `delete` effect when this operation first
    /// removes it. Call it before the write, with the store as it was.
    pub(crate) fn declared_write(
        &mut self,
        task: &TaskInfo,
        durable: bool,
        key: &str,
        new: Option<&Value>,
    ) {
        if !durable
            || self.effect_keys.is_empty()
            || !self.effect_keys.iter().any(|p| key.starts_with(p.as_str()))
        {
            return;
        }
        let old = self.live(true, task.server, key).cloned();
        let op = task.req.op;
        match new {
            Some(value) if old.as_ref() != Some(value) => {
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                value.hash(&mut h);
                if self.declared.insert((op, key.to_string(), h.finish())) {
                    let amount = value.as_int().map_or(0, i64::unsigned_abs);
                    self.record_effect(task, EffectKind::Write, amount);
                }
            }
            None if old.is_some_and(|v| v != Value::Tombstone)
                && self.declared.insert((op, key.to_string(), u64::MAX)) =>
            {
                self.record_effect(task, EffectKind::Delete, 0);
            }
            _ => {}
        }
    }

    pub(crate) fn store(&self, durable: bool, server: u16) -> &BTreeMap<String, Value> {
        if durable {
            &self.durable
        } else {
            &self.volatile[usize::from(server)]
        }
    }

    pub(crate) fn store_mut(&mut self, durable: bool, server: u16) -> &mut BTreeMap<String, Value> {
        if durable {
            &mut self.durable
        } else {
            &mut self.volatile[usize::from(server)]
        }
    }

    /// The live value at `key`: `None` when absent or expired (an expired key is removed).
    pub(crate) fn live(&mut self, durable: bool, server: u16, key: &str) -> Option<&Value> {
        self.expire(durable, key);
        self.store(durable, server).get(key)
    }

    /// Removes durable `key` if its time has come. No key expires in most runs: then this is
    /// one emptiness check, not a lookup.
    fn expire(&mut self, durable: bool, key: &str) {
        if durable
            && !self.expiry.is_empty()
            && let Some(&at) = self.expiry.get(key)
            && self.kernel.now().0 >= at
        {
            self.expiry.remove(key);
            self.durable.remove(key);
        }
    }

    /// Sets (or, with `None`, clears) the expiry of durable `key`, `ttl` from now. Volatile
    /// keys die with their process and never expire on their own.
    pub(crate) fn set_expiry(&mut self, durable: bool, key: &str, ttl: Option<SimDuration>) {
        if !durable {
            return;
        }
        match ttl {
            Some(ttl) => {
                let at = (self.kernel.now() + ttl).0;
                self.expiry.insert(key.to_string(), at);
            }
            None => {
                if !self.expiry.is_empty() {
                    self.expiry.remove(key);
                }
            }
        }
    }

    /// Removes every durable key whose time has come (at the end of a run).
    pub(crate) fn purge_expired(&mut self) {
        let now = self.kernel.now().0;
        let expired: Vec<String> = self
            .expiry
            .iter()
            .filter(|&(_, &at)| now >= at)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.expiry.remove(&key);
            self.durable.remove(&key);
        }
    }

    /// Takes the row lock on `key` for `task`: false when another live task holds it.
    pub(crate) fn lock(&mut self, task: &TaskInfo, key: &str) -> bool {
        let me = (task.server, task.slot, task.generation);
        match self.locks.get(key) {
            Some(holder) if *holder != me => false,
            Some(_) => true,
            None => {
                self.locks.insert(key.to_string(), me);
                true
            }
        }
    }

    /// Releases every lock of the task in `slot` (generation `generation`).
    pub(crate) fn release_locks(&mut self, slot: u32, generation: u32) {
        if !self.locks.is_empty() {
            self.locks
                .retain(|_, (_, s, g)| !(*s == slot && *g == generation));
        }
    }

    /// Releases every lock held by tasks of `server` (it crashed: its sessions are gone).
    pub(crate) fn release_server_locks(&mut self, server: u16) {
        if !self.locks.is_empty() {
            self.locks.retain(|_, (srv, _, _)| *srv != server);
        }
    }

    /// Records that `task` acked: the executor sends the ack after this poll.
    pub(crate) fn ack(&mut self, task: &TaskInfo) {
        let slot = task.slot as usize;
        if self.acked.len() <= slot {
            self.acked.resize(slot + 1, false);
        }
        if !self.acked[slot] {
            self.acked[slot] = true;
            self.pending_acks.push(*task);
        }
    }

    /// True if the provider answers this call of `task` with 503 (by the plan or the fates).
    /// Every call to the provider asks this first: it is also where calls are counted.
    pub(crate) fn provider_unavailable(&mut self, task: &TaskInfo) -> bool {
        self.provider_calls += 1;
        let r = task.req;
        // The step counter has moved past this step: it is this step's position from 1 (and,
        // as the fates have always used it, its identity's index).
        let index = self
            .task_steps
            .get(task.slot as usize)
            .copied()
            .unwrap_or(0);
        self.plan.unavailable(r.op, r.attempt, r.copy, index)
            || self.fates.chance(
                Decision::Unavailable,
                Identity::step(r.op, r.attempt, r.copy, index),
                self.timings.provider_unavailable,
            )
    }

    /// Replaces the live value at `key` (`None` when absent or expired) with `f` of it, in one
    /// lookup of an existing key, and returns `f`'s second result.
    pub(crate) fn update<T>(
        &mut self,
        durable: bool,
        server: u16,
        key: &str,
        f: impl FnOnce(Option<&Value>) -> (Value, T),
    ) -> T {
        self.expire(durable, key);
        let store = self.store_mut(durable, server);
        match store.get_mut(key) {
            Some(slot) => {
                let (value, out) = f(Some(slot));
                *slot = value;
                out
            }
            None => {
                let (value, out) = f(None);
                store.insert(key.to_string(), value);
                out
            }
        }
    }

    /// Writes `key` without allocating a new key string when it already exists.
    pub(crate) fn upsert(&mut self, durable: bool, server: u16, key: &str, value: Value) {
        let store = self.store_mut(durable, server);
        match store.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                store.insert(key.to_string(), value);
            }
        }
    }

    pub(crate) fn next_order_id(&self) -> u64 {
        self.orders_created + 1
    }

    /// Records an effect in the ledger and the trace.
    #[inline]
    pub(crate) fn record_effect(&mut self, task: &TaskInfo, kind: EffectKind, amount: u64) {
        let op = task.req.op;
        if let Some(recorder) = self.recorder.as_deref_mut() {
            recorder.made(op, kind);
        }
        let nth = match self.applied.get_mut(op as usize - 1) {
            Some(counts) => {
                counts[kind as usize] += 1;
                counts[kind as usize]
            }
            None => 1,
        };
        self.ledger.push(LedgerEntry {
            time_us: self.now().0,
            op,
            kind,
            amount,
        });
        let node = if kind == EffectKind::Charge {
            Node::Provider
        } else {
            Node::Store
        };
        self.log(
            node,
            EventKind::Effect,
            Some(&task.req),
            Detail::Effect { kind, amount, nth },
        );
    }

    pub(crate) fn create_order(&mut self, task: &TaskInfo, amount: u64) -> u64 {
        self.orders_created += 1;
        let id = self.orders_created;
        self.durable.insert(
            format!("order:{id}"),
            Value::Int {
                value: amount as i64,
            },
        );
        self.record_effect(task, EffectKind::Order, amount);
        id
    }

    pub(crate) fn charge(&mut self, task: &TaskInfo, amount: u64) -> u64 {
        self.charges_made += 1;
        self.record_effect(task, EffectKind::Charge, amount);
        self.charges_made
    }

    /// A charge with the provider's own idempotency key: the first call with a key charges,
    /// later calls with the same key answer the same receipt and charge nothing.
    pub(crate) fn charge_with_key(&mut self, task: &TaskInfo, key: &str, amount: u64) -> u64 {
        if let Some(receipt) = self.provider_keys.get(key) {
            return *receipt;
        }
        let receipt = self.charge(task, amount);
        self.provider_keys.insert(key.to_string(), receipt);
        receipt
    }

    /// The step's latency and the stall the plan adds to it. `position` counts from 1.
    pub(crate) fn step_latency(
        &self,
        task: &TaskInfo,
        kind: StepKind,
        identity: Identity,
        position: u32,
    ) -> (SimDuration, SimDuration) {
        // A call to the provider takes the outside world's time, an ack the network's,
        // everything else the store's.
        let (decision, range) = match kind {
            StepKind::Charge => (Decision::ExternalLatency, self.timings.external_latency),
            StepKind::Ack => (Decision::Latency, self.timings.network_latency),
            _ => (Decision::StoreLatency, self.timings.store_latency),
        };
        let r = task.req;
        (
            SimDuration(
                self.fates
                    .between(decision, identity, range.min.0, range.max.0),
            ),
            self.plan.slowdown(r.op, r.attempt, r.copy, position, kind),
        )
    }

    /// The number of the task's next `Cx::unique_id`, counting from 0 for each new task.
    pub(crate) fn next_id_index(&mut self, task: &TaskInfo) -> u32 {
        next_of_slot(&mut self.task_ids, task.slot)
    }

    /// The index of the task's next step, counting from 0 for each new task in the slot.
    #[inline]
    pub(crate) fn next_step_index(&mut self, task: &TaskInfo) -> u32 {
        next_of_slot(&mut self.task_steps, task.slot)
    }

    pub(crate) fn schedule_wake(&mut self, task: &TaskInfo, after: SimDuration) {
        self.kernel.schedule_in(
            after,
            Ev::Wake {
                slot: task.slot,
                generation: task.generation,
            },
        );
    }

    #[inline]
    pub(crate) fn trace_step(&mut self, task: &TaskInfo, kind: StepKind) {
        let won = self.claim_won.take();
        self.log(
            Node::Server(task.server),
            EventKind::Step,
            Some(&task.req),
            Detail::Step(kind, won),
        );
    }

    /// True (and a crash requested) if the plan crashes this task's server at this point:
    /// just before or after its step of `kind` at `position` (from 1).
    #[inline]
    pub(crate) fn crash_point(
        &mut self,
        task: &TaskInfo,
        kind: StepKind,
        position: u32,
        after: bool,
    ) -> bool {
        if self.plan.atoms.is_empty() {
            return false;
        }
        let want = if after { When::After } else { When::Before };
        let r = task.req;
        let hit = self.plan.atoms.iter().enumerate().position(|(i, atom)| {
            !self.fired[i]
                && matches!(*atom, FaultAtom::CrashAtStep { op, attempt, when, step, position: p, copy }
                    if op == r.op
                        && attempt.is_none_or(|a| a == r.attempt)
                        && copy.is_none_or(|c| c == r.copy)
                        && p.is_none_or(|p| p == position)
                        && when == want
                        && step == kind)
        });
        let Some(i) = hit else {
            return false;
        };
        self.fired[i] = true;
        let cause = if after {
            CrashCause::After(kind)
        } else {
            CrashCause::Before(kind)
        };
        self.crash_requested = Some((task.server, cause));
        true
    }
}

/// The count kept for task slot `slot` in `counts`, then one more for next time.
#[inline]
fn next_of_slot(counts: &mut Vec<u32>, slot: u32) -> u32 {
    let slot = slot as usize;
    if counts.len() <= slot {
        counts.resize(slot + 1, 0);
    }
    let index = counts[slot];
    counts[slot] += 1;
    index
}
