//! Runs the topics of a plan concurrently: bounded by the configured concurrency, through one
//! adaptive rate limiter, saving each transcript after every answer and the manifest after
//! every topic.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;

use super::manifest::{Manifest, ManifestError, TopicRecord, TopicStatus};
use super::plan::{Plan, file_name};
use super::priming::{self, PRIMING_FILE, PRIMING_SLUG};
use super::{Observer, estimate};
use crate::client::AdaptiveLimiter;
use crate::coverage;
use crate::driver::{
    self, Conversation, Endpoint, Event, PlannedTurn, RequestSettings, RunEnd, Session,
};
use crate::message::Usage;
use crate::prompts::{Library, Topic};
use crate::render::plural;
use crate::session::{Meta, ReplayOf, Transcript, Turn, store};
use crate::settings::Prices;

/// Everything a run needs.
pub struct Job<'a> {
    pub library: &'a Library,
    pub plan: Plan,
    pub dir: PathBuf,
    pub endpoint: Endpoint<'a>,
    pub request: RequestSettings,
    pub concurrency: usize,
    /// How long one request may wait on rate limits in all (`retry.max_rate_limit_wait_secs`).
    pub max_rate_limit_wait: Duration,
    /// Which finished or failed topics run again.
    pub rerun: Rerun,
    /// Stop launching topics once the recorded cost plus the next topic's estimate exceeds it.
    pub max_cost: Option<(f64, Prices)>,
}

/// Which topics a run takes up besides those never run or left unfinished.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rerun {
    /// `--retry-failed`: only the topics that failed (not those never run).
    pub failed_only: bool,
    /// `--retry-truncated`: also the topics with an answer cut off at `max_tokens`, asking
    /// the cut-off turns again.
    pub truncated: bool,
}

impl Rerun {
    /// Whether a topic in `status` runs.
    pub fn wants(self, status: TopicStatus) -> bool {
        match status {
            TopicStatus::Failed => true,
            TopicStatus::Truncated => self.truncated,
            TopicStatus::Pending | TopicStatus::Interrupted | TopicStatus::Skipped => {
                !self.failed_only
            }
            TopicStatus::Complete => false,
        }
    }
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(
        "{dir} holds a run with a different plan: {why}; resume it with the same settings, or \
         choose another folder with --out"
    )]
    PlanConflict { dir: String, why: String },
    #[error(transparent)]
    Prompts(#[from] crate::prompts::PromptError),
    #[error(transparent)]
    Handbook(#[from] crate::handbook::HandbookError),
    #[error(transparent)]
    Folder(#[from] super::folder::FolderError),
}

impl BatchError {
    /// Errors about the run folder or the user's input, rather than the work.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BatchError::PlanConflict { .. }
                | BatchError::Prompts(_)
                | BatchError::Manifest(_)
                | BatchError::Folder(_)
        )
    }
}

/// How a run ended.
pub struct RunSummary {
    pub manifest: Manifest,
    pub interrupted: bool,
    pub elapsed: Duration,
    /// Why topics were left unsent, when the run stopped launching them (one line).
    pub stopped: Option<String>,
}

fn fresh_record(topic: &Topic) -> TopicRecord {
    TopicRecord::pending(topic.number, &topic.slug, &topic.title, file_name(topic))
}

/// Opens or creates the run folder's manifest for `plan`: a folder from an earlier run with
/// the same model, endpoint, stack and follow-ups continues (new topics are added); anything
/// else is refused. Records are brought in line with the transcripts on disk.
pub fn prepare(library: &Library, plan: Plan, dir: &Path) -> Result<Manifest, BatchError> {
    let topics = plan.resolve_topics(library)?;
    let mut manifest = match Manifest::load(dir)? {
        Some(existing) => {
            if let Some(why) = existing.plan.conflict_with(&plan) {
                return Err(BatchError::PlanConflict { dir: dir.display().to_string(), why });
            }
            Manifest {
                plan: Plan { topics: existing.plan.topics.clone(), ..plan.clone() },
                ..existing
            }
        }
        None => Manifest::new(plan.clone(), Vec::new()),
    };
    for topic in topics {
        if manifest.record(&topic.slug).is_none() {
            manifest.topics.push(fresh_record(topic));
        }
        if !manifest.plan.topics.contains(&topic.slug) {
            manifest.plan.topics.push(topic.slug.clone());
        }
    }
    manifest.topics.sort_by_key(|t| t.number);
    let order: Vec<String> = manifest.topics.iter().map(|t| t.slug.clone()).collect();
    manifest.plan.topics = order;
    manifest.reconcile(dir)?;
    Ok(manifest)
}

