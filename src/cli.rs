//! The command line: a thin shell over the library. The only module besides `main` that
//! touches files, stdout or the wall clock (for `bench`).
//!
//! Exit codes: 0 ok, 1 an `[expect]` assertion failed, 2 bad input (or a run that hit a budget).
//! Exports are written to a temporary file beside the target and renamed into place, so an
//! interrupted export never leaves a half-written file where a good one was.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::compare::{self, Comparison};
use crate::fault::FaultPlan;
use crate::handlers::{self, Design};
use crate::oracle::{self, Metrics};
use crate::scenario::{self, Backoff, Jitter, KeyPolicy, LatencyRange, Scenario};
use crate::sim::Budget;
use crate::time::SimDuration;
use crate::trace::{self, EventKind};
use crate::world;

/// idemlab: watch retries break non-idempotent handlers, and check that yours survive them.
#[derive(Parser, Debug)]
#[command(name = "idemlab", version, about, long_about = None)]
pub struct Cli {
    /// What to do; with none, open the TUI on the built-in default scenario when stdout is a
    /// terminal, and print its comparison otherwise.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Output formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// The trace as a readable log, then the metrics.
    Text,
    /// One JSON object: the design's metrics plus `scenario` and `seed`.
    Json,
}

/// Output formats of `compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// The table with ✓ ~ ✗ —, then the sequence behind each cell that is not ok.
    Text,
    /// One row per cell.
    Csv,
    /// `{ "classes": [...], "rows": [{ "design", "cells": {...}, "broken_by": {...} }] }`.
    Json,
}

/// How `explore` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExploreFormat {
    /// The coverage per depth, the claim, and the counterexample's story.
    Text,
    /// One JSON object (see the README).
    Json,
}

