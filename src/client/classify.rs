//! Turns an HTTP error response, an unexpected body or an error event into an [`ApiError`]
//! that says what to do, using the server's own message where it gives one.

use std::time::Duration;

use crate::secret::{KeySource, Secrets};

use super::error::{ApiError, server_text};
use super::wire::{ErrorBody, WireError};

/// How much of a server message or body line an error shows.
const SHOWN_CHARS: usize = 120;

/// Facts about the request that an error message needs.
pub(crate) struct RequestFacts<'a> {
    /// The request URL, credentials redacted.
    pub url: &'a str,
    pub model: &'a str,
    pub key_source: &'a KeySource,
    /// Whether the request carried a key.
    pub key_sent: bool,
    pub profile: &'a str,
    pub prompt_tokens: Option<u64>,
    /// Masked in everything the server says before it is shown.
    pub secrets: &'a Secrets,
}

/// Classifies an HTTP error response (any status >= 400).
pub(crate) fn classify(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
    facts: &RequestFacts<'_>,
) -> ApiError {
    let error = parse_error(body);
    let message = describe(error.as_ref(), body, facts.secrets);
    let names = |n: &str| error.as_ref().is_some_and(|e| e.names(n));
    if status == 402 || names("insufficient_quota") {
        return ApiError::Quota { status, message };
    }
    if (400..500).contains(&status) {
        if let Some((server_count, limit)) = context_numbers(error.as_ref()) {
            return ApiError::ContextLength {
                sent: facts.prompt_tokens,
                server_count,
                limit,
                message,
            };
        }
    }
    match status {
        401 | 403 => ApiError::Auth {
            status,
            url: facts.url.to_string(),
            key_source: facts.key_source.clone(),
            key_sent: facts.key_sent,
            profile: facts.profile.to_string(),
            message,
        },
        404 => ApiError::NotFound {
            url: facts.url.to_string(),
            model: facts.model.to_string(),
            message,
        },
        429 => ApiError::RateLimited { message, retry_after },
        408 | 500.. => ApiError::Server { status, message, retry_after },
        _ => ApiError::BadRequest { status, message },
    }
}

/// The error for a 2xx body that is neither the expected answer nor an error object.
pub(crate) fn unexpected_body(status: u16, body: &str, secrets: &Secrets) -> ApiError {
    match parse_error(body) {
        Some(err) => ApiError::Reported { message: describe(Some(&err), body, secrets) },
        None => ApiError::NotJson { status, body: describe_raw(body, secrets) },
    }
}

/// The error for an `event: error` or `data: {"error":...}` inside a stream.
pub(crate) fn stream_error(data: &str, secrets: &Secrets) -> ApiError {
    let error = parse_error(data);
    ApiError::Reported { message: describe(error.as_ref(), data, secrets) }
}

/// The error for a stream chunk that is not chat-completions JSON, quoting its start.
pub(crate) fn malformed(data: &str, secrets: &Secrets) -> ApiError {
    ApiError::Malformed { snippet: server_text(data, secrets, 80) }
}

/// True for the 400/422 a server sends when it does not know `stream_options`.
pub(crate) fn rejects_stream_options(status: u16, body: &str) -> bool {
    matches!(status, 400 | 422) && body.contains("stream_options")
}

/// True when a 400 (or 422) names `response_format`: the server does not take structured
/// output (or this schema of it).
pub(crate) fn rejects_response_format(status: u16, body: &str) -> bool {
    matches!(status, 400 | 422) && body.contains("response_format")
}

fn parse_error(body: &str) -> Option<WireError> {
    serde_json::from_str::<ErrorBody>(body).ok()?.into_error()
}

/// The server's own message, or a description of a body that carries none.
fn describe(error: Option<&WireError>, body: &str, secrets: &Secrets) -> String {
    let from_error = error
        .and_then(|e| e.message.as_deref().filter(|m| !m.trim().is_empty()).or(e.kind.as_deref()));
    match from_error {
        Some(m) => server_text(m, secrets, SHOWN_CHARS),
        None => describe_raw(body, secrets),
    }
}

