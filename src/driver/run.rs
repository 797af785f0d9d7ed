//! The one run loop every command that talks to a model shares: ask the agenda for the next
//! question, fit it to the context window, send it, record the answer (with its coverage of
//! the topic's "Cover:" points) and save the transcript after every turn, so a crash loses
//! at most the answer in flight. It prints nothing; it emits [`Event`]s.

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::agenda::{Agenda, Flow};
use super::conversation::{Answer, Conversation, Limits, PlannedTurn, TooLarge};
use super::events::{Event, Wait};
use super::judge::{Judge, Step};
use crate::client::{
    AdaptiveLimiter, ApiError, ChatBackend, ChatRequest, ClientEvent, RetryPolicy,
};
use crate::message::Usage;
use crate::prompts::Library;
use crate::session::{SessionStatus, Transcript, store};
use crate::tokens::{CountTokens, TokenCounter};

/// Request parameters shared by every turn (the interactive user may switch the model).
#[derive(Clone, Debug)]
pub struct RequestSettings {
    pub model: String,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub context_window: Option<u32>,
}

/// What every turn of a run shares: where to send it and how.
#[derive(Clone, Copy)]
pub struct Endpoint<'a> {
    pub backend: &'a dyn ChatBackend,
    /// Shared by all conversations of a batch, so they slow down together on rate limits.
    pub limiter: Option<&'a AdaptiveLimiter>,
    /// Backs off the rate limits the limiter hands back (the client's own retries use the
    /// same configured policy).
    pub retry: &'a RetryPolicy,
    /// For the coverage check of topic answers.
    pub library: &'a Library,
    /// The model judge that grades the points after each answer; `None`: lexical only.
    pub judge: Option<&'a Judge<'a>>,
    /// Count every request's prompt tokens, for output that shows them (`-v`); otherwise
    /// only a request near the context window is counted.
    pub count_prompts: bool,
}

/// One conversation, as a run works on it; the agenda may change any of it between turns.
pub struct Session {
    pub conversation: Conversation,
    pub request: RequestSettings,
    /// Where the transcript is saved after every turn.
    pub path: PathBuf,
}

impl Session {
    pub fn transcript(&self) -> &Transcript {
        self.conversation.transcript()
    }

    /// Saves the transcript (atomically).
    pub async fn save(&self) -> Result<(), store::StoreError> {
        store::save_async(&self.path, self.conversation.transcript()).await
    }

    /// Marks the conversation complete and saves it, unless its last answer's save already
    /// did (see [`Agenda::is_done`]).
    pub async fn finish(&mut self) -> Result<(), store::StoreError> {
        if self.transcript().meta.status == SessionStatus::Complete {
            return Ok(());
        }
        self.conversation.finish();
        self.save().await
    }

    /// Marks the conversation complete when `agenda` has nothing more to ask, so that the
    /// save that follows is the last one.
    fn finish_if_done(&mut self, agenda: &impl Agenda) {
        if agenda.is_done(self.transcript()) {
            self.conversation.finish();
        }
    }
}

/// Why a turn got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum TurnFailure {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

impl TurnFailure {
    /// True when every other request to this endpoint would fail the same way (bad key,
    /// unknown model or URL, exhausted quota).
    pub fn is_fatal_for_endpoint(&self) -> bool {
        match self {
            TurnFailure::Api(error) => error.is_fatal_for_endpoint(),
            TurnFailure::TooLarge(_) => false,
        }
    }
}

/// How one turn ended.
#[derive(Debug)]
pub enum TurnEnd {
    /// Recorded: complete, or truncated at the token limit.
    Answered,
    /// The user stopped it; what arrived is recorded as interrupted.
    Interrupted,
    Failed(TurnFailure),
}

