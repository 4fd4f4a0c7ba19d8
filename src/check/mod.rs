//! Property testing of handler designs: generated fault plans, shrinking to the smallest story,
//! bounded exhaustive search, and replay files.
//!
//! A [`Checker`] pairs a scenario (the world: workload, network, timings) with a design. It
//! replaces the scenario's own `[[faults]]` with plans it generates, runs each, and checks the
//! [`Invariant`]s: at most one effect per operation, exactly one once the client was told
//! success, faithful answers to retries, nothing left in progress. A violation is shrunk to the
//! fewest fault atoms (proptest's shrinking, then a greedy pass that removes atoms one by one)
//! and the fewest operations, and becomes a [`Counterexample`]: a numbered narrative and a
//! scenario file that replays it with `idemlab run`.
//!
//! ```
//! use idemlab::check::Checker;
//! use idemlab::handlers::lookup;
//! use idemlab::scenario::parse;
//! let scenario = parse("[workload]\nops = 3\n[client.retry]\ntimeout = \"20ms\"\n", "x.toml").unwrap();
//! let naive = lookup("naive").unwrap();
//! let report = Checker::new(&scenario, naive.as_ref()).cases(64).check();
//! let found = report.counterexample.expect("a lost response makes naive charge twice");
//! assert_eq!(found.plan.atoms.len(), 1);
//! ```
//!
//! The strategies are public ([`strategy`]), so a user can compose them in a `proptest!` block
//! of their own.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::fault::{FaultAtom, FaultPlan};
use crate::handlers::Design;
use crate::oracle::{self, Metrics};
use crate::scenario::Scenario;
use crate::time::SimDuration;
use crate::trace::{Detail, EventKind, Outcome};
use crate::vocab::{Response, Value};
use crate::world::{Run, StepKind};

/// A property every run of a design must have. `Send + Sync`: searches check runs on every
/// core.
pub trait Invariant: Send + Sync {
    /// A short name, e.g. `at-most-once`.
    fn name(&self) -> &str;
    /// The metric that measures it, for `[expect]` lines in replay files (`None` for custom
    /// invariants that no metric captures).
    fn metric(&self) -> Option<&str> {
        None
    }
    /// `Some(what went wrong, the operations involved)` when `run` breaks it.
    fn check(&self, run: &Run, metrics: &Metrics) -> Option<(String, Vec<u32>)>;
    /// True for a *liveness* property ("something good happens"), whose verdict depends on
    /// how long the client waits: a more patient client (more attempts, a longer backoff)
    /// might see it hold. Reports say so, with the client's patience. Safety properties
    /// ("nothing bad happens": no duplicate, no lost success) hold or not whatever the client's
    /// patience.
    fn liveness(&self) -> bool {
        false
    }
    /// True when the property is about each operation on its own, in its own time: whether a
    /// run breaks it is decided by each operation's events, answers and effects, relative to
    /// the operation's start. `explore` decides plans of two independent faults without running
    /// them only when every invariant it checks is local (see `check::explore`'s module doc).
    /// A property of the final state or of absolute time is not local; the default, for an
    /// invariant of the user's own, is `false`. `scenario` is the one the search runs.
    fn local(&self, scenario: &Scenario) -> bool {
        let _ = scenario;
        false
    }
}

/// The built-in invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltIn {
    /// At most one effect per logical operation.
    AtMostOnce,
    /// Exactly one effect once the client was told success.
    NoLostSuccess,
    /// Every final answer to an operation's attempts is the same.
    FaithfulAnswers,
    /// No effect behind a final failure: a client told its request was refused (400, 422,
    /// ...) must be able to trust that nothing happened (see [`oracle::denies_effect`]).
    NoFalseFailure,
    /// Liveness: no idempotency record is left in progress when the run ends: some attempt
    /// finished what the first one started (a design that recovers only when a retry comes
    /// needs a client whose retries outlast a crash, a restart and the lease).
    NothingStuck,
    /// Liveness: every operation the server was asked about gets a final answer within the
    /// client's patience: no client gives up after the server answered every one of its
    /// attempts with "try again" (a stored 503 replayed for ever, a claim no one finishes).
    EveryOpServed,
    /// Every key the scenario's `[oracle] exists` names is in the durable store when the run
    /// ends (a resource a PUT wrote as delete-then-insert, say, that a crash left deleted).
    FinalState,
}

