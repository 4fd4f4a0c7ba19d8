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

use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};
use crate::handlers::Design;
use crate::handlers::api::{EffectKind, Value};
use crate::oracle::{self, Metrics};
use crate::scenario::{Comparison, Expectation, Scenario};
use crate::time::SimDuration;
use crate::trace::{Detail, EventKind, NO_OP, Node, Outcome, TraceEvent};
use crate::world::{Run, StepKind};

/// A property every run of a design must have.
pub trait Invariant {
    /// A short name, e.g. `at-most-once`.
    fn name(&self) -> &str;
    /// The metric that measures it, for `[expect]` lines in replay files (`None` for custom
    /// invariants that no metric captures).
    fn metric(&self) -> Option<&str> {
        None
    }
    /// `Some(what went wrong, the operations involved)` when `run` breaks it.
    fn check(&self, run: &Run, metrics: &Metrics) -> Option<(String, Vec<u32>)>;
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
    /// No idempotency record is left in progress when the run ends: some attempt finished
    /// what the first one started (a design that recovers only when a retry comes needs a
    /// client whose retries outlast a crash, a restart and the lease).
    NothingStuck,
}

impl Invariant for BuiltIn {
    fn name(&self) -> &str {
        match self {
            BuiltIn::AtMostOnce => "at most one effect per operation",
            BuiltIn::NoLostSuccess => "exactly one effect once the client was told success",
            BuiltIn::FaithfulAnswers => "answers to retries faithful to the first",
            BuiltIn::NothingStuck => "nothing left in progress",
        }
    }

    fn metric(&self) -> Option<&str> {
        Some(match self {
            BuiltIn::AtMostOnce => "duplicates",
            BuiltIn::NoLostSuccess => "lost",
            BuiltIn::FaithfulAnswers => "inconsistent",
            BuiltIn::NothingStuck => "stuck",
        })
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
            BuiltIn::NothingStuck if metrics.stuck > 0 => {
                let keys: Vec<&String> = run
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
            _ => None,
        }
    }
}

/// The operation a store key such as `idem:k3` or `idem:k3.2` belongs to.
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
        Box::new(BuiltIn::NothingStuck),
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
                Detail::Step(s) if e.kind == EventKind::Step => Some(s),
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

/// Proptest strategies for fault plans, to compose in `proptest!` blocks.
pub mod strategy {
    use proptest::prelude::*;

    use super::{FaultKind, FaultSpace};
    use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};

    fn message(space: &FaultSpace) -> impl Strategy<Value = MessageRef> + use<> {
        (
            prop_oneof![Just(Direction::Request), Just(Direction::Response)],
            1..=space.ops,
            1..=space.attempts,
        )
            .prop_map(|(dir, op, attempt)| MessageRef {
                dir,
                op,
                attempt,
                copy: 0,
            })
    }

    /// One fault atom from `space`: drop, duplicate or delay a message, or crash just after or
    /// just before a step, among the kinds `space` allows. Shrinks toward earlier operations
    /// and attempts and plainer faults.
    pub fn atom(space: &FaultSpace) -> BoxedStrategy<FaultAtom> {
        let delays = space.delays.clone();
        let steps = space.steps.clone();
        let ops = space.ops;
        let attempts = space.attempts;
        let mut choices: Vec<BoxedStrategy<FaultAtom>> = Vec::new();
        for kind in &space.kinds {
            choices.push(match kind {
                FaultKind::Drop => message(space).prop_map(FaultAtom::Drop).boxed(),
                FaultKind::Duplicate => message(space).prop_map(FaultAtom::Duplicate).boxed(),
                FaultKind::Delay => {
                    let delays = delays.clone();
                    (message(space), 0..delays.len())
                        .prop_map(move |(msg, i)| FaultAtom::Delay { msg, by: delays[i] })
                        .boxed()
                }
                FaultKind::Crash => {
                    let steps = steps.clone();
                    (1..=ops, 1..=attempts, 0..steps.len(), any::<bool>())
                        .prop_map(move |(op, attempt, s, before)| FaultAtom::CrashAtStep {
                            op,
                            attempt: Some(attempt),
                            when: if before { When::Before } else { When::After },
                            step: steps[s],
                        })
                        .boxed()
                }
                FaultKind::Slow => {
                    let (steps, delays) = (steps.clone(), delays.clone());
                    (1..=ops, 1..=attempts, 0..steps.len(), 0..delays.len())
                        .prop_map(move |(op, attempt, s, d)| FaultAtom::Slow {
                            op,
                            attempt,
                            step: steps[s],
                            by: delays[d],
                        })
                        .boxed()
                }
                FaultKind::Unavailable => (1..=ops, 1..=attempts)
                    .prop_map(|(op, attempt)| FaultAtom::Unavailable {
                        op,
                        attempt: Some(attempt),
                    })
                    .boxed(),
            });
        }
        proptest::strategy::Union::new(choices).boxed()
    }

    /// A plan of up to `max_atoms` atoms from `space`.
    pub fn fault_plan(
        space: &FaultSpace,
        max_atoms: usize,
    ) -> impl Strategy<Value = FaultPlan> + use<> {
        prop::collection::vec(atom(space), 0..=max_atoms).prop_map(FaultPlan::new)
    }
}

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

