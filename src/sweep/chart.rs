//! The charts of a sweep: duplicate rate, in-doubt rate and p99 latency against the first
//! parameter, a line per design (and per combination of the other parameters when that makes
//! at most [`MAX_LINES`]), with a band across seeds. `plot::svg` and the TUI draw them.

use std::collections::BTreeMap;

use super::*;

/// The x position of a parameter value: the number, a duration in milliseconds, or else its
/// place in the list.
pub(super) fn x_of(value: &str, index: usize) -> f64 {
    if let Ok(v) = value.parse::<f64>() {
        return v;
    }
    if let Ok(d) = parse_duration(value) {
        return d.as_millis_f64();
    }
    index as f64
}

/// The chart of a finished sweep against its first parameter: duplicate rate, in-doubt rate and
/// p99 latency, one line per design (the mean over seeds) with a band from the lowest to the
/// highest seed. When other parameters were swept too, each of their combinations gets its own
/// line if that makes at most [`MAX_LINES`] lines; otherwise the lines average over them too,
/// and [`Chart::averaged_over`] names them.
pub fn panels(plan: &SweepPlan, rows: &[(u64, Vec<String>)]) -> Chart {
    chart(&plan.params, &plan.designs, &plan.header(), rows)
}

/// The most lines a chart panel draws before combinations of the other parameters are averaged.
pub const MAX_LINES: usize = 6;

/// A sweep read back from its CSV file, ready to chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The first parameter's path (the x axis).
    pub parameter: String,
    /// The x ticks: position and label.
    pub ticks: Vec<(f64, String)>,
    /// Duplicate rate, in-doubt rate, p99 latency.
    pub panels: Vec<crate::plot::Panel>,
    /// How many rows the file had.
    pub rows: usize,
    /// The other swept parameters the lines average over (empty when each combination has its
    /// own line, or when only one parameter was swept).
    pub averaged_over: Vec<String>,
}

impl Chart {
    /// The chart's subject for a title: the x axis, and what the lines average over.
    pub fn subject(&self) -> String {
        if self.averaged_over.is_empty() {
            self.parameter.clone()
        } else {
            format!(
                "{} (lines average over {})",
                self.parameter,
                self.averaged_over.join(", ")
            )
        }
    }
}

/// Reads a sweep's CSV (as `idemlab sweep` writes it) and charts it against its first parameter.
pub fn chart_from_csv(text: &str) -> Result<Chart, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("not a sweep CSV: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let seed_col = header
        .iter()
        .position(|h| h == "seed")
        .filter(|&i| i > 0 && header.get(i + 1).map(String::as_str) == Some("design"))
        .ok_or("not a sweep CSV: expected parameter columns, then `seed` and `design`")?;
    let mut params: Vec<Param> = header[..seed_col]
        .iter()
        .map(|p| Param {
            path: p.clone(),
            values: Vec::new(),
        })
        .collect();
    let mut designs: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", i + 2))?;
        let row: Vec<String> = record.iter().map(str::to_string).collect();
        if row.len() != header.len() {
            return Err(format!(
                "row {}: {} fields, expected {}",
                i + 2,
                row.len(),
                header.len()
            ));
        }
        for (p, value) in params.iter_mut().zip(&row) {
            if !p.values.contains(value) {
                p.values.push(value.clone());
            }
        }
        if !designs.contains(&row[seed_col + 1]) {
            designs.push(row[seed_col + 1].clone());
        }
        rows.push((i as u64, row));
    }
    if rows.is_empty() {
        return Err("the sweep CSV has no rows".to_string());
    }
    Ok(chart(&params, &designs, &header, &rows))
}

