//! One topic file: TOML front matter between `+++` lines, then the prompt text, whose
//! "Cover:" bullets and closing request ("Include …") are parsed into data.

use serde::Deserialize;

use super::error::{FileProblem, is_slug};
use super::{Origin, Topic};

/// The keys a topic file's front matter may hold; any other key is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    number: u32,
    slug: String,
    title: String,
    /// Noun phrase for follow-up placeholders; defaults to the title in lower case.
    noun: Option<String>,
    #[serde(default)]
    related: Vec<String>,
}

/// Parses a whole topic file. Whether `related` slugs exist is checked by the library,
/// which knows every topic.
pub(super) fn parse(text: &str, origin: Origin) -> Result<Topic, FileProblem> {
    let (front, body) = split_front_matter(text)?;
    // The front matter starts on the file's second line.
    let fm: FrontMatter = toml::from_str(front).map_err(|e| toml_problem(front, &e, 1))?;
    if fm.number == 0 {
        return Err(FileProblem::ZeroNumber);
    }
    if !is_slug(&fm.slug) {
        return Err(FileProblem::InvalidSlug(fm.slug));
    }
    if let Some(bad) = fm.related.iter().find(|r| !is_slug(r)) {
        return Err(FileProblem::InvalidSlug(bad.clone()));
    }
    let title = fm.title.trim();
    if title.is_empty() {
        return Err(FileProblem::EmptyTitle);
    }
    let noun = match fm.noun.as_deref().map(str::trim) {
        Some(noun) if !noun.is_empty() => noun.to_string(),
        _ => title.to_lowercase(),
    };
    let prompt = trim_blank_ends(body);
    let (cover, include) = parse_cover(prompt)?;
    Ok(Topic {
        number: fm.number,
        slug: fm.slug,
        title: title.to_string(),
        noun,
        related: fm.related,
        prompt: prompt.to_string(),
        cover,
        include,
        origin,
    })
}

