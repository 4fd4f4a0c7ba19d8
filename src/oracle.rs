//! The oracle: what "exactly once" means, and how far a run diverged from it.
//!
//! Every effect is in the run's ledger, tagged with the logical operation that caused it. Per
//! operation the oracle counts *applications* (the most effects of any one kind: an order and
//! its charge are one application), and from them:
//!
//! - **duplicates**: Σ max(0, applications − 1);
//! - **lost**: the client was told success, yet nothing was applied;
//! - **in doubt**: the client gave up; the honest answer is "unknown" (Jepsen's `:info`);
//! - **inconsistent**: the client received two different final answers for one operation that
//!   was applied more than once (e.g. two different order ids). 409 and 5xx are "try again",
//!   not answers;
//! - **same effect, different response** (`different_response`): the server gave different
//!   final answers to one operation whose effect happened at most once: a repeated `DELETE`
//!   answering 404, a `PUT` answering 201 then 200. Idempotent by RFC 9110; not a failure, but
//!   a client must be ready for it;
//! - **false failures** (`false_failures`): the client was told a final failure that says its
//!   request was not carried out (a 400 or 422, say), yet the operation took effect: the mirror
//!   image of *lost*, and as bad for a customer, who retries with a new key and pays twice, or
//!   gives up on an order that was paid. Answers that tell the client to look at the state it
//!   wanted (404 to a repeated `DELETE`, 409 *already exists*, 412 *precondition failed*) are not
//!   false failures: the catalog marks them `~`, "the client must act";
//! - **dead-lettered**: messages the broker gave up on (they wait in the dead-letter queue);
//! - **unserved** (a *liveness* figure): operations whose client gave up (in doubt, or
//!   dead-lettered) although the server answered every one of its attempts, each time with "try
//!   again" (409 in progress, 429, 5xx). The network did not stop them; the server never gave
//!   a final answer within the client's patience (its attempts, timeout and backoff): a stored
//!   503 replayed for ever, a claim no one finishes. A subset of *in doubt* and
//!   *dead-lettered*.
//!
//! A *safe* design (`GET`) is expected to make no effect at all: it cannot lose one.
//!
//! The **first divergence** is the earliest simulated instant at which any of these became
//! true. The ideal is every operation applied once, answered once, charged once.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::settings::Scenario;
use crate::trace::{Detail, EventKind, Outcome};
use crate::vocab::{EffectKind, Response};
use crate::world::Run;

pub use crate::vocab::{EXPECT_ONLY_METRICS, METRIC_NAMES};

/// One design's figures for one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// The design's name.
    pub design: String,
    /// Logical operations.
    pub ops: u64,
    /// Attempts the clients sent.
    pub attempts: u64,
    /// Requests that reached a live server.
    pub delivered: u64,
    /// Applications (an operation applied twice counts two).
    pub effects: u64,
    /// Applications beyond the first, summed over operations.
    pub duplicates: u64,
    /// Operations the client was told succeeded but that were never applied.
    pub lost: u64,
    /// Operations whose client gave up without a final answer.
    pub in_doubt: u64,
    /// Operations whose client received two different final answers.
    pub inconsistent: u64,
    /// Operations the client was told succeeded.
    pub succeeded: u64,
    /// Operations the client was told failed (a final 4xx).
    pub failed: u64,
    /// Operations still running when the run stopped at a budget.
    pub unfinished: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Total amount the payment provider charged.
    pub charged: u64,
    /// Idempotency records still in progress when the run ended (no one will finish them).
    pub stuck: u64,
    /// Operations applied at most once whose server gave different final answers: the same
    /// effect, a different response.
    pub different_response: u64,
    /// Messages in the dead-letter queue at the end.
    pub dead_lettered: u64,
    /// Operations the client was told failed (a final answer that denies the request: 400,
    /// 422, ...) although they took effect.
    pub false_failures: u64,
    /// Operations whose client gave up although the server answered every attempt, each time
    /// with "try again": never served within the client's patience (a liveness figure).
    pub unserved: u64,
    /// Status codes of the responses clients accepted, by code.
    pub statuses: BTreeMap<String, u64>,
    /// Median latency of finished operations, in simulated microseconds.
    pub latency_p50_us: u64,
    /// 99th-percentile latency of finished operations, in simulated microseconds.
    pub latency_p99_us: u64,
    /// When the run first diverged from the exactly-once ideal, in microseconds.
    pub first_divergence_us: Option<u64>,
    /// Set when the run stopped at a budget: which one.
    pub stopped: Option<String>,
    /// Assertions on the final state (`[oracle] exists`) that did not hold: the keys that
    /// should exist when the run ends and do not. Serialized only when some failed.
    #[serde(skip_serializing_if = "is_zero")]
    pub final_state: u64,
    /// Calls to the payment provider: 0 for a design that never charges (its `charged` is
    /// then not money lost). Not part of the JSON contract.
    #[serde(skip)]
    pub provider_calls: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Metrics {
    /// The value of the metric called `name` (see [`METRIC_NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        Some(match name {
            "ops" => self.ops,
            "attempts" => self.attempts,
            "delivered" => self.delivered,
            "effects" => self.effects,
            "duplicates" => self.duplicates,
            "lost" => self.lost,
            "in_doubt" => self.in_doubt,
            "inconsistent" => self.inconsistent,
            "succeeded" => self.succeeded,
            "failed" => self.failed,
            "unfinished" => self.unfinished,
            "timeouts" => self.timeouts,
            "charged" => self.charged,
            "stuck" => self.stuck,
            "different_response" => self.different_response,
            "dead_lettered" => self.dead_lettered,
            "false_failures" => self.false_failures,
            "unserved" => self.unserved,
            "latency_p50_us" => self.latency_p50_us,
            "latency_p99_us" => self.latency_p99_us,
            "final_state" => self.final_state,
            _ => return None,
        })
    }

    /// True when the design called the payment provider: only then is `charged` money (a
    /// design that never calls it shows `–`, not a loss).
    pub fn charges(&self) -> bool {
        self.provider_calls > 0 || self.charged > 0
    }

    /// True if the run matched the exactly-once ideal.
    pub fn exactly_once(&self) -> bool {
        self.first_divergence_us.is_none() && self.unfinished == 0
    }
}

