//! Command-line types (clap only). Doc comments here are the `--help` text; nothing below
//! `commands/` sees these types: they become `settings::Overrides` and plain arguments.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Runs the Production Readiness Deep-Dive Prompt Guide against any OpenAI-compatible
/// chat-completions endpoint and keeps every session as a markdown transcript.
#[derive(Debug, Parser)]
#[command(name = "deepdive", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts (flags beat environment, which beats the config file).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file [default: <config dir>/deepdive/config.toml; env DEEPDIVE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Endpoint profile from the config file [env DEEPDIVE_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Model: a name the endpoint serves; for the local backend, owner/repo:QUANT or a .gguf
    /// file [env DEEPDIVE_MODEL]
    #[arg(long, global = true, value_name = "MODEL")]
    pub model: Option<String>,

    /// Base URL of the OpenAI-compatible API, e.g. http://localhost:11434/v1 [env OPENAI_BASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,

    /// Your technologies, sent after the priming prompt, e.g. "PostgreSQL, Spring Boot, EKS, Istio"
    /// [env DEEPDIVE_STACK]
    #[arg(long, global = true, value_name = "TECHNOLOGIES")]
    pub stack: Option<String>,

    /// Sampling temperature (0–2)
    #[arg(long, global = true, value_name = "T")]
    pub temperature: Option<f32>,

    /// Most tokens an answer may have
    #[arg(long, global = true, value_name = "N")]
    pub max_tokens: Option<u32>,

    /// The model's context window in tokens (requests that would not fit fail before sending)
    #[arg(long, global = true, value_name = "TOKENS")]
    pub context_window: Option<u32>,

    /// Attempts per request before giving up (connect errors, timeouts, 429, 5xx)
    #[arg(long, global = true, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Ask for whole answers instead of a stream (for servers without SSE)
    #[arg(long, global = true)]
    pub no_stream: bool,

    /// How the topics' "Cover:" points are judged after each answer: lexical (term matching,
    /// the default) or model (one request to a model judge, quotes checked)
    #[arg(long, global = true, value_name = "METHOD")]
    pub coverage: Option<CoverageArg>,

    /// The model judge's model, with --coverage model [default: the judge profile's, else --model]
    #[arg(long, global = true, value_name = "MODEL")]
    pub judge_model: Option<String>,

    /// A profile whose endpoint the model judge uses, with --coverage model [default: this one]
    #[arg(long, global = true, value_name = "NAME")]
    pub judge_profile: Option<String>,

    /// Where transcripts are saved [env DEEPDIVE_SESSIONS_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,

    /// Your own prompts: extra topics, and overrides of built-in ones by slug
    /// [env DEEPDIVE_PROMPTS_DIR]
    #[arg(long = "prompts", global = true, value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,

    /// Say more: each request's URL, model, message count and prompt tokens
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Say less: only results and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--coverage`: how coverage verdicts are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CoverageArg {
    Lexical,
    Model,
}

/// What a subcommand's help says instead of listing the global options again.
const GLOBAL_OPTIONS_NOTE: &str = "Global options (--model, --profile, --stack, -v, -q, ...) work here too: see 'deepdive --help'.";

/// Parses the process's arguments; on bad usage prints clap's error and exits with 2.
pub fn parse() -> Cli {
    let mut command = command();
    let matches = command.get_matches_mut();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// The command line as deepdive parses it and shows its help: the global options are listed
/// once, in `deepdive --help`; each subcommand still accepts them and says so in one line.
pub fn command() -> clap::Command {
    let command = Cli::command();
    let globals: Vec<clap::Arg> =
        command.get_arguments().filter(|a| a.is_global_set()).cloned().collect();
    // A subcommand that has an argument of its own by a global option's id gets no copy of
    // the global one; the hidden copies given here still parse as the global options.
    command.mut_subcommands(|sub| {
        let hidden = globals.iter().map(|arg| arg.clone().hide(true));
        with_note(sub.args(hidden))
    })
}

/// `sub` and its own subcommands, each with the line about the global options in its help.
fn with_note(sub: clap::Command) -> clap::Command {
    let note = match sub.get_after_help() {
        Some(own) => format!("{own}\n\n{GLOBAL_OPTIONS_NOTE}"),
        None => GLOBAL_OPTIONS_NOTE.to_string(),
    };
    sub.after_help(note).mut_subcommands(with_note)
}

/// The command line for shell completion scripts: every option visible, and the TOPIC
/// arguments completing the given topic slugs (with their titles) and follow-up names. Only
/// the scripts see these values; the parser still takes numbers and prefixes.
pub fn for_completions(topics: &[(&str, &str)], followups: &[&str]) -> clap::Command {
    let slugs: Vec<PossibleValue> = topics
        .iter()
        .map(|&(slug, title)| PossibleValue::new(slug.to_string()).help(title.to_string()))
        .collect();
    let names: Vec<PossibleValue> =
        followups.iter().map(|&name| PossibleValue::new(name.to_string())).collect();
    let values = |values: &[PossibleValue]| {
        let values = values.to_vec();
        move |arg: clap::Arg| arg.value_parser(clap::builder::PossibleValuesParser::new(values))
    };
    Cli::command()
        .mut_subcommand("prompt", |c| c.mut_arg("topics", values(&slugs)))
        .mut_subcommand("chat", |c| c.mut_arg("topics", values(&slugs)))
        .mut_subcommand("batch", |c| {
            c.mut_arg("topics", values(&slugs)).mut_arg("followups", values(&names))
        })
        .mut_subcommand("sessions", |c| c.mut_arg("topic", values(&slugs)))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the topic library: number, slug, title
    Topics(TopicsArgs),
    /// Print the exact messages a session would send, for copy-paste
    Prompt(PromptArgs),
    /// Interactive guided session on one or more topics, with suggested follow-ups
    Chat(ChatArgs),
    /// Run topics unattended, each as its own conversation, into a run folder with a handbook
    Batch(BatchArgs),
    /// Send a saved session's (or a run folder's) questions again, to the current model
    Replay(ReplayArgs),
    /// Rebuild a run folder's handbook (handbook.md, handbook.html, coverage.svg, index.md)
    /// from its transcripts, or make one from a saved session
    Handbook(HandbookArgs),
    /// Show a saved transcript as chat shows it, or a batch run folder's summary
    Show(ShowArgs),
    /// List saved sessions and batch runs, newest first
    Sessions(SessionsArgs),
    /// Compare two saved sessions (or two batch run folders) topic by topic
    Compare(CompareArgs),
    /// GGUF models for the built-in local backend, kept in the Hugging Face cache
    /// (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT and HF_HUB_OFFLINE apply)
    #[command(subcommand)]
    Model(ModelCommand),
    /// Inspect the resolved configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,

    /// List the named follow-ups instead (for `batch --followups`)
    #[arg(long)]
    pub followups: bool,
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Topics by number (15), slug (health-checks) or unambiguous prefix (health)
    #[arg(required = true, value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// Print the request's `messages` array as JSON
    #[arg(long)]
    pub json: bool,

    /// Print the requests as the local GGUF model sees them (its chat template applied) with
    /// their exact token counts (its tokenizer)
    #[arg(long, conflicts_with = "json")]
    pub rendered: bool,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Topics for this conversation, by number, slug or prefix; without any, a picker asks
    #[arg(value_name = "TOPIC", conflicts_with = "resume")]
    pub topics: Vec<String>,

    /// Continue a saved session: FILE (also relative to the sessions directory, as
    /// `deepdive sessions` prints it), or the latest one in the sessions directory
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub resume: Option<Option<std::path::PathBuf>>,

    /// With --resume: show the whole conversation so far, not only its last exchange
    #[arg(long, requires = "resume")]
    pub history: bool,

    /// After each answer, also ask the model for follow-up questions (one extra request)
    #[arg(long)]
    pub suggest_with_model: bool,
}

#[derive(Clone, Debug, Args)]
pub struct ReplayArgs {
    /// A saved transcript, or a batch run folder (also relative to the sessions directory,
    /// as `deepdive sessions` prints it)
    #[arg(value_name = "FILE|DIR")]
    pub source: std::path::PathBuf,

    /// Replay only the first N user turns (fork a session at a turn; continue it with
    /// `chat --resume`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub until: Option<u32>,

    /// Where to save: a transcript file (FILE), or a run folder (DIR)
    /// [default: a new file in the sessions dir / <sessions>/runs/<time>-replay-<name>]
    #[arg(long, value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,

    /// With a run folder: topics in flight at once
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
}

#[derive(Debug, Args)]
pub struct HandbookArgs {
    /// A batch run folder, or one saved transcript (.md)
    #[arg(value_name = "DIR|FILE")]
    pub source: PathBuf,

    /// Folder to write the handbook into [default: the run folder; for a transcript
    /// x.md, the folder x.handbook next to it]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Topics by number, slug or unambiguous prefix
    #[arg(value_name = "TOPIC", conflicts_with_all = ["all", "resume"])]
    pub topics: Vec<String>,

    /// Run every topic of the library, in guide order
    #[arg(long, conflicts_with = "resume")]
    pub all: bool,

    /// Follow-ups sent after each topic's answer, in order, e.g. checklist,mistakes,gaps
    /// (names from `deepdive topics --followups`; `gaps` asks for the "Cover:" points the
    /// answer missed)
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub followups: Vec<String>,

    /// Topics in flight at once (lowered automatically while the endpoint rate-limits)
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Run folder for the transcripts, manifest.json and the index.md handbook; running the
    /// same command into the same folder again does only what is missing or failed
    /// [default: <sessions dir>/runs/<time>-<topics>]
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<std::path::PathBuf>,

    /// Continue the run in DIR: only topics that are missing, unfinished or failed
    #[arg(long, value_name = "DIR")]
    pub resume: Option<std::path::PathBuf>,

    /// With --resume or --out: rerun only the topics that failed
    #[arg(long)]
    pub retry_failed: bool,

    /// With --resume or --out: also rerun the topics whose answers were cut off at the token
    /// limit, from the cut-off answer on (raise --max-tokens with it)
    #[arg(long)]
    pub retry_truncated: bool,

    /// Ask the priming prompt in every topic's conversation, instead of once per run with its
    /// answer shared as every topic's first exchange
    #[arg(long)]
    pub fresh_priming: bool,

    /// Print the plan with token and cost estimates; send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Stop launching topics once the recorded cost plus the next topic's estimate would pass
    /// this many US dollars (needs prices in the profile)
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show every resolved setting and where it came from (the key is never shown)
    Show,
    /// Print the path of the config file deepdive reads
    Path,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A transcript (.md), or a batch run folder for its summary (also relative to the
    /// sessions directory, as `deepdive sessions` prints it)
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,

    /// Only sessions and runs that include this topic (number, slug or unambiguous prefix)
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first transcript or run folder (A; also relative to the sessions directory)
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// The second transcript or run folder (B; also relative to the sessions directory)
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Where to write the markdown comparison [default: <sessions dir>/compare/<A>-vs-<B>.md]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a model into the cache (an interrupted download resumes; the file is verified)
    Pull(ModelPullArgs),
    /// List the GGUF models in the cache: name, file, size
    List(ModelListArgs),
    /// Remove a model's file from the cache
    Rm(ModelRmArgs),
}

#[derive(Debug, Args)]
pub struct ModelPullArgs {
    /// owner/repo:QUANT, e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0 [default: the local
    /// profile's model, Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M unless configured]
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ModelListArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ModelRmArgs {
    /// owner/repo:QUANT, as `deepdive model list` shows it
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
        for_completions(&[("health-checks", "Health Checks")], &["mistakes"]).debug_assert();
    }
}
