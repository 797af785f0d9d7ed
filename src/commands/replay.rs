//! `deepdive replay FILE|DIR`: a saved session's user turns sent again, in order, to the
//! current profile and model, each with the new conversation's history (not the old answers).
//! A run folder is replayed topic by topic into a new run folder, as a batch.

use std::path::{Path, PathBuf};

use super::batch::{RunOptions, new_run_dir, run_plan};
use super::{Context, interrupt};
use crate::batch::{Manifest, Plan, plan::Replay};
use crate::cli::ReplayArgs;
use crate::driver::{self, Conversation, Endpoint, Event, RunEnd, Session};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::render::{Printer, Verbosity, duration, first_line, plural};
use crate::session::{Meta, ReplayOf, Transcript, store};

pub fn run(ctx: &Context, args: &ReplayArgs) -> CommandResult {
    let source = crate::saved::locate::locate(ctx.settings.sessions_dir(), &args.source);
    let args = &ReplayArgs { source: source.map_err(Failure::usage)?, ..args.clone() };
    let until = args.until.map(|n| n as usize);
    if args.source.is_dir() { replay_run(ctx, args, until) } else { replay_file(ctx, args, until) }
}

/// One transcript: a new conversation that asks the same questions.
fn replay_file(ctx: &Context, args: &ReplayArgs, until: Option<usize>) -> CommandResult {
    let source = store::load(&args.source).map_err(Failure::usage)?;
    let mut questions = driver::Replay::of(&source, until);
    if questions.questions.is_empty() {
        return Err(Failure::usage(format!(
            "{} has no user turns to replay",
            args.source.display()
        )));
    }
    let library = ctx.library()?;
    let s = &ctx.settings;
    let transcript = Transcript {
        meta: Meta {
            topics: source.meta.topics.clone(),
            stack: source.meta.stack.clone(),
            profile: Some(s.profile().to_string()),
            replay_of: Some(ReplayOf {
                file: args.source.display().to_string(),
                model: source.meta.model.clone(),
                turns: questions.questions.len() as u32,
            }),
            ..Meta::started(source.meta.title.clone(), s.model().to_string(), s.base_url_shown())
        },
        turns: Vec::new(),
    };
    let path = match &args.out {
        Some(path) => path.clone(),
        None => store::new_path(s.sessions_dir(), &transcript),
    };
    if path.exists() {
        return Err(Failure::usage(format!(
            "{} exists; replay never overwrites a transcript: choose another --out",
            path.display()
        )));
    }
    let total = questions.questions.len();
    let opened = ctx.open_backend()?;
    let opened_judge = ctx.open_judge()?;
    let judge = opened_judge.as_ref().map(|j| j.judge());
    let request = ctx.request_for(&opened);
    let retry = ctx.retry_policy();
    let endpoint = Endpoint {
        backend: opened.backend.as_ref(),
        limiter: None,
        retry: &retry,
        library: &library,
        judge: judge.as_ref(),
        count_prompts: ctx.printer.verbosity() == Verbosity::Verbose,
    };
    ctx.printer.status(format!(
        "replaying {} of {} ({}) with {}",
        plural(total as u64, "question"),
        args.source.display(),
        source.meta.model,
        request.model
    ));
    let mut session = Session { conversation: Conversation::new(transcript), request, path };
    let mut lines = ReplayLines { printer: ctx.printer, turn: 0, total };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    let end = runtime.block_on(async {
        let cancel = interrupt::on_ctrl_c();
        let mut events = |event: Event<'_>| lines.show(&event);
        let end =
            driver::run(&mut session, &mut questions, &endpoint, &mut events, &cancel).await?;
        if matches!(end, RunEnd::Complete) {
            session.finish().await?;
        }
        Ok::<_, store::StoreError>(end)
    });
    let end = end.map_err(Failure::work)?;
    let path = session.path;
    ctx.printer.out(&format!("{}\n", path.display()))?;
    Ok(match end {
        RunEnd::Complete => ExitCode::Success,
        RunEnd::Failed(failure) => {
            ctx.printer.error(failure.to_string());
            ExitCode::WorkFailed
        }
        RunEnd::Interrupted => ExitCode::Interrupted,
    })
}

