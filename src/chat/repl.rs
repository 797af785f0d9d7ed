//! The interactive session: sends the opening turns, then reads inputs (suggestion numbers,
//! questions, slash commands) until the user quits. The transcript is saved after every
//! answer by the runner; Ctrl-C while an answer streams stops it and keeps what arrived.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::commands::{self, CommandId, Input};
use super::display::{self, ChatReporter};
use super::input::{Read, Source};
use super::model_suggestions;
use super::suggest::{self, Suggestion};
use crate::batch::plan::answers_since_topic;
use crate::client::ChatBackend;
use crate::conversation::{Conversation, PlannedTurn};
use crate::coverage;
use crate::exit::{ExitCode, Failure};
use crate::message::Role;
use crate::prompts::Library;
use crate::render::Printer;
use crate::render::markdown::Style;
use crate::runner::{self, Endpoint, RequestSettings, RunEnd};
use crate::session::{AnswerStatus, TurnKind, store};
use crate::settings::{Prices, known_context_window};

/// About how many suggestions to show at a time.
const SUGGESTIONS: usize = 6;

pub struct Chat<'a> {
    pub library: &'a Library,
    pub client: &'a dyn ChatBackend,
    pub request: RequestSettings,
    pub stack: Option<String>,
    pub prices: Option<Prices>,
    pub printer: Printer,
    pub style: Style,
    pub width: usize,
    pub path: PathBuf,
    pub conversation: Conversation,
    pub suggest_with_model: bool,
    /// The list the numbers typed at the prompt pick from.
    pub suggestions: Vec<Suggestion>,
}

/// How a send ended, for the caller to decide what to show next.
enum Sent {
    Answered,
    Stopped,
}

