//! The simulated world: clients with retry policies, a network, servers that crash and
//! restart, a durable store, and a payment provider.
//!
//! [`run`] is the one pure function everything else is built on:
//! `(scenario, design, seed, fault plan) -> Run`. It owns a [`crate::sim::Kernel`], fires
//! events in `(time, seq)` order, and polls handler futures on its own single-threaded executor
//! (a task is polled only when the step it waits on completes, so no waker is needed).
//!
//! The parts live in one file each: [`net`] (fates of messages), [`client`] (operations,
//! timeouts, retries, backoff), [`server`] (tasks, crashes, restarts), [`api`] (what a handler
//! sees: [`api::Cx`], the store and the provider), [`design`] (the `Design` trait). The state a
//! handler's `Cx` reaches is [`Shared`]; the rest stays in `World`. The client's and the
//! network's rules (`client::key_for`, `client::backoff_us`, `net::loss_cause`, `net::latency`,
//! `net::duplicates`) are plain functions, which the probe's live client calls too.

pub mod api;
pub mod client;
pub mod design;
mod journal;
pub mod net;
mod outside;
pub mod points;
pub mod server;
pub mod shared;
mod store;
pub use store::StoreKey;
mod tasks;
mod wire;

pub use crate::vocab::StepKind;
use journal::Journal;
use outside::Outside;
pub(crate) use shared::{Ev, Timings};
pub use shared::{LedgerEntry, Shared, TaskInfo};
use store::Stores;
use tasks::Tasks;
pub(crate) use wire::{InFlight, Wire};

pub use points::{Exploration, HashAt, Instant, Killed, OpView, Point, StepId};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::fate::Fates;
use crate::fault::{FaultAtom, FaultPlan};
use crate::settings::Scenario;
use crate::sim::{Kernel, LimitHit, Next};
use crate::time::SimTime;
use crate::trace::{CrashCause, Detail, EventKind, Node, Outcome, Trace};
use crate::vocab::{EffectKind, Response, Value};
use crate::world::design::Design;

/// A response as the client received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// When, in microseconds.
    pub time_us: u64,
    /// Which attempt it answers.
    pub attempt: u32,
    /// The response.
    pub response: Response,
    /// False when it came after the client had moved on (a late response).
    pub accepted: bool,
}

/// The responses one operation received: most receive exactly one, which is kept inline so
/// that a run makes no allocation per operation for it.
pub type Responses = smallvec::SmallVec<[Received; 1]>;

/// What happened to one logical operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// The operation's number.
    pub op: u32,
    /// The amount it was for.
    pub amount: u64,
    /// When the client began it, in microseconds.
    pub start_us: u64,
    /// When it ended, in microseconds (`None`: unfinished).
    pub end_us: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// How many attempts the client sent.
    pub attempts: u32,
    /// Every response the client received for it, in order.
    pub received: Responses,
    /// The first final answer (not "try again") a *server sent* for it, whether the client
    /// received it or not (a lost response counts): what the server decided. What the client
    /// was told is [`OpRecord::client_answer`].
    pub server_first_answer: Option<Response>,
    /// True when a later final answer a server sent for it differed from
    /// [`OpRecord::server_first_answer`].
    pub answers_differ: bool,
}

impl OpRecord {
    /// The last answer the client accepted for this operation (to its current attempt, in
    /// time): what it was told, and what its outcome rests on. `None` when every attempt
    /// timed out or its answers came late.
    pub fn client_answer(&self) -> Option<Response> {
        self.received
            .iter()
            .rev()
            .find(|r| r.accepted)
            .map(|r| r.response)
    }
}

