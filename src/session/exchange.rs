//! Exchanges: how the program reads a transcript. A transcript stores turns exactly as the
//! file holds them (any order of roles round-trips); everything else sees question/answer
//! pairs, made here and nowhere else.

use super::model::{AnswerStatus, Coverage, Transcript, Turn, TurnInfo, TurnKind};
use crate::message::{FinishReason, Role, Usage};

/// A question and, once it came, its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange<'a> {
    /// A user turn.
    pub question: &'a Turn,
    /// The assistant turn right after it, if there is one.
    pub answer: Option<&'a Turn>,
}

impl<'a> Exchange<'a> {
    /// Why the question was asked (a question without a recorded kind is a follow-up).
    pub fn kind(&self) -> &'a TurnKind {
        self.question.info.kind.as_ref().unwrap_or(&TurnKind::Followup)
    }

    /// The topic slug when this exchange is a topic prompt and its answer.
    pub fn topic(&self) -> Option<&'a str> {
        match self.kind() {
            TurnKind::Topic(slug) => Some(slug),
            _ => None,
        }
    }

    pub fn question_text(&self) -> &'a str {
        &self.question.text
    }

    pub fn answer_text(&self) -> Option<&'a str> {
        self.answer.map(|a| a.text.as_str())
    }

    /// What is recorded about the answer.
    pub fn answer_info(&self) -> Option<&'a TurnInfo> {
        self.answer.map(|a| &a.info)
    }

    /// How the answer ended; `None` when there is no answer (or its status was not recorded,
    /// as in a hand-written file, which reads as complete: see [`Self::is_seen`]).
    pub fn status(&self) -> Option<AnswerStatus> {
        self.answer_info()?.status
    }

    pub fn finish_reason(&self) -> Option<&'a FinishReason> {
        self.answer_info()?.finish_reason.as_ref()
    }

    pub fn usage(&self) -> Option<Usage> {
        self.answer_info()?.usage
    }

    pub fn coverage(&self) -> Option<Coverage> {
        self.answer_info()?.coverage
    }

    /// True when the model has seen this exchange: it has an answer that did not fail
    /// (complete, truncated or interrupted), so later requests carry it as history.
    pub fn is_seen(&self) -> bool {
        self.answer.is_some() && self.status() != Some(AnswerStatus::Failed)
    }

    /// True when the answer was cut off at the token limit.
    pub fn is_truncated(&self) -> bool {
        self.status() == Some(AnswerStatus::Truncated)
    }

    /// True when the answer did not arrive whole because it failed or was stopped.
    pub fn is_unfinished(&self) -> bool {
        matches!(self.status(), Some(AnswerStatus::Failed | AnswerStatus::Interrupted))
            || self.answer.is_none()
    }
}

/// One topic of a conversation: its topic exchange and the follow-ups asked after it, up to
/// the next topic. The exchanges before the first topic (the priming) have no topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSection<'a> {
    pub topic: Option<&'a str>,
    pub exchanges: Vec<Exchange<'a>>,
}

impl<'a> TopicSection<'a> {
    /// The answers the model gave in this section, joined.
    pub fn answers(&self) -> String {
        let mut text = String::new();
        for answer in self.answer_texts() {
            text.push_str(answer);
            text.push_str("\n\n");
        }
        text
    }

    /// The answers the model gave in this section (failed ones left out), in order: what a
    /// coverage check reads, each as a document of its own.
    pub fn answer_texts(&self) -> Vec<&'a str> {
        self.exchanges.iter().filter(|e| e.is_seen()).filter_map(|e| e.answer_text()).collect()
    }
}

impl Transcript {
    /// The exchanges in order. Turns that are not part of one (a system turn, an answer
    /// without a question) are skipped: they stay in the file but are nobody's exchange.
    pub fn exchanges(&self) -> impl DoubleEndedIterator<Item = Exchange<'_>> + '_ {
        let turns = &self.turns;
        turns.iter().enumerate().filter(|(_, t)| t.role == Role::User).map(move |(i, question)| {
            let answer = turns.get(i + 1).filter(|t| t.role == Role::Assistant);
            Exchange { question, answer }
        })
    }