impl Invariant for BuiltIn {
    fn name(&self) -> &str {
        match self {
            BuiltIn::AtMostOnce => "at most one effect per operation",
            BuiltIn::NoLostSuccess => "exactly one effect once the client was told success",
            BuiltIn::FaithfulAnswers => "answers to retries faithful to the first",
            BuiltIn::NoFalseFailure => "no effect behind a final failure",
            BuiltIn::NothingStuck => "nothing left in progress",
            BuiltIn::EveryOpServed => "every operation served",
            BuiltIn::FinalState => "the final state holds",
        }
    }

    fn metric(&self) -> Option<&str> {
        Some(match self {
            BuiltIn::AtMostOnce => "duplicates",
            BuiltIn::NoLostSuccess => "lost",
            BuiltIn::FaithfulAnswers => "inconsistent",
            BuiltIn::NoFalseFailure => "false_failures",
            BuiltIn::NothingStuck => "stuck",
            BuiltIn::EveryOpServed => "unserved",
            BuiltIn::FinalState => "final_state",
        })
    }

    fn liveness(&self) -> bool {
        matches!(self, BuiltIn::NothingStuck | BuiltIn::EveryOpServed)
    }

    fn local(&self, scenario: &Scenario) -> bool {
        // The final state is read when the run ends, and when it ends depends on every
        // operation: two faults that each push the end a little later can together let a key
        // expire that neither alone does. Without keys to check, it checks nothing.
        *self != BuiltIn::FinalState || scenario.oracle.exists.is_empty()
    }

    fn check(&self, run: &Run, metrics: &Metrics) -> Option<(String, Vec<u32>)> {
        match self {
            BuiltIn::AtMostOnce if metrics.duplicates > 0 => {
                let apps = oracle::applications(run);
                let ops: Vec<u32> = (1..=apps.len() as u32)
                    .filter(|op| apps[*op as usize - 1] > 1)
                    .collect();
                let first = ops[0];
                let n = apps[first as usize - 1];
                Some((format!("op {first} took effect {n} times"), ops))
            }
            BuiltIn::NoLostSuccess if metrics.lost > 0 => {
                let apps = oracle::applications(run);
                let ops: Vec<u32> = run
                    .ops
                    .iter()
                    .filter(|o| o.outcome == Outcome::Succeeded && apps[o.op as usize - 1] == 0)
                    .map(|o| o.op)
                    .collect();
                Some((
                    format!("op {} was told success but never took effect", ops[0]),
                    ops,
                ))
            }
            BuiltIn::FaithfulAnswers if metrics.inconsistent > 0 => {
                let ops: Vec<u32> = run
                    .ops
                    .iter()
                    .filter(|o| {
                        let finals: BTreeSet<_> = o
                            .received
                            .iter()
                            .filter(|r| !r.response.is_retryable())
                            .map(|r| r.response)
                            .collect();
                        finals.len() > 1
                    })
                    .map(|o| o.op)
                    .collect();
                Some((
                    format!("op {} got two different final answers", ops[0]),
                    ops,
                ))
            }
            BuiltIn::NoFalseFailure if metrics.false_failures > 0 => {
                let apps = oracle::applications(run);
                let found: Vec<(u32, Response)> = run
                    .ops
                    .iter()
                    .filter(|o| o.outcome == Outcome::Failed && apps[o.op as usize - 1] > 0)
                    .filter_map(|o| {
                        o.client_answer()
                            .filter(oracle::denies_effect)
                            .map(|r| (o.op, r))
                    })
                    .collect();
                let (op, answer) = *found.first()?;
                Some((
                    format!("op {op} was told `{answer}`, a final failure, yet it took effect"),
                    found.iter().map(|(op, _)| *op).collect(),
                ))
            }
            BuiltIn::EveryOpServed if metrics.unserved > 0 => {
                let found: Vec<(u32, u32, Response)> = run
                    .ops
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::InDoubt | Outcome::DeadLettered))
                    .filter(|o| {
                        o.received.iter().filter(|r| r.accepted).count() as u32 >= o.attempts
                    })
                    .filter_map(|o| {
                        o.client_answer()
                            .filter(|r| r.is_retryable())
                            .map(|r| (o.op, o.attempts, r))
                    })
                    .collect();
                let (op, attempts, answer) = *found.first()?;
                Some((
                    format!(
                        "op {op} was never served: the server answered all {attempts} \
                         attempts with \"try again\" (the last `{answer}`), and the client \
                         gave up"
                    ),
                    found.iter().map(|(op, ..)| *op).collect(),
                ))
            }
            BuiltIn::NothingStuck if metrics.stuck > 0 => {
                let keys: Vec<&crate::world::StoreKey> = run
                    .durable
                    .iter()
                    .filter(|(_, v)| matches!(v, Value::InProgress { .. }))
                    .map(|(k, _)| k)
                    .collect();
                let ops = keys.iter().filter_map(|k| op_of_key(k)).collect();
                Some((
                    format!(
                        "{} was still in progress when the run ended: no attempt finished it",
                        keys[0]
                    ),
                    ops,
                ))
            }
            BuiltIn::FinalState if !run.final_missing.is_empty() => {
                // The operations that touched the missing key: those whose retries it concerns.
                let key = &run.final_missing[0];
                let ops = ops_with_effects(run);
                Some((format!("{key} does not exist when the run ends"), ops))
            }
            _ => None,
        }
    }
}