/// A run folder: every topic's questions, into a new run folder, with the batch machinery
/// (concurrency, progress, resume, handbook).
fn replay_run(ctx: &Context, args: &ReplayArgs, until: Option<usize>) -> CommandResult {
    let source = Manifest::load(&args.source).map_err(Failure::usage)?.ok_or_else(|| {
        Failure::usage(format!(
            "{} is neither a transcript nor a batch run folder (no manifest.json)",
            args.source.display()
        ))
    })?;
    let library = ctx.library()?;
    let from = std::fs::canonicalize(&args.source).unwrap_or_else(|_| args.source.clone());
    let replay = Replay { from, until };
    // Every source transcript must read before anything is sent.
    let mut topics = Vec::new();
    for record in &source.topics {
        let topic = library.topic_by_slug(&record.slug).ok_or_else(|| {
            Failure::usage(format!(
                "topic '{}' of {} is not in the prompt library; pass the --prompts it was run with",
                record.slug,
                args.source.display()
            ))
        })?;
        let file = replay.source_file(topic);
        if file.exists() {
            store::load(&file).map_err(Failure::usage)?;
            topics.push(topic.slug.clone());
        }
    }
    if topics.is_empty() {
        return Err(Failure::usage(format!(
            "{} has no transcripts to replay",
            args.source.display()
        )));
    }
    let s = &ctx.settings;
    let plan = Plan {
        topics,
        followups: Vec::new(),
        model: s.model().to_string(),
        endpoint: s.base_url_shown(),
        profile: s.profile().to_string(),
        stack: source.plan.stack.clone(),
        replay: Some(replay),
        fresh_priming: false,
        endpoint_pinned: super::batch::pinned(s),
    };
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => new_run_dir(s.sessions_dir(), &format!("replay-{}", folder_name(&args.source))),
    };
    let options = RunOptions {
        concurrency: args.concurrency as usize,
        rerun: crate::batch::Rerun::default(),
        max_cost: None,
    };
    run_plan(ctx, &library, plan, &dir, options)
}

fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| PathBuf::from(dir))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}

/// One line per turn on stderr.
struct ReplayLines {
    printer: Printer,
    turn: usize,
    total: usize,
}

impl ReplayLines {
    fn show(&mut self, event: &Event<'_>) {
        match event {
            Event::Sending { turn, prompt, .. } => {
                self.turn += 1;
                let prompt = prompt.map(|p| format!(" ({p} prompt tokens)")).unwrap_or_default();
                self.printer.status(format!(
                    "turn {} of {}: {}{prompt}",
                    self.turn,
                    self.total,
                    first_line(&turn.text, 70)
                ));
            }
            Event::Wait(wait) => self.printer.warn(wait.to_string()),
            Event::LeftOut(questions) => self.printer.warn(format!(
                "{} left out of the request to fit the context window",
                plural(questions.len() as u64, "follow-up exchange")
            )),
            Event::Answered { exchange, elapsed } => {
                let truncated = if exchange.is_truncated() { " (truncated)" } else { "" };
                let tokens = exchange.usage().map_or(0, |u| u.completion_tokens);
                self.printer.status(format!(
                    "  answered: {} in {}{truncated}",
                    plural(tokens, "completion token"),
                    duration(*elapsed)
                ));
            }
            Event::Coverage { verdicts, .. } => {
                self.printer.status(format!("  coverage {}", verdicts.label()));
                if let Some(note) = &verdicts.note {
                    self.printer.warn(format!("coverage: {note}"));
                }
            }
            Event::Delta(_)
            | Event::Restart
            | Event::Interrupted { .. }
            | Event::Failed { .. }
            | Event::Judging { .. } => {}
        }
    }
}
