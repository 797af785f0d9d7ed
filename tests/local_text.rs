//! The local backend's text layer against goldens recorded with the Python references
//! (tests/fixtures/local/README.md says how): chat templates rendered by jinja2 as transformers
//! does, token ids from the `tokenizers` library configured like each family's tokenizer.json.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use candle_core::quantized::gguf_file::{Content, Value, VersionedMagic};
use deepdive::local::template::{ChatTemplate, TemplateError};
use deepdive::message::{Message, Role};
use serde_json::Value as Json;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local")
}

fn read_json(relative: &str) -> Json {
    let text = std::fs::read_to_string(fixtures().join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A GGUF `Content` with metadata only, as `gguf_file::Content::read` would return it.
fn content(metadata: Vec<(&str, Value)>) -> Content {
    Content {
        magic: VersionedMagic::GgufV3,
        metadata: metadata.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<HashMap<_, _>>(),
        tensor_infos: HashMap::new(),
        tensor_data_offset: 0,
    }
}

fn strings(values: &[&str]) -> Value {
    Value::Array(values.iter().map(|s| Value::String(s.to_string())).collect())
}

fn messages(json: &Json) -> Vec<Message> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let role = match m["role"].as_str().unwrap() {
                "system" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => panic!("unexpected role {other}"),
            };
            Message { role, content: m["content"].as_str().unwrap().to_string() }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Chat templates

/// The template of `family` in a GGUF whose vocabulary names its bos and eos tokens.
fn template_gguf(family: &Json) -> Content {
    let file = family["file"].as_str().unwrap();
    let source = std::fs::read_to_string(fixtures().join("templates").join(file)).unwrap();
    let bos = family["bos_token"].as_str().unwrap();
    let eos = family["eos_token"].as_str().unwrap();
    content(vec![
        ("tokenizer.chat_template", Value::String(source)),
        ("tokenizer.ggml.tokens", strings(&["a", bos, "b", eos])),
        ("tokenizer.ggml.bos_token_id", Value::U32(1)),
        ("tokenizer.ggml.eos_token_id", Value::U32(3)),
    ])
}

#[test]
fn real_templates_render_byte_identically_to_jinja2() {
    let goldens = read_json("templates/goldens.json");
    // The goldens' strftime_now date: 2025-03-07T14:05:09.
    let now = UNIX_EPOCH + Duration::from_secs(1_741_356_309);
    assert_eq!(goldens["strftime_now"], "2025-03-07T14:05:09");
    let renders = goldens["renders"].as_array().unwrap();
    assert_eq!(renders.len(), 12, "3 families x 2 conversations x with/without generation prompt");
    for render in renders {
        let family = render["family"].as_str().unwrap();
        let conversation = render["conversation"].as_str().unwrap();
        let add_generation_prompt = render["add_generation_prompt"].as_bool().unwrap();
        let template =
            ChatTemplate::from_gguf(&template_gguf(&goldens["families"][family])).unwrap();
        let msgs = messages(&goldens["conversations"][conversation]);
        let got = template.render_at(&msgs, add_generation_prompt, now).unwrap();
        assert_eq!(
            got,
            render["text"].as_str().unwrap(),
            "{family} / {conversation} / add_generation_prompt={add_generation_prompt}"
        );
    }
}

#[test]
fn llama_template_dates_its_header_with_the_render_time() {
    let goldens = read_json("templates/goldens.json");
    let template =
        ChatTemplate::from_gguf(&template_gguf(&goldens["families"]["llama-3.2"])).unwrap();
    let new_year = UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
    let text = template.render_at(&[Message::user("hi")], true, new_year).unwrap();
    assert!(text.contains("Today Date: 01 Jan 2026\n"), "{text}");
    assert!(text.starts_with("<|begin_of_text|>"), "{text}");
}

#[test]
fn a_gguf_without_a_chat_template_is_an_error_naming_the_key() {
    let gguf = content(vec![("tokenizer.ggml.tokens", strings(&["a"]))]);
    let err = ChatTemplate::from_gguf(&gguf).unwrap_err();
    assert!(matches!(err, TemplateError::Missing));
    assert!(err.to_string().contains("tokenizer.chat_template"), "{err}");
}

#[test]
fn template_errors_from_raise_exception_reach_the_caller() {
    // The Llama-3.2 template raises when tools go in a first user message that does not exist.
    let source =
        std::fs::read_to_string(fixtures().join("templates/llama-3.2-instruct.jinja")).unwrap();
    let source = format!("{{%- set tools = [1] %}}{source}");
    let template = ChatTemplate::new(source, Some("<|begin_of_text|>".into()), None).unwrap();
    let system_only = [Message { role: Role::System, content: "s".into() }];
    let err = template.render(&system_only, true).unwrap_err();
    assert!(err.to_string().contains("Cannot put tools in the first user message"), "{err}");
}
