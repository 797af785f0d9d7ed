//! Ctrl-C: the first press cancels the work (which saves what it has and exits 130); a second
//! press exits at once. Every file is written atomically, so exiting never leaves a half file.

use tokio_util::sync::CancellationToken;

use crate::exit::ExitCode;
use crate::render::{Printer, Verbosity};

/// Starts listening for Ctrl-C on the current runtime; the token is cancelled on the first press.
pub fn on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!();
        Printer::new(Verbosity::Normal)
            .warn("interrupted: finishing up (press Ctrl-C again to quit at once)");
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(ExitCode::Interrupted as i32);
        }
    });
    token
}
