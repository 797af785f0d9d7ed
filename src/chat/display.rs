//! What the chat shows: answers rendered as they stream, a status line after each answer,
//! the numbered suggestions, coverage and token tables. Answers and suggestions go to stdout;
//! status and notices to stderr, so a scripted session's stdout is the conversation.

use std::io::Write;
use std::time::Duration;

use crate::chat::suggest::Suggestion;
use crate::conversation::PlannedTurn;
use crate::message::{FinishReason, Role, Usage};
use crate::render::markdown::{MarkdownStream, Style};
use crate::render::{Printer, count, duration, thousands};
use crate::runner::Reporter;
use crate::session::{AnswerStatus, Transcript, TurnKind};
use crate::settings::Prices;
use crate::tokens::TokenCount;

/// Streams one turn's answer to the terminal and reports on it.
pub struct ChatReporter {
    pub printer: Printer,
    pub style: Style,
    pub width: usize,
    pub window: Option<u32>,
    pub prices: Option<Prices>,
    /// Show what is being sent (opening turns and picked suggestions are not typed).
    pub echo_questions: bool,
    markdown: Option<MarkdownStream>,
    prompt: TokenCount,
}

impl ChatReporter {
    pub fn new(printer: Printer, style: Style, width: usize) -> ChatReporter {
        ChatReporter {
            printer,
            style,
            width,
            window: None,
            prices: None,
            echo_questions: true,
            markdown: None,
            prompt: TokenCount::default(),
        }
    }

    fn write(&mut self, text: &str) {
        let style = self.style;
        let width = self.width;
        let markdown = self.markdown.get_or_insert_with(|| MarkdownStream::new(style, width));
        let mut out = std::io::stdout().lock();
        // A closed stdout (the reader went away) must not stop the session from saving.
        let _ = markdown.push(text, &mut out);
        let _ = out.flush();
    }

    /// Ends the answer being rendered (flushes what the renderer still holds).
    pub fn end_answer(&mut self) {
        if let Some(mut markdown) = self.markdown.take() {
            let mut out = std::io::stdout().lock();
            let _ = markdown.finish(&mut out);
            let _ = writeln!(out);
            let _ = out.flush();
        }
    }
}

impl Reporter for ChatReporter {
    fn request(&mut self, turn: &PlannedTurn, messages: usize, prompt: TokenCount) {
        self.prompt = prompt;
        if self.echo_questions {
            let what = match &turn.kind {
                TurnKind::Priming => "priming prompt".to_string(),
                TurnKind::Topic(slug) => format!("topic {slug}"),
                TurnKind::Followup => first_line(&turn.text),
            };
            self.printer.status(format!("» {what}"));
        }
        self.printer
            .detail(format!("{}, {prompt} prompt tokens", count(messages as u64, "message")));
    }

    fn retrying(&mut self, attempt: u32, max_attempts: u32, wait: Duration, reason: &str) {
        self.printer
            .warn(format!("{reason}; attempt {attempt} of {max_attempts} in {}", duration(wait)));
    }

    fn rate_limited(&mut self, wait: Duration, reason: &str) {
        self.printer.warn(format!("{reason}; sending it again in {}", duration(wait)));
    }

    fn delta(&mut self, text: &str) {
        self.write(text);
    }

    fn restart(&mut self) {
        self.end_answer();
        self.printer.warn("the answer broke off; it starts again below");
    }

    fn answered(&mut self, usage: Usage, finish: &FinishReason, elapsed: Duration) {
        self.end_answer();
        if finish.is_truncated() {
            self.printer.warn("the answer was cut off at max_tokens (truncated)");
        }
        self.printer.status(status_line(usage, self.window, self.prices.as_ref(), elapsed));
    }

    fn left_out(&mut self, questions: &[String]) {
        let list: Vec<String> = questions.iter().map(|q| format!("“{}”", first_line(q))).collect();
        self.printer.warn(format!(
            "to fit the context window, left out the oldest follow-up exchanges: {}",
            list.join(", ")
        ));
    }
}

/// `812 → 640 tokens · context 1,452 of 128,000 (1%) · $0.0012 · 3.2s`
pub fn status_line(
    usage: Usage,
    window: Option<u32>,
    prices: Option<&Prices>,
    took: Duration,
) -> String {
    let mut line = format!(
        "  {} → {} tokens",
        thousands(usage.prompt_tokens),
        thousands(usage.completion_tokens)
    );
    if let Some(window) = window {
        let used = usage.total();
        let percent = used * 100 / u64::from(window.max(1));
        line.push_str(&format!(
            " · context {} of {} ({percent}%)",
            thousands(used),
            thousands(u64::from(window))
        ));
    }
    if let Some(prices) = prices {
        line.push_str(&format!(
            " · ${:.4}",
            prices.cost(usage.prompt_tokens, usage.completion_tokens)
        ));
    }
    line.push_str(&format!(" · {}", duration(took)));
    line
}

/// The numbered suggestions, as typed numbers pick them.
pub fn suggestions(list: &[Suggestion]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from("Suggested follow-ups:\n");
    for (i, s) in list.iter().enumerate() {
        out.push_str(&format!("  {}. [{}] {}\n", i + 1, s.kind.as_str(), first_line(&s.label)));
    }
    out
}

/// `/tokens`: usage per answer and in total.
pub fn tokens_table(transcript: &Transcript, prices: Option<&Prices>) -> String {
    let mut out =
        format!("{:>4}  {:<28} {:>9} {:>11}  MODEL\n", "TURN", "QUESTION", "PROMPT", "COMPLETION");
    let mut question = String::new();
    let mut n = 0;
    for turn in &transcript.turns {
        if turn.role == Role::User {
            question = first_line(&turn.text).chars().take(28).collect();
            continue;
        }
        n += 1;
        let (prompt, completion) = turn.info.usage.map_or(("–".into(), "–".into()), |u| {
            (thousands(u.prompt_tokens), thousands(u.completion_tokens))
        });
        let mark = match turn.info.status {
            Some(AnswerStatus::Interrupted) => " (interrupted)",
            Some(AnswerStatus::Failed) => " (failed)",
            Some(AnswerStatus::Truncated) => " (truncated)",
            _ => "",
        };
        out.push_str(&format!(
            "{n:>4}  {question:<28} {prompt:>9} {completion:>11}  {}{mark}\n",
            turn.info.model.as_deref().unwrap_or("")
        ));
    }
    let usage = transcript.meta.usage;
    out.push_str(&format!(
        "      {:<28} {:>9} {:>11}",
        "total",
        thousands(usage.prompt_tokens),
        thousands(usage.completion_tokens)
    ));
    if let Some(prices) = prices {
        out.push_str(&format!(
            "  ${:.4}",
            prices.cost(usage.prompt_tokens, usage.completion_tokens)
        ));
    }
    out.push('\n');
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_string()
    }
}