pub(super) fn chart(
    params: &[Param],
    designs: &[String],
    header: &[String],
    rows: &[(u64, Vec<String>)],
) -> Chart {
    let empty = || Chart {
        parameter: params.first().map(|p| p.path.clone()).unwrap_or_default(),
        ticks: Vec::new(),
        panels: Vec::new(),
        rows: rows.len(),
        averaged_over: Vec::new(),
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ops), Some(dups), Some(doubt), Some(p99)) = (
        col("ops"),
        col("duplicates"),
        col("in_doubt"),
        col("latency_p99_us"),
    ) else {
        return empty();
    };
    let Some(first) = params.first() else {
        return empty();
    };
    // The values of the other parameters, one combination per line when they fit.
    // In the order they first appear; a set, not a scan of those seen, for each of a big
    // sweep's rows.
    let combos: Vec<Vec<String>> = {
        let mut seen: BTreeSet<&[String]> = BTreeSet::new();
        let mut combos = Vec::new();
        for (_, r) in rows {
            let combo = r.get(1..params.len()).unwrap_or_default();
            if seen.insert(combo) {
                combos.push(combo.to_vec());
            }
        }
        combos
    };
    let split = combos.len() > 1 && combos.len() * designs.len() <= MAX_LINES;
    let lines: Vec<(String, &String, Option<&Vec<String>>)> = if split {
        designs
            .iter()
            .flat_map(|design| {
                combos.iter().map(move |combo| {
                    let named: Vec<String> = params[1..]
                        .iter()
                        .zip(combo)
                        .map(|(p, v)| format!("{}={v}", short_path(&p.path)))
                        .collect();
                    (
                        format!("{design} · {}", named.join(" ")),
                        design,
                        Some(combo),
                    )
                })
            })
            .collect()
    } else {
        designs.iter().map(|d| (d.clone(), d, None)).collect()
    };
    let averaged_over: Vec<String> = if split || combos.len() <= 1 {
        Vec::new()
    } else {
        params[1..].iter().map(|p| p.path.clone()).collect()
    };
    let ticks: Vec<(f64, String)> = first
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| (x_of(v, i), v.clone()))
        .collect();
    let num = |row: &Vec<String>, c: usize| {
        row.get(c)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let metric = |row: &Vec<String>, which: usize| match which {
        0 => num(row, dups) / num(row, ops).max(1.0),
        1 => num(row, doubt) / num(row, ops).max(1.0),
        _ => num(row, p99) / 1_000.0,
    };
    let titles = [
        "duplicate rate (duplicates / ops)",
        "in-doubt rate (in doubt / ops)",
        "p99 latency (ms)",
    ];
    // One pass over the rows: each adds its three metrics to its line's point. (Scanning every
    // row for every point of every line made `--plot` of a 100,000-run sweep take longer than
    // the sweep.)
    let x_of_value: BTreeMap<&str, usize> = first
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    let line_of: BTreeMap<(&str, Option<&[String]>), usize> = lines
        .iter()
        .enumerate()
        .map(|(i, (_, design, combo))| ((design.as_str(), combo.map(Vec::as_slice)), i))
        .collect();
    let points = first.values.len();
    let mut acc = vec![Acc::default(); titles.len() * lines.len() * points];
    for (_, r) in rows {
        let x = r.first().and_then(|v| x_of_value.get(v.as_str()));
        let design = r.get(params.len() + 1).map(String::as_str);
        let combo = if split { r.get(1..params.len()) } else { None };
        let (Some(&x), Some(design)) = (x, design) else {
            continue;
        };
        let Some(&line) = line_of.get(&(design, combo)) else {
            continue;
        };
        for which in 0..titles.len() {
            acc[(which * lines.len() + line) * points + x].add(metric(r, which));
        }
    }
    let panels = titles
        .iter()
        .enumerate()
        .map(|(which, title)| crate::plot::Panel {
            title: title.to_string(),
            series: lines
                .iter()
                .enumerate()
                .map(|(line, (name, _, _))| crate::plot::Series {
                    name: name.clone(),
                    points: first
                        .values
                        .iter()
                        .enumerate()
                        .filter_map(|(i, value)| {
                            let a = &acc[(which * lines.len() + line) * points + i];
                            (a.n > 0).then(|| (x_of(value, i), a.sum / a.n as f64, a.lo, a.hi))
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Chart {
        parameter: first.path.clone(),
        ticks,
        panels,
        rows: rows.len(),
        averaged_over,
    }
}

/// The runs at one point of one line: their count, sum, lowest and highest.
#[derive(Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    lo: f64,
    hi: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            sum: 0.0,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        }
    }
}

impl Acc {
    fn add(&mut self, y: f64) {
        self.n += 1;
        self.sum += y;
        self.lo = self.lo.min(y);
        self.hi = self.hi.max(y);
    }
}

/// The last part of a parameter's path (`client.retry.timeout` → `timeout`), for line names.
pub(super) fn short_path(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}
