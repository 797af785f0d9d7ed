//! What to ask next: one trait, [`Agenda`], and its plans. [`Opening`] is the guide's
//! pattern (priming with the stack line, each topic prompt, named follow-ups), [`Replay`] a
//! saved transcript's questions; the interactive user is
//! [`Interactive`](super::interactive::Interactive).
//!
//! The plans are derived from the transcript each time they are asked, never kept as a
//! queue beside it: a resumed, interrupted or retried conversation recomputes the same next
//! question, and nothing planned is lost when an answer is.

use std::future::Future;

use super::conversation::PlannedTurn;
use super::run::{Session, TurnEnd};
use crate::coverage;
use crate::prompts::{Library, Topic, stack_line};
use crate::session::{Transcript, TurnKind};

/// Decides what a conversation asks next.
pub trait Agenda {
    /// The next question, or `None` when the conversation is over. The interactive user may
    /// change the session first (undo an exchange, switch the model).
    fn next(&mut self, session: &mut Session) -> impl Future<Output = Option<PlannedTurn>>;

    /// How the last question ended; whether the run goes on to ask [`Self::next`].
    fn after(&mut self, end: &TurnEnd) -> Flow;

    /// Whether nothing is left to ask of `transcript`, known without waiting for anyone. An
    /// unattended plan knows; the interactive user decides later, so the default is `false`.
    /// The run marks a conversation complete in its last answer's save when this says so,
    /// instead of saving the whole transcript once more to change its status.
    fn is_done(&self, _transcript: &Transcript) -> bool {
        false
    }
}

/// Whether a run goes on after a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The follow-up name that asks for the "Cover:" points the answers so far missed.
pub const GAPS: &str = "gaps";

/// The user turns that open a conversation: priming (with the stack line), then each topic.
///
/// The stack line ("We're using …") is joined to the priming turn rather than sent as a turn
/// of its own: the guide places it right after the priming prompt, and joining them saves a
/// whole round trip per conversation while the model still reads the priming text verbatim.
pub fn opening_turns(
    library: &Library,
    stack: Option<&str>,
    topics: &[&Topic],
) -> Vec<PlannedTurn> {
    let mut turns = vec![priming_turn(library, stack)];
    turns.extend(topics.iter().map(|topic| topic_turn(topic)));
    turns
}

/// The priming prompt, with the stack line when a stack is given.
pub fn priming_turn(library: &Library, stack: Option<&str>) -> PlannedTurn {
    let text = match stack.map(str::trim).filter(|s| !s.is_empty()) {
        Some(stack) => format!("{}\n\n{}", library.priming().trim_end(), stack_line(stack)),
        None => library.priming().to_string(),
    };
    PlannedTurn { kind: TurnKind::Priming, text }
}

pub fn topic_turn(topic: &Topic) -> PlannedTurn {
    PlannedTurn { kind: TurnKind::Topic(topic.slug.clone()), text: topic.prompt.clone() }
}

/// The guide's pattern for a conversation: the priming prompt (with the transcript's stack),
/// then each of the transcript's topics, each followed by the named follow-ups.
#[derive(Clone, Copy, Debug)]
pub struct Opening<'a> {
    pub library: &'a Library,
    /// Follow-up names from the library (or [`GAPS`]), asked after each topic's answer.
    pub followups: &'a [String],
}

