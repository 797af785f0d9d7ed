//! The notice that the key goes to a URL set somewhere else than the key.

use super::Settings;
use super::file::Backend;
use super::origin::Origin;

/// A line for stderr when the key and the base URL come from different places, so a key
/// never goes quietly to a server it was not set up for:
///
/// - a key named by the profile in the config file, sent to a URL from `--base-url` or
///   `OPENAI_BASE_URL` (which override the profile's);
/// - `OPENAI_API_KEY`, sent to a URL from the config file or `--base-url` (the variable
///   belongs with `OPENAI_BASE_URL` and OpenAI's default URL, as in the OpenAI SDKs).
///
/// A profile's key with the profile's (or the default) URL, and `OPENAI_API_KEY` with
/// `OPENAI_BASE_URL` or the default, are the same place. `None` when no key is configured.
pub(super) fn key_destination(s: &Settings) -> Option<String> {
    if s.backend.value != Backend::Http || !s.key.is_configured() {
        return None;
    }
    let same_place = matches!(
        (&s.key_origin, &s.base_url.origin),
        (Origin::File(_), Origin::File(_) | Origin::Default)
            | (Origin::Env(_), Origin::Env(_) | Origin::Default)
    );
    if same_place {
        return None;
    }
    Some(format!(
        "the API key from {} (set by {}) is sent to {}, which is set by {}; if that server \
         should not get this key, give it a profile with its own key source (api_key_env, \
         api_key_cmd, or api_key_env = \"\" for none)",
        s.key.source(),
        s.key_origin,
        s.base_url_shown(),
        s.base_url.origin
    ))
}
