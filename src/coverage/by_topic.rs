//! Coverage of a conversation with several topics: each topic judged on its own answers.

use super::{CoverageReport, check_answers};
use crate::prompts::{Library, Topic};

/// One topic of a conversation and the verdicts on its points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicReport<'l> {
    pub topic: &'l Topic,
    pub report: CoverageReport,
}

/// Judges each topic of a conversation against its own answers only: the answer to its
/// topic prompt and those to the follow-ups asked after it, up to the next topic.
///
/// `sections` are the conversation's topic sections in order, each a topic slug and the
/// answers given in it. A topic asked more than once is judged on all its sections
/// together and reported where it was first asked. Slugs the library does not know are
/// left out.
pub fn check_topics<'l, 's, S: AsRef<str> + 's>(
    library: &'l Library,
    sections: impl IntoIterator<Item = (&'s str, &'s [S])>,
) -> Vec<TopicReport<'l>> {
    let mut topics: Vec<(&'l Topic, Vec<&'s str>)> = Vec::new();
    for (slug, answers) in sections {
        let Some(topic) = library.topic_by_slug(slug) else { continue };
        let answers = answers.iter().map(AsRef::as_ref);
        match topics.iter_mut().find(|(t, _)| t.slug == topic.slug) {
            Some((_, all)) => all.extend(answers),
            None => topics.push((topic, answers.collect())),
        }
    }
    topics
        .into_iter()
        .map(|(topic, answers)| TopicReport {
            topic,
            report: check_answers(&topic.cover, &answers),
        })
        .collect()
}