/// An invariant on the final state, in one line: `key` is in the durable store (and not
/// deleted) when the run ends. `Checker::new(&s, &d).invariant(check::exists("item:1"))`.
/// A scenario says the same with `[oracle] exists = ["item:1"]`.
pub fn exists(key: &str) -> Box<dyn Invariant> {
    Box::new(Exists {
        key: key.to_string(),
        name: format!("{key} exists when the run ends"),
    })
}

/// See [`exists`].
struct Exists {
    key: String,
    name: String,
}

impl Invariant for Exists {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self, run: &Run, _: &Metrics) -> Option<(String, Vec<u32>)> {
        match run.durable.get(self.key.as_str()) {
            Some(v) if *v != Value::Tombstone => None,
            _ => Some((
                format!("{} does not exist when the run ends", self.key),
                ops_with_effects(run),
            )),
        }
    }
}

/// The operations that made an effect, for the story of a final state that does not hold:
/// those whose retries it concerns; every operation when none made one (the key was never
/// written: the story is the whole run's).
fn ops_with_effects(run: &Run) -> Vec<u32> {
    let ops: BTreeSet<u32> = run.ledger.iter().map(|e| e.op).collect();
    if ops.is_empty() {
        run.ops.iter().map(|o| o.op).collect()
    } else {
        ops.into_iter().collect()
    }
}

/// The operation a store key belongs to, for the story of a stuck record: the key's last
/// `:`-separated segment, when it is `k` and the operation's number (`idem:k3`, or
/// `idem:k3.2` for attempt 2's key), as the catalog's designs and [`IdemKey`]'s `Display`
/// name them. A design of your own that keys its records otherwise still gets the verdict;
/// its story then names no operation.
///
/// [`IdemKey`]: crate::vocab::IdemKey
fn op_of_key(key: &str) -> Option<u32> {
    let k = key.rsplit(':').next()?.strip_prefix('k')?;
    k.split('.').next()?.parse().ok()
}

/// The built-in invariants, in the order they are checked.
pub fn default_invariants() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(BuiltIn::AtMostOnce),
        Box::new(BuiltIn::NoLostSuccess),
        Box::new(BuiltIn::FaithfulAnswers),
        Box::new(BuiltIn::NoFalseFailure),
        Box::new(BuiltIn::FinalState),
        Box::new(BuiltIn::NothingStuck),
        Box::new(BuiltIn::EveryOpServed),
    ]
}

/// An invariant a run broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// Its metric, if it has one.
    pub metric: Option<String>,
    /// What went wrong, in words.
    pub detail: String,
    /// The operations involved.
    pub ops: Vec<u32>,
    /// `Some(the client's patience, in words)` for a liveness property (see
    /// [`Invariant::liveness`]): the verdict holds for a client that waits this long.
    pub liveness: Option<String>,
}

