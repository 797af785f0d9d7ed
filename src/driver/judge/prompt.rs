//! What the judge is asked: the topic's points numbered, the section's answers, and how to
//! reply, with the JSON schema servers that support structured output enforce.

use serde_json::{Value, json};

use crate::message::{Message, Role};
use crate::prompts::Topic;

const SYSTEM: &str = "You check whether answers cover a list of points. You judge strictly and \
                      quote exactly. You reply with JSON only.";

/// The request's messages: a system turn with the role, a user turn with the points, the
/// answers and the reply's form.
pub fn messages<S: AsRef<str>>(topic: &Topic, answers: &[S]) -> Vec<Message> {
    let mut text = format!(
        "Below are the answers an assistant gave on \"{}\", and the points they were asked to \
         cover.\n\n\
         For each numbered point, decide whether the answers address it with substance: they \
         explain it, recommend what to do about it or show how to do it. A heading, a table of \
         contents, a passing mention, or the point's own words repeated without more do not \
         count; neither do words used in another sense.\n\n\
         For a point that is covered, quote the passage of the answers that addresses it: copy \
         it exactly, character for character, one sentence or line of 5 to 30 words from a \
         single answer, with no ellipsis and nothing left out. For a point that is not covered, \
         give an empty quote.\n\nPoints:\n",
        topic.title
    );
    for (i, point) in topic.cover.iter().enumerate() {
        text.push_str(&format!("{}. {point}\n", i + 1));
    }
    for (i, answer) in answers.iter().enumerate() {
        text.push_str(&format!(
            "\n=== Answer {} ===\n{}\n=== End of answer {} ===\n",
            i + 1,
            answer.as_ref().trim_end(),
            i + 1
        ));
    }
    text.push_str(&format!(
        "\nReply with JSON only: one verdict for each of the {} points, in this form:\n\
         {{\"verdicts\": [{{\"point\": 1, \"covered\": true, \"quote\": \"…\"}}, \
         {{\"point\": 2, \"covered\": false, \"quote\": \"\"}}]}}\n",
        topic.cover.len()
    ));
    vec![
        Message { role: Role::System, content: SYSTEM.to_string() },
        Message { role: Role::User, content: text },
    ]
}

/// `response_format` for servers with structured output (OpenAI, vLLM, llama.cpp): a JSON
/// schema of the reply, strict.
pub fn response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "coverage_verdicts",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "verdicts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "point": { "type": "integer" },
                                "covered": { "type": "boolean" },
                                "quote": { "type": "string" }
                            },
                            "required": ["point", "covered", "quote"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["verdicts"],
                "additionalProperties": false
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::Library;

    #[test]
    fn the_request_numbers_the_points_and_fences_each_answer() {
        let library = Library::builtin();
        let topic = library.topic_by_slug("health-checks").unwrap();
        let messages = messages(topic, &["First answer.\n", "Second answer."]);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].role, Role::System);
        let text = &messages[1].content;
        assert!(text.contains(&format!("\n1. {}\n", topic.cover[0])), "{text}");
        let last = topic.cover.len();
        assert!(text.contains(&format!("\n{last}. {}\n", topic.cover[last - 1])));
        assert!(text.contains("=== Answer 1 ===\nFirst answer.\n=== End of answer 1 ==="));
        assert!(text.contains("=== Answer 2 ===\nSecond answer.\n=== End of answer 2 ==="));
        assert!(text.contains(&format!("each of the {last} points")));
    }

    #[test]
    fn the_schema_asks_for_every_field() {
        let format = response_format();
        assert_eq!(format["type"], "json_schema");
        let item = &format["json_schema"]["schema"]["properties"]["verdicts"]["items"];
        assert_eq!(item["required"], json!(["point", "covered", "quote"]));
        assert_eq!(format["json_schema"]["strict"], true);
    }
}
