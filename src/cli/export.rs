//! `idemlab export`: a scenario's runs for the book's run viewer (see [`crate::export`]).

use super::*;

/// The arguments of `idemlab export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A scenario file, or the name of a bundled scenario.
    pub scenario: String,
    /// Comma-separated design names (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub designs: Option<Vec<String>>,
    /// The seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// At most this many what-if runs per design (the scenario's own faults undone first,
    /// then in the order of the events).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub what_ifs: usize,
    /// Where to write: `FILE.json`, or `FILE.js` for a script that registers the run in
    /// `window.IDEMLAB_RUNS` under the scenario's name (pages opened from `file://` cannot
    /// fetch JSON, but can load a script).
    #[arg(long, value_name = "FILE.json|FILE.js")]
    pub out: PathBuf,
}

pub(super) fn cmd_export(args: ExportArgs, out: &mut String) -> Result<(), CliError> {
    let ExportArgs {
        scenario: scenario_name,
        designs,
        seed,
        what_ifs,
        out: path,
    } = args;
    let as_script = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => false,
        Some("js") => true,
        _ => {
            return Err(CliError::Input(format!(
                "--out {}: expected a file ending in .json (the export) or .js (the export as a script for pages opened from file://)",
                path.display()
            )));
        }
    };
    let scenario = load_scenario(&scenario_name)?;
    let designs = resolve_designs(&scenario, designs.as_deref())?;
    let seed = seed.unwrap_or(scenario.seed);
    let export = crate::export::export(&scenario, &designs, seed, what_ifs);
    let metrics: Vec<Metrics> = export
        .designs
        .iter()
        .map(|d| d.run.metrics.clone())
        .collect();
    ensure_complete(&metrics)?;
    // Compact: the viewer reads it, and a 10,000-event run stays a few megabytes.
    let json = serde_json::to_string(&export)
        .map_err(|e| CliError::Io(format!("cannot encode JSON: {e}")))?;
    let text = if as_script {
        let key = serde_json::to_string(&scenario.name)
            .map_err(|e| CliError::Io(format!("cannot encode JSON: {e}")))?;
        format!(
            "// Written by `idemlab export`; schema_version {}.\n(window.IDEMLAB_RUNS = window.IDEMLAB_RUNS || {{}})[{key}] = {json};\n",
            crate::export::SCHEMA_VERSION
        )
    } else {
        format!("{json}\n")
    };
    write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
    let runs: usize = export.designs.iter().map(|d| 1 + d.what_ifs.len()).sum();
    let left_out: usize = export.designs.iter().map(|d| d.what_ifs_left_out).sum();
    let _ = write!(
        out,
        "wrote {}: {} · {} designs · {runs} runs ({} what-ifs",
        path.display(),
        scenario.name,
        export.designs.len(),
        runs - export.designs.len()
    );
    if left_out > 0 {
        let _ = write!(out, ", {left_out} left out by --what-ifs {what_ifs}");
    }
    let _ = writeln!(out, ") · {} bytes", text.len());
    Ok(())
}