impl Opening<'_> {
    /// The first planned question the transcript has no answer to, or `None` when the plan
    /// is done. A priming or topic prompt counts as asked once an answer the model saw
    /// (complete, truncated or interrupted) follows it; a failed one is asked again.
    pub fn next_turn(&self, transcript: &Transcript) -> Option<PlannedTurn> {
        let stack = transcript.meta.stack.as_deref();
        let seen =
            |kind: &TurnKind| transcript.exchanges().any(|e| e.is_seen() && e.kind() == kind);
        if !seen(&TurnKind::Priming) {
            return Some(priming_turn(self.library, stack));
        }
        for slug in &transcript.meta.topics {
            let Some(topic) = self.library.topic_by_slug(slug) else { continue };
            let turn = topic_turn(topic);
            if !seen(&turn.kind) {
                return Some(turn);
            }
            if let Some(followup) = self.next_followup(transcript, topic) {
                return Some(followup);
            }
        }
        None
    }

    /// The technology that fills the guide's "[specific technology]": the first of the stack.
    fn technology(transcript: &Transcript) -> Option<&str> {
        let stack = transcript.meta.stack.as_deref()?;
        stack.split(',').map(str::trim).find(|t| !t.is_empty())
    }

    /// The next named follow-up of `topic`, walking the names and skipping those already
    /// asked in the topic's section (by text), so that a `gaps` follow-up that was not needed
    /// leaves no hole.
    fn next_followup(&self, transcript: &Transcript, topic: &Topic) -> Option<PlannedTurn> {
        if self.followups.is_empty() {
            return None;
        }
        let section = transcript.section_of(&topic.slug)?;
        let mut asked = section
            .exchanges
            .iter()
            .filter(|e| e.is_seen() && *e.kind() == TurnKind::Followup)
            .map(|e| e.question_text())
            .peekable();
        for name in self.followups {
            let text = if name == GAPS {
                let verdicts = coverage::of_topic(topic, transcript, coverage::Reasons::Recorded);
                let missing = verdicts.as_ref().map(|v| v.missing()).unwrap_or_default();
                match coverage::gaps_question(topic, &missing) {
                    Some(text) => text,
                    None => continue,
                }
            } else {
                self.library.followup(name)?.instantiate(topic, Self::technology(transcript))
            };
            if asked.next_if(|asked| *asked == text).is_some() {
                continue;
            }
            if asked.peek().is_some() {
                // The transcript asked something this plan does not: nothing more to plan.
                return None;
            }
            return Some(PlannedTurn::followup(text));
        }
        None
    }

    /// Checks that every follow-up name exists in the library (or is `gaps`).
    pub fn check_followups(library: &Library, followups: &[String]) -> Result<(), String> {
        for name in followups {
            if name != GAPS && library.followup(name).is_none() {
                let mut known: Vec<&str> =
                    library.followups().iter().map(|f| f.name.as_str()).collect();
                known.push(GAPS);
                return Err(format!(
                    "unknown follow-up '{name}'; use one of: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

impl Agenda for Opening<'_> {
    fn next(&mut self, session: &mut Session) -> impl Future<Output = Option<PlannedTurn>> {
        std::future::ready(self.next_turn(session.conversation.transcript()))
    }

    fn after(&mut self, end: &TurnEnd) -> Flow {
        end.flow_unattended()
    }

    fn is_done(&self, transcript: &Transcript) -> bool {
        self.next_turn(transcript).is_none()
    }
}

/// A saved transcript's questions, asked again in order.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    pub questions: Vec<PlannedTurn>,
}

impl Replay {
    /// The user turns of a saved transcript (at most `until` of them).
    pub fn of(transcript: &Transcript, until: Option<usize>) -> Replay {
        let questions = transcript
            .exchanges()
            .take(until.unwrap_or(usize::MAX))
            .map(|e| PlannedTurn { kind: e.kind().clone(), text: e.question_text().to_string() })
            .collect();
        Replay { questions }
    }

    /// The question after those the transcript already has answers to.
    pub fn next_turn(&self, transcript: &Transcript) -> Option<PlannedTurn> {
        let answered = transcript.exchanges().filter(|e| e.is_seen()).count();
        self.questions.get(answered).cloned()
    }
}

impl Agenda for Replay {
    fn next(&mut self, session: &mut Session) -> impl Future<Output = Option<PlannedTurn>> {
        std::future::ready(self.next_turn(session.conversation.transcript()))
    }

    fn after(&mut self, end: &TurnEnd) -> Flow {
        end.flow_unattended()
    }

    fn is_done(&self, transcript: &Transcript) -> bool {
        self.next_turn(transcript).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::conversation::{Answer, Conversation};
    use crate::message::FinishReason;
    use crate::session::Meta;

    fn transcript(topics: &[&str], stack: Option<&str>) -> Transcript {
        Transcript {
            meta: Meta {
                topics: topics.iter().map(|s| s.to_string()).collect(),
                stack: stack.map(str::to_string),
                ..Meta::started("t".into(), "m".into(), "u".into())
            },
            turns: vec![],
        }
    }

    fn reply(text: &str) -> Answer {
        Answer {
            text: text.into(),
            finish_reason: FinishReason::Stop,
            usage: None,
            usage_counted: false,
            model: "m".into(),
            coverage: None,
        }
    }

    /// Answers every turn `plan` asks, in order, with `answer`; returns the questions.
    fn walk(plan: &Opening<'_>, conv: &mut Conversation, answer: &str) -> Vec<PlannedTurn> {
        let mut asked = Vec::new();
        while let Some(turn) = plan.next_turn(conv.transcript()) {
            asked.push(turn.clone());
            conv.record_answer(turn, reply(answer));
            assert!(asked.len() < 50, "the plan never ends");
        }
        asked
    }

    #[test]
    fn the_stack_line_is_joined_to_the_priming_turn() {
        let library = Library::builtin();
        let turns = opening_turns(&library, Some(" PostgreSQL, EKS "), &[]);
        assert_eq!(turns.len(), 1);
        assert!(turns[0].text.starts_with(library.priming()));
        assert!(turns[0].text.ends_with("\n\nWe're using PostgreSQL, EKS."));
        assert_eq!(opening_turns(&library, Some("  "), &[])[0].text, library.priming());
    }

    #[test]
    fn the_opening_plan_is_priming_then_each_topic_with_its_follow_ups() {
        let library = Library::builtin();
        let followups = vec!["mistakes".to_string(), GAPS.to_string()];
        let plan = Opening { library: &library, followups: &followups };
        let mut conv = Conversation::new(transcript(&["health-checks", "graceful-shutdown"], None));
        let kinds: Vec<String> =
            walk(&plan, &mut conv, "nothing useful").iter().map(PlannedTurn::label).collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        assert_eq!(kinds[0], "priming prompt");
        assert_eq!(kinds[1], "topic health-checks");
        assert!(kinds[2].contains("mistakes"), "{kinds:?}");
        assert!(kinds[3].to_lowercase().contains("cover") || kinds[3].contains("point"));
        assert_eq!(kinds[4], "topic graceful-shutdown");
    }

    #[test]
    fn a_failed_or_missing_answer_keeps_its_turn_planned_and_an_interrupted_one_moves_on() {
        let library = Library::builtin();
        let plan = Opening { library: &library, followups: &[] };
        let mut conv = Conversation::new(transcript(&["health-checks", "graceful-shutdown"], None));
        let priming = plan.next_turn(conv.transcript()).unwrap();
        conv.record_failure(priming.clone(), "HTTP 500", String::new());
        assert_eq!(plan.next_turn(conv.transcript()), Some(priming.clone()));
        conv.record_interruption(priming, "I'm excited".into(), "m");
        assert_eq!(plan.next_turn(conv.transcript()).unwrap().label(), "topic health-checks");
    }

    #[test]
    fn a_gaps_follow_up_is_skipped_when_nothing_is_missing() {
        let library = Library::builtin();
        let topic = library.topic_by_slug("health-checks").unwrap();
        let followups = vec![GAPS.to_string(), "mistakes".to_string()];
        let plan = Opening { library: &library, followups: &followups };
        let mut conv = Conversation::new(transcript(&["health-checks"], None));
        // Each point with something said about it: a point only restated covers nothing.
        let said = |p: &String| format!("{p}: what we do, step by step, and why.");
        let full_answer = topic.cover.iter().map(said).collect::<Vec<_>>().join("\n\n");
        let asked = walk(&plan, &mut conv, &full_answer);
        assert_eq!(asked.len(), 3, "priming, topic, mistakes: {asked:?}");
        assert!(asked[2].text.contains("mistakes"));
    }

    #[test]
    fn a_replay_asks_the_saved_questions_after_those_answered() {
        let library = Library::builtin();
        let plan = Opening { library: &library, followups: &[] };
        let mut source = Conversation::new(transcript(&["health-checks"], Some("Istio")));
        walk(&plan, &mut source, "ok");
        source.record_answer(PlannedTurn::followup("and then?"), reply("then"));
        let replay = Replay::of(source.transcript(), None);
        assert_eq!(replay.questions.len(), 3);
        assert!(replay.questions[0].text.ends_with("We're using Istio."));
        let mut conv = Conversation::new(transcript(&[], None));
        conv.record_answer(replay.questions[0].clone(), reply("ok"));
        assert_eq!(replay.next_turn(conv.transcript()), Some(replay.questions[1].clone()));
        assert_eq!(Replay::of(source.transcript(), Some(1)).questions.len(), 1);
    }
}