/// What the exactly-once ideal would show for a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ideal {
    /// Logical operations.
    pub ops: u64,
    /// Every operation applied once.
    pub effects: u64,
    /// Every operation's amount charged once.
    pub charged: u64,
    /// Always zero.
    pub duplicates: u64,
    /// Always zero.
    pub lost: u64,
    /// Always zero.
    pub in_doubt: u64,
    /// Always zero.
    pub inconsistent: u64,
}

/// The ideal for `scenario`.
pub fn ideal(scenario: &Scenario) -> Ideal {
    let ops = u64::from(scenario.workload.ops);
    Ideal {
        ops,
        effects: ops,
        // Each operation's own amount (a list, or its payload's), charged once.
        charged: (1..=scenario.workload.ops)
            .map(|op| scenario.workload.amount_of(op))
            .fold(0u64, u64::saturating_add),
        duplicates: 0,
        lost: 0,
        in_doubt: 0,
        inconsistent: 0,
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// True for an answer (not "try again").
fn is_final(r: &Response) -> bool {
    !r.is_retryable()
}

/// True for a final failure that tells the client its request was not carried out: every
/// final 4xx but those that point it at the state it asked for (404 to a repeated `DELETE`,
/// 409 *already exists*, 412 *precondition failed*: "look before you act", the catalog's `~`).
pub fn denies_effect(r: &Response) -> bool {
    is_final(r) && !r.is_success() && !matches!(r.status, 404 | 409 | 412)
}

/// True when the server answered every attempt the client made, and every time with "try
/// again": it was reached each time and never gave a final answer. (An attempt lost, or refused
/// by a server that was down, is the network's or the crash's doing, not the design's.)
fn told_try_again(op: &crate::world::OpRecord) -> bool {
    let mut answered = 0u32;
    for r in op.received.iter().filter(|r| r.accepted) {
        if !r.response.is_retryable() {
            return false;
        }
        answered += 1;
    }
    op.attempts > 0 && answered >= op.attempts
}

/// Applications per operation (the most effects of any one kind), indexed by `op - 1`: the
/// same count `measure` sums into `effects`.
pub fn applications(run: &Run) -> Vec<u32> {
    let mut counts = vec![[0u32; EffectKind::COUNT]; run.ops.len()];
    for e in &run.ledger {
        counts[e.op as usize - 1][e.kind as usize] += 1;
    }
    counts
        .iter()
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect()
}

/// Measures one run against the ideal.
pub fn measure(run: &Run) -> Metrics {
    measure_as(run, true)
}

/// [`measure`] for a verdict only: every count, but not the figures that describe a run
/// rather than judge it, which no built-in invariant reads: `design` (empty), `statuses`
/// (empty), the latency percentiles (0) and `stopped` (`None`). A search judges millions
/// of runs and reports none of these figures: on `default` × `key-in-transaction` at two
/// faults they were a third of its measuring.
pub fn measure_verdict(run: &Run) -> Metrics {
    measure_as(run, false)
}

fn measure_as(run: &Run, full: bool) -> Metrics {
    let n = run.ops.len();
    // Applications per op and kind, with the time each op first reached two applications.
    let mut counts: Vec<[u32; EffectKind::COUNT]> = vec![[0; EffectKind::COUNT]; n];
    let mut duplicate_at: Vec<Option<u64>> = vec![None; n];
    let mut charged = 0u64;
    for e in &run.ledger {
        let i = e.op as usize - 1;
        let c = &mut counts[i][e.kind as usize];
        *c += 1;
        if *c == 2 && duplicate_at[i].is_none() {
            duplicate_at[i] = Some(e.time_us);
        }
        if e.kind == EffectKind::Charge {
            charged = charged.saturating_add(e.amount);
        }
    }
    let mut m = Metrics {
        design: if full {
            run.design.clone()
        } else {
            String::new()
        },
        ops: n as u64,
        attempts: 0,
        delivered: run.delivered,
        effects: 0,
        duplicates: 0,
        lost: 0,
        in_doubt: 0,
        inconsistent: 0,
        succeeded: 0,
        failed: 0,
        unfinished: 0,
        timeouts: run.timeouts,
        charged,
        different_response: 0,
        dead_lettered: 0,
        false_failures: 0,
        unserved: 0,
        stuck: run
            .durable
            .values()
            .filter(|v| matches!(v, crate::vocab::Value::InProgress { .. }))
            .count() as u64,
        statuses: BTreeMap::new(),
        latency_p50_us: 0,
        latency_p99_us: 0,
        first_divergence_us: None,
        stopped: run.stopped.filter(|_| full).map(|s| s.to_string()),
        final_state: run.final_missing.len() as u64,
        provider_calls: run.provider_calls,
    };
    let mut diverged: Vec<u64> = Vec::new();
    let mut latencies = Vec::with_capacity(if full { n } else { 0 });
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for (i, op) in run.ops.iter().enumerate() {
        let applied = u64::from(counts[i].iter().copied().max().unwrap_or(0));
        m.attempts += u64::from(op.attempts);
        m.effects += applied;
        m.duplicates += applied.saturating_sub(1);
        diverged.extend(duplicate_at[i]);
        match op.outcome {
            Outcome::Succeeded => {
                m.succeeded += 1;
                if applied == 0 && !run.safe {
                    m.lost += 1;
                    diverged.extend(op.end_us);
                }
            }
            Outcome::DeadLettered => {
                m.dead_lettered += 1;
                m.unserved += u64::from(told_try_again(op));
                diverged.extend(op.end_us);
            }
            Outcome::Failed => {
                m.failed += 1;
                if applied > 0 && !run.safe && op.client_answer().is_some_and(|r| denies_effect(&r))
                {
                    m.false_failures += 1;
                    diverged.extend(op.end_us);
                }
            }
            Outcome::InDoubt => {
                m.in_doubt += 1;
                m.unserved += u64::from(told_try_again(op));
                diverged.extend(op.end_us);
            }
            Outcome::Unfinished => m.unfinished += 1,
        }
        if full && let Some(end) = op.end_us {
            latencies.push(end - op.start_us);
        }
        if applied <= 1 && op.answers_differ {
            m.different_response += 1;
        }
        let mut first_answer: Option<Response> = None;
        for r in op.received.iter().filter(|r| is_final(&r.response)) {
            match first_answer {
                None => first_answer = Some(r.response),
                Some(a) if a != r.response && applied >= 2 => {
                    m.inconsistent += 1;
                    diverged.push(r.time_us.max(duplicate_at[i].unwrap_or(0)));
                    break;
                }
                Some(_) => {}
            }
        }
        if full {
            for r in op.received.iter().filter(|r| r.accepted) {
                *statuses.entry(r.response.status).or_insert(0) += 1;
            }
        }
    }
    // Counted by number, named once per status (not once per response).
    m.statuses = statuses
        .into_iter()
        .map(|(status, count)| (status.to_string(), count))
        .collect();
    latencies.sort_unstable();
    m.latency_p50_us = percentile(&latencies, 50.0);
    m.latency_p99_us = percentile(&latencies, 99.0);
    m.first_divergence_us = diverged.into_iter().min();
    m
}

/// An `[expect]` assertion that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The design.
    pub design: String,
    /// The metric.
    pub metric: String,
    /// What the scenario expected, e.g. `> 0`.
    pub expected: String,
    /// What the run measured.
    pub actual: u64,
}

/// Checks `scenario`'s `[expect]` assertions for one design's metrics.
pub fn check_expectations(scenario: &Scenario, metrics: &Metrics) -> Vec<Violation> {
    let Some(list) = scenario.expect.get(&metrics.design) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            let actual = metrics.get(&e.metric)?;
            (!e.comparison.holds(actual)).then(|| Violation {
                design: metrics.design.clone(),
                metric: e.metric.clone(),
                expected: e.comparison.to_string(),
                actual,
            })
        })
        .collect()
}

