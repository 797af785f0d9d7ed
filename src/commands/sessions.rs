//! `deepdive sessions`: saved transcripts and batch run folders, newest first, as a table or
//! JSON; `--topic` keeps those that include a topic. Unreadable files are listed with their
//! error.

use std::path::Path;

use serde::Serialize;

use super::Context;
use crate::cli::SessionsArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::render::thousands;
use crate::saved::listing::{self, Entry};
use crate::saved::short_time;
use crate::session::Coverage;

pub fn run(ctx: &Context, args: &SessionsArgs) -> CommandResult {
    let dir = ctx.settings.sessions_dir();
    let mut entries = listing::list(dir).map_err(Failure::usage)?;
    if let Some(name) = &args.topic {
        let slug = ctx.library()?.resolve(name)?.slug.clone();
        // Unreadable entries stay: they may include the topic, and the user should know.
        entries.retain(|e| e.error.is_some() || e.includes(&slug));
    }
    if args.json {
        let rows: Vec<Row> = entries.iter().map(Row::from).collect();
        // Serialising plain strings and numbers cannot fail.
        ctx.printer.out(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"))?;
    } else if entries.is_empty() {
        let filter = args.topic.as_deref().map(|t| format!(" with topic {t}")).unwrap_or_default();
        ctx.printer.status(format!("no saved sessions{filter} in {}", dir.display()));
    } else {
        ctx.printer.out(&table(&entries, dir))?;
    }
    Ok(ExitCode::Success)
}

#[derive(Serialize)]
struct Row<'a> {
    path: String,
    kind: &'static str,
    created: String,
    topics: &'a [String],
    model: &'a str,
    turns: usize,
    prompt_tokens: u64,
    completion_tokens: u64,
    coverage: Option<Coverage>,
    status: &'a str,
    error: Option<&'a str>,
}

impl<'a> From<&'a Entry> for Row<'a> {
    fn from(e: &'a Entry) -> Row<'a> {
        Row {
            path: e.path.display().to_string(),
            kind: e.kind.as_str(),
            created: humantime::format_rfc3339_seconds(e.created).to_string(),
            topics: &e.topics,
            model: &e.model,
            turns: e.turns,
            prompt_tokens: e.usage.prompt_tokens,
            completion_tokens: e.usage.completion_tokens,
            coverage: e.coverage,
            status: &e.status,
            error: e.error.as_deref(),
        }
    }
}

fn table(entries: &[Entry], dir: &Path) -> String {
    let header =
        ["DATE", "KIND", "TOPICS", "MODEL", "TURNS", "TOKENS", "COVERAGE", "STATUS", "PATH"];
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let path = e.path.strip_prefix(dir).unwrap_or(&e.path).display().to_string();
            if let Some(error) = &e.error {
                return vec![
                    short_time(e.created),
                    e.kind.as_str().into(),
                    format!("error: {error}"),
                ];
            }
            let topics = match e.topics.as_slice() {
                [] => "–".to_string(),
                [one] => one.clone(),
                [first, rest @ ..] => format!("{first} +{}", rest.len()),
            };
            vec![
                short_time(e.created),
                e.kind.as_str().into(),
                topics,
                e.model.clone(),
                e.turns.to_string(),
                thousands(e.usage.total()),
                e.coverage.map_or("–".into(), |c| format!("{}/{}", c.covered, c.total)),
                e.status.clone(),
                path,
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows.iter().filter(|r| r.len() == header.len()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = |i: usize| matches!(i, 4..=6);
    let line = |cells: &[String]| {
        let last = cells.len() - 1;
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| match (i == last, numeric(i)) {
                (true, _) => c.clone(),
                (false, true) => format!("{c:>w$}", w = widths[i]),
                (false, false) => format!("{c:<w$}", w = widths[i]),
            })
            .collect();
        parts.join("  ") + "\n"
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
