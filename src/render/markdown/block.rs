//! Block structure, one complete line at a time: what the line is (heading, list item,
//! quote, rule, fence, table row, paragraph) given the block it is in, and its rendering.

use super::inline::{self, Span};
use super::table::{self, Table};
use super::wrap::{self, paint, paint_str};

const RULE: &str = "2";
const CODE: &str = "36";
const QUOTE_BAR: &str = "2";
const BULLET: &str = "33";

/// The block the next line continues.
#[derive(Debug)]
enum State {
    Normal,
    /// Inside a fenced code block opened by `len` copies of `mark`, indented by `indent`.
    Code {
        mark: char,
        len: usize,
        indent: usize,
    },
    /// A line with a pipe: a table header if the next line is a delimiter row.
    MaybeTable(String),
    Table(Table),
}

#[derive(Debug)]
pub struct Blocks {
    width: usize,
    state: State,
}

impl Blocks {
    pub fn new(width: usize) -> Blocks {
        Blocks { width, state: State::Normal }
    }

    /// Renders one complete line (without its line ending) into `out`.
    pub fn line(&mut self, line: &str, out: &mut String) {
        match std::mem::replace(&mut self.state, State::Normal) {
            State::Normal => self.normal(line, out),
            State::Code { mark, len, indent } => {
                if closes_fence(line, mark, len) {
                    out.push_str(&self.rule(""));
                } else {
                    let code = strip_indent(line, indent);
                    out.push_str(&paint_str(code, CODE));
                    out.push('\n');
                    self.state = State::Code { mark, len, indent };
                }
            }
            State::MaybeTable(header) => {
                let head = table::cells(&header);
                match table::delimiter(line) {
                    Some(aligns) if aligns.len() == head.len() => {
                        self.state = State::Table(Table::new(head, aligns));
                    }
                    _ => {
                        self.plain_line(&header, out);
                        self.normal(line, out);
                    }
                }
            }
            State::Table(mut table) => {
                if !line.trim().is_empty() && line.contains('|') {
                    table.push(line);
                    self.state = State::Table(table);
                } else {
                    out.push_str(&table.render(self.width));
                    self.normal(line, out);
                }
            }
        }
    }

    /// Renders whatever is still held and starts over.
    pub fn finish(&mut self, out: &mut String) {
        match std::mem::replace(&mut self.state, State::Normal) {
            State::Normal => {}
            State::Code { .. } => out.push_str(&self.rule("")),
            State::MaybeTable(header) => self.plain_line(&header, out),
            State::Table(table) => out.push_str(&table.render(self.width)),
        }
    }

    fn normal(&mut self, line: &str, out: &mut String) {
        if let Some((mark, len, indent, info)) = opens_fence(line) {
            out.push_str(&self.rule(info));
            self.state = State::Code { mark, len, indent };
            return;
        }
        let trimmed = line.trim_start();
        if line.contains('|') && !trimmed.starts_with(['#', '>']) {
            self.state = State::MaybeTable(line.to_string());
            return;
        }
        self.plain_line(line, out);
    }

    /// A line that is neither code nor table.
    fn plain_line(&self, line: &str, out: &mut String) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            out.push('\n');
        } else if let Some((level, text)) = heading(trimmed) {
            let base = match level {
                1 => "1;4;35",
                2 => "1;35",
                _ => "1;34",
            };
            self.wrapped(&inline::parse(text), 0, "", base, out);
        } else if is_rule(trimmed) {
            out.push_str(&self.rule(""));
        } else if trimmed.starts_with('>') {
            let (depth, text) = quote(trimmed);
            let bar = paint_str(&"│ ".repeat(depth), QUOTE_BAR);
            self.wrapped(&inline::parse(text), depth * 2, &bar, "", out);
        } else if let Some((marker, text)) = list_item(trimmed) {
            let indent = indent_of(line);
            let shown = match marker {
                "-" | "*" | "+" => ["•", "◦", "▪"][(indent / 2) % 3].to_string(),
                numbered => numbered.to_string(),
            };
            let width = unicode_width::UnicodeWidthStr::width(shown.as_str());
            let first = format!("{}{} ", " ".repeat(indent), paint_str(&shown, BULLET));
            self.hanging(&inline::parse(text), indent + width + 1, &first, out);
        } else {
            let indent = indent_of(line);
            self.wrapped(&inline::parse(trimmed), indent, &" ".repeat(indent), "", out);
        }
    }

    /// Wraps `spans` with `prefix` (shown `indent` columns wide) before every line.
    fn wrapped(&self, spans: &[Span], indent: usize, prefix: &str, base: &str, out: &mut String) {
        for line in wrap::lines(spans, self.room(indent)) {
            out.push_str(prefix);
            out.push_str(&paint(&line, base));
            out.push('\n');
        }
    }

    /// Wraps `spans` with `first` before the first line and `indent` spaces before the others.
    fn hanging(&self, spans: &[Span], indent: usize, first: &str, out: &mut String) {
        for (i, line) in wrap::lines(spans, self.room(indent)).iter().enumerate() {
            if i == 0 {
                out.push_str(first);
            } else {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(&paint(line, ""));
            out.push('\n');
        }
    }

    /// Columns left for text after `indent` (0: no limit; never less than 20, so deep
    /// nesting on a narrow terminal still shows words, not one letter per line).
    fn room(&self, indent: usize) -> usize {
        if self.width == 0 { 0 } else { self.width.saturating_sub(indent).max(20) }
    }

    /// A thin rule, with `label` (a code block's language) near its start.
    fn rule(&self, label: &str) -> String {
        let width = if self.width == 0 { 40 } else { self.width.min(80) };
        let label = label.trim();
        let text = if label.is_empty() {
            "─".repeat(width)
        } else {
            let used = 4 + unicode_width::UnicodeWidthStr::width(label);
            format!("── {label} {}", "─".repeat(width.saturating_sub(used).max(3)))
        };
        paint_str(&text, RULE) + "\n"
    }
}

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// Removes up to `indent` leading spaces.
fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.bytes().take(indent).take_while(|&b| b == b' ').count();
    &line[spaces..]
}

