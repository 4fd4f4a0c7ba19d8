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
