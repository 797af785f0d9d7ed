//! `index.md`: the run as a handbook an operations team can read. Every topic in guide order
//! with a link to its conversation, its status, coverage of the topic's "Cover:" points and
//! tokens; then totals, the points the answers missed, and what failed.

use std::fmt::Write as _;
use std::path::Path;

use super::manifest::{Manifest, TopicStatus};
use super::plan::answers_since_topic;
use crate::atomic_file;
use crate::coverage;
use crate::prompts::Library;
use crate::render::thousands;
use crate::session::store;

pub const HANDBOOK_FILE: &str = "index.md";

/// Writes `dir/index.md` atomically.
pub fn write(dir: &Path, manifest: &Manifest, library: &Library) -> std::io::Result<()> {
    atomic_file::write(&dir.join(HANDBOOK_FILE), render(dir, manifest, library).as_bytes())
}

/// The handbook's markdown. Reads the finished transcripts in `dir` to list missed points.
pub fn render(dir: &Path, manifest: &Manifest, library: &Library) -> String {
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
    let (mut covered, mut points, mut prompt, mut completion) = (0, 0, 0, 0);
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
        prompt += record.usage.prompt_tokens;
        completion += record.usage.completion_tokens;
        let _ = writeln!(
            out,
            "| {} | {title} | {} | {coverage} | {} |",
            record.number,
            record.status.as_str(),
            thousands(record.usage.total())
        );
    }
    let count = |status| manifest.topics.iter().filter(|r| r.status == status).count();
    let mut states = vec![format!("{} complete", count(TopicStatus::Complete))];
    for status in
        [TopicStatus::Failed, TopicStatus::Interrupted, TopicStatus::Skipped, TopicStatus::Pending]
    {
        if count(status) > 0 {
            states.push(format!("{} {}", count(status), status.as_str()));
        }
    }
    let percent =
        (covered * 100).checked_div(points).map(|p| format!(" ({p}%)")).unwrap_or_default();
    let _ = writeln!(
        out,
        "\n**Totals:** {} topics: {} · coverage {covered}/{points} points{percent} · {} tokens \
         ({} prompt, {} completion)",
        manifest.topics.len(),
        states.join(", "),
        thousands(prompt + completion),
        thousands(prompt),
        thousands(completion)
    );
    gaps(&mut out, dir, manifest, library);
    let failed: Vec<_> = manifest
        .topics
        .iter()
        .filter(|r| matches!(r.status, TopicStatus::Failed | TopicStatus::Skipped))
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Not done\n\n");
        for record in failed {
            let why = record.error.as_deref().unwrap_or("no reason recorded");
            let _ = writeln!(
                out,
                "- **{} {}** ({}): {why}",
                record.number,
                record.slug,
                record.status.as_str()
            );
        }
        out.push_str("\nRun `deepdive batch --resume <this folder>` to try them again.\n");
    }
    out
}

/// Lists, per finished topic, the "Cover:" points its answers did not address.
fn gaps(out: &mut String, dir: &Path, manifest: &Manifest, library: &Library) {
    let mut section = String::new();
    for record in manifest.topics.iter().filter(|r| r.coverage.is_some_and(|c| c.covered < c.total))
    {
        let (Some(topic), Ok(transcript)) =
            (library.topic_by_slug(&record.slug), store::load(&dir.join(&record.file)))
        else {
            continue;
        };
        let report = coverage::check(&topic.cover, &answers_since_topic(&transcript));
        let _ = writeln!(section, "\n### {}. {}\n", record.number, escape(&record.title));
        for point in report.missing() {
            let _ = writeln!(section, "- {}", escape(&point.point));
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