/// The oracle's counters after some prefix of a run's trace: how far the run had diverged from
/// the exactly-once ideal *by then*. [`progress`] gives one per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Operations the clients had started (what the ideal would have applied by now).
    pub started: u32,
    /// Operations that had ended with a success.
    pub succeeded: u32,
    /// Applications so far.
    pub effects: u32,
    /// Applications beyond the first, so far.
    pub duplicates: u32,
    /// Operations told success with nothing applied, so far.
    pub lost: u32,
    /// Operations given up, so far.
    pub in_doubt: u32,
    /// Messages in the dead-letter queue now (a redrive takes one out).
    pub dead_lettered: u32,
    /// Operations that had received two different final answers, so far.
    pub inconsistent: u32,
    /// Operations told a final failure that denies the request although they took effect,
    /// so far.
    pub false_failures: u32,
    /// Attempts timed out so far.
    pub timeouts: u32,
    /// Amount charged so far.
    pub charged: u64,
}

impl Progress {
    /// The divergence from exactly-once: duplicates + lost + in doubt + dead-lettered +
    /// inconsistent + false failures.
    pub fn divergence(&self) -> u32 {
        self.duplicates
            + self.lost
            + self.in_doubt
            + self.dead_lettered
            + self.inconsistent
            + self.false_failures
    }
}

