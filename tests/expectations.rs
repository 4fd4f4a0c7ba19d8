//! Every bundled scenario's `[expect]` table holds.

mod common;

use idemlab::compare;
use idemlab::fault::FaultPlan;

/// Walks `scenarios/`: each file states expectations, and they hold on its own seed.
#[test]
fn every_bundled_scenario_meets_its_expectations() {
    for (path, scenario) in common::bundled() {
        let count: usize = scenario.expect.values().map(Vec::len).sum();
        assert!(count > 0, "{} states no expectations", path.display());
        let designs = compare::resolve(&scenario, None).unwrap();
        let result = compare::compare(&scenario, &designs, scenario.seed, &FaultPlan::default());
        let violations = result.violations(&scenario);
        assert!(violations.is_empty(), "{}: {violations:?}", path.display());
        for m in &result.metrics {
            assert_eq!(
                m.stopped,
                None,
                "{}: {} hit a budget",
                path.display(),
                m.design
            );
        }
    }
}

/// The embedded default scenario is the file `scenarios/default.toml`.
#[test]
fn the_embedded_default_is_the_file() {
    let text = std::fs::read_to_string(common::root().join("scenarios/default.toml")).unwrap();
    let file = idemlab::scenario::parse(&text, "scenarios/default.toml").unwrap();
    assert_eq!(file, idemlab::scenario::default_scenario());
}