/// The client's patience in `scenario`, in words: how many attempts, with what timeout and
/// backoff, and about how long that lets a retry come after the first attempt.
pub fn patience(scenario: &Scenario) -> String {
    let r = &scenario.retry;
    let backoff = match r.backoff {
        crate::settings::Backoff::Constant => format!("{} between attempts", r.backoff_base),
        crate::settings::Backoff::Exponential => {
            format!("backoff {} doubling to {}", r.backoff_base, r.backoff_cap)
        }
    };
    let horizon = (1..r.attempts_max)
        .map(|a| {
            let ceiling = match r.backoff {
                crate::settings::Backoff::Constant => r.backoff_base.0,
                crate::settings::Backoff::Exponential => r
                    .backoff_base
                    .0
                    .saturating_mul(1u64 << (a - 1).min(62))
                    .min(r.backoff_cap.0),
            };
            r.timeout.0.saturating_add(ceiling)
        })
        .fold(r.timeout.0, u64::saturating_add);
    match &scenario.broker {
        Some(b) => format!(
            "{} receives, {} visibility timeout: about {} from the first delivery to the last",
            b.max_receives,
            b.visibility_timeout,
            SimDuration(
                b.visibility_timeout
                    .0
                    .saturating_mul(u64::from(b.max_receives))
            )
        ),
        None => format!(
            "{} attempts, {} timeout, {backoff}: at most about {} from the first attempt to giving up",
            r.attempts_max,
            r.timeout,
            SimDuration(horizon)
        ),
    }
}

/// The kinds of fault atom a search may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Lose a message.
    Drop,
    /// Deliver a message twice.
    Duplicate,
    /// Deliver a message late.
    Delay,
    /// Crash the server just before or after a handler step.
    Crash,
    /// Stall one handler step of one attempt (by a client timeout): the retry overtakes it.
    Slow,
    /// Make the payment provider answer 503 to one attempt.
    Unavailable,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::Delay,
        FaultKind::Crash,
        FaultKind::Slow,
        FaultKind::Unavailable,
    ];

    /// The kinds searched when none are named: the network's and the server's faults.
    /// `slow` and `unavailable` are asked for by name (`--faults slow,unavailable`).
    pub const DEFAULT: [FaultKind; 4] = [
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::Delay,
        FaultKind::Crash,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Delay => "delay",
            FaultKind::Crash => "crash",
            FaultKind::Slow => "slow",
            FaultKind::Unavailable => "unavailable",
        }
    }

    /// The kind of `atom`; `None` for a partition, which no search generates.
    pub fn of(atom: &FaultAtom) -> Option<FaultKind> {
        Some(match atom {
            FaultAtom::Drop(_) => FaultKind::Drop,
            FaultAtom::Duplicate(_) => FaultKind::Duplicate,
            FaultAtom::Delay { .. } => FaultKind::Delay,
            FaultAtom::CrashAt { .. } | FaultAtom::CrashAtStep { .. } => FaultKind::Crash,
            FaultAtom::Slow { .. } => FaultKind::Slow,
            FaultAtom::Unavailable { .. } => FaultKind::Unavailable,
            FaultAtom::Partition { .. } => return None,
        })
    }
}

/// What can be injected: the space the generated plans are drawn from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpace {
    /// Operations `1..=ops`.
    pub ops: u32,
    /// Attempts `1..=attempts`.
    pub attempts: u32,
    /// The handler steps a crash may come before or after.
    pub steps: Vec<StepKind>,
    /// The extra delays a message may get.
    pub delays: Vec<SimDuration>,
    /// The kinds of atom to draw (never empty).
    pub kinds: Vec<FaultKind>,
}

impl FaultSpace {
    /// The space for `design` in `scenario`: its operations and attempts, the steps its
    /// fault-free run goes through, and delays of half, one and two client timeouts.
    pub fn of(scenario: &Scenario, design: &dyn Design) -> Self {
        let run = crate::world::run(
            &without_faults(scenario),
            design,
            scenario.seed,
            &FaultPlan::default(),
        );
        let steps: BTreeSet<StepKind> = run
            .trace
            .iter()
            .filter_map(|e| match e.detail {
                Detail::Step(s, _) if e.kind == EventKind::Step => Some(s),
                _ => None,
            })
            .collect();
        let t = scenario.retry.timeout;
        FaultSpace {
            ops: scenario.workload.ops,
            attempts: scenario.retry.attempts_max,
            steps: if steps.is_empty() {
                StepKind::ALL.to_vec()
            } else {
                steps.into_iter().collect()
            },
            delays: vec![SimDuration(t.0 / 2), t, SimDuration(t.0.saturating_mul(2))],
            kinds: FaultKind::DEFAULT.to_vec(),
        }
    }
}

