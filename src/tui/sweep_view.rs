//! The TUI's sweep view: the chart `idemlab sweep --plot` draws, in the terminal. One panel at a
//! time (duplicate rate, in-doubt rate, p99 latency); Tab or ← → switch, q quits. Lines are the
//! mean over seeds; the band from the lowest to the highest seed is drawn as dots.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::style::PALETTE;
use crate::sweep::Chart as SweepChart;

/// The sweep view's state.
pub struct SweepView {
    /// Where the rows came from.
    pub source: String,
    /// The chart data.
    pub chart: SweepChart,
    /// Which panel is shown.
    pub panel: usize,
    /// Set when the user asked to leave.
    pub quit: bool,
}

impl SweepView {
    /// A view of `chart`, read from `source`.
    pub fn new(source: &str, chart: SweepChart) -> Self {
        SweepView {
            source: source.to_string(),
            chart,
            panel: 0,
            quit: false,
        }
    }

    /// Applies a key.
    pub fn key(&mut self, key: KeyEvent) {
        let n = self.chart.panels.len().max(1);
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => self.panel = (self.panel + 1) % n,
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => {
                self.panel = (self.panel + n - 1) % n
            }
            _ => {}
        }
    }
}

/// Draws the sweep view.
pub fn view(v: &SweepView, frame: &mut Frame) {
    let area = frame.area();
    if area.width < super::view::MIN_WIDTH || area.height < 12 {
        frame.render_widget(
            Paragraph::new(format!(
                "terminal too small: {}×{} here; the sweep view needs {}×12",
                area.width,
                area.height,
                super::view::MIN_WIDTH
            )),
            area,
        );
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    let titles: Vec<Span> = v
        .chart
        .panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let style = if i == v.panel {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            let short = p.title.split(" (").next().unwrap_or(&p.title);
            Span::styled(format!(" {short} "), style)
        })
        .collect();
    let mut head = vec![
        Span::styled(
            " idemlab sweep ",
            Style::new().add_modifier(Modifier::REVERSED),
        ),
        Span::raw(format!(" {} · {} rows · ", v.source, v.chart.rows)),
    ];
    head.extend(titles);
    frame.render_widget(Paragraph::new(Line::from(head)), header);
    frame.render_widget(
        Paragraph::new(Line::styled(
            "Tab / ← → switch chart · line: mean of its runs · dots: lowest and highest · q quit",
            Style::new().add_modifier(Modifier::DIM),
        )),
        footer,
    );
    let Some(panel) = v.chart.panels.get(v.panel) else {
        return;
    };
    let lines: Vec<Vec<(f64, f64)>> = panel
        .series
        .iter()
        .map(|s| s.points.iter().map(|p| (p.0, p.1)).collect())
        .collect();
    let bands: Vec<Vec<(f64, f64)>> = panel
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .flat_map(|p| [(p.0, p.2), (p.0, p.3)])
                .collect()
        })
        .collect();
    let (x_min, x_max) = v
        .chart
        .ticks
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
            (lo.min(t.0), hi.max(t.0))
        });
    let (x_min, x_max) = if x_max > x_min {
        (x_min, x_max)
    } else {
        (x_min - 1.0, x_min + 1.0)
    };
    let y_max = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.3))
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.05;
    let mut datasets = Vec::new();
    for (i, s) in panel.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        datasets.push(
            Dataset::default()
                .name(s.name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color))
                .data(&lines[i]),
        );
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(Style::new().fg(color).add_modifier(Modifier::DIM))
                .data(&bands[i]),
        );
    }
    let first = v
        .chart
        .ticks
        .first()
        .map(|t| t.1.clone())
        .unwrap_or_default();
    let last = v
        .chart
        .ticks
        .last()
        .map(|t| t.1.clone())
        .unwrap_or_default();
    let chart = Chart::new(datasets)
        .block(Block::default().borders(Borders::ALL).title(format!(
            " {} against {} ",
            panel.title,
            v.chart.subject()
        )))
        .x_axis(Axis::default().bounds([x_min, x_max]).labels([first, last]))
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), format!("{y_max:.3}")]),
        );
    frame.render_widget(chart, body);
}
