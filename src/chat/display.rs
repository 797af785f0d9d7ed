//! What the chat shows: answers rendered as they stream, a wait indicator until the first
//! token, a status line after each answer, the numbered suggestions, coverage and token
//! tables. Answers and suggestions go to stdout; status and notices to stderr, so a scripted
//! session's stdout is the conversation.

use std::io::Write;
use std::time::Duration;

use crate::chat::suggest::Suggestion;
use crate::driver::Event;
use crate::message::Usage;
use crate::render::markdown::{MarkdownStream, Style};
use crate::render::wait::Waiting;
use crate::render::{Printer, duration, first_line, plural, thousands};
use crate::session::{AnswerStatus, Transcript};
use crate::settings::Prices;

/// Renders a conversation's events: each answer as it streams, then how it ended.
pub struct ChatRenderer {
    pub printer: Printer,
    pub style: Style,
    pub width: usize,
    pub window: Option<u32>,
    pub prices: Option<Prices>,
    markdown: Option<MarkdownStream>,
    waiting: Option<Waiting>,
}

impl ChatRenderer {
    pub fn new(printer: Printer, style: Style, width: usize) -> ChatRenderer {
        ChatRenderer {
            printer,
            style,
            width,
            window: None,
            prices: None,
            markdown: None,
            waiting: None,
        }
    }

    pub fn show(&mut self, event: &Event<'_>) {
        match event {
            Event::Sending { turn, messages, prompt } => {
                self.printer.status(format!("» {}", turn.label()));
                if let Some(prompt) = prompt {
                    let messages = plural(*messages as u64, "message");
                    self.printer.detail(format!("{messages}, {prompt} prompt tokens"));
                }
                self.waiting = Some(Waiting::start("waiting for the answer…"));
            }
            Event::LeftOut(questions) => {
                let list: Vec<String> =
                    questions.iter().map(|q| format!("“{}”", first_line(q, 100))).collect();
                self.printer.warn(format!(
                    "to fit the context window, left out the oldest follow-up exchanges: {}",
                    list.join(", ")
                ));
            }
            Event::Delta(text) => self.write(text),
            Event::Restart => {
                self.end_answer();
                self.printer.warn("the answer broke off; it starts again below");
            }
            Event::Wait(wait) => {
                self.end_answer();
                self.printer.warn(wait.to_string());
                self.waiting = Some(Waiting::start("waiting for the answer…"));
            }
            Event::Answered { exchange, elapsed } => {
                self.end_answer();
                if exchange.is_truncated() {
                    self.printer.warn(
                        "the answer was cut off at the token limit (max_tokens or the context \
                         window; truncated)",
                    );
                }
                let usage = exchange.usage().unwrap_or_default();
                self.printer.status(status_line(
                    usage,
                    self.window,
                    self.prices.as_ref(),
                    *elapsed,
                ));
            }
            Event::Interrupted { .. } => {
                self.end_answer();
                self.printer.warn("interrupted: the partial answer is kept; /retry asks again");
            }
            Event::Failed { failure, .. } => {
                self.end_answer();
                self.printer.error(format!("{failure} (/retry sends it again)"));
            }
            Event::Judging { judge, .. } => {
                self.end_answer();
                self.waiting = Some(Waiting::start(&format!("grading coverage with {judge}…")));
            }
            Event::Coverage { verdicts, .. } => {
                self.end_answer();
                self.printer.status(format!("  coverage {}", verdicts.label()));
                if let Some(note) = &verdicts.note {
                    self.printer.warn(format!("coverage: {note}"));
                }
            }
        }
    }

    fn write(&mut self, text: &str) {
        if let Some(mut waiting) = self.waiting.take() {
            waiting.stop();
        }
        let style = self.style;
        let width = self.width;
        let markdown = self.markdown.get_or_insert_with(|| MarkdownStream::new(style, width));
        let mut out = std::io::stdout().lock();
        // A closed stdout (the reader went away) must not stop the session from saving.
        let _ = markdown.push(text, &mut out);
        let _ = out.flush();
    }

