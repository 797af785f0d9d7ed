//! GitHub-style tables: recognised by their delimiter row, kept until they end, then drawn
//! with box-drawing borders and columns sized to their content. When the terminal is too
//! narrow, the widest columns wrap their cells at words; a word wider than its column runs
//! long. No cell text is ever dropped, not even cells beyond the header's count.

use super::inline::{self, Span};
use super::wrap::{self, paint, paint_str};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A table being collected: the header row, then the body rows, as cell texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// The cells of a row line: `| a | b |` or `a | b`. `\|` and pipes inside code spans do
/// not split cells.
pub fn cells(line: &str) -> Vec<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('|').unwrap_or(trimmed);
    let inner = match inner.strip_suffix('|') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => inner,
    };
    let bytes = inner.as_bytes();
    let mut cells = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => {
                let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
                let close = (i + run..bytes.len()).find(|&j| {
                    bytes[j..].iter().take_while(|&&b| b == b'`').count() == run
                        && (j == 0 || bytes[j - 1] != b'`')
                });
                i = close.map_or(i + run, |j| j + run);
            }
            b'|' => {
                cells.push(inner[start..i].trim().to_string());
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    cells.push(inner[start.min(inner.len())..].trim().to_string());
    cells
}

/// The column alignments when `line` is a delimiter row (`| --- | :-: | --: |`).
pub fn delimiter(line: &str) -> Option<Vec<Align>> {
    if !line.contains('-') {
        return None;
    }
    cells(line)
        .iter()
        .map(|cell| {
            let left = cell.starts_with(':');
            let right = cell.ends_with(':') && cell.len() > 1;
            let dashes = cell.trim_start_matches(':').trim_end_matches(':');
            if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
                return None;
            }
            Some(match (left, right) {
                (true, true) => Align::Center,
                (false, true) => Align::Right,
                _ => Align::Left,
            })
        })
        .collect()
}

impl Table {
    pub fn new(header: Vec<String>, aligns: Vec<Align>) -> Table {
        Table { aligns, rows: vec![header] }
    }

    pub fn push(&mut self, line: &str) {
        self.rows.push(cells(line));
    }

    /// The table drawn to fit `columns` display columns where it can (0: no limit).
    pub fn render(&self, columns: usize) -> String {
        let count = self.rows.iter().map(Vec::len).max().unwrap_or(0).max(self.aligns.len());
        let spans: Vec<Vec<Vec<Span>>> = self
            .rows
            .iter()
            .map(|row| {
                (0..count).map(|c| row.get(c).map_or_else(Vec::new, |t| inline::parse(t))).collect()
            })
            .collect();
        let widths = column_widths(&spans, count, columns);
        let border = |left: &str, mid: &str, right: &str| {
            let bars: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            paint_str(&format!("{left}{}{right}", bars.join(mid)), "2") + "\n"
        };
        let mut out = border("┌", "┬", "┐");
        for (r, row) in spans.iter().enumerate() {
            let base = if r == 0 { "1" } else { "" };
            let wrapped: Vec<Vec<Vec<Span>>> =
                row.iter().zip(&widths).map(|(cell, &w)| wrap::lines(cell, w)).collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            for line in 0..height {
                out.push_str(&paint_str("│", "2"));
                for (c, cell) in wrapped.iter().enumerate() {
                    let text = cell.get(line).map_or(&[][..], Vec::as_slice);
                    let align = self.aligns.get(c).copied().unwrap_or(Align::Left);
                    let (before, after) = padding(wrap::width(text), widths[c], align);
                    out.push(' ');
                    out.push_str(&" ".repeat(before));
                    out.push_str(&paint(text, base));
                    out.push_str(&" ".repeat(after));
                    out.push(' ');
                    out.push_str(&paint_str("│", "2"));
                }
                out.push('\n');
            }
            if r == 0 {
                out.push_str(&border("├", "┼", "┤"));
            }
        }
        out.push_str(&border("└", "┴", "┘"));
        out
    }
}

/// Each column's natural width, narrowed (widest first, never below its longest word) until
/// the table fits `columns`.
fn column_widths(spans: &[Vec<Vec<Span>>], count: usize, columns: usize) -> Vec<usize> {
    let measure = |c: usize, limit: usize| {
        let cell_width = |row: &Vec<Vec<Span>>| {
            wrap::lines(&row[c], limit).iter().map(|l| wrap::width(l)).max().unwrap_or(0)
        };
        spans.iter().map(cell_width).max().unwrap_or(0).max(1)
    };
    let mut widths: Vec<usize> = (0..count).map(|c| measure(c, 0)).collect();
    if columns == 0 {
        return widths;
    }
    let least: Vec<usize> = (0..count).map(|c| measure(c, 1)).collect();
    let room = columns.saturating_sub(1 + 3 * count);
    while widths.iter().sum::<usize>() > room {
        let widest = (0..count).filter(|&c| widths[c] > least[c]).max_by_key(|&c| widths[c]);
        match widest {
            Some(c) => widths[c] -= 1,
            None => break,
        }
    }
    widths
}

fn padding(used: usize, width: usize, align: Align) -> (usize, usize) {
    let free = width.saturating_sub(used);
    match align {
        Align::Left => (0, free),
        Align::Right => (free, 0),
        Align::Center => (free / 2, free - free / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::render::markdown::tests::strip_ansi as strip;

    #[test]
    fn splits_cells_but_not_escaped_or_code_pipes() {
        assert_eq!(cells("| a | b \\| c | `x|y` |"), vec!["a", "b \\| c", "`x|y`"]);
        assert_eq!(cells("a | b"), vec!["a", "b"]);
    }

    #[test]
    fn reads_alignments_from_the_delimiter_row() {
        assert_eq!(
            delimiter("| --- | :-: | --: | :--"),
            Some(vec![Align::Left, Align::Center, Align::Right, Align::Left])
        );
        assert_eq!(delimiter("| a | b |"), None);
        assert_eq!(delimiter("| - | x- |"), None);
    }

    #[test]
    fn draws_columns_sized_to_content() {
        let mut t = Table::new(cells("| probe | on failure |"), delimiter("|---|--:|").unwrap());
        t.push("| liveness | restart |");
        let drawn = strip(&t.render(80));
        assert_eq!(
            drawn,
            "┌──────────┬────────────┐\n\
             │ probe    │ on failure │\n\
             ├──────────┼────────────┤\n\
             │ liveness │    restart │\n\
             └──────────┴────────────┘\n"
        );
    }

    #[test]
    fn wraps_cells_when_narrow_and_keeps_extra_cells() {
        let mut t = Table::new(cells("| a | b |"), delimiter("|---|---|").unwrap());
        t.push("| one two three four | five | six |");
        let drawn = strip(&t.render(24));
        for word in ["one", "two", "three", "four", "five", "six"] {
            assert!(drawn.contains(word), "{word} missing in\n{drawn}");
        }
        assert!(drawn.lines().all(|l| l.chars().count() <= 24), "{drawn}");
    }
}
