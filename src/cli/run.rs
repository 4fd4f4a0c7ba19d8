//! `idemlab run`: one design's run, event by event, its trace as CSV or its sequence diagram.

use super::*;

/// The arguments of `idemlab run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A scenario file, or the name of a bundled scenario (see `idemlab list`).
    pub scenario: String,
    /// The design to run (default: the scenario's first).
    #[arg(long)]
    pub design: Option<String>,
    /// The seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the trace as CSV to this file.
    #[arg(long, value_name = "FILE.csv")]
    pub trace: Option<PathBuf>,
    /// Also draw the run as a sequence diagram (SVG) in this file.
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
    /// Also run twice more, in this process and in a child process, and check that the
    /// traces are identical.
    #[arg(long)]
    pub check_determinism: bool,
}

/// Output formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// The trace as a readable log, then the metrics.
    Text,
    /// One JSON object: the design's metrics plus `scenario` and `seed`.
    Json,
}

/// The most events a sequence diagram draws; a longer run is cut, and the SVG says so.
pub(super) const SVG_MAX_EVENTS: usize = 400;

pub(super) fn cmd_run(args: RunArgs, out: &mut String) -> Result<(), CliError> {
    let scenario = load_scenario(&args.scenario)?;
    let design_name = args.design.unwrap_or_else(|| scenario.designs[0].clone());
    let seed = args.seed.unwrap_or(scenario.seed);
    if args.check_determinism {
        self_check(
            &args.scenario,
            &scenario,
            std::slice::from_ref(&design_name),
            seed,
            out,
        )?;
    }
    let design = scenario_design(&scenario, &design_name)?;
    let run = world::run(&scenario, design.as_ref(), seed, &FaultPlan::default());
    let metrics = oracle::measure(&run);
    if let Some(path) = &args.trace {
        write_atomically(path, |w| {
            trace::write_csv(&run.trace, w).map_err(|e| io::Error::other(e.to_string()))
        })?;
    }
    if let Some(path) = &args.svg {
        let title = format!("{} · {} · seed {seed}", scenario.name, design.name());
        let text = crate::diagram::sequence_svg(&run, &scenario, &title, SVG_MAX_EVENTS);
        write_atomically(path, |w| w.write_all(text.as_bytes()))?;
    }
    match args.format {
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
    if let Some(path) = args.trace {
        eprintln!("trace written to {}", path.display());
    }
    ensure_complete(std::slice::from_ref(&metrics))?;
    expectations(oracle::check_expectations(&scenario, &metrics))
}