fn describe_raw(body: &str, secrets: &Secrets) -> String {
    let Some(first) = body.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return "an empty body".to_string();
    };
    let first = server_text(first, secrets, SHOWN_CHARS);
    let lower = body
        .trim_start()
        .get(..200.min(body.trim_start().len()))
        .unwrap_or("")
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<html")
    {
        format!("an HTML page (first line: `{first}`)")
    } else if serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok() {
        format!("unexpected JSON (`{first}`)")
    } else {
        format!("a non-JSON body (first line: `{first}`)")
    }
}

/// Recognises a context-length error and reads out of it the server's token count and limit.
fn context_numbers(error: Option<&WireError>) -> Option<(Option<u64>, Option<u64>)> {
    let error = error?;
    let text = error.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let by_name =
        error.names("context_length_exceeded") || error.names("exceed_context_size_error");
    let by_text = ["context length", "maximum context", "context window", "context size"]
        .iter()
        .any(|p| text.contains(p));
    if !by_name && !by_text {
        return None;
    }
    let limit = error.n_ctx.or_else(|| {
        number_after(
            &text,
            &[
                "maximum context length is",
                "context length is",
                "context length of",
                "context window of",
                "context window is",
                "maximum context",
            ],
        )
    });
    let server_count = error
        .n_prompt_tokens
        .or_else(|| number_after(&text, &["resulted in", "you requested", "requested"]));
    Some((server_count, limit))
}

