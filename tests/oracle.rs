//! The oracle's running counters (`progress`, drawn by the TUI's chart and panels) end where
//! its final measurement (`measure`, printed by `compare`) does.

mod common;

use idemlab::fault::FaultPlan;
use idemlab::oracle::{measure, progress};
use idemlab::world::run;

#[test]
fn progress_ends_where_measure_does() {
    let mut diverged = 0;
    for (path, scenario) in common::bundled() {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            for seed in 0..20 {
                let r = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                let m = measure(&r);
                let p = progress(&r);
                assert_eq!(p.len(), r.trace.len());
                let last = p.last().copied().unwrap_or_default();
                let got = (
                    u64::from(last.effects),
                    u64::from(last.duplicates),
                    u64::from(last.lost),
                    u64::from(last.in_doubt),
                    u64::from(last.dead_lettered),
                    u64::from(last.inconsistent),
                    u64::from(last.succeeded),
                    u64::from(last.timeouts),
                    last.charged,
                );
                let want = (
                    m.effects,
                    m.duplicates,
                    m.lost,
                    m.in_doubt,
                    m.dead_lettered,
                    m.inconsistent,
                    m.succeeded,
                    m.timeouts,
                    m.charged,
                );
                assert_eq!(got, want, "{} / {name} / seed {seed}", path.display());
                assert_eq!(u64::from(last.started), m.ops);
                if last.divergence() > 0 {
                    diverged += 1;
                }
            }
        }
    }
    assert!(
        diverged > 0,
        "no run diverged: the comparison above proves little"
    );
}
