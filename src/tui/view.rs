//! What the TUI draws: a pure function of the [`App`]. Every mark has a symbol as well as a
//! colour, so the screen reads without colour too.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};

use super::app::{App, Overlay, SPEEDS};
use super::overlays::*;
use super::style::{PALETTE, marker_of, stats_spans};
use crate::time::SimTime;

/// The smallest terminal the TUI draws its screen in.
pub const MIN_WIDTH: u16 = 60;
/// The smallest terminal height the TUI draws its screen in.
pub const MIN_HEIGHT: u16 = 20;

/// How the screen is divided, chosen by its size.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    /// Under 100 columns: the diagram across the width, the designs as a table under it beside
    /// the chart; the log too from 36 rows.
    Narrow,
    /// The focused design's diagram beside the designs' panels, the chart beside the log.
    Standard,
    /// Wide enough for several diagrams: these designs side by side, the chart beside the log.
    SideBySide(Vec<usize>),
}

/// A design's column in a side-by-side diagram needs its lanes and a label of 18 characters.
fn shape(app: &App, area: Rect) -> Shape {
    let width = usize::from(area.width);
    if width < 100 {
        return Shape::Narrow;
    }
    let lanes = super::diagram::Lanes::new(app);
    let scale = super::diagram::TimeScale::for_end(app.end_us());
    let column = lanes.natural_width() + 1 + 18;
    let room = width.saturating_sub(2 + 1 + scale.width() + 2);
    let fit = (room + 1) / (column + 1);
    let n = app.views.len();
    if width < 150 || n < 2 || fit < 2 {
        return Shape::Standard;
    }
    let k = fit.min(n);
    // A window of `k` designs that holds the focused one.
    let first = (app.focus + 1).saturating_sub(k).min(n - k);
    Shape::SideBySide((first..first + k).collect())
}

