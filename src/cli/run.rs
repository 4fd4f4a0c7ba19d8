//! `idemlab run`: one design's run, event by event, its trace as CSV or its sequence diagram.

use super::*;

/// The most events a sequence diagram draws; a longer run is cut, and the SVG says so.
pub(super) const SVG_MAX_EVENTS: usize = 400;

pub(super) fn cmd_run(
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
            render_table(out, &ideal, std::slice::from_ref(&metrics), false);
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
