//! Plain text tables for listings: a header row, then rows whose cells are padded to the
//! widest cell of their column (in display columns), numbers right-aligned. The last column
//! is never padded, so no line ends in spaces.

use unicode_width::UnicodeWidthStr;

/// The table as lines; `numeric` are the indexes of right-aligned columns. Every row has as
/// many cells as the header.
pub fn table(header: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut parts: Vec<String> = Vec::new();
        for (i, cell) in cells.enumerate() {
            let pad = " ".repeat(widths.get(i).map_or(0, |w| w.saturating_sub(cell.width())));
            parts.push(match (i + 1 == widths.len(), numeric.contains(&i)) {
                (true, _) => cell.to_string(),
                (false, true) => format!("{pad}{cell}"),
                (false, false) => format!("{cell}{pad}"),
            });
        }
        parts.join("  ") + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_numbers_to_the_right_and_the_last_is_not_padded() {
        let rows = vec![
            vec!["health-checks".to_string(), "7".to_string(), "a".to_string()],
            vec!["日本".to_string(), "1,234".to_string(), "bb".to_string()],
        ];
        assert_eq!(
            table(&["TOPIC", "TOKENS", "PATH"], &rows, &[1]),
            "TOPIC          TOKENS  PATH\n\
             health-checks       7  a\n\
             日本            1,234  bb\n"
        );
    }
}
