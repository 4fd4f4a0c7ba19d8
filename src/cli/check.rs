//! `idemlab check`: generated fault plans against one design, the counterexample shrunk and told.

use super::*;

/// The arguments of `idemlab check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A scenario file, or the name of a bundled scenario; its `[[faults]]` are replaced by
    /// the generated plans.
    pub scenario: String,
    /// The design to check.
    #[arg(long)]
    pub design: String,
    /// How many generated plans to try.
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// The most faults in one generated plan.
    #[arg(long, default_value_t = 3)]
    pub max_faults: usize,
    /// The seed of the plan generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these kinds of fault: drop, duplicate, delay, crash (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub faults: Option<Vec<String>>,
    /// Write the counterexample as a scenario file that replays it.
    #[arg(long, value_name = "FILE.toml")]
    pub out: Option<PathBuf>,
    /// Also check again, in this process and in a child process, and check that the
    /// result is identical.
    #[arg(long)]
    pub check_determinism: bool,
}

pub(super) fn write_counterexample(
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

pub(super) fn fault_kinds(
    names: Option<Vec<String>>,
) -> Result<Vec<crate::check::FaultKind>, CliError> {
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
pub(super) fn kind_names(kinds: &[crate::check::FaultKind]) -> String {
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
pub(super) fn cmd_check(args: CheckArgs, out: &mut String) -> Result<(), CliError> {
    let kinds = fault_kinds(args.faults.clone())?;
    if args.check_determinism {
        // A name or file that is wrong is said first, not after three searches that fail alike.
        scenario_design(&load_scenario(&args.scenario)?, &args.design)?;
        check_self_check(&args, &kinds)?;
    }
    check_once(&args, &kinds, args.out.clone(), out)
}

/// One search of `check`, its report in `out`; `path` is where a counterexample goes.
fn check_once(
    args: &CheckArgs,
    kinds: &[crate::check::FaultKind],
    path: Option<PathBuf>,
    out: &mut String,
) -> Result<(), CliError> {
    let CheckArgs {
        scenario: scenario_name,
        design: design_name,
        cases,
        max_faults,
        seed,
        ..
    } = args;
    let (cases, max_faults, seed) = (*cases, *max_faults, *seed);
    let scenario = load_scenario(scenario_name)?;
    let design = scenario_design(&scenario, design_name)?;
    if max_faults > 16 {
        return Err(CliError::Input(format!(
            "--max-faults must be at most 16, got {max_faults}"
        )));
    }
    let signals = watch_ctrl_c();
    let progress = progress_line("checked", None);
    let report = crate::check::Checker::new(&scenario, design.as_ref())
        .cases(cases)
        .max_faults(max_faults)
        .seed(seed)
        .fault_kinds(kinds)
        .stop_when(&signals.any)
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
        None if report.complete => {
            let _ = writeln!(
                out,
                "no violation: `{design_name}` held every invariant in {} runs of {} ({} generated plans of at most {max_faults} faults of kinds {}, seed {seed})",
                report.plans,
                scenario.name,
                cases,
                kind_names(kinds),
            );
            Ok(())
        }
        None => {
            let _ = writeln!(
                out,
                "no violation in the {} runs made before {} stopped the search (of {} generated plans asked for)",
                report.plans,
                signals.name().unwrap_or("a signal"),
                cases
            );
            Err(stopped_by_signal(
                "interrupted: the search did not finish".to_string(),
            ))
        }
    }
}

/// `check --check-determinism`: the same search twice here and once in a child gives the same
/// report, byte for byte.
fn check_self_check(args: &CheckArgs, kinds: &[crate::check::FaultKind]) -> Result<(), CliError> {
    let once = || -> Result<String, CliError> {
        let mut text = String::new();
        let _ = check_once(args, kinds, None, &mut text);
        Ok(text)
    };
    let (first, second) = (once()?, once()?);
    let mut child_args = vec![
        "check".to_string(),
        args.scenario.clone(),
        "--design".into(),
        args.design.clone(),
        "--cases".into(),
        args.cases.to_string(),
        "--max-faults".into(),
        args.max_faults.to_string(),
        "--seed".into(),
        args.seed.to_string(),
    ];
    if !kinds.is_empty() {
        child_args.push("--faults".into());
        child_args.push(kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","));
    }
    // `check` exits 1 when it finds a violation: the output is what counts here.
    let child = run_child(&child_args)?;
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
