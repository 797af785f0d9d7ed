//! `deepdive chat [TOPIC...]`: the interactive guided session.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::Context;
use crate::chat::input::{self, Read, Source};
use crate::chat::repl::Chat;
use crate::cli::ChatArgs;
use crate::conversation::{Conversation, PlannedTurn, opening_turns};
use crate::exit::{CommandResult, Failure};
use crate::message::Role;
use crate::prompts::{Library, Topic};
use crate::render::markdown::style_for_stdout;
use crate::session::{Meta, Transcript, TurnKind, store};

pub fn run(ctx: &Context, args: &ChatArgs) -> CommandResult {
    crate::tokens::TokenCounter::for_model(ctx.settings.model()).warm_up();
    let library = ctx.library()?;
    let interactive = std::io::stdin().is_terminal();
    // Before the runtime starts: opening the local model may download it on its own runtime.
    let opened = ctx.open_backend()?;
    let request = ctx.request_for(&opened);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let slugs = library.topics().iter().map(|t| t.slug.clone()).collect();
        let history = if interactive { input::history_path() } else { None };
        let mut source = Source::new(interactive, slugs, history);
        let (conversation, path) = match &args.resume {
            Some(file) => resume(ctx, &library, file.as_deref())?,
            None => {
                let topics = match args.topics.is_empty() {
                    false => library.resolve_all(&args.topics)?,
                    true => match pick_topics(ctx, &library, &mut source).await? {
                        Some(topics) => topics,
                        None => return Ok(crate::exit::ExitCode::Success),
                    },
                };
                start(ctx, &library, &topics)
            }
        };
        let width = crate::render::markdown::stdout_width().unwrap_or(0);
        let chat = Chat {
            library: &library,
            client: opened.backend.as_ref(),
            request,
            stack: ctx.settings.stack().map(str::to_string),
            prices: ctx.settings.prices(),
            printer: ctx.printer,
            style: style_for_stdout(),
            width,
            path,
            conversation,
            suggest_with_model: args.suggest_with_model,
            suggestions: Vec::new(),
        };
        chat.run(&mut source).await
    })
}

/// Without topics on the command line: list them and read a choice (numbers, slugs, several).
async fn pick_topics<'l>(
    ctx: &Context,
    library: &'l Library,
    source: &mut Source,
) -> Result<Option<Vec<&'l Topic>>, Failure> {
    if source.is_terminal() {
        let mut list = String::new();
        for topic in library.topics() {
            list.push_str(&format!("{:>3}  {}\n", topic.number, topic.title));
        }
        ctx.printer.out(&list)?;
        ctx.printer
            .status("Pick one or more topics (numbers or slugs, e.g. \"15 16\"); Ctrl-D quits.");
    }
    loop {
        let line = match source.read("topics> ").await {
            Ok(Read::Line(line)) => line,
            Ok(Read::Cleared) => continue,
            Ok(Read::Eof) => return Ok(None),
            Err(e) => return Err(Failure::work(format!("cannot read input: {e}"))),
        };
        let names: Vec<String> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            continue;
        }
        match library.resolve_all(&names) {
            Ok(topics) => return Ok(Some(topics)),
            Err(e) if source.is_terminal() => ctx.printer.warn(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A new conversation on `topics`: priming (with the stack line), then each topic prompt.
fn start(ctx: &Context, library: &Library, topics: &[&Topic]) -> (Conversation, PathBuf) {
    let s = &ctx.settings;
    let title = topics.iter().map(|t| t.title.as_str()).collect::<Vec<_>>().join(" + ");
    let transcript = Transcript {
        meta: Meta {
            topics: topics.iter().map(|t| t.slug.clone()).collect(),
            stack: s.stack().map(str::to_string),
            profile: Some(s.profile().to_string()),
            ..Meta::started(title, s.model().to_string(), s.base_url_shown())
        },
        turns: Vec::new(),
    };
    let path = store::new_path(s.sessions_dir(), &transcript);
    let planned = opening_turns(library, s.stack(), topics);
    (Conversation::new(transcript, planned), path)
}

/// A saved conversation, continued: opening turns it never got to are sent first.
fn resume(
    ctx: &Context,
    library: &Library,
    file: Option<&Path>,
) -> Result<(Conversation, PathBuf), Failure> {
    let path = match file {
        Some(file) => file.to_path_buf(),
        None => latest_session(ctx.settings.sessions_dir())?,
    };
    let transcript = store::load(&path).map_err(Failure::usage)?;
    let asked: Vec<&TurnKind> = transcript
        .turns
        .iter()
        .filter(|t| t.role == Role::User)
        .filter_map(|t| t.info.kind.as_ref())
        .collect();
    let topics: Vec<&Topic> =
        transcript.meta.topics.iter().filter_map(|slug| library.topic_by_slug(slug)).collect();
    let mut planned: Vec<PlannedTurn> =
        opening_turns(library, transcript.meta.stack.as_deref(), &topics)
            .into_iter()
            .filter(|turn| !asked.contains(&&turn.kind))
            .collect();
    if transcript.turns.iter().any(|t| t.role == Role::User) {
        planned.retain(|t| t.kind != TurnKind::Priming);
    }
    let mut conversation = Conversation::new(transcript, planned);
    conversation.reopen();
    ctx.printer.status(format!("resuming {}", path.display()));
    Ok((conversation, path))
}

/// The most recently written transcript directly in the sessions directory.
fn latest_session(dir: &Path) -> Result<PathBuf, Failure> {
    let none = || {
        Failure::usage(format!(
            "no saved session in {} to resume; start one with 'deepdive chat TOPIC'",
            dir.display()
        ))
    };
    let entries = std::fs::read_dir(dir).map_err(|_| none())?;
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
        .ok_or_else(none)
}
