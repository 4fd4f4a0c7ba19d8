//! `idemlab probe --matrix`: the seven fault classes of `idemlab matrix`, each a short live run
//! against the service, judged by the same verdict (`matrix::verdict`). The setups mirror the
//! simulator's base scenarios: one operation, a network of 1ms and no loss of its own, a client
//! timeout of 50ms and four attempts 20ms apart, a provider that answers in 5ms, a restart 100ms
//! after a crash.

use crate::fault::{Direction, FaultAtom, FaultClass, FaultPlan, MessageRef, When};
use crate::matrix::{Cell, CellResult, Row, verdict};
use crate::oracle;
use crate::settings::{Backoff, Jitter, KeyPolicy, LatencyRange, Scenario};
use crate::time::SimDuration;
use crate::vocab::StepKind;

use super::{ProbeConfig, ProbeError, probe};

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

/// The base scenario of every class, on `template`'s seed and name.
pub(super) fn base(template: &Scenario) -> Scenario {
    let mut s = template.clone();
    s.faults = FaultPlan::default();
    s.expect.clear();
    s.workload.ops = 1;
    s.workload.clients = 1;
    s.workload.amounts.clear();
    s.workload.payloads.clear();
    s.retry.timeout = ms(50);
    s.retry.attempts_max = 4;
    s.retry.backoff = Backoff::Constant;
    s.retry.backoff_base = ms(20);
    s.retry.backoff_cap = ms(20);
    s.retry.jitter = Jitter::None;
    s.retry.key = KeyPolicy::PerOperation;
    s.server.key_ttl = None;
    s.server.restart_delay = ms(100);
    s.external.latency = LatencyRange::fixed(ms(5));
    s.external.unavailable = 0.0;
    s.network.latency = LatencyRange::fixed(ms(1));
    s.network.loss_request = 0.0;
    s.network.loss_response = 0.0;
    s.network.duplicate = 0.0;
    s
}

/// The setup and the plans of `class`, live.
fn variants(class: FaultClass, template: &Scenario) -> (Scenario, &'static str, Vec<FaultPlan>) {
    let s = base(template);
    let one = |atoms: Vec<FaultAtom>| vec![FaultPlan::new(atoms)];
    match class {
        FaultClass::LostRequest => (
            s,
            "1 operation, the first request lost",
            one(vec![FaultAtom::Drop(MessageRef::request(1, 1))]),
        ),
        FaultClass::LostResponse => (
            s,
            "1 operation, the first response read and thrown away",
            one(vec![FaultAtom::Drop(MessageRef::response(1, 1))]),
        ),
        FaultClass::DuplicateDelivery => (
            s,
            "1 operation, its request sent twice, the copy 100ms late",
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
            "the first attempt stalls 80ms (its provider call, or its answer); client timeout 50ms",
            vec![
                FaultPlan::new(vec![FaultAtom::Slow {
                    op: 1,
                    attempt: 1,
                    step: StepKind::Charge,
                    by: ms(80),
                    position: None,
                    copy: None,
                }]),
                FaultPlan::new(vec![FaultAtom::Delay {
                    msg: MessageRef::response(1, 1),
                    by: ms(80),
                }]),
            ],
        ),
        FaultClass::CrashAfterEffect => (
            s,
            "1 operation, the service killed (SIGKILL) right after the provider's charge",
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
            s.server.key_ttl = Some(ms(200));
            s.retry.backoff_base = ms(500);
            s.retry.backoff_cap = ms(500);
            (
                s,
                "keys live 200ms (KEY_TTL_MS); the response is lost and the retry comes after 550ms",
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
                "2 operations with the same key, amounts 100 then 150",
                vec![FaultPlan::default()],
            )
        }
    }
}

/// The live service's row of the matrix: each class's plans, each a live run, the worst verdict
/// kept with the plan that gave it, judged as `idemlab matrix` judges. Without `--serve`, the
/// classes that need to crash the service or give it a key TTL are n/a, and say why.
pub fn live_matrix(template: &Scenario, config: &ProbeConfig) -> Result<Row, ProbeError> {
    let serving = config.serve.is_some();
    let mut out = Vec::new();
    for class in FaultClass::ALL {
        let (scenario, setup, plans) = variants(class, template);
        let needs_serve = matches!(
            class,
            FaultClass::CrashAfterEffect | FaultClass::RetryAfterExpiry
        );
        if needs_serve && !serving {
            out.push(CellResult {
                class,
                cell: Cell::NotApplicable,
                setup: setup.to_string(),
                faults: Vec::new(),
                why:
                    "needs --serve: idemlab must start the service to crash it or give it a key TTL"
                        .to_string(),
            });
            continue;
        }
        let mut best: Option<CellResult> = None;
        for plan in plans {
            let live = probe(&scenario, &plan, config)?;
            let (cell, why) = verdict(&oracle::measure(&live.run));
            if best.as_ref().is_none_or(|b| cell > b.cell) {
                best = Some(CellResult {
                    class,
                    cell,
                    setup: setup.to_string(),
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
