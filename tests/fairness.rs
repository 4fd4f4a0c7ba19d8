//! Fates are keyed by identity: the same message meets the same fate under every design.

mod common;

use std::collections::BTreeMap;

use idemlab::fault::FaultPlan;
use idemlab::handlers;
use idemlab::trace::{Detail, EventKind, Trace};
use idemlab::world::run;

/// The fate of the first attempt's request of each operation: lost, or its one-way latency.
fn first_attempt_fates(trace: &Trace) -> BTreeMap<u32, String> {
    let mut sent = BTreeMap::new();
    let mut fates = BTreeMap::new();
    for e in trace.iter().filter(|e| e.attempt == 1 && e.copy == 0) {
        match e.kind {
            EventKind::Send => {
                sent.insert(e.op, e.time_us);
            }
            EventKind::Lost if matches!(e.detail, Detail::Lost { request: true, .. }) => {
                fates.insert(e.op, "lost".to_string());
            }
            EventKind::Deliver | EventKind::Refused => {
                fates.insert(e.op, format!("latency {}us", e.time_us - sent[&e.op]));
            }
            _ => {}
        }
    }
    fates
}

#[test]
fn first_attempts_meet_the_same_network_under_every_design() {
    let scenario = idemlab::scenario::default_scenario();
    for seed in 0..20 {
        let fates: Vec<(String, BTreeMap<u32, String>)> =
            ["naive", "process-payment", "atomic-key"]
                .iter()
                .map(|name| {
                    let design = scenario.design(name).unwrap();
                    let r = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                    (name.to_string(), first_attempt_fates(&r.trace))
                })
                .collect();
        assert_eq!(
            fates[0].1.len(),
            scenario.workload.ops as usize,
            "seed {seed}"
        );
        for (name, f) in &fates[1..] {
            assert_eq!(&fates[0].1, f, "seed {seed}: naive vs {name}");
        }
    }
    // The check above cannot pass vacuously: some first attempts are lost, some are not.
    let design = handlers::lookup("naive").unwrap();
    let all: Vec<String> = (0..20)
        .flat_map(|seed| {
            first_attempt_fates(&run(&scenario, design.as_ref(), seed, &FaultPlan::default()).trace)
                .into_values()
        })
        .collect();
    assert!(all.iter().any(|f| f == "lost"));
    assert!(all.iter().any(|f| f.starts_with("latency")));
}

/// For each pair (broken, fixed), `idemlab compare` shows the broken design's failure and the
/// fixed design's success on the *same* seed, with the same fates for the first attempts.
#[test]
fn broken_and_fixed_designs_meet_the_same_faults_in_one_comparison() {
    let pairs = [
        ("lost-response", "naive", "atomic-key"),
        ("create-order-api", "check-then-act", "key-in-transaction"),
        ("middleware", "middleware", "recovery-points"),
        ("key-expiry", "short-ttl", "key-in-transaction"),
        ("dedup-table", "payload-hash", "key-in-transaction"),
        ("stored-responses", "caches-errors", "recovery-points"),
        ("queue-redelivery", "process-then-ack", "inbox"),
        ("dead-letter-queue", "process-then-ack", "outbox-inbox"),
        ("row01-naive-post", "naive", "key-in-transaction"),
        (
            "row05-check-then-act",
            "check-then-act",
            "key-in-transaction",
        ),
        ("row07-claim-first", "atomic-key", "recovery-points"),
        (
            "row09-recovery-points",
            "process-payment",
            "recovery-points",
        ),
        (
            "row13-new-key-per-attempt",
            "new-key-per-attempt",
            "atomic-key",
        ),
        ("row15-ack-first", "ack-first", "inbox"),
        ("row16-process-then-ack", "process-then-ack", "inbox"),
        ("row18-outbox-relay", "process-then-ack", "outbox-inbox"),
    ];
    let root = common::root();
    for (name, broken, fixed) in pairs {
        let scenario = idemlab::scenario::bundled(name).unwrap().unwrap();
        for seed in scenario.seed..scenario.seed + 5 {
            let runs: Vec<_> = [broken, fixed]
                .iter()
                .map(|d| {
                    let design = scenario.design(d).unwrap();
                    run(&scenario, design.as_ref(), seed, &FaultPlan::default())
                })
                .collect();
            let bad = idemlab::oracle::measure(&runs[0]);
            let good = idemlab::oracle::measure(&runs[1]);
            assert!(
                bad.first_divergence_us.is_some(),
                "{name} seed {seed}: {broken} should diverge: {bad:?}"
            );
            assert!(
                good.first_divergence_us.is_none(),
                "{name} seed {seed}: {fixed} should be exactly once: {good:?}"
            );
            assert_eq!(
                first_attempt_fates(&runs[0].trace),
                first_attempt_fates(&runs[1].trace),
                "{name} seed {seed}: the first attempts met different fates"
            );
        }
        // And the command a learner types shows both, side by side.
        let (code, out, err) = common::idemlab(&root, &["compare", name]);
        assert_eq!(code, 0, "{name}: {err}");
        let verdict = |d: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("{d} ")) && !l.contains("  "))
                .or_else(|| {
                    out.lines()
                        .rev()
                        .find(|l| l.split_whitespace().next() == Some(d))
                })
                .unwrap_or_default()
                .to_string()
        };
        assert!(verdict(broken).contains("diverged"), "{name}:\n{out}");
        assert!(verdict(fixed).contains("exactly once"), "{name}:\n{out}");
    }
}