impl Counterexample {
    /// The failing run as numbered sentences, about the operations involved.
    pub fn narrative(&self) -> Vec<String> {
        let ops: BTreeSet<u32> = self.violation.ops.iter().copied().collect();
        let mut lines = Vec::new();
        for e in self.run.trace.iter() {
            let involved = ops.contains(&e.op) || (e.op == NO_OP && e.kind != EventKind::Limit);
            if !involved {
                continue;
            }
            let words = if self.scenario.broker.is_some() {
                queue_sentence(&e).or_else(|| {
                    let op = format!("op {}:", e.op);
                    sentence(&e).map(|w| w.replacen(&op, &format!("message {}:", e.op), 1))
                })
            } else {
                sentence(&e)
            };
            if let Some(words) = words {
                lines.push(words);
            }
        }
        lines.push(format!(
            "→ {} ({})",
            self.violation.detail, self.violation.invariant
        ));
        lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| format!("{:>3}. {l}", i + 1))
            .collect()
    }

    /// The scenario file that replays the failure.
    pub fn to_toml(&self) -> String {
        let mut header = vec![
            format!(
                "Counterexample: `{}` breaks \"{}\".",
                self.design, self.violation.invariant
            ),
            "Written by `idemlab check` / `idemlab explore`; replay it with `idemlab run FILE`,"
                .to_string(),
            "which exits 1 because the [expect] line below does not hold.".to_string(),
            String::new(),
        ];
        header.extend(self.narrative());
        crate::scenario::to_toml(&self.scenario, &header.join("\n"))
    }

    /// The whole report: what broke, the plan, the story.
    pub fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "`{}` breaks \"{}\" in {} ({} operation{}, {} fault{}):",
            self.design,
            self.violation.invariant,
            self.scenario.name,
            self.scenario.workload.ops,
            if self.scenario.workload.ops == 1 {
                ""
            } else {
                "s"
            },
            self.plan.atoms.len(),
            if self.plan.atoms.len() == 1 { "" } else { "s" },
        );
        if self.plan.atoms.is_empty() {
            let _ = writeln!(
                out,
                "  no fault needed: the scenario's timing alone breaks it"
            );
        }
        for atom in &self.plan.atoms {
            let _ = writeln!(out, "  - {atom}");
        }
        let _ = writeln!(out, "\nwhat happened:");
        for line in self.narrative() {
            let _ = writeln!(out, "{line}");
        }
        out
    }
}