/// The oracle's counters after each event of `run`'s trace: entry `i` counts events `0..=i`.
/// The last entry agrees with [`measure`].
pub fn progress(run: &Run) -> Vec<Progress> {
    #[derive(Clone, Copy, Default)]
    struct OpSoFar {
        applied: u32,
        told_success: bool,
        counted_lost: bool,
        /// The last answer the client accepted denies the request.
        told_denied: bool,
        /// The operation ended failed on such an answer.
        failed_denied: bool,
        counted_false: bool,
        first_answer: Option<Response>,
        answers_differ: bool,
        inconsistent: bool,
    }
    let mut ops = vec![OpSoFar::default(); run.ops.len()];
    let mut p = Progress::default();
    let mut out = Vec::with_capacity(run.trace.len());
    for e in run.trace.iter() {
        let op = (e.op as usize).wrapping_sub(1);
        match (e.kind, e.detail) {
            (EventKind::OpStart, _) => p.started += 1,
            (EventKind::Redrive, _) => p.dead_lettered = p.dead_lettered.saturating_sub(1),
            (EventKind::Timeout, _) => p.timeouts += 1,
            (EventKind::Effect, Detail::Effect { kind, amount, nth }) => {
                if kind == EffectKind::Charge {
                    p.charged += amount;
                }
                if let Some(o) = ops.get_mut(op)
                    && nth > o.applied
                {
                    o.applied = nth;
                    p.effects += 1;
                    if nth > 1 {
                        p.duplicates += 1;
                    }
                    if o.counted_lost {
                        o.counted_lost = false;
                        p.lost -= 1;
                    }
                    if o.failed_denied && !o.counted_false && !run.safe {
                        o.counted_false = true;
                        p.false_failures += 1;
                    }
                    if o.answers_differ && o.applied >= 2 && !o.inconsistent {
                        o.inconsistent = true;
                        p.inconsistent += 1;
                    }
                }
            }
            (EventKind::Receive | EventKind::Late, Detail::Response(r)) if is_final(&r) => {
                if let Some(o) = ops.get_mut(op) {
                    if e.kind == EventKind::Receive {
                        o.told_denied = denies_effect(&r);
                    }
                    match o.first_answer {
                        None => o.first_answer = Some(r),
                        Some(a) if a != r => o.answers_differ = true,
                        Some(_) => {}
                    }
                    if o.answers_differ && o.applied >= 2 && !o.inconsistent {
                        o.inconsistent = true;
                        p.inconsistent += 1;
                    }
                }
            }
            (EventKind::Done, Detail::Outcome(outcome)) => match outcome {
                Outcome::Succeeded => {
                    p.succeeded += 1;
                    if let Some(o) = ops.get_mut(op) {
                        o.told_success = true;
                        if o.applied == 0 && !run.safe {
                            o.counted_lost = true;
                            p.lost += 1;
                        }
                    }
                }
                Outcome::InDoubt => p.in_doubt += 1,
                Outcome::DeadLettered => p.dead_lettered += 1,
                Outcome::Failed => {
                    if let Some(o) = ops.get_mut(op) {
                        o.failed_denied = o.told_denied;
                        if o.failed_denied && o.applied > 0 && !o.counted_false && !run.safe {
                            o.counted_false = true;
                            p.false_failures += 1;
                        }
                    }
                }
                Outcome::Unfinished => {}
            },
            _ => {}
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
