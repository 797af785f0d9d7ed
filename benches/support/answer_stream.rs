//! The SSE events of one streamed answer, shaped like OpenAI's: a role chunk, one chunk per
//! token, a finish chunk, a usage chunk and `[DONE]`.

/// The events of an answer of `tokens` content chunks, and the text they add up to.
pub fn openai_events(tokens: usize) -> (Vec<String>, String) {
    let words =
        ["the", " probe", " checks", " readiness", " of", " each", " pod", ",", "\n", " ok"];
    let mut text = String::new();
    let mut events = vec![chunk(r#"{"role":"assistant","content":""}"#, "null")];
    for i in 0..tokens {
        let word = words[i % words.len()];
        text.push_str(word);
        let delta = serde_json::json!({ "content": word }).to_string();
        events.push(chunk(&delta, "null"));
    }
    events.push(chunk("{}", r#""stop""#));
    events.push(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\
         \"model\":\"bench-model\",\"choices\":[],\"usage\":{{\"prompt_tokens\":1000,\
         \"completion_tokens\":{tokens},\"total_tokens\":{}}}}}\n\n",
        1000 + tokens
    ));
    events.push("data: [DONE]\n\n".to_string());
    (events, text)
}

fn chunk(delta: &str, finish_reason: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\
         \"model\":\"bench-model\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{{\"index\":0,\
         \"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish_reason}}}]}}\n\n"
    )
}