/// One event of a counterexample behind a broker, in the queue's words (a request is a
/// delivery, a response an ack, a retry a redelivery); `None` for the events that read the
/// same as in `sentence`.
fn queue_sentence(e: &TraceEvent) -> Option<String> {
    let who = format!("message {}", e.op);
    let s = match (e.kind, e.detail) {
        (EventKind::OpStart, _) => format!("{who}: the producer publishes it"),
        (EventKind::Send, _) => format!("{who}: the broker delivers it (delivery {})", e.attempt),
        (EventKind::Deliver, _) => {
            format!("{who}: {} receives delivery {}", e.node, e.attempt)
        }
        (EventKind::Lost, Detail::Lost { request, .. }) => {
            let what = if request {
                "delivery"
            } else {
                "ack of delivery"
            };
            format!("{who}: the network loses the {what} {}", e.attempt)
        }
        (EventKind::Step, Detail::Step(StepKind::Ack)) => {
            format!("{who}: {} acks it", e.node)
        }
        (EventKind::Respond, Detail::Response(r)) if r.is_success() => {
            format!("{who}: {} acks it ({r})", e.node)
        }
        (EventKind::Respond, Detail::Response(r)) => {
            format!("{who}: {} fails with {r} and does not ack", e.node)
        }
        (EventKind::Receive, Detail::Response(_)) => {
            format!("{who}: the broker gets the ack of delivery {}", e.attempt)
        }
        (EventKind::Timeout, _) => format!(
            "{who}: delivery {}'s visibility timeout runs out",
            e.attempt
        ),
        (EventKind::Retry, _) => format!("{who}: the broker makes it visible again"),
        (EventKind::DeadLetter, _) => {
            format!("{who}: the broker moves it to the dead-letter queue")
        }
        (EventKind::Redrive, _) => {
            format!("{who}: an operator redrives it from the dead-letter queue")
        }
        (EventKind::Done, Detail::Outcome(o)) => format!("{who}: settled: {}", o.name()),
        _ => return None,
    };
    Some(s)
}

