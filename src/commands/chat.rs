//! `deepdive chat [TOPIC...]`: the interactive guided session.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::Context;
use crate::chat::display::ChatRenderer;
use crate::chat::input::{self, Read, Source};
use crate::chat::interrupt::Interrupts;
use crate::chat::user::ChatUser;
use crate::cli::ChatArgs;
use crate::driver::{self, Conversation, Endpoint, Event, Interactive, Opening, Session};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::prompts::{Library, Topic};
use crate::render::markdown::{MarkdownStream, Style, style_for_stdout};
use crate::render::{Printer, Verbosity};
use crate::session::{AnswerStatus, Exchange, Meta, Transcript, store};

pub fn run(ctx: &Context, args: &ChatArgs) -> CommandResult {
    let library = ctx.library()?;
    let interactive = std::io::stdin().is_terminal();
    // A wrong path is an error before anything is opened (the local model may download).
    let resumed = match &args.resume {
        Some(file) => Some(resume(ctx, file.as_deref())?),
        None => None,
    };
    let named = library.resolve_all(&args.topics)?;
    // Before the runtime starts: opening the local model may download it on its own runtime.
    let opened = ctx.open_backend()?;
    let opened_judge = ctx.open_judge()?;
    let judge = opened_judge.as_ref().map(|j| j.judge());
    let request = ctx.request_for(&opened);
    let retry = ctx.retry_policy();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let interrupts = Interrupts::listen()
            .map_err(|e| Failure::work(format!("cannot listen for Ctrl-C: {e}")))?;
        let slugs = library.topics().iter().map(|t| t.slug.clone()).collect();
        let history = if interactive { input::history_path() } else { None };
        let mut source = Source::new(interactive, slugs, history);
        let style = style_for_stdout();
        let width = crate::render::markdown::stdout_width().unwrap_or(0);
        // A resumed transcript as it was read, to leave the file alone if nothing changes.
        let mut loaded = None;
        let (conversation, path) = match resumed {
            Some((conversation, path)) => {
                show_so_far(ctx.printer, conversation.transcript(), args.history, style, width)?;
                loaded = Some(conversation.transcript().clone());
                (conversation, path)
            }
            None => {
                let topics = match named.is_empty() {
                    false => named,
                    true => match pick_topics(ctx, &library, &mut source, &interrupts).await? {
                        Picked::Topics(topics) => topics,
                        Picked::Nothing => return Ok(ExitCode::Success),
                        Picked::Interrupted => return Ok(ExitCode::Interrupted),
                    },
                };
                start(ctx, &topics)
            }
        };
        ctx.printer.status(format!("transcript: {}", path.display()));
        let mut session = Session { conversation, request, path };
        let mut renderer = ChatRenderer::new(ctx.printer, style, width);
        renderer.window = session.request.context_window;
        renderer.prices = ctx.settings.prices();
        let mut user = ChatUser::new(
            &library,
            opened.backend.as_ref(),
            ctx.printer,
            source,
            interrupts.clone(),
        );
        user.prices = ctx.settings.prices();
        user.suggest_with_model = args.suggest_with_model;
        if loaded.is_some() {
            user.resumed(session.transcript());
        }
        let mut agenda = Interactive::new(Opening { library: &library, followups: &[] }, user);
        let endpoint = Endpoint {
            backend: opened.backend.as_ref(),
            limiter: None,
            retry: &retry,
            library: &library,
            judge: judge.as_ref(),
            count_prompts: ctx.printer.verbosity() == Verbosity::Verbose,
        };
        let mut events = |event: Event<'_>| renderer.show(&event);
        driver::run(&mut session, &mut agenda, &endpoint, &mut events, &interrupts)
            .await
            .map_err(Failure::work)?;
        end(ctx.printer, &mut session, agenda.user.interrupted, loaded.as_ref()).await
    });
    // A read of piped stdin still waiting in its blocking thread must not keep the process
    // alive after the session ended (Ctrl-C with the writer still open).
    runtime.shutdown_background();
    result
}

