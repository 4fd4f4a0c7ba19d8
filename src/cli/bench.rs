//! `idemlab bench`: workload W, timed, as one line of `key=value` figures.

use super::*;

/// The arguments of `idemlab bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// How many operations.
    #[arg(long, default_value_t = 100_000)]
    pub ops: u32,
    /// Probability that each message (request or response) is lost.
    #[arg(long, default_value_t = 0.1)]
    pub loss: f64,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many timed runs (after one untimed warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// What each timed run keeps: its whole trace, or only what its metrics need.
    #[arg(long, value_enum, default_value_t = BenchRecord::Trace)]
    pub record: BenchRecord,
}

/// What `bench` keeps of each timed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchRecord {
    /// Every event in the run's trace, as `run`, `compare` and the TUI make them.
    Trace,
    /// Only what the metrics need, as `sweep` makes them: no trace.
    Metrics,
}

impl BenchRecord {
    /// The world's name for it.
    fn recording(self) -> world::Recording {
        match self {
            BenchRecord::Trace => world::Recording::Trace,
            BenchRecord::Metrics => world::Recording::Metrics,
        }
    }
}

/// Workload W: one client, `ops` sequential operations, each message lost with probability
/// `loss`, latency uniform 1..=5ms, timeout 20ms, at most 5 attempts, immediate retry, a
/// non-idempotent counter handler.
pub fn workload_w(ops: u32, loss: f64) -> Scenario {
    let mut s = scenario::default_scenario();
    s.name = "workload-w".into();
    s.description = "idemlab bench: workload W".into();
    s.designs = vec!["counter".into()];
    s.workload = scenario::Workload {
        ops,
        clients: 1,
        interval: SimDuration::ZERO,
        amount: 1,
        amounts: Vec::new(),
        resources: 0,
        item: 0,
        payloads: Default::default(),
    };
    s.retry = scenario::RetryPolicy {
        timeout: SimDuration::from_millis(20),
        attempts_max: 5,
        backoff: Backoff::Constant,
        backoff_base: SimDuration::ZERO,
        backoff_cap: SimDuration::ZERO,
        jitter: Jitter::None,
        key: KeyPolicy::None,
    };
    s.network = scenario::Network {
        latency: LatencyRange {
            min: SimDuration::from_millis(1),
            max: SimDuration::from_millis(5),
        },
        loss_request: loss,
        loss_response: loss,
        duplicate: 0.0,
    };
    s.server.processing = LatencyRange::fixed(SimDuration::ZERO);
    s.server.store_latency = LatencyRange::fixed(SimDuration::from_micros(100));
    s.limits = Budget {
        max_events: u64::from(ops).saturating_mul(100).max(1_000),
        max_time: SimDuration::from_secs(1_000_000),
        max_trace_events: u64::from(ops).saturating_mul(100).max(1_000),
    };
    s.faults = FaultPlan::default();
    s.expect.clear();
    s
}

pub(super) fn cmd_bench(args: BenchArgs, out: &mut String) -> Result<(), CliError> {
    let BenchArgs {
        ops,
        loss,
        seed,
        runs,
        record,
    } = args;
    if !(0.0..=1.0).contains(&loss) {
        return Err(CliError::Input(format!(
            "--loss must be a probability between 0 and 1, got {loss}"
        )));
    }
    if ops == 0 || ops > scenario::MAX_OPS {
        return Err(CliError::Input(format!(
            "--ops must be between 1 and {}, got {ops}",
            scenario::MAX_OPS
        )));
    }
    if !(1..=1_000).contains(&runs) {
        return Err(CliError::Input(format!(
            "--runs must be between 1 and 1000, got {runs}"
        )));
    }
    let scenario = workload_w(ops, loss);
    let design = lookup("counter")?;
    let recording = record.recording();
    let once = || {
        world::run_with(
            &scenario,
            design.as_ref(),
            seed,
            &FaultPlan::default(),
            recording,
        )
    };
    // One untimed warm-up, then `runs` timed runs; the clock covers the simulation only, not
    // measuring or printing. Every run is the same pure function, so only the time varies.
    let mut run = once();
    let mut walls = Vec::new();
    for _ in 0..runs {
        drop(run);
        let started = Instant::now();
        run = once();
        walls.push(started.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    let wall_s = walls[walls.len() / 2].max(1e-9);
    let metrics = oracle::measure(&run);
    // The messages are counted on the trace, so on a traced run: the same run, event for event.
    let traced = match recording {
        world::Recording::Trace
        | world::Recording::ExploreTraced
        | world::Recording::FingerprintTraced => None,
        world::Recording::Metrics
        | world::Recording::Explore
        | world::Recording::Fingerprint
        | world::Recording::FingerprintFrom(_) => Some(world::run(
            &scenario,
            design.as_ref(),
            seed,
            &FaultPlan::default(),
        )),
    };
    let messages = traced
        .as_ref()
        .unwrap_or(&run)
        .trace
        .kinds()
        .filter(|k| matches!(k, EventKind::Send | EventKind::Respond))
        .count();
    let _ = writeln!(
        out,
        "record={} ops={} attempts={} messages={} duplicates={} gave_up={} events={} trace_events={} trace_bytes={} sim_ms={} runs={} wall_ms={:.1} wall_ms_min={:.1} wall_ms_max={:.1} events_per_sec={:.0} ops_per_sec={:.0}",
        record
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default(),
        metrics.ops,
        metrics.attempts,
        messages,
        metrics.duplicates,
        metrics.in_doubt,
        run.events,
        run.logged,
        run.trace.len() * crate::trace::Trace::BYTES_PER_EVENT,
        run.end_us / 1_000,
        runs,
        wall_s * 1_000.0,
        walls[0] * 1_000.0,
        walls[walls.len() - 1] * 1_000.0,
        run.events as f64 / wall_s,
        metrics.ops as f64 / wall_s,
    );
    ensure_complete(std::slice::from_ref(&metrics))
}
