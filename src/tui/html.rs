//! A screen of the TUI as HTML, from the very buffer the terminal would be sent: what the book
//! shows of the TUI. In a browser a monospace block of box-drawing, braille and symbol
//! characters drifts (the browser's fonts give them other widths, or none), so here every
//! character that is not ASCII sits in a box exactly one character wide, and colours and
//! modifiers become classes (`book/theme/idemlab.css` gives them a terminal's palette).

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// The class of a colour, as the stylesheet names it (`None`: the screen's default).
fn color_class(color: Color) -> Option<&'static str> {
    Some(match color {
        Color::Reset => return None,
        Color::Black => "black",
        Color::Red | Color::LightRed => "red",
        Color::Green | Color::LightGreen => "green",
        Color::Yellow | Color::LightYellow => "yellow",
        Color::Blue | Color::LightBlue => "blue",
        Color::Magenta | Color::LightMagenta => "magenta",
        Color::Cyan | Color::LightCyan => "cyan",
        Color::Gray | Color::White => "white",
        Color::DarkGray => "grey",
        // The TUI uses only the named colours; anything else shows as the default.
        _ => return None,
    })
}

/// The classes of one cell's style, in a fixed order.
fn classes(fg: Color, bg: Color, modifier: Modifier) -> String {
    let (mut fg, mut bg) = (color_class(fg), color_class(bg));
    let mut out = Vec::new();
    if modifier.contains(Modifier::REVERSED) {
        // Reversed: the foreground's colour behind, the screen's background in front.
        out.push(format!("bg-{}", fg.unwrap_or("fg")));
        out.push("fg-bg".to_string());
        fg = None;
        bg = None;
    }
    if let Some(c) = fg {
        out.push(format!("fg-{c}"));
    }
    if let Some(c) = bg {
        out.push(format!("bg-{c}"));
    }
    if modifier.contains(Modifier::BOLD) {
        out.push("b".to_string());
    }
    if modifier.contains(Modifier::DIM) {
        out.push("dim".to_string());
    }
    if modifier.contains(Modifier::UNDERLINED) {
        out.push("u".to_string());
    }
    out.join(" ")
}

fn escape(c: &str) -> String {
    c.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `buffer` as one `<div class="tui-screen">` (in a `<div class="tui-frame">`, which the book's
/// script marks `wide` when the screen is wider than the column), a `<div>` per row; `label` is its text for
/// screen readers. Trailing blanks of a row are kept: the screen is a fixed grid.
pub fn buffer_html(buffer: &Buffer, label: &str) -> String {
    let area = buffer.area;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<div class="tui-frame"><div class="tui-screen" role="img" aria-label="{}" style="--cols: {}">"#,
        escape(label).replace('"', "&quot;"),
        area.width
    );
    for y in area.top()..area.bottom() {
        out.push_str(r#"<div class="tui-row">"#);
        // Runs of one style and plain ASCII are written as they are; anything else gets its
        // own one-character box.
        let mut run = String::new();
        let mut run_class = String::new();
        let flush = |out: &mut String, run: &mut String, class: &str| {
            if run.is_empty() {
                return;
            }
            if class.is_empty() {
                out.push_str(run);
            } else {
                let _ = write!(out, r#"<span class="{class}">{run}</span>"#);
            }
            run.clear();
        };
        for x in area.left()..area.right() {
            let Some(cell) = buffer.cell((x, y)) else {
                continue;
            };
            let symbol = cell.symbol();
            let class = classes(cell.fg, cell.bg, cell.modifier);
            let ascii = symbol.len() == 1 && symbol.is_ascii();
            if class != run_class {
                flush(&mut out, &mut run, &run_class);
                run_class = class.clone();
            }
            if ascii {
                run.push_str(&escape(symbol));
            } else {
                let _ = write!(run, r#"<span class="g">{}</span>"#, escape(symbol));
            }
        }
        flush(&mut out, &mut run, &run_class);
        out.push_str("</div>\n");
    }
    out.push_str("</div></div>\n");
    out
}