    /// The last exchange, if any.
    pub fn last_exchange(&self) -> Option<Exchange<'_>> {
        self.exchanges().next_back()
    }

    /// The exchanges grouped by topic, in order; a topic asked twice gets two sections.
    pub fn topic_sections(&self) -> Vec<TopicSection<'_>> {
        let mut sections: Vec<TopicSection<'_>> = Vec::new();
        for exchange in self.exchanges() {
            match (exchange.topic(), sections.last_mut()) {
                (None, Some(section)) => section.exchanges.push(exchange),
                (topic, _) => sections.push(TopicSection { topic, exchanges: vec![exchange] }),
            }
        }
        sections
    }

    /// Every answer given to `slug`'s topic prompt and its follow-ups, over all of its
    /// sections (a topic asked twice is judged on both): what its coverage is of.
    pub fn topic_answers(&self, slug: &str) -> Vec<&str> {
        let sections = self.topic_sections().into_iter().filter(|s| s.topic == Some(slug));
        sections.flat_map(|s| s.answer_texts()).collect()
    }

    /// The last section of `slug`, if the conversation has one.
    pub fn section_of(&self, slug: &str) -> Option<TopicSection<'_>> {
        self.topic_sections().into_iter().rev().find(|s| s.topic == Some(slug))
    }

    /// Appends a question and its answer.
    pub fn push_exchange(&mut self, question: Turn, answer: Turn) {
        self.turns.push(question);
        self.turns.push(answer);
    }

    /// Removes the last exchange (its question, its answer if any, and anything after the
    /// question) and returns its question.
    pub fn pop_exchange(&mut self) -> Option<Turn> {
        let at = self.turns.iter().rposition(|t| t.role == Role::User)?;
        let question = self.turns.remove(at);
        self.turns.truncate(at);
        Some(question)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Meta;

    fn turn(role: Role, kind: Option<TurnKind>, text: &str) -> Turn {
        Turn { role, text: text.into(), info: TurnInfo { kind, ..TurnInfo::default() } }
    }

    fn answer(text: &str, status: AnswerStatus) -> Turn {
        Turn {
            role: Role::Assistant,
            text: text.into(),
            info: TurnInfo { status: Some(status), ..TurnInfo::default() },
        }
    }

    fn transcript(turns: Vec<Turn>) -> Transcript {
        Transcript { meta: Meta::started("t".into(), "m".into(), "u".into()), turns }
    }

    #[test]
    fn questions_pair_with_the_answer_right_after_them() {
        let t = transcript(vec![
            turn(Role::System, None, "be brief"),
            turn(Role::User, Some(TurnKind::Priming), "prime"),
            answer("ok", AnswerStatus::Complete),
            turn(Role::Assistant, None, "stray answer"),
            turn(Role::User, None, "unanswered"),
            turn(Role::User, Some(TurnKind::Topic("health-checks".into())), "topic"),
            answer("half", AnswerStatus::Failed),
        ]);
        let exchanges: Vec<Exchange<'_>> = t.exchanges().collect();
        assert_eq!(exchanges.len(), 3);
        assert_eq!(exchanges[0].answer_text(), Some("ok"));
        assert!(exchanges[0].is_seen());
        assert_eq!(exchanges[1].answer, None);
        assert_eq!(exchanges[1].kind(), &TurnKind::Followup);
        assert!(exchanges[1].is_unfinished());
        assert_eq!(exchanges[2].topic(), Some("health-checks"));
        assert!(!exchanges[2].is_seen(), "the model never saw a failed answer");
        assert_eq!(t.last_exchange().map(|e| e.question_text()), Some("topic"));
    }

    #[test]
    fn sections_hold_a_topic_and_its_follow_ups() {
        let topic = |slug: &str| Some(TurnKind::Topic(slug.into()));
        let t = transcript(vec![
            turn(Role::User, Some(TurnKind::Priming), "prime"),
            answer("ok", AnswerStatus::Complete),
            turn(Role::User, topic("health-checks"), "health"),
            answer("probes", AnswerStatus::Complete),
            turn(Role::User, Some(TurnKind::Followup), "more?"),
            answer("timeouts", AnswerStatus::Truncated),
            turn(Role::User, topic("graceful-shutdown"), "shutdown"),
            answer("sigterm", AnswerStatus::Complete),
            turn(Role::User, Some(TurnKind::Followup), "broken"),
            answer("x", AnswerStatus::Failed),
        ]);
        let sections = t.topic_sections();
        let shape: Vec<(Option<&str>, usize)> =
            sections.iter().map(|s| (s.topic, s.exchanges.len())).collect();
        assert_eq!(shape, [(None, 1), (Some("health-checks"), 2), (Some("graceful-shutdown"), 2)]);
        assert_eq!(sections[1].answers(), "probes\n\ntimeouts\n\n");
        assert_eq!(sections[2].answers(), "sigterm\n\n", "a failed answer is not read");
        assert_eq!(t.section_of("health-checks").map(|s| s.exchanges.len()), Some(2));
        assert_eq!(t.section_of("chaos"), None);
    }

    #[test]
    fn popping_removes_the_last_question_and_what_follows_it() {
        let mut t = transcript(vec![
            turn(Role::User, Some(TurnKind::Priming), "prime"),
            answer("ok", AnswerStatus::Complete),
            turn(Role::User, None, "why?"),
            answer("because", AnswerStatus::Interrupted),
        ]);
        assert_eq!(t.pop_exchange().map(|q| q.text), Some("why?".into()));
        assert_eq!(t.turns.len(), 2);
        t.push_exchange(turn(Role::User, None, "again"), answer("sure", AnswerStatus::Complete));
        assert_eq!(t.exchanges().count(), 2);
    }
}
