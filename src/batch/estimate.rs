//! Token and cost estimates for `--dry-run` and `--max-cost`, computed without sending
//! anything. Prompt tokens are counted with the model's tokenizer; answer lengths are
//! assumptions (below), capped by `max_tokens`.

use super::plan::Plan;
use crate::driver::{GAPS, RequestSettings, opening_turns};
use crate::message::{Message, Role};
use crate::prompts::{Library, Topic};
use crate::settings::Prices;
use crate::tokens::{CountTokens, TokenCounter};

/// Assumed answer lengths, in tokens: what the guide's prompts typically draw from hosted
/// models (an acknowledgement of the priming prompt; a long structured answer with a
/// checklist for a topic; a focused answer for a follow-up).
pub const PRIMING_ANSWER_TOKENS: u64 = 400;
pub const TOPIC_ANSWER_TOKENS: u64 = 2_000;
pub const FOLLOWUP_ANSWER_TOKENS: u64 = 1_000;
/// A `gaps` follow-up's length is unknown before the answer: assume a short list.
const GAPS_QUESTION_TOKENS: u64 = 80;

/// The estimate for one topic's conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicEstimate {
    pub slug: String,
    pub requests: usize,
    /// Prompt tokens over all requests (each request resends the history).
    pub prompt_tokens: u64,
    /// Assumed answer tokens over all requests.
    pub completion_tokens: u64,
    /// True when the model's tokenizer is unknown and cl100k stood in.
    pub approximate: bool,
    /// The priming request's prompt and answer tokens (included above).
    pub priming: (u64, u64),
}

impl TopicEstimate {
    pub fn cost(&self, prices: &Prices) -> f64 {
        prices.cost(self.prompt_tokens, self.completion_tokens)
    }

    /// The same conversation when its priming exchange is shared (`shared`): one request
    /// less, whose tokens are paid once per run ([`Self::priming_only`]).
    pub fn without_priming(self, shared: bool) -> TopicEstimate {
        if !shared {
            return self;
        }
        TopicEstimate {
            requests: self.requests.saturating_sub(1),
            prompt_tokens: self.prompt_tokens.saturating_sub(self.priming.0),
            completion_tokens: self.completion_tokens.saturating_sub(self.priming.1),
            ..self
        }
    }

    /// Just the priming request, as a run that shares it sends it once.
    pub fn priming_only(&self) -> TopicEstimate {
        TopicEstimate {
            slug: "priming".into(),
            requests: 1,
            prompt_tokens: self.priming.0,
            completion_tokens: self.priming.1,
            ..self.clone()
        }
    }
}

/// Estimates `topic`'s conversation under `plan`, counting with tiktoken.
pub fn topic(
    library: &Library,
    plan: &Plan,
    topic: &Topic,
    request: &RequestSettings,
) -> TopicEstimate {
    topic_counted(library, plan, topic, request, &TokenCounter::for_model(&plan.model))
}

/// [`topic`], counting prompts with `counter` (a local model's own tokenizer and template).
pub fn topic_counted(
    library: &Library,
    plan: &Plan,
    topic: &Topic,
    request: &RequestSettings,
    counter: &dyn CountTokens,
) -> TopicEstimate {
    let framing = counter.request_framing();
    // Role and turn markers of a question without text, and of an answer in the history.
    let question_framing = counter.count_message(&Message::user(String::new()));
    let answer_framing = counter.count_message(&Message::assistant(String::new())).tokens;
    let mut approximate = question_framing.approximate;
    let cap = |tokens: u64| request.max_tokens.map_or(tokens, |max| tokens.min(u64::from(max)));
    let technology = plan.stack.as_deref().and_then(|s| s.split(',').next()).map(str::trim);
    let mut questions: Vec<(u64, u64)> = opening_turns(library, plan.stack.as_deref(), &[topic])
        .iter()
        .enumerate()
        .map(|(i, turn)| {
            let answer = if i == 0 { PRIMING_ANSWER_TOKENS } else { TOPIC_ANSWER_TOKENS };
            let count = counter.count_message(&Message::user(turn.text.clone()));
            approximate |= count.approximate;
            (count.tokens, answer)
        })
        .collect();
    for name in &plan.followups {
        let question = if name == GAPS {
            question_framing.tokens + GAPS_QUESTION_TOKENS
        } else {
            match library.followup(name) {
                Some(f) => {
                    let text = f.instantiate(topic, technology);
                    let message = Message { role: Role::User, content: text };
                    let count = counter.count_message(&message);
                    approximate |= count.approximate;
                    count.tokens
                }
                None => continue,
            }
        };
        questions.push((question, FOLLOWUP_ANSWER_TOKENS));
    }
    let (mut history, mut prompt_tokens, mut completion_tokens) = (0, 0, 0);
    let mut priming = (0, 0);
    for (i, (question, answer)) in questions.iter().enumerate() {
        let answer = cap(*answer);
        prompt_tokens += framing + history + question;
        completion_tokens += answer;
        history += question + answer_framing + answer;
        if i == 0 {
            priming = (prompt_tokens, completion_tokens);
        }
    }
    TopicEstimate {
        slug: topic.slug.clone(),
        requests: questions.len(),
        prompt_tokens,
        completion_tokens,
        approximate,
        priming,
    }
}

/// A judge's reply, per point: `{"point": 3, "covered": true, "quote": "…"}` with a quote of
/// up to 30 words.
pub const JUDGE_TOKENS_PER_POINT: u64 = 45;
/// What each answer adds to a judge's request besides its text (its fence lines).
const JUDGE_TOKENS_PER_ANSWER: u64 = 20;

