//! The person at the keyboard as the driver's [`User`]: after each answer it shows the
//! suggestions, then reads inputs (suggestion numbers, questions, slash commands) until one
//! of them asks something or quits. A mistake (a bad path, an editor that fails) is a
//! warning, never the end of the session.

use std::path::Path;

use super::commands::{self, CommandId, Input};
use super::display;
use super::input::{Read, Source};
use super::interrupt::Interrupts;
use super::model_suggestions;
use super::suggest::{self, Suggestion, SuggestionKind};
use crate::client::ChatBackend;
use crate::driver::{Choice, PlannedTurn, Session, User, topic_turn};
use crate::prompts::{FollowupKind, Library};
use crate::render::{Printer, first_line};
use crate::session::{AnswerStatus, Transcript, store};
use crate::settings::{Prices, known_context_window};

/// About how many suggestions to show at a time.
const SUGGESTIONS: usize = 6;

pub struct ChatUser<'a> {
    pub library: &'a Library,
    /// For `--suggest-with-model`.
    pub backend: &'a dyn ChatBackend,
    pub printer: Printer,
    pub prices: Option<Prices>,
    pub source: Source,
    pub interrupts: Interrupts,
    pub suggest_with_model: bool,
    /// The list the numbers typed at the prompt pick from.
    suggestions: Vec<Suggestion>,
    /// The conversation's state the suggestions were made for; they are made again when it
    /// changes.
    shown_for: Option<(usize, Option<AnswerStatus>)>,
    /// True when `suggestions` were not made for `shown_for` yet (a resumed session): they
    /// are made when first needed.
    unmade: bool,
    /// True once the first prompt showed how to type several lines.
    greeted: bool,
    /// True once the user ended the session with Ctrl-C (exit 130).
    pub interrupted: bool,
}

