//! The handbook's text as markdown sections, shared by `handbook.md` and `handbook.html`:
//! the chapters in guide order, then the appendices (checklist, gaps, coverage map).

use std::fmt::Write as _;

use rayon::prelude::*;

use super::book::{Book, Chapter, Ending, Mark, Part};
use super::{SVG_FILE, checklist, demote, fill, paths};

/// One top-level section: a chapter or an appendix.
#[derive(Clone, Debug)]
pub struct Section {
    pub id: String,
    pub heading: String,
    /// Short status for the table of contents, as markdown (chapters only).
    pub status: Option<String>,
    /// The chapter's state word ("complete", "truncated", "failed", …; chapters only).
    pub state: Option<&'static str>,
    /// Markdown under the heading.
    pub body: String,
    /// True for the coverage map appendix, which shows `coverage.svg` after its body.
    pub figure: bool,
}

pub const CHECKLIST_HEADING: &str = "Appendix A. Readiness checklist";
pub const GAPS_HEADING: &str = "Appendix B. Gaps";
pub const MAP_HEADING: &str = "Appendix C. Coverage map";

/// The title line: stack, model and date.
pub fn title(book: &Book) -> String {
    let stack = book.stack.as_deref().map(|s| format!(": {s}")).unwrap_or_default();
    format!("Production readiness handbook{stack}")
}

/// The line under the title.
pub fn byline(book: &Book) -> String {
    let stack = book.stack.as_deref().map(|s| format!(" for **{}**", escape_inline(s)));
    format!(
        "Guidance from the *Production Readiness Deep-Dive Prompt Guide*{}, written by `{}` \
         and collected by deepdive on {}.",
        stack.unwrap_or_default(),
        book.model.replace('`', "'"),
        date(book.date)
    )
}

/// The date part of an RFC 3339 time: `2026-11-29`.
pub fn date(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string().chars().take(10).collect()
}

/// "How to use this handbook", as markdown list items.
pub fn how_to_use(book: &Book) -> String {
    format!(
        "- Each chapter is one topic of the guide, in guide order: the answer to the topic \
         prompt, then each follow-up question (as a sub-heading) with its answer. The whole \
         conversation, with the priming prompt, is linked at the top of the chapter.\n\
         - **⚠** marks an answer cut off at the token limit and a topic that failed or was not \
         run, with the command that fills it in.\n\
         - [{CHECKLIST_HEADING}](#{}) collects every checklist item to tick off; [{GAPS_HEADING}](#{}) \
         lists the guide's points the answers did not address, and how to ask for them; \
         [{MAP_HEADING}](#{}) shows coverage at a glance.\n\
         - `handbook.html` is this document with a search box, a dark theme and a print layout \
         (one chapter per page): open it in a browser, print it to PDF, or send the file.\n\
         - The answers were written by a model: check them against your systems before you \
         rely on them. Rebuild this file after continuing a conversation: `{}`.\n",
        paths::anchor(CHECKLIST_HEADING),
        paths::anchor(GAPS_HEADING),
        paths::anchor(MAP_HEADING),
        fill::rebuild(book)
    )
}

/// Every section, in order.
pub fn sections(book: &Book) -> Vec<Section> {
    let mut sections: Vec<Section> = book.chapters.par_iter().map(|c| chapter(book, c)).collect();
    sections.push(appendix(CHECKLIST_HEADING, checklist_appendix(book), false));
    sections.push(appendix(GAPS_HEADING, gaps_appendix(book), false));
    sections.push(appendix(MAP_HEADING, map_legend(), true));
    sections
}

/// The whole of `handbook.md`.
pub fn document(book: &Book, sections: &[Section]) -> String {
    let mut out = format!("# {}\n\n{}\n\n", escape_inline(&title(book)), byline(book));
    let _ = write!(out, "## How to use this handbook\n\n{}\n## Contents\n\n", how_to_use(book));
    for section in sections {
        let status = section.status.as_deref().map(|s| format!(" · {s}")).unwrap_or_default();
        let _ = writeln!(out, "- [{}](#{}){status}", escape_inline(&section.heading), section.id);
    }
    for section in sections {
        let _ = write!(out, "\n## {}\n\n{}", escape_inline(&section.heading), section.body);
        if section.figure {
            let _ = writeln!(
                out,
                "\n![Coverage map: one row per topic, one cell per Cover: point]({SVG_FILE})"
            );
        }
    }
    out
}

fn appendix(heading: &str, body: String, figure: bool) -> Section {
    Section {
        id: paths::anchor(heading),
        heading: heading.to_string(),
        status: None,
        state: None,
        body,
        figure,
    }
}