pub mod explore;
mod narrative;
mod shrink;
/// Proptest strategies for fault plans, to compose in `proptest!` blocks.
pub mod strategy;

pub(crate) use explore::group;
pub use explore::{DepthReport, ExploreProgress, ExploreReport, Ordinal, RunReasons, Stop};

/// `scenario` without its scripted faults.
fn without_faults(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.faults = FaultPlan::default();
    s.expect.clear();
    s
}

/// A failure, shrunk: the plan, the run, and the story.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The design.
    pub design: String,
    /// The scenario that replays it: the smallest workload, this plan as its faults, one
    /// design, and an `[expect]` line that fails.
    pub scenario: Scenario,
    /// The shrunk plan.
    pub plan: FaultPlan,
    /// The broken invariant.
    pub violation: Violation,
    /// The failing run.
    pub run: Run,
}

/// What a random search found.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Runs made (generated plans and shrinking steps).
    pub plans: u64,
    /// The shrunk failure, if any.
    pub counterexample: Option<Counterexample>,
    /// False when the search was stopped before it finished.
    pub complete: bool,
}

/// Property-tests one design in one scenario.
pub struct Checker<'a> {
    scenario: Scenario,
    design: &'a dyn Design,
    seed: u64,
    cases: u32,
    max_faults: usize,
    invariants: Vec<Box<dyn Invariant>>,
    /// True once the user added an invariant: it may read the trace, so runs keep one.
    custom_invariants: bool,
    kinds: Vec<FaultKind>,
    stop: Option<&'a AtomicBool>,
    progress: Option<&'a (dyn Fn(u64) + Sync)>,
    explore_progress: Option<&'a (dyn Fn(&ExploreProgress) + Sync)>,
    jobs: usize,
    max_runs: Option<u64>,
    /// `explore --shard I/N`: the shard's share of the tree (`Checker::shard`)
    shard: Option<(u64, u64)>,
    prune: bool,
    /// Verify one decided plan in this many (0: none; 1: all).
    verify_every: u64,
    /// The most effects `explore` holds for the last depth ([`Checker::max_effects_held`]).
    effects_held: usize,
}

impl<'a> Checker<'a> {
    /// A checker with the default invariants, 256 cases, up to 3 faults per plan, seed 1.
    pub fn new(scenario: &Scenario, design: &'a dyn Design) -> Self {
        Checker {
            scenario: without_faults(scenario),
            design,
            seed: 1,
            cases: 256,
            max_faults: 3,
            invariants: default_invariants(),
            custom_invariants: false,
            kinds: FaultKind::DEFAULT.to_vec(),
            stop: None,
            progress: None,
            explore_progress: None,
            jobs: 0,
            max_runs: None,
            shard: None,
            prune: true,
            verify_every: 0,
            effects_held: explore::MAX_EFFECTS_HELD,
        }
    }

    /// With `true`, [`Checker::explore`] also runs every plan it decided without a run and
    /// counts, per depth, those that broke an invariant after all, or whose run broke the
    /// premise the decision rested on ([`DepthReport::misjudged`]): a check of the search's
    /// reasoning, for tests. A plan the pair rule decided is run with the runs it was decided
    /// from (four runs), one decided by groups once.
    pub fn verify_decisions(mut self, verify: bool) -> Self {
        self.verify_every = u64::from(verify);
        self
    }

    /// Like [`Checker::verify_decisions`], for a deterministic sample: runs about one plan in
    /// `every` of those decided without a run (chosen by a hash of the plan, so the same ones
    /// for any number of threads), and counts them in [`DepthReport::verified`]. For checking
    /// the reasoning on searches too large to verify whole.
    pub fn verify_sample(mut self, every: u64) -> Self {
        self.verify_every = every;
        self
    }

