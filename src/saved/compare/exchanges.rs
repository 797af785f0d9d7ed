//! A transcript as exchanges (a question and its answer), grouped by topic, and two lists
//! of exchanges paired for comparison.

use super::diff;
use crate::session::{self, AnswerStatus, Transcript, TurnKind};

/// One question and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub kind: Option<TurnKind>,
    pub question: String,
    pub answer: Option<Answer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    /// Completion tokens, as recorded on the turn.
    pub tokens: Option<u64>,
    /// True when the tokens were counted locally.
    pub counted: bool,
    pub status: Option<AnswerStatus>,
}

/// The exchanges of one topic: from its topic prompt up to the next topic prompt.
/// `slug` is `None` for what comes before the first topic prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub slug: Option<String>,
    pub exchanges: Vec<Exchange>,
}

/// The transcript's exchanges, grouped by topic, in order (the transcript's own sections).
pub fn groups(t: &Transcript) -> Vec<Group> {
    t.topic_sections()
        .into_iter()
        .map(|section| Group {
            slug: section.topic.map(str::to_string),
            exchanges: section.exchanges.iter().map(owned).collect(),
        })
        .collect()
}

fn owned(exchange: &session::Exchange<'_>) -> Exchange {
    Exchange {
        kind: exchange.question.info.kind.clone(),
        question: exchange.question_text().to_string(),
        answer: exchange.answer.map(|turn| Answer {
            text: turn.text.clone(),
            tokens: turn.info.usage.map(|u| u.completion_tokens),
            counted: turn.info.usage_counted,
            status: turn.info.status,
        }),
    }
}

/// Pairs exchanges in order: the same questions (a longest common subsequence of the
/// question texts) pair up, and between two such pairs the remaining exchanges pair by
/// position; what is left over has no partner.
pub fn pair<'x>(
    a: &'x [Exchange],
    b: &'x [Exchange],
) -> Vec<(Option<&'x Exchange>, Option<&'x Exchange>)> {
    let questions = |xs: &'x [Exchange]| xs.iter().map(|x| x.question.as_str()).collect::<Vec<_>>();
    let anchors = diff::common(&questions(a), &questions(b));
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (ai, bj) in anchors.into_iter().chain([(a.len(), b.len())]) {
        let (left, right) = (&a[i..ai], &b[j..bj]);
        for k in 0..left.len().max(right.len()) {
            pairs.push((left.get(k), right.get(k)));
        }
        if ai < a.len() {
            pairs.push((Some(&a[ai]), Some(&b[bj])));
        }
        (i, j) = (ai + 1, bj + 1);
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(question: &str) -> Exchange {
        Exchange { kind: None, question: question.into(), answer: None }
    }

    fn questions(pairs: Vec<(Option<&Exchange>, Option<&Exchange>)>) -> Vec<(String, String)> {
        let q = |e: Option<&Exchange>| e.map_or("-".to_string(), |e| e.question.clone());
        pairs.into_iter().map(|(a, b)| (q(a), q(b))).collect()
    }

    #[test]
    fn pairs_same_questions_and_the_rest_by_position() {
        let a = [x("p"), x("t"), x("gaps A"), x("mistakes")];
        let b = [x("p"), x("t"), x("gaps B"), x("mistakes"), x("extra")];
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            questions(pair(&a, &b)),
            vec![
                s("p", "p"),
                s("t", "t"),
                s("gaps A", "gaps B"),
                s("mistakes", "mistakes"),
                s("-", "extra")
            ]
        );
    }
}
