//! A streaming markdown renderer for the terminal, for answers as they arrive.
//!
//! [`Style::Plain`] writes every chunk at once, byte for byte. [`Style::Color`] keeps the
//! unfinished line and renders each line when it completes: headings without their `#`s,
//! bold, emphasis, inline code, lists with hanging indentation, block quotes, rules, fenced
//! code between two thin rules, and tables, which are kept until their last row and then
//! drawn aligned. Output depends only on the text, never on how it was split into chunks,
//! and no text is ever cut: what does not fit the width wraps or runs long.
//!
//! In both styles control characters in the text are shown visibly ([`visible`]), so an
//! answer cannot send escape sequences to the terminal. A line longer than [`LONG_LINE`]
//! is rendered in pieces of about that size, so memory stays bounded whatever the answer.

mod block;
mod inline;
mod table;
mod wrap;

use std::io::{IsTerminal, Write};

use block::Blocks;

use super::sanitize::visible;

/// The longest line held back for rendering (bytes); a longer one is rendered in pieces cut
/// at a space near this length. One 50 MB paragraph otherwise costs 2 GB to lay out.
pub const LONG_LINE: usize = 64 * 1024;

/// How the renderer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// ANSI colours and layout.
    Color,
    /// The text unchanged.
    Plain,
}

/// Renders one answer as it streams in.
#[derive(Debug)]
pub struct MarkdownStream {
    style: Style,
    /// The line received so far (Color only).
    line: String,
    blocks: Blocks,
}

impl MarkdownStream {
    /// `width` is the terminal's width in columns; 0 means "do not wrap".
    pub fn new(style: Style, width: usize) -> Self {
        MarkdownStream { style, line: String::new(), blocks: Blocks::new(width) }
    }

    /// Feeds a streamed chunk and writes what can be rendered now: in Color, each line that
    /// the chunk completes (a table only once it ends).
    pub fn push(&mut self, chunk: &str, out: &mut dyn Write) -> std::io::Result<()> {
        if self.style == Style::Plain {
            // A `\r` at the end of a chunk waits: it is kept if a `\n` follows it.
            let mut text = std::mem::take(&mut self.line);
            text.push_str(chunk);
            if text.ends_with('\r') {
                text.pop();
                self.line.push('\r');
            }
            return out.write_all(visible(&text).as_bytes());
        }
        let mut rendered = String::new();
        for piece in chunk.split_inclusive('\n') {
            self.line.push_str(piece);
            let complete = self.line.ends_with('\n');
            // Cut as if the pieces had come one byte at a time: before the line ends.
            while self.line.len() - usize::from(complete) > LONG_LINE {
                let rest = self.line.split_off(long_line_cut(&self.line));
                let head = std::mem::replace(&mut self.line, rest);
                self.render_line(&head, &mut rendered);
            }
            if complete {
                let line = std::mem::take(&mut self.line);
                let line = line.trim_end_matches('\n');
                self.render_line(line.strip_suffix('\r').unwrap_or(line), &mut rendered);
            }
        }
        out.write_all(rendered.as_bytes())
    }

    fn render_line(&mut self, line: &str, rendered: &mut String) {
        self.blocks.line(&visible(line), rendered);
    }

    /// End of the answer: renders what is still held (an unfinished last line, an open
    /// table or code block) and makes the stream ready for the next answer.
    pub fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.style == Style::Plain {
            let held = std::mem::take(&mut self.line);
            out.write_all(visible(&held).as_bytes())?;
            return out.flush();
        }
        let mut rendered = String::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.render_line(line.strip_suffix('\r').unwrap_or(&line), &mut rendered);
        }
        self.blocks.finish(&mut rendered);
        out.write_all(rendered.as_bytes())?;
        out.flush()
    }
}

/// Where a line longer than [`LONG_LINE`] is cut: after the last space in its first
/// `LONG_LINE` bytes, or at `LONG_LINE` (a character boundary) when there is none. The cut
/// depends only on the text, so the output still does not depend on the chunking.
fn long_line_cut(line: &str) -> usize {
    let mut limit = LONG_LINE;
    while !line.is_char_boundary(limit) {
        limit -= 1;
    }
    match line[..limit].rfind(' ') {
        Some(space) if space > 0 => space + 1,
        _ => limit,
    }
}

/// [`Style::Color`] only when stdout is a terminal and `NO_COLOR` is unset or empty.
pub fn style_for_stdout() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stdout().is_terminal() { Style::Color } else { Style::Plain }
}

/// Plain text in lines of at most `columns` display columns, broken at whitespace (runs of
/// it become one space; 0: no limit). A word wider than `columns` gets a line of its own.
pub fn wrap_plain(text: &str, columns: usize) -> Vec<String> {
    let spans = [inline::Span { text: text.to_string(), look: inline::Look::default() }];
    wrap::lines(&spans, columns)
        .into_iter()
        .map(|line| line.into_iter().map(|span| span.text).collect())
        .collect()
}

/// The width of the terminal on stdout, when stdout is one.
pub fn stdout_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}

#[cfg(test)]
mod tests;
