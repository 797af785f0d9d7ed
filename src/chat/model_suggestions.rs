//! `chat --suggest-with-model`: one extra request after each answer asking the model for
//! follow-up questions of its own. Never recorded in the transcript.

use crate::chat::suggest::{Suggestion, SuggestionKind};
use crate::client::{ApiError, ChatBackend, ChatRequest};
use crate::driver::RequestSettings;
use crate::message::Message;
use crate::session::Transcript;

/// How many the model may add.
const MAX: usize = 3;

const INSTRUCTION: &str = "Suggest three short follow-up questions I could ask you next to \
    deepen this guidance for my environment. Reply with the questions only, one per line, \
    without numbering or commentary.";

/// The model's suggestions, minus any that repeat `ours` or questions already asked.
pub async fn ask(
    client: &dyn ChatBackend,
    request: &RequestSettings,
    transcript: &Transcript,
    ours: &[Suggestion],
) -> Result<Vec<Suggestion>, ApiError> {
    let mut messages = transcript.messages();
    messages.push(Message::user(INSTRUCTION));
    let chat = ChatRequest {
        model: request.model.clone(),
        messages,
        temperature: request.temperature,
        max_tokens: Some(300),
        prompt_tokens: None,
        rate_limits_to_caller: false,
        response_format: None,
    };
    let completion = client.complete(&chat, &mut |_| {}).await?;
    Ok(parse(&completion.text, transcript, ours))
}

fn parse(reply: &str, transcript: &Transcript, ours: &[Suggestion]) -> Vec<Suggestion> {
    let normal = |s: &str| s.trim().trim_end_matches(['?', '.']).to_lowercase();
    let known: Vec<String> = transcript
        .turns
        .iter()
        .map(|t| normal(&t.text))
        .chain(ours.iter().map(|s| normal(&s.text)))
        .collect();
    let mut found: Vec<Suggestion> = Vec::new();
    for line in reply.lines() {
        let question = line
            .trim()
            .trim_start_matches(|c: char| {
                c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | ' ')
            })
            .trim();
        if question.len() < 10 || known.contains(&normal(question)) {
            continue;
        }
        if found.iter().any(|f| normal(&f.text) == normal(question)) {
            continue;
        }
        found.push(Suggestion::new(SuggestionKind::Model, question.to_string()));
        if found.len() == MAX {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Meta;

    #[test]
    fn numbered_lines_become_questions_without_repeats() {
        let transcript =
            Transcript { meta: Meta::started("t".into(), "m".into(), "e".into()), turns: vec![] };
        let ours = [Suggestion::new(SuggestionKind::Depth, "What metrics should we track?".into())];
        let reply = "1. How do we test liveness probes in staging?\n2) what metrics should we track\n\n- Ok?\n* How should probes differ for batch workers?\n4. One more question that is long enough?\n5. And another one here?";
        let found = parse(reply, &transcript, &ours);
        let texts: Vec<&str> = found.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "How do we test liveness probes in staging?",
                "How should probes differ for batch workers?",
                "One more question that is long enough?"
            ]
        );
    }
}
