//! Anchors and relative links, so that the same links work in a markdown viewer, in the HTML
//! file and from another folder.

use std::path::{Component, Path, PathBuf};

/// The anchor GitHub (and most markdown viewers) give a heading: lower case, punctuation
/// dropped, spaces as dashes. "15. Health Checks" → "15-health-checks".
pub fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A link from a file in `from_dir` to `to`: relative when both are on one tree, with `/`
/// separators and the characters a markdown link or URL would misread escaped.
pub fn link(from_dir: &Path, to: &Path) -> String {
    let (from, to) = (absolute(from_dir), absolute(to));
    let (from, to): (Vec<Component<'_>>, Vec<Component<'_>>) =
        (from.components().collect(), to.components().collect());
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(to[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    let joined = parts.join("/");
    if common == 0 { format!("file://{}", encode(&to_slash(&to))) } else { encode(&joined) }
}

fn to_slash(components: &[Component<'_>]) -> String {
    let path: PathBuf = components.iter().collect();
    path.to_string_lossy().replace('\\', "/")
}

/// `path` made absolute against the current directory, with `.` and `..` resolved by name.
fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Percent-escapes what would end or confuse a link: spaces, parentheses, `%`, `#`, `?`,
/// angle brackets and control characters.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' | '(' | ')' | '%' | '#' | '?' | '<' | '>' | '"' | '\'' | '`' => {
                out.push_str(&format!("%{:02X}", c as u32));
            }
            c if c.is_control() => {
                let mut buf = [0; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_githubs_rule() {
        assert_eq!(
            anchor("15. Health Checks and Readiness Probes"),
            "15-health-checks-and-readiness-probes"
        );
        assert_eq!(
            anchor("5. Blue/Green Deployment Implementation"),
            "5-bluegreen-deployment-implementation"
        );
        assert_eq!(anchor("Appendix A. Readiness checklist"), "appendix-a-readiness-checklist");
    }

    #[test]
    fn links_are_relative_and_escaped() {
        let dir = Path::new("/runs/a b");
        assert_eq!(link(dir, Path::new("/runs/a b/15-health.md")), "15-health.md");
        assert_eq!(link(Path::new("/s/x.handbook"), Path::new("/s/x (1).md")), "../x%20%281%29.md");
        assert_eq!(link(Path::new("/s/./x/../y"), Path::new("/s/y/z.md")), "z.md");
    }
}
