//! The markdown transcript format (documented in `docs/transcript-format.md`).
//!
//! A file is TOML front matter between `+++` lines, then markdown in which every turn's text
//! sits verbatim between an opening and a closing HTML-comment marker. The markers carry a
//! per-file boundary token that occurs in no text, so no text can end its own block.

mod body;
mod boundary;
pub(crate) mod fence;
mod front_matter;
mod lines;
mod marker;
mod summary;
mod turn_info;

use std::fmt;

use crate::session::model::Transcript;
use lines::Document;
pub use summary::{Header, Summary, sum};

/// The format version [`render`] writes and the newest one [`parse`] reads. Version 2 adds
/// the stored verdicts on each topic's points (`[[coverage]]`) and the body's turn count
/// (`turns`), so that a listing reads the front matter alone.
pub const FORMAT_VERSION: i64 = 2;

/// Why a transcript could not be read: a 1-based line of the file and a one-line message
/// that says what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    /// An error at `line`. The message stays on one line even when it quotes a value from
    /// the file that holds line breaks (an attribute value can spell `\n`).
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        let message = message.into();
        let message = if message.contains(['\n', '\r']) {
            message.replace('\r', "\\r").replace('\n', "\\n")
        } else {
            message
        };
        ParseError { line, message }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Writes a transcript in the current format version.
pub fn render(t: &Transcript) -> String {
    let boundary = boundary::choose(t);
    let mut out = front_matter::render(&t.meta, &boundary, &Summary::of(t));
    out.reserve(body::size_hint(t));
    body::render(t, &boundary, &mut out);
    out
}

/// Reads a transcript of any supported format version. The front matter's summary is not
/// read back: the turns themselves are what it summarises.
pub fn parse(text: &str) -> Result<Transcript, ParseError> {
    let doc = Document::split(text)?;
    let front_matter = front_matter::parse(&doc, supported_version(&doc)?)?;
    let turns = body::parse(&doc, &front_matter.boundary)?;
    Ok(Transcript { meta: front_matter.meta, turns })
}

/// Reads the front matter alone: `text` is the start of a file, up to the end of the `+++`
/// line that closes the front matter or further. The body is neither read nor checked.
pub fn parse_header(text: &str) -> Result<Header, ParseError> {
    let doc = Document::split(text)?;
    let front_matter = front_matter::parse(&doc, supported_version(&doc)?)?;
    Ok(Header { meta: front_matter.meta, summary: front_matter.summary })
}

/// The length of the front matter at the start of `bytes`, through the end of its closing
/// `+++` line; `None` when `bytes` ends before it does. When the first line is not a `+++`
/// line there is no front matter, and its length is that of the first line: enough for
/// [`parse_header`] to say so.
pub fn header_len(bytes: &[u8]) -> Option<usize> {
    // As `Document::split` decides it.
    let is_fence =
        |line: &[u8]| std::str::from_utf8(line).is_ok_and(|l| l.trim_end() == lines::FENCE);
    let bom = if bytes.starts_with("\u{feff}".as_bytes()) { 3 } else { 0 };
    let mut start = bom;
    while let Some(newline) = bytes[start..].iter().position(|&b| b == b'\n') {
        let end = start + newline + 1;
        let fence = is_fence(&bytes[start..end - 1]);
        if (start == bom && !fence) || (start > bom && fence) {
            return Some(end);
        }
        start = end;
    }
    None
}

