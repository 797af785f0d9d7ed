//! A batch run folder in a few lines, for `deepdive show DIR`: the plan, each topic's status,
//! attempts, tokens, coverage and transcript, the totals, the errors, and where the
//! transcripts and the handbook are.

use std::path::Path;
use std::time::Duration;

use super::run::RunFolder;
use crate::batch::handbook::INDEX_FILE;
use crate::message::Usage;
use crate::render::{columns, duration, plural, thousands};
use crate::session::Coverage;

/// The summary, as plain text lines.
pub fn run_summary(run: &RunFolder) -> String {
    let manifest = &run.manifest;
    let plan = &manifest.plan;
    let name = run
        .dir
        .file_name()
        .map_or_else(|| run.dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let mut out = format!("Batch run {name}\n");
    let mut facts = vec![plan.model.clone(), plan.endpoint.clone()];
    if !plan.profile.is_empty() {
        facts.push(format!("profile {}", plan.profile));
    }
    facts.push(format!("{} UTC", super::short_time(manifest.created)));
    facts.push(run.status().to_string());
    out.push_str(&(facts.join(" · ") + "\n"));
    if let Some(stack) = &plan.stack {
        out.push_str(&format!("stack: {stack}\n"));
    }
    let followups = match plan.followups.is_empty() {
        true => "no follow-ups".to_string(),
        false => format!("follow-ups: {}", plan.followups.join(", ")),
    };
    out.push_str(&format!("plan: {}, {followups}\n", plural(plan.topics.len() as u64, "topic")));
    if let Some(replay) = &plan.replay {
        let until = replay.until.map(|n| format!(" (first {})", plural(n as u64, "question")));
        out.push_str(&format!(
            "replay of {}{}\n",
            replay.from.display(),
            until.unwrap_or_default()
        ));
    }

    let header = ["#", "TOPIC", "STATUS", "ATTEMPTS", "TOKENS", "COVERAGE", "TIME", "TRANSCRIPT"];
    let mut usage = Usage::default();
    let mut coverage: Option<Coverage> = None;
    let rows: Vec<Vec<String>> = manifest
        .topics
        .iter()
        .map(|r| {
            usage += r.usage;
            if let Some(c) = r.coverage {
                let sum = coverage.get_or_insert(Coverage { covered: 0, total: 0 });
                sum.covered += c.covered;
                sum.total += c.total;
            }
            let written = run.dir.join(&r.file).is_file();
            vec![
                r.number.to_string(),
                r.slug.clone(),
                r.status.as_str().to_string(),
                r.attempts.to_string(),
                thousands(r.usage.total()),
                r.coverage.map_or("–".into(), |c| format!("{}/{}", c.covered, c.total)),
                duration(Duration::from_millis(r.elapsed_ms)),
                if written { r.file.clone() } else { "–".into() },
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&columns::table(&header, &rows, &[0, 3, 4, 5, 6]));

    let coverage =
        coverage.map(|c| format!(" · coverage {}/{}", c.covered, c.total)).unwrap_or_default();
    out.push_str(&format!(
        "\n{}: {} · {}→{} tokens{coverage}\n",
        plural(manifest.topics.len() as u64, "topic"),
        manifest.status_summary(),
        thousands(usage.prompt_tokens),
        thousands(usage.completion_tokens),
    ));
    for r in manifest.topics.iter().filter(|r| r.error.is_some()) {
        let error = r.error.as_deref().unwrap_or_default();
        out.push_str(&format!("{} {}: {error}\n", r.slug, r.status.as_str()));
    }
    out.push_str(&format!("transcripts: {}\n", run.dir.display()));
    out.push_str(&handbook_line(&run.dir));
    out
}

/// `handbook: DIR/handbook.html (also handbook.md; index.md lists the conversations)`, or
/// that it is not written yet.
pub fn handbook_line(dir: &Path) -> String {
    let html = dir.join(crate::handbook::HTML_FILE);
    match (html.is_file(), dir.join(INDEX_FILE).is_file()) {
        (true, _) => format!(
            "handbook: {} (also {}; {} lists the conversations)\n",
            html.display(),
            crate::handbook::MARKDOWN_FILE,
            INDEX_FILE
        ),
        (false, true) => format!("handbook: {}\n", dir.join(INDEX_FILE).display()),
        (false, false) => "handbook: not written yet\n".to_string(),
    }
}
