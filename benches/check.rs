//! `cargo bench --bench check`: how fast the property-testing harness works on the
//! `slow-server-race` scenario.
//!
//! - plans per second: `key-in-transaction` breaks nothing, so the checker runs every one of
//!   its generated plans; and `explore` over every plan of at most 2 faults;
//! - time to the first violation: `process-payment`, including shrinking it to the minimal story
//!   (the race needs no fault at all there), and on `lost-response` with network duplicates
//!   only, where the race needs a search;
//! - `explore` over the tree of runs of `default` × `key-in-transaction` on every core: runs
//!   and distinct runs per second at two faults, the time to cover three faults whole (about
//!   half a minute on two cores) and the rates of a search of four faults stopped after a minute
//!   (`IDEMLAB_BENCH_K4_SECS`), each with the peak RSS; `IDEMLAB_BENCH_QUICK=1` skips both.

use std::time::Instant;

// The binary's allocator, so that the figures are those of `idemlab explore`.
#[path = "../src/alloc.rs"]
mod alloc;
#[global_allocator]
static ALLOC: alloc::Allocator = alloc::Allocator;

use idemlab::check::{Checker, FaultKind};
use idemlab::handlers::lookup;

/// The process's peak resident memory so far (`VmHWM`), as `/proc/self/status` words it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// A search's runs and distinct runs, each with its rate over `secs`.
fn search_rates(report: &idemlab::check::ExploreReport, secs: f64) -> String {
    format!(
        "{} runs ({:.0} runs/s), {} distinct ({:.0} distinct runs/s)",
        report.runs(),
        report.runs() as f64 / secs,
        report.distinct(),
        report.distinct() as f64 / secs
    )
}

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
        let composed: u64 = three.depths.iter().map(|d| d.composed).sum();
        println!(
            "explore, default, key-in-transaction, <= 3 faults, {cores} cores: complete in {secs:.1}s: {}, {decided} plans decided without a run ({composed} by groups), peak RSS {}",
            search_rates(&three, secs),
            peak_rss()
        );
        // Four faults do not finish in a bench's time: a search stopped after
        // IDEMLAB_BENCH_K4_SECS (default 60) gives the rates and how far it got.
        let limit: u64 = std::env::var("IDEMLAB_BENCH_K4_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let started = Instant::now();
        let done = std::sync::atomic::AtomicBool::new(false);
        let four = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if started.elapsed().as_secs() >= limit {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            });
            let report = Checker::new(&default, correct.as_ref())
                .stop_when(&stop)
                .explore(4);
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            report
        });
        let secs = started.elapsed().as_secs_f64();
        let last = four.depths.last().unwrap();
        println!(
            "explore, default, key-in-transaction, <= 4 faults, {cores} cores, stopped after {secs:.0}s: {}, depth {} at {} of {} plans extended ({:.2}%), peak RSS {}",
            search_rates(&four, secs),
            last.faults,
            last.parents_done,
            last.parents,
            last.parents_done as f64 * 100.0 / last.parents.max(1) as f64,
            peak_rss()
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
