//! SVG charts of sweep results: one panel per metric, one line per design (the mean across
//! seeds) with a band from the lowest to the highest seed.
//!
//! Written by hand rather than with a plotting library: text in an SVG is the viewer's to
//! render, so no font files or system libraries are needed, and the output is the same bytes on
//! every machine (numbers are printed with fixed decimals).

use std::fmt::Write as _;

/// One design's line: `(x, mean, lowest, highest)` per x value, in x order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The design's name.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// One chart: a metric against the swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// What is plotted, e.g. "duplicate rate".
    pub title: String,
    /// One line per design.
    pub series: Vec<Series>,
}

/// Colours per design, in order (readable on white, distinct in greyscale by dash pattern).
const COLORS: [&str; 6] = [
    "#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b",
];
const DASHES: [&str; 6] = ["", "6,3", "2,2", "8,3,2,3", "4,4", "1,3"];

/// Two panels to a row, 740 pixels in all: a chart is shown at its own size in a book's or a
/// page's column (about 750 pixels), so its 12-pixel text stays 12 pixels.
const PANEL_W: f64 = 370.0;
const PER_ROW: usize = 2;
const PANEL_H: f64 = 260.0;
const MARGIN_L: f64 = 58.0;
/// Room for half of the last x label (`100ms`) right of the axis.
const MARGIN_R: f64 = 24.0;
const MARGIN_T: f64 = 34.0;
const MARGIN_B: f64 = 46.0;

/// `s` with the characters XML gives a meaning escaped, for SVG text and attributes.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tidy label for a tick value.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Draws `panels` two to a row, with `x_label` under each and `x_ticks` (position, label) on the
/// x axis, and a legend. `title` goes on top.
pub fn svg(title: &str, x_label: &str, x_ticks: &[(f64, String)], panels: &[Panel]) -> String {
    let n = panels.len().max(1);
    let columns = n.min(PER_ROW);
    let rows = n.div_ceil(columns);
    let width = PANEL_W * columns as f64;
    let panels_height = PANEL_H * rows as f64;
    let legend = legend_layout(panels, width);
    let legend_rows = legend.last().map_or(1.0, |&(_, row)| row + 1.0);
    let height = panels_height + 30.0 + LEGEND_ROW * (legend_rows + 1.0) + 6.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="18" text-anchor="middle" font-size="14">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    let (x_min, x_max) = bounds(x_ticks.iter().map(|t| t.0));
    for (i, panel) in panels.iter().enumerate() {
        let ox = PANEL_W * (i % columns) as f64;
        let oy = 26.0 + PANEL_H * (i / columns) as f64;
        let (left, right) = (ox + MARGIN_L, ox + PANEL_W - MARGIN_R);
        let (top, bottom) = (oy + MARGIN_T, oy + PANEL_H - MARGIN_B);
        let y_max = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.3))
            .fold(0.0_f64, f64::max);
        let step = nice_step(y_max);
        let y_max = (y_max / step).ceil().max(1.0) * step;
        let sx = |x: f64| {
            if x_max > x_min {
                left + (x - x_min) / (x_max - x_min) * (right - left)
            } else {
                (left + right) / 2.0
            }
        };
        let sy = |y: f64| bottom - y / y_max * (bottom - top);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
            (left + right) / 2.0,
            oy + 20.0,
            escape(&panel.title)
        );
        // Axes, grid and ticks.
        let ticks = (y_max / step).round() as i32;
        for k in 0..=ticks {
            let y = step * f64::from(k);
            let _ = writeln!(
                out,
                r##"<line x1="{left:.1}" y1="{0:.1}" x2="{right:.1}" y2="{0:.1}" stroke="#e0e0e0"/><text x="{1:.1}" y="{2:.1}" text-anchor="end">{3}</text>"##,
                sy(y),
                left - 4.0,
                sy(y) + 4.0,
                tick_label(y)
            );
        }
        // Every tick is drawn; labels are thinned to every k-th when they would touch.
        let label_w = x_ticks
            .iter()
            .map(|t| t.1.chars().count())
            .max()
            .unwrap_or(0) as f64
            * 7.0
            + 8.0;
        let every = ((label_w * x_ticks.len() as f64) / (right - left))
            .ceil()
            .max(1.0) as usize;
        for (k, (x, label)) in x_ticks.iter().enumerate() {
            let label = if k % every == 0 {
                escape(label)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                r##"<line x1="{0:.1}" y1="{bottom:.1}" x2="{0:.1}" y2="{1:.1}" stroke="#444"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"##,
                sx(*x),
                bottom + 4.0,
                bottom + 16.0,
                label
            );
        }
        let _ = writeln!(
            out,
            r##"<polyline points="{left:.1},{top:.1} {left:.1},{bottom:.1} {right:.1},{bottom:.1}" fill="none" stroke="#444"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (left + right) / 2.0,
            bottom + 32.0,
            escape(x_label)
        );
        for (j, s) in panel.series.iter().enumerate() {
            let color = COLORS[j % COLORS.len()];
            if s.points.len() > 1 {
                let upper: Vec<String> = s
                    .points
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.3)))
                    .collect();
                let lower: Vec<String> = s
                    .points
                    .iter()
                    .rev()
                    .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.2)))
                    .collect();
                let _ = writeln!(
                    out,
                    r#"<polygon points="{} {}" fill="{color}" fill-opacity="0.12" stroke="none"/>"#,
                    upper.join(" "),
                    lower.join(" ")
                );
            }
            let line: Vec<String> = s
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
                .collect();
            let dash = DASHES[j % DASHES.len()];
            let dash = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                line.join(" ")
            );
            for p in &s.points {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"#,
                    sx(p.0),
                    sy(p.1)
                );
            }
        }
    }
    // The legend, once, under the panels, wrapped to as many rows as it needs; then the key to
    // lines and bands on a row of its own.
    let names = panels
        .first()
        .map_or(&[][..], |p| &p.series[..])
        .iter()
        .map(|s| s.name.as_str());
    let top = panels_height + 30.0 + 6.0;
    let mut y = top;
    for (j, (name, &(x, row))) in names.zip(&legend).enumerate() {
        y = top + LEGEND_ROW * row;
        let color = COLORS[j % COLORS.len()];
        let dash = DASHES[j % DASHES.len()];
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 18.0,
            x + 22.0,
            y + 4.0,
            escape(name)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666">line: the mean of its runs · band: their lowest to highest</text>"##,
        width - 10.0,
        y + LEGEND_ROW + 4.0
    );
    out.push_str("</svg>\n");
    out
}

