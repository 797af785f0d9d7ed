//! The coverage step after every answer, and the optional model judge.
//!
//! After an answer in a topic's section (its topic prompt or a follow-up), the verdicts on
//! the topic's "Cover:" points are recorded in the transcript's `[[coverage]]` entry for the
//! topic, over all of the topic's answers: the lexical method's at once, and with a judge
//! configured, the judge's once the answer is saved. The judge gets one request: the points
//! numbered, the answers, and how to reply (`response_format` with a JSON schema, which the
//! client drops for a server that rejects it); every quote in its reply is checked against
//! the answers ([`Verdicts::judged`]). When the judge fails (an HTTP error, a reply that is
//! not the verdicts, a refusal, Ctrl-C), the lexical verdicts stand and the entry's note
//! says why. The judge's tokens go into the entry and the transcript's totals.

mod prompt;
mod reply;

use super::events::Event;
use super::run::{Endpoint, Interrupt, Session};
use crate::client::{ApiError, ChatBackend, ChatRequest, ClientEvent, Completion};
use crate::coverage::{self, Verdicts};
use crate::message::{Message, Usage};
use crate::prompts::Topic;
use crate::tokens::TokenCounter;

/// The messages of a judge's request on `topic`'s points and `answers`.
pub fn request_messages<S: AsRef<str>>(topic: &Topic, answers: &[S]) -> Vec<Message> {
    prompt::messages(topic, answers)
}

/// Longest failure reason kept in a note, in characters.
const REASON_CHARS: usize = 200;

/// The judge's reply may have this many tokens per point (a verdict with a quote of up to 30
/// words is 20-70), plus [`REPLY_FRAME_TOKENS`]: a model that does not stop (a small one
/// under a JSON schema can repeat itself for thousands of tokens) is cut off and the lexical
/// verdicts stand.
pub const MAX_TOKENS_PER_POINT: u32 = 100;
const REPLY_FRAME_TOKENS: u32 = 50;

/// A model that grades the points: where its requests go and which model answers them.
#[derive(Clone, Copy)]
pub struct Judge<'a> {
    /// A judge profile's backend; `None` for the conversation's own endpoint (and, in a
    /// batch, its rate limiter).
    pub backend: Option<&'a dyn ChatBackend>,
    pub model: &'a str,
}

/// What the judge made of a topic's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The judge's verdicts, or the lexical ones with a note saying why.
    pub verdicts: Verdicts,
    /// The judge's tokens, those of a reply that could not be used included.
    pub spent: Usage,
}

impl Judge<'_> {
    /// Grades `topic`'s points against `answers` (each a document of its own). Never fails:
    /// when the judge does, `lexical` stands, with a note that says why.
    pub async fn grade<S: AsRef<str>>(
        &self,
        endpoint: &Endpoint<'_>,
        topic: &Topic,
        answers: &[S],
        lexical: &Verdicts,
        stop: &impl Interrupt,
    ) -> Judgement {
        let request = ChatRequest {
            model: self.model.to_string(),
            messages: prompt::messages(topic, answers),
            response_format: Some(prompt::response_format()),
            // Grading is not creative: the same answers get the same verdicts where the
            // server allows it.
            temperature: Some(0.0),
            max_tokens: Some(
                u32::try_from(topic.cover.len())
                    .unwrap_or(u32::MAX)
                    .saturating_mul(MAX_TOKENS_PER_POINT)
                    .saturating_add(REPLY_FRAME_TOKENS),
            ),
            ..ChatRequest::default()
        };
        let (backend, limiter) = match self.backend {
            Some(own) => (own, None),
            None => (endpoint.backend, endpoint.limiter),
        };
        let mut quiet = |_: ClientEvent<'_>| {};
        let send = crate::client::send(backend, limiter, endpoint.retry, &request, &mut quiet);
        let outcome = tokio::select! {
            outcome = send => outcome,
            () = stop.interrupted() => return self.fallback(lexical, "the judge was stopped", Usage::default()),
        };
        let completion = match outcome {
            Ok(completion) => completion,
            Err(error) => return self.fallback(lexical, &failed(&error), Usage::default()),
        };
        let spent = spent(&request, &completion, self.model);
        match reply::parse(&completion.text, topic.cover.len()) {
            Ok(graded) => Judgement {
                verdicts: Verdicts::judged(self.model, &topic.cover, answers, graded),
                spent,
            },
            Err(_) if completion.finish_reason.is_truncated() => {
                self.fallback(lexical, "the judge's reply was cut off at its token limit", spent)
            }
            Err(why) => self.fallback(lexical, &why, spent),
        }
    }

    fn fallback(&self, lexical: &Verdicts, why: &str, spent: Usage) -> Judgement {
        let note = format!("{}: lexical verdicts", shorten(why));
        Judgement { verdicts: Verdicts { note: Some(note), ..lexical.clone() }, spent }
    }
}