/// The finished run of one design: trace, ledger, per-operation records, final state.
#[derive(Clone, Debug)]
pub struct Run {
    /// The design's name.
    pub design: String,
    /// The seed.
    pub seed: u64,
    /// Every event, when the run was made with [`Recording::Trace`]; empty with
    /// [`Recording::Metrics`].
    pub trace: Trace,
    /// How many events the run logged, recorded in [`Run::trace`] or not.
    pub logged: u64,
    /// How many client timeouts fired (the `timeout` events).
    pub timeouts: u64,
    /// Every effect.
    pub ledger: Vec<LedgerEntry>,
    /// Every logical operation.
    pub ops: Vec<OpRecord>,
    /// Requests that reached a live server's handler.
    pub delivered: u64,
    /// The durable store at the end.
    pub durable: BTreeMap<StoreKey, Value>,
    /// Set when the run hit a budget instead of finishing.
    pub stopped: Option<LimitHit>,
    /// The simulated time of the last event, in microseconds.
    pub end_us: u64,
    /// How many events the kernel processed.
    pub events: u64,
    /// True when the design is safe (`GET`): no effect is expected.
    pub safe: bool,
    /// The fault points and fingerprints, with [`Recording::Explore`].
    pub exploration: Option<Box<Exploration>>,
    /// The keys `[oracle] exists` names that the durable store does not hold (or holds
    /// deleted) when the run ends.
    pub final_missing: Vec<String>,
    /// Calls the design made to the payment provider, charged or answered 503.
    pub provider_calls: u64,
}

impl Run {
    /// The dead-letter queue at the end of the run: the operations (messages) the broker gave
    /// up on and did not redrive, in order.
    pub fn dead_letters(&self) -> Vec<u32> {
        self.ops
            .iter()
            .filter(|o| o.outcome == Outcome::DeadLettered)
            .map(|o| o.op)
            .collect()
    }
}

/// What a run keeps. Everything [`crate::oracle::measure`] reads is kept either way, so a
/// run's metrics do not depend on this choice; only its trace does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recording {
    /// Every event, in [`Run::trace`]: what the TUI, `trace`, diagrams and expectations read.
    #[default]
    Trace,
    /// No trace ([`Run::trace`] stays empty, [`Run::logged`] still counts the events): for
    /// runs that only need metrics, such as sweeps, which then write no trace memory at all.
    Metrics,
    /// No trace, but the run's fault points and fingerprints ([`Run::exploration`]): what a
    /// search over the tree of runs needs to extend a plan and to recognise a run it has
    /// already searched.
    Explore,
    /// [`Recording::Explore`] with the trace too: for searches whose invariants may read it.
    ExploreTraced,
    /// No trace, and of the exploration only [`Exploration::hash`]: for the runs of a search
    /// that are checked and fingerprinted but not extended (their points come from a run of
    /// their own when they are).
    Fingerprint,
    /// [`Recording::Fingerprint`] with the trace too.
    FingerprintTraced,
    /// [`Recording::Fingerprint`] for a run whose plan is another run's plus one atom at the
    /// point `HashAt` was taken at: until it reaches that point it logs the other run's
    /// events, so it hashes only from there, taking the other run's hash over. The same
    /// fingerprint, without hashing the shared prefix.
    FingerprintFrom(HashAt),
}

/// Runs `design` through `scenario` with `seed`, the scenario's own fault plan plus `extra`.
///
/// Never panics on a valid scenario; a run that exhausts a budget returns with
/// [`Run::stopped`] set and the trace up to that point.
pub fn run(scenario: &Scenario, design: &dyn Design, seed: u64, extra: &FaultPlan) -> Run {
    run_with(scenario, design, seed, extra, Recording::Trace)
}

/// [`run`], keeping what `recording` says: the same run, event for event, either way.
// Not inlined: workload W's measurement (callgrind's `--toggle-collect`) names it.
#[inline(never)]
pub fn run_with(
    scenario: &Scenario,
    design: &dyn Design,
    seed: u64,
    extra: &FaultPlan,
    recording: Recording,
) -> Run {
    run_stoppable(scenario, design, seed, extra, recording, None)
}

/// [`run_with`], ending early when `stop` is raised: polled every [`STOP_POLL`] events, so that
/// a search is stopped within one slice of a run, however long the run, rather than after it.
/// A run cut short this way has [`Run::stopped`] set to [`LimitHit::Interrupted`] and is no
/// verdict of anything: the caller throws it away.
pub fn run_until(
    scenario: &Scenario,
    design: &dyn Design,
    seed: u64,
    extra: &FaultPlan,
    recording: Recording,
    stop: &std::sync::atomic::AtomicBool,
) -> Run {
    run_stoppable(scenario, design, seed, extra, recording, Some(stop))
}

