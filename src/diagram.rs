//! Sequence diagrams of a run, as standalone SVG: one lane per client, the network, one per
//! server, the store and the payment provider; one row per event, top to bottom in simulated
//! time; the event's log line beside it. `idemlab run --svg FILE` writes one, and the book's
//! pictures are made this way.
//!
//! The text is hand-written SVG with fixed metrics (no font measurement), so the same run
//! gives the same bytes on every machine.
//!
//! ```
//! use idemlab::{diagram, fault::FaultPlan, handlers, scenario, world};
//! let s = scenario::bundled("lost-response").unwrap().unwrap();
//! let run = world::run(&s, handlers::lookup("naive").unwrap().as_ref(), 1, &FaultPlan::default());
//! let svg = diagram::sequence_svg(&run, &s, "naive, one lost response", 200);
//! assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
//! ```

use std::fmt::Write as _;

use crate::plot::escape;
use crate::scenario::Scenario;
use crate::trace::{Detail, EventKind, Node, TraceEvent};
use crate::world::{Run, StepKind};

const ROW_H: f64 = 18.0;
/// The widest a lane is; more lanes share [`LANES_W`].
const LANE_W: f64 = 64.0;
/// The width of all lanes together at most, so that a diagram is at most 750 pixels wide and a
/// book's or a page's column shows it at its own size.
const LANES_W: f64 = 330.0;
const TIME_W: f64 = 70.0;
const TOP: f64 = 58.0;
const TEXT_W: f64 = 350.0;

/// The lanes of a scenario: clients, network, servers, store, provider.
struct Lanes {
    clients: u16,
    servers: u16,
}

impl Lanes {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.clients).map(|i| format!("client{i}")).collect();
        names.push("network".into());
        names.extend((0..self.servers).map(|i| format!("server{i}")));
        names.push("store".into());
        names.push("provider".into());
        names
    }

    fn of(&self, node: Node) -> usize {
        let c = usize::from(self.clients);
        let s = usize::from(self.servers);
        match node {
            Node::Client(i) => usize::from(i).min(c - 1),
            Node::Net | Node::Sim => c,
            Node::Server(i) => c + 1 + usize::from(i).min(s - 1),
            Node::Store => c + 1 + s,
            Node::Provider => c + 2 + s,
        }
    }

    /// One lane's width: [`LANE_W`], or less when there are many.
    fn width(&self) -> f64 {
        LANE_W
            .min(LANES_W / self.names().len().max(1) as f64)
            .floor()
    }

    fn x(&self, lane: usize) -> f64 {
        TIME_W + self.width() * (lane as f64 + 0.5)
    }
}

/// The lanes of `scenario`'s diagrams, left to right: each client, the network, each server,
/// the store, the provider.
pub fn lane_names(scenario: &Scenario) -> Vec<String> {
    lanes_of(scenario).names()
}

fn lanes_of(scenario: &Scenario) -> Lanes {
    Lanes {
        clients: scenario.workload.clients.max(1),
        servers: scenario.server.count.max(1),
    }
}

/// How one event is drawn: from one lane to another (the same lane for a mark), the symbol at
/// its end, and its tone (`blue`, `green`, `red`, `amber`, `purple`, `grey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Glyph {
    /// The lane the line starts on (an index into [`lane_names`]).
    pub from: usize,
    /// The lane the symbol is on.
    pub to: usize,
    /// The symbol.
    pub symbol: &'static str,
    /// The tone, by name.
    pub tone: &'static str,
}

/// How `e` is drawn in `scenario`'s diagrams.
pub fn glyph(scenario: &Scenario, e: &TraceEvent) -> Glyph {
    let (from, to, symbol, color) = shape(&lanes_of(scenario), e);
    let tone = match color {
        "#1f5fbf" => "blue",
        "#1b8a3a" => "green",
        "#c62828" => "red",
        "#b26a00" => "amber",
        "#8e24aa" => "purple",
        _ => "grey",
    };
    Glyph {
        from,
        to,
        symbol,
        tone,
    }
}

