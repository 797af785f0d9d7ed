//! The priming exchange a run shares. The priming prompt (joined with the stack line) is
//! asked once per run and saved as `00-priming.md` in the run folder; every new topic
//! transcript starts with a copy of that exchange, so each topic is still its own
//! conversation in the guide's pattern (priming, topic prompt, follow-ups) without asking
//! the same question once per topic. The driver's agendas derive "priming done" from the
//! transcript, so a seeded transcript goes straight to its topic prompt, and a resumed run
//! finds the saved exchange and reuses it.

use std::path::Path;

use super::plan::Plan;
use crate::driver::{PlannedTurn, priming_turn};
use crate::prompts::Library;
use crate::session::{Meta, Transcript, Turn, TurnInfo, TurnKind};

/// The shared priming transcript in the run folder; `00` sorts it before every topic.
pub const PRIMING_FILE: &str = "00-priming.md";

/// The slug progress and the manifest use for the shared priming exchange.
pub const PRIMING_SLUG: &str = "priming";

/// The question every topic's conversation opens with when the run shares one: the guide's
/// priming turn, or for a replayed run the first question of the source transcripts when
/// they all open with the same priming prompt. `None` with `--fresh-priming`.
pub fn shared_question(plan: &Plan, library: &Library) -> Option<PlannedTurn> {
    if plan.fresh_priming {
        return None;
    }
    let Some(replay) = &plan.replay else {
        return Some(priming_turn(library, plan.stack.as_deref()));
    };
    let mut shared: Option<PlannedTurn> = None;
    for slug in &plan.topics {
        let topic = library.topic_by_slug(slug)?;
        let first = replay.questions(topic).questions.into_iter().next()?;
        if first.kind != TurnKind::Priming {
            return None;
        }
        match &shared {
            Some(question) if *question != first => return None,
            Some(_) => {}
            None => shared = Some(first),
        }
    }
    shared
}

/// A new, empty priming transcript for `plan`.
pub fn new_transcript(plan: &Plan) -> Transcript {
    Transcript {
        meta: Meta {
            stack: plan.stack.clone(),
            profile: Some(plan.profile.clone()),
            ..Meta::started(
                "Priming (shared by every topic of the run)".into(),
                plan.model.clone(),
                plan.endpoint.clone(),
            )
        },
        turns: Vec::new(),
    }
}

/// The answered priming exchange of the saved priming transcript, when it asked `question`.
/// A truncated answer counts only unless `redo_truncated` (`--retry-truncated`).
pub fn answered(
    transcript: &Transcript,
    question: &PlannedTurn,
    redo_truncated: bool,
) -> Option<(Turn, Turn)> {
    let exchange = transcript.exchanges().next()?;
    let fits = exchange.is_seen()
        && exchange.question_text() == question.text
        && !(redo_truncated && exchange.is_truncated());
    if !fits {
        return None;
    }
    Some((exchange.question.clone(), exchange.answer?.clone()))
}

/// Whether the transcript at `path` still needs its opening exchange (it is missing, or has
/// no exchange the model saw), so that it would be seeded with the shared one.
pub fn needs_seed(path: &Path) -> bool {
    match crate::session::store::load(path) {
        Ok(transcript) => !transcript.exchanges().any(|e| e.is_seen()),
        Err(_) => !path.exists(),
    }
}

/// Puts the shared exchange at the start of `transcript`, which has no exchange yet. The
/// copy carries no usage: the tokens were paid once, and are counted in the priming record.
pub fn seed(transcript: &mut Transcript, shared: &(Turn, Turn)) {
    let (question, answer) = shared;
    let answer = Turn {
        info: TurnInfo { usage: None, usage_counted: false, ..answer.info.clone() },
        ..answer.clone()
    };
    transcript.turns.insert(0, question.clone());
    transcript.turns.insert(1, answer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Answer, Conversation};
    use crate::message::{FinishReason, Usage};

    fn plan() -> Plan {
        Plan {
            topics: vec!["health-checks".into()],
            followups: Vec::new(),
            model: "m".into(),
            endpoint: "http://localhost/v1".into(),
            profile: "default".into(),
            stack: Some("Istio".into()),
            replay: None,
            fresh_priming: false,
            endpoint_pinned: false,
        }
    }

    fn answer(finish_reason: FinishReason) -> Answer {
        Answer {
            text: "Ready.".into(),
            finish_reason,
            usage: Some(Usage { prompt_tokens: 100, completion_tokens: 2, cached_tokens: 0 }),
            usage_counted: false,
            model: "m".into(),
            coverage: None,
        }
    }

    #[test]
    fn the_shared_question_is_the_priming_turn_with_the_stack_unless_fresh() {
        let library = Library::builtin();
        let question = shared_question(&plan(), &library).unwrap();
        assert_eq!(question.kind, TurnKind::Priming);
        assert!(question.text.ends_with("We're using Istio."));
        let fresh = Plan { fresh_priming: true, ..plan() };
        assert!(shared_question(&fresh, &library).is_none());
    }

    #[test]
    fn a_saved_exchange_is_reused_only_for_the_same_question_and_seeds_without_usage() {
        let library = Library::builtin();
        let question = shared_question(&plan(), &library).unwrap();
        let mut priming = Conversation::new(new_transcript(&plan()));
        priming.record_answer(question.clone(), answer(FinishReason::Stop));
        let shared = answered(priming.transcript(), &question, false).unwrap();
        let other = PlannedTurn { text: "another priming".into(), ..question.clone() };
        assert!(answered(priming.transcript(), &other, false).is_none());

        let mut topic = new_transcript(&plan());
        seed(&mut topic, &shared);
        let first = topic.exchanges().next().unwrap();
        assert!(first.is_seen());
        assert_eq!(first.question_text(), question.text);
        assert_eq!(first.usage(), None, "the tokens are counted once, in the priming record");
    }

    #[test]
    fn a_truncated_priming_answer_is_asked_again_only_with_retry_truncated() {
        let library = Library::builtin();
        let question = shared_question(&plan(), &library).unwrap();
        let mut priming = Conversation::new(new_transcript(&plan()));
        priming.record_answer(question.clone(), answer(FinishReason::Length));
        assert!(answered(priming.transcript(), &question, false).is_some());
        assert!(answered(priming.transcript(), &question, true).is_none());
    }
}