/// `(mark, length, indent, info string)` when `line` opens a fenced code block.
fn opens_fence(line: &str) -> Option<(char, usize, usize, &str)> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    let rest = &line[indent..];
    let mark = rest.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let len = rest.chars().take_while(|&c| c == mark).count();
    let info = &rest[len..];
    (len >= 3 && !(mark == '`' && info.contains('`'))).then_some((mark, len, indent, info))
}

fn closes_fence(line: &str, mark: char, len: usize) -> bool {
    let rest = line.trim_start_matches(' ');
    let run = rest.chars().take_while(|&c| c == mark).count();
    line.len() - rest.len() <= 3 && run >= len && rest[run..].trim().is_empty()
}

/// `(level, text)` of an ATX heading, without the `#`s (leading and closing).
fn heading(trimmed: &str) -> Option<(usize, &str)> {
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    let rest = &trimmed[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim();
    let without_closing = text.trim_end_matches('#');
    let text = if without_closing.is_empty() || without_closing.ends_with(' ') {
        without_closing.trim_end()
    } else {
        text
    };
    Some((level, text))
}

/// `---`, `***`, `___`, possibly spaced: three or more of one mark and nothing else.
fn is_rule(trimmed: &str) -> bool {
    let Some(mark) = trimmed.chars().next().filter(|c| matches!(c, '-' | '*' | '_')) else {
        return false;
    };
    let marks = trimmed.chars().filter(|&c| c == mark).count();
    marks >= 3 && trimmed.chars().all(|c| c == mark || c == ' ' || c == '\t')
}

/// `(depth, text)` of a block quote line: `> > text` is depth 2.
fn quote(mut text: &str) -> (usize, &str) {
    let mut depth = 0;
    while let Some(rest) = text.strip_prefix('>') {
        depth += 1;
        text = rest.trim_start_matches(' ');
        if !text.starts_with('>') {
            break;
        }
    }
    (depth, text)
}

/// `(marker, text)` of a list item: `- x`, `* x`, `+ x`, `1. x`, `1) x`.
fn list_item(trimmed: &str) -> Option<(&str, &str)> {
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let marker_len = match trimmed.as_bytes().first()? {
        b'-' | b'*' | b'+' => 1,
        _ if (1..=9).contains(&digits)
            && matches!(trimmed.as_bytes().get(digits), Some(b'.' | b')')) =>
        {
            digits + 1
        }
        _ => return None,
    };
    let rest = &trimmed[marker_len..];
    if rest.is_empty() {
        return Some((&trimmed[..marker_len], ""));
    }
    rest.starts_with([' ', '\t']).then(|| (&trimmed[..marker_len], rest.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_headings() {
        assert_eq!(heading("## Liveness ##"), Some((2, "Liveness")));
        assert_eq!(heading("# C#"), Some((1, "C#")));
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("####### seven"), None);
    }

    #[test]
    fn recognises_rules_lists_quotes_and_fences() {
        assert!(is_rule("---") && is_rule("* * *") && !is_rule("--") && !is_rule("-- x"));
        assert_eq!(list_item("- item"), Some(("-", "item")));
        assert_eq!(list_item("12) item"), Some(("12)", "item")));
        assert_eq!(list_item("**bold** text"), None);
        assert_eq!(list_item("2026 was"), None);
        assert_eq!(quote("> > deep"), (2, "deep"));
        assert_eq!(opens_fence("```yaml"), Some(('`', 3, 0, "yaml")));
        assert_eq!(opens_fence("  ~~~~"), Some(('~', 4, 2, "")));
        assert_eq!(opens_fence("``` a`b"), None);
        assert!(closes_fence("```", '`', 3) && !closes_fence("``", '`', 3));
        assert!(!closes_fence("``` x", '`', 3));
    }
}
