//! The markdown shape of an answer, line by line: headings, and the blocks under them
//! (a paragraph, a list item, a table row, a code block).

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// `## …`, or a line that is wholly bold (`**Readiness probes:**`).
    Heading,
    /// Starts a block: a table row, the first line of a paragraph or of the code
    /// inside a fence.
    Opens,
    /// Starts a list item.
    Item,
    /// Continues the block above it.
    Continues,
    /// Belongs to no block: blank lines, code fences, table rules (`|---|---|`).
    Outside,
}

/// Classifies lines one after the other, remembering fences and open blocks.
#[derive(Default)]
pub(super) struct Shape {
    in_code: bool,
    /// The previous line was inside a paragraph, a list item or a code block.
    open: bool,
}

impl Shape {
    pub(super) fn line(&mut self, line: &str) -> Line {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            self.in_code = !self.in_code;
            self.open = false;
            return Line::Outside;
        }
        if self.in_code {
            let kind = if self.open { Line::Continues } else { Line::Opens };
            self.open = true;
            return kind;
        }
        let kind = if trimmed.is_empty() || is_table_rule(trimmed) {
            Line::Outside
        } else if is_heading(trimmed) {
            Line::Heading
        } else if is_list_item(trimmed) {
            Line::Item
        } else if trimmed.starts_with('|') || !self.open {
            Line::Opens
        } else {
            Line::Continues
        };
        // A table row is a block of its own: the next row opens another.
        self.open =
            matches!(kind, Line::Opens | Line::Item | Line::Continues) && !trimmed.starts_with('|');
        kind
    }
}

/// Markdown headings (`## …`) and lines that are wholly bold (`**Readiness probes:**`).
fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&hashes) {
        return line[hashes..].starts_with(' ');
    }
    let line = line.trim_end_matches(':');
    line.len() > 4
        && ((line.starts_with("**") && line.ends_with("**"))
            || (line.starts_with("__") && line.ends_with("__")))
}

/// `- x`, `* x`, `+ x`, `1. x`, `1) x`.
fn is_list_item(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix(['-', '*', '+']) {
        return rest.starts_with(' ');
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// `|---|:---:|` and the like.
fn is_table_rule(line: &str) -> bool {
    line.starts_with('|') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<Line> {
        let mut shape = Shape::default();
        text.lines().map(|l| shape.line(l)).collect()
    }

    #[test]
    fn lines_open_continue_or_stand_outside_blocks() {
        use Line::*;
        let text = "## Probes\nFirst line\nsecond line\n\n- item\n  more\n- next\n**Bold:**\n\
                    | a | b |\n|---|---|\n| 1 | 2 |\n```yaml\nkey: 1\nother: 2\n```\n## x\n1. one";
        assert_eq!(
            shape(text),
            [
                Heading, Opens, Continues, Outside, Item, Continues, Item, Heading, Opens, Outside,
                Opens, Outside, Opens, Continues, Outside, Heading, Item
            ]
        );
    }

    #[test]
    fn headings_inside_code_are_code() {
        assert_eq!(shape("```\n# comment\n```"), [Line::Outside, Line::Opens, Line::Outside]);
    }
}