/// Where [`run_with`] and [`run_until`] both come: a new world, driven to its end by [`drive`],
/// the world's one loop (which a [`Prefix`] and its forks go through too).
#[inline(never)]
fn run_stoppable(
    scenario: &Scenario,
    design: &dyn Design,
    seed: u64,
    extra: &FaultPlan,
    recording: Recording,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Run {
    let mut world = World::new(
        scenario,
        design,
        seed,
        whole_plan(scenario, extra),
        recording,
    );
    world.start_clients();
    drive(world, stop, u64::MAX).unwrap_or_else(World::end)
}

/// A run's plan: the scenario's own faults, then `extra`.
fn whole_plan(scenario: &Scenario, extra: &FaultPlan) -> FaultPlan {
    let mut plan = scenario.faults.clone();
    plan.atoms.extend(extra.atoms.iter().copied());
    plan
}

/// A run of one plan held between two of its events, at a moment no handler is running, from
/// which runs of the same plan plus one atom further on are forked ([`Prefix::fork`]): a
/// search's runs of a node's children share their node's run up to each child's atom, and a
/// fork does not simulate that part again.
///
/// Only a moment no handler runs can be forked: a handler's future cannot be copied, but an
/// idle world is all data (the queue of events, the stores, the clients, the wire). Such
/// moments are many (about half of a `default` run's events are followed by one), and each
/// point's last one before it is recorded by the run that found the point
/// ([`Exploration::quiet_before`]).
pub struct Prefix<'a> {
    /// `None` once the run ended (or was stopped) before a moment it was asked to reach.
    world: Option<World<'a>>,
    stop: &'a std::sync::atomic::AtomicBool,
}

impl<'a> Prefix<'a> {
    /// The run of `plan` (the scenario's own faults plus `extra`, as [`run_until`] makes it),
    /// before its first event. Its recorder records everything ([`Recording::Explore`]) when
    /// it is to be `full` (forks recorded so are then possible), else only counts points.
    pub fn new(
        scenario: &'a Scenario,
        design: &'a dyn Design,
        seed: u64,
        extra: &FaultPlan,
        full: bool,
        stop: &'a std::sync::atomic::AtomicBool,
    ) -> Self {
        let recording = if full {
            Recording::Explore
        } else {
            Recording::Metrics
        };
        let plan = whole_plan(scenario, extra);
        let mut world = World::new(scenario, design, seed, plan, recording);
        if !full {
            world.shared.borrow_mut().journal.recorder =
                Some(Box::new(points::Recorder::counting()));
        }
        world.start_clients();
        Prefix {
            world: Some(world),
            stop,
        }
    }

    /// How many events the run has handled (`None` once it ended).
    pub fn events(&self) -> Option<u64> {
        let world = self.world.as_ref()?;
        Some(world.shared.borrow().kernel.processed())
    }

    /// Runs on until `events` events have been handled, and answers whether it stands there
    /// with no handler running (a moment [`Prefix::fork`] may fork from). False when it had
    /// handled more already, or the run ended or was stopped first.
    pub fn advance_to(&mut self, events: u64) -> bool {
        let Some(now) = self.events() else {
            return false;
        };
        if now > events {
            return false;
        }
        if now < events {
            let world = self.world.take();
            self.world = world.and_then(|w| drive(w, Some(self.stop), events).err());
        }
        self.world.as_ref().is_some_and(|w| w.tasks.idle())
    }

    /// The run of this prefix's plan plus `atom`, recorded as `recording` says, continued from
    /// here: the same [`Run`] as [`run_until`] makes from the start, for an atom whose point
    /// the run has not reached yet. `recording` is [`Recording::FingerprintFrom`] (hash-only,
    /// hashing from its point on, which the prefix has not passed) or [`Recording::Explore`]
    /// (everything, from a prefix made `full`); `None` for another, or where the prefix
    /// cannot fork (it ended, or a handler runs here), or for an atom that acts by the clock
    /// rather than at a point (a crash at a time, a partition): from the start, a run would
    /// have scheduled or applied it before the moment the fork begins at.
    pub fn fork(&self, atom: FaultAtom, recording: Recording) -> Option<Run> {
        if matches!(
            atom,
            FaultAtom::CrashAt { .. } | FaultAtom::Partition { .. }
        ) {
            return None;
        }
        let this = self.world.as_ref()?;
        if !this.tasks.idle() {
            return None;
        }
        let shared = this.shared.borrow();
        let mine = shared.journal.recorder.as_deref()?;
        let recorder = match recording {
            Recording::FingerprintFrom(from) => mine.forked(from)?,
            Recording::Explore if mine.full() => mine.clone(),
            _ => return None,
        };
        let copy = shared.fork(atom, recorder);
        drop(shared);
        let design = this.design;
        let world = World {
            scenario: this.scenario,
            design,
            shared: Rc::new(RefCell::new(copy)),
            ops: this.ops.clone(),
            servers: this.servers.clone(),
            tasks: this.tasks.fork(design.tasks()),
            delivered: this.delivered,
            timeouts: this.timeouts,
            key_policy: this.key_policy,
            seed: this.seed,
        };
        Some(drive(world, Some(self.stop), u64::MAX).unwrap_or_else(World::end))
    }
}

