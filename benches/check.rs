//! `cargo bench --bench check`: how fast the property-testing harness works on the
//! `slow-server-race` scenario.
//!
//! - plans per second: `key-in-transaction` breaks nothing, so the checker runs every one of
//!   its generated plans; and `explore` over every plan of at most 2 faults;
//! - time to the first violation: `process-payment`, including shrinking it to the minimal story
//!   (the race needs no fault at all there), and on `lost-response` with network duplicates
//!   only, where the race needs a search;
//! - `explore` over the tree of runs of `default` × `key-in-transaction` on every core: runs
//!   and distinct runs per second at two faults (in this process), and with the release
//!   binary (`idemlab explore`, the program users run), the time to cover three faults whole
//!   (11.5 s on two cores, 2026-12-05) and the rates of a search of four faults stopped after
//!   `IDEMLAB_BENCH_K4_SECS` (default 60), each with its peak RSS; `IDEMLAB_BENCH_QUICK=1`
//!   skips both.

use std::time::Instant;

// The binary's allocator, so that the figures are those of `idemlab explore`.
#[path = "../src/alloc.rs"]
mod alloc;
#[global_allocator]
static ALLOC: alloc::Allocator = alloc::Allocator;

use idemlab::check::{Checker, FaultKind};
use idemlab::handlers::lookup;

/// What `idemlab explore default --design key-in-transaction` reported, and what it cost.
#[derive(Debug)]
struct Search {
    secs: f64,
    runs: u64,
    distinct: u64,
    complete: bool,
    decided: u64,
    composed: u64,
    /// The deepest depth begun, and how many of its parents were extended.
    depth: u64,
    parents_done: u64,
    parents: u64,
    /// The peak resident memory of the largest child process so far, in kB.
    peak_kb: i64,
}

impl Search {
    /// Runs and distinct runs, each with its rate.
    fn rates(&self) -> String {
        format!(
            "{} runs ({:.0} runs/s), {} distinct ({:.0} distinct runs/s)",
            self.runs,
            self.runs as f64 / self.secs,
            self.distinct,
            self.distinct as f64 / self.secs
        )
    }
}

/// Runs the release binary's search of `default` × `key-in-transaction` to `faults`, on every
/// core, stopped after `secs` when given, and reads its JSON report.
fn explore_binary(faults: u32, secs: Option<u64>) -> Search {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"));
    cmd.args(["explore", "default", "--design", "key-in-transaction"])
        .args(["--max-faults", &faults.to_string(), "--format", "json"]);
    if let Some(secs) = secs {
        cmd.args(["--time", &format!("{secs}s")]);
    }
    let started = Instant::now();
    let out = cmd.output().expect("idemlab explore runs");
    let secs = started.elapsed().as_secs_f64();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("idemlab explore prints its JSON report");
    let n = |v: &serde_json::Value, key: &str| v[key].as_u64().unwrap_or(0);
    let depths = report["depths"].as_array().cloned().unwrap_or_default();
    let last = depths.last().cloned().unwrap_or_default();
    Search {
        secs,
        runs: n(&report, "runs"),
        distinct: n(&report, "distinct"),
        complete: report["complete"].as_bool() == Some(true),
        decided: depths.iter().map(|d| n(d, "independent")).sum(),
        composed: depths.iter().map(|d| n(d, "composed")).sum(),
        depth: n(&last, "faults"),
        parents_done: n(&last, "parents_done"),
        parents: n(&last, "parents"),
        peak_kb: children_peak_rss_kb(),
    }
}

/// The peak resident memory of the largest child process waited for so far, in kB.
fn children_peak_rss_kb() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes one `rusage` through the pointer, which points to a
    // zeroed `rusage` this frame owns (an all-zero `rusage` is a valid value: integers and
    // `timeval`s); RUSAGE_CHILDREN is a valid `who`. On failure (-1) nothing is read.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } == 0;
    if !ok {
        return -1;
    }
    // SAFETY: zeroed above, and written whole by a successful `getrusage`.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss
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
        // Three and four faults are measured on `idemlab explore` itself: Cargo builds a
        // bench's copy of the library with unwinding, whatever the release profile says, and
        // that copy searched 5 to 8% slower than the binary users run (33.2 s against 31.4 s
        // for three faults, side by side).
        let three = explore_binary(3, None);
        assert!(three.complete, "three faults: {three:?}");
        println!(
            "explore, default, key-in-transaction, <= 3 faults, {cores} cores (idemlab explore): complete in {:.1}s: {}, {} plans decided without a run ({} by groups), peak RSS {} kB",
            three.secs,
            three.rates(),
            three.decided,
            three.composed,
            three.peak_kb
        );
        // Four faults do not finish in a bench's time: a search stopped after
        // IDEMLAB_BENCH_K4_SECS (default 60) gives the rates and how far it got.
        let limit: u64 = std::env::var("IDEMLAB_BENCH_K4_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let four = explore_binary(4, Some(limit));
        println!(
            "explore, default, key-in-transaction, <= 4 faults, {cores} cores (idemlab explore), {}: {}, depth {} at {} of {} plans extended ({:.2}%), peak RSS {} kB",
            if four.complete {
                format!("complete in {:.0}s", four.secs)
            } else {
                format!("stopped after {:.0}s", four.secs)
            },
            four.rates(),
            four.depth,
            four.parents_done,
            four.parents,
            four.parents_done as f64 * 100.0 / four.parents.max(1) as f64,
            four.peak_kb
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
