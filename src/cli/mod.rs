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

pub use bench::{BenchArgs, BenchRecord, workload_w};
pub use check::CheckArgs;
pub use compare::{CompareArgs, CompareFormat};
pub use explore::{ExploreArgs, ExploreFormat, ExploreMergeArgs};
pub use export::ExportArgs;
pub use matrix::{MatrixArgs, MatrixFormat};
pub use probe::ProbeArgs;
pub use run::{RunArgs, RunFormat};
pub use selfcheck::InternalHashesArgs;
pub use sweep::SweepArgs;
pub use tui::TuiArgs;

/// idemlab: watch retries break non-idempotent handlers, and check that yours survive them.
#[derive(Parser, Debug)]
#[command(name = "idemlab", version, about, long_about = None)]
pub struct Cli {
    /// What to do; with none, open the TUI on the built-in default scenario when stdout is a
    /// terminal, and print its comparison otherwise.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one design through a scenario and print its trace and metrics.
    Run(RunArgs),
    /// Write every design's run of a scenario, with precomputed what-if runs, for a web page to
    /// play (the book's run viewer): JSON, or (for a `.js` file) the same JSON as a script.
    Export(ExportArgs),
    /// Run several designs through one scenario with the same seed and fates, side by side.
    Compare(CompareArgs),
    /// Play a scenario in the terminal UI: designs side by side, step by step.
    Tui(TuiArgs),
    /// Property-test a design: run generated fault plans, shrink a failure to the fewest
    /// faults and operations, and tell its story. Exit 1 on a violation.
    Check(CheckArgs),
    /// Try every plan of at most K faults over the tree of runs: each plan's own run offers
    /// the points its extensions may use (a retry, a copy, a redelivery exists only because
    /// of an earlier fault), breadth first, with runs that repeat another pruned.
    /// Exit 1 on a violation.
    Explore(ExploreArgs),
    /// Join the `explore --shard I/N --format json` reports of every shard of one search into
    /// the claim for the whole tree. Exit 1 on a violation.
    ExploreMerge(ExploreMergeArgs),
    /// Run a grid of parameter values × seeds × designs in parallel; one CSV row per run.
    Sweep(SweepArgs),
    /// List the handler designs and the bundled scenarios.
    List,
    /// Run every design against a minimal scenario for each fault class and print the
    /// designs × fault classes table (✓ ~ ✗ —) with the fault sequence behind each verdict.
    Matrix(MatrixArgs),
    /// Play a scenario against a live HTTP service: idemlab is the client and the payment
    /// provider, injects the faults on its side of the wire (and, with --serve, crashes the
    /// service with SIGKILL), and judges the run with the simulator's oracle. Needs the
    /// `probe` feature.
    Probe(Box<ProbeArgs>),
    /// For --check-determinism: print `seed design hash` for every run of a seed range.
    #[command(hide = true)]
    InternalHashes(InternalHashesArgs),
    /// Run workload W (one client, sequential operations, lossy network, a counter handler)
    /// and print one `key=value` line of figures.
    Bench(BenchArgs),
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
        None if io::stdout().is_terminal() => cmd_tui(TuiArgs::default()),
        None => cmd_compare(CompareArgs::default(), out),
        Some(Command::Tui(args)) => cmd_tui(args),
        Some(Command::Run(args)) => cmd_run(args, out),
        Some(Command::Export(args)) => cmd_export(args, out),
        Some(Command::Compare(args)) => cmd_compare(args, out),
        Some(Command::Check(args)) => cmd_check(args, out),
        Some(Command::Explore(args)) => cmd_explore(args, out),
        Some(Command::ExploreMerge(args)) => cmd_explore_merge(args, out),
        Some(Command::Sweep(args)) => cmd_sweep(args),
        Some(Command::InternalHashes(args)) => cmd_internal_hashes(args, out),
        Some(Command::List) => {
            cmd_list(out);
            Ok(())
        }
        Some(Command::Matrix(args)) => cmd_matrix(args, out),
        Some(Command::Probe(args)) => cmd_probe(*args, out),
        Some(Command::Bench(args)) => cmd_bench(args, out),
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

/// `--shard I/N` of `sweep` and `explore`, if given.
fn shard_arg(text: Option<&str>) -> Result<Option<crate::sweep::Shard>, CliError> {
    text.map(crate::sweep::Shard::parse)
        .transpose()
        .map_err(CliError::Input)
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