/// One event of a counterexample in plain words, or `None` for bookkeeping.
fn sentence(e: &TraceEvent) -> Option<String> {
    let who = |e: &TraceEvent| format!("op {}", e.op);
    let server = |n: Node| n.to_string();
    let s = match (e.kind, e.detail) {
        (EventKind::OpStart, _) => format!("{}: the client starts the operation", who(e)),
        (EventKind::Send, _) => format!(
            "{}: the client sends attempt {}{}",
            who(e),
            e.attempt,
            e.key.map(|k| format!(" with key {k}")).unwrap_or_default()
        ),
        (EventKind::Lost, Detail::Lost { request, cause }) => format!(
            "{}: the network loses the {} of attempt {}{}",
            who(e),
            if request { "request" } else { "response" },
            e.attempt,
            match cause {
                crate::trace::LossCause::Plan => " (fault plan)",
                crate::trace::LossCause::Partition => " (partition)",
                crate::trace::LossCause::Random => "",
                crate::trace::LossCause::Deduplicated => " (FIFO deduplication)",
            }
        ),
        (EventKind::Duplicate, _) => format!(
            "{}: the network delivers attempt {}'s message twice",
            who(e),
            e.attempt
        ),
        (EventKind::Deliver, _) => format!(
            "{}: {} receives attempt {}{}",
            who(e),
            server(e.node),
            e.attempt,
            if e.copy > 0 {
                " (the network's copy)"
            } else {
                ""
            }
        ),
        (EventKind::Refused, _) => format!(
            "{}: {} is down and refuses attempt {}",
            who(e),
            server(e.node),
            e.attempt
        ),
        (EventKind::Step, Detail::Step(step)) => match step {
            StepKind::InsertIfAbsent => format!("{}: {} claims the key", who(e), server(e.node)),
            StepKind::Get => format!("{}: {} looks the key up", who(e), server(e.node)),
            StepKind::Put => format!("{}: {} stores the result", who(e), server(e.node)),
            StepKind::Transaction => {
                format!("{}: {} commits a transaction", who(e), server(e.node))
            }
            StepKind::CompareAndSet => format!("{}: {} compares and sets", who(e), server(e.node)),
            _ => return None,
        },
        (EventKind::Effect, Detail::Effect { kind, amount, nth }) => {
            let what = match kind {
                EffectKind::Charge => format!("the provider charges {amount}"),
                EffectKind::Order => format!("the store creates an order for {amount}"),
                EffectKind::Increment => format!("the counter goes up by {amount}"),
                EffectKind::Write => "the store changes a resource".to_string(),
                EffectKind::Delete => "the store deletes a resource".to_string(),
            };
            let again = match nth {
                1 => String::new(),
                2 => " again → twice".to_string(),
                n => format!(" again → {n} times"),
            };
            format!("{}: {what}{again}", who(e))
        }
        (EventKind::Respond, Detail::Response(r)) => {
            format!("{}: {} answers {r}", who(e), server(e.node))
        }
        (EventKind::Receive, Detail::Response(r)) => {
            format!("{}: the client gets {r} for attempt {}", who(e), e.attempt)
        }
        (EventKind::Late, Detail::Response(r)) => format!(
            "{}: a late {r} for attempt {} arrives; the client has moved on",
            who(e),
            e.attempt
        ),
        (EventKind::Timeout, _) => format!(
            "{}: the client times out waiting for attempt {}",
            who(e),
            e.attempt
        ),
        (EventKind::Retry, Detail::Backoff { delay_us }) => format!(
            "{}: the client retries after {}",
            who(e),
            SimDuration(delay_us)
        ),
        (EventKind::GiveUp, _) => format!("{}: the client gives up: outcome unknown", who(e)),
        (EventKind::Done, Detail::Outcome(o)) => {
            format!("{}: the client is told: {}", who(e), o.name())
        }
        (EventKind::Crash, Detail::Crash(cause)) => {
            let when = match cause {
                crate::trace::CrashCause::At => "(fault plan)".to_string(),
                crate::trace::CrashCause::Before(s) => {
                    format!("just before its {s} step (fault plan)")
                }
                crate::trace::CrashCause::After(s) => {
                    format!("right after its {s} step (fault plan)")
                }
            };
            let prefix = if e.op == NO_OP {
                String::new()
            } else {
                format!("{}: ", who(e))
            };
            format!("{prefix}{} crashes {when}", server(e.node))
        }
        (EventKind::Restart, _) => format!("{} restarts", server(e.node)),
        _ => return None,
    };
    Some(s)
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

/// What an exhaustive search found.
#[derive(Clone, Debug)]
pub struct ExploreReport {
    /// Plans run.
    pub plans: u64,
    /// Of those, plans that broke an invariant.
    pub violations: u64,
    /// How many plans the search had to run in all.
    pub total: u64,
    /// The first failure with the fewest atoms, shrunk in operations.
    pub minimal: Option<Counterexample>,
    /// False when the search was stopped before it finished.
    pub complete: bool,
}

/// The most plans one exhaustive search may enumerate.
pub const MAX_EXPLORE_PLANS: u64 = 5_000_000;

/// An exhaustive search that would enumerate too many plans.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "exploring every plan of at most {max_faults} faults over {points} fault points means {plans} plans, more than the limit of {MAX_EXPLORE_PLANS}; lower --max-faults or use `idemlab check`"
)]
pub struct TooManyPlans {
    /// The requested bound.
    pub max_faults: usize,
    /// Fault atoms the fault-free run exposes.
    pub points: usize,
    /// Plans that would be needed.
    pub plans: u64,
}

