//! The markdown after the front matter: a title, then per turn a decorative heading and the
//! text verbatim between an opening and a closing marker.
//!
//! Block content is the bytes between the end of the opening marker's line and the start of
//! the closing marker's line, minus the one line ending the writer adds after the text (`\n`,
//! or `\r\n` when the opening marker line itself ends in `\r\n`, i.e. an editor converted the
//! file). A closing marker written right after text on the same line ends the block there,
//! with nothing removed. Everything outside blocks is ignored.

use super::lines::{Document, Line};
use super::{ParseError, fence, marker, turn_info};
use crate::message::Role;
use crate::session::model::{AnswerStatus, Transcript, Turn, TurnInfo, TurnKind};

/// About the bytes [`render`] writes: the texts plus a generous allowance per turn for its
/// heading and markers, so that a long transcript is written into one allocation instead of
/// a string that doubles (and briefly exists twice) as it grows.
pub fn size_hint(t: &Transcript) -> usize {
    let per_turn = 256;
    let texts: usize = t.turns.iter().map(|turn| turn.text.len() + per_turn).sum();
    texts + t.meta.title.len() + 16
}

pub fn render(t: &Transcript, boundary: &str, out: &mut String) {
    out.push_str("\n# ");
    out.push_str(&one_line(&t.meta.title, "deepdive session"));
    out.push('\n');
    for (i, turn) in t.turns.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", i + 1, heading(turn)));
        out.push_str(&marker::open(boundary, &turn_info::to_attrs(turn.role, &turn.info)));
        out.push('\n');
        out.push_str(&turn.text);
        out.push('\n');
        out.push_str(&marker::close(boundary));
        out.push('\n');
        if let Some(fence) = fence::unclosed(&turn.text) {
            out.push_str(&fence);
            out.push('\n');
        }
    }
}

/// The visible heading of a turn (ignored when reading).
fn heading(turn: &Turn) -> String {
    match turn.role {
        Role::User => match &turn.info.kind {
            Some(TurnKind::Priming) => "You · priming prompt".to_string(),
            Some(TurnKind::Topic(slug)) => format!("You · topic {}", one_line(slug, "?")),
            Some(TurnKind::Followup) => "You · follow-up".to_string(),
            None => "You".to_string(),
        },
        Role::Assistant => match turn.info.status {
            Some(status) if status != AnswerStatus::Complete => {
                format!("Assistant ({})", status.as_str())
            }
            _ => "Assistant".to_string(),
        },
        Role::System => "System".to_string(),
    }
}

/// `s` with control characters as spaces, for a heading; `fallback` when that leaves nothing.
fn one_line(s: &str, fallback: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = s.trim();
    if s.is_empty() { fallback.to_string() } else { s.to_string() }
}

/// An opening marker whose block is being read.
struct Open {
    line: usize,
    role: Role,
    info: TurnInfo,
    content_start: usize,
    crlf: bool,
}

pub fn parse(doc: &Document<'_>, boundary: &str) -> Result<Vec<Turn>, ParseError> {
    let mut turns = Vec::new();
    let mut open: Option<Open> = None;
    // Only a line that mentions `deepdive:` can be a marker (or look like one).
    for line in doc.body_lines_containing(marker::NEEDLE) {
        let Some(at) = marker::find_own(line.text, boundary) else {
            if open.is_none() && marker::looks_like_marker(line.text) {
                return Err(foreign(&line, boundary));
            }
            continue;
        };
        let prefix = &line.text[..at];
        let m = marker::parse(&line.text[at..]).map_err(|e| ParseError::new(line.number, e))?;
        match (open.take(), m.kind) {
            (None, marker::Kind::Turn) => {
                if !prefix.trim().is_empty() {
                    return Err(ParseError::new(
                        line.number,
                        "a turn marker must start its own line; move the text before it to another line",
                    ));
                }
                let (role, info) =
                    turn_info::from_attrs(m.attrs).map_err(|e| ParseError::new(line.number, e))?;
                let crlf = line.text.ends_with('\r');
                open = Some(Open { line: line.number, role, info, content_start: line.end, crlf });
            }
            (None, marker::Kind::End) => {
                return Err(ParseError::new(
                    line.number,
                    "closing marker without an opening one; delete it, or add the turn's opening marker above the text",
                ));
            }
            (Some(o), marker::Kind::Turn) => return Err(unclosed(&o, boundary, Some(line.number))),
            (Some(o), marker::Kind::End) => {
                let text = if prefix.trim().is_empty() {
                    let content = &doc.text[o.content_start..line.start.max(o.content_start)];
                    strip_line_ending(content, o.crlf)
                } else {
                    &doc.text[o.content_start..line.start + at]
                };
                turns.push(Turn { role: o.role, text: text.to_string(), info: o.info });
            }
        }
    }
    match open {
        Some(o) => Err(unclosed(&o, boundary, None)),
        None => Ok(turns),
    }
}

/// The content without the line ending the writer put after the text.
fn strip_line_ending(content: &str, crlf: bool) -> &str {
    let Some(s) = content.strip_suffix('\n') else {
        return content;
    };
    if crlf { s.strip_suffix('\r').unwrap_or(s) } else { s }
}

fn unclosed(o: &Open, boundary: &str, next: Option<usize>) -> ParseError {
    let close = marker::close(boundary);
    let message = match next {
        Some(n) => format!(
            "this turn is not closed before the next turn marker on line {n}; add `{close}` after its text"
        ),
        None => format!("this turn is never closed; add `{close}` after its text"),
    };
    ParseError::new(o.line, message)
}

fn foreign(line: &Line<'_>, boundary: &str) -> ParseError {
    let message = match marker::parse(line.text.trim_start()) {
        Err(e) => e,
        Ok(m) => format!(
            "this marker's boundary `{}` is not this file's `{boundary}` (front matter `boundary`); change it to `{boundary}`",
            m.boundary
        ),
    };
    ParseError::new(line.number, message)
}