/// A chapter's table-of-contents status: "complete · 8/10 points", "**⚠ truncated** · …".
fn toc_status(chapter: &Chapter) -> String {
    let status = match chapter.status() {
        "complete" => "complete".to_string(),
        other => format!("**⚠ {other}**"),
    };
    match chapter.points.len() {
        0 => status,
        _ if chapter.stub.is_some() => status,
        total => format!("{status} · {}/{total} points", chapter.covered()),
    }
}

fn chapter(book: &Book, chapter: &Chapter) -> Section {
    Section {
        id: chapter.anchor(),
        heading: chapter.heading(),
        status: Some(toc_status(chapter)),
        state: Some(chapter.status()),
        body: chapter_body(book, chapter),
        figure: false,
    }
}

fn chapter_body(book: &Book, chapter: &Chapter) -> String {
    let mut body = String::new();
    let mut facts = vec![format!("Status: {}", chapter.status())];
    if !chapter.points.is_empty() && chapter.stub.is_none() {
        let by = chapter.coverage_by.as_ref().map(|b| format!(" ({})", b.method));
        facts.push(format!(
            "{} of {} Cover: points addressed{}",
            chapter.covered(),
            chapter.points.len(),
            escape_inline(&by.unwrap_or_default())
        ));
    }
    if let Some(link) = &chapter.link {
        facts.push(format!("[the whole conversation]({link})"));
    }
    let _ = writeln!(body, "*{}*\n", facts.join(" · "));
    if let Some(note) = chapter.coverage_by.as_ref().and_then(|b| b.note.as_ref()) {
        let _ = writeln!(body, "*Coverage: {}.*\n", escape_inline(note.trim_end_matches('.')));
    }
    if let Some(stub) = &chapter.stub {
        let _ = writeln!(
            body,
            "> **⚠ Not in this handbook yet:** {}.\n>\n> To fill it in: {}.",
            escape_inline(&stub.why),
            fill::topic(book, chapter, stub.failed)
        );
        return body;
    }
    for part in &chapter.parts {
        part_markdown(book, chapter, part, &mut body);
    }
    let failed = chapter.parts.iter().any(|p| matches!(p.ending, Ending::Failed(_)));
    if chapter.unfinished && !failed {
        let _ = writeln!(
            body,
            "> **⚠ Unfinished:** this topic's conversation stopped before all its follow-ups \
             were asked. To finish it: {}.\n",
            fill::topic(book, chapter, false)
        );
    }
    body
}

/// What to send for the rest of a cut-off answer.
const CONTINUE: &str = "\"Please continue where you stopped.\"";

/// Longest follow-up heading, in characters; a longer question is quoted in full below it.
const QUESTION_HEADING_CHARS: usize = 120;

fn part_markdown(book: &Book, chapter: &Chapter, part: &Part, body: &mut String) {
    let top = match &part.question {
        None => 3,
        Some(question) => {
            let first = question.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            let words: Vec<&str> = first.split_whitespace().collect();
            let mut heading = words.join(" ");
            let whole = heading.chars().count() <= QUESTION_HEADING_CHARS
                && question.trim() == first.trim();
            if heading.chars().count() > QUESTION_HEADING_CHARS {
                heading = heading.chars().take(QUESTION_HEADING_CHARS - 1).collect::<String>();
                heading.push('…');
            }
            let _ = writeln!(body, "### Follow-up: {}\n", escape_inline(&heading));
            if !whole {
                for line in question.trim().lines() {
                    let _ = writeln!(body, "> {}", escape_inline(line));
                }
                body.push('\n');
            }
            4
        }
    };
    if let Ending::Failed(error) = &part.ending {
        let why = error.as_deref().map(|e| format!(" ({})", escape_inline(e))).unwrap_or_default();
        let _ = writeln!(
            body,
            "> **⚠ No answer:** this question got no whole answer{why}; what arrived is in the \
             conversation. To ask it again: {}.\n",
            fill::topic(book, chapter, true)
        );
        return;
    }
    body.push_str(&demote::fit(&part.answer, top));
    body.push('\n');
    match part.ending {
        Ending::Truncated => {
            let _ = writeln!(
                body,
                "> **⚠ Truncated:** the answer stops here: it reached the token limit (finish \
                 reason `length`). For the rest: {}; or run again with a larger \
                 `--max-tokens`.\n",
                fill::ask(book, chapter, CONTINUE)
            );
        }
        Ending::Interrupted => {
            let _ = writeln!(
                body,
                "> **⚠ Stopped:** this answer was interrupted and ends here. For the rest: \
                 {}.\n",
                fill::ask(book, chapter, CONTINUE)
            );
        }
        Ending::Complete | Ending::Failed(_) => {}
    }
}

