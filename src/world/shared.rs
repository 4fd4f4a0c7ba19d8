//! The state a handler can reach through [`Cx`](super::api::Cx): the kernel (the clock), the
//! fates and the plan, around the parts the design names, each in its own file: the stores
//! (`store.rs`), the world outside (`outside.rs`), the network (`wire.rs`), the tasks
//! (`tasks.rs`) and the recording (`journal.rs`). What spans parts (an effect goes to the ledger
//! and the trace; an expired key leaves the store and is traced) is here. The world's own
//! parts (clients, servers, the executor) live beside it in [`super`]; `Cx` reaches only this.

use std::collections::BTreeMap;

use crate::fate::{Decision, Fates, Identity};
use crate::fault::{FaultAtom, FaultPlan, When};
use crate::settings::LatencyRange;
use crate::sim::Kernel;
use crate::time::{SimDuration, SimTime};
use crate::trace::{CrashCause, Detail, EventKind, NO_OP, Node, Trace, TraceEvent};
use crate::vocab::{EffectKind, Request, StepKind, Value};

use super::StoreKey;
use super::journal::Journal;
use super::outside::Outside;
use super::points::{Point, Recorder};
use super::store::Stores;
use super::tasks::Tasks;
use super::wire::Wire;

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

/// What a run does at a fault point ([`Shared::point_mode`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointMode {
    /// Nothing: the run records no points.
    Off,
    /// Records it (`Recording::Explore`).
    Record,
    /// Counts it, until the point where it resumes hashing (`Recording::FingerprintFrom`).
    Count,
}

/// Kernel events of the world.
#[derive(Clone, Copy)]
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

/// What an event is about: an operation's attempt, the copy of it, and the key it carried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct About {
    pub op: u32,
    pub attempt: u16,
    pub copy: u8,
    pub key: Option<crate::vocab::IdemKey>,
}

impl About {
    /// Attempt `attempt` of `op` (0: the operation itself), its first copy, no key.
    #[inline(always)]
    pub(crate) fn attempt(op: u32, attempt: u32) -> About {
        About {
            op,
            attempt: attempt as u16,
            copy: 0,
            key: None,
        }
    }

