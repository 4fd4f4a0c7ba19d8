//! `idemlab tui`: the terminal UI on a scenario, or on a sweep's CSV.

use super::*;

pub(super) fn cmd_tui(
    scenario_name: Option<&str>,
    seed: Option<u64>,
    designs: Option<Vec<String>>,
) -> Result<(), CliError> {
    let scenario = match scenario_name {
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
    crate::tui::run(app).map_err(|e| CliError::Io(format!("terminal: {e}")))
}

pub(super) fn cmd_tui_sweep(path: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
    let chart = crate::sweep::chart_from_csv(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    if !io::stdout().is_terminal() {
        return Err(CliError::Input(
            "the TUI needs a terminal; use `idemlab sweep --plot` for an SVG chart".to_string(),
        ));
    }
    let view = crate::tui::sweep_view::SweepView::new(&path.display().to_string(), chart);
    crate::tui::run_sweep(view).map_err(|e| CliError::Io(format!("terminal: {e}")))
}
