//! The reports `run` and `compare` print: the aligned table, the comparison, the CSV.

use super::*;

pub(super) fn render_comparison(out: &mut String, scenario: &Scenario, result: &Comparison) {
    render_comparison_with(out, scenario, result, false);
}

/// [`render_comparison`]; with `live`, the ideal's charge is shown even when no run charged:
/// a live service that charged nothing must be seen against what it should have charged.
pub(super) fn render_comparison_with(
    out: &mut String,
    scenario: &Scenario,
    result: &Comparison,
    live: bool,
) {
    let _ = writeln!(
        out,
        "scenario {} · seed {} · {} operations",
        scenario.name, result.seed, scenario.workload.ops
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "{}", scenario.description);
    }
    out.push('\n');
    render_table(out, &result.ideal, &result.metrics, live);
    out.push('\n');
    let width = result
        .metrics
        .iter()
        .map(|m| m.design.len())
        .max()
        .unwrap_or(0)
        .max(16);
    for m in &result.metrics {
        let mut verdict = match (&m.stopped, m.first_divergence_us) {
            // A run cut short by a budget proves nothing about exactly-once.
            (Some(why), _) => format!("STOPPED, not judged: {why}"),
            (None, None) => "exactly once".to_string(),
            (None, Some(t)) => format!("diverged from exactly-once at {}", crate::time::SimTime(t)),
        };
        // Its own category, not a failure: idempotent by RFC 9110, but the client must expect it.
        if m.different_response > 0 {
            let _ = write!(
                verdict,
                " · same effect, different response ×{}",
                m.different_response
            );
        }
        if m.failed > 0 {
            let _ = write!(verdict, " · told failed ×{}", m.failed);
        }
        if m.false_failures > 0 {
            let _ = write!(verdict, " · told failed yet applied ×{}", m.false_failures);
        }
        if m.unserved > 0 {
            let _ = write!(
                verdict,
                " · never served ×{} (the server kept answering \"try again\")",
                m.unserved
            );
        }
        if m.dead_lettered > 0 {
            let _ = write!(verdict, " · dead-lettered ×{}", m.dead_lettered);
        }
        if m.stuck > 0 {
            let _ = write!(verdict, " · keys stuck in progress ×{}", m.stuck);
        }
        // What the matrix marks `~`: the client was told to act (409 conflict, 412).
        let act: Vec<String> = ["409", "412"]
            .iter()
            .filter_map(|code| m.statuses.get(*code).map(|n| format!("{code}×{n}")))
            .collect();
        if !act.is_empty() {
            let _ = write!(verdict, " · the client must act on {}", act.join(" "));
        }
        let _ = writeln!(out, "{:<width$} {verdict}", m.design);
    }
}

pub(super) fn ms(us: u64) -> String {
    SimDuration(us).to_string()
}

pub(super) fn render_table(
    out: &mut String,
    ideal: &oracle::Ideal,
    metrics: &[Metrics],
    show_ideal_charge: bool,
) {
    let header = [
        "design",
        "ops",
        "attempts",
        "effects",
        "dup",
        "lost",
        "in-doubt",
        "inconsistent",
        "charged",
        "p50",
        "p99",
        "statuses",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    // A design that never calls the provider charges nothing by design: `–`, not money lost;
    // and when no design here calls it, neither does the ideal.
    let any_charges = show_ideal_charge || metrics.iter().any(Metrics::charges);
    rows.push(vec![
        "(ideal)".into(),
        ideal.ops.to_string(),
        "-".into(),
        ideal.effects.to_string(),
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        if any_charges {
            ideal.charged.to_string()
        } else {
            "–".to_string()
        },
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    for m in metrics {
        rows.push(vec![
            if m.stopped.is_some() {
                format!("{} (stopped)", m.design)
            } else {
                m.design.clone()
            },
            m.ops.to_string(),
            m.attempts.to_string(),
            m.effects.to_string(),
            m.duplicates.to_string(),
            m.lost.to_string(),
            m.in_doubt.to_string(),
            m.inconsistent.to_string(),
            if m.charges() {
                m.charged.to_string()
            } else {
                "–".to_string()
            },
            ms(m.latency_p50_us),
            ms(m.latency_p99_us),
            statuses(m),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 || c == header.len() - 1 {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:>w$}  ", w = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

pub(super) fn statuses(m: &Metrics) -> String {
    let parts: Vec<String> = m
        .statuses
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

pub(super) fn render_csv(out: &mut String, result: &Comparison) -> Result<(), CliError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["scenario", "seed", "design"];
    header.extend(oracle::METRIC_NAMES);
    header.extend(["first_divergence_us", "statuses", "stopped"]);
    let err = |e: csv::Error| CliError::Io(format!("cannot encode CSV: {e}"));
    w.write_record(&header).map_err(err)?;
    for m in &result.metrics {
        let mut row = vec![
            result.scenario.clone(),
            result.seed.to_string(),
            m.design.clone(),
        ];
        row.extend(
            oracle::METRIC_NAMES
                .iter()
                .map(|n| m.get(n).unwrap_or(0).to_string()),
        );
        row.push(
            m.first_divergence_us
                .map(|t| t.to_string())
                .unwrap_or_default(),
        );
        row.push(
            m.statuses
                .iter()
                .map(|(c, n)| format!("{c}:{n}"))
                .collect::<Vec<_>>()
                .join(";"),
        );
        row.push(m.stopped.clone().unwrap_or_default());
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Io(format!("cannot encode CSV: {e}")))?;
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok(())
}