/// How `compare` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// An aligned table, the ideal first.
    Text,
    /// One JSON object with `scenario`, `seed`, `ideal` and `designs`.
    Json,
    /// One CSV row per design, with a header.
    Csv,
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

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one design through a scenario and print its trace and metrics.
    Run {
        /// A scenario file, or the name of a bundled scenario (see `idemlab list`).
        scenario: String,
        /// The design to run (default: the scenario's first).
        #[arg(long)]
        design: Option<String>,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Also write the trace as CSV to this file.
        #[arg(long, value_name = "FILE.csv")]
        trace: Option<PathBuf>,
        /// Also draw the run as a sequence diagram (SVG) in this file.
        #[arg(long, value_name = "FILE.svg")]
        svg: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RunFormat::Text)]
        format: RunFormat,
        /// Also run twice more, in this process and in a child process, and check that the
        /// traces are identical.
        #[arg(long)]
        check_determinism: bool,
    },
    /// Run several designs through one scenario with the same seed and fates, side by side.
    Compare {
        /// A scenario file, or the name of a bundled scenario (default: the built-in default).
        scenario: Option<String>,
        /// Comma-separated design names (default: the scenario's).
        #[arg(long, value_delimiter = ',')]
        designs: Option<Vec<String>>,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
        format: CompareFormat,
        /// Also run twice more, in this process and in a child process, and check that the
        /// traces are identical.
        #[arg(long)]
        check_determinism: bool,
    },
    /// Play a scenario in the terminal UI: designs side by side, step by step.
    Tui {
        /// A scenario file, or the name of a bundled scenario (default: the built-in default).
        scenario: Option<String>,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Comma-separated design names (default: the scenario's).
        #[arg(long, value_delimiter = ',')]
        designs: Option<Vec<String>>,
        /// Show the chart of a sweep's results (a CSV from `idemlab sweep`) instead.
        #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["scenario", "seed", "designs"])]
        sweep: Option<PathBuf>,
    },
    /// Property-test a design: run generated fault plans, shrink a failure to the fewest
    /// faults and operations, and tell its story. Exit 1 on a violation.
    Check {
        /// A scenario file, or the name of a bundled scenario; its `[[faults]]` are replaced by
        /// the generated plans.
        scenario: String,
        /// The design to check.
        #[arg(long)]
        design: String,
        /// How many generated plans to try.
        #[arg(long, default_value_t = 256)]
        cases: u32,
        /// The most faults in one generated plan.
        #[arg(long, default_value_t = 3)]
        max_faults: usize,
        /// The seed of the plan generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only these kinds of fault: drop, duplicate, delay, crash (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        faults: Option<Vec<String>>,
        /// Write the counterexample as a scenario file that replays it.
        #[arg(long, value_name = "FILE.toml")]
        out: Option<PathBuf>,
        /// Also check again, in this process and in a child process, and check that the
        /// result is identical.
        #[arg(long)]
        check_determinism: bool,
    },
    /// Try every plan of at most K faults over the tree of runs: each plan's own run offers
    /// the points its extensions may use (a retry, a copy, a redelivery exists only because
    /// of an earlier fault), breadth first, with runs that repeat another pruned.
    /// Exit 1 on a violation.
    Explore {
        /// A scenario file, or the name of a bundled scenario; its `[[faults]]` are ignored.
        scenario: String,
        /// The design to explore.
        #[arg(long)]
        design: String,
        /// The most faults in one plan (the depth of the search).
        #[arg(long, default_value_t = 2)]
        max_faults: usize,
        /// Only these kinds of fault: drop, duplicate, delay, crash, slow, unavailable
        /// (comma-separated; default drop,duplicate,delay,crash).
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        faults: Option<Vec<String>>,
        /// Stop after about this many runs; the report says what was covered.
        #[arg(long, value_name = "N")]
        max_runs: Option<u64>,
        /// Stop after this much wall-clock time (`90s`, `10m`); the report says what was
        /// covered.
        #[arg(long, value_name = "DURATION")]
        time: Option<String>,
        /// Worker threads (default: one per core). The report is the same for any number.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// text, or json (a stable contract: the coverage per depth and the counterexample).
        #[arg(long, value_enum, default_value_t = ExploreFormat::Text)]
        format: ExploreFormat,
        /// Write the minimal counterexample as a scenario file that replays it.
        #[arg(long, value_name = "FILE.toml")]
        out: Option<PathBuf>,
    },
    /// Run a grid of parameter values × seeds × designs in parallel; one CSV row per run.
    Sweep {
        /// A scenario file, or the name of a bundled scenario.
        scenario: String,
        /// A parameter and its values: PATH=FROM:TO:STEP or PATH=a,b,c (repeatable), e.g.
        /// network.loss.response=0:0.3:0.05 or client.retry.timeout=10ms:100ms:10ms.
        #[arg(long = "param", value_name = "PATH=VALUES", required = true)]
        params: Vec<String>,
        /// How many seeds per grid point (seeds 1..=N).
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// Comma-separated design names (default: the scenario's).
        #[arg(long, value_delimiter = ',')]
        designs: Option<Vec<String>>,
        /// Where to write the results (rows are kept in OUT.partial until the sweep ends).
        #[arg(long, value_name = "FILE.csv")]
        out: PathBuf,
        /// Also draw duplicate rate, in-doubt rate and p99 latency against the first parameter.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Run only slice I of N (I from 0): tasks whose number is I modulo N.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Skip the rows already in OUT.partial (or OUT) and finish the sweep.
        #[arg(long)]
        resume: bool,
    },
    /// List the handler designs and the bundled scenarios.
    List,
    /// Run every design against a minimal scenario for each fault class and print the
    /// designs × fault classes table (✓ ~ ✗ —) with the fault sequence behind each verdict.
    Matrix {
        /// text (a table), csv (one row per cell) or json (a stable contract).
        #[arg(long, value_enum, default_value_t = MatrixFormat::Text)]
        format: MatrixFormat,
        /// Comma-separated design names (default: every design).
        #[arg(long, value_delimiter = ',')]
        designs: Option<Vec<String>>,
        /// Write to this file (atomically) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// For --check-determinism: print `seed design hash` for every run of a seed range.
    #[command(hide = true)]
    InternalHashes {
        /// The scenario.
        scenario: String,
        /// Comma-separated design names.
        #[arg(long, value_delimiter = ',')]
        designs: Vec<String>,
        /// The first seed.
        #[arg(long)]
        from: u64,
        /// One past the last seed.
        #[arg(long)]
        to: u64,
    },
    /// Run workload W (one client, sequential operations, lossy network, a counter handler)
    /// and print one `key=value` line of figures.
    Bench {
        /// How many operations.
        #[arg(long, default_value_t = 100_000)]
        ops: u32,
        /// Probability that each message (request or response) is lost.
        #[arg(long, default_value_t = 0.1)]
        loss: f64,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many timed runs (after one untimed warm-up); the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// What each timed run keeps: its whole trace, or only what its metrics need.
        #[arg(long, value_enum, default_value_t = BenchRecord::Trace)]
        record: BenchRecord,
    },
}

/// Why a command failed; decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: a scenario, a name, an option. Exit 2.
    #[error("{0}")]
    Input(String),
    /// A run hit a budget. Exit 2.
    #[error("{0}")]
    Limit(String),
    /// An `[expect]` assertion failed. Exit 1.
    #[error("{0}")]
    Expectation(String),
    /// A file could not be written. Exit 2.
    #[error("{0}")]
    Io(String),
    /// Stopped by Ctrl-C (SIGINT). Exit 130, as shells report a process ended by it.
    #[error("{0}")]
    Interrupted(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Expectation(_) => 1,
            CliError::Input(_) | CliError::Limit(_) | CliError::Io(_) => 2,
            CliError::Interrupted(_) => 130,
        }
    }
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = String::new();
    let result = execute(cli.command, &mut out);
    // Whatever was produced is printed, even when an error follows it.
    if let Err(e) = write_stdout(&out)
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
        return ExitCode::from(2);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn write_stdout(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Runs one command, appending its output to `out`.
pub fn execute(command: Option<Command>, out: &mut String) -> Result<(), CliError> {
    match command {
        None if io::stdout().is_terminal() => cmd_tui(None, None, None),
        None => cmd_compare(None, None, None, CompareFormat::Text, out),
        Some(Command::Tui {
            sweep: Some(path), ..
        }) => cmd_tui_sweep(&path),
        Some(Command::Tui {
            scenario,
            seed,
            designs,
            sweep: None,
        }) => cmd_tui(scenario.as_deref(), seed, designs),
        Some(Command::Run {
            scenario,
            design,
            seed,
            trace,
            svg,
            format,
            check_determinism,
        }) => {
            if check_determinism {
                let s = load_scenario(&scenario)?;
                let d = design.clone().unwrap_or_else(|| s.designs[0].clone());
                self_check(&scenario, &s, &[d], seed.unwrap_or(s.seed), out)?;
            }
            cmd_run(&scenario, design, seed, (trace, svg), format, out)
        }
        Some(Command::Compare {
            scenario,
            designs,
            seed,
            format,
            check_determinism,
        }) => {
            if check_determinism {
                let name = scenario.clone().unwrap_or_else(|| "default".to_string());
                let s = load_scenario(&name)?;
                let d = designs.clone().unwrap_or_else(|| s.designs.clone());
                self_check(&name, &s, &d, seed.unwrap_or(s.seed), out)?;
            }
            cmd_compare(scenario.as_deref(), designs, seed, format, out)
        }
        Some(Command::Check {
            scenario,
            design,
            cases,
            max_faults,
            seed,
            faults,
            out: path,
            check_determinism,
        }) => {
            let kinds = fault_kinds(faults)?;
            if check_determinism {
                check_self_check(&scenario, &design, cases, max_faults, seed, &kinds)?;
            }
            cmd_check(
                &scenario, &design, cases, max_faults, seed, &kinds, path, out,
            )
        }
        Some(Command::Explore {
            scenario,
            design,
            max_faults,
            faults,
            max_runs,
            time,
            jobs,
            format,
            out: path,
        }) => {
            let kinds = fault_kinds(faults)?;
            cmd_explore(
                ExploreArgs {
                    scenario,
                    design,
                    max_faults,
                    kinds,
                    max_runs,
                    time,
                    jobs,
                    format,
                    path,
                },
                out,
            )
        }
        Some(Command::Sweep {
            scenario,
            params,
            seeds,
            designs,
            out: path,
            plot,
            jobs,
            shard,
            resume,
        }) => cmd_sweep(SweepArgs {
            scenario,
            params,
            seeds,
            designs,
            path,
            plot,
            jobs,
            shard,
            resume,
        }),
        Some(Command::InternalHashes {
            scenario,
            designs,
            from,
            to,
        }) => {
            let s = load_scenario(&scenario)?;
            for line in crate::determinism::hashes(&s, &designs, from..to) {
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        Some(Command::List) => {
            cmd_list(out);
            Ok(())
        }
        Some(Command::Matrix {
            format,
            designs,
            out: path,
        }) => cmd_matrix(format, designs, path, out),
        Some(Command::Bench {
            ops,
            loss,
            seed,
            runs,
            record,
        }) => cmd_bench(ops, loss, seed, runs, record, out),
    }
}

/// Loads a scenario from a path, or a bundled one by name (`lost-response` or
/// `lost-response.toml`) when no such file exists.
pub fn load_scenario(name: &str) -> Result<Scenario, CliError> {
    let path = Path::new(name);
    if path.exists() {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::Input(format!("cannot read scenario {name}: {e}")))?;
        return scenario::parse_bytes(&bytes, name).map_err(|e| CliError::Input(e.to_string()));
    }
    let wanted = name.trim_end_matches(".toml");
    if let Some(parsed) = scenario::bundled(name) {
        return parsed.map_err(|e| CliError::Input(e.to_string()));
    }
    let names: Vec<&str> = scenario::BUNDLED
        .iter()
        .map(|(f, _)| f.trim_end_matches(".toml"))
        .collect();
    let hint = crate::suggest::did_you_mean(wanted, names.iter().copied());
    Err(CliError::Input(format!(
        "no scenario file `{name}` and no bundled scenario of that name{hint}; bundled scenarios: {}",
        names.join(", ")
    )))
}

fn lookup(name: &str) -> Result<Box<dyn Design>, CliError> {
    handlers::lookup(name).map_err(|e| CliError::Input(e.to_string()))
}

/// The design called `name`, built with `scenario`'s options for it.
fn scenario_design(scenario: &Scenario, name: &str) -> Result<Box<dyn Design>, CliError> {
    if scenario.is_own_design(name) {
        return Err(own_design(scenario, name));
    }
    scenario
        .design(name)
        .map_err(|e| CliError::Input(e.to_string()))
}

/// What to do with a scenario that runs a design of the user's own: run it from Rust.
fn own_design(scenario: &Scenario, name: &str) -> CliError {
    CliError::Input(format!(
        "`{name}` is a design of your own (the scenario lists it in `own_designs`): idemlab cannot run it, your code can. Replay it from a test: `let s = idemlab::scenario::parse(&text, \"{}.toml\")?; let (violation, run) = Checker::new(&s, &{}).replay(&s);` (or `idemlab::world::run(&s, &your_design, s.seed, &Default::default())`)",
        scenario.name,
        name.replace('-', "_")
    ))
}

/// The designs of `names` (default: the scenario's), refusing a design of the user's own
/// with what to do instead.
fn resolve_designs(
    scenario: &Scenario,
    names: Option<&[String]>,
) -> Result<Vec<Box<dyn Design>>, CliError> {
    let list = names.unwrap_or(&scenario.designs);
    if let Some(own) = list.iter().find(|n| scenario.is_own_design(n)) {
        return Err(own_design(scenario, own));
    }
    crate::compare::resolve(scenario, Some(list)).map_err(|e| CliError::Input(e.to_string()))
}

fn ensure_complete(metrics: &[Metrics]) -> Result<(), CliError> {
    match metrics
        .iter()
        .find_map(|m| m.stopped.as_ref().map(|s| (m, s)))
    {
        Some((m, why)) => Err(CliError::Limit(format!("design `{}`: {why}", m.design))),
        None => Ok(()),
    }
}

fn expectations(violations: Vec<oracle::Violation>) -> Result<(), CliError> {
    if violations.is_empty() {
        return Ok(());
    }
    let mut text = String::from("expectations failed:");
    for v in violations {
        let _ = write!(
            text,
            "\n  [expect.{}] {}: expected {}, got {}",
            v.design, v.metric, v.expected, v.actual
        );
    }
    Err(CliError::Expectation(text))
}

/// The most events a sequence diagram draws; a longer run is cut, and the SVG says so.
const SVG_MAX_EVENTS: usize = 400;

fn cmd_run(
    scenario_name: &str,
    design: Option<String>,
    seed: Option<u64>,
    (trace_path, svg_path): (Option<PathBuf>, Option<PathBuf>),
    format: RunFormat,
    out: &mut String,
) -> Result<(), CliError> {
    let scenario = load_scenario(scenario_name)?;
    let design_name = design.unwrap_or_else(|| scenario.designs[0].clone());
    let design = scenario_design(&scenario, &design_name)?;
    let seed = seed.unwrap_or(scenario.seed);
    let run = world::run(&scenario, design.as_ref(), seed, &FaultPlan::default());
    let metrics = oracle::measure(&run);
    if let Some(path) = &trace_path {
        write_atomically(path, |w| {
            trace::write_csv(&run.trace, w).map_err(|e| io::Error::other(e.to_string()))
        })?;
    }
    if let Some(path) = &svg_path {
        let title = format!("{} · {} · seed {seed}", scenario.name, design.name());
        let text = crate::diagram::sequence_svg(&run, &scenario, &title, SVG_MAX_EVENTS);
        write_atomically(path, |w| w.write_all(text.as_bytes()))?;
    }
    match format {
        RunFormat::Text => {
            let _ = writeln!(
                out,
                "scenario {} · design {} · seed {seed}",
                scenario.name, metrics.design
            );
            for e in run.trace.iter() {
                let _ = writeln!(out, "{}", e.line());
            }
            out.push('\n');
            let ideal = oracle::ideal(&scenario);
            render_table(out, &ideal, std::slice::from_ref(&metrics));
            for key in &run.final_missing {
                let _ = writeln!(
                    out,
                    "\nfinal state: {key} does not exist when the run ends ([oracle] exists)"
                );
            }
        }
        RunFormat::Json => {
            #[derive(serde::Serialize)]
            struct RunReport<'a> {
                scenario: &'a str,
                seed: u64,
                #[serde(flatten)]
                metrics: &'a Metrics,
            }
            let report = RunReport {
                scenario: &scenario.name,
                seed,
                metrics: &metrics,
            };
            out.push_str(&to_json(&report)?);
            out.push('\n');
        }
    }
    if let Some(path) = trace_path {
        eprintln!("trace written to {}", path.display());
    }
    ensure_complete(std::slice::from_ref(&metrics))?;
    expectations(oracle::check_expectations(&scenario, &metrics))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Io(format!("cannot encode JSON: {e}")))
}

