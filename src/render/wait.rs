//! The chat's wait indicator: a spinner with the seconds waited, on stderr, from the moment
//! a question is sent until the first token arrives. Only on a terminal; never when piped.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner that shows while it lives (or until [`Waiting::stop`]).
pub struct Waiting {
    bar: Option<ProgressBar>,
}

impl Waiting {
    /// Starts the spinner with `message`, when stderr is a terminal.
    pub fn start(message: &str) -> Waiting {
        if !std::io::stderr().is_terminal() {
            return Waiting { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        // A fixed template: if it were ever rejected, the default spinner look is fine.
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Waiting { bar: Some(bar) }
    }

    /// Clears the spinner from the screen.
    pub fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.stop();
    }
}
