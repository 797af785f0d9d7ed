//! `deepdive topics`: the topic library. Never loads the tokenizer or touches the network.

use serde::Serialize;

use super::Context;
use crate::cli::TopicsArgs;
use crate::driver::GAPS;
use crate::exit::{CommandResult, ExitCode};
use crate::prompts::{FollowupKind, Library, Origin, Topic};

#[derive(Serialize)]
struct TopicRow<'a> {
    number: u32,
    slug: &'a str,
    title: &'a str,
    related: &'a [String],
    cover: &'a [String],
    /// `builtin`, or the file that defines or overrides the topic.
    source: String,
}

pub fn run(ctx: &Context, args: &TopicsArgs) -> CommandResult {
    let library = ctx.library()?;
    let text = match (args.followups, args.json) {
        (true, json) => followups(&library, json),
        (false, true) => self::json(library.topics()),
        (false, false) => table(library.topics()),
    };
    ctx.printer.out(&text)?;
    Ok(ExitCode::Success)
}

#[derive(Serialize)]
struct FollowupRow<'a> {
    name: &'a str,
    kind: &'a str,
    text: &'a str,
}

/// The named follow-ups of the library, plus `gaps`, with their texts as templates.
fn followups(library: &Library, json: bool) -> String {
    let gaps = "(the topic's \"Cover:\" points the answers missed, asked for by name)";
    let mut rows: Vec<FollowupRow> = library
        .followups()
        .iter()
        .map(|f| FollowupRow {
            name: &f.name,
            kind: match f.kind {
                FollowupKind::Depth => "depth",
                FollowupKind::Format => "format",
                FollowupKind::Tip => "tip",
            },
            text: &f.text,
        })
        .collect();
    rows.push(FollowupRow { name: GAPS, kind: "coverage", text: gaps });
    if json {
        // Serialising plain strings cannot fail.
        return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let mut out = format!("{:<width$}  {:<8}  TEXT\n", "NAME", "KIND");
    for row in rows {
        let first_line = row.text.lines().next().unwrap_or_default();
        out.push_str(&format!("{:<width$}  {:<8}  {first_line}\n", row.name, row.kind));
    }
    out
}

fn source(topic: &Topic) -> String {
    match &topic.origin {
        Origin::Builtin => "builtin".to_string(),
        Origin::File(path) => path.display().to_string(),
    }
}

fn json(topics: &[Topic]) -> String {
    let rows: Vec<TopicRow> = topics
        .iter()
        .map(|t| TopicRow {
            number: t.number,
            slug: &t.slug,
            title: &t.title,
            related: &t.related,
            cover: &t.cover,
            source: source(t),
        })
        .collect();
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
}

fn table(topics: &[Topic]) -> String {
    let slug_width = topics.iter().map(|t| t.slug.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:>3}  {:<slug_width$}  TITLE\n", "#", "SLUG");
    for topic in topics {
        let marker = match topic.origin {
            Origin::Builtin => "",
            Origin::File(_) => "  (custom)",
        };
        out.push_str(&format!(
            "{:>3}  {:<slug_width$}  {}{marker}\n",
            topic.number, topic.slug, topic.title
        ));
    }
    out
}
