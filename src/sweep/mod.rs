//! Sweeps: a grid of parameter values × seeds × designs, run in parallel, one CSV row each.
//!
//! A [`SweepPlan`] is built from `--param PATH=FROM:TO:STEP` (or `PATH=a,b,c`) settings
//! ([`Param::parse`]), a number of seeds and the designs. Its tasks are numbered in a fixed
//! order (grid point, then seed, then design), so that `--shard I/N` takes a disjoint slice
//! (`index % N == I`), `--resume` recognises finished rows by their key, and the final file is
//! sorted the same way whatever order the threads finished in. [`run`] spreads the tasks over a
//! rayon pool: parallelism is *across* runs, never inside one, so every row is as deterministic
//! as a single `idemlab run`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

mod chart;
pub use chart::{Chart, MAX_LINES, chart_from_csv, panels};

use crate::fault::FaultPlan;
use crate::handlers;
use crate::oracle::{self, METRIC_NAMES, Metrics};
use crate::scenario::{Backoff, Jitter, KeyPolicy, LatencyRange, Scenario};
use crate::suggest::did_you_mean;
use crate::time::{SimDuration, parse_duration};

/// The parameter paths a sweep can set.
pub const PARAM_PATHS: [&str; 22] = [
    "network.loss",
    "network.loss.request",
    "network.loss.response",
    "network.duplicate",
    "network.latency",
    "client.retry.timeout",
    "client.retry.attempts_max",
    "client.retry.backoff",
    "client.retry.backoff_base",
    "client.retry.backoff_cap",
    "client.retry.jitter",
    "client.retry.key",
    "workload.ops",
    "workload.clients",
    "server.processing",
    "server.restart_delay",
    "server.store_latency",
    "server.key_ttl",
    "provider.latency",
    "provider.unavailable",
    "broker.visibility_timeout",
    "broker.max_receives",
];

/// The most runs one invocation of a sweep may do (a shard counts only its own).
pub const MAX_TASKS: u64 = 10_000_000;

/// The most grid points one sweep may have (each holds a scenario in memory).
pub const MAX_POINTS: u64 = 1_000_000;

/// One swept parameter and its values, as text (`"0.1"`, `"20ms"`, `"full"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The scenario path, e.g. `network.loss.response`.
    pub path: String,
    /// Its values, in order.
    pub values: Vec<String>,
}

/// A `--param` that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--param {given}: {message}")]
pub struct ParamError {
    /// The `--param` as given.
    pub given: String,
    /// What is wrong.
    pub message: String,
}

fn is_duration_path(path: &str) -> bool {
    matches!(
        path,
        "network.latency"
            | "client.retry.timeout"
            | "client.retry.backoff_base"
            | "client.retry.backoff_cap"
            | "server.processing"
            | "server.restart_delay"
            | "server.store_latency"
            | "server.key_ttl"
            | "provider.latency"
            | "broker.visibility_timeout"
    )
}

impl Param {
    /// Parses `PATH=FROM:TO:STEP` (numbers, or durations with units) or `PATH=a,b,c`.
    pub fn parse(given: &str) -> Result<Param, ParamError> {
        let err = |message: String| ParamError {
            given: given.to_string(),
            message,
        };
        let (path, spec) = given
            .split_once('=')
            .ok_or_else(|| err("expected PATH=FROM:TO:STEP or PATH=a,b,c".to_string()))?;
        let path = path.trim();
        if !PARAM_PATHS.contains(&path) {
            let hint = did_you_mean(path, PARAM_PATHS);
            return Err(err(format!(
                "unknown parameter `{path}`{hint}; known: {}",
                PARAM_PATHS.join(", ")
            )));
        }
        let values = if spec.contains(':') {
            range_values(path, spec).map_err(err)?
        } else {
            spec.split(',').map(|v| v.trim().to_string()).collect()
        };
        if values.is_empty() || values.iter().any(String::is_empty) {
            return Err(err("no values".to_string()));
        }
        let param = Param {
            path: path.to_string(),
            values,
        };
        // Every value must apply to a scenario; find out now, not in the middle of a sweep.
        // (The probe has a broker for `broker.*` paths; whether the swept scenario has one is
        // checked when the sweep is planned.)
        let mut probe = crate::scenario::default_scenario();
        if param.path.starts_with("broker.") {
            let broker = crate::scenario::Broker {
                visibility_timeout: SimDuration::from_millis(100),
                max_receives: 5,
                redrive_after: None,
                fifo_dedup: false,
            };
            probe.retry = broker.retry_policy();
            probe.broker = Some(broker);
        }
        for v in &param.values {
            apply(&mut probe, &param.path, v).map_err(|m| err(format!("value `{v}`: {m}")))?;
        }
        Ok(param)
    }
}

