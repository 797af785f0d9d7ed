//! The numbered follow-ups offered after an answer. Pure: the same library, transcript and
//! stack give the same list.
//!
//! # Choice and order
//!
//! 1. **Gaps.** The current topic is the last topic prompt of the conversation; the verdicts
//!    in force on its "Cover:" points (the model judge's, when one graded the answers since
//!    that prompt, else the lexical method's: [`coverage::of_topic`]) decide which points its
//!    answers missed. Each missed point becomes
//!    a follow-up asking for it, at most [`MAX_GAPS`] items so that the other kinds still
//!    show. When more points are missed than that, the first item asks for *all* of them in
//!    one message (so one pick closes the whole gap, and its text does not depend on what
//!    else was shown), followed by the first missed points on their own for those who want
//!    them one at a time, in depth.
//! 2. **The rest**, one at a time from each kind in turn, until `limit`: the guide's depth
//!    questions, one format request, one tip, the topic's related topics. So a list of six
//!    after a well-covered answer holds two depth questions, a format, a tip and two topics.
//!    The chosen ones are then shown grouped by kind, in that order.
//!
//! Within a kind the library's order holds, except that a template the topic prompt already
//! asks for goes last (every topic's "Include" line asks for a checklist, so the checklist tip
//! yields to the scenarios tip), and that a depth question about "[specific technology]" goes
//! first when a stack is known and last when not (its stand-in is vague).
//!
//! A technology placeholder takes one technology of the stack: the first whose question was not
//! yet sent, preferring those the answers have not mentioned (they are what the model has not
//! yet addressed). So each pick moves the question on to the next technology, and one stack does
//! not turn into one question per technology.
//!
//! Nothing already sent as a user turn is suggested again (compared case- and
//! whitespace-insensitively, ignoring closing punctuation), nor a topic already in the
//! conversation or planned for it. Before any topic, the suggestions are the guide's first
//! topics. When the opening plan was stopped (Ctrl-C, a failure) and still has questions, the
//! first item continues it.

use std::collections::HashSet;

use crate::coverage::{self, Verdicts};
use crate::driver::PlannedTurn;
use crate::prompts::{FollowupKind, FollowupTemplate, Library, Topic};
use crate::session::Transcript;

/// The most gap items in one list.
pub const MAX_GAPS: usize = 3;

/// What a suggestion asks for; the order is the display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SuggestionKind {
    /// The rest of the opening plan (the next priming or topic prompt), after it was stopped.
    Plan,
    /// A "Cover:" point the answers missed.
    Gap,
    /// One of the guide's "Following Up for Depth" questions.
    Depth,
    /// One of the guide's "Requesting Specific Formats".
    Format,
    /// A request phrased from the guide's "Tips for Best Results".
    Tip,
    /// A topic prompt to add to the conversation.
    RelatedTopic,
    /// Suggested by the model itself (`chat --suggest-with-model`).
    Model,
}

impl SuggestionKind {
    /// A short tag for display.
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Plan => "plan",
            SuggestionKind::Gap => "gap",
            SuggestionKind::Depth => "depth",
            SuggestionKind::Format => "format",
            SuggestionKind::Tip => "tip",
            SuggestionKind::RelatedTopic => "topic",
            SuggestionKind::Model => "model",
        }
    }
}

/// One follow-up the user can pick by number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub kind: SuggestionKind,
    /// Exactly what is sent when picked.
    pub text: String,
    /// Short display text; may equal `text`.
    pub label: String,
    /// For [`SuggestionKind::RelatedTopic`]: the slug of the topic that picking adds.
    pub topic: Option<String>,
}

impl Suggestion {
    /// A suggestion whose label is its text.
    pub fn new(kind: SuggestionKind, text: String) -> Suggestion {
        Suggestion { kind, label: text.clone(), text, topic: None }
    }

    fn topic(topic: &Topic) -> Suggestion {
        Suggestion {
            kind: SuggestionKind::RelatedTopic,
            text: topic.prompt.clone(),
            label: format!("Add topic {}: {}", topic.number, topic.title),
            topic: Some(topic.slug.clone()),
        }
    }
}

