//! What every exercise's `main` does: grade `handle` on a scenario and print PASS, or FAIL and
//! the story of the smallest failure. Exit 0 on a pass, 1 on a fail.

use std::future::Future;

use idemlab::check::{FaultKind, grade};
use idemlab::handlers::api::{Cx, Request, Response};
use idemlab::handlers::design_fn;

/// The exercises: (number, scenario, fault kinds searched, most faults per plan).
pub const EXERCISES: [(u32, &str, &[FaultKind], usize); 5] = [
    (
        1,
        "lost-response",
        &[FaultKind::Drop, FaultKind::Duplicate],
        1,
    ),
    (
        2,
        "row05-check-then-act",
        &[FaultKind::Slow, FaultKind::Drop],
        1,
    ),
    (
        3,
        "crash-after-charge",
        &[FaultKind::Crash, FaultKind::Drop],
        1,
    ),
    (4, "idempotency-key-errors", &[FaultKind::Drop], 1),
    (
        5,
        "queue-redelivery",
        &[FaultKind::Drop, FaultKind::Duplicate],
        1,
    ),
];

/// Grades exercise `number`'s `handle`; returns the report and whether it passed.
pub fn run<F, Fut>(number: u32, handle: F) -> (String, bool)
where
    F: Fn(Cx, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response> + 'static,
{
    let (_, scenario, kinds, max_faults) = EXERCISES[number as usize - 1];
    let scenario = match idemlab::scenario::bundled(scenario) {
        Some(Ok(s)) => s,
        _ => return (format!("exercise {number}: no scenario {scenario}"), false),
    };
    let design = design_fn(&format!("exercise-{number}"), "your design", handle);
    let g = grade(&scenario, &design, kinds, max_faults);
    (g.report, g.passed)
}