/// The world's loop ([`World::drive`]) and the run's end, compiled once, behind one call, for
/// every run, a prefix's and a fork's too: the run's `World` by value, a local of the loop's
/// function as it was of `run_stoppable`'s when the loop was inlined there. (Measured on
/// workload W, callgrind: each further caller of an inlined loop made the compiler stop
/// inlining the loop's callees, 5% more instructions; the loop behind a `&mut World`, 0.7%.)
/// `Err` gives the world back when it stopped at `until` before the run ended.
// Large either way (a `Run` or a `World`), returned once per run or advance through a pointer
// the caller gives: boxing the world would allocate where nothing else does.
#[allow(clippy::result_large_err)]
#[inline(never)]
fn drive<'a>(
    mut world: World<'a>,
    stop: Option<&std::sync::atomic::AtomicBool>,
    until: u64,
) -> Result<Run, World<'a>> {
    match world.drive(stop, until) {
        Some(stopped) => {
            // Drop in-flight handler futures before taking the shared state apart.
            world.tasks.clear();
            Ok(world.finish(stopped))
        }
        None => Err(world),
    }
}

/// Where the kernel is to pause next, `processed` events having been handled: at the next read
/// of `stop`, if there is one, or at `until` if that comes first.
fn pause_after(stop: Option<&std::sync::atomic::AtomicBool>, until: u64, processed: u64) -> u64 {
    let poll = if stop.is_some() {
        processed.saturating_add(STOP_POLL)
    } else {
        u64::MAX
    };
    poll.min(until)
}

/// What [`World::paused`] found.
enum Paused {
    /// Go on.
    On,
    /// The run reached the moment [`World::drive`] was to stop at.
    Until,
    /// The stop flag was raised.
    Stopped(LimitHit),
}

/// How many events a run handles between two reads of its stop flag ([`run_until`]): a few
/// milliseconds of a debug build, and no cost worth measuring in a release one.
pub const STOP_POLL: u64 = 4_096;

/// The world outside the handlers' reach: clients, servers' liveness, tasks.
pub(crate) struct World<'a> {
    pub(crate) scenario: &'a Scenario,
    pub(crate) design: &'a dyn Design,
    pub(crate) shared: Rc<RefCell<Shared>>,
    pub(crate) ops: Vec<client::OpState>,
    pub(crate) servers: Vec<server::ServerState>,
    pub(crate) tasks: server::Tasks<'a>,
    pub(crate) delivered: u64,
    /// Client timeouts that fired.
    pub(crate) timeouts: u64,
    /// How the client mints keys: the scenario's policy, or one per attempt for a design
    /// that includes its client's keys (asked once, not per attempt).
    pub(crate) key_policy: crate::settings::KeyPolicy,
    seed: u64,
}

