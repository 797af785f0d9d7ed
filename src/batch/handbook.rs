//! `index.md`: the run as a handbook an operations team can read. Every topic in guide order
//! with a link to its conversation, its status, coverage of the topic's "Cover:" points and
//! tokens; then totals, the points the answers missed, and what failed.

use std::fmt::Write as _;
use std::path::Path;

use super::manifest::{Manifest, TopicStatus};
use crate::atomic_file;
use crate::render::thousands;

pub const HANDBOOK_FILE: &str = "index.md";

/// Writes `dir/index.md` atomically.
pub fn write(dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    atomic_file::write(&dir.join(HANDBOOK_FILE), render(dir, manifest).as_bytes())
}

/// The handbook's markdown; `dir` is the run folder (links only to files that exist).
pub fn render(dir: &Path, manifest: &Manifest) -> String {
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
    out.push_str(
        "Each topic links to its whole conversation. Coverage counts the topic's \"Cover:\" \
         points that the answers addressed; the points they missed are listed under Gaps.\n\n",
    );
    out.push_str(
        "| # | Topic | Status | Coverage | Tokens |\n| ---: | --- | --- | ---: | ---: |\n",
    );
    let (mut covered, mut points) = (0, 0);
    let usage = manifest.usage();
    let (prompt, completion) = (usage.prompt_tokens, usage.completion_tokens);
    for record in &manifest.topics {
        let title = if dir.join(&record.file).exists() {
            format!("[{}]({})", escape(&record.title), record.file)
        } else {
            escape(&record.title)
        };
        let coverage = match record.coverage {
            Some(c) => {
                covered += c.covered;
                points += c.total;
                format!("{}/{}", c.covered, c.total)
            }
            None => "–".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {title} | {} | {coverage} | {} |",
            record.number,
            record.status.as_str(),
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
        thousands(prompt + completion),
        thousands(prompt),
        thousands(completion)
    );
    gaps(&mut out, manifest);
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

/// Lists, per finished topic, the "Cover:" points its answers did not address (recorded in
/// the manifest when the topic finished, so writing the handbook reads no transcript).
fn gaps(out: &mut String, manifest: &Manifest) {
    let mut section = String::new();
    for record in manifest.topics.iter().filter(|r| !r.missing.is_empty()) {
        let _ = writeln!(section, "\n### {}. {}\n", record.number, escape(&record.title));
        for point in &record.missing {
            let _ = writeln!(section, "- {}", escape(point));
        }
    }
    if !section.is_empty() {
        out.push_str("\n## Gaps\n");
        out.push_str(&section);
    }
}

/// Keeps a text from breaking a table cell or turning into markup.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('[', "\\[").replace(']', "\\]")
}
