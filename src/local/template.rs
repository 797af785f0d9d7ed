//! The chat template a GGUF carries (`tokenizer.chat_template`), rendered the way transformers'
//! `apply_chat_template` renders it: Jinja with `trim_blocks` + `lstrip_blocks`, Python string and
//! dict methods (`pycompat`), `raise_exception`, `strftime_now`, and the `bos_token`/`eos_token`
//! the GGUF names. The real Qwen2.5, Llama-3.2 and SmolLM2 templates render byte for byte like
//! the Python reference (tests/fixtures/local/templates).

use std::time::{SystemTime, UNIX_EPOCH};

use candle_core::quantized::gguf_file;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind, Value, context};

use crate::message::Message;

const TEMPLATE_KEY: &str = "tokenizer.chat_template";
const TEMPLATE_NAME: &str = "chat_template";

/// What can go wrong reading or rendering a GGUF's chat template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "the model file has no `{TEMPLATE_KEY}`: it is not a chat model; use an Instruct GGUF (e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF)"
    )]
    Missing,
    #[error(
        "`{TEMPLATE_KEY}` in the model file is not a string: the file is damaged or not a chat model"
    )]
    NotAString,
    #[error("the model's chat template does not compile ({0}): use another GGUF of the model")]
    Compile(#[source] Error),
    #[error("the model's chat template failed on this conversation: {0}")]
    Render(#[source] Error),
}

/// A compiled chat template plus the special-token strings it may use. `Send + Sync`.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: Option<String>,
    eos_token: Option<String>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Reads `tokenizer.chat_template` and the bos/eos token strings from the GGUF metadata.
    pub fn from_gguf(content: &gguf_file::Content) -> Result<Self, TemplateError> {
        let source = match content.metadata.get(TEMPLATE_KEY) {
            None => return Err(TemplateError::Missing),
            Some(gguf_file::Value::String(s)) => s.clone(),
            Some(_) => return Err(TemplateError::NotAString),
        };
        let token = |key: &str| special_token(content, key);
        Self::new(
            source,
            token("tokenizer.ggml.bos_token_id"),
            token("tokenizer.ggml.eos_token_id"),
        )
    }

    /// Compiles `source` with transformers' settings.
    pub fn new(
        source: String,
        bos_token: Option<String>,
        eos_token: Option<String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(TemplateError::Compile)?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned(TEMPLATE_NAME, source).map_err(TemplateError::Compile)?;
        Ok(ChatTemplate { env, bos_token, eos_token })
    }

    /// Renders the conversation; `add_generation_prompt` appends the assistant turn's opening.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        self.render_at(messages, add_generation_prompt, SystemTime::now())
    }

    /// [`render`](Self::render) with `strftime_now` reading `now` (UTC) instead of the clock.
    pub fn render_at(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        now: SystemTime,
    ) -> Result<String, TemplateError> {
        let template = self.env.get_template(TEMPLATE_NAME).map_err(TemplateError::Render)?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        let time = CivilTime::from_system_time(now);
        let strftime_now = Value::from_function(move |format: &str| time.strftime(format));
        // transformers passes `tools=None, documents=None` explicitly, so both are defined.
        let ctx = context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            tools => Value::from(()),
            documents => Value::from(()),
            bos_token => self.bos_token.clone(),
            eos_token => self.eos_token.clone(),
            strftime_now => strftime_now,
        };
        template.render(ctx).map_err(TemplateError::Render)
    }
}

/// The token string a `tokenizer.ggml.*_token_id` key names, if both exist.
fn special_token(content: &gguf_file::Content, key: &str) -> Option<String> {
    let id = content.metadata.get(key)?.to_u32().ok()?;
    let tokens = content.metadata.get("tokenizer.ggml.tokens")?.to_vec().ok()?;
    tokens.get(id as usize)?.to_string().ok().cloned()
}

/// A UTC calendar time: enough of Python's `strftime` for chat templates' date headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CivilTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32, // 0 = Monday, as Python's `weekday()`
    day_of_year: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

impl CivilTime {
    fn from_system_time(t: SystemTime) -> CivilTime {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Self::from_unix(secs)
    }

