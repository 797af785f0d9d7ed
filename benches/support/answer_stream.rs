//! The SSE events of one streamed answer, shaped like OpenAI's: a role chunk, one chunk per
//! token, a finish chunk, a usage chunk and `[DONE]`.

/// The events of an answer of `tokens` content chunks, and the text they add up to.
pub fn openai_events(tokens: usize) -> (Vec<String>, String) {
    let words =
        ["the", " probe", " checks", " readiness", " of", " each", " pod", ",", "\n", " ok"];
    let pieces: Vec<&str> = (0..tokens).map(|i| words[i % words.len()]).collect();
    (events_of(pieces.iter().copied(), tokens), pieces.concat())
}

/// The events of `text` streamed in `chunks` content chunks (fewer when the text has fewer
/// characters) of about equal length, cut at character boundaries, then a finish chunk, a
/// usage chunk and `[DONE]`.
pub fn events_for(text: &str, chunks: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let chunks = chunks.clamp(1, chars.len().max(1));
    let pieces: Vec<String> = (0..chunks)
        .map(|i| chars[i * chars.len() / chunks..(i + 1) * chars.len() / chunks].iter().collect())
        .collect();
    events_of(pieces.iter().map(String::as_str), text.split_whitespace().count())
}

/// The events of an answer made of `pieces`, reporting `completion_tokens` in its usage.
fn events_of<'a>(pieces: impl Iterator<Item = &'a str>, completion_tokens: usize) -> Vec<String> {
    let mut events = vec![chunk(r#"{"role":"assistant","content":""}"#, "null")];
    for piece in pieces {
        let delta = serde_json::json!({ "content": piece }).to_string();
        events.push(chunk(&delta, "null"));
    }
    events.push(chunk("{}", r#""stop""#));
    events.push(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\
         \"model\":\"bench-model\",\"choices\":[],\"usage\":{{\"prompt_tokens\":1000,\
         \"completion_tokens\":{completion_tokens},\"total_tokens\":{}}}}}\n\n",
        1000 + completion_tokens
    ));
    events.push("data: [DONE]\n\n".to_string());
    events
}

fn chunk(delta: &str, finish_reason: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\
         \"model\":\"bench-model\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{{\"index\":0,\
         \"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish_reason}}}]}}\n\n"
    )
}