fn cmd_compare(
    scenario_name: Option<&str>,
    designs: Option<Vec<String>>,
    seed: Option<u64>,
    format: CompareFormat,
    out: &mut String,
) -> Result<(), CliError> {
    let scenario = match scenario_name {
        Some(name) => load_scenario(name)?,
        None => scenario::default_scenario(),
    };
    let designs = resolve_designs(&scenario, designs.as_deref())?;
    let seed = seed.unwrap_or(scenario.seed);
    let result = compare::compare(&scenario, &designs, seed, &FaultPlan::default());
    match format {
        CompareFormat::Text => render_comparison(out, &scenario, &result),
        CompareFormat::Json => {
            out.push_str(&to_json(&result.report())?);
            out.push('\n');
        }
        CompareFormat::Csv => render_csv(out, &result)?,
    }
    ensure_complete(&result.metrics)?;
    expectations(result.violations(&scenario))
}

fn render_comparison(out: &mut String, scenario: &Scenario, result: &Comparison) {
    let _ = writeln!(
        out,
        "scenario {} · seed {} · {} operations",
        scenario.name, result.seed, scenario.workload.ops
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "{}", scenario.description);
    }
    out.push('\n');
    render_table(out, &result.ideal, &result.metrics);
    out.push('\n');
    let width = result
        .metrics
        .iter()
        .map(|m| m.design.len())
        .max()
        .unwrap_or(0)
        .max(16);
    for m in &result.metrics {
        let mut verdict = match m.first_divergence_us {
            None => "exactly once".to_string(),
            Some(t) => format!("diverged from exactly-once at {}", crate::time::SimTime(t)),
        };
        // Its own category, not a failure: idempotent by RFC 9110, but the client must expect it.
        if m.different_response > 0 {
            let _ = write!(
                verdict,
                " · same effect, different response ×{}",
                m.different_response
            );
        }
        if m.failed > 0 {
            let _ = write!(verdict, " · told failed ×{}", m.failed);
        }
        if m.dead_lettered > 0 {
            let _ = write!(verdict, " · dead-lettered ×{}", m.dead_lettered);
        }
        if m.stuck > 0 {
            let _ = write!(verdict, " · keys stuck in progress ×{}", m.stuck);
        }
        let _ = writeln!(out, "{:<width$} {verdict}", m.design);
    }
}