/// The values of `FROM:TO:STEP`, both ends included, as text in the unit they were given in.
fn range_values(path: &str, spec: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
    let [from, to, step] = parts[..] else {
        return Err("a range is FROM:TO:STEP".to_string());
    };
    let mut out = Vec::new();
    if is_duration_path(path) {
        let parse = |s: &str| parse_duration(s).map_err(|e| e.to_string());
        let (from, to, step) = (parse(from)?, parse(to)?, parse(step)?);
        if step == SimDuration::ZERO || to < from {
            return Err("a range needs FROM <= TO and a STEP above zero".to_string());
        }
        let mut v = from.0;
        while v <= to.0 {
            out.push(SimDuration(v).to_string());
            v += step.0;
            if out.len() > 100_000 {
                return Err("more than 100000 values".to_string());
            }
        }
    } else {
        let parse = |s: &str| match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            Ok(_) => Err(format!(
                "`{s}` is not a finite number: a range's bounds and step are numbers such as 0.05"
            )),
            Err(_) => Err(format!("`{s}` is not a number")),
        };
        let (from, to, step) = (parse(from)?, parse(to)?, parse(step)?);
        if step.is_nan() || step <= 0.0 || to < from || !from.is_finite() || !to.is_finite() {
            return Err("a range needs FROM <= TO and a STEP above zero".to_string());
        }
        // Count steps in integers so that 0:1:0.1 gives eleven values, not ten or twelve.
        let n = ((to - from) / step + 1e-9).floor() as u64;
        if n > 100_000 {
            return Err("more than 100000 values".to_string());
        }
        let decimals = [from, step]
            .iter()
            .map(|x| {
                let s = format!("{x}");
                s.split_once('.').map_or(0, |(_, f)| f.len())
            })
            .max()
            .unwrap_or(0);
        for i in 0..=n {
            out.push(format!("{:.*}", decimals, from + step * i as f64));
        }
    }
    Ok(out)
}

/// The member of `all` called `value`, or an error listing the names ("expected a, b or c").
fn named<T: Copy>(all: &[T], name: fn(T) -> &'static str, value: &str) -> Result<T, String> {
    if let Some(t) = all.iter().copied().find(|t| name(*t) == value) {
        return Ok(t);
    }
    let names: Vec<&str> = all.iter().map(|t| name(*t)).collect();
    let (last, rest) = names.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
    Err(if rest.is_empty() {
        format!("expected {last}")
    } else {
        format!("expected {} or {last}", rest.join(", "))
    })
}

