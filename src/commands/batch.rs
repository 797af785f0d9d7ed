//! `deepdive batch (--all | TOPIC...)`: each topic as its own fresh conversation, one after
//! another, each transcript saved under the sessions directory. A topic that fails does not
//! stop the others, unless the endpoint itself rejects us (bad key, unknown model or URL,
//! exhausted quota): then every remaining topic would fail the same way, so they are skipped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Context, interrupt};
use crate::cli::BatchArgs;
use crate::conversation::{Conversation, PlannedTurn, opening_turns};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::message::{FinishReason, Usage};
use crate::prompts::Topic;
use crate::render::{Printer, duration, thousands};
use crate::runner::{self, Reporter, RunEnd};
use crate::session::{Meta, SessionStatus, Transcript, store};
use crate::tokens::TokenCount;

pub fn run(ctx: &Context, args: &BatchArgs) -> CommandResult {
    let library = ctx.library()?;
    let topics: Vec<&Topic> = if args.all {
        library.topics().iter().collect()
    } else {
        library.resolve_all(&args.topics)?
    };
    let client = ctx.client()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let cancel = interrupt::on_ctrl_c();
        let request = ctx.request_settings();
        let mut outcomes = Vec::with_capacity(topics.len());
        let mut endpoint_rejected: Option<String> = None;
        for (i, topic) in topics.iter().enumerate() {
            let label = format!("[{}/{}] {}", i + 1, topics.len(), topic.slug);
            if cancel.is_cancelled() {
                break;
            }
            if let Some(reason) = &endpoint_rejected {
                outcomes.push(Outcome::skipped(topic, reason));
                continue;
            }
            let planned = opening_turns(&library, ctx.settings.stack(), &[*topic]);
            let transcript = new_transcript(ctx, topic);
            let path = store::new_path(ctx.settings.sessions_dir(), &transcript);
            let mut conversation = Conversation::new(transcript, planned.clone());
            let mut reporter = LineReporter {
                printer: ctx.printer,
                url: client.url(),
                model: ctx.settings.model(),
                label: &label,
                planned: &planned,
            };
            let started = Instant::now();
            let end =
                runner::run(&mut conversation, &path, &client, &request, &mut reporter, &cancel)
                    .await
                    .map_err(|e| Failure::work(format!("cannot save the transcript: {e}")))?;
            let outcome = Outcome {
                slug: topic.slug.clone(),
                path: Some(path),
                usage: conversation.transcript().meta.usage,
                elapsed: started.elapsed(),
                end,
            };
            outcome.print(ctx.printer, &label)?;
            if let RunEnd::Failed { reason, endpoint_fatal: true } = &outcome.end {
                endpoint_rejected = Some(reason.clone());
            }
            outcomes.push(outcome);
        }
        Ok(summarise(ctx.printer, &outcomes, topics.len(), cancel.is_cancelled()))
    })
}

fn new_transcript(ctx: &Context, topic: &Topic) -> Transcript {
    let now = crate::session::now();
    Transcript {
        meta: Meta {
            title: topic.title.clone(),
            topics: vec![topic.slug.clone()],
            stack: ctx.settings.stack().map(str::to_string),
            model: ctx.settings.model().to_string(),
            endpoint: ctx.settings.base_url().to_string(),
            profile: Some(ctx.settings.profile().to_string()),
            created: now,
            updated: now,
            status: SessionStatus::InProgress,
            usage: Usage::default(),
            replay_of: None,
        },
        turns: Vec::new(),
    }
}

/// How one topic ended.
struct Outcome {
    slug: String,
    path: Option<PathBuf>,
    usage: Usage,
    elapsed: Duration,
    end: RunEnd,
}

impl Outcome {
    fn skipped(topic: &Topic, reason: &str) -> Outcome {
        Outcome {
            slug: topic.slug.clone(),
            path: None,
            usage: Usage::default(),
            elapsed: Duration::ZERO,
            end: RunEnd::Failed { reason: format!("not sent: {reason}"), endpoint_fatal: true },
        }
    }

    /// Prints the topic's result line on stderr and its transcript path on stdout.
    fn print(&self, printer: Printer, label: &str) -> std::io::Result<()> {
        let tokens = thousands(self.usage.total());
        let took = duration(self.elapsed);
        match &self.end {
            RunEnd::Complete => printer.status(format!("{label}: done, {tokens} tokens in {took}")),
            RunEnd::Failed { reason, .. } => printer.error(format!("{label}: failed: {reason}")),
            RunEnd::Interrupted => printer.status(format!("{label}: interrupted")),
        }
        match &self.path {
            Some(path) => printer.out(&format!("{}\n", path.display())),
            None => Ok(()),
        }
    }
}

fn summarise(
    printer: Printer,
    outcomes: &[Outcome],
    planned: usize,
    interrupted: bool,
) -> ExitCode {
    let done = outcomes.iter().filter(|o| o.end == RunEnd::Complete).count();
    let failed: Vec<&Outcome> =
        outcomes.iter().filter(|o| matches!(o.end, RunEnd::Failed { .. })).collect();
    let mut usage = Usage::default();
    for outcome in outcomes {
        usage += outcome.usage;
    }
    printer.status(format!(
        "{done} of {planned} topics done, {} failed; {} prompt + {} completion tokens",
        failed.len(),
        thousands(usage.prompt_tokens),
        thousands(usage.completion_tokens)
    ));
    for outcome in &failed {
        if let RunEnd::Failed { reason, .. } = &outcome.end {
            printer.error(format!("{}: {reason}", outcome.slug));
        }
    }
    if interrupted {
        printer.status("interrupted: answered turns are saved in the transcripts listed above");
        ExitCode::Interrupted
    } else if failed.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::WorkFailed
    }
}

/// One plain line per event on stderr; the answer text itself is not echoed in a batch.
struct LineReporter<'a> {
    printer: Printer,
    url: &'a str,
    model: &'a str,
    label: &'a str,
    planned: &'a [PlannedTurn],
}

impl Reporter for LineReporter<'_> {
    fn request(&mut self, turn: &PlannedTurn, index: usize, messages: usize, prompt: TokenCount) {
        let what = match &turn.kind {
            crate::session::TurnKind::Priming => "priming".to_string(),
            crate::session::TurnKind::Topic(slug) => slug.clone(),
            crate::session::TurnKind::Followup => "follow-up".to_string(),
        };
        self.printer.status(format!(
            "{}: turn {} of {} ({what}), {prompt} prompt tokens",
            self.label,
            index + 1,
            self.planned.len()
        ));
        self.printer.detail(format!(
            "{}: POST {} model={} messages={messages} prompt_tokens={prompt}",
            self.label, self.url, self.model
        ));
    }

    fn retrying(&mut self, attempt: u32, max_attempts: u32, wait: Duration, reason: &str) {
        self.printer.warn(format!(
            "{}: {reason}; attempt {} of {max_attempts} in {}",
            self.label,
            attempt,
            duration(wait)
        ));
    }

    fn delta(&mut self, _text: &str) {}

    fn restart(&mut self) {}

    fn answered(&mut self, usage: Usage, finish: &FinishReason, elapsed: Duration) {
        let truncated = if finish.is_truncated() { " (truncated: max_tokens reached)" } else { "" };
        self.printer.detail(format!(
            "{}: answered in {}, {} completion tokens{truncated}",
            self.label,
            duration(elapsed),
            thousands(usage.completion_tokens)
        ));
        if finish.is_truncated() {
            self.printer.warn(format!("{}: the answer was truncated at max_tokens", self.label));
        }
    }
}