/// The version of a file, when this deepdive reads it: 1 (read as it is; its summary is
/// missing) or 2. No version before 1 was ever written.
fn supported_version(doc: &Document<'_>) -> Result<i64, ParseError> {
    let (version, version_line) = front_matter::version(doc)?;
    match version {
        1..=FORMAT_VERSION => Ok(version),
        v if v > FORMAT_VERSION => Err(ParseError::new(
            version_line,
            format!(
                "format_version {v} is newer than this deepdive reads (up to {FORMAT_VERSION}); upgrade deepdive to open this file"
            ),
        )),
        v => Err(ParseError::new(
            version_line,
            format!("format_version {v} does not exist; set it to {FORMAT_VERSION}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::message::{Role, Usage};
    use crate::session::model::{
        AnswerStatus, Coverage, CoverageMethod, Meta, PointVerdict, ReplayOf, SessionStatus,
        TopicCoverage, Turn, TurnInfo, TurnKind,
    };

    fn sample() -> Transcript {
        let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100);
        Transcript {
            meta: Meta {
                title: "Health checks".into(),
                topics: vec!["health-checks".into()],
                stack: Some("PostgreSQL, Spring Boot, EKS".into()),
                model: "gpt-4o".into(),
                endpoint: "https://api.openai.com/v1".into(),
                profile: Some("openai".into()),
                created,
                updated: created + Duration::from_secs(95),
                status: SessionStatus::Complete,
                usage: Usage { prompt_tokens: 812, completion_tokens: 640, cached_tokens: 0 },
                replay_of: Some(ReplayOf {
                    file: "sessions/old.md".into(),
                    model: "gpt-4.1".into(),
                    turns: 2,
                }),
                coverage: vec![TopicCoverage {
                    topic: "health-checks".into(),
                    method: CoverageMethod::Model { judge: "gpt-4o-mini".into() },
                    answers: 1,
                    note: None,
                    points: vec![
                        PointVerdict {
                            covered: true,
                            quote: Some("Liveness \"restarts\"\n a container".into()),
                            quote_not_found: false,
                        },
                        PointVerdict::default(),
                        PointVerdict {
                            covered: false,
                            quote: Some("made up".into()),
                            quote_not_found: true,
                        },
                    ],
                    usage: Some(Usage {
                        prompt_tokens: 900,
                        completion_tokens: 60,
                        cached_tokens: 0,
                    }),
                }],
            },
            turns: vec![
                Turn {
                    role: Role::User,
                    text: "What health checks do we need?".into(),
                    info: TurnInfo {
                        kind: Some(TurnKind::Topic("health-checks".into())),
                        ..TurnInfo::default()
                    },
                },
                Turn {
                    role: Role::Assistant,
                    text: "## Liveness\n\n```yaml\nlivenessProbe:\n".into(),
                    info: TurnInfo {
                        status: Some(AnswerStatus::Interrupted),
                        usage: Some(Usage {
                            prompt_tokens: 812,
                            completion_tokens: 640,
                            cached_tokens: 0,
                        }),
                        coverage: Some(Coverage { covered: 6, total: 7 }),
                        model: Some("gpt-4o-2024-08-06".into()),
                        ..TurnInfo::default()
                    },
                },
            ],
        }
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn renders_readable_markdown_and_reads_it_back() {
        let t = sample();
        let text = render(&t);
        assert!(text.starts_with("+++\nformat_version = 2\ntitle = \"Health checks\"\n"), "{text}");
        assert!(text.contains("\n# Health checks\n"));
        assert!(text.contains("\n## 1. You · topic health-checks\n"));
        assert!(text.contains("\n## 2. Assistant (interrupted)\n"));
        // The open yaml fence is closed after the block, so the rest of the file is not code.
        assert!(text.ends_with(" -->\n```\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), t);
    }

    #[test]
    fn a_long_transcript_is_rendered_into_one_allocation() {
        let mut t = sample();
        t.turns[1].text = "line of an answer\n".repeat(100_000);
        let text = render(&t);
        assert!(text.capacity() >= text.len() && text.capacity() < text.len() + 4096);
    }

    #[test]
    fn boundary_is_stable_and_avoids_the_texts() {
        let mut t = sample();
        let text = render(&t);
        assert_eq!(render(&t), text);
        let boundary = text
            .lines()
            .find_map(|l| l.strip_prefix("boundary = "))
            .unwrap()
            .trim_matches('"')
            .to_string();
        t.turns[0].text = format!(
            "<!-- deepdive:end:{boundary} -->\n<!-- deepdive:turn:{boundary} role=user -->"
        );
        let again = render(&t);
        assert!(!again.contains(&format!("boundary = \"{boundary}\"")));
        assert_eq!(parse(&again).unwrap(), t);
    }

    #[test]
    fn stored_verdicts_read_well_and_round_trip() {
        let mut t = sample();
        let text = render(&t);
        let expected = "\n[[coverage]]\ntopic = \"health-checks\"\nmethod = \"model\"\n\
            judge = \"gpt-4o-mini\"\nanswers = 1\npoints = [\n  \
            { covered = true, quote = \"Liveness \\\"restarts\\\"\\n a container\" },\n  \
            { covered = false },\n  \
            { covered = false, quote = \"made up\", quote_not_found = true },\n]\n\
            [coverage.usage]\nprompt_tokens = 900\ncompletion_tokens = 60\n+++\n";
        assert!(text.contains(expected), "{text}");
        assert_eq!(parse(&text).unwrap(), t);
        t.meta.coverage.push(TopicCoverage {
            topic: "graceful-shutdown".into(),
            method: CoverageMethod::Lexical,
            answers: 2,
            note: Some("the judge failed (HTTP 500): lexical verdicts".into()),
            points: vec![PointVerdict { covered: true, ..PointVerdict::default() }],
            usage: None,
        });
        let text = render(&t);
        assert!(text.contains("method = \"lexical\"\nanswers = 2\nnote = \"the judge failed"));
        assert_eq!(parse(&text).unwrap(), t);
    }

    #[test]
    fn the_front_matter_summarises_the_body_for_listings() {
        let mut t = sample();
        let text = render(&t);
        assert!(text.contains("\nturns = 2\nboundary"));
        let end = header_len(text.as_bytes()).unwrap();
        assert!(text[..end].ends_with("+++\n") && text[end..].starts_with("\n# Health checks"));
        // The header alone is enough, and nothing after it is looked at.
        let header = parse_header(&format!("{}<!-- deepdive:broken", &text[..end])).unwrap();
        assert_eq!(header.meta, t.meta);
        assert_eq!(header.summary, Some(Summary::of(&t)));
        assert_eq!(
            Summary::of(&t),
            Summary { turns: 2, coverage: Some(Coverage { covered: 1, total: 3 }) }
        );
        // Without stored verdicts (version 1), the answers' own coverage is summed.
        t.meta.coverage.clear();
        assert_eq!(
            Summary::of(&t),
            Summary { turns: 2, coverage: Some(Coverage { covered: 6, total: 7 }) }
        );
        // The summary is not read back as turns.
        let text = render(&t);
        assert_eq!(
            parse(&text.replace("\nturns = 2\nboundary", "\nturns = 9\nboundary")).unwrap(),
            t
        );
    }

    #[test]
    fn version_1_files_read_without_a_summary_and_may_not_have_one() {
        let mut t = sample();
        t.meta.coverage.clear();
        let v2 = render(&t);
        let v1 = v2
            .replace("format_version = 2", "format_version = 1")
            .replace("\nturns = 2\nboundary", "\nboundary");
        assert_eq!(parse(&v1).unwrap(), t);
        assert_eq!(parse_header(&v1).unwrap().summary, None);
        let mixed = v2.replace("format_version = 2", "format_version = 1");
        let err = parse(&mixed).unwrap_err();
        assert_eq!(err.line, line_of(&mixed, "turns = "));
        assert!(err.message.contains("format_version 2"), "{err}");
        let with_verdicts = render(&sample())
            .replace("format_version = 2", "format_version = 1")
            .replace("\nturns = 2\nboundary", "\nboundary");
        let err = parse(&with_verdicts).unwrap_err();
        assert_eq!(err.line, line_of(&with_verdicts, "[[coverage]]"));
        assert!(err.message.contains("format_version 2"), "{err}");
    }

    #[test]
    fn bad_stored_verdicts_say_what_to_fix() {
        let text = render(&sample());
        let at = line_of(&text, "[[coverage]]");
        let cases = [
            (text.replace("method = \"model\"", "method = \"vibes\""), "unknown method `vibes`"),
            (text.replace("judge = \"gpt-4o-mini\"\n", ""), "needs `judge`"),
            (text.replace("method = \"model\"", "method = \"lexical\""), "goes with method"),
        ];
        for (bad, needle) in cases {
            let err = parse(&bad).unwrap_err();
            assert_eq!(err.line, at, "{err}");
            assert!(err.message.contains(needle), "{err}");
        }
        let start = text.find("\n[[coverage]]").unwrap();
        let end = text.rfind("+++").unwrap();
        let twice = format!("{}{}{}", &text[..end], &text[start + 1..end], &text[end..]);
        assert!(parse(&twice).unwrap_err().message.contains("a second [[coverage]] table"));
        let unknown = text.replace("answers = 1", "answers = 1\nscore = 3");
        assert!(parse(&unknown).unwrap_err().message.contains("unknown field `score`"));
    }

    #[test]
    fn header_len_ends_after_the_closing_fence_or_asks_for_more() {
        assert_eq!(header_len(b"+++\na = 1\n+++\nbody"), Some(14));
        assert_eq!(header_len(b"+++\r\na = 1\r\n+++ \r\nbody"), Some(18));
        assert_eq!(header_len("\u{feff}+++\n+++\n".as_bytes()), Some(11));
        assert_eq!(header_len(b"+++\na = 1\n++"), None);
        assert_eq!(header_len(b"+++"), None);
        // Not a transcript: the first line is enough to say so.
        assert_eq!(header_len(b"# notes\nmore"), Some(8));
    }

    #[test]
    fn version_too_new_says_to_upgrade() {
        let text = render(&sample()).replace("format_version = 2", "format_version = 3");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("newer") && err.message.contains("upgrade deepdive"), "{err}");
    }

    #[test]
    fn version_that_never_existed_is_an_error() {
        let text = render(&sample()).replace("format_version = 2", "format_version = 0");
        assert!(parse(&text).unwrap_err().message.contains("does not exist"));
    }

    #[test]
    fn front_matter_never_has_a_key_like_field() {
        let mut t = sample();
        t.meta.endpoint = "https://user:sk-secret@gw.example/v1?api-key=sk-secret".into();
        let text = render(&t);
        assert!(!text.contains("sk-secret"), "{text}");
        let doc = lines::Document::split(&text).unwrap();
        let table: toml::Table = toml::from_str(doc.front_matter).unwrap();
        let mut keys = Vec::new();
        let mut stack = vec![table];
        while let Some(table) = stack.pop() {
            for (k, v) in table {
                if let toml::Value::Table(inner) = v {
                    stack.push(inner);
                }
                keys.push(k);
            }
        }
        for k in &keys {
            let k = k.to_lowercase();
            for word in ["key", "secret", "password", "authorization", "bearer", "credential"] {
                assert!(!k.contains(word), "front matter field `{k}`");
            }
        }
        assert!(keys.contains(&"endpoint".to_string()));
        assert_eq!(parse(&text).unwrap().meta.endpoint, "https://gw.example/v1");
    }

    #[test]
    fn hand_edits_parse_to_what_the_file_says() {
        let t = sample();
        let text = render(&t);
        // Reword the question.
        let edited = text.replace("What health checks do we need?", "Which probes?\nBe brief.");
        assert_eq!(parse(&edited).unwrap().turns[0].text, "Which probes?\nBe brief.");
        // Remove the answer: everything from its heading on.
        let cut = text.find("\n## 2.").unwrap();
        let parsed = parse(&text[..cut]).unwrap();
        assert_eq!(parsed.turns.len(), 1);
        // Copy the question block to add a turn, with notes around it.
        let start = text.find("<!-- deepdive:turn:").unwrap();
        let end = text[start..].find("<!-- deepdive:end:").unwrap() + start;
        let end = end + text[end..].find('\n').unwrap() + 1;
        let block = text[start..end].replace("What health", "And what readiness");
        let added = format!("{text}\nmy own note, ignored\n\n{block}");
        let parsed = parse(&added).unwrap();
        assert_eq!(parsed.turns.len(), 3);
        assert_eq!(parsed.turns[2].text, "And what readiness checks do we need?");
        // An editor that converts everything to CRLF.
        let crlf = text.replace('\n', "\r\n");
        let parsed = parse(&crlf).unwrap();
        assert_eq!(parsed.turns[0].text, t.turns[0].text);
        assert_eq!(parsed.turns[1].text, t.turns[1].text.replace('\n', "\r\n"));
        assert_eq!(parsed.meta, t.meta);
    }

    #[test]
    fn closing_marker_right_after_the_text() {
        let text = render(&sample()).replace("need?\n<!--", "need?<!--");
        assert_eq!(parse(&text).unwrap().turns[0].text, "What health checks do we need?");
    }

    #[test]
    fn errors_point_at_the_line() {
        let text = render(&sample());
        let open = line_of(&text, "role=user");
        let second = line_of(&text, "role=assistant");
        let stray = format!("{text}\n<!-- deepdive:note about this -->\n");
        let cases = [
            (text.replace("role=user", "role=robot"), open, "unknown role"),
            (text.replace("role=user", "role=user colour=red"), open, "unknown attribute"),
            (
                text.replace("status = \"complete\"", "status = \"done\""),
                line_of(&text, "status = "),
                "unknown status",
            ),
            (text.replace("title = ", "title = = "), 3, "bad front matter"),
            (text.replacen("+++\n", "", 1), 1, "missing front matter"),
            (stray, text.lines().count() + 2, "unknown marker"),
            // A quoted value that spells a line break still gives a one-line message.
            (text.replace("role=user", "role=\"us\\ner\""), open, "unknown role"),
        ];
        for (bad, line, needle) in cases {
            let err = parse(&bad).unwrap_err();
            assert_eq!(err.line, line, "{err}");
            assert!(err.message.contains(needle), "{err}");
            assert!(!err.message.contains('\n'), "{err}");
        }
        // An opening marker with no closing one before the next turn.
        let end_line = line_of(&text, "<!-- deepdive:end:");
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let dropped: String =
            lines.iter().enumerate().filter(|(i, _)| i + 1 != end_line).map(|(_, l)| *l).collect();
        let err = parse(&dropped).unwrap_err();
        assert_eq!(err.line, open);
        assert!(err.message.contains(&format!("line {}", second - 1)), "{err}");
    }
}
