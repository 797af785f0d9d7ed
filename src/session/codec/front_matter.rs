//! The TOML header: written by hand (one key per line, single-line strings, fixed order) so
//! that no value can break out of it; read with `toml`, which reports where an error is.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::lines::{Document, FENCE};
use super::summary::Summary;
use super::{FORMAT_VERSION, ParseError};
use crate::message::Usage;
use crate::session::model::{
    CoverageMethod, Meta, PointVerdict, ReplayOf, SessionStatus, TopicCoverage,
};
use crate::session::time;

/// Writes the front matter, both `+++` lines included.
pub fn render(meta: &Meta, boundary: &str, summary: &Summary) -> String {
    let mut out = format!("{FENCE}\n");
    let mut key = |name: &str, value: &str| {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{name} = {value}");
    };
    key("format_version", &FORMAT_VERSION.to_string());
    key("title", &string(&meta.title));
    let topics: Vec<String> = meta.topics.iter().map(|t| string(t)).collect();
    key("topics", &format!("[{}]", topics.join(", ")));
    if let Some(stack) = &meta.stack {
        key("stack", &string(stack));
    }
    key("model", &string(&meta.model));
    key("endpoint", &string(&crate::secret::bare_url(&meta.endpoint)));
    if let Some(profile) = &meta.profile {
        key("profile", &string(profile));
    }
    key("created", &string(&time::format(meta.created)));
    key("updated", &string(&time::format(meta.updated)));
    key("status", &string(meta.status.as_str()));
    key("turns", &summary.turns.to_string());
    key("boundary", &string(boundary));
    let _ = write!(
        out,
        "\n[usage]\nprompt_tokens = {}\ncompletion_tokens = {}\n",
        toml_int(meta.usage.prompt_tokens),
        toml_int(meta.usage.completion_tokens)
    );
    if meta.usage.cached_tokens > 0 {
        let _ = writeln!(out, "cached_tokens = {}", toml_int(meta.usage.cached_tokens));
    }
    if let Some(r) = &meta.replay_of {
        let _ = write!(
            out,
            "\n[replay_of]\nfile = {}\nmodel = {}\nturns = {}\n",
            string(&r.file),
            string(&r.model),
            r.turns
        );
    }
    for entry in &meta.coverage {
        render_coverage(&mut out, entry);
    }
    out.push_str(FENCE);
    out.push('\n');
    out
}

/// One `[[coverage]]` table: a topic's verdicts, one point per line so that the file still
/// reads well, in the topic's Cover: order.
fn render_coverage(out: &mut String, entry: &TopicCoverage) {
    let _ = write!(out, "\n[[coverage]]\ntopic = {}\n", string(&entry.topic));
    match &entry.method {
        CoverageMethod::Lexical => out.push_str("method = \"lexical\"\n"),
        CoverageMethod::Model { judge } => {
            let _ = write!(out, "method = \"model\"\njudge = {}\n", string(judge));
        }
    }
    let _ = writeln!(out, "answers = {}", entry.answers);
    if let Some(note) = &entry.note {
        let _ = writeln!(out, "note = {}", string(note));
    }
    out.push_str("points = [\n");
    for point in &entry.points {
        let _ = write!(out, "  {{ covered = {}", point.covered);
        if let Some(quote) = &point.quote {
            let _ = write!(out, ", quote = {}", string(quote));
        }
        if point.quote_not_found {
            out.push_str(", quote_not_found = true");
        }
        out.push_str(" },\n");
    }
    out.push_str("]\n");
    if let Some(usage) = entry.usage {
        let _ = write!(
            out,
            "[coverage.usage]\nprompt_tokens = {}\ncompletion_tokens = {}\n",
            toml_int(usage.prompt_tokens),
            toml_int(usage.completion_tokens)
        );
    }
}

/// Reads `format_version` alone, so that a file from a newer deepdive is reported as such
/// rather than as unknown keys. Returns the version and its line.
pub fn version(doc: &Document<'_>) -> Result<(i64, usize), ParseError> {
    #[derive(Deserialize)]
    struct Probe {
        format_version: Option<Spanned<i64>>,
    }
    let probe: Probe = toml::from_str(doc.front_matter).map_err(|e| toml_error(doc, &e))?;
    match probe.format_version {
        Some(v) => Ok((*v.get_ref(), doc.front_matter_line_at(v.span().start))),
        None => Err(ParseError::new(
            doc.front_matter_line - 1,
            format!(
                "the front matter has no `format_version`; add `format_version = {FORMAT_VERSION}`"
            ),
        )),
    }
}

/// What a front matter holds: the metadata, the boundary token of the markers and, from
/// version 2 on, the summary of the body.
pub struct FrontMatter {
    pub meta: Meta,
    pub boundary: String,
    pub summary: Option<Summary>,
}

