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

use crate::compare::Comparison;
use crate::fault::FaultPlan;
use crate::handlers::{self, Design};
use crate::oracle::{self, Metrics};
use crate::scenario::{self, Backoff, Jitter, KeyPolicy, LatencyRange, Scenario};
use crate::sim::Budget;
use crate::time::SimDuration;
use crate::trace::{self, EventKind};
use crate::world;

mod bench;
mod check;
mod compare;
mod explore;
mod export;
mod list;
mod matrix;
mod probe;
mod render;
mod run;
mod selfcheck;
mod sweep;
mod tui;

use bench::*;
use check::*;
use compare::*;
use explore::*;
use export::*;
use list::*;
use matrix::*;
use probe::*;
use render::*;
use run::*;
use selfcheck::*;
use sweep::*;
use tui::*;

pub use bench::workload_w;
pub use probe::ProbeArgs;

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
    /// Write every design's run of a scenario, with precomputed what-if runs, for a web page to
    /// play (the book's run viewer): JSON, or (for a `.js` file) the same JSON as a script.
    Export {
        /// A scenario file, or the name of a bundled scenario.
        scenario: String,
        /// Comma-separated design names (default: the scenario's).
        #[arg(long, value_delimiter = ',')]
        designs: Option<Vec<String>>,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// At most this many what-if runs per design (the scenario's own faults undone first,
        /// then in the order of the events).
        #[arg(long, default_value_t = 200, value_name = "N")]
        what_ifs: usize,
        /// Where to write: `FILE.json`, or `FILE.js` for a script that registers the run in
        /// `window.IDEMLAB_RUNS` under the scenario's name (pages opened from `file://` cannot
        /// fetch JSON, but can load a script).
        #[arg(long, value_name = "FILE.json|FILE.js")]
        out: PathBuf,
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
    /// Play a scenario against a live HTTP service: idemlab is the client and the payment
    /// provider, injects the faults on its side of the wire (and, with --serve, crashes the
    /// service with SIGKILL), and judges the run with the simulator's oracle. Needs the
    /// `probe` feature.
    Probe(Box<ProbeArgs>),
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
    /// Stopped by a signal: exit 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), as
    /// shells report a process it ended.
    #[error("{0}")]
    Interrupted(String, u8),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Expectation(_) => 1,
            CliError::Input(_) | CliError::Limit(_) | CliError::Io(_) => 2,
            CliError::Interrupted(_, code) => *code,
        }
    }
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    main_with(Vec::new())
}

/// `idemlab` with designs of your own beside the catalog: every command (`run`, `compare`,
/// `check`, `explore`, `sweep`, `export`, the TUI) knows them by name, and replays the
/// counterexamples `check` and `explore` write of them. As criterion's `criterion_main!`
/// makes a bench binary, a few lines in your crate make your `idemlab`:
///
/// ```no_run
/// // src/bin/my-idemlab.rs (or examples/my-idemlab.rs)
/// use idemlab::handlers::{design_fn, api::{Body, Cx, Request, Response}};
/// async fn charge_once(cx: Cx, req: Request) -> Response {
///     let order = cx.db().create_order(req.amount()).await;
///     Response::created(Body::Order(order))
/// }
/// fn main() -> std::process::ExitCode {
///     idemlab::cli::main_with(vec![Box::new(design_fn("charge-once", "creates an order", charge_once))])
/// }
/// ```
///
/// then `cargo run --bin my-idemlab -- check lost-response --design charge-once --out cx.toml`
/// and `cargo run --bin my-idemlab -- run cx.toml`. A design named like one of the catalog's,
/// or two of the same name, is refused with exit code 2.
pub fn main_with(designs: Vec<Box<dyn Design>>) -> ExitCode {
    if !designs.is_empty()
        && let Err(e) = handlers::register_own(designs)
    {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
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
        Some(Command::Export {
            scenario,
            designs,
            seed,
            what_ifs,
            out: path,
        }) => cmd_export(&scenario, designs, seed, what_ifs, &path, out),
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
        Some(Command::Probe(args)) => cmd_probe(*args, out),
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
        let bytes = read_file(path, "scenario", SCENARIO_BYTES_MAX)?;
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

/// The largest scenario file read: far past any scenario (the bundled ones are under 3 KiB).
pub const SCENARIO_BYTES_MAX: u64 = 4 << 20;

/// The largest sweep CSV `tui --sweep` reads (a million rows is about 200 MiB).
pub const SWEEP_CSV_BYTES_MAX: u64 = 1 << 30;

/// Reads the regular file at `path`, `what` it is for the messages, refusing anything else
/// (`/dev/zero`, a pipe, a directory) and anything larger than `max` bytes, which it never
/// reads past.
pub fn read_file(path: &Path, what: &str, max: u64) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::Input(format!("cannot read {what} {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(CliError::Input(format!(
            "{shown} is not a regular file (a device, a pipe or a directory): give a {what} file"
        )));
    }
    let too_big = || {
        CliError::Input(format!(
            "{shown} is larger than {} MiB, more than any {what} file: refused",
            max >> 20
        ))
    };
    if meta.len() > max {
        return Err(too_big());
    }
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::Input(format!("cannot read {what} {shown}: {e}")))?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(file, max + 1), &mut bytes)
        .map_err(|e| CliError::Input(format!("cannot read {what} {shown}: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

fn lookup(name: &str) -> Result<Box<dyn Design>, CliError> {
    handlers::lookup(name).map_err(|e| CliError::Input(e.to_string()))
}

/// The design called `name`, built with `scenario`'s options for it.
fn scenario_design(scenario: &Scenario, name: &str) -> Result<Box<dyn Design>, CliError> {
    if scenario.is_own_design(name) && handlers::own(name).is_none() {
        return Err(own_design(scenario, name));
    }
    scenario
        .design(name)
        .map_err(|e| CliError::Input(e.to_string()))
}

/// What to do with a scenario that runs a design of the user's own: run it from Rust.
fn own_design(scenario: &Scenario, name: &str) -> CliError {
    CliError::Input(format!(
        "`{name}` is a design of your own (the scenario lists it in `own_designs`): this idemlab does not know it, your binary can. Make one with `idemlab::cli::main_with(vec![Box::new(your_design)])` (a few lines; `idemlab::cli::main_with`'s documentation) and run the same command with it, or replay from a test: `let s = idemlab::scenario::parse(&text, \"{}.toml\")?; let (violation, run) = Checker::new(&s, &{}).replay(&s);`",
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
    if let Some(own) = list
        .iter()
        .find(|n| scenario.is_own_design(n) && handlers::own(n).is_none())
    {
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

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Io(format!("cannot encode JSON: {e}")))
}

/// The signal flags a long command stops on (SIGINT, SIGTERM, SIGHUP), registered once.
fn watch_ctrl_c() -> &'static crate::signals::Signals {
    crate::signals::watch()
}

/// The error for a command a signal stopped: exit 128 + the signal's number.
fn stopped_by_signal(what: String) -> CliError {
    let signals = crate::signals::watch();
    CliError::Interrupted(what, signals.received().unwrap_or(130))
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

/// [`crate::files::write_atomically`], its failure an input/output error of the command.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> Result<(), CliError> {
    crate::files::write_atomically(path, write).map_err(|e| CliError::Io(e.0))
}
