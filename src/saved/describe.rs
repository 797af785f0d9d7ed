//! One-line descriptions of a transcript and its turns, as chat shows them:
//! `You (topic 15 · Health Checks and Readiness Probes)`,
//! `Assistant (gpt-4o · 812→640 tokens · coverage 8/10 · truncated)`.

use crate::message::Role;
use crate::prompts::Library;
use crate::render::thousands;
use crate::session::{AnswerStatus, Meta, Turn, TurnKind};

/// The session in one line: model, endpoint, date, status, tokens, stack.
pub fn session_line(meta: &Meta) -> String {
    let mut parts = vec![
        meta.model.clone(),
        meta.endpoint.clone(),
        format!("{} UTC", super::short_time(meta.created)),
        meta.status.as_str().to_string(),
        format!(
            "{}→{} tokens",
            thousands(meta.usage.prompt_tokens),
            thousands(meta.usage.completion_tokens)
        ),
    ];
    if let Some(stack) = &meta.stack {
        parts.push(format!("stack: {stack}"));
    }
    if let Some(replay) = &meta.replay_of {
        parts.push(format!("replay of {} ({})", replay.file, replay.model));
    }
    parts.join(" · ")
}

/// Who wrote the turn and what is known about it.
pub fn turn_heading(turn: &Turn, meta: &Meta, library: &Library) -> String {
    let (who, details) = match turn.role {
        Role::User => ("You", user_details(turn, library)),
        Role::Assistant => ("Assistant", answer_details(turn, meta)),
        Role::System => ("System", Vec::new()),
    };
    if details.is_empty() { who.to_string() } else { format!("{who} ({})", details.join(" · ")) }
}

fn user_details(turn: &Turn, library: &Library) -> Vec<String> {
    match &turn.info.kind {
        Some(TurnKind::Priming) => vec!["priming prompt".to_string()],
        Some(TurnKind::Followup) => vec!["follow-up".to_string()],
        Some(TurnKind::Topic(slug)) => match library.topic_by_slug(slug) {
            Some(topic) => vec![format!("topic {}", topic.number), topic.title.clone()],
            None => vec![format!("topic {slug}")],
        },
        None => Vec::new(),
    }
}

fn answer_details(turn: &Turn, meta: &Meta) -> Vec<String> {
    let info = &turn.info;
    let mut details = vec![info.model.clone().unwrap_or_else(|| meta.model.clone())];
    if let Some(usage) = info.usage {
        let approx = if info.usage_counted { "≈" } else { "" };
        details.push(format!(
            "{approx}{}→{} tokens",
            thousands(usage.prompt_tokens),
            thousands(usage.completion_tokens)
        ));
    }
    if let Some(c) = info.coverage {
        details.push(format!("coverage {}/{}", c.covered, c.total));
    }
    match info.status {
        Some(AnswerStatus::Complete) | None => {}
        Some(status) => {
            let why = info.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            details.push(format!("{}{why}", status.as_str()));
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::message::Usage;
    use crate::session::{Coverage, SessionStatus, TurnInfo};

    fn meta() -> Meta {
        Meta {
            title: "t".into(),
            topics: vec!["health-checks".into()],
            stack: None,
            model: "gpt-4o".into(),
            endpoint: "http://127.0.0.1:1/v1".into(),
            profile: None,
            created: UNIX_EPOCH,
            updated: UNIX_EPOCH,
            status: SessionStatus::Complete,
            usage: Usage::default(),
            replay_of: None,
            coverage: Vec::new(),
        }
    }

    #[test]
    fn headings_name_the_topic_and_the_answer_details() {
        let library = Library::builtin();
        let question = Turn {
            role: Role::User,
            text: "q".into(),
            info: TurnInfo {
                kind: Some(TurnKind::Topic("health-checks".into())),
                ..TurnInfo::default()
            },
        };
        let heading = turn_heading(&question, &meta(), &library);
        assert!(heading.starts_with("You (topic 15 · Health"), "{heading}");
        let answer = Turn {
            role: Role::Assistant,
            text: "a".into(),
            info: TurnInfo {
                status: Some(AnswerStatus::Failed),
                usage: Some(Usage {
                    prompt_tokens: 1812,
                    completion_tokens: 640,
                    cached_tokens: 0,
                }),
                coverage: Some(Coverage { covered: 8, total: 10 }),
                error: Some("the stream broke off".into()),
                ..TurnInfo::default()
            },
        };
        assert_eq!(
            turn_heading(&answer, &meta(), &library),
            "Assistant (gpt-4o · 1,812→640 tokens · coverage 8/10 · failed: the stream broke off)"
        );
    }
}