/// What to draw for one event: a line between two lanes (or a mark on one), a symbol, a color.
fn shape(lanes: &Lanes, e: &TraceEvent) -> (usize, usize, &'static str, &'static str) {
    let own = lanes.of(e.node);
    let net = lanes.of(Node::Net);
    let client = lanes.of(Node::Client(0));
    const BLUE: &str = "#1f5fbf";
    const GREEN: &str = "#1b8a3a";
    const RED: &str = "#c62828";
    const AMBER: &str = "#b26a00";
    const GREY: &str = "#666666";
    match (e.kind, e.detail) {
        (EventKind::Send, _) => (own, net, "▶", BLUE),
        (EventKind::Deliver, _) => (net, own, "▶", BLUE),
        (EventKind::Refused, _) => (net, own, "⊘", RED),
        (EventKind::Lost, Detail::Lost { request, .. }) => {
            let from = if request { client } else { net + 1 };
            (from, net, "✗", RED)
        }
        (EventKind::Duplicate, _) => (net, net, "⇉", "#8e24aa"),
        (EventKind::Step, Detail::Step(step, _)) => {
            let target = match step {
                StepKind::Charge => lanes.of(Node::Provider),
                StepKind::Ack => net,
                _ => lanes.of(Node::Store),
            };
            (own, target, "◆", AMBER)
        }
        (EventKind::Effect, Detail::Effect { nth, .. }) if nth > 1 => (own, own, "‼", RED),
        (EventKind::Effect, _) => (own, own, "+", GREEN),
        (EventKind::Respond, _) => (own, net, "◀", GREEN),
        (EventKind::Receive, _) => (net, own, "◀", GREEN),
        (EventKind::Late, _) => (own, own, "◌", AMBER),
        (EventKind::Timeout, _) => (own, own, "◷", AMBER),
        (EventKind::Retry, _) => (own, own, "↻", BLUE),
        (EventKind::Done, _) => (own, own, "●", GREY),
        (EventKind::Crash, _) => (own, own, "✖", RED),
        (EventKind::Restart, _) => (own, own, "↺", GREEN),
        (EventKind::DeadLetter, _) => (net, net, "▼", RED),
        (EventKind::Redrive, _) => (net, net, "▲", BLUE),
        _ => (own, own, "•", GREY),
    }
}

/// The sequence diagram of `run` (at most `max_events` rows; the rest are counted in a note).
pub fn sequence_svg(run: &Run, scenario: &Scenario, title: &str, max_events: usize) -> String {
    let lanes = lanes_of(scenario);
    let names = lanes.names();
    let events: Vec<TraceEvent> = run.trace.iter().take(max_events).collect();
    let hidden = run.trace.len().saturating_sub(events.len());
    let width = TIME_W + lanes.width() * names.len() as f64 + TEXT_W;
    let height = TOP + ROW_H * (events.len() as f64 + 1.0) + if hidden > 0 { 20.0 } else { 8.0 };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="8" y="18" font-size="13" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let bottom = height - 6.0;
    for (i, name) in names.iter().enumerate() {
        let x = lanes.x(i);
        let _ = writeln!(
            out,
            r##"<text x="{x}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            TOP - 16.0,
            escape(name)
        );
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{bottom}" stroke="#d0d0d0" stroke-dasharray="3,3"/>"##,
            TOP - 10.0
        );
    }
    for (row, e) in events.iter().enumerate() {
        let y = TOP + ROW_H * row as f64 + ROW_H / 2.0;
        let (from, to, symbol, color) = shape(&lanes, e);
        let (x1, x2) = (lanes.x(from), lanes.x(to));
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#555">{}</text>"##,
            TIME_W - 8.0,
            y + 4.0,
            crate::time::SimTime(e.time_us)
        );
        if from != to {
            let _ = writeln!(
                out,
                r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}" stroke-width="1.5"/>"#
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{x2}" y="{}" text-anchor="middle" fill="{color}" font-size="13">{symbol}</text>"#,
            y + 4.5
        );
        let label = describe(e);
        let alarm = e.is_alarm();
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" fill="{}"{}>{}</text>"##,
            TIME_W + lanes.width() * names.len() as f64 + 8.0,
            y + 4.0,
            if alarm { "#c62828" } else { "#222" },
            if alarm { r#" font-weight="bold""# } else { "" },
            escape(&label)
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            r##"<text x="8" y="{}" fill="#555">… and {hidden} more events</text>"##,
            height - 10.0
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The row's words: which operation and attempt, what happened, the detail.
pub fn describe(e: &TraceEvent) -> String {
    let who = match (e.op, e.attempt) {
        (crate::trace::NO_OP, _) => String::new(),
        (op, 0) => format!("op{op} "),
        (op, a) if e.copy > 0 => format!("op{op}.{a} copy{} ", e.copy),
        (op, a) => format!("op{op}.{a} "),
    };
    let detail = e.detail_text();
    match e.kind {
        // The detail says what happened already: `response lost (fault plan)`, `crash after
        // charge`, `charge 100 (application 2: DUPLICATE)`.
        EventKind::Lost | EventKind::Crash | EventKind::Effect => format!("{who}{detail}"),
        _ => format!("{who}{} {detail}", e.kind.name()),
    }
    .trim_end()
    .to_string()
}

/// What every symbol of a sequence diagram means: the TUI's `?` and the book viewer's legend
/// (through the export) show this one list.
pub const HELP_SYMBOLS: [(&str, &str); 15] = [
    ("○", "operation starts"),
    ("●─▶", "request sent / delivered"),
    ("◀─●", "response sent / received"),
    ("✗", "message lost"),
    ("⇉", "message duplicated"),
    ("◆ $", "store step / provider call"),
    ("+", "effect"),
    ("‼", "DUPLICATE effect"),
    ("◷", "timeout"),
    ("↻", "retry after backoff"),
    ("◌", "late response"),
    ("✓ ? ⊘", "succeeded / doubt / failed"),
    ("✖ ↺", "crash / restart"),
    ("≠", "first difference (what-if)"),
    ("▼ ▲", "dead-lettered / redriven"),
];