    /// The same, carrying `key`.
    #[inline(always)]
    pub(crate) fn with_key(self, key: Option<crate::vocab::IdemKey>) -> About {
        About { key, ..self }
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
#[derive(Clone, Copy)]
pub(crate) struct Timings {
    pub store_latency: LatencyRange,
    pub external_latency: LatencyRange,
    pub key_ttl: Option<SimDuration>,
    pub provider_unavailable: f64,
    pub network_latency: LatencyRange,
}

/// The state a handler can reach through `Cx`, in the parts the design names: the stores
/// (`store.rs`), the world outside the service (`outside.rs`: the provider and the ledger), the
/// network (`wire.rs`), the server's tasks (`tasks.rs`) and the recording (`journal.rs`), around
/// the kernel, the fates and the plan.
pub struct Shared {
    pub(crate) kernel: Kernel<Ev>,
    pub(crate) fates: Fates,
    pub(crate) plan: FaultPlan,
    /// Which crash-at-step atoms of the plan have fired (each fires once).
    pub(crate) fired: Vec<bool>,
    pub(crate) timings: Timings,
    /// The free-form fields of the operations' payloads, by operation (`Cx::field`).
    pub(crate) payload_fields: BTreeMap<u32, BTreeMap<String, String>>,
    /// The stores: durable and per-server volatile keys, expiry, row locks, declared effects.
    pub(crate) store: Stores,
    /// The world outside the service: the ledger of effects and the payment provider.
    pub(crate) outside: Outside,
    /// Messages on the wire.
    pub(crate) in_flight: Wire,
    /// The server's tasks: step and id counters, acks, a requested crash.
    pub(crate) tasks: Tasks,
    /// What the run records: its trace, or counts, or a search's points.
    pub(crate) journal: Journal,
}

impl Shared {
    /// A copy of this state (of a world no handler runs in) with `atom` added to the plan,
    /// recording with `recorder` and keeping no trace: the shared part of a
    /// [`Prefix::fork`](super::Prefix::fork).
    pub(crate) fn fork(&self, atom: FaultAtom, recorder: Recorder) -> Shared {
        let mut plan = self.plan.clone();
        plan.atoms.push(atom);
        let mut fired = self.fired.clone();
        fired.push(false);
        Shared {
            kernel: self.kernel.clone(),
            fates: self.fates,
            plan,
            fired,
            timings: self.timings,
            payload_fields: self.payload_fields.clone(),
            store: self.store.clone(),
            outside: self.outside.clone(),
            in_flight: self.in_flight.clone(),
            tasks: self.tasks.clone(),
            journal: Journal {
                trace: Trace::default(),
                recording: false,
                unrecorded: self.journal.unrecorded,
                recorder: Some(Box::new(recorder)),
            },
        }
    }

    pub(crate) fn now(&self) -> SimTime {
        self.kernel.now()
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
        self.log_op(
            node,
            kind,
            About {
                op,
                attempt,
                copy,
                key,
            },
            detail,
        );
    }

    #[inline(always)]
    pub(crate) fn log_op(&mut self, node: Node, kind: EventKind, about: About, detail: Detail) {
        let About {
            op,
            attempt,
            copy,
            key,
        } = about;
        // The common cases stay as short as they were before searches recorded anything: a
        // sweep's runs count, a traced run pushes; a search's runs take the out-of-line path.
        if self.journal.recorder.is_some() {
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
        if !self.journal.recording {
            self.journal.unrecorded += 1;
            return;
        }
        let time_us = self.kernel.now().0;
        self.journal.trace.push(TraceEvent {
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
        if let Some(recorder) = self.journal.recorder.as_deref_mut() {
            recorder.event(&event);
        }
        if self.journal.recording {
            self.journal.trace.push(event);
        } else {
            self.journal.unrecorded += 1;
        }
    }

    /// Records a fault point, when the run is exploring.
    #[inline]
    pub(crate) fn point(&mut self, point: impl FnOnce() -> Point) {
        if let Some(recorder) = self.journal.recorder.as_deref_mut()
            && recorder.full()
        {
            recorder.point(point(), self.kernel.processed());
        }
    }

    /// What the run does at a fault point: record it, only count it (a hash-only run that
    /// resumes hashing at a point: `Recording::FingerprintFrom`), or nothing.
    #[inline]
    pub(crate) fn point_mode(&self) -> PointMode {
        match self.journal.recorder.as_deref() {
            Some(r) if r.full() => PointMode::Record,
            Some(r) if r.resuming() => PointMode::Count,
            _ => PointMode::Off,
        }
    }

    /// Tells the recorder, if there is one, that the last running handler ended, when
    /// `idle` says none runs now: the moments from now on are quiet until the next starts (a
    /// fork may begin at one: `Prefix`).
    #[inline]
    pub(crate) fn note_idle(&mut self, idle: impl FnOnce() -> bool) {
        if let Some(recorder) = self.journal.recorder.as_deref_mut()
            && idle()
        {
            recorder.idle(self.kernel.processed());
        }
    }

    /// Tells the recorder, if there is one, that a handler starts, when `first` says no other
    /// runs.
    #[inline]
    pub(crate) fn note_busy(&mut self, first: impl FnOnce() -> bool) {
        if let Some(recorder) = self.journal.recorder.as_deref_mut()
            && first()
        {
            recorder.busy(self.kernel.processed());
        }
    }

    /// Tells the recorder, if there is one, that a crash of `server` now kills the tasks
    /// serving `reqs`.
    pub(crate) fn note_killed<'r>(&mut self, server: u16, reqs: impl Iterator<Item = &'r Request>) {
        let now = self.kernel.now().0;
        if let Some(recorder) = self.journal.recorder.as_deref_mut()
            && recorder.full()
        {
            for req in reqs {
                recorder.killed(server, now, req);
            }
        }
    }

    /// Counts a fault point passed by a run that resumes hashing at one.
    #[inline]
    pub(crate) fn pass_point(&mut self) {
        if let Some(recorder) = self.journal.recorder.as_deref_mut() {
            recorder.pass_point();
        }
    }

    /// Notes that `task`'s handler touched store `key`, when the run is exploring.
    #[inline]
    pub(crate) fn touch(&mut self, task: &TaskInfo, key: &str, durable: bool) {
        if let Some(recorder) = self.journal.recorder.as_deref_mut() {
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
            || self.store.effect_keys.is_empty()
            || !self
                .store
                .effect_keys
                .iter()
                .any(|p| key.starts_with(p.as_str()))
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
                if self
                    .store
                    .declared
                    .insert((op, key.to_string(), h.finish()))
                {
                    let amount = value.as_int().map_or(0, i64::unsigned_abs);
                    self.record_effect(task, EffectKind::Write, amount);
                }
            }
            None if old.is_some_and(|v| v != Value::Tombstone)
                && self.store.declared.insert((op, key.to_string(), u64::MAX)) =>
            {
                self.record_effect(task, EffectKind::Delete, 0);
            }
            _ => {}
        }
    }

    /// The live value at `key`: `None` when absent or expired (an expired key is removed).
    pub(crate) fn live(&mut self, durable: bool, server: u16, key: &str) -> Option<&Value> {
        self.expire(durable, key);
        self.store.get(durable, server).get(key)
    }

    /// Removes durable `key` if its time has come. No key expires in most runs: then this is
    /// one emptiness check, not a lookup.
    fn expire(&mut self, durable: bool, key: &str) {
        if durable
            && !self.store.expiry.is_empty()
            && let Some(&at) = self.store.expiry.get(key)
            && self.kernel.now().0 >= at
        {
            self.store.expiry.remove(key);
            self.store.durable.remove(key);
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
                self.store.expiry.insert(StoreKey::from(key), at);
            }
            None => {
                if !self.store.expiry.is_empty() {
                    self.store.expiry.remove(key);
                }
            }
        }
    }

    /// Removes every durable key whose time has come (at the end of a run).
    pub(crate) fn purge_expired(&mut self) {
        let now = self.kernel.now().0;
        let expired: Vec<StoreKey> = self
            .store
            .expiry
            .iter()
            .filter(|&(_, &at)| now >= at)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.store.expiry.remove(&key);
            self.store.durable.remove(&key);
        }
    }

    /// Records that `task` acked: the executor sends the ack after this poll.
    pub(crate) fn ack(&mut self, task: &TaskInfo) {
        let slot = task.slot as usize;
        if self.tasks.acked.len() <= slot {
            self.tasks.acked.resize(slot + 1, false);
        }
        if !self.tasks.acked[slot] {
            self.tasks.acked[slot] = true;
            self.tasks.pending_acks.push(*task);
        }
    }

    /// True if the provider answers this call of `task` with 503 (by the plan or the fates).
    /// Every call to the provider asks this first: it is also where calls are counted.
    pub(crate) fn provider_unavailable(&mut self, task: &TaskInfo) -> bool {
        self.outside.provider_calls += 1;
        let r = task.req;
        // The step counter has moved past this step: it is this step's position from 1 (and,
        // as the fates have always used it, its identity's index).
        let index = self
            .tasks
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
        let store = self.store.get_mut(durable, server);
        match store.get_mut(key) {
            Some(slot) => {
                let (value, out) = f(Some(slot));
                *slot = value;
                out
            }
            None => {
                let (value, out) = f(None);
                insert_new(store, key, value);
                out
            }
        }
    }

    /// Writes `key` without allocating a new key string when it already exists.
    pub(crate) fn upsert(&mut self, durable: bool, server: u16, key: &str, value: Value) {
        let store = self.store.get_mut(durable, server);
        match store.get_mut(key) {
            Some(slot) => *slot = value,
            None => insert_new(store, key, value),
        }
    }

    /// Records an effect in the ledger and the trace.
    #[inline]
    pub(crate) fn record_effect(&mut self, task: &TaskInfo, kind: EffectKind, amount: u64) {
        let op = task.req.op;
        if let Some(recorder) = self.journal.recorder.as_deref_mut() {
            recorder.made(op, kind);
        }
        let nth = match self.outside.applied.get_mut(op as usize - 1) {
            Some(counts) => {
                counts[kind as usize] += 1;
                counts[kind as usize]
            }
            None => 1,
        };
        self.outside.ledger.push(LedgerEntry {
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
        self.outside.orders_created += 1;
        let id = self.outside.orders_created;
        // `format!("order:{id}")`, without the formatting machinery (every order).
        let mut key = String::with_capacity(16);
        key.push_str("order:");
        crate::vocab::push_decimal(&mut key, id);
        self.store.durable.insert(
            StoreKey::from(key),
            Value::Int {
                value: amount as i64,
            },
        );
        self.record_effect(task, EffectKind::Order, amount);
        id
    }

    pub(crate) fn charge(&mut self, task: &TaskInfo, amount: u64) -> u64 {
        self.outside.charges_made += 1;
        self.record_effect(task, EffectKind::Charge, amount);
        self.outside.charges_made
    }

    /// A charge with the provider's own idempotency key: the first call with a key charges,
    /// later calls with the same key answer the same receipt and charge nothing.
    pub(crate) fn charge_with_key(&mut self, task: &TaskInfo, key: &str, amount: u64) -> u64 {
        if let Some(receipt) = self.outside.provider_keys.get(key) {
            return *receipt;
        }
        let receipt = self.charge(task, amount);
        self.outside.provider_keys.insert(key.to_string(), receipt);
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
        let won = self.tasks.claim_won.take();
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
        self.tasks.crash_requested = Some((task.server, cause));
        true
    }
}

/// Inserts a key not in `store`. Out of line: a write to a key that exists (workload W's
/// counter, on every request) compiles as it did with `String` keys.
#[inline(never)]
fn insert_new(store: &mut BTreeMap<StoreKey, Value>, key: &str, value: Value) {
    store.insert(StoreKey::from(key), value);
}
