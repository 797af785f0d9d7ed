//! Drives a [`Conversation`] against the endpoint: counts each request, sends it, records the
//! answer (with its coverage of the topic's "Cover:" points) and saves the transcript after
//! every turn, so a crash loses at most the answer in flight. Shared by every command that
//! talks to a model; it prints nothing itself and reports through [`Reporter`].

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::batch::limiter::AdaptiveLimiter;
use crate::client::{ApiError, ChatBackend, ChatRequest, ClientEvent};
use crate::conversation::{Answer, Conversation, PlannedTurn};
use crate::coverage;
use crate::message::{FinishReason, Usage};
use crate::prompts::Library;
use crate::session::{Coverage, Transcript, TurnKind, store};
use crate::tokens::{TokenCount, TokenCounter};

/// What a conversation run reports as it goes.
pub trait Reporter: Send {
    /// A request of `messages` messages is about to be sent for `turn`.
    fn request(&mut self, turn: &PlannedTurn, messages: usize, prompt: TokenCount);
    /// The client will make attempt `attempt` of `max_attempts` after `wait`.
    fn retrying(&mut self, attempt: u32, max_attempts: u32, wait: Duration, reason: &str);
    /// The endpoint rate-limited the request; it is sent again once the batch's limiter
    /// lets it, at least `wait` from now.
    fn rate_limited(&mut self, wait: Duration, reason: &str);
    /// Answer text arrived (streaming).
    fn delta(&mut self, text: &str);
    /// The client restarted the turn: text sent so far by `delta` is void.
    fn restart(&mut self);
    /// The turn's answer was recorded and saved.
    fn answered(&mut self, usage: Usage, finish: &FinishReason, elapsed: Duration);
    /// These follow-up questions were left out of the request to fit the context window.
    fn left_out(&mut self, questions: &[String]);
}

/// What every turn of a run shares: where to send, with which parameters.
#[derive(Clone, Copy)]
pub struct Endpoint<'a> {
    pub client: &'a dyn ChatBackend,
    pub request: &'a RequestSettings,
    /// Shared by all conversations of a batch, so they slow down together on rate limits.
    pub limiter: Option<&'a AdaptiveLimiter>,
    /// For the coverage check of topic answers.
    pub library: &'a Library,
}

/// Request parameters that stay the same for every turn.
#[derive(Clone, Debug)]
pub struct RequestSettings {
    pub model: String,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub context_window: Option<u32>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Every planned turn was answered.
    Complete,
    /// A turn failed (after the client's retries); the reason is recorded in the transcript.
    /// `endpoint_fatal`: every other request to this endpoint would fail the same way
    /// (bad key, unknown model or URL, exhausted quota).
    Failed { reason: String, endpoint_fatal: bool },
    /// The user cancelled; answered turns are saved.
    Interrupted,
}

