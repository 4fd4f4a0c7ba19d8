//! Every bundled scenario's `[expect]` table holds.

mod common;

use idemlab::compare;
use idemlab::fault::FaultPlan;

/// Walks `scenarios/`: each file states expectations for every design it runs, and they
/// hold on its own seed and the 19 after it.
#[test]
fn every_bundled_scenario_meets_its_expectations_for_20_seeds() {
    for (path, scenario) in common::bundled() {
        for design in &scenario.designs {
            assert!(
                scenario.expect.get(design).is_some_and(|e| !e.is_empty()),
                "{} states no expectations for {design}",
                path.display()
            );
        }
        let designs = compare::resolve(&scenario, None).unwrap();
        for seed in scenario.seed..scenario.seed + 20 {
            let result = compare::compare(&scenario, &designs, seed, &FaultPlan::default());
            let violations = result.violations(&scenario);
            assert!(
                violations.is_empty(),
                "{} seed {seed}: {violations:?}",
                path.display()
            );
            for m in &result.metrics {
                assert_eq!(
                    m.stopped,
                    None,
                    "{} seed {seed}: {} hit a budget",
                    path.display(),
                    m.design
                );
            }
        }
    }
}

/// Every file under `scenarios/` is embedded in the binary, so that `idemlab compare NAME`
/// finds it from anywhere, and every embedded scenario is a file.
#[test]
fn every_scenario_file_is_bundled_and_has_a_header() {
    let root = common::root();
    let files: Vec<String> = common::scenario_files()
        .iter()
        .map(|p| {
            p.strip_prefix(root.join("scenarios"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut bundled: Vec<String> = idemlab::scenario::BUNDLED
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    bundled.sort();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(sorted, bundled);
    for (file, text) in idemlab::scenario::BUNDLED {
        assert!(
            text.starts_with("# ") && idemlab::scenario::headline(text).len() > 20,
            "{file} needs a header comment saying what to look for"
        );
        let stem = file.trim_end_matches(".toml").rsplit('/').next().unwrap();
        assert!(
            idemlab::scenario::bundled(stem).is_some_and(|s| s.is_ok()),
            "{file} is found by its name {stem}"
        );
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
                position: None,
                copy: None,
            },
            FaultAtom::CrashAtStep {
                op: 1,
                attempt: Some(1),
                when: When::After,
                step: idemlab::world::StepKind::Transaction,
                position: Some(2),
                copy: Some(1),
            },
            FaultAtom::Partition {
                from: SimTime(1_000),
                until: SimTime(2_000),
            },
            FaultAtom::Slow {
                op: 1,
                attempt: 1,
                step: idemlab::world::StepKind::Transaction,
                by: SimDuration::from_millis(80),
                position: None,
                copy: None,
            },
            FaultAtom::Slow {
                op: 1,
                attempt: 1,
                step: idemlab::world::StepKind::Get,
                by: SimDuration::from_millis(5),
                position: Some(1),
                copy: Some(0),
            },
            FaultAtom::Unavailable {
                op: 1,
                attempt: None,
                position: None,
                copy: None,
            },
            FaultAtom::Unavailable {
                op: 1,
                attempt: Some(1),
                position: Some(3),
                copy: Some(0),
            },
        ]);
        let text = idemlab::scenario::to_toml(&scenario, "a header\nwith \"two\" lines");
        let back = idemlab::scenario::parse(&text, "round-trip.toml")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(back, scenario, "{}:\n{text}", path.display());
    }
}

/// Found by the fuzzer: `backoff_base = "10s"` with no `backoff_cap` was accepted with the
/// default cap of 1s below it, and the scenario then failed to read back after `to_toml`. The
/// default cap now rises to the base.
#[test]
fn a_backoff_base_above_the_default_cap_raises_the_cap() {
    let text = "[workload]\nops = 3\n\n[client.retry]\nbackoff_base = \"10s\"\n";
    let s = idemlab::scenario::parse(text, "x.toml").unwrap();
    assert_eq!(s.retry.backoff_cap, s.retry.backoff_base);
    let back = idemlab::scenario::parse(&idemlab::scenario::to_toml(&s, ""), "y.toml").unwrap();
    assert_eq!(back, s);
}
