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

/// The quoted line under an error, rustc-style, with its number in the gutter.
fn snippet_text(snippet: &Option<String>, line: usize, column: usize, width: usize) -> String {
    match snippet {
        Some(text) if !text.trim().is_empty() => {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            format!(
                "\n{pad} |\n{number} | {text}\n{pad} | {}{}",
                " ".repeat(column.saturating_sub(1)),
                "^".repeat(width.max(1))
            )
        }
        _ => String::new(),
    }
}

/// Serde names Rust types in its messages; a scenario's author thinks in TOML's.
pub(crate) fn plain_types(message: &str) -> String {
    message
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
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