/// The model judge's part of `topic`'s conversation under `plan` (`coverage = "model"`): one
/// request after each answer in the topic's section (the topic prompt's and each
/// follow-up's), each with the points and every answer so far, counted with `judge_model`'s
/// tokenizer; answer lengths are assumed as in [`topic`].
pub fn judge(
    library: &Library,
    plan: &Plan,
    topic: &Topic,
    request: &RequestSettings,
    judge_model: &str,
) -> TopicEstimate {
    let counter = TokenCounter::for_model(judge_model);
    let cap = |tokens: u64| request.max_tokens.map_or(tokens, |max| tokens.min(u64::from(max)));
    let frame = counter.count_request(&crate::driver::judge::request_messages::<&str>(topic, &[]));
    let followups = plan.followups.iter().filter(|f| *f == GAPS || library.followup(f).is_some());
    let answers = std::iter::once(TOPIC_ANSWER_TOKENS)
        .chain(followups.map(|_| FOLLOWUP_ANSWER_TOKENS))
        .map(cap);
    let (mut requests, mut so_far, mut prompt_tokens) = (0, 0, 0);
    for answer in answers {
        so_far += answer + JUDGE_TOKENS_PER_ANSWER;
        prompt_tokens += frame.tokens + so_far;
        requests += 1;
    }
    let points = topic.cover.len() as u64;
    TopicEstimate {
        slug: topic.slug.clone(),
        requests,
        prompt_tokens,
        completion_tokens: requests as u64 * (JUDGE_TOKENS_PER_POINT * points + 10),
        approximate: !counter.is_exact(),
        priming: (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(followups: &[&str]) -> Plan {
        Plan {
            topics: vec!["health-checks".into()],
            followups: followups.iter().map(|s| s.to_string()).collect(),
            model: "gpt-4o".into(),
            endpoint: "http://localhost/v1".into(),
            profile: "default".into(),
            stack: None,
            replay: None,
            fresh_priming: false,
            endpoint_pinned: false,
        }
    }

    fn request(max_tokens: Option<u32>) -> RequestSettings {
        RequestSettings {
            model: "gpt-4o".into(),
            temperature: None,
            max_tokens,
            context_window: None,
        }
    }

    #[test]
    fn each_request_resends_the_history() {
        let library = Library::builtin();
        let topic = library.resolve("15").unwrap();
        let est = super::topic(&library, &plan(&[]), topic, &request(None));
        assert_eq!(est.requests, 2);
        assert_eq!(est.completion_tokens, PRIMING_ANSWER_TOKENS + TOPIC_ANSWER_TOKENS);
        let counter = TokenCounter::for_model("gpt-4o");
        let priming = counter.count_message(&Message::user(library.priming())).tokens;
        let prompt = counter.count_message(&Message::user(topic.prompt.clone())).tokens;
        let expected = (3 + priming) + (3 + priming + 4 + PRIMING_ANSWER_TOKENS + prompt);
        assert_eq!(est.prompt_tokens, expected);
        assert!(!est.approximate);
        let shared = est.clone().without_priming(true);
        assert_eq!(shared.requests, 1);
        assert_eq!(shared.prompt_tokens + est.priming_only().prompt_tokens, est.prompt_tokens);
        assert_eq!(shared.completion_tokens, TOPIC_ANSWER_TOKENS);
    }

    #[test]
    fn the_judge_is_asked_after_every_answer_with_the_answers_so_far() {
        let library = Library::builtin();
        let topic = library.resolve("15").unwrap();
        let alone = judge(&library, &plan(&[]), topic, &request(None), "gpt-4o-mini");
        assert_eq!(alone.requests, 1);
        let points = topic.cover.len() as u64;
        assert_eq!(alone.completion_tokens, JUDGE_TOKENS_PER_POINT * points + 10);
        let frame = alone.prompt_tokens - TOPIC_ANSWER_TOKENS - JUDGE_TOKENS_PER_ANSWER;
        assert!(frame > 200, "the instructions and the points: {frame}");
        let two = judge(&library, &plan(&["checklist", "gaps"]), topic, &request(None), "gpt-4o");
        assert_eq!(two.requests, 3);
        let per_followup = FOLLOWUP_ANSWER_TOKENS + JUDGE_TOKENS_PER_ANSWER;
        let first = TOPIC_ANSWER_TOKENS + JUDGE_TOKENS_PER_ANSWER;
        let answers = first + (first + per_followup) + (first + 2 * per_followup);
        assert_eq!(two.prompt_tokens, 3 * frame + answers);
        let capped = judge(&library, &plan(&["gaps"]), topic, &request(Some(100)), "gpt-4o");
        assert_eq!(capped.prompt_tokens, 2 * frame + 120 + 240);
    }

    #[test]
    fn follow_ups_add_requests_and_max_tokens_caps_answers() {
        let library = Library::builtin();
        let topic = library.resolve("15").unwrap();
        let est = super::topic(&library, &plan(&["checklist", "gaps"]), topic, &request(Some(100)));
        assert_eq!(est.requests, 4);
        assert_eq!(est.completion_tokens, 400);
        let prices =
            Prices { input_per_mtok: 1.0, output_per_mtok: 2.0, cached_input_per_mtok: None };
        let cost = est.cost(&prices);
        assert!((cost - (est.prompt_tokens as f64 + 800.0) / 1e6).abs() < 1e-12);
    }
}
