//! The syntax of marker lines: `<!-- deepdive:turn:TOKEN key=value ... -->` opens a turn,
//! `<!-- deepdive:end:TOKEN -->` closes it.
//!
//! A value is bare (`model=gpt-4o`) when it is made of `A-Z a-z 0-9 . _ : / @ + -`, and
//! quoted otherwise (`model="my model"`), with `\\`, `\"`, `\n`, `\r`, `\t` and `\u{HEX}`
//! escapes. The writer also escapes `<` and `>`, so a marker never contains `-->` or `<!--`
//! before its end and stays one valid HTML comment.

use std::fmt::Write as _;

const PREFIX: &str = "deepdive:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Turn,
    End,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Marker<'a> {
    pub kind: Kind,
    pub boundary: &'a str,
    pub attrs: Vec<(&'a str, String)>,
}

/// The opening marker line, without line ending.
pub fn open(boundary: &str, attrs: &[(&str, String)]) -> String {
    let mut out = format!("<!-- {PREFIX}turn:{boundary}");
    for (key, value) in attrs {
        let _ = write!(out, " {key}={}", quote(value));
    }
    out.push_str(" -->");
    out
}

/// The closing marker line, without line ending.
pub fn close(boundary: &str) -> String {
    format!("<!-- {PREFIX}end:{boundary} -->")
}

/// True when a line is meant as a deepdive marker (`<!--` then `deepdive:`), whatever its token.
pub fn looks_like_marker(line: &str) -> bool {
    line.trim_start().strip_prefix("<!--").is_some_and(|rest| rest.trim_start().starts_with(PREFIX))
}

/// Where a marker carrying `boundary` starts in `line` (its `<!--`), if the line has one.
/// Allocates nothing: it is asked of every line that mentions `deepdive:`.
pub fn find_own(line: &str, boundary: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line[from..].find(PREFIX) {
        let at = from + i;
        let rest = &line[at + PREFIX.len()..];
        let token = rest.strip_prefix("turn:").or_else(|| rest.strip_prefix("end:"));
        let after = token.and_then(|t| t.strip_prefix(boundary));
        // A longer token that merely starts with this file's boundary is another file's.
        if after.is_some_and(|a| !a.starts_with(|c: char| c.is_ascii_alphanumeric())) {
            return Some(line[..at].rfind("<!--").unwrap_or(at));
        }
        from = at + PREFIX.len();
    }
    None
}

/// The text every marker line contains, whatever its boundary: lines without it are plain
/// text, so a reader can skip them unread.
pub const NEEDLE: &str = PREFIX;

/// Parses a marker that starts at the beginning of `s` and runs to the end of the line.
/// The error is a message without a line number.
pub fn parse(s: &str) -> Result<Marker<'_>, String> {
    let s = s.trim_end();
    let rest =
        s.strip_prefix("<!--").map(str::trim_start).and_then(|r| r.strip_prefix(PREFIX)).ok_or(
            "a marker must start with `<!-- deepdive:`; put it at the start of its own line",
        )?;
    let name_len = rest.find(':').unwrap_or(rest.len());
    let kind = match &rest[..name_len] {
        "turn" => Kind::Turn,
        "end" => Kind::End,
        other => {
            let other: String = other.chars().take(20).collect();
            return Err(format!(
                "unknown marker `deepdive:{other}`; markers are `deepdive:turn:TOKEN` and `deepdive:end:TOKEN`"
            ));
        }
    };
    let rest = rest[name_len..].strip_prefix(':').unwrap_or("");
    let token_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
    let (boundary, mut rest) = rest.split_at(token_len);
    if boundary.is_empty() {
        return Err("the marker has no boundary token; write the front matter's `boundary` after `deepdive:turn:` or `deepdive:end:`".into());
    }
    let mut attrs = Vec::new();
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("-->") {
            if !after.is_empty() {
                return Err("text after a marker's `-->`; move it to a line of its own".into());
            }
            break;
        }
        if trimmed.is_empty() {
            return Err("the marker is not closed; end it with ` -->` on the same line".into());
        }
        if trimmed.len() == rest.len() {
            return Err(format!("expected a space before `{}` in the marker", snippet(trimmed)));
        }
        let (key, value, after) = attribute(trimmed)?;
        attrs.push((key, value));
        rest = after;
    }
    if kind == Kind::End && !attrs.is_empty() {
        return Err(
            "a closing marker takes no attributes; write it as `<!-- deepdive:end:TOKEN -->`"
                .into(),
        );
    }
    Ok(Marker { kind, boundary, attrs })
}