/// Up to `limit` follow-ups for the conversation so far, best first (see the module doc).
pub fn suggest(
    library: &Library,
    transcript: &Transcript,
    stack: Option<&str>,
    planned: Option<&PlannedTurn>,
    limit: usize,
) -> Vec<Suggestion> {
    let mut seen = Seen::new(transcript);
    let mut list: Vec<Suggestion> = planned
        .map(|turn| Suggestion {
            label: format!("Continue the plan: {} (or press Enter)", turn.label()),
            ..Suggestion::new(SuggestionKind::Plan, turn.text.clone())
        })
        .into_iter()
        .collect();
    let Some(topic) = current_topic(library, transcript) else {
        let fresh = library.topics().iter().filter(|t| seen.is_new_topic(t));
        list.extend(fresh.take(limit.saturating_sub(list.len())).map(Suggestion::topic));
        return list;
    };
    let answers = transcript.section_of(&topic.slug).map(|s| s.answers()).unwrap_or_default();
    if let Some(verdicts) = coverage::of_topic(topic, transcript, coverage::Reasons::Recorded) {
        list.extend(gaps(topic, &verdicts, &mut seen));
    }
    list.truncate(limit);

    let technologies = technologies(stack, &answers);
    let pick = |kind, seen: &mut Seen| -> Vec<Suggestion> {
        let templates = ordered(library, kind, topic, stack.is_some());
        let suggestion_kind = match kind {
            FollowupKind::Depth => SuggestionKind::Depth,
            FollowupKind::Format => SuggestionKind::Format,
            FollowupKind::Tip => SuggestionKind::Tip,
        };
        let texts = templates.into_iter().filter_map(|t| {
            seen.first_new(instantiations(t, topic, &technologies))
                .map(|text| Suggestion::new(suggestion_kind, text))
        });
        // Every depth question can be offered; one format and one tip are enough.
        let wanted = if kind == FollowupKind::Depth { usize::MAX } else { 1 };
        texts.take(wanted).collect()
    };
    let depth = pick(FollowupKind::Depth, &mut seen);
    let format = pick(FollowupKind::Format, &mut seen);
    let tip = pick(FollowupKind::Tip, &mut seen);
    let related = topic
        .related
        .iter()
        .filter_map(|slug| library.topic_by_slug(slug))
        .filter(|t| seen.is_new_topic(t))
        .map(Suggestion::topic)
        .collect();

    let mut queues = [depth, format, tip, related].map(Vec::into_iter);
    while list.len() < limit {
        let before = list.len();
        for queue in &mut queues {
            if list.len() < limit {
                list.extend(queue.next());
            }
        }
        if list.len() == before {
            break;
        }
    }
    list.sort_by_key(|s| s.kind);
    list
}

/// The guide's format requests for the current topic, in library order, for the format
/// command. Before any topic, only those without placeholders.
pub fn format_requests(library: &Library, transcript: &Transcript) -> Vec<Suggestion> {
    let topic = current_topic(library, transcript);
    let formats = library.followups().iter().filter(|f| f.kind == FollowupKind::Format);
    let texts = formats.filter_map(|f| match topic {
        Some(topic) => Some(f.instantiate(topic, None)),
        None => (!f.text.contains('[')).then(|| f.text.clone()),
    });
    texts.map(|text| Suggestion::new(SuggestionKind::Format, text)).collect()
}

/// The topic of the last topic prompt sent, when the library knows it.
pub fn current_topic<'l>(library: &'l Library, transcript: &Transcript) -> Option<&'l Topic> {
    let slug = transcript.exchanges().rev().find_map(|e| e.topic())?;
    library.topic_by_slug(slug)
}

/// One item per "Cover:" point the verdicts in force call missed, at most [`MAX_GAPS`], led by
/// one asking for all of them when more are missed.
fn gaps(topic: &Topic, verdicts: &Verdicts, seen: &mut Seen) -> Vec<Suggestion> {
    let missed = verdicts.missing();
    let mut list = Vec::new();
    if missed.len() > MAX_GAPS {
        if let Some(text) = coverage::gaps_question(topic, &missed).filter(|t| seen.admit(t)) {
            let label = format!("Ask for all {} missed points", missed.len());
            list.push(Suggestion { label, ..Suggestion::new(SuggestionKind::Gap, text) });
        }
    }
    for point in missed {
        if list.len() == MAX_GAPS {
            break;
        }
        let text = coverage::gap_question(topic, point);
        if seen.admit(&text) {
            let label = format!("Ask for: {point}");
            list.push(Suggestion { label, ..Suggestion::new(SuggestionKind::Gap, text) });
        }
    }
    list
}

