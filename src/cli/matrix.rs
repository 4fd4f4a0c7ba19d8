//! `idemlab matrix`: every design against the seven fault classes.

use super::*;

/// The arguments of `idemlab matrix`.
#[derive(clap::Args, Debug)]
pub struct MatrixArgs {
    /// text (a table), csv (one row per cell) or json (a stable contract).
    #[arg(long, value_enum, default_value_t = MatrixFormat::Text)]
    pub format: MatrixFormat,
    /// Comma-separated design names (default: every design).
    #[arg(long, value_delimiter = ',')]
    pub designs: Option<Vec<String>>,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Output formats of `matrix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// The table with ✓ ~ ✗ —, then the sequence behind each cell that is not ok.
    Text,
    /// One row per cell.
    Csv,
    /// `{ "classes": [...], "rows": [{ "design", "cells": {...}, "broken_by": {...} }] }`.
    Json,
}

pub(super) fn cmd_matrix(args: MatrixArgs, out: &mut String) -> Result<(), CliError> {
    let MatrixArgs {
        format,
        designs,
        out: path,
    } = args;
    let entries: Vec<&handlers::Entry> = match designs {
        None => handlers::entries().iter().collect(),
        Some(names) => names
            .iter()
            .map(|n| handlers::entry(n).map_err(|e| CliError::Input(e.to_string())))
            .collect::<Result<_, _>>()?,
    };
    let matrix = crate::matrix::run(&entries);
    let text = match format {
        MatrixFormat::Text => matrix.to_text(),
        MatrixFormat::Csv => matrix.to_csv(),
        MatrixFormat::Json => matrix.to_json(),
    };
    match path {
        None => out.push_str(&text),
        Some(path) => {
            write_atomically(&path, |w| w.write_all(text.as_bytes()))?;
            let _ = writeln!(out, "wrote {}", path.display());
        }
    }
    Ok(())
}