/// `the judge failed (HTTP 500 Internal Server Error: overloaded)`
fn failed(error: &ApiError) -> String {
    format!("the judge failed ({})", error.reason())
}

/// The judge's tokens as the server reported them, else counted here.
fn spent(request: &ChatRequest, completion: &Completion, model: &str) -> Usage {
    completion.usage.unwrap_or_else(|| {
        let counter = TokenCounter::for_model(model);
        Usage {
            prompt_tokens: counter.count_request(&request.messages).tokens,
            completion_tokens: counter.count_text(&completion.text).tokens,
            cached_tokens: 0,
        }
    })
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= REASON_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(REASON_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The coverage step after an answer, between recording it and the next question.
pub struct Step {
    slug: String,
    verdicts: Verdicts,
    /// How many answers the verdicts are of.
    answers: usize,
}

impl Step {
    /// Records the lexical verdicts on the points of the topic the last answer belongs to
    /// (with a judge configured, noting that it has not graded them yet, which is what a
    /// crash while it works leaves). `None` when the answer is in no topic's section (the
    /// priming) or the library does not know the topic.
    pub fn record(session: &mut Session, endpoint: &Endpoint<'_>) -> Option<Step> {
        let transcript = session.transcript();
        let slug = transcript.topic_sections().pop()?.topic?.to_string();
        let topic = endpoint.library.topic_by_slug(&slug)?;
        let answers = transcript.topic_answers(&slug);
        let mut verdicts = Verdicts::lexical(coverage::check_answers(&topic.cover, &answers));
        if let Some(judge) = endpoint.judge {
            verdicts.note = Some(format!(
                "the model judge {} has not graded the last answer yet: lexical verdicts",
                judge.model
            ));
        }
        let answers = answers.len();
        session.conversation.record_coverage(verdicts.entry(&slug, answers), Usage::default());
        verdicts.note = None;
        Some(Step { slug, verdicts, answers })
    }

    /// With a judge: asks it and records its verdicts (or the lexical ones, with a note);
    /// returns whether it recorded them, so that the caller saves them.
    pub async fn judge(
        &mut self,
        session: &mut Session,
        endpoint: &Endpoint<'_>,
        events: &mut (dyn FnMut(Event<'_>) + Send),
        stop: &impl Interrupt,
    ) -> bool {
        let topic = endpoint.library.topic_by_slug(&self.slug);
        let (Some(judge), Some(topic)) = (endpoint.judge, topic) else { return false };
        events(Event::Judging { topic: &self.slug, judge: judge.model });
        let judgement = {
            let answers = session.transcript().topic_answers(&self.slug);
            judge.grade(endpoint, topic, &answers, &self.verdicts, stop).await
        };
        self.verdicts = judgement.verdicts;
        let entry = self.verdicts.entry(&self.slug, self.answers);
        session.conversation.record_coverage(entry, judgement.spent);
        true
    }

    /// Reports the verdicts in force.
    pub fn report(&self, events: &mut (dyn FnMut(Event<'_>) + Send)) {
        events(Event::Coverage { topic: &self.slug, verdicts: &self.verdicts });
    }
}
