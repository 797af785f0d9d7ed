//! Fitting an answer under a chapter: its headings moved down a level or more, everything
//! else (code, tables, lists) byte for byte, and a code block the answer left open closed.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag};

use crate::session::codec::fence;

/// `answer` with its highest heading at level `top` (1–6) and the others moved by as much,
/// never past level 6; headings are only ever moved down. Ends with a newline, and with a
/// closing fence when the answer stops inside a code block.
pub fn fit(answer: &str, top: usize) -> String {
    let headings: Vec<(usize, std::ops::Range<usize>)> = Parser::new_ext(answer, super::OPTIONS)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Heading { level, .. }) => Some((depth(level), range)),
            _ => None,
        })
        .collect();
    let shift = headings
        .iter()
        .map(|(level, _)| *level)
        .min()
        .map_or(0, |highest| top.saturating_sub(highest));
    let mut out = String::with_capacity(answer.len() + headings.len() * 2 + 8);
    let mut at = 0;
    for (level, range) in headings.iter().filter(|_| shift > 0) {
        let new = (level + shift).min(6);
        if range.start < at {
            continue;
        }
        let source = &answer[range.clone()];
        let hashes = source.find(|c: char| c != ' ').filter(|&i| source[i..].starts_with('#'));
        match hashes {
            // ATX: `## Title` becomes `#### Title`.
            Some(i) => {
                out.push_str(&answer[at..range.start + i]);
                out.push_str(&"#".repeat(new - level));
                at = range.start + i;
            }
            // Setext (`Title` over `---`), at the start of a line: rewritten as ATX.
            None if range.start == 0 || answer[..range.start].ends_with('\n') => {
                out.push_str(&answer[at..range.start]);
                let mut lines: Vec<&str> = source.lines().collect();
                lines.pop();
                let text: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
                out.push_str(&"#".repeat(new));
                out.push(' ');
                out.push_str(&text.join(" "));
                out.push('\n');
                at = range.end;
            }
            // A setext heading inside a quote or list: left as written.
            None => {}
        }
    }
    out.push_str(&answer[at..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if let Some(closing) = fence::unclosed(&out) {
        out.push_str(&closing);
        out.push('\n');
    }
    out
}

fn depth(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn headings_move_down_and_keep_their_order() {
        let answer = "# Probes\n\nText.\n\n## Liveness\n\n###### Deep\n";
        assert_eq!(fit(answer, 3), "### Probes\n\nText.\n\n#### Liveness\n\n###### Deep\n");
    }

    #[test]
    fn headings_already_low_enough_stay() {
        assert_eq!(fit("#### Low\n", 3), "#### Low\n");
        assert_eq!(fit("No headings at all", 3), "No headings at all\n");
    }

    #[test]
    fn code_tables_and_lists_are_untouched() {
        let answer = "## Config\n\n```yaml\n# not a heading\nkey: 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n    # indented code\n\n- one\n  - two\n";
        let fitted = fit(answer, 4);
        assert_eq!(fitted, answer.replacen("## Config", "#### Config", 1));
    }

    #[test]
    fn setext_headings_become_atx() {
        assert_eq!(fit("Title\n=====\n\nSub\n---\nx\n", 3), "### Title\n\n#### Sub\nx\n");
    }

    #[test]
    fn headings_in_quotes_move_too() {
        assert_eq!(fit("# Top\n\n> ## Quoted\n", 3), "### Top\n\n> #### Quoted\n");
    }

    #[test]
    fn an_open_code_block_is_closed() {
        assert_eq!(fit("```yaml\nkey: 1", 3), "```yaml\nkey: 1\n```\n");
    }
}
