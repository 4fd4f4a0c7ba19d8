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
use crate::time::SimTime;
use crate::trace::{Detail, EventKind, Node, Outcome, TraceEvent};
use crate::world::StepKind;

/// The smallest terminal the TUI draws its screen in.
pub const MIN_WIDTH: u16 = 60;
/// The smallest terminal height the TUI draws its screen in.
pub const MIN_HEIGHT: u16 = 20;

/// One colour per design, in the order shown (the sweep view uses the same).
pub(crate) const PALETTE: [Color; 6] = [
    Color::Red,
    Color::Yellow,
    Color::Green,
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
];

/// Draws the whole screen.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let [header, main, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(if area.height >= 28 { 9 } else { 7 }),
        Constraint::Length(1),
    ])
    .areas(area);
    // The panels need about 30 columns; below 100 columns the diagram gets the rest.
    let panel_width = if area.width >= 100 {
        Constraint::Percentage(38)
    } else {
        Constraint::Length(31)
    };
    let [diagram, panels] = Layout::horizontal([Constraint::Min(40), panel_width]).areas(main);
    let [chart, log] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(bottom);
    render_header(app, frame, header);
    render_diagram(app, frame, diagram);
    render_panels(app, frame, panels);
    render_chart(app, frame, chart);
    render_log(app, frame, log);
    render_footer(app, frame, footer);
    match &app.overlay {
        Some(Overlay::Help) => render_help(frame, area),
        Some(Overlay::Faults { field }) => render_faults(app, *field, frame, area),
        Some(Overlay::Designs { row, ticked }) => render_designs(*row, ticked, frame, area),
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
    let state = if app.playing { "▶" } else { "⏸" };
    let line = Line::from(vec![
        Span::styled(" idemlab ", Style::new().add_modifier(Modifier::REVERSED)),
        Span::raw(format!(
            " {} · seed {} · {}/{} · {state} {} ev/s · ",
            app.scenario.name,
            app.seed,
            SimTime(app.now_us()),
            SimTime(app.end_us()),
            SPEEDS[app.speed],
        )),
        Span::styled(
            app.focused().run.design.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            " · {}/{}",
            app.cursor + 1,
            app.focused().run.trace.len()
        )),
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

/// The lanes of the sequence diagram, left to right.
struct Lanes {
    names: Vec<String>,
    clients: u16,
    servers: u16,
    /// Client lanes shown one per client (else one shared lane).
    per_client: bool,
    per_server: bool,
}

impl Lanes {
    fn new(app: &App) -> Self {
        let clients = app.scenario.workload.clients;
        let servers = app.scenario.server.count;
        let per_client = clients <= 3;
        let per_server = servers <= 2;
        let mut names = Vec::new();
        if per_client {
            names.extend((0..clients).map(|i| format!("client{i}")));
        } else {
            names.push("clients".into());
        }
        names.push("net".into());
        if per_server {
            names.extend((0..servers).map(|i| format!("server{i}")));
        } else {
            names.push("servers".into());
        }
        names.push("store".into());
        names.push("provider".into());
        Lanes {
            names,
            clients,
            servers,
            per_client,
            per_server,
        }
    }

    fn client_lanes(&self) -> usize {
        if self.per_client {
            usize::from(self.clients)
        } else {
            1
        }
    }

    fn of(&self, node: Node) -> usize {
        let c = self.client_lanes();
        let s = if self.per_server {
            usize::from(self.servers)
        } else {
            1
        };
        match node {
            Node::Client(i) if self.per_client => usize::from(i),
            Node::Client(_) => 0,
            Node::Net => c,
            Node::Server(i) if self.per_server => c + 1 + usize::from(i),
            Node::Server(_) => c + 1,
            Node::Store | Node::Sim => c + 1 + s,
            Node::Provider => c + 2 + s,
        }
    }

    fn net(&self) -> usize {
        self.client_lanes()
    }

    /// Column of lane `i` in a strip `width` wide.
    fn column(&self, i: usize, width: usize) -> usize {
        let n = self.names.len();
        let step = width.saturating_sub(2) / n.max(1);
        1 + i * step + step / 2
    }
}

/// How one event is drawn: an arrow from one lane to another (or a mark on one lane), the
/// symbol at its end, and a colour.
struct Glyph {
    from: usize,
    to: usize,
    symbol: char,
    color: Color,
    bold: bool,
}

fn glyph(lanes: &Lanes, e: &TraceEvent) -> Glyph {
    let at = |lane: usize, symbol: char, color: Color| Glyph {
        from: lane,
        to: lane,
        symbol,
        color,
        bold: false,
    };
    let own = lanes.of(e.node);
    let net = lanes.net();
    let client = lanes.of(Node::Client(0));
    match (e.kind, e.detail) {
        (EventKind::OpStart, _) => at(own, '○', Color::Cyan),
        (EventKind::Send, _) => Glyph {
            from: own,
            to: net,
            symbol: '▶',
            color: Color::Blue,
            bold: false,
        },
        (EventKind::Deliver, _) => Glyph {
            from: net,
            to: own,
            symbol: '▶',
            color: Color::Blue,
            bold: false,
        },
        (EventKind::Refused, _) => Glyph {
            from: net,
            to: own,
            symbol: '⊘',
            color: Color::Red,
            bold: true,
        },
        (EventKind::Lost, Detail::Lost { request, .. }) => Glyph {
            from: if request { client } else { net + 1 },
            to: net,
            symbol: '✗',
            color: Color::Red,
            bold: true,
        },
        (EventKind::Duplicate, _) => Glyph {
            bold: true,
            ..at(net, '⇉', Color::Magenta)
        },
        (EventKind::Step, Detail::Step(step, _)) => {
            let (target, symbol) = match step {
                StepKind::Charge => (lanes.of(Node::Provider), '$'),
                // An ack goes to the broker, over the network.
                StepKind::Ack => (net, '◀'),
                _ => (lanes.of(Node::Store), '◆'),
            };
            Glyph {
                from: own,
                to: target,
                symbol,
                color: Color::Yellow,
                bold: false,
            }
        }
        (EventKind::Effect, Detail::Effect { nth, .. }) if nth > 1 => Glyph {
            bold: true,
            ..at(own, '‼', Color::Red)
        },
        (EventKind::Effect, _) => at(own, '+', Color::Green),
        (EventKind::Respond, _) => Glyph {
            from: own,
            to: net,
            symbol: '◀',
            color: Color::Green,
            bold: false,
        },
        (EventKind::Receive, _) => Glyph {
            from: net,
            to: own,
            symbol: '◀',
            color: Color::Green,
            bold: false,
        },
        (EventKind::Late, _) => at(own, '◌', Color::Yellow),
        (EventKind::Timeout, _) => at(own, '◷', Color::Yellow),
        (EventKind::Retry, _) => at(own, '↻', Color::Cyan),
        (EventKind::GiveUp, _) => Glyph {
            bold: true,
            ..at(own, '?', Color::Yellow)
        },
        (EventKind::Done, Detail::Outcome(Outcome::Succeeded)) => at(own, '✓', Color::Green),
        (EventKind::Done, Detail::Outcome(Outcome::InDoubt)) => Glyph {
            bold: true,
            ..at(own, '?', Color::Yellow)
        },
        (EventKind::Done, _) => at(own, '⊘', Color::Red),
        (EventKind::Crash, _) => Glyph {
            bold: true,
            ..at(own, '✖', Color::Red)
        },
        (EventKind::Restart, _) => at(own, '↺', Color::Green),
        (EventKind::DeadLetter, _) => Glyph {
            bold: true,
            ..at(net, '▼', Color::Red)
        },
        (EventKind::Redrive, _) => at(net, '▲', Color::Cyan),
        _ => Glyph {
            bold: true,
            ..at(own, '■', Color::Red)
        },
    }
}

/// One row of the diagram: lane rules, the arrow, the symbol.
fn lane_strip(lanes: &Lanes, e: &TraceEvent, width: usize) -> Vec<Span<'static>> {
    let mut cells: Vec<(char, Style)> = vec![(' ', Style::new()); width];
    let dim = Style::new().fg(Color::DarkGray);
    for i in 0..lanes.names.len() {
        let c = lanes.column(i, width);
        if c < width {
            cells[c] = ('│', dim);
        }
    }
    let g = glyph(lanes, e);
    let mut style = Style::new().fg(g.color);
    if g.bold {
        style = style.add_modifier(Modifier::BOLD);
    }
    let (a, b) = (lanes.column(g.from, width), lanes.column(g.to, width));
    let (lo, hi) = (a.min(b), a.max(b));
    for cell in cells.iter_mut().take(hi.min(width)).skip(lo + 1) {
        *cell = ('─', style);
    }
    if a != b && a < width {
        cells[a] = ('●', style);
    }
    if b < width {
        cells[b] = (g.symbol, style);
    }
    cells
        .into_iter()
        .map(|(c, s)| Span::styled(c.to_string(), s))
        .collect()
}

/// The short label beside a row of the diagram.
fn label(e: &TraceEvent) -> String {
    let who = if e.op == crate::trace::NO_OP {
        String::new()
    } else if e.attempt == 0 {
        format!("op{} ", e.op)
    } else {
        format!("op{}.{} ", e.op, e.attempt)
    };
    let what = match e.kind {
        EventKind::Step | EventKind::Effect | EventKind::Lost => e.detail_text(),
        EventKind::Respond | EventKind::Receive | EventKind::Late => {
            format!("{} {}", e.kind.name(), e.detail_text())
        }
        _ => {
            let detail = e.detail_text();
            if detail.is_empty() {
                e.kind.name().to_string()
            } else {
                format!("{} {detail}", e.kind.name())
            }
        }
    };
    format!("{who}{what}")
}

fn render_diagram(app: &App, frame: &mut Frame, area: Rect) {
    let view = app.focused();
    let title = Line::from(vec![
        Span::raw(" sequence · "),
        Span::styled(
            view.run.design.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(" · x drop  u duplicate  c crash here "),
    ]);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < 20 {
        return;
    }
    let lanes = Lanes::new(app);
    // In a narrow diagram the time column goes (the header and the log show the time).
    let show_time = inner.width >= 56;
    let time_width = if show_time { 9usize } else { 0 };
    // Four columns per lane are enough for arrows and names; the rest is for the label.
    let room = usize::from(inner.width).saturating_sub(time_width + 1);
    let strip_width = (lanes.names.len() * 4 + 2)
        .min(room.saturating_sub(16))
        .max(10);
    let mut lines = Vec::new();
    // The lane names, each centred on its column.
    let mut head = vec![' '; strip_width];
    for (i, name) in lanes.names.iter().enumerate() {
        let short: String = match name.as_str() {
            "provider" => "pay".into(),
            "store" => "db".into(),
            n if n.starts_with("client") && n.len() > 6 => format!("c{}", &n[6..]),
            n if n.starts_with("server") && n.len() > 6 => format!("s{}", &n[6..]),
            "clients" => "cli".into(),
            "servers" => "srv".into(),
            n => n.chars().take(5).collect(),
        };
        let c = lanes.column(i, strip_width);
        let start = c.saturating_sub(short.len() / 2);
        for (k, ch) in short.chars().enumerate() {
            if start + k < strip_width {
                head[start + k] = ch;
            }
        }
    }
    lines.push(Line::from(vec![
        Span::raw(" ".repeat(time_width + 1)),
        Span::styled(
            head.into_iter().collect::<String>(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ]));
    let rows = usize::from(inner.height) - 1;
    let n = view.run.trace.len();
    let start = app
        .cursor
        .saturating_sub(rows * 2 / 3)
        .min(n.saturating_sub(rows));
    for i in start..(start + rows).min(n) {
        let Some(e) = view.run.trace.get(i) else {
            break;
        };
        let marker = if Some(i) == app.first_difference {
            Span::styled(
                "≠",
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )
        } else if i == app.cursor {
            Span::styled("▸", Style::new().add_modifier(Modifier::BOLD))
        } else {
            Span::raw(" ")
        };
        let mut spans = vec![marker];
        if show_time {
            spans.push(Span::styled(
                format!("{:>8} ", SimTime(e.time_us).to_string()),
                Style::new().fg(Color::DarkGray),
            ));
        }
        spans.extend(lane_strip(&lanes, &e, strip_width));
        spans.push(Span::raw(format!(" {}", label(&e))));
        let mut line = Line::from(spans);
        if i == app.cursor {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_panels(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" designs vs exactly-once ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let now = app.now_us();
    let mut lines = Vec::new();
    for (i, view) in app.views.iter().enumerate() {
        let p = view.progress_at(now);
        let ideal_charged = u64::from(p.started) * app.scenario.workload.amount;
        let color = PALETTE[i % PALETTE.len()];
        let focus = if i == app.focus { "▸ " } else { "" };
        lines.push(Line::from(Span::styled(
            format!("{focus}{}", view.run.design),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        )));
        let effects_style = if p.effects > p.started {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw("effects "),
            Span::styled(p.effects.to_string(), effects_style),
            Span::raw(format!("/{}  $ ", p.started)),
            Span::styled(p.charged.to_string(), effects_style),
            Span::raw(format!("/{ideal_charged}")),
        ]));
        let count = |name: &str, n: u32| {
            let style = if n > 0 {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Green)
            };
            vec![
                Span::raw(format!("{name} ")),
                Span::styled(n.to_string(), style),
                Span::raw(" "),
            ]
            .into_iter()
        };
        let mut counts = Vec::new();
        counts.extend(count("dup", p.duplicates));
        counts.extend(count("lost", p.lost));
        counts.extend(count("doubt", p.in_doubt));
        counts.extend(count("incons", p.inconsistent));
        lines.push(Line::from(counts));
        if let Some(before) = app.before(i) {
            let b = before.progress_at(now);
            lines.push(Line::from(Span::styled(
                format!(
                    "was: dup {} lost {} doubt {} incons {}",
                    b.duplicates, b.lost, b.in_doubt, b.inconsistent
                ),
                Style::new().fg(Color::Magenta),
            )));
        }
    }
    if !lines.is_empty() {
        lines.push(Line::styled(
            "effects, $ charged: run/ideal",
            Style::new().add_modifier(Modifier::DIM),
        ));
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
            .name("ideal")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::White))
            .data(&ideal),
    ];
    for (i, v) in app.views.iter().enumerate() {
        datasets.push(
            Dataset::default()
                .name(v.run.design.clone())
                .marker(Marker::Braille)
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
                .title(" divergence · █ first "),
        )
        .x_axis(
            Axis::default()
                .bounds([0.0, end_ms])
                .labels(["0".to_string(), SimTime(app.end_us()).to_string()]),
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
        Some(op) => format!(" log · op {op} only · o to change "),
        None => " log · o filters by op ".to_string(),
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
            Line::styled(e.line(), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
