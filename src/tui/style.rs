//! The looks both halves of the screen share: the design colours, the chart markers and a
//! design's counters as spans. A leaf the sequence diagram (`diagram.rs`) and the rest of the
//! screen (`view.rs`) both draw with, so neither reaches into the other for them.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;

use super::app::App;

/// One colour per design, in the order shown (the sweep view uses the same).
pub(crate) const PALETTE: [Color; 6] = [
    Color::Red,
    Color::Yellow,
    Color::Green,
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
];

/// The chart's marker for design `i`, and the character that stands for it in a legend: the
/// chart tells designs apart by shape as well as colour.
pub(crate) fn marker_of(i: usize) -> (Marker, char) {
    const MARKERS: [(Marker, char); 4] = [
        (Marker::Braille, '⠤'),
        (Marker::Dot, '•'),
        (Marker::Bar, '▄'),
        (Marker::HalfBlock, '▀'),
    ];
    MARKERS[i % MARKERS.len()]
}

/// A design's counters at `now` as styled spans, in two groups: effects and charged, then dup,
/// lost, doubt and incons.
pub(crate) fn stats_spans(
    app: &App,
    i: usize,
    now: u64,
) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
    let view = &app.views[i];
    let p = view.progress_at(now);
    let bad = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let effects_style = if p.effects > p.started {
        bad
    } else {
        Style::new()
    };
    let mut spans = vec![
        Span::raw("effects "),
        Span::styled(p.effects.to_string(), effects_style),
        Span::raw(format!("/{}  ", p.started)),
    ];
    if view.metrics.charges() {
        let ideal = u64::from(p.started) * app.scenario.workload.amount;
        spans.push(Span::raw("$ "));
        spans.push(Span::styled(p.charged.to_string(), effects_style));
        spans.push(Span::raw(format!("/{ideal}  ")));
    } else {
        spans.push(Span::styled(
            "$ –  ",
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    let mut counts = Vec::new();
    for (name, n) in [
        ("dup", p.duplicates),
        ("lost", p.lost),
        ("doubt", p.in_doubt),
        ("incons", p.inconsistent),
    ] {
        let style = if n > 0 {
            bad
        } else {
            Style::new().fg(Color::Green)
        };
        counts.push(Span::raw(format!("{name} ")));
        counts.push(Span::styled(n.to_string(), style));
        counts.push(Span::raw(" "));
    }
    (spans, counts)
}
