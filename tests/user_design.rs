//! A user's own designs, property-tested through the public API only: the exported strategies in
//! a `proptest!` block, and the `Checker`.

#[path = "../examples/payment/designs.rs"]
mod designs;

use idemlab::check::{Checker, FaultSpace, strategy};
use idemlab::handlers::{Design, design_fn};
use idemlab::scenario::Scenario;
use proptest::prelude::*;

fn scenario() -> Scenario {
    idemlab::scenario::bundled("crash-after-charge")
        .unwrap()
        .unwrap()
}

fn fixed() -> impl Design {
    design_fn(
        "process-payment-fixed",
        "claim, keyed charge, lease",
        designs::process_payment_fixed,
    )
}

// ANCHOR: proptest
proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// The fix keeps every invariant under any plan of up to two faults (three crashes can
    /// outlast the client's five attempts: see the test below).
    #[test]
    fn the_fix_holds_under_generated_fault_plans(
        plan in strategy::fault_plan(&FaultSpace::of(&scenario(), &fixed()), 2)
    ) {
        let design = fixed();
        // check_plan runs the plan in the scenario without its own scripted crash.
        let (violation, _) = Checker::new(&scenario(), &design).check_plan(&plan);
        prop_assert!(violation.is_none(), "{:?} under {:?}", violation, plan);
    }
}
// ANCHOR_END: proptest

// ANCHOR: checker
#[test]
fn the_seed_process_payment_charges_twice_after_a_crash() {
    let design = design_fn("process-payment", "the seed", designs::process_payment);
    let found = Checker::new(&scenario(), &design)
        .cases(128)
        .check()
        .counterexample
        .expect("the seed's design is broken");
    assert_eq!(
        found.violation.invariant,
        "at most one effect per operation"
    );
    assert_eq!(found.plan.atoms.len(), 1);
    assert!(
        found.report().contains("again → twice"),
        "{}",
        found.report()
    );
}
// ANCHOR_END: checker

/// The fix's limit, found by the property test above when it allowed three faults: a crash just
/// before the result is stored, on attempts 1, 3 and 5, uses up all five of the client's
/// attempts (2 and 4 hit the restarting server). The provider charged once, yet the client ends
/// in doubt and the record stays in progress. The rule: retries must outlast crashes.
#[test]
fn three_crashes_outlast_the_clients_retries() {
    use idemlab::fault::{FaultAtom, FaultPlan, When};
    use idemlab::world::StepKind;
    let crash = |attempt| FaultAtom::CrashAtStep {
        op: 1,
        attempt: Some(attempt),
        when: When::Before,
        step: StepKind::Put,
        position: None,
        copy: None,
    };
    let plan = FaultPlan::new(vec![crash(1), crash(3), crash(5)]);
    let s = scenario();
    let design = fixed();
    let (violation, run) = Checker::new(&s, &design).check_plan(&plan);
    let m = idemlab::oracle::measure(&run);
    assert_eq!(violation.unwrap().invariant, "nothing left in progress");
    // Each of the three operations charged exactly once; only op 1 ends in doubt.
    assert_eq!((m.charged, m.duplicates, m.in_doubt), (300, 0, 1));
    // Exhaustively, no plan of at most two faults breaks it.
    let explored = Checker::new(&s, &design).explore(2);
    assert_eq!(explored.violations(), 0);
    assert!(explored.complete());
    assert!(explored.runs() > 600, "{}", explored.runs());
}

/// A user's own binary (`idemlab::cli::main_with`, `examples/payment/idemlab.rs`) knows its
/// designs by name: `check` and `explore` write their counterexamples, and `run` replays each
/// (exit 1); `list` names them; the plain `idemlab` says how to replay instead of failing
/// obscurely; a design named like the catalog's is refused.
#[test]
fn the_users_own_binary_replays_the_counterexamples_of_its_designs() {
    let idemlab = std::path::PathBuf::from(env!("CARGO_BIN_EXE_idemlab"));
    let bin = idemlab
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("payment-idemlab{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is built by `cargo test` (an example)",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("idemlab-own-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |exe: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(exe)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&bin, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("your designs") && out.contains("seed-payment"),
        "{out}"
    );
    for (command, extra) in [("check", &[][..]), ("explore", &["--max-faults", "1"][..])] {
        let file = format!("{command}.toml");
        let mut args = vec![
            command,
            "crash-after-charge",
            "--design",
            "seed-payment",
            "--out",
            &file,
        ];
        args.extend(extra);
        let (code, out, err) = run(&bin, &args);
        assert_eq!(code, 1, "{command}: {out}{err}");
        let (code, out, err) = run(&bin, &["run", &file]);
        assert_eq!(
            code, 1,
            "{command}'s file replays and its [expect] fails: {out}{err}"
        );
        assert!(err.contains("[expect.seed-payment] duplicates"), "{err}");
        // The plain binary does not know the design and says what to do.
        let (code, _, err) = run(&idemlab, &["run", &file]);
        assert_eq!(code, 2);
        assert!(err.contains("idemlab::cli::main_with"), "{err}");
    }
    let (code, out, err) = run(
        &bin,
        &["check", "crash-after-charge", "--design", "fixed-payment"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