impl<'a> World<'a> {
    fn new(
        scenario: &'a Scenario,
        design: &'a dyn Design,
        seed: u64,
        plan: FaultPlan,
        recording: Recording,
    ) -> Self {
        let traced = matches!(
            recording,
            Recording::Trace | Recording::ExploreTraced | Recording::FingerprintTraced
        );
        let server_count = usize::from(scenario.server.count);
        let fired = vec![false; plan.atoms.len()];
        let crash_times: Vec<(u16, SimTime)> = plan
            .atoms
            .iter()
            .filter_map(|a| match *a {
                FaultAtom::CrashAt { server, at } => Some((server, at)),
                _ => None,
            })
            .collect();
        let mut kernel = Kernel::new(scenario.limits);
        for (server, at) in crash_times {
            kernel.schedule_at(at, Ev::CrashAt { server });
        }
        let shared = Shared {
            kernel,
            fates: Fates::new(seed),
            plan,
            fired,
            timings: Timings {
                store_latency: scenario.server.store_latency,
                external_latency: scenario.external.latency,
                key_ttl: scenario.server.key_ttl,
                provider_unavailable: scenario.external.unavailable,
                network_latency: scenario.network.latency,
            },
            payload_fields: scenario
                .workload
                .payloads
                .iter()
                .filter(|(_, p)| !p.fields.is_empty())
                .map(|(op, p)| (*op, p.fields.clone()))
                .collect(),
            in_flight: Wire::default(),
            journal: Journal {
                // Eight events per operation when nothing goes wrong, about ten under faults:
                // reserving them up front avoids copying a large trace when the vector doubles.
                trace: if traced {
                    Trace::with_capacity(
                        (scenario.workload.ops as usize)
                            .saturating_mul(10)
                            .min(scenario.limits.max_trace_events as usize),
                    )
                } else {
                    Trace::default()
                },
                recording: traced,
                unrecorded: 0,
                recorder: match recording {
                    Recording::Explore | Recording::ExploreTraced => Some(Box::new(
                        points::Recorder::new(scenario.workload.ops, true, traced, None),
                    )),
                    Recording::Fingerprint | Recording::FingerprintTraced => Some(Box::new(
                        points::Recorder::new(scenario.workload.ops, false, traced, None),
                    )),
                    Recording::FingerprintFrom(from) => Some(Box::new(points::Recorder::new(
                        scenario.workload.ops,
                        false,
                        traced,
                        Some(from),
                    ))),
                    Recording::Trace | Recording::Metrics => None,
                },
            },
            store: Stores {
                durable: BTreeMap::new(),
                volatile: vec![BTreeMap::new(); server_count],
                expiry: BTreeMap::new(),
                locks: BTreeMap::new(),
                effect_keys: scenario.oracle.effect_keys.clone(),
                declared: Default::default(),
            },
            outside: Outside {
                // One effect per operation is the ideal, and retries under faults add some: room
                // for a quarter more up front, so that a faulty run rarely copies its ledger.
                ledger: Vec::with_capacity((scenario.workload.ops as usize).saturating_mul(5) / 4),
                // Only the trace shows the running counts.
                applied: if traced {
                    vec![[0; EffectKind::COUNT]; scenario.workload.ops as usize]
                } else {
                    Vec::new()
                },
                orders_created: 0,
                charges_made: 0,
                provider_calls: 0,
                provider_keys: BTreeMap::new(),
            },
            tasks: Tasks {
                task_steps: Vec::new(),
                task_ids: Vec::new(),
                crash_requested: None,
                pending_acks: Vec::new(),
                acked: Vec::new(),
                claim_won: None,
            },
        };
        World {
            scenario,
            design,
            shared: Rc::new(RefCell::new(shared)),
            ops: client::OpState::plan(scenario),
            servers: vec![server::ServerState::default(); server_count],
            tasks: server::Tasks::new(design.tasks()),
            delivered: 0,
            timeouts: 0,
            key_policy: if design.mints_key_per_attempt() {
                crate::settings::KeyPolicy::PerAttempt
            } else {
                scenario.retry.key
            },
            seed,
        }
    }

    /// The run as it stands, ended here (a world [`drive`] gave back at `until`).
    fn end(mut self) -> Run {
        self.tasks.clear();
        self.finish(None)
    }

