//! Errors of the scenario reader, located in the file: line, column, the offending line quoted
//! and cut to a readable width around the column.

use std::ops::Range;

use toml::Spanned;

/// A scenario that could not be read, located in its file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}{}", snippet_text(.snippet, *.line, *.column, *.width))]
pub struct ScenarioError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What was wrong and what was expected.
    pub message: String,
    /// The offending line, if there is one.
    pub snippet: Option<String>,
    /// How many characters to underline.
    pub width: usize,
}

/// How many characters of the offending line an error quotes at most: a window around the
/// column, so that a one-line file of megabytes gives one readable line, not megabytes.
pub const SNIPPET_CHARS_MAX: usize = 100;

/// The quoted line under an error, rustc-style, with its number in the gutter; a long line is
/// cut to [`SNIPPET_CHARS_MAX`] characters around the column, the cuts marked `…`.
fn snippet_text(snippet: &Option<String>, line: usize, column: usize, width: usize) -> String {
    match snippet {
        Some(text) if !text.trim().is_empty() => {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            let chars: Vec<char> = text.chars().collect();
            let at = column.saturating_sub(1).min(chars.len());
            let (from, to) = if chars.len() <= SNIPPET_CHARS_MAX {
                (0, chars.len())
            } else {
                let from = at.saturating_sub(SNIPPET_CHARS_MAX / 3);
                (from, (from + SNIPPET_CHARS_MAX).min(chars.len()))
            };
            let head = if from > 0 { "…" } else { "" };
            let tail = if to < chars.len() { "…" } else { "" };
            let shown: String = chars[from..to].iter().collect();
            let width = width.max(1).min(to.saturating_sub(at).max(1));
            format!(
                "\n{pad} |\n{number} | {head}{shown}{tail}\n{pad} | {}{}",
                " ".repeat(at - from + head.chars().count()),
                "^".repeat(width)
            )
        }
        _ => String::new(),
    }
}

/// Serde names Rust types in its messages; a scenario's author thinks in TOML's. `found` is
/// the text at the error's span: TOML's date-times reach serde as maps, and `[[NAME]]` makes a
/// list of tables.
pub(crate) fn plain_types(message: &str, found: &str) -> String {
    let found = found.trim();
    if let Some(name) = found
        .strip_prefix("[[")
        .and_then(|f| f.split("]]").next())
        .map(str::trim)
        && !matches!(name, "faults" | "workload.op" | "network.partitions")
    {
        return format!(
            "`[[{name}]]` makes `{name}` a list of tables, and it is one table: write `[{name}]`"
        );
    }
    let looks_like_a_date = found.len() >= 10
        && found.as_bytes()[4] == b'-'
        && found.as_bytes()[7] == b'-'
        && found[..4].bytes().all(|b| b.is_ascii_digit());
    let mut m = message.to_string();
    if looks_like_a_date {
        m = m.replace("invalid type: map", "invalid type: a date-time");
    }
    // `expected struct RawWorkload`: the reader's own type names mean "a table".
    while let Some(at) = m.find("struct Raw") {
        let end = m[at..]
            .find(|c: char| !(c.is_alphanumeric() || c == ' '))
            .map_or(m.len(), |e| at + e);
        m.replace_range(at..end, "a table");
    }
    m = m.replace("invalid type: map", "invalid type: a table");
    m = with_a_suggestion(&m);
    m.replace("expected i64", "expected an integer")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
}

/// "unknown field `attempt_max`, expected one of `timeout`, `attempts_max`, …" with the
/// closest known name added: "(did you mean `attempts_max`?)".
fn with_a_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((given, known)) = rest.split_once('`') else {
        return message.to_string();
    };
    let names: Vec<&str> = known.split('`').skip(1).step_by(2).collect();
    let hint = crate::suggest::did_you_mean(given, names.iter().copied());
    if hint.is_empty() {
        return message.to_string();
    }
    format!(
        "unknown key `{given}`{hint}; {}",
        known.trim_start_matches(", ")
    )
}

/// Locates byte offsets in a text.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    pub(crate) origin: &'a str,
    /// Which designs exist, and their options.
    pub(crate) designs: &'a dyn super::DesignNames,
}

impl Source<'_> {
    pub(crate) fn error(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let located = span.is_some();
        let span = span.unwrap_or(0..0);
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(self.text, span.end.min(self.text.len())).max(start);
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let line_text = self.text[line_start..].lines().next().unwrap_or("");
        let in_line = (line_start + line_text.len()).min(end).max(start);
        let width = self.text[start..in_line].chars().count();
        // A line with control characters (a binary file) is not worth echoing to a terminal.
        let printable = !line_text.chars().any(|c| c.is_control() && c != '\t');
        ScenarioError {
            origin: self.origin.to_string(),
            line,
            column,
            message: message.into(),
            snippet: (located && printable).then(|| line_text.to_string()),
            width,
        }
    }

    pub(crate) fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> ScenarioError {
        self.error(Some(spanned.span()), message)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