/// Sends every planned turn of `conversation` in order, saving to `path` after each answer.
/// On cancellation the text that arrived is kept, marked interrupted; on failure too.
pub async fn run(
    conversation: &mut Conversation,
    path: &Path,
    endpoint: &Endpoint<'_>,
    reporter: &mut dyn Reporter,
    cancel: &CancellationToken,
) -> Result<RunEnd, store::StoreError> {
    let request = endpoint.request;
    let counter = TokenCounter::for_model(&request.model);
    while let Some(turn) = conversation.next_turn().cloned() {
        let prepared = match conversation.prepare(&request.model, request.context_window) {
            Some(Ok(prepared)) => prepared,
            Some(Err(too_large)) => {
                let reason = too_large.to_string();
                conversation.record_failure(&reason, String::new());
                store::save_async(path, conversation.transcript()).await?;
                return Ok(RunEnd::Failed { reason, endpoint_fatal: false });
            }
            None => break,
        };
        if !prepared.left_out.is_empty() {
            reporter.left_out(&prepared.left_out);
        }
        let prompt = prepared.prompt;
        let chat = ChatRequest {
            model: request.model.clone(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            prompt_tokens: Some(prompt.tokens),
            messages: prepared.messages,
            rate_limits_to_caller: false,
        };
        let mut partial = String::new();
        let outcome = tokio::select! {
            outcome = send(endpoint, &chat, &turn, prompt, reporter, &mut partial) => outcome,
            () = cancel.cancelled() => {
                conversation.record_interruption(partial, &request.model);
                store::save_async(path, conversation.transcript()).await?;
                return Ok(RunEnd::Interrupted);
            }
        };
        match outcome {
            Ok((completion, started)) => {
                let usage = completion.usage;
                let counted = usage.is_none();
                let usage = usage.unwrap_or_else(|| Usage {
                    prompt_tokens: prompt.tokens,
                    completion_tokens: counter.count_text(&completion.text).tokens,
                });
                let finish = completion.finish_reason.clone();
                let coverage =
                    coverage_after(conversation.transcript(), &turn, &completion.text, endpoint);
                conversation.record_answer(Answer {
                    text: completion.text,
                    finish_reason: completion.finish_reason,
                    usage,
                    usage_counted: counted,
                    model: request.model.clone(),
                    coverage,
                });
                store::save_async(path, conversation.transcript()).await?;
                reporter.answered(usage, &finish, started.elapsed());
            }
            Err(error) => {
                let reason = error.to_string();
                conversation.record_failure(&reason, partial);
                store::save_async(path, conversation.transcript()).await?;
                return Ok(RunEnd::Failed {
                    reason,
                    endpoint_fatal: error.is_fatal_for_endpoint(),
                });
            }
        }
    }
    Ok(RunEnd::Complete)
}

/// How many times one request may be rate-limited under a limiter before it counts as failed.
const MAX_RATE_LIMITED: u32 = 50;

/// One request, with the client's events forwarded to the reporter and the answer text kept
/// in `partial` as it arrives (what survives a cancellation). Under a batch's limiter, a
/// rate-limit answer is not retried by the client while it holds its slot: the limiter
/// pauses every request for the server's Retry-After and lowers the concurrency, and this
/// request queues again for a slot, so requests stop colliding.
async fn send(
    endpoint: &Endpoint<'_>,
    chat: &ChatRequest,
    turn: &PlannedTurn,
    prompt: TokenCount,
    reporter: &mut dyn Reporter,
    partial: &mut String,
) -> Result<(crate::client::Completion, Instant), crate::client::ApiError> {
    let Some(limiter) = endpoint.limiter else {
        reporter.request(turn, chat.messages.len(), prompt);
        let started = Instant::now();
        let result = endpoint.client.complete(chat, &mut forward(reporter, partial, None)).await;
        return result.map(|completion| (completion, started));
    };
    let chat = ChatRequest { rate_limits_to_caller: true, ..chat.clone() };
    let mut rate_limited = 0;
    loop {
        let permit = limiter.acquire().await;
        if rate_limited == 0 {
            reporter.request(turn, chat.messages.len(), prompt);
        }
        let started = Instant::now();
        let result =
            endpoint.client.complete(&chat, &mut forward(reporter, partial, Some(&permit))).await;
        match result {
            Ok(completion) => {
                permit.succeeded();
                return Ok((completion, started));
            }
            Err(error @ ApiError::RateLimited { .. }) if rate_limited < MAX_RATE_LIMITED => {
                rate_limited += 1;
                let wait = error.retry_after().unwrap_or_else(|| backoff(rate_limited));
                permit.rate_limited(wait);
                if !partial.is_empty() {
                    partial.clear();
                    reporter.restart();
                }
                reporter.rate_limited(wait, &error.reason());
            }
            Err(error) => return Err(error),
        }
    }
}

/// The client's events, forwarded: text to the reporter and into `partial`; a rate-limited
/// retry lowers the limiter (when the client retries one itself).
fn forward<'a>(
    reporter: &'a mut dyn Reporter,
    partial: &'a mut String,
    permit: Option<&'a crate::batch::limiter::Permit<'_>>,
) -> impl FnMut(ClientEvent<'_>) + Send + 'a {
    move |event| match event {
        ClientEvent::Delta(text) => {
            partial.push_str(text);
            reporter.delta(text);
        }
        ClientEvent::Restart => {
            partial.clear();
            reporter.restart();
        }
        ClientEvent::Retrying { attempt, max_attempts, wait, reason, rate_limited } => {
            if let (Some(permit), true) = (permit, rate_limited) {
                permit.rate_limited(wait);
            }
            reporter.retrying(attempt, max_attempts, wait, &reason)
        }
    }
}

/// Exponential backoff with full jitter for a rate limit that gave no Retry-After.
fn backoff(times: u32) -> Duration {
    let ceiling = Duration::from_millis(500) * 2u32.pow(times.min(6));
    ceiling.mul_f64(fastrand::f64().max(0.1))
}

/// Coverage of the current topic's "Cover:" points by its answers so far plus `answer` to
/// `turn`; `None` before any topic prompt (the priming answer) or for a topic the library lacks.
fn coverage_after(
    transcript: &Transcript,
    turn: &PlannedTurn,
    answer: &str,
    endpoint: &Endpoint<'_>,
) -> Option<Coverage> {
    let (slug, mut answers) = match &turn.kind {
        // The answer to the topic prompt itself: the transcript does not hold the turn yet.
        TurnKind::Topic(slug) => (slug.as_str(), String::new()),
        _ => {
            let slug = transcript.turns.iter().rev().find_map(|t| match &t.info.kind {
                Some(TurnKind::Topic(slug)) => Some(slug.as_str()),
                _ => None,
            })?;
            (slug, crate::batch::plan::answers_since_topic(transcript))
        }
    };
    let topic = endpoint.library.topic_by_slug(slug)?;
    answers.push_str(answer);
    Some(coverage::check(&topic.cover, &answers).summary())
}
