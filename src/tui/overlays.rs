//! The overlays drawn over the main screen: help, the fault settings, the design chooser, the
//! log's filter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, FAULT_FIELDS};
use crate::diagram::HELP_SYMBOLS;
use crate::handlers;

/// A centred rectangle `w`×`h` inside `area`.
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub(super) fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>) {
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string())
                .style(Style::new()),
        ),
        area,
    );
}

/// Every key, and what it does.
pub const HELP_KEYS: [(&str, &str); 18] = [
    ("space", "play / pause"),
    ("→ ←  l h", "step one event"),
    ("PgDn PgUp", "step twenty events"),
    ("Home End", "first / last event"),
    ("+ -", "faster / slower"),
    ("Tab", "focus the next design"),
    ("x", "what if this message were lost"),
    ("u", "what if it were duplicated"),
    ("c", "what if a crash came here"),
    ("X", "clear the what-ifs"),
    ("f", "fault settings, re-run at once"),
    ("d", "choose the designs shown"),
    ("s", "open another bundled scenario"),
    ("n", "next seed"),
    ("o", "filter the log by operation"),
    ("e", "export the trace as CSV"),
    ("wheel", "step through events"),
    ("q Esc", "quit (Ctrl-C too)"),
];

pub(super) fn render_help(frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    let rows = HELP_KEYS.len().max(HELP_SYMBOLS.len());
    for r in 0..rows {
        let key = HELP_KEYS
            .get(r)
            .map(|(k, v)| format!("{k:<9} {v:<30}"))
            .unwrap_or_else(|| " ".repeat(40));
        let sym = HELP_SYMBOLS
            .get(r)
            .map(|(k, v)| format!("{k:<5} {v}"))
            .unwrap_or_default();
        lines.push(Line::from(format!("{key} {sym}")));
    }
    let rect = centered(area, 78, rows as u16 + 2);
    popup(frame, rect, " keys and symbols · Esc closes ", lines);
}

/// A popup list with one row selected and a line of key hints under it.
pub(super) fn menu(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: Vec<String>,
    selected: usize,
    hint: &str,
) {
    let width = rows
        .iter()
        .chain([&hint.to_string()])
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0) as u16
        + 4;
    // Rows beyond the screen scroll: keep the selected row in view, and the hint.
    let total = rows.len();
    let fits = usize::from(area.height.saturating_sub(4)).max(1);
    let first = if total <= fits {
        0
    } else {
        selected.saturating_sub(fits - 1).min(total - fits)
    };
    let title = if total > fits {
        format!(
            "{title}({}-{} of {total}) ",
            first + 1,
            (first + fits).min(total)
        )
    } else {
        title.to_string()
    };
    let mut lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(first)
        .take(fits)
        .map(|(i, text)| {
            if i == selected {
                Line::styled(text, Style::new().add_modifier(Modifier::REVERSED))
            } else {
                Line::from(text)
            }
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::styled(
        hint.to_string(),
        Style::new().add_modifier(Modifier::DIM),
    ));
    let rect = centered(area, width, lines.len() as u16 + 2);
    popup(frame, rect, &title, lines);
}

pub(super) fn render_faults(app: &App, field: usize, frame: &mut Frame, area: Rect) {
    let rows = FAULT_FIELDS
        .iter()
        .enumerate()
        .map(|(i, name)| format!(" {name:<26} ◀ {:>8} ▶", app.fault_value(i)))
        .collect();
    let hint = " ↑↓ choose · ←→ change · re-runs at once · Esc";
    menu(frame, area, " faults ", rows, field, hint);
}

pub(super) fn render_designs(row: usize, ticked: &[String], frame: &mut Frame, area: Rect) {
    let entries = handlers::entries();
    let width = entries.iter().map(|d| d.name.len()).max().unwrap_or(0);
    let rows = entries
        .iter()
        .map(|d| {
            let mark = if ticked.iter().any(|t| t == d.name) {
                "[x]"
            } else {
                "[ ]"
            };
            let row = d.row.map(|r| format!("#{r}")).unwrap_or_default();
            // What the screen leaves after the border, the tick, the name and the row.
            let room = usize::from(area.width).saturating_sub(width + 14).min(44);
            format!(
                " {mark} {:<width$} {row:>3}  {}",
                d.name,
                cut_at_word(d.summary, room)
            )
        })
        .collect();
    let hint = " ↑↓ choose · space tick · Enter show · Esc";
    menu(frame, area, " designs ", rows, row, hint);
}

/// `text` cut to at most `width` characters at a word's end, with `…` when it was cut.
pub(super) fn cut_at_word(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 1 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let out = out.trim_end_matches([',', ';', ':', '(', '-']).to_string();
    format!("{out}…")
}

pub(super) fn render_scenarios(row: usize, frame: &mut Frame, area: Rect) {
    // The name `idemlab` and `bundled` know it by: a catalog row's file name alone.
    let stem = |file: &str| {
        let file = file.trim_end_matches(".toml");
        file.rsplit('/').next().unwrap_or(file).to_string()
    };
    let width = crate::scenario::BUNDLED
        .iter()
        .map(|(f, _)| stem(f).chars().count())
        .max()
        .unwrap_or(0);
    let rows = crate::scenario::BUNDLED
        .iter()
        .map(|(file, text)| {
            // The description is the scenario's own line; a file that does not read gets none.
            let about = crate::scenario::parse(text, file)
                .map(|s| s.description)
                .unwrap_or_default();
            let room = usize::from(area.width).saturating_sub(width + 7).min(48);
            format!(" {:<width$}  {}", stem(file), cut_at_word(&about, room))
        })
        .collect();
    let hint = " ↑↓ choose · Enter open · Esc";
    menu(frame, area, " bundled scenarios ", rows, row, hint);
}

pub(super) fn render_filter(typed: &str, frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from(format!(" show only op: {typed}▏")),
        Line::styled(
            " digits · Enter apply (empty: all) · Esc",
            Style::new().add_modifier(Modifier::DIM),
        ),
    ];
    let rect = centered(area, 44, 4);
    popup(frame, rect, " filter the log ", lines);
}
