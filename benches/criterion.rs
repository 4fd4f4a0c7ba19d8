//! `cargo bench --bench criterion`: the kernel's figures with criterion's statistics (the
//! other benches print medians and compare with a hand-written floor).
//!
//! - `workload_w`: operations per second of workload W (see `idemlab bench`), 20,000 ops,
//!   recording the trace;
//! - `workload_w_metrics`: the same run recording no trace (`Recording::Metrics`), as sweeps
//!   make them;
//! - `events`: kernel events per second on the traced run;
//! - `ten_op_run`: runs per second of a 10-operation scenario, what a sweep does per task
//!   (without a trace, and measured, as `sweep` does).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idemlab::fault::FaultPlan;
use idemlab::world::{Recording, run_with};

fn workload_w(c: &mut Criterion) {
    let s = idemlab::cli::workload_w(20_000, 0.1);
    let d = idemlab::handlers::lookup("counter").expect("a built-in design");
    let events = idemlab::world::run(&s, d.as_ref(), 1, &FaultPlan::default()).events;
    let mut g = c.benchmark_group("kernel");
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("workload_w", |b| {
        b.iter(|| idemlab::world::run(&s, d.as_ref(), 1, &FaultPlan::default()))
    });
    g.bench_function("workload_w_metrics", |b| {
        b.iter(|| run_with(&s, d.as_ref(), 1, &FaultPlan::default(), Recording::Metrics))
    });
    g.throughput(Throughput::Elements(events));
    g.bench_function("events", |b| {
        b.iter(|| idemlab::world::run(&s, d.as_ref(), 1, &FaultPlan::default()))
    });
    g.finish();
}

fn ten_op_run(c: &mut Criterion) {
    let text = "[workload]\nops = 10\n\n[client.retry]\ntimeout = \"30ms\"\nattempts_max = 4\n\n[network]\nloss = 0.1\n";
    let s = idemlab::scenario::parse(text, "ten.toml").expect("valid");
    let d = idemlab::handlers::lookup("key-in-transaction").expect("a built-in design");
    let mut g = c.benchmark_group("sweep");
    g.throughput(Throughput::Elements(1));
    let mut seed = 0;
    g.bench_function("ten_op_run", |b| {
        b.iter(|| {
            seed += 1;
            idemlab::oracle::measure(&run_with(
                &s,
                d.as_ref(),
                seed,
                &FaultPlan::default(),
                Recording::Metrics,
            ))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = workload_w, ten_op_run
}
criterion_main!(benches);