/// Sets `path` to `value` in `scenario`, with the same checks a scenario file gets.
pub fn apply(scenario: &mut Scenario, path: &str, value: &str) -> Result<(), String> {
    let prob = || -> Result<f64, String> {
        let p: f64 = value
            .parse()
            .map_err(|_| "expected a probability".to_string())?;
        if (0.0..=1.0).contains(&p) {
            Ok(p)
        } else {
            Err(format!("a probability must be between 0 and 1, got {p}"))
        }
    };
    let dur = || parse_duration(value).map_err(|e| e.to_string());
    let int = |lo: u64, hi: u64| -> Result<u64, String> {
        let n: u64 = value
            .parse()
            .map_err(|_| "expected a whole number".to_string())?;
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(format!("must be between {lo} and {hi}, got {n}"))
        }
    };
    let s = scenario;
    if path.starts_with("client.retry.") && s.broker.is_some() {
        return Err(
            "this scenario has a [broker]: its redeliveries come from broker.visibility_timeout and broker.max_receives, not client.retry"
                .to_string(),
        );
    }
    match path {
        "network.loss" => {
            let p = prob()?;
            s.network.loss_request = p;
            s.network.loss_response = p;
        }
        "network.loss.request" => s.network.loss_request = prob()?,
        "network.loss.response" => s.network.loss_response = prob()?,
        "network.duplicate" => s.network.duplicate = prob()?,
        "network.latency" => s.network.latency = LatencyRange::fixed(dur()?),
        "client.retry.timeout" => {
            let d = dur()?;
            if d == SimDuration::ZERO {
                return Err("the timeout must be longer than zero".to_string());
            }
            s.retry.timeout = d;
        }
        "client.retry.attempts_max" => {
            s.retry.attempts_max = int(1, u64::from(crate::scenario::MAX_ATTEMPTS))? as u32
        }
        "client.retry.backoff" => s.retry.backoff = named(&Backoff::ALL, Backoff::name, value)?,
        "client.retry.backoff_base" => s.retry.backoff_base = dur()?,
        "client.retry.backoff_cap" => s.retry.backoff_cap = dur()?,
        "client.retry.jitter" => s.retry.jitter = named(&Jitter::ALL, Jitter::name, value)?,
        "client.retry.key" => s.retry.key = named(&KeyPolicy::ALL, KeyPolicy::name, value)?,
        "workload.ops" => s.workload.ops = int(1, u64::from(crate::scenario::MAX_OPS))? as u32,
        "workload.clients" => {
            s.workload.clients = int(1, u64::from(crate::scenario::MAX_CLIENTS))? as u16
        }
        "server.processing" => s.server.processing = LatencyRange::fixed(dur()?),
        "server.restart_delay" => s.server.restart_delay = dur()?,
        "provider.latency" => s.external.latency = LatencyRange::fixed(dur()?),
        "server.store_latency" => s.server.store_latency = LatencyRange::fixed(dur()?),
        "server.key_ttl" => {
            let d = dur()?;
            if d == SimDuration::ZERO {
                return Err("a key TTL must be longer than zero".to_string());
            }
            s.server.key_ttl = Some(d);
        }
        "provider.unavailable" => s.external.unavailable = prob()?,
        "broker.visibility_timeout" | "broker.max_receives" => {
            let Some(broker) = s.broker.as_mut() else {
                return Err(format!("`{path}` needs a scenario with a [broker]"));
            };
            if path == "broker.max_receives" {
                broker.max_receives = int(1, u64::from(crate::scenario::MAX_ATTEMPTS))? as u32;
            } else {
                let d = dur()?;
                if d == SimDuration::ZERO {
                    return Err("the visibility timeout must be longer than zero".to_string());
                }
                broker.visibility_timeout = d;
            }
            s.retry = broker.retry_policy();
        }
        other => return Err(format!("unknown parameter `{other}`")),
    }
    if s.retry.backoff_cap < s.retry.backoff_base {
        return Err("backoff_cap must be at least backoff_base".to_string());
    }
    // A sweep of ops must not leave scripted faults pointing past the workload.
    s.workload.clients = s.workload.clients.min(s.workload.ops as u16).max(1);
    Ok(())
}

/// One run of the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Its place in the fixed order.
    pub index: u64,
    /// Which grid point.
    pub point: usize,
    /// The seed.
    pub seed: u64,
    /// The design's name.
    pub design: String,
}

/// A sweep: the scenario at every grid point, the seeds, the designs.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The swept parameters.
    pub params: Vec<Param>,
    /// One scenario per grid point (the cartesian product of the values, the first parameter
    /// varying slowest).
    pub points: Vec<(Vec<String>, Scenario)>,
    /// Seeds `1..=seeds`.
    pub seeds: u64,
    /// The designs.
    pub designs: Vec<String>,
}

/// A sweep that cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Too many grid points.
    #[error(
        "the sweep has {points} grid points, more than the limit of {MAX_POINTS}; sweep fewer parameter values (seeds and designs do not count here)"
    )]
    TooBig {
        /// How many.
        points: u128,
    },
    /// A parameter value does not fit the scenario.
    #[error("{0}")]
    Value(String),
    /// A design is unknown.
    #[error("{0}")]
    Design(String),
}

impl SweepPlan {
    /// Plans the grid of `params` over `base`, with `seeds` seeds and `designs`.
    pub fn new(
        base: &Scenario,
        params: Vec<Param>,
        seeds: u64,
        designs: Vec<String>,
    ) -> Result<SweepPlan, PlanError> {
        for d in &designs {
            handlers::lookup(d).map_err(|e| PlanError::Design(e.to_string()))?;
        }
        let points_n: u128 = params.iter().map(|p| p.values.len() as u128).product();
        if points_n > u128::from(MAX_POINTS) {
            return Err(PlanError::TooBig { points: points_n });
        }
        let mut points = vec![(Vec::new(), base.clone())];
        for p in &params {
            let mut next = Vec::with_capacity(points.len() * p.values.len());
            for (values, scenario) in &points {
                for v in &p.values {
                    let mut s = scenario.clone();
                    apply(&mut s, &p.path, v)
                        .map_err(|m| PlanError::Value(format!("{} = {v}: {m}", p.path)))?;
                    let mut vs = values.clone();
                    vs.push(v.clone());
                    next.push((vs, s));
                }
            }
            points = next;
        }
        Ok(SweepPlan {
            params,
            points,
            seeds,
            designs,
        })
    }