fn ms(us: u64) -> String {
    SimDuration(us).to_string()
}

fn render_table(out: &mut String, ideal: &oracle::Ideal, metrics: &[Metrics]) {
    let header = [
        "design",
        "ops",
        "attempts",
        "effects",
        "dup",
        "lost",
        "in-doubt",
        "inconsistent",
        "charged",
        "p50",
        "p99",
        "statuses",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    rows.push(vec![
        "(ideal)".into(),
        ideal.ops.to_string(),
        "-".into(),
        ideal.effects.to_string(),
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        ideal.charged.to_string(),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    for m in metrics {
        rows.push(vec![
            m.design.clone(),
            m.ops.to_string(),
            m.attempts.to_string(),
            m.effects.to_string(),
            m.duplicates.to_string(),
            m.lost.to_string(),
            m.in_doubt.to_string(),
            m.inconsistent.to_string(),
            m.charged.to_string(),
            ms(m.latency_p50_us),
            ms(m.latency_p99_us),
            statuses(m),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 || c == header.len() - 1 {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:>w$}  ", w = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn statuses(m: &Metrics) -> String {
    let parts: Vec<String> = m
        .statuses
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

fn render_csv(out: &mut String, result: &Comparison) -> Result<(), CliError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["scenario", "seed", "design"];
    header.extend(oracle::METRIC_NAMES);
    header.extend(["first_divergence_us", "statuses", "stopped"]);
    let err = |e: csv::Error| CliError::Io(format!("cannot encode CSV: {e}"));
    w.write_record(&header).map_err(err)?;
    for m in &result.metrics {
        let mut row = vec![
            result.scenario.clone(),
            result.seed.to_string(),
            m.design.clone(),
        ];
        row.extend(
            oracle::METRIC_NAMES
                .iter()
                .map(|n| m.get(n).unwrap_or(0).to_string()),
        );
        row.push(
            m.first_divergence_us
                .map(|t| t.to_string())
                .unwrap_or_default(),
        );
        row.push(
            m.statuses
                .iter()
                .map(|(c, n)| format!("{c}:{n}"))
                .collect::<Vec<_>>()
                .join(";"),
        );
        row.push(m.stopped.clone().unwrap_or_default());
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Io(format!("cannot encode CSV: {e}")))?;
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok(())
}

fn cmd_tui(
    scenario_name: Option<&str>,
    seed: Option<u64>,
    designs: Option<Vec<String>>,
) -> Result<(), CliError> {
    let scenario = match scenario_name {
        Some(name) => load_scenario(name)?,
        None => scenario::default_scenario(),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let app = crate::tui::app::App::new(scenario, seed, designs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    if !io::stdout().is_terminal() {
        return Err(CliError::Input(
            "the TUI needs a terminal; use `idemlab compare` for a report".to_string(),
        ));
    }
    crate::tui::run(app).map_err(|e| CliError::Io(format!("terminal: {e}")))
}

/// Set by Ctrl-C during a search, which then stops and reports what it found.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn watch_ctrl_c() {
    // A second handler cannot be installed; the first one serves every search of the process.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed));
}

/// Prints `\rchecked N plans` on stderr when it is a terminal.
fn progress_line(what: &'static str, total: Option<u64>) -> impl Fn(u64) {
    let tty = io::stderr().is_terminal();
    move |n| {
        if tty {
            match total {
                Some(t) => eprint!("\r{what} {n}/{t} plans"),
                None => eprint!("\r{what} {n} plans"),
            }
        }
    }
}

fn clear_progress() {
    if io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
}

fn write_counterexample(
    found: &crate::check::Counterexample,
    path: Option<PathBuf>,
    out: &mut String,
) -> Result<(), CliError> {
    out.push_str(&found.report());
    if let Some(path) = path {
        let text = found.to_toml();
        write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
        let _ = writeln!(
            out,
            "\nreplay: idemlab run {} --design {}",
            path.display(),
            found.design
        );
    }
    Ok(())
}

fn fault_kinds(names: Option<Vec<String>>) -> Result<Vec<crate::check::FaultKind>, CliError> {
    use crate::check::FaultKind;
    let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
    names
        .unwrap_or_default()
        .iter()
        .map(|n| {
            FaultKind::ALL
                .into_iter()
                .find(|k| k.name() == n.trim())
                .ok_or_else(|| {
                    CliError::Input(format!(
                        "unknown fault kind `{n}` in --faults; known kinds: {}",
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
/// The kinds a search tries, comma-separated (the default ones when none were named).
fn kind_names(kinds: &[crate::check::FaultKind]) -> String {
    let kinds = if kinds.is_empty() {
        &crate::check::FaultKind::DEFAULT[..]
    } else {
        kinds
    };
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)]
fn cmd_check(
    scenario_name: &str,
    design_name: &str,
    cases: u32,
    max_faults: usize,
    seed: u64,
    kinds: &[crate::check::FaultKind],
    path: Option<PathBuf>,
    out: &mut String,
) -> Result<(), CliError> {
    let scenario = load_scenario(scenario_name)?;
    let design = scenario_design(&scenario, design_name)?;
    if max_faults > 16 {
        return Err(CliError::Input(format!(
            "--max-faults must be at most 16, got {max_faults}"
        )));
    }
    watch_ctrl_c();
    let progress = progress_line("checked", None);
    let report = crate::check::Checker::new(&scenario, design.as_ref())
        .cases(cases)
        .max_faults(max_faults)
        .seed(seed)
        .fault_kinds(kinds)
        .stop_when(&INTERRUPTED)
        .on_progress(&progress)
        .check();
    clear_progress();
    match &report.counterexample {
        Some(found) => {
            let _ = writeln!(out, "violation found after {} runs\n", report.plans);
            write_counterexample(found, path, out)?;
            Err(CliError::Expectation(format!(
                "`{design_name}` breaks \"{}\"",
                found.violation.invariant
            )))
        }
        None => {
            let _ = writeln!(
                out,
                "no violation: `{design_name}` held every invariant in {} runs of {} ({} generated plans of at most {max_faults} faults of kinds {}, seed {seed}){}",
                report.plans,
                scenario.name,
                cases,
                kind_names(kinds),
                if report.complete {
                    ""
                } else {
                    "; stopped early by Ctrl-C"
                }
            );
            Ok(())
        }
    }
}

struct ExploreArgs {
    scenario: String,
    design: String,
    max_faults: usize,
    kinds: Vec<crate::check::FaultKind>,
    max_runs: Option<u64>,
    time: Option<String>,
    jobs: usize,
    format: ExploreFormat,
    path: Option<PathBuf>,
}

/// The most faults `explore` searches: a tree deeper than this has more plans than any
/// budget reaches, and `--max-runs` or `--time` is the way to bound a deep search.
const EXPLORE_DEPTH_MAX: usize = 64;

/// Set by the `--time` watchdog thread of `explore`.
static TIME_UP: AtomicBool = AtomicBool::new(false);

fn cmd_explore(args: ExploreArgs, out: &mut String) -> Result<(), CliError> {
    let scenario = load_scenario(&args.scenario)?;
    let design = scenario_design(&scenario, &args.design)?;
    let max_faults = args.max_faults.min(EXPLORE_DEPTH_MAX);
    let time_limit = match &args.time {
        Some(text) => {
            let d = crate::time::parse_duration(text)
                .map_err(|e| CliError::Input(format!("--time {text}: {e}")))?;
            if d.0 == 0 {
                return Err(CliError::Input("--time must be longer than 0".to_string()));
            }
            Some(std::time::Duration::from_micros(d.0))
        }
        None => None,
    };
    let jobs = worker_threads(args.jobs, u64::MAX)?;
    watch_ctrl_c();
    // One flag for both ends of a search: Ctrl-C raises it, and so does the watchdog.
    let stop = AtomicBool::new(false);
    let bar = indicatif::ProgressBar::new(0);
    if io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {pos}/{len} plans extended · {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let on_progress = |p: &crate::check::ExploreProgress| {
        bar.set_length(p.parents);
        bar.set_position(p.parents_done);
        bar.set_message(format!("{} fault(s), {} runs", p.depth, p.runs));
    };
    let mut checker = crate::check::Checker::new(&scenario, design.as_ref())
        .fault_kinds(&args.kinds)
        .jobs(jobs)
        .stop_when(&stop)
        .on_explore_progress(&on_progress);
    if let Some(n) = args.max_runs {
        checker = checker.max_runs(n);
    }
    let started = std::time::Instant::now();
    let done = AtomicBool::new(false);
    let report = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Watches Ctrl-C and the clock; leaves as soon as the search is over.
            while !done.load(Ordering::Relaxed) {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    stop.store(true, Ordering::Relaxed);
                }
                if time_limit.is_some_and(|t| started.elapsed() >= t) {
                    TIME_UP.store(true, Ordering::Relaxed);
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let report = checker.explore(max_faults);
        done.store(true, Ordering::Relaxed);
        report
    });
    bar.finish_and_clear();
    let interrupted = INTERRUPTED.load(Ordering::Relaxed);
    match args.format {
        ExploreFormat::Json => {
            let mut json = report.to_json(&scenario.name, &args.design);
            if report.stopped == Some(crate::check::Stop::Interrupted) {
                json["stopped"] = serde_json::json!(if TIME_UP.load(Ordering::Relaxed) {
                    "time"
                } else {
                    "interrupted"
                });
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        ExploreFormat::Text => {
            let mut lines = report.lines(&scenario.name, &args.design);
            if report.stopped == Some(crate::check::Stop::Interrupted)
                && let Some(last) = lines.last_mut()
            {
                let by = if TIME_UP.load(Ordering::Relaxed) {
                    format!("stopped by --time {}", args.time.as_deref().unwrap_or(""))
                } else {
                    "stopped by Ctrl-C".to_string()
                };
                *last = last.replace("stopped early", &by);
            }
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    if let Some(found) = &report.minimal {
        if args.format == ExploreFormat::Text {
            out.push('\n');
            write_counterexample(found, args.path, out)?;
        } else if let Some(path) = args.path {
            let text = found.to_toml();
            write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
        }
        return Err(CliError::Expectation(format!(
            "`{}` breaks \"{}\"",
            args.design, found.violation.invariant
        )));
    }
    if interrupted && !TIME_UP.load(Ordering::Relaxed) {
        return Err(CliError::Interrupted(
            "interrupted: the report above says what was covered".to_string(),
        ));
    }
    Ok(())
}

/// The worker threads for `--jobs N`: one per core for 0, and never more than the cores
/// (more threads than cores only add switching) nor than the units of work. Says so on stderr
/// when it lowers the number asked for.
fn worker_threads(jobs: usize, work: u64) -> Result<usize, CliError> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let wanted = if jobs == 0 { cores } else { jobs };
    let capped = wanted
        .min(cores)
        .min(usize::try_from(work.max(1)).unwrap_or(usize::MAX));
    if jobs != 0 && capped < jobs {
        eprintln!("note: --jobs {jobs} lowered to {capped} (this machine has {cores} cores)");
    }
    Ok(capped)
}

struct SweepArgs {
    scenario: String,
    params: Vec<String>,
    seeds: u64,
    designs: Option<Vec<String>>,
    path: PathBuf,
    plot: Option<PathBuf>,
    jobs: usize,
    shard: Option<String>,
    resume: bool,
}

/// `OUT.partial`: where a sweep's rows go as they finish.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A sweep row's key (its parameters, seed and design) and the whole row.
type KeyedRow = (Vec<String>, Vec<String>);

/// The rows of a sweep CSV that match `header`, by key (parameters, seed, design).
fn read_rows(path: &Path, header: &[String], keys: usize) -> Result<Vec<KeyedRow>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    if found != header {
        return Err(CliError::Input(format!(
            "cannot resume from {}: its columns are not this sweep's (different parameters?)",
            path.display()
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        // A row cut short by a kill is not a row: it will be run again.
        let Ok(record) = record else { continue };
        if record.len() != header.len() {
            continue;
        }
        let row: Vec<String> = record.iter().map(str::to_string).collect();
        rows.push((row[..keys].to_vec(), row));
    }
    Ok(rows)
}

fn cmd_sweep(args: SweepArgs) -> Result<(), CliError> {
    use std::collections::BTreeMap;
    use std::io::Write as _;

    let scenario = load_scenario(&args.scenario)?;
    let params = args
        .params
        .iter()
        .map(|p| crate::sweep::Param::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Input(e.to_string()))?;
    if args.seeds == 0 {
        return Err(CliError::Input("--seeds must be at least 1".into()));
    }
    let designs = args.designs.unwrap_or_else(|| scenario.designs.clone());
    let plan = crate::sweep::SweepPlan::new(&scenario, params, args.seeds, designs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let shard = args
        .shard
        .as_deref()
        .map(crate::sweep::Shard::parse)
        .transpose()
        .map_err(CliError::Input)?;
    let mine = shard.map_or(plan.len(), |s| s.size(plan.len()));
    if mine > crate::sweep::MAX_TASKS {
        return Err(CliError::Input(format!(
            "this sweep would do {mine} runs, more than the limit of {} for one invocation; split it with --shard I/N (N of at least {}), or sweep fewer values, seeds or designs",
            crate::sweep::MAX_TASKS,
            mine.div_ceil(crate::sweep::MAX_TASKS) * shard.map_or(1, |s| s.count)
        )));
    }
    let header = plan.header();
    let keys = plan.params.len() + 2;
    let partial = partial_path(&args.path);

    // Rows already done: kept (as CSV lines), and their tasks skipped.
    let mut done: BTreeMap<Vec<String>, String> = BTreeMap::new();
    if args.resume {
        // A finished file of this very sweep counts; an older file of another is left alone
        // (and replaced only when this sweep completes).
        if args.path.exists()
            && let Ok(rows) = read_rows(&args.path, &header, keys)
        {
            done.extend(
                rows.into_iter()
                    .map(|(k, r)| (k, crate::sweep::encode_row(&r))),
            );
        }
        if partial.exists() {
            let rows = read_rows(&partial, &header, keys)?;
            done.extend(
                rows.into_iter()
                    .map(|(k, r)| (k, crate::sweep::encode_row(&r))),
            );
        }
    } else if partial.exists() {
        return Err(CliError::Input(format!(
            "{} holds an unfinished sweep: add --resume to finish it, or delete it to start over",
            partial.display()
        )));
    }
    let tasks: Vec<u64> = (0..plan.len())
        .filter(|i| shard.is_none_or(|s| s.owns(*i)))
        .filter(|i| !done.contains_key(&plan.key(&plan.task(*i))))
        .collect();

    // The partial file: rewritten with what is kept, then appended to as rows finish.
    let io_err = |e: io::Error| CliError::Io(format!("cannot write {}: {e}", partial.display()));
    let header_line = crate::sweep::encode_row(&header);
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io_err)?);
    writer.write_all(header_line.as_bytes()).map_err(io_err)?;
    for line in done.values() {
        writer.write_all(line.as_bytes()).map_err(io_err)?;
    }
    writer.flush().map_err(io_err)?;

    watch_ctrl_c();
    let bar = indicatif::ProgressBar::new(tasks.len() as u64);
    if io::stdout().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs · {per_sec} · eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut failure: Option<CliError> = None;
    let mut fresh: Vec<(u64, String)> = Vec::with_capacity(tasks.len());
    crate::sweep::run(&plan, &tasks, args.jobs, &INTERRUPTED, |index, line| {
        if failure.is_none() {
            // One flush per row: a kill loses at most the row being written.
            if let Err(e) = writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.flush())
            {
                failure = Some(io_err(e));
                INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        fresh.push((index, line));
        bar.inc(1);
    })
    .map_err(CliError::Io)?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    drop(writer);
    if INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "interrupted: {} of {} runs are in {}; run the same command with --resume to finish",
            done.len() + fresh.len(),
            done.len() + tasks.len(),
            partial.display()
        );
        return Ok(());
    }

    // Every row, in task order: the same file whatever order the threads finished in. Rows
    // kept from before (`--resume`) are known by their key; only then is the index of keys
    // built (for a million runs it is a million small vectors of strings).
    let index_of: BTreeMap<Vec<String>, u64> = if done.is_empty() {
        BTreeMap::new()
    } else {
        (0..plan.len())
            .map(|i| (plan.key(&plan.task(i)), i))
            .collect()
    };
    let mut rows: Vec<(u64, String)> = done
        .into_iter()
        .filter_map(|(key, line)| index_of.get(&key).map(|i| (*i, line)))
        .chain(fresh)
        .collect();
    rows.sort_by_key(|(i, _)| *i);
    write_atomically(&args.path, |w| {
        w.write_all(header_line.as_bytes())?;
        for (_, line) in &rows {
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })?;
    let _ = std::fs::remove_file(&partial);
    if let Some(svg_path) = &args.plot {
        // Parsed back only for the chart, by one reader: each line is one record (building a
        // reader per line took longer than the whole sweep).
        let text: String = rows.iter().map(|(_, line)| line.as_str()).collect();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let parsed: Vec<(u64, Vec<String>)> = rows
            .iter()
            .zip(reader.records())
            .filter_map(|((i, _), record)| {
                Some((*i, record.ok()?.iter().map(str::to_string).collect()))
            })
            .collect();
        let chart = crate::sweep::panels(&plan, &parsed);
        let title = format!(
            "{} · {} seeds per point · {}",
            scenario.name,
            plan.seeds,
            chart.subject()
        );
        let text = crate::plot::svg(&title, &chart.parameter, &chart.ticks, &chart.panels);
        write_atomically(svg_path, |w| w.write_all(text.as_bytes()))?;
    }
    eprintln!(
        "{} rows written to {}{}",
        rows.len(),
        args.path.display(),
        args.plot
            .as_ref()
            .map(|p| format!(", chart to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

fn cmd_tui_sweep(path: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
    let chart = crate::sweep::chart_from_csv(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    if !io::stdout().is_terminal() {
        return Err(CliError::Input(
            "the TUI needs a terminal; use `idemlab sweep --plot` for an SVG chart".to_string(),
        ));
    }
    let view = crate::tui::sweep_view::SweepView::new(&path.display().to_string(), chart);
    crate::tui::run_sweep(view).map_err(|e| CliError::Io(format!("terminal: {e}")))
}

/// Runs `designs` through `scenario` twice here and once in a child process; any difference in
/// the traces is an error that names the first differing event.
fn self_check(
    name: &str,
    scenario: &Scenario,
    designs: &[String],
    seed: u64,
    out: &mut String,
) -> Result<(), CliError> {
    for d in designs {
        scenario_design(scenario, d)?;
    }
    let first = crate::determinism::hashes(scenario, designs, seed..seed + 1);
    let second = crate::determinism::hashes(scenario, designs, seed..seed + 1);
    if let Some(diff) = crate::determinism::compare_lines(&first, &second) {
        let detail = designs
            .iter()
            .filter_map(|d| {
                let design = scenario.design(d).ok()?;
                let a = world::run(scenario, design.as_ref(), seed, &FaultPlan::default());
                let b = world::run(scenario, design.as_ref(), seed, &FaultPlan::default());
                crate::determinism::first_difference(&a.trace, &b.trace)
                    .map(|t| format!("{d}: {t}"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Err(CliError::Expectation(format!(
            "not deterministic within one process: {diff}\n{detail}"
        )));
    }
    let child = child_output(&[
        "internal-hashes",
        name,
        "--designs",
        &designs.join(","),
        "--from",
        &seed.to_string(),
        "--to",
        &(seed + 1).to_string(),
    ])?;
    let got: Vec<String> = child.lines().map(str::to_string).collect();
    if let Some(diff) = crate::determinism::compare_lines(&first, &got) {
        return Err(CliError::Expectation(format!(
            "not deterministic across processes: {diff}"
        )));
    }
    let _ = writeln!(
        out,
        "determinism: {} run(s) gave identical traces twice in this process and once in another",
        first.len()
    );
    Ok(())
}

/// Runs this executable with `args`; its output, whatever its exit code.
fn run_child<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<std::process::Output, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Io(format!("cannot find this executable to re-run it: {e}")))?;
    std::process::Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| CliError::Io(format!("cannot start the child process: {e}")))
}

/// Runs this executable with `args` and returns its stdout; a failure is an error.
fn child_output(args: &[&str]) -> Result<String, CliError> {
    let output = run_child(args)?;
    if !output.status.success() {
        return Err(CliError::Io(format!(
            "the child process failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `check --check-determinism`: the same search twice here and once in a child gives the same
/// report, byte for byte.
fn check_self_check(
    scenario_name: &str,
    design: &str,
    cases: u32,
    max_faults: usize,
    seed: u64,
    kinds: &[crate::check::FaultKind],
) -> Result<(), CliError> {
    let once = || -> Result<String, CliError> {
        let mut text = String::new();
        let _ = cmd_check(
            scenario_name,
            design,
            cases,
            max_faults,
            seed,
            kinds,
            None,
            &mut text,
        );
        Ok(text)
    };
    let (first, second) = (once()?, once()?);
    let mut args = vec![
        "check".to_string(),
        scenario_name.to_string(),
        "--design".into(),
        design.into(),
        "--cases".into(),
        cases.to_string(),
        "--max-faults".into(),
        max_faults.to_string(),
        "--seed".into(),
        seed.to_string(),
    ];
    if !kinds.is_empty() {
        args.push("--faults".into());
        args.push(kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","));
    }
    // `check` exits 1 when it finds a violation: the output is what counts here.
    let child = run_child(&args)?;
    let third = String::from_utf8_lossy(&child.stdout).into_owned();
    let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    for (what, other) in [
        ("within one process", &second),
        ("across processes", &third),
    ] {
        if let Some(diff) = crate::determinism::compare_lines(&lines(&first), &lines(other)) {
            return Err(CliError::Expectation(format!(
                "check is not deterministic {what}: {diff}"
            )));
        }
    }
    eprintln!(
        "determinism: the search gave the same result twice in this process and once in another"
    );
    Ok(())
}

fn cmd_matrix(
    format: MatrixFormat,
    designs: Option<Vec<String>>,
    path: Option<PathBuf>,
    out: &mut String,
) -> Result<(), CliError> {
    let entries: Vec<&handlers::Entry> = match designs {
        None => handlers::entries().iter().collect(),
        Some(names) => names
            .iter()
            .map(|n| handlers::entry(n).map_err(|e| CliError::Input(e.to_string())))
            .collect::<Result<_, _>>()?,
    };
    let matrix = crate::matrix::run(&entries);
    let text = match format {
        MatrixFormat::Text => matrix.to_text(),
        MatrixFormat::Csv => matrix.to_csv(),
        MatrixFormat::Json => matrix.to_json(),
    };
    match path {
        None => out.push_str(&text),
        Some(path) => {
            write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
            let _ = writeln!(out, "wrote {}", path.display());
        }
    }
    Ok(())
}

fn cmd_list(out: &mut String) {
    let _ = writeln!(
        out,
        "designs (# is the row of the catalog table in the domain reference; then the family):"
    );
    let entries = handlers::entries();
    let width = entries.iter().map(|d| d.name.len()).max().unwrap_or(0);
    let family_width = entries
        .iter()
        .map(|d| d.family.name().len())
        .max()
        .unwrap_or(0);
    for d in entries {
        let row = d.row.map(|r| format!("#{r}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {row:>3}  {:<width$}  {:<family_width$}  {}",
            d.name,
            d.family.name(),
            d.summary
        );
        for o in d.options {
            let _ = writeln!(
                out,
                "       {:<width$}  {:<family_width$}  option {}: {}",
                "", "", o.name, o.help
            );
        }
    }
    let _ = writeln!(
        out,
        "\nbundled scenarios (run with `idemlab compare NAME`):"
    );
    let width = scenario::BUNDLED
        .iter()
        .map(|(f, _)| f.len() - 5)
        .max()
        .unwrap_or(0);
    for (file, text) in scenario::BUNDLED {
        let _ = writeln!(
            out,
            "  {:<width$}  {}",
            file.trim_end_matches(".toml"),
            scenario::headline(text)
        );
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

fn cmd_bench(
    ops: u32,
    loss: f64,
    seed: u64,
    runs: u32,
    record: BenchRecord,
    out: &mut String,
) -> Result<(), CliError> {
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
        world::Recording::Metrics | world::Recording::Explore | world::Recording::Fingerprint => {
            Some(world::run(
                &scenario,
                design.as_ref(),
                seed,
                &FaultPlan::default(),
            ))
        }
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

/// [`crate::files::write_atomically`], its failure an input/output error of the command.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> Result<(), CliError> {
    crate::files::write_atomically(path, write).map_err(|e| CliError::Io(e.0))
}
