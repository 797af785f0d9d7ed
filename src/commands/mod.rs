//! One module per subcommand; this one turns the parsed command line into resolved settings
//! and dispatches.

mod backend;
pub(crate) mod batch;
mod chat;
mod compare;
mod completions;
mod config;
mod handbook;
mod interrupt;
pub(crate) mod model;
mod prompt;
mod replay;
mod sessions;
mod show;
mod topics;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::driver::RequestSettings;
use crate::exit::{CommandResult, Failure};
use crate::prompts::Library;
use crate::render::{Printer, Verbosity};
use crate::settings::{self, Overrides, Settings};

/// What every command that reads config gets: the resolved settings and the printer.
pub struct Context {
    pub settings: Settings,
    pub printer: Printer,
    /// What the command line said, for commands that resolve the settings again (a batch
    /// resumed with its run's stored profile and model) or print a command to run next.
    pub overrides: Overrides,
}

impl Context {
    /// The built-in prompt library plus the user's prompts directory, if one is configured.
    pub fn library(&self) -> Result<Library, crate::prompts::PromptError> {
        Library::load(self.settings.prompts_dir())
    }

    /// The per-request parameters every turn shares.
    pub fn request_settings(&self) -> RequestSettings {
        let s = &self.settings;
        RequestSettings {
            model: s.model().to_string(),
            temperature: s.temperature(),
            max_tokens: s.max_tokens(),
            context_window: s.context_window(),
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CommandResult {
    let printer = Printer::new(verbosity(&cli.global));
    // Completions need no settings, so a broken config file cannot stop them.
    let context = || -> Result<Context, Failure> {
        let env = |name: &str| std::env::var(name).ok();
        let overrides = overrides(&cli.global);
        let settings = settings::resolve(&overrides, &env)?;
        Ok(Context { settings, printer, overrides })
    };
    match &cli.command {
        Command::Completions(args) => completions::run(args, &printer),
        Command::Topics(args) => topics::run(&context()?, args),
        Command::Prompt(args) => prompt::run(&context()?, args),
        Command::Chat(args) => chat::run(&context()?, args),
        Command::Batch(args) => batch::run(&context()?, args),
        Command::Replay(args) => replay::run(&context()?, args),
        Command::Handbook(args) => handbook::run(&context()?, args),
        Command::Config(command) => config::run(&context()?, command),
        Command::Show(args) => show::run(&context()?, args),
        Command::Sessions(args) => sessions::run(&context()?, args),
        Command::Compare(args) => compare::run(&context()?, args),
        // Model commands need no settings, so a broken config cannot stop them; a working one
        // names the local profile's model, which `model pull` fetches when given no name.
        Command::Model(command) => {
            let configured = context()
                .ok()
                .filter(|ctx| ctx.settings.backend() == settings::Backend::Local)
                .map(|ctx| ctx.settings.model().to_string());
            model::run(command, printer, configured.as_deref())
        }
    }
}

fn verbosity(global: &GlobalArgs) -> Verbosity {
    if global.quiet {
        Verbosity::Quiet
    } else if global.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

fn overrides(global: &GlobalArgs) -> Overrides {
    Overrides {
        config_path: global.config.clone(),
        profile: global.profile.clone(),
        model: global.model.clone(),
        base_url: global.base_url.clone(),
        temperature: global.temperature,
        max_tokens: global.max_tokens,
        no_stream: global.no_stream,
        sessions_dir: global.sessions_dir.clone(),
        prompts_dir: global.prompts_dir.clone(),
        stack: global.stack.clone(),
        context_window: global.context_window,
        max_attempts: global.max_attempts,
        coverage: global.coverage.map(|c| match c {
            crate::cli::CoverageArg::Lexical => settings::CoverageMode::Lexical,
            crate::cli::CoverageArg::Model => settings::CoverageMode::Model,
        }),
        judge_model: global.judge_model.clone(),
        judge_profile: global.judge_profile.clone(),
    }
}