/// Runs every topic of `manifest` that still needs it: first the shared priming exchange
/// (when the run shares one and a topic still needs it), then the topics, concurrently.
pub async fn execute(
    job: &Job<'_>,
    mut manifest: Manifest,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Result<RunSummary, BatchError> {
    let started = Instant::now();
    let limiter = AdaptiveLimiter::new(job.concurrency, job.max_rate_limit_wait);
    let endpoint = Endpoint { limiter: Some(&limiter), ..job.endpoint };
    let mut queue: VecDeque<String> = manifest
        .topics
        .iter()
        .filter(|r| job.rerun.wants(r.status))
        .map(|r| r.slug.clone())
        .collect();
    let done = manifest.topics.len() - queue.len();
    observer.start(queue.len(), done);
    manifest.save(&job.dir)?;

    let mut stop_reason: Option<String> = None;
    let mut shared = None;
    // The budget counts the priming request too: nothing is sent when it would not fit.
    let first = queue.front().and_then(|slug| job.library.topic_by_slug(slug));
    if let Some(reason) = first.and_then(|topic| over_budget(job, &manifest, topic)) {
        stop_reason = Some(reason);
    } else if let Some(question) = priming::shared_question(&job.plan, job.library) {
        if needs_shared_priming(job, &manifest, &queue) {
            match ensure_priming(job, &endpoint, &mut manifest, &question, observer, cancel).await?
            {
                Primed::Ready(exchange) => shared = Some(*exchange),
                Primed::Stopped(reason) => stop_reason = Some(reason),
                Primed::Interrupted => {}
            }
        }
    }

    let mut running = FuturesUnordered::new();
    let mut fatal_seen = false;
    loop {
        while running.len() < job.concurrency && stop_reason.is_none() && !cancel.is_cancelled() {
            let Some(slug) = queue.pop_front() else { break };
            let Some(topic) = job.library.topic_by_slug(&slug) else { continue };
            if let Some(reason) = over_budget(job, &manifest, topic) {
                stop_reason = Some(reason);
                queue.push_front(slug);
                break;
            }
            let record = manifest.record_mut(&slug).map(|r| {
                r.started = Some(crate::session::now());
                r.clone()
            });
            if let Some(record) = record {
                observer.topic_started(&record);
                let shared = shared.as_ref();
                running.push(run_topic(job, &endpoint, topic, record, shared, observer, cancel));
            }
        }
        let Some(result) = running.next().await else { break };
        let (record, end) = result?;
        if let RunEnd::Failed(failure) = &end {
            if failure.is_fatal_for_endpoint() && !fatal_seen {
                fatal_seen = true;
                if stop_reason.is_none() && !queue.is_empty() {
                    // The error itself is shown once, with the topic that got it.
                    stop_reason = Some(format!("the endpoint rejected {}", record.slug));
                }
            }
        }
        observer.topic_finished(&record);
        if let Some(slot) = manifest.record_mut(&record.slug) {
            *slot = record;
        }
        manifest.save(&job.dir)?;
    }
    let unsent = queue.len();
    let stopped = stop_reason.filter(|_| unsent > 0).map(|reason| {
        for slug in &queue {
            if let Some(record) = manifest.record_mut(slug) {
                record.status = TopicStatus::Skipped;
                record.error = Some(format!("not sent: {reason}"));
            }
        }
        format!("{} not started: {reason}", plural(unsent as u64, "topic"))
    });
    if let Some(line) = &stopped {
        observer.note(line);
        // The skipped topics' records changed; every other change was saved as it happened.
        manifest.save(&job.dir)?;
    }
    write_handbook(job, &manifest)?;
    Ok(RunSummary {
        manifest,
        interrupted: cancel.is_cancelled(),
        elapsed: started.elapsed(),
        stopped,
    })
}

fn write_handbook(job: &Job<'_>, manifest: &Manifest) -> Result<(), BatchError> {
    super::handbook::write(&job.dir, manifest, job.library)?;
    Ok(())
}

/// Why launching `topic` would pass `--max-cost`, if it would.
fn over_budget(job: &Job<'_>, manifest: &Manifest, topic: &Topic) -> Option<String> {
    let (max, prices) = job.max_cost.as_ref()?;
    let spent = prices.cost_of(&manifest.usage());
    let shared = manifest.priming.as_ref().is_some_and(|p| p.status != TopicStatus::Pending);
    let next = estimate::topic(job.library, &job.plan, topic, &job.request)
        .without_priming(shared && !job.plan.fresh_priming)
        .cost(prices);
    (spent + next > *max).then(|| {
        format!(
            "--max-cost ${max:.2} reached (${spent:.2} recorded; the next topic would add about \
             ${next:.2})"
        )
    })
}

/// Whether a queued topic still needs the shared exchange copied in (its transcript is new,
/// or its cut-off priming answer is asked again).
fn needs_shared_priming(job: &Job<'_>, manifest: &Manifest, queue: &VecDeque<String>) -> bool {
    queue.iter().filter_map(|slug| manifest.record(slug)).any(|record| {
        let path = job.dir.join(&record.file);
        priming::needs_seed(&path)
            || (job.rerun.truncated && record.status == TopicStatus::Truncated)
    })
}

/// How asking for the shared priming exchange ended.
enum Primed {
    Ready(Box<(Turn, Turn)>),
    /// It failed; the topics are not sent, for this reason.
    Stopped(String),
    Interrupted,
}

/// The shared priming exchange: the one saved in the run folder, or asked now and saved.
async fn ensure_priming(
    job: &Job<'_>,
    endpoint: &Endpoint<'_>,
    manifest: &mut Manifest,
    question: &PlannedTurn,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Result<Primed, BatchError> {
    let path = job.dir.join(PRIMING_FILE);
    if path.exists() {
        let saved = store::load(&path)?;
        if let Some(exchange) = priming::answered(&saved, question, job.rerun.truncated) {
            return Ok(Primed::Ready(Box::new(exchange)));
        }
    }
    let mut record = manifest.priming.clone().unwrap_or_else(TopicRecord::priming);
    record.started = Some(crate::session::now());
    observer.priming_started();
    let conversation = Conversation::new(priming::new_transcript(&job.plan));
    let mut session = Session { conversation, request: job.request.clone(), path };
    let mut agenda = driver::Replay { questions: vec![question.clone()] };
    let talk = Talk { endpoint, observer, cancel, slug: PRIMING_SLUG };
    let end = talk.run(&mut session, &mut agenda, &mut record).await?;
    let transcript = session.transcript();
    let outcome = match &end {
        RunEnd::Complete => match priming::answered(transcript, question, false) {
            Some(exchange) => Primed::Ready(Box::new(exchange)),
            None => Primed::Stopped("the priming request got no answer".into()),
        },
        // The error itself is shown once, with the priming record.
        RunEnd::Failed(_) => Primed::Stopped("the priming request failed".into()),
        RunEnd::Interrupted => Primed::Interrupted,
    };
    observer.priming_finished(&record);
    manifest.priming = Some(record);
    manifest.save(&job.dir)?;
    Ok(outcome)
}

/// What running one conversation of the run needs besides the conversation itself.
struct Talk<'a> {
    endpoint: &'a Endpoint<'a>,
    observer: &'a dyn Observer,
    cancel: &'a CancellationToken,
    /// How progress names the conversation.
    slug: &'a str,
}

impl Talk<'_> {
    /// Runs `session` through `agenda` to its end, saves it, and records in `record` how it
    /// went: usage, attempts, time, status and error.
    async fn run(
        &self,
        session: &mut Session,
        agenda: &mut impl driver::Agenda,
        record: &mut TopicRecord,
    ) -> Result<RunEnd, BatchError> {
        let started = Instant::now();
        let mut attempts =
            Attempts { turn: session.transcript().exchanges().count(), ..Attempts::default() };
        let mut events = |event: Event<'_>| {
            attempts.count(&event);
            self.observer.event(self.slug, attempts.turn, &event);
        };
        let end = driver::run(session, agenda, self.endpoint, &mut events, self.cancel).await?;
        if matches!(end, RunEnd::Complete) {
            session.finish().await?;
        }
        let transcript = session.transcript();
        record.usage = transcript.meta.usage;
        record.attempts += attempts.sent;
        record.elapsed_ms += started.elapsed().as_millis() as u64;
        record.finished = Some(crate::session::now());
        (record.status, record.error) = match &end {
            RunEnd::Complete => (TopicStatus::of_finished(transcript), None),
            RunEnd::Failed(failure) => (TopicStatus::Failed, Some(failure.to_string())),
            RunEnd::Interrupted => (TopicStatus::Interrupted, None),
        };
        Ok(end)
    }
}