/// Saves the final state and picks the exit code: 130 when Ctrl-C ended the session, 1 when
/// the last answer failed. A resumed transcript (`loaded`) that nothing was added to or
/// taken from is not written again.
async fn end(
    printer: Printer,
    session: &mut Session,
    interrupted: bool,
    loaded: Option<&Transcript>,
) -> CommandResult {
    let last_failed = session
        .transcript()
        .last_exchange()
        .is_some_and(|e| e.status() == Some(AnswerStatus::Failed));
    if loaded.is_some_and(|loaded| unchanged(session.transcript(), loaded)) {
        printer.status(format!("nothing new: {} is as it was", session.path.display()));
    } else {
        if !last_failed {
            session.conversation.finish();
        }
        session.save().await.map_err(Failure::work)?;
        printer.status(format!("saved {}", session.path.display()));
    }
    Ok(if interrupted {
        ExitCode::Interrupted
    } else if last_failed {
        ExitCode::WorkFailed
    } else {
        ExitCode::Success
    })
}

/// True when `now` holds what `loaded` held: the same turns and front matter, apart from the
/// status and time a session's start and end set.
fn unchanged(now: &Transcript, loaded: &Transcript) -> bool {
    let meta =
        Meta { status: loaded.meta.status, updated: loaded.meta.updated, ..now.meta.clone() };
    now.turns == loaded.turns && meta == loaded.meta
}

/// What the topic picker got.
enum Picked<'l> {
    Topics(Vec<&'l Topic>),
    /// Ctrl-D or the end of the input.
    Nothing,
    Interrupted,
}

/// Without topics on the command line: list them and read a choice (numbers, slugs, several).
async fn pick_topics<'l>(
    ctx: &Context,
    library: &'l Library,
    source: &mut Source,
    interrupts: &Interrupts,
) -> Result<Picked<'l>, Failure> {
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
        let read = tokio::select! {
            read = source.read("topics> ") => read,
            () = interrupts.next() => return Ok(Picked::Interrupted),
        };
        let line = match read {
            Ok(Read::Line(line)) => line,
            Ok(Read::Cleared) => continue,
            Ok(Read::Eof) => return Ok(Picked::Nothing),
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
            Ok(topics) => return Ok(Picked::Topics(topics)),
            Err(e) if source.is_terminal() => ctx.printer.warn(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A new conversation on `topics`. Its front matter names the topics and the stack, which is
/// the plan the driver's opening agenda follows.
fn start(ctx: &Context, topics: &[&Topic]) -> (Conversation, PathBuf) {
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
    (Conversation::new(transcript), path)
}

/// A saved conversation, continued: the plan its front matter names goes on where it stopped.
fn resume(ctx: &Context, file: Option<&Path>) -> Result<(Conversation, PathBuf), Failure> {
    let path = match file {
        Some(file) => crate::saved::locate::locate_transcript(ctx.settings.sessions_dir(), file)
            .map_err(Failure::usage)?,
        None => latest_session(ctx.settings.sessions_dir())?,
    };
    let transcript = store::load(&path).map_err(Failure::usage)?;
    let mut conversation = Conversation::new(transcript);
    conversation.reopen();
    ctx.printer.status(format!("resuming {}", path.display()));
    Ok((conversation, path))
}

/// The conversation so far, as the chat showed it: the last exchange, or all of them.
fn show_so_far(
    printer: Printer,
    transcript: &Transcript,
    all: bool,
    style: Style,
    width: usize,
) -> Result<(), Failure> {
    let exchanges: Vec<Exchange<'_>> = transcript.exchanges().collect();
    let shown = if all { &exchanges[..] } else { &exchanges[exchanges.len().saturating_sub(1)..] };
    if !all && exchanges.len() > 1 {
        printer.status(format!(
            "{} earlier exchanges not shown (--history shows them all)",
            exchanges.len() - 1
        ));
    }
    for exchange in shown {
        let mut out =
            format!("you> {}\n", crate::render::first_line(exchange.question_text(), 200));
        if let Some(answer) = exchange.answer_text() {
            let mut rendered = Vec::new();
            let mut markdown = MarkdownStream::new(style, width);
            let _ = markdown.push(answer, &mut rendered);
            let _ = markdown.finish(&mut rendered);
            out.push_str(&String::from_utf8_lossy(&rendered));
            out.push('\n');
            if let Some(status) = exchange.status().filter(|s| *s != AnswerStatus::Complete) {
                out.push_str(&format!("({})\n", status.as_str()));
            }
        }
        printer.out(&out)?;
    }
    Ok(())
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
