//! One Ctrl-C listener for the whole chat session. Every await that can take a while (an
//! answer streaming, the model's suggestions, a read of piped input) waits on
//! [`Interrupts::next`] beside its work, so Ctrl-C stops what is in flight wherever that is.
//! A second Ctrl-C before the session is back at the prompt exits at once (130); the
//! transcript on disk is whole either way, since every save is atomic.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::watch;

use crate::driver::Interrupt;
use crate::exit::ExitCode;
use crate::render::{Printer, Verbosity};

/// The session's Ctrl-C presses, as a counter anyone can wait on.
#[derive(Clone)]
pub struct Interrupts {
    presses: watch::Receiver<u64>,
    /// Set by a press, cleared back at the prompt: a press while set exits at once.
    handling: Arc<AtomicBool>,
    /// How many presses there had been when the session was last back at the prompt.
    settled: Arc<AtomicU64>,
}

impl Interrupts {
    /// Starts listening on the current runtime. From now on Ctrl-C no longer kills the
    /// process by itself: the session decides what it stops.
    pub fn listen() -> std::io::Result<Interrupts> {
        let (tx, presses) = watch::channel(0u64);
        let handling = Arc::new(AtomicBool::new(false));
        let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let pressed_twice = handling.clone();
        tokio::spawn(async move {
            while signal.recv().await.is_some() {
                if pressed_twice.swap(true, Ordering::SeqCst) {
                    eprintln!();
                    Printer::new(Verbosity::Normal)
                        .warn("interrupted twice: quitting (the transcript is saved)");
                    std::process::exit(ExitCode::Interrupted as i32);
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        Ok(Interrupts { presses, handling, settled: Arc::new(AtomicU64::new(0)) })
    }

    /// Resolves at the next Ctrl-C after this call (not one pressed before it).
    pub fn next(&self) -> impl Future<Output = ()> + 'static {
        let mut presses = self.presses.clone();
        presses.mark_unchanged();
        async move {
            // An error means the listener is gone: then no press will ever come.
            if presses.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves at a Ctrl-C pressed since the last [`Self::settle`], even one pressed before
    /// this call: what waits for the user's input must not miss a press that came while the
    /// prompt was being prepared.
    pub fn since_settled(&self) -> impl Future<Output = ()> + 'static {
        let mut presses = self.presses.clone();
        let settled = self.settled.load(Ordering::SeqCst);
        async move {
            while *presses.borrow_and_update() <= settled {
                if presses.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// Back at the prompt: the next Ctrl-C is a first one again.
    pub fn settle(&self) {
        self.settled.store(*self.presses.borrow(), Ordering::SeqCst);
        self.handling.store(false, Ordering::SeqCst);
    }
}

impl Interrupt for Interrupts {
    fn interrupted(&self) -> impl Future<Output = ()> + '_ {
        self.next()
    }
}
