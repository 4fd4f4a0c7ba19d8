//! The sequence diagram: one design's, or several designs' side by side with their rows aligned
//! by simulated time, so that where the runs are the same the rows are the same and the first
//! place they part lines up.
//!
//! Times sit right-aligned in a column of fixed width, in one unit for the whole view (the
//! unit of the run's end: milliseconds with three decimals below a second, seconds with three
//! decimals from a second on), so a row's lanes never move when a time has more digits.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{App, DesignView};
use super::style::{PALETTE, marker_of, stats_spans};
use crate::trace::{Detail, EventKind, Node, Outcome, TraceEvent};
use crate::world::StepKind;

/// The time column's unit and width, fixed for a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeScale {
    seconds: bool,
    width: usize,
}

impl TimeScale {
    /// The scale for a view whose last event is at `end_us`.
    pub(crate) fn for_end(end_us: u64) -> TimeScale {
        let seconds = end_us >= 1_000_000;
        let digits = TimeScale { seconds, width: 0 }.digits(end_us).len();
        TimeScale {
            seconds,
            width: digits.max(5),
        }
    }

    /// `time_us` in the scale's unit with three decimals, without the unit.
    pub(crate) fn digits(&self, time_us: u64) -> String {
        if self.seconds {
            format!(
                "{}.{:03}",
                time_us / 1_000_000,
                (time_us % 1_000_000) / 1_000
            )
        } else {
            format!("{}.{:03}", time_us / 1_000, time_us % 1_000)
        }
    }

    /// `time_us` right-aligned in the column.
    pub(crate) fn cell(&self, time_us: u64) -> String {
        format!("{:>w$}", self.digits(time_us), w = self.width)
    }

    /// The unit's symbol.
    pub(crate) fn unit(&self) -> &'static str {
        if self.seconds { "s" } else { "ms" }
    }

    /// The column's width, in characters.
    pub(crate) fn width(&self) -> usize {
        self.width
    }
}

/// The lanes of the sequence diagram, left to right.
pub(crate) struct Lanes {
    names: Vec<String>,
    clients: u16,
    servers: u16,
    /// Client lanes shown one per client (else one shared lane).
    per_client: bool,
    per_server: bool,
}

impl Lanes {
    pub(crate) fn new(app: &App) -> Self {
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

    /// The strip's natural width: four columns per lane, enough for arrows and names.
    pub(crate) fn natural_width(&self) -> usize {
        self.names.len() * 4 + 2
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

    /// The lane names, each centred on its column, in a strip `width` wide.
    fn head(&self, width: usize) -> String {
        let mut head = vec![' '; width];
        for (i, name) in self.names.iter().enumerate() {
            let short: String = match name.as_str() {
                "provider" => "pay".into(),
                "store" => "db".into(),
                n if n.starts_with("client") && n.len() > 6 => format!("c{}", &n[6..]),
                n if n.starts_with("server") && n.len() > 6 => format!("s{}", &n[6..]),
                "clients" => "cli".into(),
                "servers" => "srv".into(),
                n => n.chars().take(5).collect(),
            };
            let c = self.column(i, width);
            let start = c.saturating_sub(short.len() / 2);
            for (k, ch) in short.chars().enumerate() {
                if start + k < width {
                    head[start + k] = ch;
                }
            }
        }
        head.into_iter().collect()
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
    let arrow = |from: usize, to: usize, symbol: char, color: Color| Glyph {
        from,
        to,
        symbol,
        color,
        bold: false,
    };
    let own = lanes.of(e.node);
    let net = lanes.net();
    let client = lanes.of(Node::Client(0));
    match (e.kind, e.detail) {
        (EventKind::OpStart, _) => at(own, '○', Color::Cyan),
        (EventKind::Send, _) => arrow(own, net, '▶', Color::Blue),
        (EventKind::Deliver, _) => arrow(net, own, '▶', Color::Blue),
        (EventKind::Refused, _) => Glyph {
            bold: true,
            ..arrow(net, own, '⊘', Color::Red)
        },
        (EventKind::Lost, Detail::Lost { request, .. }) => Glyph {
            bold: true,
            ..arrow(if request { client } else { net + 1 }, net, '✗', Color::Red)
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
            arrow(own, target, symbol, Color::Yellow)
        }
        (EventKind::Effect, Detail::Effect { nth, .. }) if nth > 1 => Glyph {
            bold: true,
            ..at(own, '‼', Color::Red)
        },
        (EventKind::Effect, _) => at(own, '+', Color::Green),
        (EventKind::Respond, _) => arrow(own, net, '◀', Color::Green),
        (EventKind::Receive, _) => arrow(net, own, '◀', Color::Green),
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

/// One row of the diagram: lane rules, the arrow, the symbol; only the rules for `None`.
fn lane_strip(lanes: &Lanes, e: Option<&TraceEvent>, width: usize) -> Vec<Span<'static>> {
    let mut cells: Vec<(char, Style)> = vec![(' ', Style::new()); width];
    let dim = Style::new().fg(Color::DarkGray);
    for i in 0..lanes.names.len() {
        let c = lanes.column(i, width);
        if c < width {
            cells[c] = ('│', dim);
        }
    }
    if let Some(e) = e {
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
    }
    // Runs of one style become one span.
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = Style::new();
    for (c, s) in cells {
        if s != run_style && !run.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut run), run_style));
        }
        run_style = s;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, run_style));
    }
    spans
}