/// The templates of `kind` in the order they are offered (see the module doc).
fn ordered<'l>(
    library: &'l Library,
    kind: FollowupKind,
    topic: &Topic,
    has_stack: bool,
) -> Vec<&'l FollowupTemplate> {
    let include = topic.include.to_lowercase();
    let mut templates: Vec<&FollowupTemplate> =
        library.followups().iter().filter(|f| f.kind == kind).collect();
    templates.sort_by_key(|f| {
        let requested = include.contains(&f.name.replace('-', " "));
        let technology_rank = match (f.text.contains("[specific technology]"), has_stack) {
            (false, _) => 1,
            (true, true) => 0,
            (true, false) => 2,
        };
        (requested, technology_rank)
    });
    templates
}

/// The texts `template` can give for `topic`: one per technology when it has a technology
/// placeholder and a stack is known, else one.
fn instantiations(
    template: &FollowupTemplate,
    topic: &Topic,
    technologies: &[&str],
) -> Vec<String> {
    let uses_technology =
        template.text.contains("[specific technology]") || template.text.contains("[your context]");
    if uses_technology && !technologies.is_empty() {
        technologies.iter().map(|t| template.instantiate(topic, Some(t))).collect()
    } else {
        vec![template.instantiate(topic, None)]
    }
}

/// The stack's technologies, those the answers do not mention first, else in stack order.
fn technologies<'s>(stack: Option<&'s str>, answers: &str) -> Vec<&'s str> {
    let answers = answers.to_lowercase();
    let mut list: Vec<&str> = Vec::new();
    for technology in stack.unwrap_or_default().split(',').map(str::trim) {
        if !technology.is_empty() && !list.contains(&technology) {
            list.push(technology);
        }
    }
    list.sort_by_key(|t| answers.contains(&t.to_lowercase()));
    list
}

/// What the conversation already holds: user texts (normalized) and topic slugs. Texts of
/// suggestions made are added, so that no two suggestions send the same text.
struct Seen {
    texts: HashSet<String>,
    topics: HashSet<String>,
}

impl Seen {
    /// The transcript's questions, and its topics: asked, or planned (in the front matter).
    fn new(transcript: &Transcript) -> Seen {
        let texts = transcript.exchanges().map(|e| normalize(e.question_text())).collect();
        let mut topics: HashSet<String> = transcript.meta.topics.iter().cloned().collect();
        topics.extend(transcript.exchanges().filter_map(|e| e.topic()).map(str::to_string));
        Seen { texts, topics }
    }

    /// Records `text`; false when it was sent or suggested already.
    fn admit(&mut self, text: &str) -> bool {
        self.texts.insert(normalize(text))
    }

    /// The first of `texts` not sent or suggested yet, recorded.
    fn first_new(&mut self, texts: Vec<String>) -> Option<String> {
        texts.into_iter().find(|t| self.admit(t))
    }

    fn is_new_topic(&self, topic: &Topic) -> bool {
        !self.topics.contains(&topic.slug) && !self.texts.contains(&normalize(&topic.prompt))
    }
}

