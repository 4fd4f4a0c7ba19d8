//! The determinism self-check: the same scenario, design and seed must give the same trace in
//! the same process and in another process.
//!
//! [`hashes`] runs every design for every seed and returns one line per run
//! (`seed design hash`); the CLI's `--check-determinism` compares two in-process passes and a
//! child process's (the hidden `idemlab internal-hashes` command) line by line. When two traces
//! differ, [`first_difference`] names the first event where they part.

use crate::fault::FaultPlan;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// One line per (seed, design): `seed design hash`, seeds in order, designs in the given order.
pub fn hashes(scenario: &Scenario, designs: &[String], seeds: std::ops::Range<u64>) -> Vec<String> {
    let resolved: Vec<_> = designs
        .iter()
        .filter_map(|d| scenario.design(d).ok())
        .collect();
    let mut out = Vec::new();
    for seed in seeds {
        for design in &resolved {
            let run = crate::world::run(scenario, design.as_ref(), seed, &FaultPlan::default());
            out.push(format!("{seed} {} {}", design.name(), run.trace.hash()));
        }
    }
    out
}

/// The first event where two traces part, as text for a report.
pub fn first_difference(a: &Trace, b: &Trace) -> Option<String> {
    let i = a.first_difference(b)?;
    let show = |t: &Trace| {
        t.get(i)
            .map_or("(no event: the trace ended)".to_string(), |e| e.line())
    };
    Some(format!(
        "first difference at event {i}:\n  first run:  {}\n  second run: {}",
        show(a),
        show(b)
    ))
}

/// Compares two passes' lines; the first that differs, if any.
pub fn compare_lines(expected: &[String], got: &[String]) -> Option<String> {
    let n = expected.len().max(got.len());
    (0..n).find_map(|i| {
        let (a, b) = (expected.get(i), got.get(i));
        (a != b).then(|| {
            format!(
                "line {}: expected `{}`, got `{}`",
                i + 1,
                a.map_or("(nothing)", String::as_str),
                b.map_or("(nothing)", String::as_str)
            )
        })
    })
}