    /// How many runs in all.
    pub fn len(&self) -> u64 {
        (self.points.len() as u64)
            .saturating_mul(self.seeds)
            .saturating_mul(self.designs.len() as u64)
    }

    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Task `index`, in the fixed order: grid point, then seed, then design.
    pub fn task(&self, index: u64) -> Task {
        let d = self.designs.len() as u64;
        let per_point = self.seeds * d;
        Task {
            index,
            point: (index / per_point) as usize,
            seed: 1 + (index % per_point) / d,
            design: self.designs[(index % d) as usize].clone(),
        }
    }

    /// The key a row is recognised by on `--resume`: the parameter values, seed and design.
    pub fn key(&self, task: &Task) -> Vec<String> {
        let mut key = self.points[task.point].0.clone();
        key.push(task.seed.to_string());
        key.push(task.design.clone());
        key
    }

    /// The CSV header: the parameters, `seed`, `design`, every metric, `first_divergence_us`,
    /// `stopped`.
    pub fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = self.params.iter().map(|p| p.path.clone()).collect();
        h.push("seed".into());
        h.push("design".into());
        h.extend(METRIC_NAMES.iter().map(|m| m.to_string()));
        h.push("first_divergence_us".into());
        h.push("stopped".into());
        h
    }

    /// Runs one task and returns its CSV row as one line (with its newline), encoded by the
    /// worker so that finished rows cost one allocation each.
    pub fn run_line(&self, task: &Task) -> String {
        encode_row(&self.run_task(task))
    }

    /// Runs one task and returns its CSV row.
    pub fn run_task(&self, task: &Task) -> Vec<String> {
        let scenario = &self.points[task.point].1;
        // The catalog's designs are looked up by name in each worker thread.
        let row_metrics = match scenario.design(&task.design) {
            Ok(design) => {
                // A sweep keeps only metrics: its runs record no trace.
                let run = crate::world::run_with(
                    scenario,
                    design.as_ref(),
                    task.seed,
                    &FaultPlan::default(),
                    crate::world::Recording::Metrics,
                );
                oracle::measure(&run)
            }
            Err(_) => unreachable_design(&task.design),
        };
        let mut row = self.key(task);
        row.extend(
            METRIC_NAMES
                .iter()
                .map(|m| row_metrics.get(m).unwrap_or(0).to_string()),
        );
        row.push(
            row_metrics
                .first_divergence_us
                .map(|t| t.to_string())
                .unwrap_or_default(),
        );
        row.push(row_metrics.stopped.clone().unwrap_or_default());
        row
    }
}

/// One CSV record, quoted where CSV needs it, with its newline.
pub fn encode_row(fields: &[String]) -> String {
    // A small buffer: the default 8 KiB one, zeroed for every row, was a tenth of a sweep's
    // time.
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(256)
        // Grown once to the row's size: a sweep keeps every row until the file is written.
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields);
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Designs were checked when the plan was made; this keeps `run_task` total anyway.
fn unreachable_design(name: &str) -> Metrics {
    Metrics {
        design: name.to_string(),
        stopped: Some(format!("unknown design `{name}`")),
        ..Metrics::default()
    }
}

/// A slice of a sweep: shard `index` of `count` runs the tasks whose number is `index` modulo
/// `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 0.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// True if task `index` belongs to this shard.
    pub fn owns(&self, index: u64) -> bool {
        index % self.count == self.index
    }

    /// How many of the tasks `0..total` belong to this shard.
    pub fn size(&self, total: u64) -> u64 {
        total / self.count + u64::from(total % self.count > self.index)
    }
}