/// Reads a version 1 or 2 front matter. Version 2 adds the summary of the body (`turns`) and
/// the stored verdicts (`[[coverage]]`), which a version 1 file must not have.
pub fn parse(doc: &Document<'_>, version: i64) -> Result<FrontMatter, ParseError> {
    let fm: Keys = toml::from_str(doc.front_matter).map_err(|e| toml_error(doc, &e))?;
    if version < 2 {
        let added = [
            ("turns", fm.turns.as_ref().map(Spanned::span)),
            ("[[coverage]]", fm.coverage.first().map(Spanned::span)),
        ];
        if let Some((key, Some(span))) = added.into_iter().find(|(_, span)| span.is_some()) {
            return Err(ParseError::new(
                doc.front_matter_line_at(span.start),
                format!("`{key}` is a format_version 2 key; remove it, or set format_version = 2"),
            ));
        }
    }
    let mut coverage = Vec::with_capacity(fm.coverage.len());
    for entry in fm.coverage {
        let line = doc.front_matter_line_at(entry.span().start);
        let entry = entry.into_inner().into_model().map_err(|m| ParseError::new(line, m))?;
        if coverage.iter().any(|c: &TopicCoverage| c.topic == entry.topic) {
            return Err(ParseError::new(
                line,
                format!("a second [[coverage]] table for topic `{}`; keep one", entry.topic),
            ));
        }
        coverage.push(entry);
    }
    let boundary_line = doc.front_matter_line_at(fm.boundary.span().start);
    let boundary = fm.boundary.into_inner();
    if boundary.is_empty()
        || boundary.len() > 64
        || !boundary.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ParseError::new(
            boundary_line,
            "`boundary` must be 1 to 64 ASCII letters and digits; put back the token the turn markers use",
        ));
    }
    let meta = Meta {
        title: fm.title,
        topics: fm.topics,
        stack: fm.stack,
        model: fm.model,
        endpoint: fm.endpoint,
        profile: fm.profile,
        created: fm.created,
        updated: fm.updated,
        status: fm.status,
        usage: Usage {
            prompt_tokens: fm.usage.prompt_tokens,
            completion_tokens: fm.usage.completion_tokens,
            cached_tokens: fm.usage.cached_tokens,
        },
        replay_of: fm.replay_of.map(|r| ReplayOf { file: r.file, model: r.model, turns: r.turns }),
        coverage,
    };
    let summary = fm.turns.map(|turns| Summary {
        turns: usize::try_from(turns.into_inner()).unwrap_or(usize::MAX),
        coverage: Summary::of_entries(&meta.coverage),
    });
    Ok(FrontMatter { meta, boundary, summary })
}

/// The keys of versions 1 and 2.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    #[serde(rename = "format_version")]
    _format_version: i64,
    title: String,
    #[serde(default)]
    topics: Vec<String>,
    stack: Option<String>,
    model: String,
    endpoint: String,
    profile: Option<String>,
    #[serde(deserialize_with = "de_time")]
    created: SystemTime,
    #[serde(deserialize_with = "de_time")]
    updated: SystemTime,
    #[serde(deserialize_with = "de_status")]
    status: SessionStatus,
    /// Version 2.
    turns: Option<Spanned<u64>>,
    boundary: Spanned<String>,
    #[serde(default)]
    usage: UsageV1,
    replay_of: Option<ReplayOfV1>,
    /// Version 2.
    #[serde(default)]
    coverage: Vec<Spanned<CoverageV2>>,
}

/// One `[[coverage]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageV2 {
    topic: String,
    method: String,
    judge: Option<String>,
    answers: u32,
    note: Option<String>,
    points: Vec<PointV2>,
    usage: Option<UsageV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointV2 {
    covered: bool,
    quote: Option<String>,
    #[serde(default)]
    quote_not_found: bool,
}

impl CoverageV2 {
    /// The stored entry; the error says what to fix.
    fn into_model(self) -> Result<TopicCoverage, String> {
        let topic = &self.topic;
        let method = match (self.method.as_str(), self.judge) {
            ("lexical", None) => CoverageMethod::Lexical,
            ("model", Some(judge)) => CoverageMethod::Model { judge },
            ("lexical", Some(_)) => {
                return Err(format!(
                    "[[coverage]] of `{topic}`: `judge` goes with method = \"model\"; remove it"
                ));
            }
            ("model", None) => {
                return Err(format!(
                    "[[coverage]] of `{topic}`: method = \"model\" needs `judge`, the judge's model"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "[[coverage]] of `{topic}`: unknown method `{other}`; use \"lexical\" or \"model\""
                ));
            }
        };
        let points = self
            .points
            .into_iter()
            .map(|p| PointVerdict {
                covered: p.covered,
                quote: p.quote,
                quote_not_found: p.quote_not_found,
            })
            .collect();
        Ok(TopicCoverage {
            topic: self.topic,
            method,
            answers: self.answers,
            note: self.note,
            points,
            usage: self.usage.map(|u| Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                cached_tokens: u.cached_tokens,
            }),
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageV1 {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayOfV1 {
    file: String,
    model: String,
    turns: u32,
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_rfc3339(&s).map_err(|_| {
        serde::de::Error::custom(format!("`{s}` is not a UTC time like \"2026-11-27T04:35:12Z\""))
    })
}

fn de_status<'de, D: Deserializer<'de>>(d: D) -> Result<SessionStatus, D::Error> {
    let s = String::deserialize(d)?;
    SessionStatus::parse(&s).ok_or_else(|| {
        let all: Vec<&str> = SessionStatus::ALL.iter().map(|v| v.as_str()).collect();
        serde::de::Error::custom(format!("unknown status `{s}` (known: {})", all.join(", ")))
    })
}

fn toml_error(doc: &Document<'_>, e: &toml::de::Error) -> ParseError {
    let line = match e.span() {
        Some(span) => doc.front_matter_line_at(span.start),
        None => doc.front_matter_line - 1,
    };
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    ParseError::new(
        line,
        format!("bad front matter: {message}; fix the TOML between the `+++` lines"),
    )
}

/// A TOML basic string on one line: quotes, backslashes and control characters escaped.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// TOML integers are signed 64-bit; a larger count (never seen in practice) is capped.
fn toml_int(n: u64) -> u64 {
    n.min(i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_stay_on_one_line() {
        let s = string("a\n+++\r\"b\"\\\u{7f}\u{0}");
        assert!(!s.contains('\n') && !s.contains('\r'));
        let parsed: toml::Table = toml::from_str(&format!("k = {s}")).unwrap();
        assert_eq!(parsed["k"].as_str(), Some("a\n+++\r\"b\"\\\u{7f}\u{0}"));
    }
}