fn checklist_appendix(book: &Book) -> String {
    let mut out = String::from(
        "Every checklist item the answers gave, by topic, with repeats removed. Tick them off \
         here or in `handbook.html`, or copy them into your tracker.\n",
    );
    for chapter in &book.chapters {
        let _ = writeln!(out, "\n### {}\n", escape_inline(&chapter.heading()));
        if chapter.stub.is_some() {
            let _ = writeln!(out, "No answers yet: see [the chapter](#{}).", chapter.anchor());
            continue;
        }
        let items = checklist::dedup(
            chapter
                .parts
                .iter()
                .filter(|p| !matches!(p.ending, Ending::Failed(_)))
                .flat_map(|p| checklist::items(&p.answer)),
        );
        if items.is_empty() {
            let ask = match &chapter.checklist_question {
                Some(question) => format!(
                    " Ask for one with the `checklist` follow-up: {}:\n\n> {}\n",
                    fill::ask(book, chapter, "this question"),
                    escape_inline(question)
                ),
                None => "\n".to_string(),
            };
            let _ = write!(
                out,
                "The answers in [the chapter](#{}) gave no checklist.{ask}",
                chapter.anchor()
            );
            continue;
        }
        let _ = writeln!(out, "From [the chapter](#{}):\n", chapter.anchor());
        for item in items {
            let _ = writeln!(out, "- [ ] {item}");
        }
    }
    out
}

fn gaps_appendix(book: &Book) -> String {
    let mut out =
        String::from("For each topic, the guide's Cover: points its answers did not address. ");
    out.push_str(&gaps_method(book));
    let mut complete = Vec::new();
    let mut not_run = Vec::new();
    for chapter in &book.chapters {
        if chapter.stub.is_some() || chapter.points.is_empty() {
            if chapter.stub.is_some() {
                not_run.push(format!("[{}](#{})", chapter.number, chapter.anchor()));
            }
            continue;
        }
        let missed: Vec<_> = chapter.missed().collect();
        if missed.is_empty() {
            complete.push(format!("[{}](#{})", chapter.number, chapter.anchor()));
            continue;
        }
        let _ = writeln!(out, "\n### {}\n", escape_inline(&chapter.heading()));
        if let Some(by) = chapter.coverage_by.as_ref().filter(|_| mixed(book)) {
            let _ = writeln!(out, "*Judged by: {}.*\n", escape_inline(&by.method));
        }
        for point in missed {
            let note = match point.mark {
                Mark::Truncated => " (the answer was cut off: it may have come later)",
                _ => "",
            };
            let _ = writeln!(out, "- {}{note}", escape_inline(&point.point));
        }
        if let Some(question) = &chapter.gaps_question {
            let _ = writeln!(
                out,
                "\nTo ask for them: {}:\n",
                fill::ask(book, chapter, "this question")
            );
            for line in question.lines() {
                let _ = writeln!(out, "> {}", escape_inline(line));
            }
            out.push_str("\n(Or pick the gap questions `chat` suggests first, one point each.)\n");
        }
    }
    if !complete.is_empty() {
        let _ = writeln!(out, "\nEvery Cover: point addressed: {}.", complete.join(", "));
    }
    if !not_run.is_empty() {
        let _ = writeln!(out, "\nNot checked, no answers yet: {}.", not_run.join(", "));
    }
    out
}

/// How the gaps were found.
fn gaps_method(book: &Book) -> String {
    match book.coverage_methods().as_slice() {
        [] | ["lexical"] => "deepdive checks this by matching terms, so read the chapter before \
                             you act on a gap.\n"
            .to_string(),
        methods => format!(
            "Judged by: {}{}; a model judge's verdict counts a point only with a quote found in \
             the answers. Read the chapter before you act on a gap.\n",
            escape_inline(&methods.join(", ")),
            if methods.len() > 1 { " (each topic says which)" } else { "" }
        ),
    }
}

/// True when the chapters' points were judged by more than one method.
fn mixed(book: &Book) -> bool {
    book.coverage_methods().len() > 1
}

fn map_legend() -> String {
    format!(
        "One row per topic, one cell per Cover: point: **✓** covered, **✗** missed, **…** \
         missed in an answer that was cut off at the token limit, blank: not run. Hover a cell \
         for its point; the picture is also [{SVG_FILE}]({SVG_FILE}).\n"
    )
}

/// `text` as markdown that shows exactly this text: characters that would start markup
/// are escaped.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&' | '~' | '!')
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
