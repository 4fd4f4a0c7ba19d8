//! `idemlab probe --matrix`: the seven fault classes of `idemlab matrix`, each a short live run
//! against the service, judged by the same verdict (`matrix::verdict`). The setups mirror the
//! simulator's base scenarios: one operation, a network of 1ms and no loss of its own, four
//! attempts, a provider that answers in 5ms, a restart 100ms after a crash.
//!
//! Their timings are the simulator's (a client timeout of 50ms, 20ms between attempts, a stall of
//! 80ms) *scaled to the service* ([`Timings::scaled`]): a real service answers in its own time
//! and takes its own time to start, and a class must be able to show what it exists to show (a
//! stall longer than the timeout, or it is no race; retries that outlast a restart, or a crash
//! after the charge can never be seen to charge twice). Each plan is run twice and its verdict
//! kept only when both runs agree; otherwise a third run, and a cell that still moves is
//! reported as unstable (`?`), with the verdicts seen: never silently one of them.

use std::time::Duration;

use crate::fault::{Direction, FaultAtom, FaultClass, FaultPlan, MessageRef, When};
use crate::matrix::{Cell, CellResult, Row, verdict};
use crate::oracle;
use crate::settings::{Backoff, KeyPolicy, Scenario};
use crate::time::SimDuration;
use crate::vocab::StepKind;

use super::{ProbeConfig, ProbeError, probe};

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

/// The timings of the live classes, in real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// The client's timeout per attempt.
    pub timeout: SimDuration,
    /// The wait between attempts.
    pub backoff: SimDuration,
    /// How long the concurrent-retry class stalls the first attempt (longer than the timeout).
    pub stall: SimDuration,
    /// How long a crashed service stays down before it is started again.
    pub restart_delay: SimDuration,
    /// The key TTL of the retry-after-expiry class.
    pub ttl: SimDuration,
    /// The wait before that class's late retry (after the key expired).
    pub late_retry: SimDuration,
}

impl Timings {
    /// The simulator's own timings, which a service that answers within a few milliseconds and
    /// starts at once meets as the simulated one does.
    pub const SIMULATED: Timings = Timings {
        timeout: SimDuration(50_000),
        backoff: SimDuration(20_000),
        stall: SimDuration(80_000),
        restart_delay: SimDuration(100_000),
        ttl: SimDuration(200_000),
        late_retry: SimDuration(500_000),
    };

    /// The timings scaled to a service whose answers take up to `latency` (the warm p99 of the
    /// baseline) and which takes `start` to accept connections; `timeout` set by hand (the
    /// rest follows from it). Never below the simulator's.
    pub fn scaled(latency: Duration, start: Duration, timeout: Option<SimDuration>) -> Timings {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let base = Timings::SIMULATED;
        // An attempt must have time to be answered: four times the slowest warm answer.
        let timeout =
            timeout.unwrap_or(SimDuration(us(latency).saturating_mul(4)).max(base.timeout));
        // After a crash the retries must outlast the restart: three backoffs cover the delay
        // and twice the start-up.
        let down = base
            .restart_delay
            .0
            .saturating_add(us(start).saturating_mul(2));
        let backoff = SimDuration((down / 3).max(base.backoff.0));
        // The stall must outlast the timeout and the backoff by a clear margin, so that the
        // retry arrives while the first attempt is still stalled: that is the race.
        let margin = (timeout.0 / 5).max(us(latency).saturating_mul(2));
        let stall =
            SimDuration(timeout.0.saturating_add(backoff.0).saturating_add(margin)).max(base.stall);
        // A key must outlive a prompt retry and die before the late one.
        let ttl = SimDuration(
            timeout
                .0
                .saturating_add(backoff.0)
                .saturating_mul(2)
                .max(base.ttl.0),
        );
        let late_retry = SimDuration(ttl.0.saturating_mul(5) / 2);
        Timings {
            timeout,
            backoff,
            stall,
            restart_delay: base.restart_delay,
            ttl,
            late_retry,
        }
    }
}

/// The base scenario of every class, on `template`'s seed and name.
pub(super) fn base(template: &Scenario, t: &Timings) -> Scenario {
    // The simulator's base (`matrix::base`, the one definition of the classes' world: one
    // operation, a 1ms network without loss, a provider answering in 5ms, four attempts), on
    // the template's seed and name, with one live service and the timings scaled to it.
    let mut s = crate::matrix::base(false);
    s.name = template.name.clone();
    s.seed = template.seed;
    s.server.count = 1;
    s.retry.timeout = t.timeout;
    s.retry.backoff = Backoff::Constant;
    s.retry.backoff_base = t.backoff;
    s.retry.backoff_cap = t.backoff;
    s.server.restart_delay = t.restart_delay;
    s
}