impl<'a> ChatUser<'a> {
    pub fn new(
        library: &'a Library,
        backend: &'a dyn ChatBackend,
        printer: Printer,
        source: Source,
        interrupts: Interrupts,
    ) -> ChatUser<'a> {
        ChatUser {
            library,
            backend,
            printer,
            prices: None,
            source,
            interrupts,
            suggest_with_model: false,
            suggestions: Vec::new(),
            shown_for: None,
            unmade: false,
            greeted: false,
            interrupted: false,
        }
    }

    /// A resumed session: the suggestions for the conversation as saved were shown when it
    /// was; they are made again (the same list) only when a number or `/followups` asks for
    /// them, so resuming does not check the coverage of every answer again.
    pub fn resumed(&mut self, transcript: &Transcript) {
        self.shown_for = Some(state_of(transcript));
        self.unmade = true;
    }

    /// Makes the suggestions a resumed session put off.
    async fn make_if_unmade(&mut self, session: &Session, planned: Option<&PlannedTurn>) {
        if std::mem::take(&mut self.unmade) {
            self.refresh(session, planned).await;
        }
    }

    /// Reads one entry; Ctrl-C while waiting for piped input ends the session.
    async fn read(&mut self) -> Option<String> {
        let read = tokio::select! {
            // A Ctrl-C wins over input that arrived at the same moment.
            biased;
            () = self.interrupts.since_settled() => {
                self.interrupted = true;
                return None;
            }
            read = self.source.read("you> ") => read,
        };
        match read {
            Ok(Read::Line(line)) => Some(line),
            Ok(Read::Cleared) => Some(String::new()),
            Ok(Read::Eof) => None,
            Err(e) => {
                self.printer.error(format!("cannot read input: {e}; ending the session"));
                None
            }
        }
    }

    /// New suggestions for the conversation as it is now, with the model's when asked for.
    async fn refresh(&mut self, session: &Session, planned: Option<&PlannedTurn>) {
        let transcript = session.transcript();
        let stack = transcript.meta.stack.as_deref();
        let mut list = suggest::suggest(self.library, transcript, stack, planned, SUGGESTIONS);
        let last_failed =
            transcript.last_exchange().is_some_and(|e| e.status() == Some(AnswerStatus::Failed));
        if self.suggest_with_model && !last_failed && transcript.exchanges().next().is_some() {
            let ask = model_suggestions::ask(self.backend, &session.request, transcript, &list);
            tokio::select! {
                theirs = ask => match theirs {
                    Ok(theirs) => {
                        list.truncate(SUGGESTIONS.saturating_sub(theirs.len()));
                        list.extend(theirs);
                    }
                    Err(e) => self.printer.warn(format!("no suggestions from the model: {e}")),
                },
                () = self.interrupts.next() => {
                    self.printer.warn("skipped the model's suggestions (Ctrl-C)");
                    self.interrupts.settle();
                }
            }
        }
        self.suggestions = list;
    }

    fn show_suggestions(&self) {
        let width = crate::render::markdown::stdout_width().unwrap_or(0);
        let _ = self.printer.out(&display::suggestions(&self.suggestions, width));
    }

    /// What picking suggestion `n` (1-based) does.
    fn pick(&mut self, session: &mut Session, n: usize) -> Option<Choice> {
        let Some(pick) = n.checked_sub(1).and_then(|i| self.suggestions.get(i)).cloned() else {
            if self.suggestions.is_empty() {
                self.printer.warn("no suggestions to pick from; type a question or /help");
            } else {
                self.printer.warn(format!(
                    "pick a number from 1 to {}, or type a question",
                    self.suggestions.len()
                ));
            }
            return None;
        };
        match (pick.kind, &pick.topic) {
            (SuggestionKind::Plan, _) => Some(Choice::ContinuePlan),
            (_, Some(slug)) => self.add_topic(session, slug),
            _ => Some(ask(pick.text)),
        }
    }

    /// Adds `slug` to the conversation's topics and asks its prompt.
    fn add_topic(&mut self, session: &mut Session, slug: &str) -> Option<Choice> {
        let topic = self.library.topic_by_slug(slug)?;
        let meta = session.conversation.meta_mut();
        if !meta.topics.contains(&topic.slug) {
            meta.topics.push(topic.slug.clone());
            meta.title = format!("{} + {}", meta.title, topic.title);
        }
        Some(Choice::Ask { turn: topic_turn(topic), then_plan: false })
    }

    /// Runs a slash command; `Some` when it asks something.
    async fn command(
        &mut self,
        session: &mut Session,
        planned: Option<&PlannedTurn>,
        id: CommandId,
        arg: Option<&str>,
    ) -> Option<Choice> {
        match id {
            CommandId::Help => {
                let _ = self.printer.out(&commands::help_text());
            }
            CommandId::Followups => {
                self.make_if_unmade(session, planned).await;
                self.show_suggestions();
            }
            CommandId::Coverage => self.coverage(session.transcript(), arg),
            CommandId::Add => match arg {
                Some(name) => match self.library.resolve(name) {
                    Ok(topic) => return self.add_topic(session, &topic.slug.clone()),
                    Err(e) => self.printer.warn(e.to_string()),
                },
                None => self
                    .printer
                    .warn("name a topic: /add 15, /add health-checks (see 'deepdive topics')"),
            },
            CommandId::Format => return self.format(session.transcript(), arg),
            CommandId::Tokens => {
                let table = display::tokens_table(session.transcript(), self.prices.as_ref());
                let _ = self.printer.out(&table);
            }
            CommandId::Retry => match session.conversation.undo() {
                Some(turn) => {
                    self.save(session).await;
                    return Some(Choice::Ask { turn, then_plan: true });
                }
                None if planned.is_some() => return Some(Choice::ContinuePlan),
                None => self.printer.warn("nothing to retry yet"),
            },
            CommandId::Undo => match session.conversation.undo() {
                Some(turn) => {
                    self.save(session).await;
                    self.printer.status(format!(
                        "removed the last exchange: “{}”",
                        first_line(&turn.text, 100)
                    ));
                    self.shown_for = None;
                }
                None => self.printer.warn("nothing to undo"),
            },
            CommandId::Model => match arg {
                Some(model) => {
                    session.request.model = model.to_string();
                    if let Some(window) = known_context_window(model) {
                        session.request.context_window = Some(window);
                    }
                    self.printer.status(format!("model: {model} (from the next question on)"));
                }
                None => self.printer.status(format!("model: {}", session.request.model)),
            },
            CommandId::Save => self.save_to(session, arg.map(Path::new)).await,
            CommandId::Edit => return self.edit().await,
            CommandId::Quit => return Some(Choice::Quit),
        }
        None
    }

    fn coverage(&self, transcript: &Transcript, arg: Option<&str>) {
        if transcript.meta.topics.is_empty() {
            self.printer.warn("no topic in this conversation yet: /add one");
            return;
        }
        let only = match arg {
            None => None,
            Some(name) => match self.library.resolve(name) {
                Ok(topic) if transcript.meta.topics.contains(&topic.slug) => Some(&topic.slug),
                Ok(topic) => {
                    self.printer.warn(format!(
                        "{} is not a topic of this conversation; its topics: {}",
                        topic.slug,
                        transcript.meta.topics.join(", ")
                    ));
                    return;
                }
                Err(e) => {
                    self.printer.warn(e.to_string());
                    return;
                }
            },
        };
        let report = display::coverage_report(self.library, transcript, only.map(String::as_str));
        let _ = self.printer.out(&report);
    }

    fn format(&mut self, transcript: &Transcript, name: Option<&str>) -> Option<Choice> {
        let Some(name) = name else {
            self.suggestions = suggest::format_requests(self.library, transcript);
            self.show_suggestions();
            return None;
        };
        let wanted = name.trim().to_ascii_lowercase();
        let formats = || self.library.followups().iter().filter(|f| f.kind == FollowupKind::Format);
        let Some(template) = formats().find(|f| f.name == wanted) else {
            let names: Vec<&str> = formats().map(|f| f.name.as_str()).collect();
            self.printer.warn(format!("unknown format '{name}'; use one of: {}", names.join(", ")));
            return None;
        };
        let text = match suggest::current_topic(self.library, transcript) {
            Some(topic) => template.instantiate(topic, None),
            None => template.text.clone(),
        };
        Some(ask(text))
    }

    async fn edit(&mut self) -> Option<Choice> {
        if !self.source.is_terminal() {
            self.printer.warn("/edit needs a terminal");
            return None;
        }
        let composed = super::editor::compose().await;
        // A Ctrl-C meant for the editor is not one for what comes next.
        self.interrupts.settle();
        match composed {
            Ok(Some(text)) => Some(ask(text)),
            Ok(None) => {
                self.printer.warn("the editor left the question empty: nothing was sent");
                None
            }
            Err(warning) => {
                self.printer.warn(warning);
                None
            }
        }
    }

    /// Saves the transcript; a failure is a warning (the next answer saves again).
    async fn save(&self, session: &Session) {
        if let Err(e) = session.save().await {
            self.printer.warn(format!("{e}; the session goes on"));
        }
    }

    async fn save_to(&self, session: &Session, path: Option<&Path>) {
        let Some(path) = path else {
            self.save(session).await;
            self.printer.status(format!("saved {}", session.path.display()));
            return;
        };
        match store::save_async(path, session.transcript()).await {
            Ok(()) => self.printer.status(format!("saved a copy to {}", path.display())),
            Err(e) => self.printer.warn(format!("{e}; the session goes on")),
        }
    }
}

