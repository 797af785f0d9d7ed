//! `deepdive prompt TOPIC...`: the exact messages a session would send, for copy-paste.

use super::Context;
use crate::cli::PromptArgs;
use crate::driver::opening_turns;
use crate::exit::{CommandResult, ExitCode};
use crate::message::Message;
use crate::session::TurnKind;

pub fn run(ctx: &Context, args: &PromptArgs) -> CommandResult {
    let library = ctx.library()?;
    let topics = library.resolve_all(&args.topics)?;
    let turns = opening_turns(&library, ctx.settings.stack(), &topics);
    let text = if args.json {
        let messages: Vec<Message> = turns.into_iter().map(|t| Message::user(t.text)).collect();
        // Serialising plain strings cannot fail.
        serde_json::to_string_pretty(&messages).unwrap_or_default() + "\n"
    } else {
        let count = turns.len();
        let mut out = String::new();
        for (i, turn) in turns.iter().enumerate() {
            let what = match &turn.kind {
                TurnKind::Priming if ctx.settings.stack().is_some() => {
                    "priming prompt + stack".to_string()
                }
                TurnKind::Priming => "priming prompt".to_string(),
                TurnKind::Topic(slug) => match library.topic_by_slug(slug) {
                    Some(topic) => format!("topic {} · {}", topic.number, topic.title),
                    None => format!("topic {slug}"),
                },
                TurnKind::Followup => "follow-up".to_string(),
            };
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("===== message {} of {count} (user): {what} =====\n", i + 1));
            out.push_str(&turn.text);
            if !turn.text.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    };
    ctx.printer.out(&text)?;
    Ok(ExitCode::Success)
}