/// The setup and the plans of `class`, live.
fn variants(
    class: FaultClass,
    template: &Scenario,
    t: &Timings,
) -> (Scenario, String, Vec<FaultPlan>) {
    let s = base(template, t);
    let one = |atoms: Vec<FaultAtom>| vec![FaultPlan::new(atoms)];
    match class {
        FaultClass::LostRequest => (
            s,
            "1 operation, the first request lost".to_string(),
            one(vec![FaultAtom::Drop(MessageRef::request(1, 1))]),
        ),
        FaultClass::LostResponse => (
            s,
            "1 operation, the first response read and thrown away".to_string(),
            one(vec![FaultAtom::Drop(MessageRef::response(1, 1))]),
        ),
        FaultClass::DuplicateDelivery => (
            s,
            "1 operation, its request sent twice, the copy 100ms late".to_string(),
            one(vec![
                FaultAtom::Duplicate(MessageRef::request(1, 1)),
                FaultAtom::Delay {
                    msg: MessageRef {
                        dir: Direction::Request,
                        op: 1,
                        attempt: 1,
                        copy: 1,
                    },
                    by: ms(100),
                },
            ]),
        ),
        FaultClass::ConcurrentRetry => (
            s,
            format!(
                "the first attempt stalls {} (its provider call, or its answer); client timeout {}",
                t.stall, t.timeout
            ),
            vec![
                FaultPlan::new(vec![FaultAtom::Slow {
                    op: 1,
                    attempt: 1,
                    step: StepKind::Charge,
                    by: t.stall,
                    position: None,
                    copy: None,
                }]),
                FaultPlan::new(vec![FaultAtom::Delay {
                    msg: MessageRef::response(1, 1),
                    by: t.stall,
                }]),
            ],
        ),
        FaultClass::CrashAfterEffect => (
            s,
            format!(
                "1 operation, the service killed (SIGKILL) right after the provider's charge, started again {} later; retries {} apart",
                t.restart_delay, t.backoff
            ),
            one(vec![FaultAtom::CrashAtStep {
                op: 1,
                attempt: Some(1),
                when: When::After,
                step: StepKind::Charge,
                position: None,
                copy: None,
            }]),
        ),
        FaultClass::RetryAfterExpiry => {
            let mut s = s;
            s.server.key_ttl = Some(t.ttl);
            s.retry.backoff_base = t.late_retry;
            s.retry.backoff_cap = t.late_retry;
            (
                s,
                format!(
                    "keys live {} (KEY_TTL_MS); the response is lost and the retry comes {} later",
                    t.ttl, t.late_retry
                ),
                one(vec![FaultAtom::Drop(MessageRef::response(1, 1))]),
            )
        }
        FaultClass::PayloadMismatch => {
            let mut s = s;
            s.workload.ops = 2;
            s.workload.amounts = vec![100, 150];
            s.retry.key = KeyPolicy::Shared;
            (
                s,
                "2 operations with the same key, amounts 100 then 150".to_string(),
                vec![FaultPlan::default()],
            )
        }
    }
}

/// The live service's row of the matrix: each class's plans, each a live run repeated until
/// two runs agree (at most three; else the cell is unstable), the worst verdict kept with the
/// plan that gave it, judged as `idemlab matrix` judges. Without `--serve`, the classes that
/// need to crash the service or give it a key TTL are n/a, and say why.
pub fn live_matrix(
    template: &Scenario,
    config: &ProbeConfig,
    timings: &Timings,
) -> Result<Row, ProbeError> {
    let serving = config.serve.is_some();
    let mut out = Vec::new();
    for class in FaultClass::ALL {
        let (scenario, setup, plans) = variants(class, template, timings);
        let needs_serve = matches!(
            class,
            FaultClass::CrashAfterEffect | FaultClass::RetryAfterExpiry
        );
        if needs_serve && !serving {
            out.push(CellResult {
                class,
                cell: Cell::NotApplicable,
                setup,
                faults: Vec::new(),
                why:
                    "needs --serve: idemlab must start the service to crash it or give it a key TTL"
                        .to_string(),
            });
            continue;
        }
        let mut best: Option<CellResult> = None;
        for plan in plans {
            let (cell, why) = stable_verdict(&scenario, &plan, config)?;
            if best.as_ref().is_none_or(|b| cell > b.cell) {
                best = Some(CellResult {
                    class,
                    cell,
                    setup: setup.clone(),
                    faults: plan.atoms.iter().map(|a| a.to_string()).collect(),
                    why,
                });
            }
        }
        out.extend(best);
        if crate::signals::watch().raised() {
            return Err(ProbeError::Interrupted);
        }
    }
    Ok(Row {
        design: config.name.clone(),
        catalog_row: None,
        cells: out,
    })
}

/// The verdict of `plan`, run until two runs agree: at most three runs. When no two agree, the
/// cell is unstable and says what each run gave.
fn stable_verdict(
    scenario: &Scenario,
    plan: &FaultPlan,
    config: &ProbeConfig,
) -> Result<(Cell, String), ProbeError> {
    let mut seen: Vec<(Cell, String)> = Vec::new();
    for _ in 0..3 {
        let live = probe(scenario, plan, config)?;
        let verdict = verdict(&oracle::measure(&live.run));
        if let Some(agreed) = seen.iter().find(|(c, _)| *c == verdict.0) {
            let runs = seen.len() + 1;
            let (cell, why) = agreed.clone();
            return Ok((
                cell,
                if runs > 2 {
                    format!("{why} (2 of 3 runs)")
                } else {
                    why
                },
            ));
        }
        seen.push(verdict);
    }
    let said: Vec<String> = seen
        .iter()
        .map(|(c, why)| format!("{} {why}", c.symbol()))
        .collect();
    Ok((
        Cell::Unstable,
        format!(
            "unstable: three runs, three verdicts ({}); real time decides this cell",
            said.join(" · ")
        ),
    ))
}
