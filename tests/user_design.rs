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