    /// Handles events until the run ends (`Some`, with the budget it hit if it hit one) or
    /// `until` events have been handled (`None`). The kernel pauses every [`STOP_POLL`]
    /// events for `stop` to be read, and at `until`, so that the hot path makes no test for
    /// either. Called through [`drive`] only.
    #[inline(always)]
    fn drive(
        &mut self,
        stop: Option<&std::sync::atomic::AtomicBool>,
        until: u64,
    ) -> Option<Option<LimitHit>> {
        {
            let mut shared = self.shared.borrow_mut();
            let first = pause_after(stop, until, shared.kernel.processed());
            if first != u64::MAX {
                shared.kernel.pause_at(first);
            }
        }
        let max_trace = self.scenario.limits.max_trace_events;
        let stopped = loop {
            let next = self.shared.borrow_mut().kernel.step();
            match next {
                Next::Event(ev) => {
                    self.handle(ev);
                    let mut shared = self.shared.borrow_mut();
                    if shared.journal.logged() >= max_trace {
                        let at_us = shared.now().0;
                        shared.log(Node::Sim, EventKind::Limit, None, Detail::None);
                        break Some(LimitHit::Trace {
                            max_trace_events: max_trace,
                            at_us,
                        });
                    }
                }
                Next::Idle => break None,
                Next::Pause => match self.paused(stop, until) {
                    Paused::On => {}
                    Paused::Until => return None,
                    Paused::Stopped(hit) => break Some(hit),
                },
                Next::LimitHit(hit) => {
                    self.shared
                        .borrow_mut()
                        .log(Node::Sim, EventKind::Limit, None, Detail::None);
                    break Some(hit);
                }
            }
        };
        Some(stopped)
    }

    /// What a pause of the kernel means: `stop` raised, `until` reached, or neither
    /// (the next pause is set). Out of the loop, which it would otherwise weigh on though it
    /// runs once every [`STOP_POLL`] events (0.5% more instructions on workload W).
    #[cold]
    #[inline(never)]
    fn paused(&mut self, stop: Option<&std::sync::atomic::AtomicBool>, until: u64) -> Paused {
        let mut shared = self.shared.borrow_mut();
        if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
            let at_us = shared.now().0;
            shared.log(Node::Sim, EventKind::Limit, None, Detail::None);
            return Paused::Stopped(LimitHit::Interrupted { at_us });
        }
        let processed = shared.kernel.processed();
        if processed >= until {
            return Paused::Until;
        }
        shared.kernel.pause_at(pause_after(stop, until, processed));
        Paused::On
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::OpStart { op } => self.op_start(op),
            Ev::Send { op } => self.send_attempt(op),
            Ev::Arrives { slot } => {
                let msg = self.shared.borrow_mut().in_flight.take(slot);
                match msg {
                    Some(InFlight::Request { req, server }) => self.request_arrives(req, server),
                    Some(InFlight::Response { req, response }) => {
                        self.response_arrives(req, response)
                    }
                    None => {}
                }
            }
            Ev::Timeout { op, attempt } => self.timeout(op, attempt),
            Ev::Start { slot, generation } | Ev::Wake { slot, generation } => {
                self.poll_task(slot, generation)
            }
            Ev::CrashAt { server } => self.crash(server, CrashCause::At, None),
            Ev::Restart { server } => self.restart(server),
            Ev::Redrive { op } => self.redrive(op),
        }
    }

    fn finish(&mut self, stopped: Option<LimitHit>) -> Run {
        let mut shared = self.shared.borrow_mut();
        shared.purge_expired();
        let final_missing = self
            .scenario
            .oracle
            .exists
            .iter()
            .filter(|k| {
                matches!(
                    shared.store.durable.get(k.as_str()),
                    None | Some(Value::Tombstone)
                )
            })
            .cloned()
            .collect();
        let end_us = shared.now().0;
        let events = shared.kernel.processed();
        let logged = shared.journal.logged();
        // Every effect names an operation its client sent (a handler only runs on a request).
        // In debug builds, as the tests run: a pass over the ledger cost W 0.5% in release.
        #[cfg(debug_assertions)]
        for entry in &shared.outside.ledger {
            assert!(
                self.ops
                    .get((entry.op as usize).wrapping_sub(1))
                    .is_some_and(|o| o.attempts.attempt > 0),
                "a ledger entry names op {}, which no client sent",
                entry.op
            );
        }
        let ops = std::mem::take(&mut self.ops)
            .into_iter()
            .map(client::OpState::into_record)
            .collect();
        Run {
            design: self.design.name().to_string(),
            seed: self.seed,
            trace: std::mem::take(&mut shared.journal.trace),
            logged,
            timeouts: self.timeouts,
            ledger: std::mem::take(&mut shared.outside.ledger),
            ops,
            delivered: self.delivered,
            durable: std::mem::take(&mut shared.store.durable),
            stopped,
            end_us,
            events,
            safe: self.design.is_safe(),
            exploration: shared.journal.recorder.take().map(|r| Box::new(r.finish())),
            final_missing,
            provider_calls: shared.outside.provider_calls,
        }
    }
}
