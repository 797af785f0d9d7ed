//! `deepdive replay FILE|DIR`: a saved session's user turns sent again, in order, to the
//! current profile and model, each with the new conversation's history (not the old answers).
//! A run folder is replayed topic by topic into a new run folder, as a batch.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::batch::{RunOptions, new_run_dir, run_plan};
use super::{Context, interrupt};
use crate::batch::{Manifest, Plan, plan::Replay, plan::user_turns};
use crate::cli::ReplayArgs;
use crate::conversation::{Conversation, PlannedTurn};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::message::{FinishReason, Usage};
use crate::render::{Printer, duration, thousands};
use crate::runner::{self, Endpoint, Reporter, RunEnd};
use crate::session::{Meta, ReplayOf, Transcript, store};
use crate::tokens::TokenCount;

pub fn run(ctx: &Context, args: &ReplayArgs) -> CommandResult {
    let until = args.until.map(|n| n as usize);
    if args.source.is_dir() { replay_run(ctx, args, until) } else { replay_file(ctx, args, until) }
}

/// One transcript: a new conversation that asks the same questions.
fn replay_file(ctx: &Context, args: &ReplayArgs, until: Option<usize>) -> CommandResult {
    let source = store::load(&args.source).map_err(Failure::usage)?;
    let questions = user_turns(&source, until);
    if questions.is_empty() {
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
                turns: questions.len() as u32,
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
    let total = questions.len();
    let mut conversation = Conversation::new(transcript, questions);
    let opened = ctx.open_backend()?;
    let request = ctx.request_for(&opened);
    let endpoint = Endpoint {
        client: opened.backend.as_ref(),
        request: &request,
        limiter: None,
        library: &library,
    };
    let mut reporter = ReplayReporter { printer: ctx.printer, turn: 0, total };
    ctx.printer.status(format!(
        "replaying {total} questions of {} ({}) with {}",
        args.source.display(),
        source.meta.model,
        request.model
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    let end = runtime.block_on(async {
        let cancel = interrupt::on_ctrl_c();
        runner::run(&mut conversation, &path, &endpoint, &mut reporter, &cancel).await
    });
    let end = end.map_err(Failure::work)?;
    if end == RunEnd::Complete {
        conversation.finish();
        store::save(&path, conversation.transcript()).map_err(Failure::work)?;
    }
    ctx.printer.out(&format!("{}\n", path.display()))?;
    Ok(match end {
        RunEnd::Complete => ExitCode::Success,
        RunEnd::Failed { reason, .. } => {
            ctx.printer.error(reason);
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
    };
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => new_run_dir(s.sessions_dir(), &format!("replay-{}", folder_name(&args.source))),
    };
    let options = RunOptions {
        concurrency: args.concurrency as usize,
        retry_failed_only: false,
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
struct ReplayReporter {
    printer: Printer,
    turn: usize,
    total: usize,
}

impl Reporter for ReplayReporter {
    fn request(&mut self, turn: &PlannedTurn, _messages: usize, prompt: TokenCount) {
        self.turn += 1;
        let question = turn.text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        let question: String = question.chars().take(70).collect();
        self.printer.status(format!(
            "turn {} of {}: {question} ({prompt} prompt tokens)",
            self.turn, self.total
        ));
    }

    fn retrying(&mut self, attempt: u32, max_attempts: u32, wait: Duration, reason: &str) {
        self.printer
            .warn(format!("{reason}; attempt {attempt} of {max_attempts} in {}", duration(wait)));
    }

    fn rate_limited(&mut self, wait: Duration, reason: &str) {
        self.printer.warn(format!("{reason}; sending it again in {}", duration(wait)));
    }

    fn delta(&mut self, _text: &str) {}

    fn restart(&mut self) {}

    fn answered(&mut self, usage: Usage, finish: &FinishReason, elapsed: Duration) {
        let truncated = if finish.is_truncated() { " (truncated)" } else { "" };
        self.printer.status(format!(
            "  answered: {} completion tokens in {}{truncated}",
            thousands(usage.completion_tokens),
            duration(elapsed)
        ));
    }

    fn left_out(&mut self, questions: &[String]) {
        self.printer.warn(format!(
            "{} follow-up exchange(s) left out of the request to fit the context window",
            questions.len()
        ));
    }
}
