//! How a model download shows its progress: the size first, then a byte bar on a terminal,
//! a plain line every tenth otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{DecimalBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity};
use crate::local::download::{DownloadProgress, NoProgress};

/// The reporter that fits where stderr goes.
pub fn reporter(printer: Printer) -> Box<dyn DownloadProgress> {
    if printer.verbosity() == Verbosity::Quiet {
        Box::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(Lines { printer, state: Mutex::new(LinesState::default()) })
    }
}

/// A live bar: bytes, rate and time left.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let template = "{msg} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} \
                        {decimal_bytes_per_sec} · ETA {eta}";
        // The template is a fixed string; fall back to the default look if it were rejected.
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Bar { bar }
    }
}

impl DownloadProgress for Bar {
    fn start(&self, total_bytes: u64, file: &str) {
        self.bar.suspend(|| eprintln!("downloading {file} ({})", DecimalBytes(total_bytes)));
        self.bar.set_length(total_bytes);
        self.bar.reset();
        self.bar.set_message(file.to_string());
        // Shown from the first start only, so it never draws without its size.
        if self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[derive(Default)]
struct LinesState {
    file: String,
    total: u64,
    done: u64,
    tenths_shown: u64,
}

/// One line when the download starts and one per tenth of it.
struct Lines {
    printer: Printer,
    state: Mutex<LinesState>,
}

impl DownloadProgress for Lines {
    fn start(&self, total_bytes: u64, file: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = LinesState { file: file.to_string(), total: total_bytes, ..LinesState::default() };
        self.printer.status(format!("downloading {file} ({})", DecimalBytes(total_bytes)));
    }

    fn advance(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.done += bytes;
        let tenths = (state.done * 10).checked_div(state.total).unwrap_or(10).min(10);
        if tenths > state.tenths_shown {
            state.tenths_shown = tenths;
            self.printer.status(format!(
                "{}: {}% ({} of {})",
                state.file,
                tenths * 10,
                DecimalBytes(state.done),
                DecimalBytes(state.total)
            ));
        }
    }
}
