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
use super::plan::Plan;
use super::{Observer, estimate};
use crate::client::AdaptiveLimiter;
use crate::coverage;
use crate::driver::{self, Conversation, Endpoint, Event, RequestSettings, RunEnd, Session};
use crate::message::Usage;
use crate::prompts::{Library, Topic};
use crate::session::{Meta, ReplayOf, Transcript, store};
use crate::settings::Prices;

/// Everything a run needs.
pub struct Job<'a> {
    pub library: &'a Library,
    pub plan: Plan,
    pub dir: PathBuf,
    pub endpoint: Endpoint<'a>,
    pub request: RequestSettings,
    pub concurrency: usize,
    /// Rerun only topics that failed (not those never run).
    pub retry_failed_only: bool,
    /// Stop launching topics once the recorded cost plus the next topic's estimate exceeds it.
    pub max_cost: Option<(f64, Prices)>,
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
}

impl BatchError {
    /// Errors about the run folder or the user's input, rather than the work.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BatchError::PlanConflict { .. } | BatchError::Prompts(_) | BatchError::Manifest(_)
        )
    }
}

/// How a run ended.
pub struct RunSummary {
    pub manifest: Manifest,
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// The file name of a topic's transcript: guide order first, so a listing reads in order.
fn file_name(topic: &Topic) -> String {
    format!("{:02}-{}.md", topic.number, topic.slug)
}

fn fresh_record(topic: &Topic) -> TopicRecord {
    TopicRecord {
        number: topic.number,
        slug: topic.slug.clone(),
        title: topic.title.clone(),
        file: file_name(topic),
        status: TopicStatus::Pending,
        attempts: 0,
        error: None,
        usage: Usage::default(),
        coverage: None,
        coverage_by: None,
        judge_usage: None,
        missing: Vec::new(),
        started: None,
        finished: None,
        elapsed_ms: 0,
    }
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

/// Runs every topic of `manifest` that still needs it.
pub async fn execute(
    job: &Job<'_>,
    mut manifest: Manifest,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Result<RunSummary, BatchError> {
    let started = Instant::now();
    let limiter = AdaptiveLimiter::new(job.concurrency);
    let endpoint = Endpoint { limiter: Some(&limiter), ..job.endpoint };
    let wanted = |r: &TopicRecord| match r.status {
        TopicStatus::Failed => true,
        TopicStatus::Pending | TopicStatus::Interrupted | TopicStatus::Skipped => {
            !job.retry_failed_only
        }
        TopicStatus::Complete => false,
    };
    let mut queue: VecDeque<String> =
        manifest.topics.iter().filter(|r| wanted(r)).map(|r| r.slug.clone()).collect();
    let done = manifest.topics.iter().filter(|r| r.status == TopicStatus::Complete).count();
    observer.start(queue.len(), done);
    manifest.save(&job.dir)?;

    let mut running = FuturesUnordered::new();
    let mut stop_reason: Option<String> = None;
    loop {
        while running.len() < job.concurrency && stop_reason.is_none() && !cancel.is_cancelled() {
            let Some(slug) = queue.pop_front() else { break };
            let Some(topic) = job.library.topic_by_slug(&slug) else { continue };
            if let Some(reason) = over_budget(job, &manifest, topic) {
                observer.note(&reason);
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
                running.push(run_topic(job, &endpoint, topic, record, observer, cancel));
            }
        }
        let Some(result) = running.next().await else { break };
        let (record, end) = result?;
        if let RunEnd::Failed(failure) = &end {
            if failure.is_fatal_for_endpoint() && stop_reason.is_none() {
                let note =
                    format!("the endpoint rejected the run, not sending more topics: {failure}");
                observer.note(&note);
                stop_reason = Some(failure.to_string());
            }
        }
        observer.topic_finished(&record);
        if let Some(slot) = manifest.record_mut(&record.slug) {
            *slot = record;
        }
        manifest.save(&job.dir)?;
    }
    if let Some(reason) = &stop_reason {
        for slug in queue {
            if let Some(record) = manifest.record_mut(&slug) {
                record.status = TopicStatus::Skipped;
                record.error = Some(format!("not sent: {reason}"));
            }
        }
    }
    manifest.save(&job.dir)?;
    write_handbook(job, &manifest)?;
    Ok(RunSummary { manifest, interrupted: cancel.is_cancelled(), elapsed: started.elapsed() })
}

fn write_handbook(job: &Job<'_>, manifest: &Manifest) -> Result<(), BatchError> {
    super::handbook::write(&job.dir, manifest, job.library)?;
    Ok(())
}

/// Why launching `topic` would pass `--max-cost`, if it would.
fn over_budget(job: &Job<'_>, manifest: &Manifest, topic: &Topic) -> Option<String> {
    let (max, prices) = job.max_cost.as_ref()?;
    let spent: f64 = manifest
        .topics
        .iter()
        .map(|r| prices.cost(r.usage.prompt_tokens, r.usage.completion_tokens))
        .sum();
    let next = estimate::topic(job.library, &job.plan, topic, &job.request).cost(prices);
    (spent + next > *max).then(|| {
        format!(
            "--max-cost ${max:.2} reached: ${spent:.2} recorded, and {} would add about ${next:.2}; \
             not launching more topics",
            topic.slug
        )
    })
}

/// Runs (or continues) one topic's conversation to its end.
async fn run_topic(
    job: &Job<'_>,
    endpoint: &Endpoint<'_>,
    topic: &Topic,
    mut record: TopicRecord,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Result<(TopicRecord, RunEnd), BatchError> {
    let started = Instant::now();
    let path = job.dir.join(&record.file);
    let transcript = match path.exists() {
        true => store::load(&path)?,
        false => new_transcript(&job.plan, topic),
    };
    let mut conversation = Conversation::new(transcript);
    conversation.drop_unfinished_tail();
    conversation.reopen();
    let mut session = Session { conversation, request: job.request.clone(), path };
    let mut agenda = job.plan.agenda(job.library, topic);
    let mut turn = session.transcript().exchanges().count();
    let mut attempts = 0;
    let slug = topic.slug.as_str();
    let mut events = |event: Event<'_>| {
        match &event {
            Event::Sending { .. } => {
                turn += 1;
                attempts += 1;
            }
            Event::Wait(_) => attempts += 1,
            _ => {}
        }
        observer.event(slug, turn, &event);
    };
    let end = driver::run(&mut session, &mut agenda, endpoint, &mut events, cancel).await?;
    if matches!(end, RunEnd::Complete) {
        session.conversation.finish();
        session.save().await?;
    }
    let transcript = session.transcript();
    record.usage = transcript.meta.usage;
    record.attempts += attempts;
    record.elapsed_ms += started.elapsed().as_millis() as u64;
    record.finished = Some(crate::session::now());
    let verdicts = coverage::of_topic(topic, transcript);
    record.coverage = verdicts.as_ref().map(coverage::Verdicts::summary);
    record.coverage_by = verdicts.as_ref().map(|v| v.method.label());
    record.missing =
        verdicts.map(|v| v.missing().into_iter().map(str::to_string).collect()).unwrap_or_default();
    record.judge_usage = Some(transcript.meta.judge_usage()).filter(|u| u.total() > 0);
    (record.status, record.error) = match &end {
        RunEnd::Complete => (TopicStatus::Complete, None),
        RunEnd::Failed(failure) => (TopicStatus::Failed, Some(failure.to_string())),
        RunEnd::Interrupted => (TopicStatus::Interrupted, None),
    };
    Ok((record, end))
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
