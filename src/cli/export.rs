//! `idemlab export`: a scenario's runs for the book's run viewer (see [`crate::export`]).

use super::*;

pub(super) fn cmd_export(
    scenario_name: &str,
    designs: Option<Vec<String>>,
    seed: Option<u64>,
    what_ifs: usize,
    path: &Path,
    out: &mut String,
) -> Result<(), CliError> {
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
    let scenario = load_scenario(scenario_name)?;
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
    write_atomically(path, |w| w.write_all(text.as_bytes()))?;
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
