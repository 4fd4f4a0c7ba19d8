//! `idemlab explore`: every plan of up to K faults over the tree of runs, with budgets.

use super::*;
use crate::check::RunReasons;

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
    /// Search only shard I of N (I from 0): every plan of up to K-2 faults, as every shard
    /// does, and deeper only the subtrees of every Nth of those of K-2 (with K of 1 or 2: the
    /// first faults dealt to shard I, weighed by their subtrees); `idemlab explore-merge` joins
    /// the N reports (--format json).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// The arguments of `idemlab explore-merge`.
#[derive(clap::Args, Debug)]
pub struct ExploreMergeArgs {
    /// The `explore --shard I/N --format json` reports of every shard of one search.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// text, or json (`explore`'s object, for the whole tree).
    #[arg(long, value_enum, default_value_t = ExploreFormat::Text)]
    pub format: ExploreFormat,
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
    let shard = shard_arg(args.shard.as_deref())?;
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
    if let Some(shard) = shard {
        checker = checker.shard(shard.index, shard.count);
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

/// The per-depth counts a merge adds up.
const DEPTH_COUNTS: [&str; 11] = [
    "parents",
    "parents_done",
    "runs",
    "distinct",
    "merged",
    "dominated",
    "independent",
    "composed",
    "clock_refused",
    "violations",
    "stopped_runs",
];

/// `idemlab explore-merge`: the shards of one search joined into the claim for the whole tree.
/// Every shard must be there once, of the same search (scenario, design, depth, kinds, the
/// fault-free run's fingerprint, and the same cut: `partition`, `shared_depths`). The depths
/// every shard searched whole are taken from one shard that covered them whole; deeper, a
/// depth is complete when it is complete in every shard (or the shard's subtrees end before
/// it), and counts are added (`distinct` is then distinct within each shard). A violation is
/// the smallest any shard found, claimed smallest only when every shard covered the depths
/// below it.
pub(super) fn cmd_explore_merge(args: ExploreMergeArgs, out: &mut String) -> Result<(), CliError> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            CliError::Input(format!(
                "{}: not an `explore --format json` report: {e}",
                path.display()
            ))
        })?;
        let shard = json["shard"]
            .as_str()
            .and_then(|s| crate::sweep::Shard::parse(s).ok())
            .ok_or_else(|| {
                CliError::Input(format!(
                    "{}: not the report of a shard (run `explore --shard I/N --format json`)",
                    path.display()
                ))
            })?;
        reports.push((path, shard, json));
    }
    let first = reports[0].2.clone();
    let first = &first;
    let count = reports[0].1.count;
    let same = [
        "scenario",
        "design",
        "max_faults",
        "kinds",
        "points",
        "root",
        "partition",
        "shared_depths",
    ];
    for (path, shard, json) in &reports {
        if shard.count != count {
            return Err(CliError::Input(format!(
                "{}: shard {}/{} of a search cut in {}, not {count}",
                path.display(),
                shard.index,
                shard.count,
                shard.count
            )));
        }
        if let Some(field) = same.iter().find(|f| json[**f] != first[**f]) {
            return Err(CliError::Input(format!(
                "{}: not a shard of the same search as {} (its `{field}` differs)",
                path.display(),
                reports[0].0.display()
            )));
        }
    }
    // A set of the shards given, not a table of all N: N comes from a file.
    let mut seen = std::collections::BTreeSet::new();
    for (path, shard, _) in &reports {
        if !seen.insert(shard.index) {
            return Err(CliError::Input(format!(
                "{}: shard {}/{count} is given twice",
                path.display(),
                shard.index
            )));
        }
    }
    if let Some(missing) = (0..count).find(|i| !seen.contains(i)) {
        return Err(CliError::Input(format!(
            "shard {missing}/{count} is missing: a merge covers the tree only with every shard"
        )));
    }
    reports.sort_by_key(|(_, shard, _)| shard.index);

    let max_faults = first["max_faults"].as_u64().unwrap_or(0) as usize;
    // Depth 0 (the fault-free run) and the depths every shard searched whole.
    let shared = first["shared_depths"].as_u64().unwrap_or(0);
    let mut depths: Vec<serde_json::Value> = Vec::new();
    let depth_of = |json: &serde_json::Value, depth: usize| -> Option<serde_json::Value> {
        json["depths"]
            .as_array()?
            .iter()
            .find(|d| d["faults"].as_u64() == Some(depth as u64))
            .cloned()
    };
    for depth in 0..=max_faults {
        if depth as u64 <= shared {
            // The fault-free run, and the depths every shard searches whole: one shard's
            // count, from the first that covered the depth whole, if one did.
            let copies: Vec<_> = reports
                .iter()
                .filter_map(|(_, _, json)| depth_of(json, depth))
                .collect();
            let whole = copies.iter().find(|d| d["complete"] == true);
            if let Some(d) = whole.or(copies.first()) {
                depths.push(d.clone());
            }
            continue;
        }
        let mut merged = serde_json::json!({ "faults": depth, "complete": true });
        let mut present = false;
        for (_, _, json) in &reports {
            let Some(d) = depth_of(json, depth) else {
                // A shard whose subtrees end before this depth covered it; one stopped did not.
                if !(json["exhausted"] == true && json["stopped"].is_null()) {
                    merged["complete"] = false.into();
                }
                continue;
            };
            present = true;
            for key in DEPTH_COUNTS {
                let sum = merged[key].as_u64().unwrap_or(0) + d[key].as_u64().unwrap_or(0);
                merged[key] = sum.into();
            }
            // Why its runs were made, reason by reason.
            let mut because = RunReasons::from_json(&merged["run_because"]);
            because.add(&RunReasons::from_json(&d["run_because"]));
            merged["run_because"] = because.to_json();
            if d["complete"] != true {
                merged["complete"] = false.into();
            }
        }
        if present {
            depths.push(merged);
        }
    }
    let complete_through = depths
        .iter()
        .take_while(|d| d["complete"] == true)
        .last()
        .and_then(|d| d["faults"].as_u64());
    // The smallest violation any shard found, the lowest shard's among equals.
    let violation = reports
        .iter()
        .filter_map(|(_, shard, json)| {
            let first = json["first"].as_array()?;
            Some((first.len(), shard.index, json))
        })
        .min_by_key(|(len, index, _)| (*len, *index));
    let total = |key: &str| -> u64 { depths.iter().map(|d| d[key].as_u64().unwrap_or(0)).sum() };
    let stopped: Vec<String> = reports
        .iter()
        .filter(|(_, _, json)| !json["stopped"].is_null())
        .map(|(_, shard, json)| {
            format!(
                "shard {} ({})",
                shard.index,
                json["stopped"].as_str().unwrap_or("stopped")
            )
        })
        .collect();
    let claim_violation = violation
        .as_ref()
        .is_some_and(|(len, _, _)| complete_through.is_some_and(|c| c as usize + 1 >= *len));
    let complete = match &violation {
        Some(_) => claim_violation,
        None => complete_through.is_some_and(|c| c as usize == max_faults),
    };
    match args.format {
        ExploreFormat::Json => {
            let mut json = first.clone();
            json["shard"] = serde_json::Value::Null;
            json["shards"] = count.into();
            json["depths"] = depths.clone().into();
            json["runs"] = total("runs").into();
            json["distinct"] = total("distinct").into();
            json["violations"] = total("violations").into();
            json["complete_depth"] = complete_through.into();
            json["complete"] = complete.into();
            json["stopped"] = if stopped.is_empty() {
                serde_json::Value::Null
            } else {
                stopped.join(", ").into()
            };
            json["exhausted"] = reports
                .iter()
                .all(|(_, _, j)| j["exhausted"] == true)
                .into();
            json["independence_off"] = first["independence_off"].clone();
            json["first"] =
                violation.map_or(serde_json::Value::Null, |(_, _, j)| j["first"].clone());
            json["counterexample"] = violation.map_or(serde_json::Value::Null, |(_, _, j)| {
                j["counterexample"].clone()
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        ExploreFormat::Text => {
            let kinds = first["kinds"]
                .as_array()
                .map(|k| {
                    k.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "merged {count} shards of exploring `{}` in {}: plans of up to {max_faults} fault(s) of kinds {kinds} ({} fault points in the fault-free run)",
                first["design"].as_str().unwrap_or(""),
                first["scenario"].as_str().unwrap_or(""),
                first["points"]
            );
            for d in &depths {
                let n = |key: &str| d[key].as_u64().unwrap_or(0);
                let g = |key: &str| crate::check::group(n(key));
                let mut line = format!(
                    "  {} fault(s): {} runs, {} distinct within a shard",
                    n("faults"),
                    g("runs"),
                    g("distinct")
                );
                if n("independent") > 0 {
                    line.push_str(&format!(
                        "; {} plans decided without a run",
                        g("independent")
                    ));
                }
                if n("violations") > 0 {
                    line.push_str(&format!("; {} violated an invariant", g("violations")));
                }
                if d["complete"] != true {
                    line.push_str(&format!(
                        "; in part ({} of {} plans of {} fault(s) extended)",
                        g("parents_done"),
                        g("parents"),
                        n("faults").saturating_sub(1)
                    ));
                }
                let _ = writeln!(out, "{line}");
                if let Some(why) = RunReasons::from_json(&d["run_because"]).line() {
                    let _ = writeln!(out, "{why}");
                }
            }
            match (&violation, complete_through) {
                (Some((len, index, _)), _) if claim_violation => {
                    let _ = writeln!(
                        out,
                        "violation: a plan of {len} fault(s) breaks an invariant (found by shard {index}); no plan of fewer does"
                    );
                }
                (Some((len, index, _)), _) => {
                    let _ = writeln!(
                        out,
                        "violation: a plan of {len} fault(s) breaks an invariant (found by shard {index}); plans of fewer were not all covered"
                    );
                }
                (None, Some(c)) if c as usize == max_faults => {
                    let _ = writeln!(
                        out,
                        "no violation in any plan of ≤ {c} fault(s) of kinds {kinds} ({} runs in {count} shards)",
                        crate::check::group(total("runs"))
                    );
                }
                (None, covered) => {
                    let why = if stopped.is_empty() {
                        String::new()
                    } else {
                        format!(", stopped: {}", stopped.join(", "))
                    };
                    let _ = match covered {
                        Some(c) => writeln!(
                            out,
                            "complete for every plan of ≤ {c} fault(s) of kinds {kinds}: no violation; deeper plans only in part{why}"
                        ),
                        None => writeln!(out, "nothing covered completely{why}"),
                    };
                }
            }
        }
    }
    if let Some((_, _, json)) = violation {
        return Err(CliError::Expectation(format!(
            "`{}` breaks \"{}\"",
            json["design"].as_str().unwrap_or(""),
            json["counterexample"]["invariant"]
                .as_str()
                .unwrap_or("an invariant")
        )));
    }
    Ok(())
}
