//! How a batch run shows its progress: live bars on a terminal, one plain line per event
//! otherwise, nothing with `--quiet` (the summary is printed by the command).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity, duration, plural, thousands};
use crate::batch::{Observer, TopicRecord, TopicStatus};
use crate::driver::Event;

/// A one-line result for a finished topic: `15 health-checks  complete  7/7  4,512 tokens  1m02s`.
pub fn topic_line(record: &TopicRecord) -> String {
    topic_line_with(record, record.error.as_deref())
}

/// [`topic_line`] with `error` (or none) in place of the record's.
fn topic_line_with(record: &TopicRecord, error: Option<&str>) -> String {
    let coverage = record
        .coverage
        .map(|c| format!("  coverage {}/{}", c.covered, c.total))
        .unwrap_or_default();
    let error = error.map(|e| format!(": {e}")).unwrap_or_default();
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
        Event::Answered { exchange, .. } if exchange.is_truncated() => Some(format!(
            "{slug}: an answer was cut off at the token limit (max_tokens or the context \
                 window; recorded as truncated)"
        )),
        Event::Coverage { verdicts, .. } => {
            verdicts.note.as_ref().map(|note| format!("{slug}: coverage: {note}"))
        }
        _ => None,
    }
}

/// What a topic's finish line says about its error: the whole message the first time a
/// cause is seen, a back-reference after that (20 topics rejected by one bad key say it once).
#[derive(Default)]
struct Causes {
    seen: Mutex<HashSet<String>>,
}

impl Causes {
    fn line(&self, record: &TopicRecord) -> String {
        let Some(error) = record.error.as_deref() else { return topic_line(record) };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.insert(error.to_string()) {
            topic_line(record)
        } else {
            topic_line_with(record, Some("the same error as above"))
        }
    }
}

/// The time left in a run, from how long its finished topics took: each queued topic is
/// assumed to take their mean, each running one the mean less what it already ran, spread
/// over `concurrency` slots. `None` until a topic has finished.
pub fn eta(
    finished: &[Duration],
    running: &[Duration],
    queued: usize,
    concurrency: usize,
) -> Option<Duration> {
    if finished.is_empty() {
        return None;
    }
    let mean = finished.iter().sum::<Duration>() / finished.len() as u32;
    let mut slots: Vec<Duration> =
        running.iter().map(|elapsed| mean.saturating_sub(*elapsed)).collect();
    slots.resize(concurrency.max(1).max(slots.len()), Duration::ZERO);
    for _ in 0..queued {
        // The slot that frees first takes the next topic.
        if let Some(first) = slots.iter_mut().min() {
            *first += mean;
        }
    }
    slots.into_iter().max()
}

/// Follows the run for [`eta`]: when each running topic started, how long finished ones took.
struct Timing {
    concurrency: usize,
    state: Mutex<TimingState>,
}

#[derive(Default)]
struct TimingState {
    queued: usize,
    running: HashMap<String, Instant>,
    finished: Vec<Duration>,
}