/// The height of one row of the legend.
const LEGEND_ROW: f64 = 18.0;

/// Where each legend entry goes, wrapping at `width`: its x and its row (from 0).
fn legend_layout(panels: &[Panel], width: f64) -> Vec<(f64, f64)> {
    let mut layout = Vec::new();
    let (mut x, mut row) = (20.0, 0.0);
    for s in panels.first().map_or(&[][..], |p| &p.series[..]) {
        let entry_w = 30.0 + 7.5 * s.name.chars().count() as f64;
        if x > 20.0 && x + entry_w > width - 10.0 {
            x = 20.0;
            row += 1.0;
        }
        layout.push((x, row));
        x += entry_w;
    }
    layout
}

/// A step of 1, 2, 2.5 or 5 × 10^k that cuts `0..=max` into four to eight parts.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 0.25;
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| max / s <= 8.0)
        .unwrap_or(10.0 * magnitude)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series_and_escapes_text() {
        let panel = Panel {
            title: "duplicate rate".into(),
            series: vec![
                Series {
                    name: "a<b".into(),
                    points: vec![(0.0, 0.1, 0.0, 0.2), (1.0, 0.3, 0.2, 0.4)],
                },
                Series {
                    name: "c".into(),
                    points: vec![(0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0)],
                },
            ],
        };
        let text = svg("t", "x", &[(0.0, "0".into()), (1.0, "1".into())], &[panel]);
        assert!(text.starts_with("<svg"));
        assert!(text.trim_end().ends_with("</svg>"));
        assert_eq!(text.matches("<polyline points=").count(), 1 + 2);
        assert!(text.contains("a&lt;b"));
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(150.0), "150");
        assert_eq!(nice_step(1.31), 0.2);
        assert_eq!(nice_step(190.0), 25.0);
        assert_eq!(nice_step(0.0), 0.25);
    }
}