impl User for ChatUser<'_> {
    async fn choose(&mut self, session: &mut Session, planned: Option<&PlannedTurn>) -> Choice {
        self.interrupts.settle();
        let state = state_of(session.transcript());
        if self.shown_for != Some(state) {
            self.unmade = false;
            self.refresh(session, planned).await;
            self.shown_for = Some(state);
            self.show_suggestions();
            if let Some(turn) = planned {
                self.printer.status(format!(
                    "the plan goes on with the {}: press Enter (/retry asks the stopped question \
                     again)",
                    turn.label()
                ));
            }
        }
        if self.unmade && !self.greeted {
            self.printer.status("/followups lists the suggested follow-ups (numbers pick them)");
        }
        if !self.greeted && self.source.is_terminal() {
            self.printer.status(super::input::multiline_help());
        }
        self.greeted = true;
        loop {
            let Some(line) = self.read().await else { return Choice::Quit };
            let choice = match commands::parse(&line) {
                Input::Empty if planned.is_some() => Some(Choice::ContinuePlan),
                Input::Empty => None,
                Input::Pick(n) => {
                    self.make_if_unmade(session, planned).await;
                    self.pick(session, n)
                }
                Input::Message(text) => Some(ask(text)),
                Input::UnknownCommand { hint, .. } => {
                    self.printer.warn(hint);
                    None
                }
                Input::Command { id, arg } => {
                    self.command(session, planned, id, arg.as_deref()).await
                }
            };
            if let Some(choice) = choice {
                return choice;
            }
        }
    }
}

/// What the suggestions depend on: the number of exchanges and how the last one ended.
fn state_of(transcript: &Transcript) -> (usize, Option<AnswerStatus>) {
    (transcript.exchanges().count(), transcript.last_exchange().and_then(|e| e.status()))
}

fn ask(text: String) -> Choice {
    Choice::Ask { turn: PlannedTurn::followup(text), then_plan: false }
}
