//! `idemlab tui`: the terminal UI on a scenario, or on a sweep's CSV.

use super::*;

/// The arguments of `idemlab tui` (and a bare `idemlab` on a terminal).
#[derive(clap::Args, Debug, Default)]
pub struct TuiArgs {
    /// A scenario file, or the name of a bundled scenario (default: the built-in default).
    pub scenario: Option<String>,
    /// The seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Comma-separated design names (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub designs: Option<Vec<String>>,
    /// Show the chart of a sweep's results (a CSV from `idemlab sweep`) instead.
    #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["scenario", "seed", "designs"])]
    pub sweep: Option<PathBuf>,
}

pub(super) fn cmd_tui(args: TuiArgs) -> Result<(), CliError> {
    let TuiArgs {
        scenario: scenario_name,
        seed,
        designs,
        sweep,
    } = args;
    if let Some(path) = sweep {
        return cmd_tui_sweep(&path);
    }
    let scenario = match scenario_name.as_deref() {
        Some(name) => load_scenario(name)?,
        None => scenario::default_scenario(),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let app = crate::tui::app::App::new(scenario, seed, designs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    if !io::stdout().is_terminal() {
        return Err(CliError::Input(
            "the TUI needs a terminal; use `idemlab compare` for a report".to_string(),
        ));
    }
    crate::tui::run(app).map_err(|e| CliError::Io(format!("terminal: {e}")))?;
    closed_by_signal()
}

/// After the TUI: a signal that closed it is the exit code (143, 129, 130), not 0.
fn closed_by_signal() -> Result<(), CliError> {
    match crate::signals::watch().name() {
        Some(name) => Err(stopped_by_signal(format!("the TUI was closed by {name}"))),
        None => Ok(()),
    }
}

fn cmd_tui_sweep(path: &Path) -> Result<(), CliError> {
    let bytes = read_file(path, "sweep CSV", SWEEP_CSV_BYTES_MAX)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::Input(format!(
            "{} is not UTF-8 text: not a sweep CSV",
            path.display()
        ))
    })?;
    let chart = crate::sweep::chart_from_csv(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    if !io::stdout().is_terminal() {
        return Err(CliError::Input(
            "the TUI needs a terminal; use `idemlab sweep --plot` for an SVG chart".to_string(),
        ));
    }
    let view = crate::tui::sweep_view::SweepView::new(&path.display().to_string(), chart);
    crate::tui::run_sweep(view).map_err(|e| CliError::Io(format!("terminal: {e}")))?;
    closed_by_signal()
}