    /// Howard Hinnant's `civil_from_days`.
    fn from_unix(secs: i64) -> CivilTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let before: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let day_of_year = before[month as usize - 1] + day + u32::from(leap && month > 2);
        CivilTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            weekday: (days + 3).rem_euclid(7) as u32, // 1970-01-01 was a Thursday
            day_of_year,
        }
    }

    /// Python's `strftime` for the directives templates use; others are an error naming them.
    fn strftime(&self, format: &str) -> Result<String, Error> {
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let month = MONTHS[self.month as usize - 1];
            let weekday = WEEKDAYS[self.weekday as usize];
            match chars.next() {
                Some('d') => out.push_str(&format!("{:02}", self.day)),
                Some('e') => out.push_str(&format!("{:2}", self.day)),
                Some('m') => out.push_str(&format!("{:02}", self.month)),
                Some('Y') => out.push_str(&self.year.to_string()),
                Some('y') => out.push_str(&format!("{:02}", self.year.rem_euclid(100))),
                Some('B') => out.push_str(month),
                Some('b') | Some('h') => out.push_str(&month[..3]),
                Some('A') => out.push_str(weekday),
                Some('a') => out.push_str(&weekday[..3]),
                Some('H') => out.push_str(&format!("{:02}", self.hour)),
                Some('M') => out.push_str(&format!("{:02}", self.minute)),
                Some('S') => out.push_str(&format!("{:02}", self.second)),
                Some('j') => out.push_str(&format!("{:03}", self.day_of_year)),
                Some('%') => out.push('%'),
                other => {
                    let directive = other.map(|c| format!("%{c}")).unwrap_or_else(|| "%".into());
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("strftime_now: unsupported directive `{directive}`"),
                    ));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_matches_known_dates() {
        // 2025-03-07T14:05:09Z, a Friday, day 66.
        let t = CivilTime::from_unix(1_741_356_309);
        assert_eq!((t.year, t.month, t.day), (2025, 3, 7));
        assert_eq!((t.hour, t.minute, t.second), (14, 5, 9));
        assert_eq!((t.weekday, t.day_of_year), (4, 66));
        // Leap day and the day after in a leap year.
        let t = CivilTime::from_unix(951_782_400); // 2000-02-29
        assert_eq!((t.year, t.month, t.day, t.day_of_year), (2000, 2, 29, 60));
        let t = CivilTime::from_unix(1_735_603_200); // 2024-12-31
        assert_eq!((t.month, t.day, t.day_of_year, t.weekday), (12, 31, 366, 1));
        let t = CivilTime::from_unix(-1); // 1969-12-31T23:59:59
        assert_eq!((t.year, t.month, t.day, t.hour), (1969, 12, 31, 23));
    }

    #[test]
    fn strftime_formats_like_python() {
        let t = CivilTime::from_unix(1_741_356_309);
        assert_eq!(t.strftime("%d %b %Y").unwrap(), "07 Mar 2025");
        assert_eq!(
            t.strftime("%A %e %B %y, %H:%M:%S %j %%").unwrap(),
            "Friday  7 March 25, 14:05:09 066 %"
        );
        assert_eq!(t.strftime("%a %m/%d").unwrap(), "Fri 03/07");
        let err = t.strftime("%Q").unwrap_err();
        assert!(err.to_string().contains("`%Q`"), "{err}");
    }

    #[test]
    fn raise_exception_is_a_render_error_with_its_message() {
        let t =
            ChatTemplate::new("{{ raise_exception('no tools here') }}".into(), None, None).unwrap();
        let err = t.render(&[Message::user("hi")], false).unwrap_err();
        assert!(matches!(err, TemplateError::Render(_)));
        assert!(err.to_string().contains("no tools here"), "{err}");
    }

    #[test]
    fn python_methods_and_whitespace_control_work() {
        let source = "{% for m in messages %}\n  {{ m.role.upper() }}:{{ m['content'].strip() }}\n{% endfor %}";
        let t = ChatTemplate::new(source.into(), None, None).unwrap();
        let out = t.render(&[Message::user("  hi  ")], false).unwrap();
        assert_eq!(out, "  USER:hi\n");
    }

    #[test]
    fn chat_template_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ChatTemplate>();
    }

    #[test]
    fn a_template_that_does_not_compile_is_reported() {
        let err = ChatTemplate::new("{% if %}".into(), None, None).unwrap_err();
        assert!(matches!(err, TemplateError::Compile(_)), "{err}");
    }
}
