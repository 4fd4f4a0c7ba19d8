//! `--check-determinism`: the same runs twice in this process and once in a child, compared by trace hash.

use super::*;

/// The arguments of the hidden `idemlab internal-hashes`, which `--check-determinism` runs in a child.
#[derive(clap::Args, Debug)]
pub struct InternalHashesArgs {
    /// The scenario.
    pub scenario: String,
    /// Comma-separated design names.
    #[arg(long, value_delimiter = ',')]
    pub designs: Vec<String>,
    /// The first seed.
    #[arg(long)]
    pub from: u64,
    /// One past the last seed.
    #[arg(long)]
    pub to: u64,
}

/// Runs `designs` through `scenario` twice here and once in a child process; any difference in
/// the traces is an error that names the first differing event.
pub(super) fn self_check(
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
pub(super) fn run_child<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
) -> Result<std::process::Output, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Io(format!("cannot find this executable to re-run it: {e}")))?;
    std::process::Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| CliError::Io(format!("cannot start the child process: {e}")))
}

/// Runs this executable with `args` and returns its stdout; a failure is an error.
pub(super) fn child_output(args: &[&str]) -> Result<String, CliError> {
    let output = run_child(args)?;
    if !output.status.success() {
        return Err(CliError::Io(format!(
            "the child process failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `internal-hashes`: one `seed design hash` line per run of the seed range, for a parent's
/// `--check-determinism` to compare with its own.
pub(super) fn cmd_internal_hashes(
    args: InternalHashesArgs,
    out: &mut String,
) -> Result<(), CliError> {
    let s = load_scenario(&args.scenario)?;
    for line in crate::determinism::hashes(&s, &args.designs, args.from..args.to) {
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}