impl Chat<'_> {
    /// Runs the session to its end; the exit code is 1 when the last answer failed.
    pub async fn run(mut self, source: &mut Source) -> Result<ExitCode, Failure> {
        self.printer.status(format!("transcript: {}", self.path.display()));
        if self.conversation.next_turn().is_some() {
            self.send().await?;
        } else {
            self.refresh_suggestions().await;
        }
        if source.is_terminal() {
            self.printer.status(super::input::multiline_help());
        }
        self.show_suggestions();
        loop {
            let line = match source.read("you> ").await {
                Ok(Read::Line(line)) => line,
                Ok(Read::Cleared) => continue,
                Ok(Read::Eof) => break,
                Err(e) => return Err(Failure::work(format!("cannot read input: {e}"))),
            };
            match commands::parse(&line) {
                Input::Empty => {}
                Input::Pick(n) => {
                    match n.checked_sub(1).and_then(|i| self.suggestions.get(i)).cloned() {
                        Some(pick) => self.ask_suggestion(pick).await?,
                        None if self.suggestions.is_empty() => self
                            .printer
                            .warn("no suggestions to pick from; type a question or /help"),
                        None => self.printer.warn(format!(
                            "pick a number from 1 to {}, or type a question",
                            self.suggestions.len()
                        )),
                    }
                }
                Input::Message(text) => {
                    self.ask(PlannedTurn { kind: TurnKind::Followup, text }).await?
                }
                Input::UnknownCommand { hint, .. } => self.printer.warn(hint),
                Input::Command { id: CommandId::Quit, .. } => break,
                Input::Command { id, arg } => self.command(id, arg.as_deref(), source).await?,
            }
        }
        self.end()
    }

    /// Saves the final state and picks the exit code.
    fn end(mut self) -> Result<ExitCode, Failure> {
        let last_failed = self.conversation.transcript().turns.last().is_some_and(|t| {
            t.role == Role::Assistant && t.info.status == Some(AnswerStatus::Failed)
        });
        if !last_failed {
            self.conversation.finish();
        }
        self.save()?;
        self.printer.status(format!("saved {}", self.path.display()));
        Ok(if last_failed { ExitCode::WorkFailed } else { ExitCode::Success })
    }

    fn save(&self) -> Result<(), Failure> {
        store::save(&self.path, self.conversation.transcript()).map_err(Failure::work)
    }

    async fn ask_suggestion(&mut self, pick: Suggestion) -> Result<(), Failure> {
        match &pick.topic {
            Some(slug) => self.add_topic(slug.clone()).await,
            None => self.ask(PlannedTurn { kind: TurnKind::Followup, text: pick.text }).await,
        }
    }

    async fn add_topic(&mut self, slug: String) -> Result<(), Failure> {
        let Some(topic) = self.library.topic_by_slug(&slug) else { return Ok(()) };
        let turn =
            PlannedTurn { kind: TurnKind::Topic(topic.slug.clone()), text: topic.prompt.clone() };
        let meta = self.conversation.meta_mut();
        if !meta.topics.contains(&topic.slug) {
            meta.topics.push(topic.slug.clone());
            meta.title = format!("{} + {}", meta.title, topic.title);
        }
        self.ask(turn).await
    }

    async fn ask(&mut self, turn: PlannedTurn) -> Result<(), Failure> {
        self.conversation.push(turn);
        if let Sent::Answered = self.send().await? {
            self.show_suggestions();
        }
        Ok(())
    }

    /// Sends every planned turn. Ctrl-C stops the answer in flight (the text that arrived is
    /// kept, marked interrupted); a second Ctrl-C before that is done exits with 130.
    async fn send(&mut self) -> Result<Sent, Failure> {
        let endpoint = Endpoint {
            client: self.client,
            request: &self.request,
            limiter: None,
            library: self.library,
        };
        let mut reporter = ChatReporter::new(self.printer, self.style, self.width);
        reporter.window = self.request.context_window;
        reporter.prices = self.prices;
        let cancel = CancellationToken::new();
        let mut twice = false;
        let end = {
            let run =
                runner::run(&mut self.conversation, &self.path, &endpoint, &mut reporter, &cancel);
            tokio::pin!(run);
            tokio::select! {
                end = &mut run => end,
                _ = tokio::signal::ctrl_c() => {
                    cancel.cancel();
                    tokio::select! {
                        end = &mut run => end,
                        _ = tokio::signal::ctrl_c() => { twice = true; run.await }
                    }
                }
            }
        };
        reporter.end_answer();
        let end = end.map_err(Failure::work)?;
        if twice {
            self.printer.status(format!("saved {}", self.path.display()));
            std::process::exit(ExitCode::Interrupted as i32);
        }
        Ok(match end {
            RunEnd::Complete => {
                self.refresh_suggestions().await;
                Sent::Answered
            }
            RunEnd::Interrupted => {
                self.printer.warn("interrupted: the partial answer is kept; /retry asks again");
                self.refresh_suggestions().await;
                Sent::Stopped
            }
            RunEnd::Failed { reason, .. } => {
                self.printer.error(format!("{reason} (/retry to send it again)"));
                Sent::Stopped
            }
        })
    }

    async fn refresh_suggestions(&mut self) {
        let transcript = self.conversation.transcript();
        let mut list =
            suggest::suggest(self.library, transcript, self.stack.as_deref(), SUGGESTIONS);
        if self.suggest_with_model {
            let theirs =
                model_suggestions::ask(self.client, &self.request, transcript, &list).await;
            match theirs {
                Ok(theirs) => {
                    list.truncate(SUGGESTIONS.saturating_sub(theirs.len()));
                    list.extend(theirs);
                }
                Err(e) => self.printer.warn(format!("no suggestions from the model: {e}")),
            }
        }
        self.suggestions = list;
    }

    fn show_suggestions(&self) {
        let _ = self.printer.out(&display::suggestions(&self.suggestions));
    }

    async fn command(
        &mut self,
        id: CommandId,
        arg: Option<&str>,
        source: &Source,
    ) -> Result<(), Failure> {
        match id {
            CommandId::Help => {
                let _ = self.printer.out(&commands::help_text());
            }
            CommandId::Followups => self.show_suggestions(),
            CommandId::Coverage => self.show_coverage(),
            CommandId::Add => match arg {
                Some(name) => match self.library.resolve(name) {
                    Ok(topic) => self.add_topic(topic.slug.clone()).await?,
                    Err(e) => self.printer.warn(e.to_string()),
                },
                None => self
                    .printer
                    .warn("name a topic: /add 15, /add health-checks (see 'deepdive topics')"),
            },
            CommandId::Format => self.format(arg).await?,
            CommandId::Tokens => {
                let table =
                    display::tokens_table(self.conversation.transcript(), self.prices.as_ref());
                let _ = self.printer.out(&table);
            }
            CommandId::Retry => match self.conversation.undo() {
                Some(turn) => {
                    self.save()?;
                    self.ask(turn).await?;
                }
                None => self.printer.warn("nothing to retry yet"),
            },
            CommandId::Undo => match self.conversation.undo() {
                Some(turn) => {
                    self.save()?;
                    self.printer.status(format!(
                        "removed the last exchange: “{}”",
                        turn.text.lines().next().unwrap_or_default()
                    ));
                    self.refresh_suggestions().await;
                }
                None => self.printer.warn("nothing to undo"),
            },
            CommandId::Model => match arg {
                Some(model) => {
                    self.request.model = model.to_string();
                    if let Some(window) = known_context_window(model) {
                        self.request.context_window = Some(window);
                    }
                    self.printer.status(format!("model: {model} (from the next question on)"));
                }
                None => self.printer.status(format!("model: {}", self.request.model)),
            },
            CommandId::Save => self.save_to(arg.map(Path::new))?,
            CommandId::Edit => {
                if !source.is_terminal() {
                    self.printer.warn("/edit needs a terminal");
                } else if let Some(text) = super::editor::compose()? {
                    self.ask(PlannedTurn { kind: TurnKind::Followup, text }).await?;
                }
            }
            CommandId::Quit => {}
        }
        Ok(())
    }

    fn show_coverage(&self) {
        let transcript = self.conversation.transcript();
        let Some(topic) = suggest::current_topic(self.library, transcript) else {
            self.printer.warn("no topic in this conversation yet: /add one");
            return;
        };
        let report = coverage::check(&topic.cover, &answers_since_topic(transcript));
        let _ = self.printer.out(&format!(
            "Coverage of “{}”: {} of {}\n{}",
            topic.title,
            report.covered(),
            crate::render::count(u64::from(report.total()), "point"),
            report.explain()
        ));
    }

    async fn format(&mut self, name: Option<&str>) -> Result<(), Failure> {
        let formats = suggest::format_requests(self.library, self.conversation.transcript());
        match name {
            None => {
                self.suggestions = formats;
                self.show_suggestions();
            }
            Some(name) => {
                let wanted = name.trim().to_ascii_lowercase();
                let template =
                    self.library.followups().iter().find(|f| {
                        f.name == wanted && f.kind == crate::prompts::FollowupKind::Format
                    });
                let topic = suggest::current_topic(self.library, self.conversation.transcript());
                match (template, topic) {
                    (Some(template), Some(topic)) => {
                        let text = template.instantiate(topic, None);
                        self.ask(PlannedTurn { kind: TurnKind::Followup, text }).await?;
                    }
                    (Some(template), None) => {
                        let text = template.text.clone();
                        self.ask(PlannedTurn { kind: TurnKind::Followup, text }).await?;
                    }
                    (None, _) => {
                        let names: Vec<&str> = self
                            .library
                            .followups()
                            .iter()
                            .filter(|f| f.kind == crate::prompts::FollowupKind::Format)
                            .map(|f| f.name.as_str())
                            .collect();
                        self.printer.warn(format!(
                            "unknown format '{name}'; use one of: {}",
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn save_to(&self, path: Option<&Path>) -> Result<(), Failure> {
        match path {
            None => {
                self.save()?;
                self.printer.status(format!("saved {}", self.path.display()));
            }
            Some(path) => {
                store::save(path, self.conversation.transcript()).map_err(Failure::work)?;
                self.printer.status(format!("saved a copy to {}", path.display()));
            }
        }
        Ok(())
    }
}
