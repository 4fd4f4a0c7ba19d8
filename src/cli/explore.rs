//! `idemlab explore`: every plan of up to K faults over the tree of runs, with budgets.

use super::*;

/// The arguments of `idemlab explore`.
#[derive(clap::Args, Debug)]
pub struct ExploreArgs {
    /// A scenario file, or the name of a bundled scenario; its `[[faults]]` are ignored.
    pub scenario: String,
    /// The design to explore.
    #[arg(long)]
    pub design: String,
    /// The most faults in one plan (the depth of the search).
    #[arg(long, default_value_t = 2)]
    pub max_faults: usize,
    /// Only these kinds of fault: drop, duplicate, delay, crash, slow, unavailable
    /// (comma-separated; default drop,duplicate,delay,crash).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub faults: Option<Vec<String>>,
    /// Stop after about this many runs; the report says what was covered.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u64>,
    /// Stop after this much wall-clock time (`90s`, `10m`); the report says what was
    /// covered.
    #[arg(long, value_name = "DURATION")]
    pub time: Option<String>,
    /// Worker threads (default: one per core). The report is the same for any number.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// text, or json (a stable contract: the coverage per depth and the counterexample).
    #[arg(long, value_enum, default_value_t = ExploreFormat::Text)]
    pub format: ExploreFormat,
    /// Write the minimal counterexample as a scenario file that replays it.
    #[arg(long, value_name = "FILE.toml")]
    pub out: Option<PathBuf>,
}

/// How `explore` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExploreFormat {
    /// The coverage per depth, the claim, and the counterexample's story.
    Text,
    /// One JSON object (see the README).
    Json,
}

/// The most faults `explore` searches: a tree deeper than this has more plans than any
/// budget reaches, and `--max-runs` or `--time` is the way to bound a deep search.
pub(super) const EXPLORE_DEPTH_MAX: usize = 64;

/// Set by the `--time` watchdog thread of `explore`.
pub(super) static TIME_UP: AtomicBool = AtomicBool::new(false);

pub(super) fn cmd_explore(args: ExploreArgs, out: &mut String) -> Result<(), CliError> {
    let kinds = fault_kinds(args.faults.clone())?;
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
    let signals = watch_ctrl_c();
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
        .fault_kinds(&kinds)
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
                if signals.raised() {
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
    let interrupted = signals.raised();
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
                    format!("stopped by {}", signals.name().unwrap_or("a signal"))
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
            write_counterexample(found, args.out, out)?;
        } else if let Some(path) = args.out {
            let text = found.to_toml();
            write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
        }
        return Err(CliError::Expectation(format!(
            "`{}` breaks \"{}\"",
            args.design, found.violation.invariant
        )));
    }
    if interrupted && !TIME_UP.load(Ordering::Relaxed) {
        return Err(stopped_by_signal(
            "interrupted: the report above says what was covered".to_string(),
        ));
    }
    Ok(())
}
