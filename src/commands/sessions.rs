//! `deepdive sessions`: saved transcripts and batch run folders, newest first, as a table or
//! JSON; `--topic` keeps those that include a topic. Paths are shown relative to the sessions
//! directory, the form `show`, `compare`, `replay` and `chat --resume` take back.
//!
//! A transcript or run that cannot be read stays out of the table: one warning line after
//! it says which and why (in JSON it is a row with its `error`). A `.md` file that is not a
//! transcript at all is skipped, with a note under `--verbose`.

use std::path::Path;

use serde::Serialize;

use super::Context;
use crate::cli::SessionsArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::render::{columns, thousands};
use crate::saved::listing::{self, Entry};
use crate::saved::locate::short_path;
use crate::saved::short_time;
use crate::session::Coverage;

pub fn run(ctx: &Context, args: &SessionsArgs) -> CommandResult {
    let dir = ctx.settings.sessions_dir();
    let listing = listing::list(dir).map_err(Failure::usage)?;
    let mut entries = listing.entries;
    if let Some(name) = &args.topic {
        let slug = ctx.library()?.resolve(name)?.slug.clone();
        // Unreadable entries stay: they may include the topic, and the user should know.
        entries.retain(|e| e.error.is_some() || e.includes(&slug));
    }
    for path in &listing.skipped {
        ctx.printer.detail(format!(
            "skipped {}: not a deepdive transcript (no `+++` front matter)",
            short_path(dir, path).display()
        ));
    }
    if args.json {
        let rows: Vec<Row> = entries.iter().map(Row::from).collect();
        // Serialising plain strings and numbers cannot fail.
        ctx.printer.out(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"))?;
        return Ok(ExitCode::Success);
    }
    let (broken, readable): (Vec<&Entry>, Vec<&Entry>) =
        entries.iter().partition(|e| e.error.is_some());
    if readable.is_empty() {
        let filter = args.topic.as_deref().map(|t| format!(" with topic {t}")).unwrap_or_default();
        ctx.printer.status(format!("no saved sessions{filter} in {}", dir.display()));
    } else {
        ctx.printer.out(&table(&readable, dir))?;
    }
    for entry in broken {
        let error = entry.error.as_deref().unwrap_or_default();
        ctx.printer.warn(format!("not listed, cannot be read: {error}"));
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
    status: String,
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
            status: e.status.to_string(),
            error: e.error.as_deref(),
        }
    }
}

fn table(entries: &[&Entry], dir: &Path) -> String {
    let header =
        ["DATE", "KIND", "TOPICS", "MODEL", "TURNS", "TOKENS", "COVERAGE", "STATUS", "PATH"];
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
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
                e.status.to_string(),
                short_path(dir, &e.path).display().to_string(),
            ]
        })
        .collect();
    columns::table(&header, &rows, &[4, 5, 6])
}
