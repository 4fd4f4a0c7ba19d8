//! `cargo bench`: workload W through idemlab, recording its trace and not (as sweeps run), against
//! the floor, a hand-written binary-heap event loop that does the same work with nothing else
//! (no trace, no futures, no fates by identity). Prints the median of several runs of each and
//! their ratios.
//!
//! Workload W: one client, sequential operations, each message lost with probability 0.1,
//! one-way latency uniform in 1..=5ms, timeout 20ms, at most 5 attempts, immediate retry, a
//! non-idempotent counter handler whose store step takes 100us.

// The binary's allocator, so that the figures are those of `idemlab bench`.
#[path = "../src/alloc.rs"]
mod alloc;
#[global_allocator]
static ALLOC: alloc::Allocator = alloc::Allocator;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use idemlab::fault::FaultPlan;
use idemlab::world::{Recording, run_with};

const OPS: u32 = 100_000;
const RUNS: usize = 9;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// xorshift64*: the floor's random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn lost(&mut self) -> bool {
        self.next().is_multiple_of(10)
    }
    fn latency_us(&mut self) -> u64 {
        1_000 + self.next() % 4_001
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Send,
    AtServer { op: u32, attempt: u32 },
    AtClient { op: u32, attempt: u32 },
    Timeout { op: u32, attempt: u32 },
}

/// The floor: returns (attempts, applications) so the work can be checked against idemlab's.
fn floor(ops: u32, seed: u64) -> (u64, u64) {
    let mut rng = Rng(seed | 1);
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: u64, e: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, e)));
    };
    let (mut op, mut attempt, mut done) = (0u32, 0u32, false);
    let (mut attempts, mut applied) = (0u64, 0u64);
    push(&mut heap, 0, Ev::Send);
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        match ev {
            Ev::Send => {
                attempt += 1;
                attempts += 1;
                if !rng.lost() {
                    let t = now + rng.latency_us();
                    push(&mut heap, t, Ev::AtServer { op, attempt });
                }
                push(&mut heap, now + 20_000, Ev::Timeout { op, attempt });
            }
            Ev::AtServer { op: o, attempt: a } => {
                applied += 1;
                if !rng.lost() {
                    let t = now + 100 + rng.latency_us();
                    push(&mut heap, t, Ev::AtClient { op: o, attempt: a });
                }
            }
            Ev::AtClient { op: o, attempt: a } | Ev::Timeout { op: o, attempt: a } => {
                if done || o != op || a != attempt {
                    continue;
                }
                let answered = matches!(ev, Ev::AtClient { .. });
                if answered || attempt >= 5 {
                    done = true;
                    op += 1;
                    if op < ops {
                        (attempt, done) = (0, false);
                        push(&mut heap, now, Ev::Send);
                    }
                } else {
                    push(&mut heap, now, Ev::Send);
                }
            }
        }
    }
    (attempts, applied)
}

fn main() {
    let scenario = idemlab::cli::workload_w(OPS, 0.1);
    let design = idemlab::handlers::lookup("counter").expect("built in");
    let plan = FaultPlan::default();
    let (mut traced_s, mut metrics_s, mut floor_s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut attempts, mut floor_attempts) = (0, 0);
    // The three are timed in turn, run after run, so that a machine that is slower for a
    // while slows all three alike.
    for _ in 0..RUNS {
        for (recording, times) in [
            (Recording::Trace, &mut traced_s),
            (Recording::Metrics, &mut metrics_s),
        ] {
            let started = Instant::now();
            let run = run_with(&scenario, design.as_ref(), 1, &plan, recording);
            times.push(started.elapsed().as_secs_f64());
            attempts = run.ops.iter().map(|o| u64::from(o.attempts)).sum::<u64>();
        }
        let started = Instant::now();
        let (a, _) = std::hint::black_box(floor(std::hint::black_box(OPS), 1));
        floor_s.push(started.elapsed().as_secs_f64());
        floor_attempts = a;
    }
    let (traced, metrics, base) = (median(traced_s), median(metrics_s), median(floor_s));
    println!("workload W, {OPS} operations, median of {RUNS} runs");
    let line = |name: &str, s: f64, what: String| {
        println!(
            "  {name:<17} {:>8.1} ms  {:>10.0} ops/s  {what}",
            s * 1e3,
            f64::from(OPS) / s
        );
    };
    line(
        "idemlab, trace",
        traced,
        format!("{:.2}x the floor", traced / base),
    );
    line(
        "idemlab, metrics",
        metrics,
        format!("{:.2}x the floor", metrics / base),
    );
    line("floor", base, String::new());
    println!("  attempts: idemlab {attempts}, floor {floor_attempts}");
}