/// Lower case, single spaces, without closing punctuation: "What  now?" and "what now" agree.
fn normalize(text: &str) -> String {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches(['.', '?', '!', ':', ';']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Role;
    use crate::session::{Meta, Turn, TurnInfo, TurnKind};

    const HEALTH: &str = "health-checks";

    fn transcript() -> Transcript {
        Transcript {
            meta: Meta::started("t".into(), "m".into(), "http://localhost/v1".into()),
            turns: vec![],
        }
    }

    fn push(transcript: &mut Transcript, role: Role, kind: Option<TurnKind>, text: &str) {
        let info = TurnInfo { kind, ..TurnInfo::default() };
        transcript.turns.push(Turn { role, text: text.into(), info });
    }

    /// Priming and its answer.
    fn primed() -> Transcript {
        let mut t = transcript();
        let library = Library::builtin();
        push(&mut t, Role::User, Some(TurnKind::Priming), library.priming());
        push(&mut t, Role::Assistant, None, "Understood.");
        t
    }

    /// `primed()` plus the topic prompt of `slug` and `answer`.
    fn on_topic(slug: &str, answer: &str) -> Transcript {
        let mut t = primed();
        ask_topic(&mut t, slug, answer);
        t
    }

    fn ask_topic(t: &mut Transcript, slug: &str, answer: &str) {
        let prompt = Library::builtin().topic_by_slug(slug).unwrap().prompt.clone();
        push(t, Role::User, Some(TurnKind::Topic(slug.into())), &prompt);
        push(t, Role::Assistant, None, answer);
    }

    fn ask(t: &mut Transcript, question: &str, answer: &str) {
        push(t, Role::User, Some(TurnKind::Followup), question);
        push(t, Role::Assistant, None, answer);
    }

    /// An answer that says something on every "Cover:" point of `slug` but those at `skip`
    /// (a point only restated covers nothing).
    fn answer_without(slug: &str, skip: &[usize]) -> String {
        let library = Library::builtin();
        let cover = &library.topic_by_slug(slug).unwrap().cover;
        let kept = cover.iter().enumerate().filter(|(i, _)| !skip.contains(i));
        let said = |p: &String| format!("## {p}\n\n{p}: what we do, step by step, and why.");
        kept.map(|(_, p)| said(p)).collect::<Vec<_>>().join("\n\n")
    }

    fn texts(list: &[Suggestion]) -> Vec<&str> {
        list.iter().map(|s| s.text.as_str()).collect()
    }

    fn kinds(list: &[Suggestion]) -> Vec<SuggestionKind> {
        list.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn before_any_topic_the_first_guide_topics_are_offered() {
        let library = Library::builtin();
        let mut t = primed();
        t.meta.topics = vec!["data-durability".into()];
        let list = suggest(&library, &t, None, None, 3);
        let slugs: Vec<_> = list.iter().map(|s| s.topic.as_deref().unwrap()).collect();
        assert_eq!(slugs, ["multi-replica-testing", "observability", "runbooks"]);
        assert!(list.iter().all(|s| s.kind == SuggestionKind::RelatedTopic));
        let first = library.topic_by_slug("multi-replica-testing").unwrap();
        assert_eq!(list[0].text, first.prompt);
        assert_eq!(list[0].label, format!("Add topic 1: {}", first.title));
    }

    #[test]
    fn gaps_come_first_and_name_the_missed_points() {
        let library = Library::builtin();
        let topic = library.topic_by_slug(HEALTH).unwrap();
        let t = on_topic(HEALTH, &answer_without(HEALTH, &[1, 4]));
        let list = suggest(&library, &t, None, None, 6);
        assert_eq!(list.len(), 6);
        assert_eq!(
            kinds(&list)[..3],
            [SuggestionKind::Gap, SuggestionKind::Gap, SuggestionKind::Depth]
        );
        for (suggestion, point) in list.iter().zip([&topic.cover[1], &topic.cover[4]]) {
            assert_eq!(suggestion.text, coverage::gap_question(topic, point));
            assert_eq!(suggestion.label, format!("Ask for: {point}"));
        }
        let mut sorted = kinds(&list);
        sorted.sort();
        assert_eq!(sorted, kinds(&list), "grouped by kind");
    }

    #[test]
    fn many_missed_points_are_led_by_one_item_asking_for_all_of_them() {
        let library = Library::builtin();
        let topic = library.topic_by_slug(HEALTH).unwrap();
        let t = on_topic(HEALTH, "Make sure the service starts.");
        let list = suggest(&library, &t, None, None, 6);
        assert_eq!(list[0].label, format!("Ask for all {} missed points", topic.cover.len()));
        assert!(topic.cover.iter().all(|p| list[0].text.contains(p.as_str())));
        assert_eq!(list[1].text, coverage::gap_question(topic, &topic.cover[0]));
        assert_eq!(list[2].text, coverage::gap_question(topic, &topic.cover[1]));
        assert_eq!(
            kinds(&list)[3..],
            [SuggestionKind::Depth, SuggestionKind::Format, SuggestionKind::Tip]
        );
    }

    #[test]
    fn a_gap_asked_for_is_not_offered_again_and_the_next_one_moves_up() {
        let library = Library::builtin();
        let topic = library.topic_by_slug(HEALTH).unwrap();
        let mut t = on_topic(HEALTH, "Make sure the service starts.");
        let first = coverage::gap_question(topic, &topic.cover[0]);
        ask(&mut t, &first, "It depends.");
        let list = suggest(&library, &t, None, None, 6);
        assert!(!texts(&list).contains(&first.as_str()));
        assert_eq!(list[1].text, coverage::gap_question(topic, &topic.cover[1]));
        assert_eq!(list[2].text, coverage::gap_question(topic, &topic.cover[2]));
    }

    #[test]
    fn no_gaps_before_the_topic_is_answered() {
        let library = Library::builtin();
        let mut t = primed();
        let prompt = library.topic_by_slug(HEALTH).unwrap().prompt.clone();
        push(&mut t, Role::User, Some(TurnKind::Topic(HEALTH.into())), &prompt);
        let list = suggest(&library, &t, None, None, 6);
        assert!(!list.is_empty());
        assert!(list.iter().all(|s| s.kind != SuggestionKind::Gap));
    }

    #[test]
    fn after_a_full_answer_every_kind_shows_in_turn() {
        let library = Library::builtin();
        let t = on_topic(HEALTH, &answer_without(HEALTH, &[]));
        let list = suggest(&library, &t, None, None, 6);
        use SuggestionKind::*;
        assert_eq!(kinds(&list), [Depth, Depth, Format, Tip, RelatedTopic, RelatedTopic]);
        assert_eq!(
            texts(&list)[..4],
            [
                "Can you provide a specific example of health checks in a managed Kubernetes environment?",
                // The topic prompt already asks for "common mistakes to avoid": that question
                // yields to the next one.
                "Can you walk through a specific failure scenario and how to diagnose it?",
                "Provide this as a step-by-step implementation guide",
                // And for a checklist, so the scenarios tip leads.
                "What specific failure scenarios or edge cases should we consider for health checks?",
            ]
        );
        assert_eq!(list[4].topic.as_deref(), Some("graceful-shutdown"));
        assert_eq!(list[5].topic.as_deref(), Some("blue-green"));
    }

    #[test]
    fn something_already_asked_is_not_suggested_again() {
        let library = Library::builtin();
        let mut t = on_topic(HEALTH, &answer_without(HEALTH, &[]));
        let before = suggest(&library, &t, None, None, 6);
        // Asked again in other case, spacing and punctuation.
        ask(
            &mut t,
            "can you walk through a specific   FAILURE scenario and how to diagnose it",
            "…",
        );
        ask(&mut t, &before[2].text, "…");
        let after = suggest(&library, &t, None, None, 6);
        assert!(!texts(&after).contains(&before[1].text.as_str()));
        assert!(!texts(&after).contains(&before[2].text.as_str()));
        let format: Vec<_> = after.iter().filter(|s| s.kind == SuggestionKind::Format).collect();
        assert_eq!(format[0].text, "Create this as a decision tree for troubleshooting");
    }

    #[test]
    fn a_stack_puts_one_differ_question_first_and_rotates_its_technology() {
        let library = Library::builtin();
        let stack = Some("PostgreSQL, Istio");
        let mut t = on_topic(HEALTH, &answer_without(HEALTH, &[]));
        let differ = |list: &[Suggestion]| -> Vec<String> {
            let texts = list.iter().map(|s| s.text.clone());
            texts.filter(|t| t.starts_with("How would this approach differ")).collect()
        };
        let list = suggest(&library, &t, stack, None, 6);
        assert_eq!(differ(&list), ["How would this approach differ if we were using PostgreSQL?"]);
        assert_eq!(list[0].kind, SuggestionKind::Depth);
        ask(&mut t, &list[0].text, "With PostgreSQL you would …");
        let list = suggest(&library, &t, stack, None, 6);
        assert_eq!(differ(&list), ["How would this approach differ if we were using Istio?"]);
        ask(&mut t, &list[0].text, "…");
        assert!(differ(&suggest(&library, &t, stack, None, 20)).is_empty());
    }

    #[test]
    fn technologies_the_answers_do_not_mention_come_first() {
        let library = Library::builtin();
        let answer = answer_without(HEALTH, &[]) + "\n\nWith PostgreSQL, check the pool.";
        let t = on_topic(HEALTH, &answer);
        let list = suggest(&library, &t, Some("PostgreSQL, Istio, PostgreSQL"), None, 6);
        assert_eq!(list[0].text, "How would this approach differ if we were using Istio?");
        assert!(list[1].text.ends_with("in a Istio environment?"), "{}", list[1].text);
    }

    #[test]
    fn without_a_stack_the_differ_question_comes_last() {
        let library = Library::builtin();
        let t = on_topic("logging", &answer_without("logging", &[]));
        let depth: Vec<_> = suggest(&library, &t, None, None, 50)
            .into_iter()
            .filter(|s| s.kind == SuggestionKind::Depth)
            .collect();
        assert_eq!(depth.len(), 5);
        assert_eq!(
            depth[4].text,
            "How would this approach differ if we were using a different technology stack?"
        );
    }

    #[test]
    fn related_topics_exclude_those_in_the_conversation() {
        let library = Library::builtin();
        let mut t = primed();
        ask_topic(&mut t, "blue-green", "…");
        ask_topic(&mut t, HEALTH, &answer_without(HEALTH, &[]));
        let list = suggest(&library, &t, None, None, 50);
        let topics: Vec<_> = list.iter().filter_map(|s| s.topic.as_deref()).collect();
        assert_eq!(topics, ["graceful-shutdown", "db-connections"]);
        let related = list.iter().filter(|s| s.kind == SuggestionKind::RelatedTopic);
        for s in related {
            let topic = library.topic_by_slug(s.topic.as_deref().unwrap()).unwrap();
            assert_eq!(s.text, topic.prompt);
        }
        t.meta.topics.push("db-connections".into());
        let list = suggest(&library, &t, None, None, 50);
        let topics: Vec<_> = list.iter().filter_map(|s| s.topic.as_deref()).collect();
        assert_eq!(topics, ["graceful-shutdown"]);
    }

    #[test]
    fn the_limit_caps_the_list_and_fewer_candidates_give_fewer() {
        let library = Library::builtin();
        let t = on_topic(HEALTH, "Make sure the service starts.");
        for limit in 0..=8 {
            assert_eq!(suggest(&library, &t, None, None, limit).len(), limit);
        }
        // 3 gaps, 5 depth questions, a format, a tip, 3 related topics.
        assert_eq!(suggest(&library, &t, None, None, 100).len(), 13);
        assert_eq!(suggest(&library, &primed(), None, None, 100).len(), library.topics().len());
    }

    #[test]
    fn the_same_input_gives_the_same_list() {
        let library = Library::builtin();
        let t = on_topic(HEALTH, &answer_without(HEALTH, &[0, 3, 5, 7]));
        let first = suggest(&library, &t, Some("EKS, Istio"), None, 6);
        for _ in 0..5 {
            assert_eq!(suggest(&library, &t, Some("EKS, Istio"), None, 6), first);
        }
    }

    #[test]
    fn no_two_suggestions_send_the_same_text() {
        let library = Library::builtin();
        for topic in library.topics() {
            let t = on_topic(&topic.slug, "Make sure the service starts.");
            let list = suggest(&library, &t, Some("Go, EKS"), None, 100);
            let unique: HashSet<String> = list.iter().map(|s| normalize(&s.text)).collect();
            assert_eq!(unique.len(), list.len(), "{}", topic.slug);
        }
    }

    #[test]
    fn format_requests_lists_the_five_formats_in_library_order() {
        let library = Library::builtin();
        let list = format_requests(&library, &on_topic(HEALTH, "…"));
        assert_eq!(list.len(), 5);
        assert!(list.iter().all(|s| s.kind == SuggestionKind::Format && s.label == s.text));
        assert_eq!(list[0].text, "Provide this as a step-by-step implementation guide");
        assert_eq!(list[4].text, "Provide example configurations or code samples");
        assert_eq!(format_requests(&library, &primed()), list);
    }

    #[test]
    fn current_topic_is_the_last_topic_prompt() {
        let library = Library::builtin();
        assert_eq!(current_topic(&library, &primed()), None);
        let mut t = on_topic("logging", "…");
        ask_topic(&mut t, HEALTH, "…");
        ask(&mut t, "Why?", "…");
        assert_eq!(current_topic(&library, &t).unwrap().slug, HEALTH);
    }

    #[test]
    fn normalize_ignores_case_spacing_and_closing_punctuation() {
        assert_eq!(normalize("  What   now?\n"), "what now");
        assert_eq!(normalize("what now"), normalize("WHAT NOW."));
        assert_ne!(normalize("what now"), normalize("what next"));
    }
}