/// Splits `+++\n<front matter>+++\n<body>` into its two parts.
fn split_front_matter(text: &str) -> Result<(&str, &str), FileProblem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileProblem::Empty);
    }
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "+++" {
        return Err(FileProblem::NoFrontMatter);
    }
    let front_start = first.len();
    let mut offset = front_start;
    for line in lines {
        if line.trim_end() == "+++" {
            return Ok((&text[front_start..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err(FileProblem::UnclosedFrontMatter)
}

/// A TOML error as a one-line problem with the line it is on, counted in the whole file
/// (`lines_before` = lines of the file before `src` starts).
pub(super) fn toml_problem(src: &str, err: &toml::de::Error, lines_before: usize) -> FileProblem {
    let line_in_src = err.span().map_or(1, |span| {
        let start = span.start.min(src.len());
        src.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count() + 1
    });
    FileProblem::Toml {
        line: line_in_src + lines_before,
        message: err.message().trim().to_string(),
    }
}

/// The text without blank lines at its start and end (inner lines are kept byte for byte).
pub(super) fn trim_blank_ends(text: &str) -> &str {
    let start = text.len() - text.trim_start().len();
    // Keep leading spaces of the first real line: only drop whole blank lines.
    let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    text[start..].trim_end_matches(['\n', '\r'])
}

/// The bullets after the "Cover:" line and the last paragraph after them.
fn parse_cover(prompt: &str) -> Result<(Vec<String>, String), FileProblem> {
    let mut lines = prompt.lines();
    if !lines.by_ref().any(|line| line.trim() == "Cover:") {
        return Err(FileProblem::NoCover);
    }
    let mut cover: Vec<String> = Vec::new();
    let mut lines = lines.peekable();
    while let Some(line) = lines.peek() {
        let trimmed = line.trim();
        if let Some(item) = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* ")) {
            cover.push(item.trim().to_string());
        } else if trimmed.is_empty() && cover.is_empty() {
            // Blank lines between "Cover:" and the first bullet.
        } else if let (Some(last), true) = (cover.last_mut(), line.starts_with([' ', '\t'])) {
            // An indented line continues the previous bullet.
            if !trimmed.is_empty() {
                last.push(' ');
                last.push_str(trimmed);
            }
        } else {
            break;
        }
        lines.next();
    }
    if cover.is_empty() {
        return Err(FileProblem::NoCover);
    }
    let mut include = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    for line in lines.chain([""]) {
        if line.trim().is_empty() {
            if !paragraph.is_empty() {
                include = paragraph.join("\n");
                paragraph.clear();
            }
        } else {
            paragraph.push(line.trim_end());
        }
    }
    if include.is_empty() {
        return Err(FileProblem::NoInclude);
    }
    Ok((cover, include))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\n\
        number = 21\n\
        slug = \"feature-flags\"\n\
        title = \"Feature Flags\"\n\
        related = [\"blue-green\"]\n\
        +++\n\
        Provide detailed guidance on feature flags.\n\
        \n\
        Cover:\n\
        - Flag lifecycle\n\
        - Kill switches\n\
        \x20 for emergencies\n\
        \n\
        Include a checklist of flag hygiene.\n";

    fn problem(text: &str) -> FileProblem {
        parse(text, Origin::Builtin).unwrap_err()
    }

    #[test]
    fn parses_front_matter_prompt_cover_and_include() {
        let topic = parse(GOOD, Origin::Builtin).unwrap();
        assert_eq!(topic.number, 21);
        assert_eq!(topic.slug, "feature-flags");
        assert_eq!(topic.title, "Feature Flags");
        assert_eq!(topic.noun, "feature flags");
        assert_eq!(topic.related, ["blue-green"]);
        assert!(topic.prompt.starts_with("Provide detailed guidance"));
        assert!(topic.prompt.ends_with("flag hygiene."));
        assert_eq!(topic.cover, ["Flag lifecycle", "Kill switches for emergencies"]);
        assert_eq!(topic.include, "Include a checklist of flag hygiene.");
    }

    #[test]
    fn accepts_crlf_line_endings() {
        let topic = parse(&GOOD.replace('\n', "\r\n"), Origin::Builtin).unwrap();
        assert_eq!(topic.cover.len(), 2);
        assert_eq!(topic.include, "Include a checklist of flag hygiene.");
    }

    #[test]
    fn an_explicit_noun_wins_over_the_title() {
        let text = GOOD.replace("related", "noun = \"flags\"\nrelated");
        assert_eq!(parse(&text, Origin::Builtin).unwrap().noun, "flags");
    }

    #[test]
    fn reports_missing_and_unclosed_front_matter() {
        assert_eq!(problem("Provide guidance.\n\nCover:\n- a\n"), FileProblem::NoFrontMatter);
        assert_eq!(problem("+++\nnumber = 1\n"), FileProblem::UnclosedFrontMatter);
        assert_eq!(problem("\n  \n"), FileProblem::Empty);
    }

    #[test]
    fn reports_missing_unknown_and_mistyped_keys_with_their_line() {
        let missing = GOOD.replace("slug = \"feature-flags\"\n", "");
        assert!(
            matches!(problem(&missing), FileProblem::Toml { message, .. } if message.contains("slug"))
        );
        let unknown = GOOD.replace("related", "owner = \"ops\"\nrelated");
        assert!(matches!(
            problem(&unknown),
            FileProblem::Toml { line: 5, message } if message.contains("owner")
        ));
        let mistyped = GOOD.replace("number = 21", "number = \"21\"");
        assert!(matches!(problem(&mistyped), FileProblem::Toml { line: 2, .. }));
        let broken = GOOD.replace("title = \"Feature Flags\"", "title = Feature");
        assert!(matches!(problem(&broken), FileProblem::Toml { line: 4, .. }));
    }

    #[test]
    fn reports_invalid_values() {
        assert_eq!(problem(&GOOD.replace("number = 21", "number = 0")), FileProblem::ZeroNumber);
        assert_eq!(
            problem(&GOOD.replace("\"feature-flags\"", "\"Feature Flags\"")),
            FileProblem::InvalidSlug("Feature Flags".into())
        );
        assert_eq!(problem(&GOOD.replace("\"Feature Flags\"", "\" \"")), FileProblem::EmptyTitle);
    }

    #[test]
    fn reports_a_missing_cover_list_or_closing_request() {
        assert_eq!(problem(&GOOD.replace("Cover:", "Topics:")), FileProblem::NoCover);
        let no_bullets = GOOD.replace("- Flag", "Flag").replace("- Kill", "Kill");
        assert_eq!(problem(&no_bullets), FileProblem::NoCover);
        let no_include = GOOD.replace("\nInclude a checklist of flag hygiene.\n", "");
        assert_eq!(problem(&no_include), FileProblem::NoInclude);
    }

    #[test]
    fn trim_blank_ends_keeps_inner_text_and_leading_indent() {
        assert_eq!(trim_blank_ends("\n\n  indented\nend  \n\n"), "  indented\nend  ");
        assert_eq!(trim_blank_ends("text\r\n"), "text");
    }
}
