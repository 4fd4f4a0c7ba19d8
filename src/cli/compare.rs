//! `idemlab compare`: several designs through one scenario, seed and fault plan.

use super::*;

pub(super) fn cmd_compare(
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
