//! The conversation driver that chat, batch and replay share.
//!
//! - [`Conversation`]: pure; what a request holds and what is recorded.
//! - [`Agenda`]: what to ask next. [`Opening`] (the guide's plan: priming, topics, named
//!   follow-ups), [`Replay`] (a transcript's questions) and [`Interactive`] (the plan, then
//!   the user) implement it.
//! - [`run()`]: the one loop: ask, fit, send, record, save, emitting one typed [`Event`]
//!   stream that chat's renderer, batch's progress and replay's printer consume.

pub mod agenda;
mod conversation;
pub mod events;
pub mod interactive;
pub mod judge;
pub mod run;

pub use agenda::{Agenda, Flow, GAPS, Opening, Replay, opening_turns, priming_turn, topic_turn};
pub use conversation::{Answer, Conversation, Limits, PlannedTurn, Prepared, TooLarge};
pub use events::{Event, Wait};
pub use interactive::{Choice, Interactive, User};
pub use judge::Judge;
pub use run::{Endpoint, Interrupt, RequestSettings, RunEnd, Session, TurnEnd, TurnFailure, run};