/// Draws the whole screen.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let bottom_height = if area.height >= 28 { 9 } else { 7 };
    match shape(app, area) {
        Shape::Narrow => {
            let rows = Table::new(app);
            let table_height = rows.height().max(5);
            let with_log = area.height >= 36;
            let [header, main, bottom, log, footer] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Min(6),
                Constraint::Length(table_height),
                Constraint::Length(if with_log { 7 } else { 0 }),
                Constraint::Length(1),
            ])
            .areas(area);
            let table_width = rows.width().min(area.width);
            let chart_room = area.width - table_width;
            let [table, chart] = if chart_room >= 20 {
                Layout::horizontal([Constraint::Length(table_width), Constraint::Min(20)])
                    .areas(bottom)
            } else {
                Layout::horizontal([Constraint::Min(0), Constraint::Length(0)]).areas(bottom)
            };
            render_header(app, frame, header);
            super::diagram::render(app, frame, main, &[app.focus]);
            render_table(rows, frame, table);
            if chart.width > 0 {
                render_chart(app, frame, chart);
            }
            if with_log {
                render_log(app, frame, log);
            }
            render_footer(app, frame, footer);
        }
        shape => {
            let [header, main, bottom, footer] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Min(8),
                Constraint::Length(bottom_height),
                Constraint::Length(1),
            ])
            .areas(area);
            let chart_share = if shape == Shape::Standard { 45 } else { 40 };
            let [chart, log] = Layout::horizontal([
                Constraint::Percentage(chart_share),
                Constraint::Percentage(100 - chart_share),
            ])
            .areas(bottom);
            render_header(app, frame, header);
            match shape {
                Shape::SideBySide(shown) => super::diagram::render(app, frame, main, &shown),
                _ => {
                    let [diagram, panels] =
                        Layout::horizontal([Constraint::Min(40), Constraint::Length(36)])
                            .areas(main);
                    super::diagram::render(app, frame, diagram, &[app.focus]);
                    render_panels(app, frame, panels);
                }
            }
            render_chart(app, frame, chart);
            render_log(app, frame, log);
            render_footer(app, frame, footer);
        }
    }
    match &app.overlay {
        Some(Overlay::Help) => render_help(frame, area),
        Some(Overlay::Faults { field }) => render_faults(app, *field, frame, area),
        Some(Overlay::Designs { row, ticked }) => render_designs(*row, ticked, frame, area),
        Some(Overlay::Scenarios { row }) => render_scenarios(*row, frame, area),
        Some(Overlay::Filter { typed }) => render_filter(typed, frame, area),
        None => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "{}×{} here; idemlab needs at least {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("enlarge the window, or press q to quit"),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + y, area.width, 3.min(area.height));
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let state = if app.playing {
        "▶ playing"
    } else {
        "‖ paused"
    };
    let scale = super::diagram::TimeScale::for_end(app.end_us());
    let time = format!(
        "{}/{} {}",
        scale.digits(app.now_us()),
        scale.digits(app.end_us()),
        scale.unit()
    );
    let design = app.focused().run.design.clone();
    let position = format!("event {}/{}", app.cursor + 1, app.focused().run.trace.len());
    let speed = format!("{} ev/s", SPEEDS[app.speed]);
    let seed = format!("seed {}", app.seed);
    // The longest header that fits: the speed, then the seed, then the scenario's name go
    // first; the time, the design and the position stay.
    let candidates = [
        vec![app.scenario.name.as_str(), &seed, &time, state, &speed],
        vec![app.scenario.name.as_str(), &seed, &time, state],
        vec![app.scenario.name.as_str(), &time, state],
        vec![&time, state],
    ];
    let width = usize::from(area.width);
    let tail = format!(" · {position}");
    let fixed = " idemlab ".chars().count() + 1 + design.chars().count() + tail.chars().count() + 3;
    let middle = candidates
        .iter()
        .map(|parts| parts.join(" · "))
        .find(|m| m.chars().count() + fixed <= width)
        .unwrap_or_default();
    let line = Line::from(vec![
        Span::styled(" idemlab ", Style::new().add_modifier(Modifier::REVERSED)),
        Span::raw(format!(" {middle} · ")),
        Span::styled(design, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(tail),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let hints = "? help · q quit";
    let width = usize::from(area.width);
    let room = width.saturating_sub(hints.len() + 1);
    let status: String = app.status.chars().take(room).collect();
    let pad = width.saturating_sub(status.chars().count() + hints.len());
    let line = Line::from(vec![
        Span::styled(status, Style::new().fg(Color::Cyan)),
        Span::raw(" ".repeat(pad)),
        Span::styled(hints, Style::new().add_modifier(Modifier::DIM)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn design_name_spans(app: &App, i: usize) -> Vec<Span<'static>> {
    let color = PALETTE[i % PALETTE.len()];
    let focus = if i == app.focus { "▸" } else { " " };
    vec![
        Span::raw(focus),
        Span::styled(format!("{} ", marker_of(i).1), Style::new().fg(color)),
        Span::styled(
            app.views[i].run.design.clone(),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
    ]
}

fn render_panels(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" designs vs exactly-once ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let now = app.now_us();
    let mut lines = Vec::new();
    for i in 0..app.views.len() {
        lines.push(Line::from(design_name_spans(app, i)));
        // Two lines: effects and charged, then the counts.
        let (stats, counts) = stats_spans(app, i, now);
        lines.push(Line::from([vec![Span::raw("  ")], stats].concat()));
        lines.push(Line::from([vec![Span::raw("  ")], counts].concat()));
        if let Some(before) = app.before(i) {
            let b = before.progress_at(now);
            lines.push(Line::styled(
                format!(
                    "  was: dup {} lost {} doubt {} incons {}",
                    b.duplicates, b.lost, b.in_doubt, b.inconsistent
                ),
                Style::new().fg(Color::Magenta),
            ));
        }
    }
    if !lines.is_empty() {
        lines.push(Line::styled(
            "run/ideal · $ –: never charges",
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The designs as a table, one row each (two after a what-if): the narrow screen's panels.
fn table_rows(app: &App) -> Vec<[String; 8]> {
    let now = app.now_us();
    let mut rows = Vec::new();
    for (i, view) in app.views.iter().enumerate() {
        let p = view.progress_at(now);
        let ideal = u64::from(p.started) * app.scenario.workload.amount;
        rows.push([
            format!(
                "{}{} {}",
                if i == app.focus { "▸" } else { " " },
                marker_of(i).1,
                view.run.design
            ),
            format!("{}/{}", p.effects, p.started),
            if view.metrics.charges() {
                format!("{}/{ideal}", p.charged)
            } else {
                "–".to_string()
            },
            p.duplicates.to_string(),
            p.lost.to_string(),
            p.in_doubt.to_string(),
            p.inconsistent.to_string(),
            String::new(),
        ]);
        if let Some(before) = app.before(i) {
            let b = before.progress_at(now);
            rows.push([
                "   was".to_string(),
                format!("{}/{}", b.effects, b.started),
                String::new(),
                b.duplicates.to_string(),
                b.lost.to_string(),
                b.in_doubt.to_string(),
                b.inconsistent.to_string(),
                "was".to_string(),
            ]);
        }
    }
    rows
}

const TABLE_HEAD: [&str; 7] = [
    " design", "effects", "charged", "dup", "lost", "doubt", "incons",
];

/// The narrow screen's table, laid out once a frame: its rows and each column's width.
struct Table {
    rows: Vec<[String; 8]>,
    widths: [usize; 7],
}

impl Table {
    fn new(app: &App) -> Table {
        let rows = table_rows(app);
        let mut widths = TABLE_HEAD.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row.iter()) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // Long design names are cut rather than the counts.
        widths[0] = widths[0].min(22);
        Table { rows, widths }
    }

    /// Columns, a space after each, and the borders.
    fn width(&self) -> u16 {
        let w: usize = self.widths.iter().map(|w| w + 1).sum();
        (w + 2) as u16
    }

    /// Rows, the head and the borders.
    fn height(&self) -> u16 {
        self.rows.len() as u16 + 3
    }
}

fn render_table(table: Table, frame: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" designs vs exactly-once · run/ideal ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let widths = table.widths;
    let cell = |text: &str, c: usize| {
        if c == 0 {
            super::diagram::fit(text, widths[0])
        } else {
            format!("{text:>w$}", w = widths[c])
        }
    };
    let mut lines = vec![Line::styled(
        TABLE_HEAD
            .iter()
            .enumerate()
            .map(|(c, h)| cell(h, c))
            .collect::<Vec<_>>()
            .join(" "),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let bad = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let mut design = 0;
    for row in table.rows {
        let was = row[7] == "was";
        let mut spans = Vec::new();
        for (c, text) in row.iter().take(7).enumerate() {
            let style = if was {
                Style::new().fg(Color::Magenta)
            } else if c == 0 {
                Style::new()
                    .fg(PALETTE[design % PALETTE.len()])
                    .add_modifier(Modifier::BOLD)
            } else if c >= 3 && text != "0" {
                bad
            } else if c >= 3 {
                Style::new().fg(Color::Green)
            } else {
                Style::new()
            };
            if c > 0 {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(cell(text, c), style));
        }
        if !was {
            design += 1;
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// At most `buckets` points: the last point in each bucket of x, so steps keep their shape.
fn downsample(points: &[(f64, f64)], x_max: f64, buckets: usize) -> Vec<(f64, f64)> {
    if points.len() <= buckets * 2 || x_max <= 0.0 {
        return points.to_vec();
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets * 2);
    let mut last_bucket = usize::MAX;
    for &(x, y) in points {
        let b = ((x / x_max) * buckets as f64) as usize;
        if b != last_bucket {
            out.push((x, y));
            last_bucket = b;
        } else if let Some(p) = out.last_mut() {
            *p = (x, y);
        }
    }
    out
}

/// The x axis's last label: the run's end, exact when there is room, else rounded.
fn axis_end(end_us: u64, width: u16) -> String {
    let exact = SimTime(end_us).to_string();
    // The chart's borders and the y axis's labels take about a dozen columns.
    if exact.chars().count() + 14 <= usize::from(width) {
        return exact;
    }
    if end_us >= 1_000_000 {
        format!("{}s", (end_us + 500_000) / 1_000_000)
    } else {
        format!("{}ms", (end_us + 500) / 1_000)
    }
}

/// The chart's title says what it counts, as much as fits.
fn chart_title(width: u16) -> String {
    [
        " divergence = dup + lost + doubt + dead-lettered + incons + false-fail · █ first ",
        " divergence = dup+lost+doubt+dlq+incons+false · █ first ",
        " divergence = dup+lost+doubt+dlq+incons+false ",
        " divergence=dup+lost+doubt+dlq+incons+false ",
        "divergence=dup+lost+doubt+dlq+incons+false",
        " Σ dup lost doubt dlq incons false ",
        " divergence ",
    ]
    .into_iter()
    .find(|t| t.chars().count() + 2 <= usize::from(width))
    .unwrap_or("")
    .to_string()
}

fn render_chart(app: &App, frame: &mut Frame, area: Rect) {
    let end_ms = (app.end_us() as f64 / 1_000.0).max(1.0);
    let now_ms = app.now_us() as f64 / 1_000.0;
    let buckets = usize::from(area.width) * 2;
    let series: Vec<Vec<(f64, f64)>> = app
        .views
        .iter()
        .map(|v| downsample(&v.series, end_ms, buckets))
        .collect();
    let y_max = app
        .views
        .iter()
        .filter_map(|v| v.progress.last().map(|p| f64::from(p.divergence())))
        .fold(1.0, f64::max);
    let ideal = [(0.0, 0.0), (end_ms, 0.0)];
    let cursor = [(now_ms, 0.0), (now_ms, y_max)];
    let firsts: Vec<Vec<(f64, f64)>> = app
        .views
        .iter()
        .map(|v| {
            v.metrics
                .first_divergence_us
                .map(|t| vec![(t as f64 / 1_000.0, f64::from(v.progress_at(t).divergence()))])
                .unwrap_or_default()
        })
        .collect();
    let mut datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::White))
            .data(&ideal),
    ];
    for i in 0..app.views.len() {
        datasets.push(
            Dataset::default()
                .marker(marker_of(i).0)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(PALETTE[i % PALETTE.len()]))
                .data(&series[i]),
        );
    }
    for (i, f) in firsts.iter().enumerate() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(Style::new().fg(PALETTE[i % PALETTE.len()]))
                .data(f),
        );
    }
    datasets.push(
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::DarkGray))
            .data(&cursor),
    );
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(chart_title(area.width)),
        )
        .x_axis(
            Axis::default()
                .bounds([0.0, end_ms])
                .labels(["0".to_string(), axis_end(app.end_us(), area.width)]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), format!("{y_max:.0}")]),
        );
    frame.render_widget(chart, area);
}

fn render_log(app: &App, frame: &mut Frame, area: Rect) {
    let view = app.focused();
    let title = match app.filter {
        Some(op) => format!(
            " log · {} · op {op} only · o to change ",
            super::diagram::TimeScale::for_end(app.end_us()).unit()
        ),
        None => format!(
            " log · {} · o filters by op ",
            super::diagram::TimeScale::for_end(app.end_us()).unit()
        ),
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height);
    if rows == 0 {
        return;
    }
    // The indices shown: every event, or one operation's, around the cursor.
    let indices: Vec<usize> = match app.filter {
        None => {
            let n = view.run.trace.len();
            let start = app
                .cursor
                .saturating_sub(rows / 2)
                .min(n.saturating_sub(rows));
            (start..(start + rows).min(n)).collect()
        }
        Some(op) => {
            let all: Vec<usize> = view
                .run
                .trace
                .iter()
                .enumerate()
                .filter(|(_, e)| e.op == op)
                .map(|(i, _)| i)
                .collect();
            let here = all.partition_point(|&i| i <= app.cursor);
            let start = here
                .saturating_sub(rows / 2)
                .min(all.len().saturating_sub(rows));
            all.into_iter().skip(start).take(rows).collect()
        }
    };
    let scale = super::diagram::TimeScale::for_end(app.end_us());
    let lines: Vec<Line> = indices
        .into_iter()
        .filter_map(|i| view.run.trace.get(i).map(|e| (i, e)))
        .map(|(i, e)| {
            let mut style = if e.is_alarm() {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            };
            if i == app.cursor {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let mark = if e.is_alarm() { "!" } else { " " };
            Line::styled(
                format!("{mark}{} {}", scale.cell(e.time_us), e.line_after_time()),
                style,
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