impl Timing {
    fn new(concurrency: usize) -> Timing {
        Timing { concurrency, state: Mutex::new(TimingState::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TimingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, to_run: usize) {
        self.lock().queued = to_run;
    }

    fn topic_started(&self, slug: &str) {
        let mut state = self.lock();
        state.queued = state.queued.saturating_sub(1);
        state.running.insert(slug.to_string(), Instant::now());
    }

    fn topic_finished(&self, record: &TopicRecord) {
        let mut state = self.lock();
        let Some(started) = state.running.remove(&record.slug) else { return };
        // A topic that failed or was stopped says nothing about how long answers take.
        if matches!(record.status, TopicStatus::Complete | TopicStatus::Truncated) {
            state.finished.push(started.elapsed());
        }
    }

    /// `ETA 2m10s`; `ETA –` before a topic has finished, or when every topic left has already
    /// run longer than the mean (no honest estimate); nothing once no topic is left.
    fn describe(&self) -> String {
        let state = self.lock();
        if state.running.is_empty() && state.queued == 0 {
            return String::new();
        }
        let running: Vec<Duration> = state.running.values().map(Instant::elapsed).collect();
        match eta(&state.finished, &running, state.queued, self.concurrency) {
            Some(left) if left >= Duration::from_secs(1) => format!("ETA {}", duration(left)),
            _ => "ETA –".to_string(),
        }
    }
}

/// Plain lines on stderr, one per event (not per streamed chunk).
pub struct Lines {
    printer: Printer,
    causes: Causes,
    timing: Timing,
}

impl Lines {
    pub fn new(printer: Printer, concurrency: usize) -> Lines {
        Lines { printer, causes: Causes::default(), timing: Timing::new(concurrency) }
    }
}

impl Observer for Lines {
    fn start(&self, to_run: usize, done: usize) {
        self.timing.start(to_run);
        let earlier = if done > 0 { format!(" ({done} already done)") } else { String::new() };
        self.printer.status(format!("running {}{earlier}", plural(to_run as u64, "topic")));
    }

    fn topic_started(&self, record: &TopicRecord) {
        self.timing.topic_started(&record.slug);
        self.printer.status(format!("{}: started", record.slug));
    }

    fn priming_started(&self) {
        self.printer.status("priming: asking the priming prompt once, for every topic");
    }

    fn priming_finished(&self, record: &TopicRecord) {
        let line = self.causes.line(record);
        match record.status {
            TopicStatus::Complete => self.printer.status(line),
            TopicStatus::Truncated => self.printer.warn(line),
            _ => self.printer.error(line),
        }
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
        self.timing.topic_finished(record);
        let eta = self.timing.describe();
        let line = match eta.is_empty() {
            true => self.causes.line(record),
            false => format!("{} · {eta}", self.causes.line(record)),
        };
        match record.status {
            TopicStatus::Failed => self.printer.error(line),
            TopicStatus::Truncated => self.printer.warn(line),
            _ => self.printer.status(line),
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
    fn priming_started(&self) {}
    fn priming_finished(&self, _: &TopicRecord) {}
    fn event(&self, _: &str, _: usize, _: &Event<'_>) {}
    fn topic_finished(&self, _: &TopicRecord) {}
    fn note(&self, _: &str) {}
}

/// Live progress on a terminal: one line per running topic (turn, attempt, tokens so far,
/// elapsed) above an overall bar (topics done, truncated and failed, tokens, elapsed, ETA).
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    topics: Mutex<HashMap<String, ProgressBar>>,
    totals: Mutex<Totals>,
    causes: Causes,
    timing: Timing,
}

#[derive(Default)]
struct Totals {
    tokens: u64,
    failed: usize,
    truncated: usize,
}

fn style(template: &str) -> ProgressStyle {
    // The templates are fixed strings; fall back to the default look if one were rejected.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Bars {
    /// Bars for a run of up to `concurrency` topics at once (for the ETA).
    pub fn new(concurrency: usize) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            style("[{bar:30}] {pos}/{len} topics{msg} · {elapsed}").progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        let bars = Bars {
            multi,
            overall,
            topics: Mutex::new(HashMap::new()),
            totals: Mutex::new(Totals::default()),
            causes: Causes::default(),
            timing: Timing::new(concurrency),
        };
        bars.update_overall();
        bars
    }

    /// The overall bar's message: failures, truncations, tokens and the ETA.
    fn update_overall(&self) {
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        let mut parts = String::new();
        if totals.truncated > 0 {
            parts.push_str(&format!(", {} truncated", totals.truncated));
        }
        if totals.failed > 0 {
            parts.push_str(&format!(", {} failed", totals.failed));
        }
        let tokens = thousands(totals.tokens);
        let eta = self.timing.describe();
        let eta = if eta.is_empty() { String::new() } else { format!(" · {eta}") };
        self.overall.set_message(format!("{parts} · {tokens} tokens{eta}"));
    }

    /// A spinner line above the overall bar for `slug`.
    fn add_line(&self, slug: &str, prefix: String) {
        let bar = self.multi.insert_before(&self.overall, ProgressBar::new_spinner());
        bar.set_style(style("{spinner} {prefix:<28} {msg} · ~{pos} tokens · {elapsed}"));
        bar.set_prefix(prefix);
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.insert(slug.to_string(), bar);
    }

    fn remove_line(&self, slug: &str) {
        if let Some(bar) = self.topics.lock().unwrap_or_else(|p| p.into_inner()).remove(slug) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    fn with_bar(&self, slug: &str, f: impl FnOnce(&ProgressBar)) {
        let topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = topics.get(slug) {
            f(bar);
        }
    }
}

impl Observer for Bars {
    fn start(&self, to_run: usize, done: usize) {
        self.timing.start(to_run);
        self.overall.set_length(to_run as u64);
        if done > 0 {
            let done = plural(done as u64, "topic");
            let _ = self.multi.println(format!("{done} already done in this folder"));
        }
        self.update_overall();
    }

    fn topic_started(&self, record: &TopicRecord) {
        self.timing.topic_started(&record.slug);
        self.add_line(&record.slug, format!("{:>2} {}", record.number, record.slug));
    }

    fn priming_started(&self) {
        self.add_line(crate::batch::PRIMING_SLUG, " 0 priming (shared)".to_string());
    }

    fn priming_finished(&self, record: &TopicRecord) {
        self.remove_line(&record.slug);
        let mark = if record.status == TopicStatus::Complete { "✓" } else { "✗" };
        let _ = self.multi.println(format!("{mark} {}", self.causes.line(record)));
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals.tokens = totals.tokens.saturating_add(record.usage.total());
        drop(totals);
        self.update_overall();
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
        self.remove_line(&record.slug);
        self.timing.topic_finished(record);
        let mark = match record.status {
            TopicStatus::Complete => "✓",
            TopicStatus::Truncated => "!",
            TopicStatus::Failed => "✗",
            _ => "·",
        };
        let _ = self.multi.println(format!("{mark} {}", self.causes.line(record)));
        {
            let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
            totals.tokens = totals.tokens.saturating_add(record.usage.total());
            match record.status {
                TopicStatus::Failed => totals.failed += 1,
                TopicStatus::Truncated => totals.truncated += 1,
                _ => {}
            }
        }
        self.update_overall();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &[u64]) -> Vec<Duration> {
        s.iter().map(|&s| Duration::from_secs(s)).collect()
    }

    #[test]
    fn no_eta_before_a_topic_has_finished() {
        assert_eq!(eta(&[], &secs(&[5, 5]), 10, 4), None);
    }

    #[test]
    fn the_eta_spreads_what_is_left_over_the_slots() {
        // Recorded from a run at --concurrency 4: topics took 50-70 s (mean 60 s).
        let finished = secs(&[50, 70, 60, 60]);
        // Four running (10 s in), twelve queued: each slot finishes its topic in 50 s, then
        // three more of 60 s each.
        let left = eta(&finished, &secs(&[10, 10, 10, 10]), 12, 4).unwrap();
        assert_eq!(left, Duration::from_secs(50 + 3 * 60));
        // A topic running longer than the mean is about to end, not a negative time.
        assert_eq!(eta(&finished, &secs(&[600]), 0, 4), Some(Duration::ZERO));
        // Nothing queued and nothing running: done.
        assert_eq!(eta(&finished, &[], 0, 4), Some(Duration::ZERO));
        // Uneven: 5 queued on 2 slots take 3 rounds.
        assert_eq!(eta(&secs(&[10]), &[], 5, 2), Some(Duration::from_secs(30)));
    }

    #[test]
    fn an_overdue_topic_shows_no_estimate_rather_than_eta_0ms() {
        let timing = Timing::new(4);
        let started = Instant::now().checked_sub(Duration::from_secs(90)).unwrap();
        {
            let mut state = timing.lock();
            state.finished.push(Duration::from_secs(30));
            state.running.insert("graceful-shutdown".into(), started);
        }
        assert_eq!(timing.describe(), "ETA –");
        timing.lock().queued = 2;
        assert_eq!(timing.describe(), "ETA 30.0s");
        timing.lock().running.clear();
        timing.lock().queued = 0;
        assert_eq!(timing.describe(), "");
    }

    #[test]
    fn the_eta_stays_sensible_over_a_recorded_run() {
        // Per-topic durations recorded from a 20-topic batch at --concurrency 4 (seconds).
        let recorded =
            [62, 48, 75, 51, 66, 58, 90, 44, 61, 57, 70, 49, 63, 55, 80, 47, 59, 64, 52, 68];
        let total: u64 = recorded.iter().sum();
        let mut finished = Vec::new();
        for (i, &took) in recorded.iter().enumerate() {
            finished.push(Duration::from_secs(took));
            let queued = recorded.len() - i - 1;
            let left = eta(&finished, &[], queued, 4).unwrap();
            // Never more than the whole run sequentially, never an absurd number.
            assert!(left <= Duration::from_secs(total), "{left:?} after {} topics", i + 1);
            let rounds = queued.div_ceil(4) as u64;
            assert!(left >= Duration::from_secs(40 * rounds), "{left:?} for {rounds} rounds");
        }
    }
}
