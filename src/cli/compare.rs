//! `idemlab compare`: several designs through one scenario, seed and fault plan.

use super::*;

/// The arguments of `idemlab compare` (and a bare `idemlab` when stdout is not a terminal).
#[derive(clap::Args, Debug, Default)]
pub struct CompareArgs {
    /// A scenario file, or the name of a bundled scenario (default: the built-in default).
    pub scenario: Option<String>,
    /// Comma-separated design names (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub designs: Option<Vec<String>>,
    /// The seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub format: CompareFormat,
    /// Also run twice more, in this process and in a child process, and check that the
    /// traces are identical.
    #[arg(long)]
    pub check_determinism: bool,
}

/// How `compare` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// An aligned table, the ideal first.
    #[default]
    Text,
    /// One JSON object with `scenario`, `seed`, `ideal` and `designs`.
    Json,
    /// One CSV row per design, with a header.
    Csv,
}

pub(super) fn cmd_compare(args: CompareArgs, out: &mut String) -> Result<(), CliError> {
    let CompareArgs {
        scenario: scenario_name,
        designs,
        seed,
        format,
        check_determinism,
    } = args;
    if check_determinism {
        let name = scenario_name.as_deref().unwrap_or("default");
        let s = load_scenario(name)?;
        let d = designs.clone().unwrap_or_else(|| s.designs.clone());
        self_check(name, &s, &d, seed.unwrap_or(s.seed), out)?;
    }
    let scenario = match &scenario_name {
        Some(name) => load_scenario(name)?,
        None => scenario::default_scenario(),
    };
    let designs = resolve_designs(&scenario, designs.as_deref())?;
    let seed = seed.unwrap_or(scenario.seed);
    let result = crate::compare::compare(&scenario, &designs, seed, &FaultPlan::default());
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
