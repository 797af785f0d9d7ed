//! A run folder's handbook: `index.md` (every topic in guide order with a link to its
//! conversation, its status, coverage of the topic's "Cover:" points and tokens; then
//! totals, the points the answers missed, and what failed), next to the handbook itself
//! (`handbook.md`, `handbook.html`, `coverage.svg`, see [`crate::handbook`]). All are built
//! from the transcripts and rewritten together.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::manifest::{Manifest, TopicStatus};
use crate::atomic_file;
use crate::handbook::{self, Book, Files, HandbookError};
use crate::prompts::Library;
use crate::render::thousands;

/// The run's index, which links to everything else (`handbook.html` first).
pub const INDEX_FILE: &str = "index.md";

/// Writes `coverage.svg`, `handbook.md`, `handbook.html` and `index.md` into the run
/// folder `dir`, each atomically; returns the handbook and the paths written.
pub fn write(
    dir: &Path,
    manifest: &Manifest,
    library: &Library,
) -> Result<(Book, Vec<PathBuf>), HandbookError> {
    let book = Book::from_run(dir, dir, manifest, library)?;
    let mut written = Files::render(&book).write(dir)?;
    let path = dir.join(INDEX_FILE);
    atomic_file::write_rebuildable(&path, render(dir, manifest, &book).as_bytes())
        .map_err(|source| HandbookError::Write { path: path.clone(), source })?;
    written.push(path);
    Ok((book, written))
}

/// The index's markdown; `dir` is the run folder (links only to files that exist).
pub fn render(dir: &Path, manifest: &Manifest, book: &Book) -> String {
    let plan = &manifest.plan;
    let mut out = String::from("# Production readiness handbook\n\n");
    let stack = plan.stack.as_deref().map(|s| format!(" for **{s}**")).unwrap_or_default();
    let _ = writeln!(
        out,
        "Guidance from the *Production Readiness Deep-Dive Prompt Guide*{stack}, written by \
         `{}` ({}) and collected by deepdive on {}.\n",
        plan.model,
        plan.endpoint,
        humantime::format_rfc3339_seconds(manifest.updated)
    );
    let _ = writeln!(
        out,
        "**Read the handbook:** [{}]({}) (one page: search, dark theme, print to PDF) or \
         [{}]({}); the [coverage map]({}) shows which \"Cover:\" points each topic's answers \
         addressed.\n",
        handbook::HTML_FILE,
        handbook::HTML_FILE,
        handbook::MARKDOWN_FILE,
        handbook::MARKDOWN_FILE,
        handbook::SVG_FILE
    );
    let _ = writeln!(
        out,
        "Each topic links to its whole conversation. Coverage counts the topic's \"Cover:\" \
         points that the answers addressed ({}); the points they missed are listed under Gaps.\n",
        match book.coverage_methods().as_slice() {
            [] => "lexical".to_string(),
            methods => methods.join(", "),
        }
    );
    out.push_str(
        "| # | Topic | Status | Coverage | Tokens |\n| ---: | --- | --- | ---: | ---: |\n",
    );
    let (mut covered, mut points) = (0, 0);
    let usage = manifest.usage();
    let (prompt, completion) = (usage.prompt_tokens, usage.completion_tokens);
    for record in &manifest.topics {
        let chapter = book.chapters.iter().find(|c| c.slug == record.slug);
        let title = if dir.join(&record.file).exists() {
            format!("[{}]({})", escape(&record.title), record.file)
        } else {
            escape(&record.title)
        };
        let coverage = match chapter.filter(|c| c.stub.is_none() && !c.points.is_empty()) {
            Some(c) => {
                covered += c.covered();
                points += c.points.len();
                format!("{}/{}", c.covered(), c.points.len())
            }
            None => "–".to_string(),
        };
        let status = match chapter {
            // A run from before topics had a truncated status of their own.
            Some(c) if c.is_truncated() && record.status != TopicStatus::Truncated => {
                format!("{} (truncated)", record.status.as_str())
            }
            _ => record.status.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {title} | {status} | {coverage} | {} |",
            record.number,
            thousands(record.usage.total())
        );
    }
    let percent =
        (covered * 100).checked_div(points).map(|p| format!(" ({p}%)")).unwrap_or_default();
    let _ = writeln!(
        out,
        "\n**Totals:** {}: {} · coverage {covered}/{points} points{percent} · {} tokens \
         ({} prompt, {} completion)",
        crate::render::plural(manifest.topics.len() as u64, "topic"),
        manifest.status_summary(),
        thousands(usage.total()),
        thousands(prompt),
        thousands(completion)
    );
    gaps(&mut out, book);
    if manifest.priming.is_some() {
        let _ = writeln!(
            out,
            "\nEvery conversation opens with the same priming exchange, asked once for the whole \
             run ([{}]({})); its tokens are in the totals once.",
            super::priming::PRIMING_FILE,
            super::priming::PRIMING_FILE
        );
    }
    let failed: Vec<_> = manifest
        .topics
        .iter()
        .filter(|r| {
            matches!(r.status, TopicStatus::Failed | TopicStatus::Skipped | TopicStatus::Truncated)
        })
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Not done\n\n");
        for record in failed {
            let why = match record.status {
                TopicStatus::Truncated => "an answer was cut off at the token limit",
                _ => record.error.as_deref().unwrap_or("no reason recorded"),
            };
            let _ = writeln!(
                out,
                "- **{} {}** ({}): {why}",
                record.number,
                record.slug,
                record.status.as_str()
            );
        }
        out.push_str(
            "\nRun `deepdive batch --resume <this folder>` to try the failed and skipped ones \
             again; add `--retry-truncated --max-tokens N` to ask cut-off answers again with room \
             for longer ones.\n",
        );
    }
    out
}

/// Lists, per answered topic, the "Cover:" points its answers did not address.
fn gaps(out: &mut String, book: &Book) {
    let mut section = String::new();
    for chapter in book.chapters.iter().filter(|c| c.stub.is_none()) {
        let missed: Vec<_> = chapter.missed().collect();
        if missed.is_empty() {
            continue;
        }
        let _ = writeln!(section, "\n### {}. {}\n", chapter.number, escape(&chapter.title));
        for point in missed {
            let _ = writeln!(section, "- {}", escape(&point.point));
        }
    }
    if !section.is_empty() {
        out.push_str("\n## Gaps\n");
        out.push_str(&section);
        let _ =
            writeln!(out, "\nThe handbook's appendix B (Gaps) has the command that asks for them.");
    }
}

/// Keeps a text from breaking a table cell or turning into markup.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('[', "\\[").replace(']', "\\]")
}
