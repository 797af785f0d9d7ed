//! `deepdive topics`: the topic library. Never loads the tokenizer or touches the network.

use serde::Serialize;

use super::Context;
use crate::cli::TopicsArgs;
use crate::exit::{CommandResult, ExitCode};
use crate::prompts::{Origin, Topic};

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
    let text = if args.json { json(library.topics()) } else { table(library.topics()) };
    ctx.printer.out(&text)?;
    Ok(ExitCode::Success)
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