    /// True when the decided plan `plan + atom` is to be run after all.
    fn verifies(&self, plan: &[FaultAtom], atom: &FaultAtom) -> bool {
        use std::hash::{Hash, Hasher};
        match self.verify_every {
            0 => false,
            1 => true,
            every => {
                // `DefaultHasher::new()` has fixed keys: the same sample in every run.
                let mut h = std::hash::DefaultHasher::new();
                plan.hash(&mut h);
                atom.hash(&mut h);
                h.finish().is_multiple_of(every)
            }
        }
    }

    /// How many threads [`Checker::explore`] runs plans on (0, the default: one per core).
    /// The report is the same for any number.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Stops [`Checker::explore`] once it has made about this many runs (it ends a batch
    /// between two nodes, before the first whose children would pass it); the report says
    /// what was covered.
    pub fn max_runs(mut self, max_runs: u64) -> Self {
        self.max_runs = Some(max_runs);
        self
    }

    /// Makes [`Checker::explore`] search one shard of the tree: every plan of up to `K - 2`
    /// faults (`K` the search's depth), as every shard does, and deeper only the subtrees of
    /// every `count`th plan of `K - 2` faults, from the `index`th; with `K` of 1 or 2, the
    /// subtrees of the fault-free run's children dealt to shard `index`, largest first to the
    /// lightest shard, each weighed by its run's children. Every deeper plan extends one plan
    /// of `K - 2` faults, dealt to one shard, so the `count` shards together cover the tree;
    /// `ExploreReport::merge` joins their reports into the claim for all. Panics unless
    /// `index < count`.
    pub fn shard(mut self, index: u64, count: u64) -> Self {
        assert!(index < count, "shard {index} of {count}");
        self.shard = Some((index, count));
        self
    }

    /// The most effects (what each plan of the depth before the last changed, about 1.5 KB
    /// each) [`Checker::explore`] holds to decide plans of the last depth without a run;
    /// past it, each parent's children are run again for them when the last depth needs them,
    /// a batch of parents at a time. Memory against time: the report is the same for any
    /// value. Default [`MAX_EFFECTS_HELD`](explore::MAX_EFFECTS_HELD).
    pub fn max_effects_held(mut self, effects: usize) -> Self {
        self.effects_held = effects;
        self
    }

