//! `idemlab matrix`: every design against the seven fault classes.

use super::*;

pub(super) fn cmd_matrix(
    format: MatrixFormat,
    designs: Option<Vec<String>>,
    path: Option<PathBuf>,
    out: &mut String,
) -> Result<(), CliError> {
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