/// Runs `tasks` of `plan` on `jobs` threads (all cores when 0), calling `on_row` on the calling
/// thread with each finished row as a CSV line, in completion order. Stops early, leaving the
/// rest undone, when `stop` becomes true. Returns how many rows were produced.
pub fn run(
    plan: &SweepPlan,
    tasks: &[u64],
    jobs: usize,
    stop: &AtomicBool,
    mut on_row: impl FnMut(u64, String),
) -> Result<u64, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    let (sender, receiver) = std::sync::mpsc::channel::<(u64, String)>();
    let mut produced = 0;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.install(|| {
                tasks.par_iter().for_each_with(sender, |sender, &index| {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let row = plan.run_line(&plan.task(index));
                    // The receiver lives until every sender is gone.
                    let _ = sender.send((index, row));
                });
            });
        });
        for (index, row) in receiver {
            produced += 1;
            on_row(index, row);
        }
    });
    Ok(produced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_both_ends_and_keep_their_units() {
        let p = Param::parse("network.loss=0:0.3:0.1").unwrap();
        assert_eq!(p.values, ["0.0", "0.1", "0.2", "0.3"]);
        let p = Param::parse("client.retry.timeout=10ms:30ms:10ms").unwrap();
        assert_eq!(p.values, ["10ms", "20ms", "30ms"]);
        let p = Param::parse("client.retry.jitter=none,full").unwrap();
        assert_eq!(p.values, ["none", "full"]);
    }

    #[test]
    fn bad_params_say_what_is_wrong() {
        let e = Param::parse("network.los=0:1:0.1").unwrap_err();
        assert!(
            e.to_string().contains("did you mean `network.loss`?"),
            "{e}"
        );
        let e = Param::parse("network.loss=0:2:1").unwrap_err();
        assert!(e.to_string().contains("between 0 and 1"), "{e}");
        let e = Param::parse("client.retry.jitter=ful").unwrap_err();
        assert!(e.to_string().contains("expected none, full"), "{e}");
        assert!(Param::parse("network.loss").is_err());
        assert!(Param::parse("network.loss=1:0:0.1").is_err());
    }

    /// A sweep CSV over `network.loss` and `client.retry.timeout` for `designs`, 2 seeds each,
    /// with `duplicates` = 10 × loss + timeout in ms / 10 (so each line's mean is known).
    fn two_param_csv(designs: &[&str]) -> String {
        let mut text = String::from(
            "network.loss,client.retry.timeout,seed,design,ops,duplicates,in_doubt,latency_p99_us\n",
        );
        for loss in ["0.0", "0.1"] {
            for timeout in ["20ms", "40ms"] {
                for seed in 1..=2 {
                    for d in designs {
                        let l: f64 = loss.parse().unwrap();
                        let t: f64 = timeout.trim_end_matches("ms").parse().unwrap();
                        let dups = 10.0 * l + t / 10.0;
                        text += &format!("{loss},{timeout},{seed},{d},1,{dups},0,1000\n");
                    }
                }
            }
        }
        text
    }

    #[test]
    fn a_second_parameter_gets_its_own_lines_when_they_fit() {
        let chart = chart_from_csv(&two_param_csv(&["naive", "atomic-key"])).unwrap();
        assert!(chart.averaged_over.is_empty());
        assert_eq!(chart.subject(), "network.loss");
        let dup = &chart.panels[0];
        let names: Vec<&str> = dup.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "naive · timeout=20ms",
                "naive · timeout=40ms",
                "atomic-key · timeout=20ms",
                "atomic-key · timeout=40ms"
            ]
        );
        // Each line holds its own timeout: 10 × loss + 2 or + 4, the same for both seeds.
        let means: Vec<f64> = dup.series[1].points.iter().map(|p| p.1).collect();
        assert_eq!(means, [4.0, 5.0]);
    }

    #[test]
    fn too_many_lines_average_over_the_second_parameter_and_say_so() {
        let designs = ["a", "b", "c", "d"];
        let chart = chart_from_csv(&two_param_csv(&designs)).unwrap();
        assert_eq!(chart.averaged_over, ["client.retry.timeout"]);
        assert_eq!(
            chart.subject(),
            "network.loss (lines average over client.retry.timeout)"
        );
        let dup = &chart.panels[0];
        assert_eq!(dup.series.len(), 4);
        // The mean over both timeouts (2 and 4) at loss 0: 3; the band spans them.
        assert_eq!(dup.series[0].points[0], (0.0, 3.0, 2.0, 4.0));
    }

    #[test]
    fn rows_are_quoted_where_csv_needs_it_and_may_differ_in_length() {
        let row =
            |fields: &[&str]| encode_row(&fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
        assert_eq!(
            row(&["a", "b,c", "say \"hi\""]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\n"
        );
        // Each row is encoded on its own: a longer row, then a shorter one.
        assert_eq!(row(&["1", "2", "3", "4"]), "1,2,3,4\n");
        assert_eq!(row(&["x", ""]), "x,\n");
        assert_eq!(row(&["line\nbreak"]), "\"line\nbreak\"\n");
    }

    #[test]
    fn shards_are_disjoint_and_cover_everything() {
        let shards: Vec<Shard> = (0..3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for t in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(t)).count(), 1);
        }
        for total in [0, 1, 2, 3, 100, 101] {
            for s in &shards {
                assert_eq!(
                    s.size(total),
                    (0..total).filter(|t| s.owns(*t)).count() as u64
                );
            }
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1/0").is_err());
    }
}
