//! `cargo bench --bench check`: how fast the property-testing harness works on the
//! `slow-server-race` scenario.
//!
//! - plans per second: `key-in-transaction` breaks nothing, so the checker runs every one of
//!   its generated plans; and `explore` over every plan of at most 2 faults;
//! - time to the first violation: `process-payment`, including shrinking it to the minimal story
//!   (the race needs no fault at all there), and on `lost-response` with network duplicates
//!   only, where the race needs a search;
//! - `explore` over the tree of runs of `default` × `key-in-transaction` on every core: runs
//!   and distinct runs per second at two faults, and the time to cover three faults whole
//!   (about a minute on two cores; `IDEMLAB_BENCH_QUICK=1` skips it).

use std::time::Instant;

use idemlab::check::{Checker, FaultKind};
use idemlab::handlers::lookup;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let race = idemlab::scenario::bundled("slow-server-race")
        .unwrap()
        .unwrap();
    let lost = idemlab::scenario::bundled("lost-response")
        .unwrap()
        .unwrap();
    let correct = lookup("key-in-transaction").unwrap();
    let broken = lookup("process-payment").unwrap();

    let mut rates = Vec::new();
    for seed in 1..=5 {
        let started = Instant::now();
        let report = Checker::new(&race, correct.as_ref())
            .cases(2_000)
            .seed(seed)
            .check();
        assert!(report.counterexample.is_none());
        rates.push(report.plans as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "check, slow-server-race, key-in-transaction: {:.0} plans/s (median of 5 x 2000)",
        median(rates)
    );

    let started = Instant::now();
    let explored = Checker::new(&race, correct.as_ref()).explore(2);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "explore, slow-server-race, key-in-transaction, <= 2 faults: {} runs in {:.3}s = {:.0} runs/s",
        explored.runs(),
        secs,
        explored.runs() as f64 / secs
    );

    let default = idemlab::scenario::default_scenario();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    let two = Checker::new(&default, correct.as_ref()).explore(2);
    let secs = started.elapsed().as_secs_f64();
    assert!(two.complete() && two.minimal.is_none());
    println!(
        "explore, default, key-in-transaction, <= 2 faults, {cores} cores: {} runs ({} distinct) in {secs:.2}s = {:.0} runs/s, {:.0} distinct runs/s",
        two.runs(),
        two.distinct(),
        two.runs() as f64 / secs,
        two.distinct() as f64 / secs
    );
    if std::env::var_os("IDEMLAB_BENCH_QUICK").is_none() {
        let started = Instant::now();
        let three = Checker::new(&default, correct.as_ref()).explore(3);
        let secs = started.elapsed().as_secs_f64();
        assert!(three.complete() && three.minimal.is_none());
        let decided: u64 = three.depths.iter().map(|d| d.independent).sum();
        println!(
            "explore, default, key-in-transaction, <= 3 faults, {cores} cores: complete in {secs:.1}s: {} runs ({} distinct, {:.0} distinct runs/s), {decided} plans decided without a run",
            three.runs(),
            three.distinct(),
            three.distinct() as f64 / secs
        );
    }

    let mut first = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let found = Checker::new(&race, broken.as_ref())
            .check()
            .counterexample
            .unwrap();
        first.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(found.plan.atoms.is_empty());
    }
    println!(
        "first violation, slow-server-race, process-payment (shrunk): {:.2} ms (median of 5)",
        median(first)
    );

    let mut searched = Vec::new();
    let mut runs = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let report = Checker::new(&lost, broken.as_ref())
            .fault_kinds(&[FaultKind::Duplicate])
            .check();
        searched.push(started.elapsed().as_secs_f64() * 1e3);
        runs = report.plans;
        assert!(report.counterexample.is_some());
    }
    println!(
        "first violation, lost-response, process-payment, duplicates only (searched, shrunk): {:.2} ms, {runs} runs (median of 5)",
        median(searched)
    );
}