/// The short label beside a row of the diagram.
pub(crate) fn label(e: &TraceEvent) -> String {
    let who = if e.op == crate::trace::NO_OP {
        String::new()
    } else if e.attempt == 0 {
        format!("op{} ", e.op)
    } else {
        format!("op{}.{} ", e.op, e.attempt)
    };
    let what = match e.kind {
        // The detail already says what happened: "response lost (fault plan)", "crash after
        // charge", "order 100".
        EventKind::Step | EventKind::Effect | EventKind::Lost | EventKind::Crash => e.detail_text(),
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

/// `text` cut to `width` characters, with `…` where it was cut.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let mut s: String = text.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}

/// Events `0..n` of `view` with time below `time_us`.
fn events_before(view: &DesignView, time_us: u64) -> usize {
    match time_us.checked_sub(1) {
        Some(t) => view.events_by(t),
        None => 0,
    }
}

/// Adds one design's events, `(index, time)` in trace order from the first event of an instant,
/// to `merged` as its column `column` of `width`: the event goes to the row of its instant and
/// its rank among the design's events at that instant.
fn merge_column(
    merged: &mut BTreeMap<(u64, usize), Vec<Option<usize>>>,
    column: usize,
    width: usize,
    events: impl Iterator<Item = (usize, u64)>,
) {
    let mut rank = 0;
    let mut last_time = None;
    for (i, time_us) in events {
        if last_time == Some(time_us) {
            rank += 1;
        } else {
            rank = 0;
            last_time = Some(time_us);
        }
        merged
            .entry((time_us, rank))
            .or_insert_with(|| vec![None; width])[column] = Some(i);
    }
}

/// The rows of whole runs side by side, each run given by its events' times in trace order:
/// each row holds, per run, the index of its event there, or nothing. The rule of
/// `aligned_rows` (which reads only a window around the cursor), and of the book's run
/// viewer (`alignRows` in `book/theme/viewer.js`; `tests/viewer.rs` checks they agree).
pub fn align_rows(runs: &[Vec<u64>]) -> Vec<Vec<Option<usize>>> {
    let mut merged = BTreeMap::new();
    for (column, times) in runs.iter().enumerate() {
        merge_column(
            &mut merged,
            column,
            runs.len(),
            times.iter().copied().enumerate(),
        );
    }
    merged.into_values().collect()
}

/// The rows of a side-by-side diagram around the cursor: each row holds, for each design shown,
/// the index of its event there, or nothing. A row is a simulated instant and a rank among the
/// design's events at that instant, so runs that agree share rows and where they part, the
/// rows part. Returns the rows, at most `rows` of them, and the cursor's row among them.
///
/// Only a window of each trace is read: `rows` events before the cursor's time and `rows`
/// after. That is enough: a window of `rows` rows before the cursor's row holds at most `rows`
/// events of each design, all at or after the first event taken from it.
pub(crate) fn aligned_rows(
    app: &App,
    shown: &[usize],
    rows: usize,
) -> (Vec<Vec<Option<usize>>>, Option<usize>) {
    let now = app.now_us();
    let mut merged: BTreeMap<(u64, usize), Vec<Option<usize>>> = BTreeMap::new();
    for (column, &d) in shown.iter().enumerate() {
        let view = &app.views[d];
        let n = view.run.trace.len();
        let mut lo = events_before(view, now).saturating_sub(rows);
        // Start at the first event of its instant, so ranks count from there.
        if let Some(e) = view.run.trace.get(lo) {
            lo = events_before(view, e.time_us);
        }
        let hi = (view.events_by(now) + rows).min(n);
        let events = (lo..hi).map_while(|i| view.run.trace.get(i).map(|e| (i, e.time_us)));
        merge_column(&mut merged, column, shown.len(), events);
    }
    let all: Vec<Vec<Option<usize>>> = merged.into_values().collect();
    let focus_column = shown.iter().position(|&d| d == app.focus);
    let cursor_row =
        focus_column.and_then(|c| all.iter().position(|row| row[c] == Some(app.cursor)));
    let start = cursor_row
        .unwrap_or(0)
        .saturating_sub(rows * 2 / 3)
        .min(all.len().saturating_sub(rows));
    let window: Vec<Vec<Option<usize>>> = all.into_iter().skip(start).take(rows).collect();
    (window, cursor_row.map(|r| r - start))
}

/// Draws the diagram of the designs `shown` (indices into `app.views`) in `area`: one design
/// with its name in the title, or several side by side, each under its name and counters.
pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect, shown: &[usize]) {
    let side_by_side = shown.len() > 1;
    let title = if side_by_side {
        Line::from(vec![
            Span::raw(" sequence · "),
            Span::styled(
                format!("{} designs side by side", shown.len()),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(" · rows aligned by time · Tab focus · x drop  u duplicate  c crash "),
        ])
    } else {
        Line::from(vec![
            Span::raw(" sequence · "),
            Span::styled(
                app.focused().run.design.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(" · x drop  u duplicate  c crash here "),
        ])
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < 20 {
        return;
    }
    let lanes = Lanes::new(app);
    let scale = TimeScale::for_end(app.end_us());
    let width = usize::from(inner.width);
    // The time goes only where nothing else would fit (under 48 columns).
    let time_width = if width >= 48 { scale.width() + 2 } else { 0 };
    // One column for the marker, the time, then the designs' columns with a rule between.
    let room = width.saturating_sub(1 + time_width);
    let k = shown.len().max(1);
    let column = room.saturating_sub(k - 1) / k;
    let strip_width = lanes
        .natural_width()
        .min(column.saturating_sub(14))
        .max(10)
        .min(column);
    let label_width = column.saturating_sub(strip_width + 1);
    let separator = || Span::styled("┊", Style::new().fg(Color::DarkGray));

    let mut lines = Vec::new();
    if side_by_side {
        let now = app.now_us();
        let mut names = vec![Span::raw(" ".repeat(1 + time_width))];
        let mut stats = names.clone();
        for (c, &d) in shown.iter().enumerate() {
            if c > 0 {
                names.push(separator());
                stats.push(separator());
            }
            let focus = if d == app.focus { "▸ " } else { "  " };
            let name = format!(
                "{focus}{} {}",
                marker_of(d).1,
                app.views[d].run.design.as_str()
            );
            let mut style = Style::new()
                .fg(PALETTE[d % PALETTE.len()])
                .add_modifier(Modifier::BOLD);
            if d == app.focus {
                style = style.add_modifier(Modifier::UNDERLINED);
            }
            names.push(Span::styled(fit(&name, column), style));
            let (money, counts) = stats_spans(app, d, now);
            let spans = money.into_iter().chain(counts);
            let mut left = column;
            for s in spans {
                let n = s.content.chars().count();
                if n > left {
                    break;
                }
                left -= n;
                stats.push(s);
            }
            stats.push(Span::raw(" ".repeat(left)));
        }
        lines.push(Line::from(names));
        lines.push(Line::from(stats));
    }
    // The lane names and the time's unit.
    let mut head = vec![Span::raw(" ")];
    if time_width > 0 {
        head.push(Span::styled(
            format!(" {:>w$} ", scale.unit(), w = scale.width()),
            Style::new().fg(Color::DarkGray),
        ));
    }
    for c in 0..k {
        if c > 0 {
            head.push(separator());
        }
        head.push(Span::styled(
            format!("{:<column$}", lanes.head(strip_width)),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    lines.push(Line::from(head));

    let rows = usize::from(inner.height).saturating_sub(lines.len());
    let (window, cursor_row) = aligned_rows(app, shown, rows);
    let focus_column = shown.iter().position(|&d| d == app.focus);
    for (r, row) in window.iter().enumerate() {
        let events: Vec<Option<TraceEvent>> = row
            .iter()
            .zip(shown)
            .map(|(i, &d)| i.and_then(|i| app.views[d].run.trace.get(i)))
            .collect();
        let focused_index = focus_column.and_then(|c| row[c]);
        let marker = if focused_index.is_some() && focused_index == app.first_difference {
            Span::styled(
                "≠",
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )
        } else if Some(r) == cursor_row {
            Span::styled("▸", Style::new().add_modifier(Modifier::BOLD))
        } else {
            Span::raw(" ")
        };
        let mut spans = vec![marker];
        if time_width > 0 {
            let time = events.iter().flatten().map(|e| e.time_us).next();
            spans.push(Span::styled(
                match time {
                    Some(t) => format!(" {} ", scale.cell(t)),
                    None => " ".repeat(time_width),
                },
                Style::new().fg(Color::DarkGray),
            ));
        }
        for (c, e) in events.iter().enumerate() {
            if c > 0 {
                spans.push(separator());
            }
            spans.extend(lane_strip(&lanes, e.as_ref(), strip_width));
            let text = e.as_ref().map(label).unwrap_or_default();
            let mut style = Style::new();
            if e.as_ref().is_some_and(TraceEvent::is_alarm) {
                style = style.fg(Color::Red);
            }
            spans.push(Span::styled(format!(" {}", fit(&text, label_width)), style));
        }
        let mut line = Line::from(spans);
        if Some(r) == cursor_row {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
