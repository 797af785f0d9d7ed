//! Finding a code fence that a text leaves open, so the rendered file can close it after the
//! turn's block and the rest of the file does not show as code in a markdown viewer.

/// The fence line that closes a fenced code block still open at the end of `text`, if any.
/// Follows CommonMark for top-level fences (up to 3 spaces of indent, 3 or more backticks or
/// tildes, a closing fence at least as long); fences inside lists or quotes are not tracked.
pub fn unclosed(text: &str) -> Option<String> {
    let mut open: Option<(char, usize)> = None;
    for line in text.split(['\n', '\r']) {
        let rest = line.trim_start_matches(' ');
        if line.len() - rest.len() > 3 {
            continue;
        }
        let Some(c) = rest.chars().next().filter(|c| matches!(c, '`' | '~')) else {
            continue;
        };
        let run = rest.len() - rest.trim_start_matches(c).len();
        if run < 3 {
            continue;
        }
        let after = &rest[run..];
        match open {
            None if c == '~' || !after.contains('`') => open = Some((c, run)),
            Some((oc, olen))
                if c == oc && run >= olen && after.trim_matches([' ', '\t']).is_empty() =>
            {
                open = None
            }
            _ => {}
        }
    }
    open.map(|(c, n)| c.to_string().repeat(n))
}

#[cfg(test)]
mod tests {
    use super::unclosed;

    #[test]
    fn finds_open_fences() {
        assert_eq!(unclosed("text"), None);
        assert_eq!(unclosed("```rust\nfn main() {}\n```\n"), None);
        assert_eq!(unclosed("```rust\nfn main() {}\n"), Some("```".into()));
        assert_eq!(unclosed("````\n```\n"), Some("````".into()));
        assert_eq!(unclosed("~~~\r\n```\r\n"), Some("~~~".into()));
        assert_eq!(unclosed("``` a`b\n"), None);
        assert_eq!(unclosed("    ```\n"), None);
    }
}
