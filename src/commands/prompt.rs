//! `deepdive prompt TOPIC...`: the exact messages a session would send, for copy-paste; with
//! `--rendered`, the requests as the local GGUF model sees them, with their real token counts.

use std::path::PathBuf;

use super::Context;
use crate::cli::PromptArgs;
use crate::driver::{PlannedTurn, opening_turns};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::local::counter::{PromptCounter, RenderedRequest};
use crate::local::hub::{HubCache, ModelRef};
use crate::message::Message;
use crate::prompts::Library;
use crate::session::TurnKind;
use crate::settings::Backend;

pub fn run(ctx: &Context, args: &PromptArgs) -> CommandResult {
    let library = ctx.library()?;
    let topics = library.resolve_all(&args.topics)?;
    let turns = opening_turns(&library, ctx.settings.stack(), &topics);
    let text = if args.json {
        let messages: Vec<Message> = turns.into_iter().map(|t| Message::user(t.text)).collect();
        // Serialising plain strings cannot fail.
        serde_json::to_string_pretty(&messages).unwrap_or_default() + "\n"
    } else if args.rendered {
        rendered(ctx, &library, &turns)?
    } else {
        let count = turns.len();
        let mut out = String::new();
        for (i, turn) in turns.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let what = describe(ctx, &library, turn);
            out.push_str(&format!("===== message {} of {count} (user): {what} =====\n", i + 1));
            push_line(&mut out, &turn.text);
        }
        out
    };
    ctx.printer.out(&text)?;
    Ok(ExitCode::Success)
}

/// Each request rendered with the local model's chat template, counted with its tokenizer.
fn rendered(ctx: &Context, library: &Library, turns: &[PlannedTurn]) -> Result<String, Failure> {
    let (model, path) = local_model_file(ctx)?;
    let counter = PromptCounter::open(&path).map_err(|e| Failure::usage(e.to_string()))?;
    let texts: Vec<String> = turns.iter().map(|t| t.text.clone()).collect();
    let requests = counter.render_turns(&texts).map_err(|e| Failure::usage(e.to_string()))?;
    ctx.printer.status(format!(
        "{model}: its own chat template and tokenizer; answers are not known yet, so each later \
         request is shown as what it adds after the previous answer"
    ));
    let count = requests.len();
    let mut out = String::new();
    for (i, (turn, request)) in turns.iter().zip(&requests).enumerate() {
        let what = describe(ctx, library, turn);
        let RenderedRequest { text, tokens, after_answer } = request;
        let size = match after_answer {
            true => format!("+{tokens} tokens after the answer to request {i}"),
            false => format!("{tokens} tokens"),
        };
        out.push_str(&format!("===== request {} of {count}: {what} · {size} =====\n", i + 1));
        push_line(&mut out, text);
    }
    let before_answers: u64 = requests.iter().map(|r| r.tokens).sum();
    out.push_str(&format!(
        "===== {before_answers} prompt tokens in all, plus the answers (context: {}) =====\n",
        ctx.settings.context_window().map_or("the model's own".to_string(), |c| c.to_string())
    ));
    Ok(out)
}

/// The GGUF file the local backend would load, without downloading it.
fn local_model_file(ctx: &Context) -> Result<(ModelRef, PathBuf), Failure> {
    let settings = &ctx.settings;
    if settings.backend() != Backend::Local {
        return Err(Failure::usage(format!(
            "--rendered shows the prompt as the in-process GGUF model sees it, but profile `{}` \
             sends requests to {}; run it with no endpoint configured (or a profile with \
             backend = \"local\") and --model FILE.gguf or owner/repo:QUANT",
            settings.profile(),
            settings.base_url()
        )));
    }
    let model: ModelRef = settings.model().parse().map_err(super::model::failure)?;
    let env = |var: &str| std::env::var(var).ok();
    let cache = HubCache::from_env(&env).map_err(super::model::failure)?;
    match cache.find(&model) {
        Some(path) => Ok((model, path)),
        None => Err(Failure::usage(match &model {
            ModelRef::File(path) => {
                format!(
                    "--rendered: the model file {} does not exist; check --model",
                    path.display()
                )
            }
            ModelRef::Hub { .. } => format!(
                "--rendered reads the template and tokenizer of {model}, which is not downloaded \
                 yet: run `deepdive model pull {model}` first"
            ),
        })),
    }
}

fn describe(ctx: &Context, library: &Library, turn: &PlannedTurn) -> String {
    match &turn.kind {
        TurnKind::Priming if ctx.settings.stack().is_some() => "priming prompt + stack".to_string(),
        TurnKind::Priming => "priming prompt".to_string(),
        TurnKind::Topic(slug) => match library.topic_by_slug(slug) {
            Some(topic) => format!("topic {} · {}", topic.number, topic.title),
            None => format!("topic {slug}"),
        },
        TurnKind::Followup => "follow-up".to_string(),
    }
}

/// `text`, ending with a newline.
fn push_line(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
}
