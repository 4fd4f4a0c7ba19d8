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
    /// The most the file may hold (`64MB`, `500KB`, `1GB`, or bytes): what-ifs that would
    /// pass it are left out, and the designs' runs alone passing it are an error.
    #[arg(long, default_value = "64MB", value_name = "SIZE")]
    pub max_size: String,
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
        max_size,
        out: path,
    } = args;
    let max_bytes = parse_size(&max_size)
        .map_err(|e| CliError::Input(format!("--max-size {max_size}: {e}")))?;
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
    // Ctrl-C, SIGTERM and SIGHUP stop the runs within one and leave no file behind, not even
    // the temporary (the default action would kill the process in the middle of writing it).
    let signals = watch_ctrl_c();
    let limits = crate::export::Limits {
        what_ifs,
        max_bytes,
    };
    let export = match crate::export::export(&scenario, &designs, seed, limits, &signals.any) {
        Ok(export) => export,
        Err(crate::export::ExportError::Stopped) => {
            return Err(stopped_by_signal(format!(
                "interrupted: {} not written",
                path.display()
            )));
        }
        Err(crate::export::ExportError::TooLarge { bytes, max_bytes }) => {
            return Err(CliError::Input(format!(
                "the designs' runs alone are {} of JSON, more than --max-size {max_size} ({} bytes): export fewer designs (--designs) or a smaller scenario, or raise --max-size",
                size_words(bytes),
                max_bytes
            )));
        }
    };
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
    if text.len() as u64 > max_bytes {
        return Err(CliError::Input(format!(
            "the export is {} of JSON, more than --max-size {max_size}: export fewer designs (--designs) or a smaller scenario, or raise --max-size",
            size_words(text.len() as u64)
        )));
    }
    let written = write_atomically(&path, |w| {
        w.write_all(text.as_bytes())?;
        // A signal while the file was written: the temporary goes, the old file stays.
        if signals.raised() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        Ok(())
    });
    if signals.raised() {
        return Err(stopped_by_signal(format!(
            "interrupted: {} not written",
            path.display()
        )));
    }
    written?;
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
        let _ = write!(
            out,
            ", {left_out} left out by --what-ifs {what_ifs} and --max-size {max_size}"
        );
    }
    let _ = writeln!(out, ") · {} bytes", text.len());
    Ok(())
}

/// `64MB`, `500KB`, `1GB` (powers of 1,000) or a number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a size such as 64MB, 500KB, 1GB or a number of bytes".to_string())?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => return Err(format!("unknown unit `{other}`: expected B, KB, MB or GB")),
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| "too large a size".to_string())?;
    if bytes == 0 {
        return Err("must be more than 0".to_string());
    }
    Ok(bytes)
}

/// `12.3 MB`.
fn size_words(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}
