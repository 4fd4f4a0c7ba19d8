//! `idemlab list`: the designs and the bundled scenarios.

use super::*;

pub(super) fn cmd_list(out: &mut String) {
    let _ = writeln!(
        out,
        "designs (# is the row of the catalog table in the domain reference; then the family):"
    );
    let entries = handlers::entries();
    let width = entries.iter().map(|d| d.name.len()).max().unwrap_or(0);
    let family_width = entries
        .iter()
        .map(|d| d.family.name().len())
        .max()
        .unwrap_or(0);
    for d in entries {
        let row = d.row.map(|r| format!("#{r}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {row:>3}  {:<width$}  {:<family_width$}  {}",
            d.name,
            d.family.name(),
            d.summary
        );
        for o in d.options {
            let _ = writeln!(
                out,
                "       {:<width$}  {:<family_width$}  option {}: {}",
                "", "", o.name, o.help
            );
        }
    }
    let own = handlers::own_names();
    if !own.is_empty() {
        let _ = writeln!(
            out,
            "\nyour designs (registered by `idemlab::cli::main_with`):"
        );
        for name in own {
            let summary = handlers::own(&name)
                .map(|d| d.summary().to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "       {name:<width$}  {summary}");
        }
    }
    let _ = writeln!(
        out,
        "\nbundled scenarios (run with `idemlab compare NAME`):"
    );
    let width = scenario::BUNDLED
        .iter()
        .map(|(f, _)| f.len() - 5)
        .max()
        .unwrap_or(0);
    for (file, text) in scenario::BUNDLED {
        let _ = writeln!(
            out,
            "  {:<width$}  {}",
            file.trim_end_matches(".toml"),
            scenario::headline(text)
        );
    }
}
