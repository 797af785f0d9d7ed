//! What a batch run does: which topics, which follow-ups, against which model. The plan is
//! stored in the run's manifest, so a resumed run does exactly what the first one set out to do.

use serde::{Deserialize, Serialize};

use crate::driver::{Agenda, Flow, Opening, PlannedTurn, Replay as Questions, Session, TurnEnd};
use crate::prompts::{Library, PromptError, Topic};
use crate::session::Transcript;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Topic slugs, in guide order.
    pub topics: Vec<String>,
    /// Follow-up names sent after each topic's answer, in order.
    pub followups: Vec<String>,
    pub model: String,
    /// The endpoint's base URL.
    pub endpoint: String,
    /// The endpoint was named by `--base-url` or `OPENAI_BASE_URL`, not by the profile: a
    /// resumed run goes back to it (otherwise to the profile's, which may have moved).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub endpoint_pinned: bool,
    pub profile: String,
    pub stack: Option<String>,
    /// For `deepdive replay DIR`: the run folder whose transcripts' user turns are sent
    /// again, instead of the library's prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
    /// Ask the priming prompt in every topic's conversation (`--fresh-priming`) instead of
    /// once per run, shared as every topic's first exchange.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh_priming: bool,
}

/// Slugs longer than this are shortened in file names, so that every name stays well under
/// the 255 bytes file systems allow, with room for the number, `.md` and temporary names.
const MAX_SLUG_IN_FILE_NAME: usize = 64;

/// The file name of a topic's transcript: guide order first, so a listing reads in order
/// (`15-health-checks.md`); a long slug is shortened at a word boundary where it can be.
pub fn file_name(topic: &Topic) -> String {
    let slug = topic.slug.as_str();
    let short = if slug.len() <= MAX_SLUG_IN_FILE_NAME {
        slug
    } else {
        // Slugs are ASCII (checked when the library loads), so any byte index is a boundary.
        let cut = &slug[..MAX_SLUG_IN_FILE_NAME];
        match cut.rfind('-') {
            Some(at) if at >= MAX_SLUG_IN_FILE_NAME / 2 => &cut[..at],
            _ => cut.trim_end_matches('-'),
        }
    };
    format!("{:02}-{short}.md", topic.number)
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
        Opening::check_followups(library, &self.followups)
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

    /// What `topic`'s conversation asks: the guide's plan (its transcript names the topic
    /// and the stack), or the replayed run's questions for it.
    pub fn agenda<'a>(&'a self, library: &'a Library, topic: &Topic) -> TopicAgenda<'a> {
        match &self.replay {
            Some(replay) => TopicAgenda::Replay(replay.questions(topic)),
            None => TopicAgenda::Guide(Opening { library, followups: &self.followups }),
        }
    }
}

/// One topic's agenda in a batch run.
pub enum TopicAgenda<'a> {
    Guide(Opening<'a>),
    Replay(Questions),
}

impl Agenda for TopicAgenda<'_> {
    async fn next(&mut self, session: &mut Session) -> Option<PlannedTurn> {
        match self {
            TopicAgenda::Guide(plan) => plan.next_turn(session.transcript()),
            TopicAgenda::Replay(questions) => questions.next_turn(session.transcript()),
        }
    }

    fn after(&mut self, end: &TurnEnd) -> Flow {
        end.flow_unattended()
    }

    fn is_done(&self, transcript: &Transcript) -> bool {
        match self {
            TopicAgenda::Guide(plan) => plan.is_done(transcript),
            TopicAgenda::Replay(questions) => questions.is_done(transcript),
        }
    }
}

impl Replay {
    /// The source transcript of `topic` in the source run folder, named as batch names it.
    pub fn source_file(&self, topic: &Topic) -> std::path::PathBuf {
        self.from.join(file_name(topic))
    }

    /// The questions to send for `topic`, in order (none when its transcript is missing or
    /// unreadable: the run was checked before it started).
    pub fn questions(&self, topic: &Topic) -> Questions {
        match crate::session::store::load(&self.source_file(topic)) {
            Ok(source) => Questions::of(&source, self.until),
            Err(_) => Questions::default(),
        }
    }
}
