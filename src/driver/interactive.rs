//! The interactive user as an [`Agenda`]: the opening plan (priming, each topic) runs by
//! itself until an answer is stopped or fails; then the user decides what comes next, and the
//! rest of the plan waits until they continue it (Enter, or `/retry`).

use std::future::Future;

use super::agenda::{Agenda, Flow, Opening};
use super::conversation::PlannedTurn;
use super::run::{Session, TurnEnd};

/// What the user wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Send this; with `then_plan`, the rest of the plan follows by itself.
    Ask { turn: PlannedTurn, then_plan: bool },
    /// Go on with the plan.
    ContinuePlan,
    /// End the session.
    Quit,
}

/// The person at the keyboard (or a script on stdin).
pub trait User {
    /// Shows what the user needs to decide and reads what they want. `planned` is the next
    /// question of the plan, if any remains. The user may change the session first (undo an
    /// exchange, switch the model, save a copy).
    fn choose(
        &mut self,
        session: &mut Session,
        planned: Option<&PlannedTurn>,
    ) -> impl Future<Output = Choice>;
}

/// The opening plan, then the user.
pub struct Interactive<'a, U> {
    pub plan: Opening<'a>,
    pub user: U,
    /// True while the plan runs by itself.
    running_plan: bool,
}

impl<'a, U: User> Interactive<'a, U> {
    /// A session whose plan starts by itself (a new or resumed conversation).
    pub fn new(plan: Opening<'a>, user: U) -> Interactive<'a, U> {
        Interactive { plan, user, running_plan: true }
    }
}

impl<U: User> Agenda for Interactive<'_, U> {
    async fn next(&mut self, session: &mut Session) -> Option<PlannedTurn> {
        loop {
            let planned = self.plan.next_turn(session.transcript());
            if self.running_plan {
                if let Some(turn) = planned {
                    return Some(turn);
                }
                self.running_plan = false;
            }
            match self.user.choose(session, planned.as_ref()).await {
                Choice::Ask { turn, then_plan } => {
                    self.running_plan = then_plan;
                    return Some(turn);
                }
                Choice::ContinuePlan => self.running_plan = true,
                Choice::Quit => return None,
            }
        }
    }

    fn after(&mut self, end: &TurnEnd) -> Flow {
        if !matches!(end, TurnEnd::Answered) {
            self.running_plan = false;
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::conversation::{Answer, Conversation};
    use crate::driver::run::RequestSettings;
    use crate::message::FinishReason;
    use crate::prompts::Library;
    use crate::session::{Meta, Transcript};

    /// A user who answers from a script and records what plan they were shown.
    struct Scripted {
        choices: Vec<Choice>,
        shown: Vec<Option<String>>,
    }

    impl User for Scripted {
        async fn choose(&mut self, _: &mut Session, planned: Option<&PlannedTurn>) -> Choice {
            self.shown.push(planned.map(PlannedTurn::label));
            if self.choices.is_empty() { Choice::Quit } else { self.choices.remove(0) }
        }
    }

    fn session(topics: &[&str]) -> Session {
        let meta = Meta {
            topics: topics.iter().map(|s| s.to_string()).collect(),
            ..Meta::started("t".into(), "m".into(), "u".into())
        };
        Session {
            conversation: Conversation::new(Transcript { meta, turns: vec![] }),
            request: RequestSettings {
                model: "m".into(),
                temperature: None,
                max_tokens: None,
                context_window: None,
            },
            path: "unused.md".into(),
        }
    }

    fn answer(session: &mut Session, turn: PlannedTurn) {
        let reply = Answer {
            text: "ok".into(),
            finish_reason: FinishReason::Stop,
            usage: None,
            usage_counted: false,
            model: "m".into(),
            coverage: None,
        };
        session.conversation.record_answer(turn, reply);
    }

    #[tokio::test]
    async fn a_stopped_answer_keeps_the_plan_until_the_user_continues_it() {
        let library = Library::builtin();
        let plan = Opening { library: &library, followups: &[] };
        let user = Scripted {
            choices: vec![
                Choice::Ask { turn: PlannedTurn::followup("first, this"), then_plan: false },
                Choice::ContinuePlan,
            ],
            shown: Vec::new(),
        };
        let mut agenda = Interactive::new(plan, user);
        let mut session = session(&["health-checks", "graceful-shutdown"]);
        // Ctrl-C during the priming answer.
        let priming = agenda.next(&mut session).await.unwrap();
        assert_eq!(priming.label(), "priming prompt");
        session.conversation.record_interruption(priming, "I'm exc".into(), "m");
        assert_eq!(agenda.after(&TurnEnd::Interrupted), Flow::Continue);
        // The user is asked, and told what the plan holds; their own question goes first.
        let own = agenda.next(&mut session).await.unwrap();
        assert_eq!(own.text, "first, this");
        answer(&mut session, own);
        agenda.after(&TurnEnd::Answered);
        // Then Enter: the plan goes on by itself, topic after topic.
        let topic = agenda.next(&mut session).await.unwrap();
        assert_eq!(topic.label(), "topic health-checks");
        answer(&mut session, topic);
        agenda.after(&TurnEnd::Answered);
        let topic = agenda.next(&mut session).await.unwrap();
        assert_eq!(topic.label(), "topic graceful-shutdown");
        answer(&mut session, topic);
        agenda.after(&TurnEnd::Answered);
        // Nothing planned any more: the user decides, and quits.
        assert_eq!(agenda.next(&mut session).await, None);
        assert_eq!(
            agenda.user.shown,
            [
                Some("topic health-checks".to_string()),
                Some("topic health-checks".to_string()),
                None
            ]
        );
    }
}
