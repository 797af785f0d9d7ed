//! Secrets: the API key (a value that can be sent but never shown), and the functions that
//! keep secrets out of everything deepdive shows or stores:
//!
//! - [`Secrets::mask`]: the key and every secret header value, masked in server text (call it
//!   before the text is cut to length, so a key that crosses the cut is still found whole);
//! - [`redact_url`] / [`redact_urls_in`]: credentials in URLs (`user:pass@`, `?api-key=…`);
//! - [`mask_command`]: a key written inline in an `api_key_cmd`.

use std::fmt;

/// What replaces a secret wherever one would be shown.
pub const REDACTED: &str = "<redacted>";

/// An API key. It has no `Display`, its `Debug` is redacted, and the only way to the
/// bytes is [`ApiKey::expose`], called by the client when it builds the request header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; surrounding whitespace (a trailing newline from a key command) is dropped.
    /// Returns `None` for an empty key.
    pub fn new(raw: impl Into<String>) -> Option<ApiKey> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.is_empty() { None } else { Some(ApiKey(trimmed.to_string())) }
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key came from, so that an authentication error can say what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// No key is configured (fine for local servers).
    None,
    /// An environment variable, by name.
    Env(String),
    /// A command whose standard output is the key.
    Command(String),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::None => f.write_str("no API key configured"),
            KeySource::Env(name) => write!(f, "environment variable {name}"),
            KeySource::Command(cmd) => {
                write!(f, "the output of key command `{}`", mask_command(cmd))
            }
        }
    }
}

/// Whether a header may carry a credential (`Authorization`, `api-key`, `X-Api-Key`,
/// `Ocp-Apim-Subscription-Key`, a token, a cookie …): such values are never displayed.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "cookie", "password"].iter().any(|word| name.contains(word))
}

/// Secret values shorter than this are not searched for: masking every `ab` in a message
/// would garble it, and a value that short protects nothing.
const MIN_SECRET_LEN: usize = 4;

/// The secret values of one endpoint: the key, the values of its secret headers, and the
/// credentials written into its base URL. [`Secrets::mask`] replaces each of them in any text.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a value that contains another is masked whole.
    values: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values, <redacted>)", self.values.len())
    }
}

impl Secrets {
    /// The secrets of an endpoint: `key`, every header whose name marks it as secret (see
    /// [`is_secret_header`]; for `Bearer xyz` also `xyz` alone), and the user info and secret
    /// query values of `base_url`.
    pub fn new(key: Option<&ApiKey>, headers: &[(String, String)], base_url: &str) -> Secrets {
        let mut values: Vec<String> = Vec::new();
        let mut add = |value: &str| {
            let value = value.trim();
            if value.chars().count() >= MIN_SECRET_LEN && !values.iter().any(|v| v == value) {
                values.push(value.to_string());
            }
        };
        if let Some(key) = key {
            add(key.expose());
        }
        for (name, value) in headers {
            if is_secret_header(name) {
                add(value);
                if let Some((_scheme, token)) = value.trim().split_once(' ') {
                    add(token);
                }
            }
        }
        for value in url_secrets(base_url) {
            add(&value);
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Secrets { values }
    }

    /// `text` with every secret replaced by `<redacted>` and every URL's credentials
    /// redacted. Call it on the whole text, before any cut to length.
    pub fn mask(&self, text: &str) -> String {
        let mut text = redact_urls_in(text);
        for value in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), REDACTED);
            }
        }
        text
    }
}

/// Whether a URL query parameter (or fragment parameter) may carry a credential:
/// `api-key`, `key`, `token`, `access_token`, `sig` (Azure SAS), `X-Amz-Signature`, ...
fn is_secret_param(name: &str) -> bool {
    let name: String =
        name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    const EXACT: [&str; 6] = ["sig", "code", "pwd", "pass", "auth", "sas"];
    const PARTS: [&str; 7] =
        ["key", "token", "secret", "password", "signature", "credential", "session"];
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

/// The parts of a URL: `(scheme "https://", user info, rest of the authority, path, query,
/// fragment)`; user info, query and fragment without their `@`, `?` and `#`.
struct UrlParts<'a> {
    scheme: &'a str,
    user_info: Option<&'a str>,
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

/// Splits `url` leniently: it may be any text. Everything before the last `@` ahead of the
/// query is user info, even where a strict parser would disagree (an unencoded `/` in a
/// password, no scheme at all): here a part taken for a credential is only hidden, while a
/// credential taken for a host would be shown.
fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (user_info, rest) = match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let (host, path) = match (scheme.is_empty(), rest.find('/')) {
        (false, Some(i)) => rest.split_at(i),
        (false, None) => (rest, ""),
        (true, _) => ("", rest),
    };
    UrlParts { scheme, user_info, host, path, query, fragment }
}

