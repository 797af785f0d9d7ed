//! How a batch run shows its progress: live bars on a terminal, one plain line per event
//! otherwise, nothing with `--quiet` (the summary is printed by the command).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity, duration, plural, thousands};
use crate::batch::{Observer, TopicRecord, TopicStatus};
use crate::driver::Event;

/// A one-line result for a finished topic: `15 health-checks  complete  7/7  4,512 tokens  1m02s`.
pub fn topic_line(record: &TopicRecord) -> String {
    let coverage = record
        .coverage
        .map(|c| format!("  coverage {}/{}", c.covered, c.total))
        .unwrap_or_default();
    let error = record.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
    format!(
        "{:>2} {:<22} {:<11}{coverage}  {} tokens  {}{error}",
        record.number,
        record.slug,
        record.status.as_str(),
        thousands(record.usage.total()),
        duration(Duration::from_millis(record.elapsed_ms))
    )
}

/// What a topic's event is worth telling beyond its progress line, if anything.
fn topic_note(slug: &str, event: &Event<'_>) -> Option<String> {
    match event {
        Event::LeftOut(questions) => Some(format!(
            "{slug}: {} left out of the request to fit the context window",
            super::plural(questions.len() as u64, "follow-up exchange")
        )),
        Event::Answered { exchange, .. } if exchange.is_truncated() => {
            Some(format!("{slug}: an answer was cut off at max_tokens (recorded as truncated)"))
        }
        Event::Coverage { verdicts, .. } => {
            verdicts.note.as_ref().map(|note| format!("{slug}: coverage: {note}"))
        }
        _ => None,
    }
}

/// Plain lines on stderr, one per event (not per streamed chunk).
pub struct Lines {
    pub printer: Printer,
}

impl Observer for Lines {
    fn start(&self, to_run: usize, done: usize) {
        let earlier = if done > 0 { format!(" ({done} already done)") } else { String::new() };
        self.printer.status(format!("running {}{earlier}", plural(to_run as u64, "topic")));
    }

    fn topic_started(&self, record: &TopicRecord) {
        self.printer.status(format!("{}: started", record.slug));
    }

    fn event(&self, slug: &str, turn: usize, event: &Event<'_>) {
        match event {
            Event::Sending { prompt, .. } => {
                let prompt = prompt.map(|p| format!(", {p} prompt tokens")).unwrap_or_default();
                self.printer.detail(format!("{slug}: turn {turn}{prompt}"));
            }
            Event::Restart => {
                self.printer.status(format!("{slug}: the answer broke off; asking again"))
            }
            Event::Wait(wait) => self.printer.warn(format!("{slug}: {wait}")),
            other => {
                if let Some(note) = topic_note(slug, other) {
                    self.printer.warn(note);
                }
            }
        }
    }

    fn topic_finished(&self, record: &TopicRecord) {
        if record.status == TopicStatus::Failed {
            self.printer.error(topic_line(record));
        } else {
            self.printer.status(topic_line(record));
        }
    }

    fn note(&self, message: &str) {
        self.printer.warn(message);
    }
}

/// Nothing while running.
pub struct Silent;

impl Observer for Silent {
    fn start(&self, _: usize, _: usize) {}
    fn topic_started(&self, _: &TopicRecord) {}
    fn event(&self, _: &str, _: usize, _: &Event<'_>) {}
    fn topic_finished(&self, _: &TopicRecord) {}
    fn note(&self, _: &str) {}
}

/// Live progress on a terminal: one line per running topic (turn, attempt, tokens so far,
/// elapsed) above an overall bar (topics done and failed, tokens, elapsed, ETA).
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    topics: Mutex<HashMap<String, ProgressBar>>,
    totals: Mutex<(u64, usize)>,
}

fn style(template: &str) -> ProgressStyle {
    // The templates are fixed strings; fall back to the default look if one were rejected.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Bars {
    pub fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            style("[{bar:30}] {pos}/{len} topics{msg} · {elapsed} · ETA {eta}")
                .progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars { multi, overall, topics: Mutex::new(HashMap::new()), totals: Mutex::new((0, 0)) }
    }

    fn with_bar(&self, slug: &str, f: impl FnOnce(&ProgressBar)) {
        let topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = topics.get(slug) {
            f(bar);
        }
    }
}

impl Default for Bars {
    fn default() -> Self {
        Bars::new()
    }
}

impl Observer for Bars {
    fn start(&self, to_run: usize, done: usize) {
        self.overall.set_length(to_run as u64);
        if done > 0 {
            let done = plural(done as u64, "topic");
            let _ = self.multi.println(format!("{done} already done in this folder"));
        }
    }

    fn topic_started(&self, record: &TopicRecord) {
        let bar = self.multi.insert_before(&self.overall, ProgressBar::new_spinner());
        bar.set_style(style("{spinner} {prefix:<28} {msg} · ~{pos} tokens · {elapsed}"));
        bar.set_prefix(format!("{:>2} {}", record.number, record.slug));
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.insert(record.slug.clone(), bar);
    }

    fn event(&self, slug: &str, turn: usize, event: &Event<'_>) {
        match event {
            Event::Sending { prompt, .. } => self.with_bar(slug, |bar| {
                bar.set_position(0);
                let prompt = prompt.map(|p| format!(", {p} prompt tokens")).unwrap_or_default();
                bar.set_message(format!("turn {turn}{prompt}"));
            }),
            Event::Delta(_) => self.with_bar(slug, |bar| bar.inc(1)),
            Event::Restart => self.with_bar(slug, |bar| bar.set_position(0)),
            Event::Wait(wait) => self.with_bar(slug, |bar| bar.set_message(wait.short())),
            Event::Judging { judge, .. } => {
                self.with_bar(slug, |bar| bar.set_message(format!("grading coverage ({judge})")))
            }
            other => {
                if let Some(note) = topic_note(slug, other) {
                    let _ = self.multi.println(Printer::new(Verbosity::Normal).warning_text(&note));
                }
            }
        }
    }

    fn topic_finished(&self, record: &TopicRecord) {
        if let Some(bar) =
            self.topics.lock().unwrap_or_else(|p| p.into_inner()).remove(&record.slug)
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let mark = match record.status {
            TopicStatus::Complete => "✓",
            TopicStatus::Failed => "✗",
            _ => "·",
        };
        let _ = self.multi.println(format!("{mark} {}", topic_line(record)));
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals.0 = record.usage.total().saturating_add(totals.0);
        if record.status == TopicStatus::Failed {
            totals.1 += 1;
        }
        let failed = if totals.1 > 0 { format!(", {} failed", totals.1) } else { String::new() };
        self.overall.set_message(format!("{failed} · {} tokens", thousands(totals.0)));
        self.overall.inc(1);
    }

    fn note(&self, message: &str) {
        let _ = self.multi.println(Printer::new(Verbosity::Normal).warning_text(message));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}