/// The first number within a few characters after any of `phrases` in `text`
/// ("... is 8,192 tokens" → 8192).
fn number_after(text: &str, phrases: &[&str]) -> Option<u64> {
    phrases.iter().find_map(|p| {
        let rest = &text[text.find(p)? + p.len()..];
        let start = rest.char_indices().take(12).find(|(_, c)| c.is_ascii_digit())?.0;
        let digits: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO_SECRETS: std::sync::LazyLock<Secrets> = std::sync::LazyLock::new(Secrets::default);

    fn facts() -> RequestFacts<'static> {
        RequestFacts {
            url: "http://h/v1/chat/completions",
            model: "m1",
            key_source: &KeySource::None,
            key_sent: true,
            profile: "default",
            prompt_tokens: Some(9100),
            secrets: &NO_SECRETS,
        }
    }

    fn unexpected_body(status: u16, body: &str) -> ApiError {
        super::unexpected_body(status, body, &NO_SECRETS)
    }

    fn stream_error(data: &str) -> ApiError {
        super::stream_error(data, &NO_SECRETS)
    }

    #[test]
    fn openai_context_length() {
        let body = r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        let err = classify(400, None, body, &facts());
        let ApiError::ContextLength { sent, server_count, limit, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*sent, *server_count, *limit), (Some(9100), Some(9000), Some(8192)));
        let shown = err.to_string();
        assert!(
            shown.contains("9100 tokens were sent") && shown.contains("limit is 8192"),
            "{shown}"
        );
        assert!(!err.is_retryable() && !err.is_fatal_for_endpoint());
    }

    #[test]
    fn vllm_and_llamacpp_context_length() {
        let vllm = r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).","type":"BadRequestError","code":400}"#;
        let ApiError::ContextLength { limit, server_count, .. } =
            classify(400, None, vllm, &facts())
        else {
            panic!()
        };
        assert_eq!((limit, server_count), (Some(4096), Some(5000)));
        let llama = r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5123,"n_ctx":4096}}"#;
        let ApiError::ContextLength { limit, server_count, .. } =
            classify(400, None, llama, &facts())
        else {
            panic!()
        };
        assert_eq!((limit, server_count), (Some(4096), Some(5123)));
    }

    #[test]
    fn numbers_with_separators() {
        assert_eq!(
            number_after(
                "the maximum context length is 128,000 tokens",
                &["maximum context length is"]
            ),
            Some(128_000)
        );
        assert_eq!(number_after("no digits here at all", &["no"]), None);
    }

    #[test]
    fn quota_is_not_rate_limiting() {
        let body = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        let err = classify(429, Some(Duration::from_secs(1)), body, &facts());
        assert!(matches!(err, ApiError::Quota { .. }), "{err:?}");
        assert!(!err.is_retryable() && err.is_fatal_for_endpoint());
        assert!(err.to_string().contains("quota or billing is exhausted"));
        let limited = classify(
            429,
            Some(Duration::from_secs(3)),
            r#"{"error":{"message":"slow down"}}"#,
            &facts(),
        );
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(limited.is_retryable());
    }

    #[test]
    fn html_bodies_are_described_by_their_first_line() {
        let body =
            "\n\n  <!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>";
        let err = classify(502, None, body, &facts());
        assert!(err.is_retryable());
        assert!(err.to_string().contains("an HTML page (first line: `<!DOCTYPE html>`)"), "{err}");
        let ok_page = unexpected_body(200, "<html><body>Welcome to nginx!</body></html>");
        assert!(ok_page.to_string().contains("HTTP 200 with an HTML page"), "{ok_page}");
        assert!(!ok_page.is_retryable());
    }

    #[test]
    fn long_lines_are_truncated() {
        let body = format!("<html>{}", "x".repeat(500));
        let shown = unexpected_body(200, &body).to_string();
        assert!(shown.contains('…') && shown.len() < 400, "{shown}");
    }

    #[test]
    fn status_classes() {
        let f = facts();
        assert!(matches!(classify(401, None, "{}", &f), ApiError::Auth { .. }));
        assert!(matches!(classify(404, None, "", &f), ApiError::NotFound { .. }));
        let bad = classify(422, None, r#"{"detail":"temperature must be <= 2"}"#, &f);
        assert!(bad.to_string().contains("temperature must be <= 2"), "{bad}");
        assert!(!bad.is_retryable() && bad.is_fatal_for_endpoint());
        let ollama = classify(500, None, r#"{"error":"llama runner process has terminated"}"#, &f);
        assert_eq!(
            ollama.reason(),
            "HTTP 500 Internal Server Error: llama runner process has terminated"
        );
        assert!(ollama.to_string().contains("llama runner process has terminated"));
    }

    #[test]
    fn auth_names_the_key_source() {
        let source = KeySource::Env("MY_KEY".into());
        let f = RequestFacts { key_source: &source, ..facts() };
        let err = classify(401, None, r#"{"error":{"message":"Incorrect API key provided"}}"#, &f);
        assert!(err.to_string().contains("environment variable MY_KEY"), "{err}");
        let none = RequestFacts { key_sent: false, ..facts() };
        let err = classify(403, None, "", &none).to_string();
        assert!(err.contains("no API key was sent") && err.contains("api_key_env"), "{err}");
    }

    #[test]
    fn a_key_echoed_across_the_cut_is_masked() {
        let key = crate::secret::ApiKey::new("sk-test-0123456789abcdef").unwrap();
        let secrets = Secrets::new(Some(&key), &[], "");
        let f = RequestFacts { secrets: &secrets, ..facts() };
        for start in 100..125 {
            let message = format!("{}{} rest", "m".repeat(start), key.expose());
            let body = serde_json::json!({"error": {"message": message}}).to_string();
            let shown = classify(400, None, &body, &f).to_string();
            assert!(!shown.contains("sk-test-0123"), "{start}: {shown}");
            let page = format!("<html>{}{}</html>", "p".repeat(start - 6), key.expose());
            let shown = classify(502, None, &page, &f).to_string();
            assert!(!shown.contains("sk-test-0123"), "{start}: {shown}");
        }
    }

    #[test]
    fn stream_options_rejection() {
        assert!(rejects_stream_options(
            400,
            r#"{"error":{"message":"Unrecognized request argument supplied: stream_options"}}"#
        ));
        assert!(rejects_stream_options(422, r#"{"detail":[{"loc":["body","stream_options"]}]}"#));
        assert!(!rejects_stream_options(500, "stream_options"));
        assert!(!rejects_stream_options(400, "bad temperature"));
        assert!(rejects_response_format(
            400,
            r#"{"error":{"message":"Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."}}"#
        ));
        assert!(rejects_response_format(422, r#"{"detail":[{"loc":["body","response_format"]}]}"#));
        assert!(!rejects_response_format(500, "response_format"));
        assert!(!rejects_response_format(400, "stream_options"));
    }

    #[test]
    fn errors_inside_streams() {
        let err = stream_error(
            r#"{"error":{"message":"The server had an error while processing your request."}}"#,
        );
        assert!(err.to_string().contains("The server had an error"));
        assert!(err.is_retryable());
        assert!(stream_error("overloaded").to_string().contains("`overloaded`"));
    }
}