    /// With `false`, [`Checker::explore`] searches the plain tree of runs: no run is skipped
    /// because it repeats another (dominated atoms are still skipped: they are not plans of
    /// their own). For checking that the pruning is sound.
    pub fn pruning(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Calls `progress` after every batch of [`Checker::explore`].
    pub fn on_explore_progress(mut self, progress: &'a (dyn Fn(&ExploreProgress) + Sync)) -> Self {
        self.explore_progress = Some(progress);
        self
    }

    /// The kinds of fault the searches try.
    pub fn kinds(&self) -> &[FaultKind] {
        &self.kinds
    }

    /// The seed of the plan generator (the world's fates keep the scenario's seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many generated plans to try.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// The most atoms in one generated plan.
    pub fn max_faults(mut self, max_faults: usize) -> Self {
        self.max_faults = max_faults;
        self
    }

    /// Searches only plans made of these kinds of fault ([`FaultKind::DEFAULT`] when empty).
    pub fn fault_kinds(mut self, kinds: &[FaultKind]) -> Self {
        self.kinds = if kinds.is_empty() {
            FaultKind::DEFAULT.to_vec()
        } else {
            kinds.to_vec()
        };
        self
    }

    /// Adds an invariant of the user's own.
    pub fn invariant(mut self, invariant: Box<dyn Invariant>) -> Self {
        self.invariants.push(invariant);
        self.custom_invariants = true;
        self
    }

    /// Stops the search early when `stop` becomes true (e.g. on Ctrl-C).
    pub fn stop_when(mut self, stop: &'a AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Calls `progress` with the number of plans run, now and then.
    pub fn on_progress(mut self, progress: &'a (dyn Fn(u64) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The scenario the checker runs plans in: the one it was given, without its own faults.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Replays a scenario, such as a counterexample file read back with `scenario::parse`,
    /// faults and all, against the checker's design: the first broken invariant, with the run.
    /// How a counterexample of a design of your own is replayed (`idemlab run` cannot build
    /// it).
    pub fn replay(&self, scenario: &Scenario) -> (Option<Violation>, Run) {
        self.evaluate(scenario, &FaultPlan::default())
    }

    /// Runs `plan` in the checker's scenario; the first broken invariant, with the run. This is
    /// the call for a user's own `proptest!` block.
    pub fn check_plan(&self, plan: &FaultPlan) -> (Option<Violation>, Run) {
        self.evaluate(&self.scenario, plan)
    }

    /// Runs `plan` in `scenario` (its own faults included); the first broken invariant, with
    /// the run.
    pub fn evaluate(&self, scenario: &Scenario, plan: &FaultPlan) -> (Option<Violation>, Run) {
        let run = crate::world::run(scenario, self.design, scenario.seed, plan);
        (self.first_violation(scenario, &run), run)
    }

    /// The first invariant `run` (of `scenario`) breaks, in the order they were given.
    fn first_violation(&self, scenario: &Scenario, run: &Run) -> Option<Violation> {
        // The built-in invariants read only counts; an invariant of the user's own may read
        // any figure.
        let metrics = if self.custom_invariants {
            oracle::measure(run)
        } else {
            oracle::measure_verdict(run)
        };
        self.invariants.iter().find_map(|inv| {
            inv.check(run, &metrics).map(|(detail, ops)| Violation {
                invariant: inv.name().to_string(),
                metric: inv.metric().map(str::to_string),
                detail,
                ops,
                liveness: inv.liveness().then(|| patience(scenario)),
            })
        })
    }

    /// Random search: the fault-free run first, then `cases` generated plans.
    pub fn check(&self) -> CheckReport {
        let plans = std::cell::Cell::new(0u64);
        let count = || {
            plans.set(plans.get() + 1);
            if let Some(p) = self.progress
                && plans.get().is_multiple_of(64)
            {
                p(plans.get());
            }
        };
        count();
        if let (Some(_), _) = self.evaluate(&self.scenario, &FaultPlan::default()) {
            let counterexample = self.shrink(FaultPlan::default());
            return CheckReport {
                plans: plans.get(),
                counterexample,
                complete: true,
            };
        }
        let mut space = FaultSpace::of(&self.scenario, self.design);
        space.kinds = self.kinds.clone();
        let config = Config {
            cases: self.cases,
            failure_persistence: None,
            max_shrink_iters: 2_048,
            ..Config::default()
        };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let result = runner.run(&strategy::fault_plan(&space, self.max_faults), |plan| {
            if self.stopped() {
                return Ok(());
            }
            count();
            match self.evaluate(&self.scenario, &plan) {
                (Some(v), _) => Err(TestCaseError::fail(v.detail)),
                (None, _) => Ok(()),
            }
        });
        let counterexample = match result {
            Err(TestError::Fail(_, plan)) => self.shrink(plan),
            _ => None,
        };
        CheckReport {
            plans: plans.get(),
            counterexample,
            complete: !self.stopped(),
        }
    }
}

/// An exercise's verdict: did the design hold every invariant?
#[derive(Clone, Debug)]
pub struct Grade {
    /// True when no plan broke an invariant.
    pub passed: bool,
    /// What to print: the plans tried, or the counterexample's story.
    pub report: String,
}

/// Grades `design` on `scenario`, as the exercises do: every plan of at most `max_faults`
/// atoms of `kinds` (the fault-free run first), then 256 generated plans. Deterministic: the
/// same design gets the same grade and the same story every time.
pub fn grade(
    scenario: &Scenario,
    design: &dyn Design,
    kinds: &[FaultKind],
    max_faults: usize,
) -> Grade {
    let checker = Checker::new(scenario, design).fault_kinds(kinds).cases(256);
    let explored = checker.explore(max_faults);
    let explore_runs = explored.runs();
    if let Some(found) = explored.minimal {
        return Grade {
            passed: false,
            report: format!("FAIL\n\n{}", found.report()),
        };
    }
    let checked = checker.check();
    match checked.counterexample {
        Some(found) => Grade {
            passed: false,
            report: format!("FAIL\n\n{}", found.report()),
        },
        None => Grade {
            passed: true,
            report: format!(
                "PASS: `{}` held every invariant on {} in every plan of at most {max_faults} \
                 fault(s) ({explore_runs} runs) and {} generated ones",
                design.name(),
                scenario.name,
                // `plans` counts the fault-free run too, which the search above already ran.
                checked.plans.saturating_sub(1)
            ),
        },
    }
}
