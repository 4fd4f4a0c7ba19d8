//! Determinism is the product: the same scenario, design and seed give the same trace, byte
//! for byte; a different seed gives a different one.

mod common;

use idemlab::fault::FaultPlan;
use idemlab::handlers;
use idemlab::world::run;

/// Fails, naming `what` and the first event that differs, unless the two runs traced alike.
fn assert_same_trace(a: &idemlab::world::Run, b: &idemlab::world::Run, what: &str) {
    assert_eq!(
        a.trace.hash(),
        b.trace.hash(),
        "{what}: first difference at event {:?}",
        a.trace.first_difference(&b.trace)
    );
}

/// Every bundled scenario × 100 seeds × every design it compares, run twice: identical trace
/// hashes. Also checks, on every trace, that simulated time never goes backwards.
#[test]
fn every_bundled_scenario_gives_identical_traces_for_100_seeds() {
    let mut runs = 0;
    for (path, scenario) in common::bundled() {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            for seed in 0..100 {
                let a = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                let b = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                assert_same_trace(
                    &a,
                    &b,
                    &format!("{} / {name} / seed {seed}", path.display()),
                );
                assert!(!a.trace.is_empty());
                let times: Vec<u64> = a.trace.iter().map(|e| e.time_us).collect();
                assert!(
                    times.windows(2).all(|w| w[0] <= w[1]),
                    "{} / {name} / seed {seed}: time went backwards",
                    path.display()
                );
                runs += 1;
            }
        }
    }
    assert!(runs >= 1_200, "only {runs} runs");
}

/// Seeds matter: in a scenario with random loss and latency, different seeds give different
/// traces (all 20 distinct).
#[test]
fn different_seeds_give_different_traces() {
    let scenario = idemlab::scenario::default_scenario();
    let design = handlers::lookup("atomic-key").unwrap();
    let mut hashes: Vec<String> = (0..20)
        .map(|seed| {
            run(&scenario, design.as_ref(), seed, &FaultPlan::default())
                .trace
                .hash()
        })
        .collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 20);
}

/// The trace hash is pinned for one run, so that an accidental change to fates, scheduling
/// or the trace encoding is noticed (and, if intended, re-pinned deliberately).
#[test]
fn the_default_scenario_trace_hash_is_pinned() {
    let scenario = idemlab::scenario::default_scenario();
    let design = handlers::lookup("naive").unwrap();
    let r = run(&scenario, design.as_ref(), 1, &FaultPlan::default());
    assert_eq!(r.trace.hash(), PINNED_DEFAULT_NAIVE_SEED_1);
}

const PINNED_DEFAULT_NAIVE_SEED_1: &str = "14f885069ef5c05d";

/// The determinism self-check over every bundled scenario × 1,000 seeds: two passes in this
/// process and one in a child process (`idemlab internal-hashes`) give the same hash for every
/// run, and `--check-determinism` says so.
#[test]
fn self_check_over_every_bundled_scenario_and_1000_seeds() {
    let root = common::root();
    let mut runs = 0;
    for (path, scenario) in common::bundled() {
        let first = idemlab::determinism::hashes(&scenario, &scenario.designs, 0..1_000);
        let second = idemlab::determinism::hashes(&scenario, &scenario.designs, 0..1_000);
        assert_eq!(idemlab::determinism::compare_lines(&first, &second), None);
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let designs = scenario.designs.join(",");
        let (code, out, err) = common::idemlab(
            &root,
            &[
                "internal-hashes",
                &rel,
                "--designs",
                &designs,
                "--from",
                "0",
                "--to",
                "1000",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let child: Vec<String> = out.lines().map(str::to_string).collect();
        assert_eq!(
            idemlab::determinism::compare_lines(&first, &child),
            None,
            "{rel}"
        );
        runs += first.len();
    }
    assert!(runs >= 12_000, "{runs}");
    let (code, out, err) = common::idemlab(
        &root,
        &["compare", "crash-after-charge", "--check-determinism"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("determinism: 3 run(s) gave identical traces"),
        "{out}"
    );
}

/// When two traces differ, the report names the first event where they part.
#[test]
fn a_difference_is_reported_at_its_first_event() {
    let scenario = idemlab::scenario::default_scenario();
    let design = handlers::lookup("naive").unwrap();
    let a = run(&scenario, design.as_ref(), 1, &FaultPlan::default());
    let b = run(&scenario, design.as_ref(), 2, &FaultPlan::default());
    let report = idemlab::determinism::first_difference(&a.trace, &b.trace).unwrap();
    let i = a.trace.first_difference(&b.trace).unwrap();
    assert!(
        report.starts_with(&format!("first difference at event {i}:")),
        "{report}"
    );
    assert!(report.contains(&a.trace.get(i).unwrap().line()));
    assert_eq!(
        idemlab::determinism::first_difference(&a.trace, &a.trace),
        None
    );
}

/// The executor keeps a `design_fn` design's futures unboxed in reused slots, and any other
/// design's boxed (`Design::tasks`). The two stores must not change a run: the same designs,
/// wrapped so that they take the boxed default, give the same traces on every bundled scenario
/// that runs them, under faults and crashes.
#[test]
fn boxed_and_unboxed_task_stores_give_identical_traces() {
    use idemlab::handlers::Design;
    use idemlab::handlers::api::{Cx, Request};
    /// Delegates everything but `tasks`, so the executor boxes each future.
    struct Boxed<'a>(&'a dyn Design);
    impl Design for Boxed<'_> {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn summary(&self) -> &str {
            self.0.summary()
        }
        fn handle(&self, cx: Cx, req: Request) -> handlers::HandlerFuture {
            self.0.handle(cx, req)
        }
        fn is_safe(&self) -> bool {
            self.0.is_safe()
        }
        fn mints_key_per_attempt(&self) -> bool {
            self.0.mints_key_per_attempt()
        }
    }
    let mut compared = 0;
    for (path, scenario) in common::bundled() {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            let boxed = Boxed(design.as_ref());
            for seed in 0..5 {
                let a = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                let b = run(&scenario, &boxed, seed, &FaultPlan::default());
                assert_same_trace(
                    &a,
                    &b,
                    &format!("{} / {name} / seed {seed}", path.display()),
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 60, "only {compared} runs compared");
}