    /// Ends the answer being rendered (flushes what the renderer still holds), so that
    /// what follows on stderr starts on a line of its own.
    fn end_answer(&mut self) {
        if let Some(mut waiting) = self.waiting.take() {
            waiting.stop();
        }
        if let Some(mut markdown) = self.markdown.take() {
            let mut out = std::io::stdout().lock();
            let _ = markdown.finish(&mut out);
            let _ = writeln!(out);
            let _ = out.flush();
        }
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

/// The numbered suggestions, as typed numbers pick them, each wrapped at words to `width`
/// columns (0: no limit) with its continuation lines under its text.
pub fn suggestions(list: &[Suggestion], width: usize) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from("Suggested follow-ups:\n");
    for (i, s) in list.iter().enumerate() {
        let head = format!("  {}. [{}] ", i + 1, s.kind.as_str());
        let indent = unicode_width::UnicodeWidthStr::width(head.as_str());
        let room = if width > indent + 20 { width - indent } else { 0 };
        let lines = crate::render::markdown::wrap_plain(&first_line(&s.label, 200), room);
        for (n, line) in lines.iter().enumerate() {
            let lead = if n == 0 { head.clone() } else { " ".repeat(indent) };
            out.push_str(&format!("{lead}{line}\n"));
        }
    }
    out
}

/// `/tokens`: usage per answer, the coverage judge's, and in total (the judge's included).
pub fn tokens_table(transcript: &Transcript, prices: Option<&Prices>) -> String {
    let mut out =
        format!("{:>4}  {:<28} {:>9} {:>11}  MODEL\n", "TURN", "QUESTION", "PROMPT", "COMPLETION");
    let answered = transcript.exchanges().filter(|e| e.answer.is_some());
    for (n, exchange) in answered.enumerate() {
        let question: String = first_line(exchange.question_text(), 100).chars().take(28).collect();
        let (prompt, completion) = exchange.usage().map_or(("–".into(), "–".into()), |u| {
            (thousands(u.prompt_tokens), thousands(u.completion_tokens))
        });
        let mark = match exchange.status() {
            Some(AnswerStatus::Interrupted) => " (interrupted)",
            Some(AnswerStatus::Failed) => " (failed)",
            Some(AnswerStatus::Truncated) => " (truncated)",
            _ => "",
        };
        let model = exchange.answer_info().and_then(|i| i.model.as_deref()).unwrap_or("");
        out.push_str(&format!(
            "{:>4}  {question:<28} {prompt:>9} {completion:>11}  {model}{mark}\n",
            n + 1
        ));
    }
    let judge = transcript.meta.judge_usage();
    if judge.total() > 0 {
        out.push_str(&format!(
            "      {:<28} {:>9} {:>11}\n",
            "coverage judge",
            thousands(judge.prompt_tokens),
            thousands(judge.completion_tokens)
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

/// `/coverage`: for each topic of the conversation (or only `only`), which "Cover:" points
/// its answer and the follow-ups after it addressed by the verdicts in force, which method
/// made them, and why each point is covered or not; a planned topic not asked yet says so.
pub fn coverage_report(
    library: &crate::prompts::Library,
    transcript: &Transcript,
    only: Option<&str>,
) -> String {
    let mut out = String::new();
    let slugs = transcript.meta.topics.iter().filter(|slug| only.is_none_or(|o| o == *slug));
    for slug in slugs {
        let Some(topic) = library.topic_by_slug(slug) else { continue };
        let Some(verdicts) =
            crate::coverage::of_topic(topic, transcript, crate::coverage::Reasons::Explained)
        else {
            out.push_str(&format!("“{}”: planned, not answered yet\n", topic.title));
            continue;
        };
        out.push_str(&format!(
            "Coverage of “{}”: {} of {} ({})\n",
            topic.title,
            verdicts.covered(),
            plural(u64::from(verdicts.total()), "point"),
            verdicts.method.label()
        ));
        if let Some(note) = &verdicts.note {
            out.push_str(&format!("note: {note}\n"));
        }
        out.push_str(&verdicts.explain());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::suggest::SuggestionKind;

    #[test]
    fn suggestions_wrap_at_words_under_their_text() {
        let long = "What are the most common mistakes teams make with health checks in Kubernetes?";
        let list = [Suggestion::new(SuggestionKind::Depth, long.to_string())];
        let shown = suggestions(&list, 50);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "Suggested follow-ups:");
        assert!(lines[1].starts_with("  1. [depth] What are the most common"));
        assert!(lines.iter().all(|l| unicode_width::UnicodeWidthStr::width(*l) <= 50), "{shown}");
        assert!(lines[2].starts_with("             ") && !lines[2].trim().is_empty());
        let joined: Vec<&str> = lines[1..].iter().map(|l| l.trim()).collect();
        assert_eq!(joined.join(" "), format!("1. [depth] {long}"));
        // No width: one line each.
        assert_eq!(suggestions(&list, 0).lines().count(), 2);
    }
}