/// Counts a conversation's turns and the HTTP attempts made for them from its events.
#[derive(Default)]
struct Attempts {
    /// The turn being asked (1-based), counting the exchanges already in the transcript.
    turn: usize,
    sent: u32,
}

impl Attempts {
    fn count(&mut self, event: &Event<'_>) {
        match event {
            Event::Sending { .. } => {
                self.turn += 1;
                self.sent += 1;
            }
            Event::Wait(_) => self.sent += 1,
            _ => {}
        }
    }
}

/// Runs (or continues) one topic's conversation to its end.
async fn run_topic(
    job: &Job<'_>,
    endpoint: &Endpoint<'_>,
    topic: &Topic,
    mut record: TopicRecord,
    shared: Option<&(Turn, Turn)>,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Result<(TopicRecord, RunEnd), BatchError> {
    let path = job.dir.join(&record.file);
    let mut transcript = match path.exists() {
        true => store::load(&path)?,
        false => new_transcript(&job.plan, topic),
    };
    if job.rerun.truncated {
        cut_at_first_truncated(&mut transcript);
    }
    let mut conversation = Conversation::new(transcript);
    conversation.drop_unfinished_tail();
    conversation.reopen();
    let mut transcript = conversation.into_transcript();
    if let Some(shared) = shared.filter(|_| transcript.exchanges().next().is_none()) {
        priming::seed(&mut transcript, shared);
    }
    let conversation = Conversation::new(transcript);
    let mut session = Session { conversation, request: job.request.clone(), path };
    let mut agenda = job.plan.agenda(job.library, topic);
    let talk = Talk { endpoint, observer, cancel, slug: &topic.slug };
    let end = talk.run(&mut session, &mut agenda, &mut record).await?;
    let transcript = session.transcript();
    let verdicts = coverage::of_topic(topic, transcript, coverage::Reasons::Recorded);
    record.coverage = verdicts.as_ref().map(coverage::Verdicts::summary);
    record.coverage_by = verdicts.as_ref().map(|v| v.method.label());
    record.missing =
        verdicts.map(|v| v.missing().into_iter().map(str::to_string).collect()).unwrap_or_default();
    record.judge_usage = Some(transcript.meta.judge_usage()).filter(|u| u.total() > 0);
    Ok((record, end))
}

/// Drops the first exchange whose answer was cut off at `max_tokens` and everything after
/// it, so that the conversation asks from there again (`--retry-truncated`).
fn cut_at_first_truncated(transcript: &mut Transcript) {
    let Some(at) = transcript.exchanges().position(|e| e.is_truncated()) else { return };
    while transcript.exchanges().count() > at {
        transcript.pop_exchange();
    }
    let mut usage = Usage::default();
    for exchange in transcript.exchanges() {
        usage += exchange.usage().unwrap_or_default();
    }
    transcript.meta.usage = usage;
}

fn new_transcript(plan: &Plan, topic: &Topic) -> Transcript {
    let replay_of = plan.replay.as_ref().map(|replay| {
        let file = replay.source_file(topic);
        let source = store::load(&file).ok();
        ReplayOf {
            file: file.display().to_string(),
            model: source.as_ref().map(|s| s.meta.model.clone()).unwrap_or_default(),
            turns: source.map_or(0, |s| driver::Replay::of(&s, replay.until).questions.len())
                as u32,
        }
    });
    Transcript {
        meta: Meta {
            topics: vec![topic.slug.clone()],
            stack: plan.stack.clone(),
            profile: Some(plan.profile.clone()),
            replay_of,
            ..Meta::started(topic.title.clone(), plan.model.clone(), plan.endpoint.clone())
        },
        turns: Vec::new(),
    }
}