/// One `key=value` at the start of `s`; returns the rest after it.
fn attribute(s: &str) -> Result<(&str, String, &str), String> {
    let key_len = s
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let key = &s[..key_len];
    let Some(rest) = s[key_len..].strip_prefix('=').filter(|_| !key.is_empty()) else {
        return Err(format!("expected an attribute like `key=value` at `{}`", snippet(s)));
    };
    if let Some(quoted) = rest.strip_prefix('"') {
        let (value, after) = unquote(quoted).map_err(|e| format!("attribute `{key}`: {e}"))?;
        return Ok((key, value, after));
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len())
        .min(rest.find("-->").unwrap_or(rest.len()));
    if end == 0 {
        return Err(format!("attribute `{key}` has no value; write {key}=VALUE or {key}=\"\""));
    }
    Ok((key, rest[..end].to_string(), &rest[end..]))
}

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '@' | '+' | '-')
}

fn quote(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_bare) {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '<' | '>' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads a quoted value whose opening `"` is already consumed; returns it and the rest.
fn unquote(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => out.push(unicode_escape(&mut chars)?),
                _ => return Err("unknown escape; use \\\\, \\\", \\n, \\r, \\t or \\u{HEX}".into()),
            },
            c => out.push(c),
        }
    }
    Err("the quoted value has no closing `\"`".into())
}

fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Result<char, String> {
    const BAD: &str =
        "bad \\u escape; write it as \\u{HEX} with 1 to 6 hex digits of a valid character";
    if chars.next().map(|(_, c)| c) != Some('{') {
        return Err(BAD.into());
    }
    let mut hex = String::new();
    for (_, c) in chars.by_ref() {
        if c == '}' {
            return u32::from_str_radix(&hex, 16)
                .ok()
                .filter(|_| (1..=6).contains(&hex.len()))
                .and_then(char::from_u32)
                .ok_or_else(|| BAD.to_string());
        }
        hex.push(c);
    }
    Err(BAD.into())
}

/// The start of `s`, short enough for an error message.
fn snippet(s: &str) -> String {
    s.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_quoting() {
        for v in
            ["gpt-4o", "", "a b", "x-->y", "<!--", "\"q\" \\", "é\n\r\t\u{0}\u{2028}", "topic:a b"]
        {
            let line = open("b1", &[("model", v.to_string())]);
            assert!(!line[..line.len() - 3].contains("-->"), "{line}");
            let m = parse(&line).unwrap();
            assert_eq!(m.attrs, vec![("model", v.to_string())], "{line}");
        }
    }

    #[test]
    fn tolerates_spacing_and_crlf() {
        let m = parse("<!--deepdive:turn:b1  role=user   kind=priming-->\r").unwrap();
        assert_eq!(m.kind, Kind::Turn);
        assert_eq!(m.attrs, vec![("role", "user".into()), ("kind", "priming".into())]);
        assert_eq!(parse("<!-- deepdive:end:b1 -->").unwrap().kind, Kind::End);
    }

    #[test]
    fn finds_own_marker_not_a_longer_token() {
        assert_eq!(find_own("x <!-- deepdive:end:b1 -->", "b1"), Some(2));
        assert_eq!(find_own("<!-- deepdive:end:b12 -->", "b1"), None);
        assert_eq!(find_own("<!-- deepdive:end:zz -->", "b1"), None);
        // The first marker of this file's boundary wins, after a foreign or longer one.
        assert_eq!(find_own("<!-- deepdive:end:b12 --> <!-- deepdive:turn:b1 -->", "b1"), Some(26));
        assert_eq!(find_own("deepdive:turn:b1 without a comment", "b1"), Some(0));
        assert_eq!(find_own("<!-- deepdive:note:b1 -->", "b1"), None);
    }

    #[test]
    fn rejects_malformed_markers() {
        for (line, needle) in [
            ("<!-- deepdive:turn:b1 role=user", "not closed"),
            ("<!-- deepdive:turn:b1 role= -->", "no value"),
            ("<!-- deepdive:turn:b1 role=\"user -->", "no closing"),
            ("<!-- deepdive:turn:b1 =x -->", "key=value"),
            ("<!-- deepdive:begin:b1 -->", "unknown marker"),
            ("<!-- deepdive:turn: role=user -->", "no boundary"),
            ("<!-- deepdive:end:b1 role=user -->", "no attributes"),
            ("<!-- deepdive:turn:b1 --> hello", "line of its own"),
            ("<!-- deepdive:turn:b1 m=\"\\q\" -->", "unknown escape"),
            ("<!-- deepdive:turn:b1 m=\"\\u{d800}\" -->", "\\u"),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