/// The part of an endpoint URL that is kept in transcripts: scheme, host, port and path.
/// User info, query and fragment are dropped, not redacted.
pub fn bare_url(url: &str) -> String {
    let parts = split_url(url);
    [parts.scheme, parts.host, parts.path].concat()
}

/// `url` with its credentials redacted: the user info (`user:pass@` becomes `<redacted>@`)
/// and the value of every query or fragment parameter that may carry a credential
/// (`?api-version=1&api-key=<redacted>`). Everything else is kept, so the URL still says
/// where requests go. Works on text that does not parse as a URL too.
pub fn redact_url(url: &str) -> String {
    let parts = split_url(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    if parts.user_info.is_some() {
        out.push_str(REDACTED);
        out.push('@');
    }
    out.push_str(parts.host);
    out.push_str(parts.path);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(&redact_params(query));
    }
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(&redact_params(fragment));
    }
    out
}

fn redact_params(params: &str) -> String {
    params
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret_param(name) && !value.is_empty() => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The secret values written into a URL: its password (or user info), and the values of its
/// secret query and fragment parameters.
fn url_secrets(url: &str) -> Vec<String> {
    let parts = split_url(url);
    let mut out = Vec::new();
    if let Some(info) = parts.user_info {
        out.push(info.to_string());
        let (user, password) = info.split_once(':').unwrap_or((info, ""));
        out.extend([user, password].iter().filter(|s| !s.is_empty()).map(|s| s.to_string()));
    }
    for params in [parts.query, parts.fragment].into_iter().flatten() {
        for (name, value) in params.split('&').filter_map(|p| p.split_once('=')) {
            if is_secret_param(name) && !value.is_empty() {
                out.push(value.to_string());
            }
        }
    }
    out
}

/// `text` with every URL in it (anything starting with `scheme://`, up to whitespace or a
/// quote, bracket or backtick) redacted by [`redact_url`].
pub fn redact_urls_in(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let ends = |c: char| c.is_whitespace() || "\"'`<>()[]{}".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: the letters just before `://`.
        let scheme_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || "+-.".contains(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = rest[at..].find(ends).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A key command as it may be shown: a key written into it inline (`echo sk-…`, a long token
/// of letters and digits) is replaced by `<redacted>`; paths, URLs and plain words are kept,
/// so `pass show openai/api-key` reads unchanged.
pub fn mask_command(command: &str) -> String {
    let separator = |c: char| c.is_whitespace() || "'\"`=;|&()<>$".contains(c);
    let mut out = String::with_capacity(command.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if looks_like_a_key(word) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in command.chars() {
        if separator(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A word of a command that is probably a credential: one with a well-known key prefix, or
/// a long run of letters and digits (with both in it) that is not a path or a URL.
fn looks_like_a_key(word: &str) -> bool {
    const PREFIXES: [&str; 10] =
        ["sk-", "sk_", "rk_", "pk_", "xai-", "gsk_", "ghp_", "hf_", "AIza", "eyJ"];
    if word.len() >= 12 && PREFIXES.iter().any(|p| word.starts_with(p)) {
        return true;
    }
    let path_like = word.contains('/') || word.starts_with(['.', '~', '-']);
    let key_chars = word.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+=".contains(c));
    let letters = word.chars().any(|c| c.is_ascii_alphabetic());
    let digits = word.chars().any(|c| c.is_ascii_digit());
    word.len() >= 24 && key_chars && letters && digits && !path_like
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-very-secret-123\n").unwrap();
        assert_eq!(key.expose(), "sk-very-secret-123");
        assert!(!format!("{key:?}").contains("secret"));
        assert!(!format!("{:?}", Some(key)).contains("secret"));
    }

    #[test]
    fn empty_key_is_no_key() {
        assert!(ApiKey::new("  \n").is_none());
    }

    #[test]
    fn secret_header_names_are_recognised_in_any_case() {
        for name in ["authorization", "API-KEY", "X-Api-Key", "Ocp-Apim-Subscription-Key", "Cookie"]
        {
            assert!(is_secret_header(name), "{name}");
        }
        assert!(!is_secret_header("HTTP-Referer") && !is_secret_header("X-Title"));
    }

    #[test]
    fn mask_replaces_the_key_header_values_and_url_credentials() {
        let key = ApiKey::new("sk-live-123456").unwrap();
        let headers = vec![
            ("api-key".to_string(), "azure-secret-9".to_string()),
            ("Authorization".to_string(), "Bearer tok-abcdef".to_string()),
            ("X-Title".to_string(), "deepdive".to_string()),
        ];
        let secrets = Secrets::new(Some(&key), &headers, "https://bob:hunter22@gw.example/v1");
        let text = "key sk-live-123456, api-key azure-secret-9, token tok-abcdef, pw hunter22, \
                    title deepdive";
        let masked = secrets.mask(text);
        for leaked in ["sk-live", "azure-secret", "tok-abcdef", "hunter22"] {
            assert!(!masked.contains(leaked), "{masked}");
        }
        assert!(masked.contains("title deepdive"), "{masked}");
        assert!(!format!("{secrets:?}").contains("sk-live"));
    }

    #[test]
    fn short_values_are_not_masked() {
        let headers = vec![("X-Api-Key".to_string(), "ab".to_string())];
        assert_eq!(Secrets::new(None, &headers, "").mask("a cab"), "a cab");
    }

    #[test]
    fn urls_lose_user_info_and_secret_parameters() {
        assert_eq!(redact_url("https://api.openai.com/v1"), "https://api.openai.com/v1");
        assert_eq!(
            redact_url("https://u:sk-123@gw.example:8443/v1?api-version=2024&api-key=sk-9#x"),
            "https://<redacted>@gw.example:8443/v1?api-version=2024&api-key=<redacted>#x"
        );
        assert_eq!(
            redact_url("http://h/v1?key=1&token=2&sig=3&access_token=4&X-Amz-Signature=5&a=b"),
            "http://h/v1?key=<redacted>&token=<redacted>&sig=<redacted>&access_token=<redacted>\
             &X-Amz-Signature=<redacted>&a=b"
        );
        assert_eq!(
            redact_url("http://h/cb#access_token=xyz"),
            "http://h/cb#access_token=<redacted>"
        );
        assert_eq!(redact_url("not a url ?key=1"), "not a url ?key=<redacted>");
    }

    #[test]
    fn user_info_is_hidden_where_a_strict_parser_would_not_find_it() {
        // No scheme (rejected as a base URL, and the rejection quotes it).
        assert_eq!(redact_url("u:sk-1@gw.example/v1"), "<redacted>@gw.example/v1");
        // An unencoded "/" in the password.
        assert_eq!(redact_url("https://u:sk/1@gw.example/v1"), "https://<redacted>@gw.example/v1");
        assert_eq!(url_secrets("https://u:sk/1@gw.example/v1"), ["u:sk/1", "u", "sk/1"]);
    }

    #[test]
    fn bare_urls_drop_credentials_query_and_fragment() {
        assert_eq!(bare_url("https://api.openai.com/v1"), "https://api.openai.com/v1");
        assert_eq!(
            bare_url("https://u:sk-123@gw.example:8443/v1?api-key=sk-9#x"),
            "https://gw.example:8443/v1"
        );
        assert_eq!(bare_url("http://localhost:11434/v1/"), "http://localhost:11434/v1/");
        assert_eq!(bare_url("gw.example/v1?key=1"), "gw.example/v1");
        assert_eq!(bare_url("u:sk-1@gw.example/v1"), "gw.example/v1");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        let text =
            "error sending request for url (https://u:p@h.example/v1/chat/completions?key=k1)";
        assert_eq!(
            redact_urls_in(text),
            "error sending request for url (https://<redacted>@h.example/v1/chat/completions?key=<redacted>)"
        );
        assert_eq!(redact_urls_in("no urls here"), "no urls here");
    }

    #[test]
    fn inline_keys_in_commands_are_masked_and_plain_commands_kept() {
        assert_eq!(mask_command("pass show openai/api-key"), "pass show openai/api-key");
        assert_eq!(
            mask_command("op read op://vault/openai/credential"),
            "op read op://vault/openai/credential"
        );
        assert_eq!(mask_command("echo sk-proj-abc123def456"), "echo <redacted>");
        assert_eq!(
            mask_command("printf '%s' 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA'"),
            "printf '%s' '<redacted>'"
        );
        assert_eq!(mask_command("KEY=sk_test_0123456789ab cat"), "KEY=<redacted> cat");
        assert!(
            KeySource::Command("echo sk-proj-abc123def456".into())
                .to_string()
                .contains("<redacted>")
        );
    }
}
