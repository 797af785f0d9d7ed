//! Drives a [`Conversation`] against the endpoint: counts each request, sends it, records the
//! answer and saves the transcript after every turn, so a crash loses at most the answer in
//! flight. Shared by every command that talks to a model; it prints nothing itself and reports
//! through [`Reporter`].

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::client::{ChatClient, ChatRequest, ClientEvent};
use crate::conversation::{Answer, Conversation, PlannedTurn};
use crate::message::{FinishReason, Usage};
use crate::session::store;
use crate::tokens::{TokenCount, TokenCounter};

/// What a conversation run reports as it goes.
pub trait Reporter: Send {
    /// A request of `messages` messages is about to be sent for `turn` (0-based among the
    /// planned turns).
    fn request(&mut self, turn: &PlannedTurn, index: usize, messages: usize, prompt: TokenCount);
    /// The client will retry after a failure.
    fn retrying(&mut self, attempt: u32, max_attempts: u32, wait: Duration, reason: &str);
    /// Answer text arrived (streaming); `Restart` discards what a failed attempt sent.
    fn delta(&mut self, text: &str);
    /// The client restarted the turn: text sent so far by `delta` is void.
    fn restart(&mut self);
    /// The turn's answer was recorded and saved.
    fn answered(&mut self, usage: Usage, finish: &FinishReason, elapsed: Duration);
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
#[derive(Debug, PartialEq, Eq)]
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

/// Why a run could not save its transcript.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SaveError(#[from] pub store::StoreError);

/// Sends every planned turn of `conversation` in order, saving to `path` after each answer.
pub async fn run(
    conversation: &mut Conversation,
    path: &Path,
    client: &ChatClient,
    request: &RequestSettings,
    reporter: &mut dyn Reporter,
    cancel: &CancellationToken,
) -> Result<RunEnd, SaveError> {
    let counter = TokenCounter::for_model(&request.model);
    store::save(path, conversation.transcript())?;
    let mut index = 0;
    while let (Some(turn), Some(messages)) =
        (conversation.next_turn().cloned(), conversation.next_messages())
    {
        let prompt = counter.count_request(&messages);
        if let Some(window) = request.context_window.filter(|&w| prompt.tokens > u64::from(w)) {
            let reason = format!(
                "the request needs {prompt} prompt tokens but the context window of {} is {window}; \
                 use a model with a larger window or set context_window in its profile if it is wrong",
                request.model
            );
            conversation.record_failure(&reason);
            store::save(path, conversation.transcript())?;
            return Ok(RunEnd::Failed { reason, endpoint_fatal: false });
        }
        reporter.request(&turn, index, messages.len(), prompt);
        let chat = ChatRequest {
            model: request.model.clone(),
            messages,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            prompt_tokens: Some(prompt.tokens),
        };
        let started = Instant::now();
        let mut on_event = |event: ClientEvent<'_>| match event {
            ClientEvent::Delta(text) => reporter.delta(text),
            ClientEvent::Restart => reporter.restart(),
            ClientEvent::Retrying { attempt, max_attempts, wait, reason } => {
                reporter.retrying(attempt, max_attempts, wait, &reason)
            }
        };
        let result = tokio::select! {
            result = client.complete(&chat, &mut on_event) => result,
            () = cancel.cancelled() => {
                conversation.record_interruption();
                store::save(path, conversation.transcript())?;
                return Ok(RunEnd::Interrupted);
            }
        };
        match result {
            Ok(completion) => {
                let usage = completion.usage.unwrap_or_else(|| Usage {
                    prompt_tokens: prompt.tokens,
                    completion_tokens: counter.count_text(&completion.text).tokens,
                });
                let finish = completion.finish_reason.clone();
                conversation.record_answer(Answer {
                    text: completion.text,
                    finish_reason: completion.finish_reason,
                    usage,
                    model: request.model.clone(),
                    coverage: None,
                });
                store::save(path, conversation.transcript())?;
                reporter.answered(usage, &finish, started.elapsed());
            }
            Err(error) => {
                let reason = error.to_string();
                conversation.record_failure(&reason);
                store::save(path, conversation.transcript())?;
                return Ok(RunEnd::Failed {
                    reason,
                    endpoint_fatal: error.is_fatal_for_endpoint(),
                });
            }
        }
        index += 1;
    }
    Ok(RunEnd::Complete)
}
