//! What a batch run does: which topics, which follow-ups, against which model. The plan is
//! stored in the run's manifest, so a resumed run does exactly what the first one set out to do.

use serde::{Deserialize, Serialize};

use crate::conversation::{PlannedTurn, opening_turns};
use crate::coverage;
use crate::message::Role;
use crate::prompts::{Library, PromptError, Topic};
use crate::session::{Transcript, TurnKind};

/// The follow-up name that asks for the "Cover:" points the answers so far missed.
pub const GAPS: &str = "gaps";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Topic slugs, in guide order.
    pub topics: Vec<String>,
    /// Follow-up names sent after each topic's answer, in order.
    pub followups: Vec<String>,
    pub model: String,
    /// The endpoint's base URL.
    pub endpoint: String,
    pub profile: String,
    pub stack: Option<String>,
    /// For `deepdive replay DIR`: the run folder whose transcripts' user turns are sent
    /// again, instead of the library's prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

/// Where a replayed run's questions come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    /// The source run folder.
    pub from: std::path::PathBuf,
    /// Only the first this many user turns of each transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<usize>,
}

impl Plan {
    /// Checks that every follow-up name exists in the library (or is `gaps`).
    pub fn check_followups(&self, library: &Library) -> Result<(), String> {
        for name in &self.followups {
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

    /// Why a run folder made with `self` cannot continue as `other`, if it cannot. A new
    /// endpoint URL is fine (a server moved, a gateway changed); a different model, stack or
    /// follow-ups would mix answers to different questions in one handbook.
    pub fn conflict_with(&self, other: &Plan) -> Option<String> {
        let differs =
            |what: &str, a: &str, b: &str| (a != b).then(|| format!("{what} was '{a}', now '{b}'"));
        differs("the model", &self.model, &other.model)
            .or_else(|| {
                differs(
                    "the stack",
                    self.stack.as_deref().unwrap_or("(none)"),
                    other.stack.as_deref().unwrap_or("(none)"),
                )
            })
            .or_else(|| {
                differs("the follow-ups", &self.followups.join(","), &other.followups.join(","))
            })
            .or_else(|| {
                let source = |p: &Plan| {
                    p.replay.as_ref().map_or("(none)".to_string(), |r| r.from.display().to_string())
                };
                differs("the replayed run", &source(self), &source(other))
            })
    }

    /// The topics of the plan, from the library.
    pub fn resolve_topics<'l>(&self, library: &'l Library) -> Result<Vec<&'l Topic>, PromptError> {
        library.resolve_all(&self.topics)
    }

    /// The technology that fills the guide's "[specific technology]": the first of the stack.
    fn technology(&self) -> Option<&str> {
        self.stack.as_deref().and_then(|s| s.split(',').map(str::trim).find(|t| !t.is_empty()))
    }

    /// The next user turn of `topic`'s conversation, given what `transcript` already holds,
    /// or `None` when the conversation is done. Deterministic, so a resumed run recomputes the
    /// same turns: the priming and topic prompt, then each follow-up (a `gaps` follow-up only
    /// when the answers so far missed some "Cover:" points).
    pub fn next_turn(
        &self,
        library: &Library,
        topic: &Topic,
        transcript: &Transcript,
    ) -> Option<PlannedTurn> {
        let asked = transcript.turns.iter().filter(|t| t.role == Role::User).count();
        if let Some(replay) = &self.replay {
            return replay.questions(topic).into_iter().nth(asked);
        }
        let opening = opening_turns(library, self.stack.as_deref(), &[topic]);
        if let Some(turn) = opening.into_iter().nth(asked) {
            return Some(turn);
        }
        // Follow-ups: walk the plan, skipping those already asked (by text), so that a
        // `gaps` follow-up that was not needed leaves no hole.
        let followups_asked: Vec<&str> = transcript
            .turns
            .iter()
            .filter(|t| t.role == Role::User && t.info.kind == Some(TurnKind::Followup))
            .map(|t| t.text.as_str())
            .collect();
        let mut asked_iter = followups_asked.into_iter().peekable();
        for name in &self.followups {
            let text = if name == GAPS {
                let answers = answers_since_topic(transcript);
                let report = coverage::check(&topic.cover, &answers);
                match coverage::gaps_question(topic, &report) {
                    Some(text) => text,
                    None => continue,
                }
            } else {
                library.followup(name)?.instantiate(topic, self.technology())
            };
            if asked_iter.next_if(|asked| *asked == text).is_some() {
                continue;
            }
            if asked_iter.peek().is_some() {
                // The transcript asked something this plan does not: nothing more to plan.
                return None;
            }
            return Some(PlannedTurn { kind: TurnKind::Followup, text });
        }
        None
    }
}

impl Replay {
    /// The source transcript of `topic` in the source run folder, named as batch names it.
    pub fn source_file(&self, topic: &Topic) -> std::path::PathBuf {
        self.from.join(format!("{:02}-{}.md", topic.number, topic.slug))
    }

    /// The user turns to send for `topic`, in order (none when its transcript is missing or
    /// unreadable: the run was checked before it started).
    fn questions(&self, topic: &Topic) -> Vec<PlannedTurn> {
        match crate::session::store::load(&self.source_file(topic)) {
            Ok(source) => user_turns(&source, self.until),
            Err(_) => Vec::new(),
        }
    }
}

/// The user turns of a saved transcript, as turns to send again (at most `until`).
pub fn user_turns(transcript: &Transcript, until: Option<usize>) -> Vec<PlannedTurn> {
    transcript
        .turns
        .iter()
        .filter(|t| t.role == Role::User)
        .take(until.unwrap_or(usize::MAX))
        .map(|t| PlannedTurn {
            kind: t.info.kind.clone().unwrap_or(TurnKind::Followup),
            text: t.text.clone(),
        })
        .collect()
}

/// Every answer after the last topic prompt, joined: what the coverage check reads.
pub fn answers_since_topic(transcript: &Transcript) -> String {
    let start = transcript
        .turns
        .iter()
        .rposition(|t| matches!(t.info.kind, Some(TurnKind::Topic(_))))
        .map_or(transcript.turns.len(), |i| i + 1);
    let mut text = String::new();
    for turn in transcript.turns[start..].iter().filter(|t| t.role == Role::Assistant) {
        text.push_str(&turn.text);
        text.push_str("\n\n");
    }
    text
}