/// Property-tests one design in one scenario.
pub struct Checker<'a> {
    scenario: Scenario,
    design: &'a dyn Design,
    seed: u64,
    cases: u32,
    max_faults: usize,
    invariants: Vec<Box<dyn Invariant>>,
    kinds: Vec<FaultKind>,
    stop: Option<&'a AtomicBool>,
    progress: Option<&'a dyn Fn(u64)>,
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
            kinds: FaultKind::DEFAULT.to_vec(),
            stop: None,
            progress: None,
        }
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
        self
    }

    /// Stops the search early when `stop` becomes true (e.g. on Ctrl-C).
    pub fn stop_when(mut self, stop: &'a AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Calls `progress` with the number of plans run, now and then.
    pub fn on_progress(mut self, progress: &'a dyn Fn(u64)) -> Self {
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

    /// Runs `plan` in the checker's scenario; the first broken invariant, with the run. This is
    /// the call for a user's own `proptest!` block.
    pub fn check_plan(&self, plan: &FaultPlan) -> (Option<Violation>, Run) {
        self.evaluate(&self.scenario, plan)
    }

    /// Runs `plan` in `scenario` (its own faults included); the first broken invariant, with
    /// the run.
    pub fn evaluate(&self, scenario: &Scenario, plan: &FaultPlan) -> (Option<Violation>, Run) {
        let run = crate::world::run(scenario, self.design, scenario.seed, plan);
        let metrics = oracle::measure(&run);
        let violation = self.invariants.iter().find_map(|inv| {
            inv.check(&run, &metrics).map(|(detail, ops)| Violation {
                invariant: inv.name().to_string(),
                metric: inv.metric().map(str::to_string),
                detail,
                ops,
            })
        });
        (violation, run)
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

    /// Every fault atom the fault-free run exposes: drop, duplicate and delay (by one client
    /// timeout) each message it sends, and crash just before and just after each step.
    pub fn fault_points(&self) -> Vec<FaultAtom> {
        let run = crate::world::run(
            &self.scenario,
            self.design,
            self.scenario.seed,
            &FaultPlan::default(),
        );
        let timeout = self.scenario.retry.timeout;
        let mut atoms = BTreeSet::new();
        for e in run.trace.iter() {
            let msg = |dir| MessageRef {
                dir,
                op: e.op,
                attempt: u32::from(e.attempt),
                copy: u32::from(e.copy),
            };
            match (e.kind, e.detail) {
                (EventKind::Send, _) | (EventKind::Respond, _) => {
                    let m = msg(if e.kind == EventKind::Send {
                        Direction::Request
                    } else {
                        Direction::Response
                    });
                    atoms.insert(FaultAtom::Drop(m));
                    atoms.insert(FaultAtom::Duplicate(m));
                    atoms.insert(FaultAtom::Delay {
                        msg: m,
                        by: timeout,
                    });
                }
                (EventKind::Step, Detail::Step(step)) => {
                    let attempt = u32::from(e.attempt);
                    atoms.insert(FaultAtom::Slow {
                        op: e.op,
                        attempt,
                        step,
                        by: timeout,
                    });
                    if step == StepKind::Charge {
                        atoms.insert(FaultAtom::Unavailable {
                            op: e.op,
                            attempt: Some(attempt),
                        });
                    }
                    for when in [When::Before, When::After] {
                        atoms.insert(FaultAtom::CrashAtStep {
                            op: e.op,
                            attempt: Some(u32::from(e.attempt)),
                            when,
                            step,
                        });
                    }
                }
                _ => {}
            }
        }
        atoms
            .into_iter()
            .filter(|a| FaultKind::of(a).is_some_and(|k| self.kinds.contains(&k)))
            .collect()
    }

    /// Bounded exhaustive search: every plan of at most `max_faults` atoms over the fault
    /// points of the fault-free run, fewest atoms first.
    pub fn explore(&self, max_faults: usize) -> Result<ExploreReport, TooManyPlans> {
        let points = self.fault_points();
        let n = points.len() as u64;
        let total = (0..=max_faults as u64)
            .try_fold(0u64, |acc, k| choose(n, k).and_then(|c| acc.checked_add(c)));
        let total = match total {
            Some(t) if t <= MAX_EXPLORE_PLANS => t,
            other => {
                return Err(TooManyPlans {
                    max_faults,
                    points: points.len(),
                    plans: other.unwrap_or(u64::MAX),
                });
            }
        };
        let mut report = ExploreReport {
            plans: 0,
            violations: 0,
            total,
            minimal: None,
            complete: true,
        };
        let mut first: Option<FaultPlan> = None;
        'sizes: for k in 0..=max_faults {
            let mut combo: Vec<usize> = (0..k).collect();
            loop {
                if self.stopped() {
                    report.complete = false;
                    break 'sizes;
                }
                let plan = FaultPlan::new(combo.iter().map(|&i| points[i]).collect());
                report.plans += 1;
                if let Some(p) = self.progress
                    && report.plans.is_multiple_of(256)
                {
                    p(report.plans);
                }
                if self.evaluate(&self.scenario, &plan).0.is_some() {
                    report.violations += 1;
                    if first.is_none() {
                        first = Some(plan);
                    }
                }
                if !next_combination(&mut combo, points.len()) {
                    break;
                }
            }
        }
        report.minimal = first.and_then(|plan| self.shrink(plan));
        Ok(report)
    }

    /// Shrinks a failing plan: remove atoms while it still fails (also trying, when an atom
    /// goes, its operation's later attempts one lower, since the retry it caused is gone), then
    /// move atoms to earlier attempts, then cut the workload to the fewest operations.
    fn shrink(&self, plan: FaultPlan) -> Option<Counterexample> {
        let fails = |p: &FaultPlan| self.evaluate(&self.scenario, p).0.is_some();
        let mut plan = plan;
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < plan.atoms.len() {
                let mut removed = plan.clone();
                let atom = removed.atoms.remove(i);
                let shifted = shift_later_attempts(&removed, &atom);
                if fails(&removed) {
                    plan = removed;
                    changed = true;
                } else if shifted.as_ref().is_some_and(&fails) {
                    plan = shifted.unwrap_or_default();
                    changed = true;
                } else {
                    i += 1;
                }
            }
            for i in 0..plan.atoms.len() {
                while let Some(earlier) = with_attempt_lowered(&plan, i) {
                    if !fails(&earlier) {
                        break;
                    }
                    plan = earlier;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut scenario = self.scenario.clone();
        let (violation, _) = self.evaluate(&scenario, &plan);
        let violation = violation?;
        // Fewer operations: those the plan names must stay, and one that broke the invariant.
        let needed = plan
            .atoms
            .iter()
            .filter_map(|a| match a {
                FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => {
                    Some(m.op)
                }
                FaultAtom::CrashAtStep { op, .. } => Some(*op),
                _ => None,
            })
            .chain(violation.ops.iter().copied().min())
            .max()
            .unwrap_or(1);
        for ops in 1..scenario.workload.ops {
            if ops < needed {
                continue;
            }
            let mut smaller = scenario.clone();
            smaller.workload.ops = ops;
            smaller.workload.clients = smaller.workload.clients.min(ops as u16);
            if self.evaluate(&smaller, &plan).0.is_some() {
                scenario = smaller;
                break;
            }
        }
        let (violation, run) = self.evaluate(&scenario, &plan);
        let violation = violation?;
        let design = self.design.name().to_string();
        scenario.name = format!("{}-counterexample-{design}", self.scenario.name);
        scenario.description = format!("{design}: {}", violation.detail);
        scenario.designs = vec![design.clone()];
        scenario.faults = plan.clone();
        scenario.expect.clear();
        if let Some(metric) = &violation.metric {
            scenario.expect.insert(
                design.clone(),
                vec![Expectation {
                    metric: metric.clone(),
                    comparison: Comparison::Eq(0),
                }],
            );
        }
        Some(Counterexample {
            design,
            scenario,
            plan,
            violation,
            run,
        })
    }
}

/// The operation and attempt an atom is about, if it is about one.
fn op_attempt(atom: &FaultAtom) -> Option<(u32, u32)> {
    match atom {
        FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => {
            Some((m.op, m.attempt))
        }
        FaultAtom::CrashAtStep {
            op,
            attempt: Some(a),
            ..
        } => Some((*op, *a)),
        _ => None,
    }
}

/// `atom` moved to attempt `attempt`.
fn at_attempt(atom: &FaultAtom, attempt: u32) -> FaultAtom {
    match *atom {
        FaultAtom::Drop(m) => FaultAtom::Drop(MessageRef { attempt, ..m }),
        FaultAtom::Duplicate(m) => FaultAtom::Duplicate(MessageRef { attempt, ..m }),
        FaultAtom::Delay { msg, by } => FaultAtom::Delay {
            msg: MessageRef { attempt, ..msg },
            by,
        },
        FaultAtom::CrashAtStep { op, when, step, .. } => FaultAtom::CrashAtStep {
            op,
            attempt: Some(attempt),
            when,
            step,
        },
        other => other,
    }
}

/// `plan` with the atoms of `removed`'s operation that come after its attempt moved one
/// attempt earlier; `None` when there are none.
fn shift_later_attempts(plan: &FaultPlan, removed: &FaultAtom) -> Option<FaultPlan> {
    let (op, attempt) = op_attempt(removed)?;
    let mut moved = false;
    let atoms = plan
        .atoms
        .iter()
        .map(|a| match op_attempt(a) {
            Some((o, n)) if o == op && n > attempt => {
                moved = true;
                at_attempt(a, n - 1)
            }
            _ => *a,
        })
        .collect();
    moved.then(|| FaultPlan::new(atoms))
}

/// `plan` with atom `i` one attempt earlier; `None` at attempt 1.
fn with_attempt_lowered(plan: &FaultPlan, i: usize) -> Option<FaultPlan> {
    let (_, attempt) = op_attempt(&plan.atoms[i])?;
    if attempt <= 1 {
        return None;
    }
    let mut atoms = plan.atoms.clone();
    atoms[i] = at_attempt(&atoms[i], attempt - 1);
    Some(FaultPlan::new(atoms))
}

/// n choose k, or `None` on overflow.
fn choose(n: u64, k: u64) -> Option<u64> {
    if k > n {
        return Some(0);
    }
    let mut c: u64 = 1;
    for i in 0..k {
        c = c.checked_mul(n - i)? / (i + 1);
    }
    Some(c)
}

/// Advances `combo` (strictly increasing indices below `n`) to the next combination of its
/// size in lexicographic order; false after the last.
fn next_combination(combo: &mut [usize], n: usize) -> bool {
    let k = combo.len();
    for i in (0..k).rev() {
        if combo[i] < n - k + i {
            combo[i] += 1;
            for j in i + 1..k {
                combo[j] = combo[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_enumerated_once_each() {
        let mut combo = vec![0, 1];
        let mut seen = vec![combo.clone()];
        while next_combination(&mut combo, 5) {
            seen.push(combo.clone());
        }
        assert_eq!(seen.len() as u64, choose(5, 2).unwrap());
        let mut empty: Vec<usize> = vec![];
        assert!(!next_combination(&mut empty, 5));
        assert_eq!(choose(100, 3), Some(161_700));
    }

    #[test]
    fn keys_name_their_operation() {
        assert_eq!(op_of_key("idem:k12"), Some(12));
        assert_eq!(op_of_key("idem:k3.2"), Some(3));
        assert_eq!(op_of_key("counter"), None);
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
    let explored = Checker::new(scenario, design)
        .fault_kinds(kinds)
        .explore(max_faults);
    let (explore_plans, found) = match explored {
        Ok(r) => (r.plans, r.minimal),
        Err(too_many) => {
            return Grade {
                passed: false,
                report: format!("cannot grade: {too_many}"),
            };
        }
    };
    if let Some(found) = found {
        return Grade {
            passed: false,
            report: format!("FAIL\n\n{}", found.report()),
        };
    }
    let checked = Checker::new(scenario, design)
        .fault_kinds(kinds)
        .cases(256)
        .check();
    match checked.counterexample {
        Some(found) => Grade {
            passed: false,
            report: format!("FAIL\n\n{}", found.report()),
        },
        None => Grade {
            passed: true,
            report: format!(
                "PASS: `{}` held every invariant on {} in all {explore_plans} plans of at most \
                 {max_faults} fault(s) and {} generated ones",
                design.name(),
                scenario.name,
                checked.plans
            ),
        },
    }
}