impl TurnEnd {
    /// An unattended run (batch, replay) goes on only after an answer.
    pub fn flow_unattended(&self) -> Flow {
        match self {
            TurnEnd::Answered => Flow::Continue,
            TurnEnd::Interrupted | TurnEnd::Failed(_) => Flow::Stop,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// The agenda had nothing more to ask.
    Complete,
    /// A turn failed (after the client's retries); the reason is recorded in the transcript.
    Failed(TurnFailure),
    /// The user stopped it; answered turns are saved.
    Interrupted,
}

/// What stops an answer in flight: Ctrl-C, or a batch's cancellation.
pub trait Interrupt {
    /// Resolves when the answer in flight should stop.
    fn interrupted(&self) -> impl Future<Output = ()> + '_;
}

impl Interrupt for CancellationToken {
    fn interrupted(&self) -> impl Future<Output = ()> + '_ {
        self.cancelled()
    }
}

/// Asks everything `agenda` plans, in order, until it has nothing more or stops after a turn.
pub async fn run(
    session: &mut Session,
    agenda: &mut impl Agenda,
    endpoint: &Endpoint<'_>,
    events: &mut (dyn FnMut(Event<'_>) + Send),
    stop: &impl Interrupt,
) -> Result<RunEnd, store::StoreError> {
    let mut last = RunEnd::Complete;
    while let Some(turn) = agenda.next(session).await {
        let end = ask(session, turn, &*agenda, endpoint, events, stop).await?;
        let flow = agenda.after(&end);
        last = match end {
            TurnEnd::Answered => RunEnd::Complete,
            TurnEnd::Interrupted => RunEnd::Interrupted,
            TurnEnd::Failed(failure) => RunEnd::Failed(failure),
        };
        if flow == Flow::Stop {
            break;
        }
    }
    Ok(last)
}

/// Sends one question and records how it ended. Cancel-safe between saves: the transcript
/// on disk is always a whole one. When the answer leaves `agenda` nothing more to ask, its
/// save marks the conversation complete.
async fn ask(
    session: &mut Session,
    turn: PlannedTurn,
    agenda: &impl Agenda,
    endpoint: &Endpoint<'_>,
    events: &mut (dyn FnMut(Event<'_>) + Send),
    stop: &impl Interrupt,
) -> Result<TurnEnd, store::StoreError> {
    let request = session.request.clone();
    // The local model counts exactly with its own tokenizer; otherwise tiktoken estimates.
    let tiktoken;
    let counter: &dyn CountTokens = match endpoint.backend.token_counter() {
        Some(own) => own,
        None => {
            tiktoken = TokenCounter::for_model(&request.model);
            &tiktoken
        }
    };
    let limits = Limits { window: request.context_window, max_tokens: request.max_tokens };
    let prepared = session.conversation.prepare(
        &turn,
        &request.model,
        limits,
        counter,
        endpoint.count_prompts,
    );
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(too_large) => {
            let failure = TurnFailure::from(too_large);
            return fail(session, turn, failure, String::new(), events).await;
        }
    };
    if !prepared.left_out.is_empty() {
        events(Event::LeftOut(&prepared.left_out));
    }
    events(Event::Sending {
        turn: &turn,
        messages: prepared.messages.len(),
        prompt: prepared.prompt,
    });
    let chat = ChatRequest {
        model: request.model.clone(),
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        prompt_tokens: prepared.prompt.map(|p| p.tokens),
        messages: prepared.messages,
        rate_limits_to_caller: false,
        response_format: None,
    };
    let started = Instant::now();
    let mut partial = String::new();
    let outcome = {
        let mut on_event = forward(events, &mut partial);
        let send = crate::client::send(
            endpoint.backend,
            endpoint.limiter,
            endpoint.retry,
            &chat,
            &mut on_event,
        );
        tokio::select! {
            outcome = send => Some(outcome),
            () = stop.interrupted() => None,
        }
    };
    let Some(outcome) = outcome else {
        session.conversation.record_interruption(turn, partial, &request.model);
        session.save().await?;
        if let Some(exchange) = session.transcript().last_exchange() {
            events(Event::Interrupted { exchange });
        }
        return Ok(TurnEnd::Interrupted);
    };
    let completion = match outcome {
        Ok(completion) => completion,
        Err(error) => return fail(session, turn, TurnFailure::Api(error), partial, events).await,
    };
    // A server that reports no usage is counted here, after the answer, not while it streams.
    let usage_counted = completion.usage.is_none();
    let usage = completion.usage.unwrap_or_else(|| Usage {
        prompt_tokens: prepared
            .prompt
            .unwrap_or_else(|| counter.count_request(&chat.messages))
            .tokens,
        completion_tokens: counter.count_text(&completion.text).tokens,
        cached_tokens: 0,
    });
    session.conversation.record_answer(
        turn,
        Answer {
            text: completion.text,
            finish_reason: completion.finish_reason,
            usage: Some(usage),
            usage_counted,
            model: request.model.clone(),
            coverage: None,
        },
    );
    // The verdicts on the topic's points (and their covered/total on the answer) are
    // recorded with it; a judge grades them once the answer is safe on disk. The judge's
    // verdicts can change what is asked next (a `gaps` follow-up), so with a judge the
    // conversation is marked complete in the save after it.
    let mut coverage = Step::record(session, endpoint);
    if coverage.is_none() || endpoint.judge.is_none() {
        session.finish_if_done(agenda);
    }
    session.save().await?;
    if let Some(exchange) = session.transcript().last_exchange() {
        events(Event::Answered { exchange, elapsed: started.elapsed() });
    }
    if let Some(step) = &mut coverage {
        if step.judge(session, endpoint, events, stop).await {
            session.finish_if_done(agenda);
            session.save().await?;
        }
        step.report(events);
    }
    Ok(TurnEnd::Answered)
}

/// Records and saves a failed turn, and reports it.
async fn fail(
    session: &mut Session,
    turn: PlannedTurn,
    failure: TurnFailure,
    partial: String,
    events: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<TurnEnd, store::StoreError> {
    session.conversation.record_failure(turn, &failure.to_string(), partial);
    session.save().await?;
    if let Some(exchange) = session.transcript().last_exchange() {
        events(Event::Failed { exchange, failure: &failure });
    }
    Ok(TurnEnd::Failed(failure))
}

/// The client's events as the run's: text into `partial` (what survives a cancellation)
/// and on to the listener.
fn forward<'a>(
    events: &'a mut (dyn FnMut(Event<'_>) + Send),
    partial: &'a mut String,
) -> impl FnMut(ClientEvent<'_>) + Send + 'a {
    move |event| match event {
        ClientEvent::Delta(text) => {
            partial.push_str(text);
            events(Event::Delta(text));
        }
        ClientEvent::Restart => {
            partial.clear();
            events(Event::Restart);
        }
        ClientEvent::Retrying { attempt, max_attempts, wait, error } => {
            events(Event::Wait(Wait::Retry { attempt, max_attempts, wait, error }))
        }
        ClientEvent::RateLimited { wait, error } => {
            events(Event::Wait(Wait::RateLimited { wait, error }))
        }
    }
}
