//! `cargo run --example payment`: property-test the seed's `process_payment` and its fix, both
//! written outside idemlab, through the public API only.

mod designs;

use idemlab::check::Checker;
use idemlab::handlers::{Design, design_fn};

fn main() {
    let scenario = idemlab::scenario::bundled("crash-after-charge")
        .expect("a bundled scenario")
        .expect("valid");
    let seed_design = design_fn(
        "process-payment",
        "the seed, as written",
        designs::process_payment,
    );
    let fixed = design_fn(
        "process-payment-fixed",
        "claim, keyed charge, lease",
        designs::process_payment_fixed,
    );
    let designs: [&dyn Design; 2] = [&seed_design, &fixed];
    for design in designs {
        let report = Checker::new(&scenario, design).cases(256).check();
        match report.counterexample {
            Some(found) => println!("{}\n", found.report()),
            None => println!(
                "`{}` held every invariant in {} runs of {}\n",
                design.name(),
                report.plans,
                scenario.name
            ),
        }
    }
}
