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

/// A scenario written back as TOML reads back equal: the checker's replay files depend on it.
#[test]
fn every_bundled_scenario_round_trips_through_to_toml() {
    use idemlab::fault::{FaultAtom, MessageRef, When};
    use idemlab::time::{SimDuration, SimTime};
    for (path, mut scenario) in common::bundled() {
        // Every kind of fault atom, so that each is written and read back.
        scenario.faults.atoms.extend([
            FaultAtom::Duplicate(MessageRef::request(1, 2)),
            FaultAtom::Delay {
                msg: MessageRef::response(1, 1),
                by: SimDuration::from_micros(1_500),
            },
            FaultAtom::CrashAt {
                server: 0,
                at: SimTime(12_345),
            },
            FaultAtom::CrashAtStep {
                op: 1,
                attempt: None,
                when: When::Before,
                step: idemlab::world::StepKind::Get,
            },
            FaultAtom::Partition {
                from: SimTime(1_000),
                until: SimTime(2_000),
            },
        ]);
        let text = idemlab::scenario::to_toml(&scenario, "a header\nwith \"two\" lines");
        let back = idemlab::scenario::parse(&text, "round-trip.toml")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(back, scenario, "{}:\n{text}", path.display());
    }
}
