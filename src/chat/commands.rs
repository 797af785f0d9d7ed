//! The chat's slash commands as one table, [`COMMANDS`], from which help, completion and
//! parsing all come, and the parser that turns a line of input into an [`Input`].
//!
//! A line is:
//! - empty (only whitespace): [`Input::Empty`];
//! - a number such as `2`: [`Input::Pick`] of that suggestion (1-based; the REPL checks the
//!   range). To send a bare number as a message, add a word ("3 replicas");
//! - `/name [argument]`: a command by name or alias, case-insensitively, with the rest of the
//!   line, trimmed, as its argument. Names are never abbreviated (`/co` is not `/coverage`):
//!   an unknown name gets a hint and is not sent to the model;
//! - `//text`: the message `/text`, for a message that begins with a slash;
//! - anything else: a message, sent as typed without its surrounding whitespace.

/// What a command does; the REPL dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandId {
    Help,
    Followups,
    Coverage,
    Add,
    Format,
    Tokens,
    Retry,
    Undo,
    Model,
    Save,
    Edit,
    Quit,
}

/// One command: its name, aliases, argument and help line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub id: CommandId,
    /// Typed after the slash.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The argument as shown in help: `TOPIC` required, `[PATH]` optional, empty for none.
    pub args: &'static str,
    pub help: &'static str,
}

/// Every command, in the order help lists them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        id: CommandId::Help,
        name: "help",
        aliases: &["h", "?"],
        args: "",
        help: "Show these commands",
    },
    CommandSpec {
        id: CommandId::Followups,
        name: "followups",
        aliases: &["suggest"],
        args: "",
        help: "List the suggested follow-ups again",
    },
    CommandSpec {
        id: CommandId::Coverage,
        name: "coverage",
        aliases: &["cov"],
        args: "",
        help: "Show which Cover: points of the current topic the answers addressed",
    },
    CommandSpec {
        id: CommandId::Add,
        name: "add",
        aliases: &["topic"],
        args: "TOPIC",
        help: "Add a topic (number, slug or slug prefix) to this conversation",
    },
    CommandSpec {
        id: CommandId::Format,
        name: "format",
        aliases: &[],
        args: "[NAME]",
        help: "Ask for the last answer in another format; without NAME, list the formats",
    },
    CommandSpec {
        id: CommandId::Tokens,
        name: "tokens",
        aliases: &["usage"],
        args: "",
        help: "Show the tokens used so far",
    },
    CommandSpec {
        id: CommandId::Retry,
        name: "retry",
        aliases: &["regenerate"],
        args: "",
        help: "Ask for the last answer again, replacing it",
    },
    CommandSpec {
        id: CommandId::Undo,
        name: "undo",
        aliases: &[],
        args: "",
        help: "Drop the last question and its answer",
    },
    CommandSpec {
        id: CommandId::Model,
        name: "model",
        aliases: &[],
        args: "[NAME]",
        help: "Switch to model NAME; without NAME, show the current model",
    },
    CommandSpec {
        id: CommandId::Save,
        name: "save",
        aliases: &[],
        args: "[PATH]",
        help: "Save the transcript now, or a copy of it to PATH",
    },
    CommandSpec {
        id: CommandId::Edit,
        name: "edit",
        aliases: &["e"],
        args: "",
        help: "Write a long question in $EDITOR (or $VISUAL), then send it",
    },
    CommandSpec {
        id: CommandId::Quit,
        name: "quit",
        aliases: &["q", "exit"],
        args: "",
        help: "Save and end the session (also Ctrl-D)",
    },
];

/// How similar an unknown name must be to a command name or alias to be offered as a hint.
const HINT_THRESHOLD: f64 = 0.8;

/// One line of input, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Empty,
    /// Send suggestion N (1-based) of the list last shown.
    Pick(usize),
    Command {
        id: CommandId,
        arg: Option<String>,
    },
    /// `/name` that is no command; `hint` is one line to show instead of sending anything.
    UnknownCommand {
        name: String,
        hint: String,
    },
    Message(String),
}

/// Classifies a line of input (see the module doc).
pub fn parse(line: &str) -> Input {
    let line = line.trim();
    if line.is_empty() {
        return Input::Empty;
    }
    if line.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = line.parse() {
            return Input::Pick(n);
        }
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Input::Message(line.to_string());
    };
    if rest.starts_with('/') {
        return Input::Message(rest.to_string());
    }
    let (name, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let arg = Some(arg.trim()).filter(|a| !a.is_empty()).map(str::to_string);
    match lookup(name) {
        Some(spec) => Input::Command { id: spec.id, arg },
        None => Input::UnknownCommand { name: name.to_string(), hint: hint(name) },
    }
}

/// The command named `name` (without its slash) or one of its aliases, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    let name = name.to_lowercase();
    COMMANDS.iter().find(|c| c.name == name || c.aliases.contains(&name.as_str()))
}

/// The commands `name` may have meant: those it begins, else the closest name or alias.
fn hint(name: &str) -> String {
    const GENERAL: &str =
        "type /help for the commands, or begin with // to send a message that starts with /";
    let name = name.to_lowercase();
    if name.is_empty() {
        return GENERAL.to_string();
    }
    let begun: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.name.starts_with(&name))
        .map(|c| format!("/{}", c.name))
        .collect();
    if !begun.is_empty() {
        return format!("did you mean {}? ({GENERAL})", begun.join(" or "));
    }
    let mut best: Option<(f64, &CommandSpec)> = None;
    for spec in COMMANDS {
        for candidate in std::iter::once(&spec.name).chain(spec.aliases) {
            let score = strsim::jaro_winkler(&name, candidate);
            if score >= HINT_THRESHOLD && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, spec));
            }
        }
    }
    match best {
        Some((_, spec)) => format!("did you mean /{}? ({GENERAL})", spec.name),
        None => GENERAL.to_string(),
    }
}

/// The help screen: one line per command, then how to pick and send.
pub fn help_text() -> String {
    let usage = |c: &CommandSpec| {
        let names: Vec<String> =
            std::iter::once(&c.name).chain(c.aliases).map(|n| format!("/{n}")).collect();
        let names = names.join(", ");
        if c.args.is_empty() { names } else { format!("{names} {}", c.args) }
    };
    let width = COMMANDS.iter().map(|c| usage(c).chars().count()).max().unwrap_or(0);
    let mut out = String::from("Commands:\n");
    for c in COMMANDS {
        out.push_str(&format!("  {:width$}  {}\n", usage(c), c.help));
    }
    out.push_str(
        "\nType a number to send that suggested follow-up; anything else is sent as typed.\n\
         Begin a message with // to send one that starts with /.\n",
    );
    out
}

/// Command names that complete `line` ("/co" gives "/coverage"); nothing once the line has an
/// argument or is not a command (argument completion is the REPL's: it knows the topics).
pub fn complete(line: &str) -> Vec<String> {
    let Some(typed) = line.strip_prefix('/') else {
        return Vec::new();
    };
    if typed.starts_with('/') || typed.contains(char::is_whitespace) {
        return Vec::new();
    }
    let typed = typed.to_lowercase();
    COMMANDS.iter().filter(|c| c.name.starts_with(&typed)).map(|c| format!("/{}", c.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CommandId; 12] = [
        CommandId::Help,
        CommandId::Followups,
        CommandId::Coverage,
        CommandId::Add,
        CommandId::Format,
        CommandId::Tokens,
        CommandId::Retry,
        CommandId::Undo,
        CommandId::Model,
        CommandId::Save,
        CommandId::Edit,
        CommandId::Quit,
    ];

    /// Fails to compile when a command is added without adding it to `ALL`.
    fn position(id: CommandId) -> usize {
        match id {
            CommandId::Help => 0,
            CommandId::Followups => 1,
            CommandId::Coverage => 2,
            CommandId::Add => 3,
            CommandId::Format => 4,
            CommandId::Tokens => 5,
            CommandId::Retry => 6,
            CommandId::Undo => 7,
            CommandId::Model => 8,
            CommandId::Save => 9,
            CommandId::Edit => 10,
            CommandId::Quit => 11,
        }
    }

    fn command(id: CommandId, arg: Option<&str>) -> Input {
        Input::Command { id, arg: arg.map(str::to_string) }
    }

    fn hint_of(line: &str) -> String {
        match parse(line) {
            Input::UnknownCommand { hint, .. } => hint,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn every_command_has_exactly_one_spec_and_names_are_unique() {
        for (i, id) in ALL.into_iter().enumerate() {
            assert_eq!(position(id), i);
            assert_eq!(COMMANDS.iter().filter(|c| c.id == id).count(), 1, "{id:?}");
        }
        assert_eq!(COMMANDS.len(), ALL.len());
        let mut names: Vec<&str> =
            COMMANDS.iter().flat_map(|c| c.aliases.iter().copied()).collect();
        names.extend(COMMANDS.iter().map(|c| c.name));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name or alias is used twice");
        assert!(names.iter().all(|n| !n.is_empty() && *n == n.to_lowercase() && !n.contains(' ')));
    }

    #[test]
    fn each_command_parses_by_name_and_by_alias() {
        for spec in COMMANDS {
            assert_eq!(parse(&format!("/{}", spec.name)), command(spec.id, None));
            for alias in spec.aliases {
                assert_eq!(parse(&format!("/{alias}")), command(spec.id, None), "{alias}");
            }
        }
        assert_eq!(parse("/q"), command(CommandId::Quit, None));
        assert_eq!(parse("  /QUIT  "), command(CommandId::Quit, None));
    }

    #[test]
    fn the_rest_of_the_line_is_the_argument() {
        assert_eq!(parse("/add health"), command(CommandId::Add, Some("health")));
        assert_eq!(parse("/add\thealth  "), command(CommandId::Add, Some("health")));
        assert_eq!(
            parse("/save my notes/run 1.md"),
            command(CommandId::Save, Some("my notes/run 1.md"))
        );
        assert_eq!(parse("/model   gpt-4o-mini"), command(CommandId::Model, Some("gpt-4o-mini")));
        assert_eq!(parse("/add   "), command(CommandId::Add, None));
    }

    #[test]
    fn numbers_pick_suggestions() {
        assert_eq!(parse("2"), Input::Pick(2));
        assert_eq!(parse("  12 \n"), Input::Pick(12));
        assert_eq!(parse("0"), Input::Pick(0));
        assert_eq!(parse("3 replicas"), Input::Message("3 replicas".into()));
        assert_eq!(parse("-1"), Input::Message("-1".into()));
        let huge = "9".repeat(40);
        assert_eq!(parse(&huge), Input::Message(huge.clone()));
    }

    #[test]
    fn plain_text_and_blank_lines() {
        assert_eq!(parse(""), Input::Empty);
        assert_eq!(parse(" \t\n"), Input::Empty);
        assert_eq!(
            parse("  How do probes interact with Istio?\n"),
            Input::Message("How do probes interact with Istio?".into())
        );
        assert_eq!(parse("a/b testing"), Input::Message("a/b testing".into()));
    }

    #[test]
    fn a_double_slash_sends_a_message_that_starts_with_a_slash() {
        assert_eq!(parse("//etc/hosts is wrong"), Input::Message("/etc/hosts is wrong".into()));
        assert_eq!(parse("//help"), Input::Message("/help".into()));
    }

    #[test]
    fn unknown_commands_get_a_hint_instead_of_being_sent() {
        assert_eq!(
            parse("/covrage"),
            Input::UnknownCommand { name: "covrage".into(), hint: hint("covrage") }
        );
        assert!(hint_of("/covrage").starts_with("did you mean /coverage?"));
        assert!(hint_of("/Qiut").starts_with("did you mean /quit?"));
        assert!(hint_of("/regen").starts_with("did you mean /retry?"), "{}", hint_of("/regen"));
        assert!(hint_of("/fo").starts_with("did you mean /followups or /format?"));
        assert!(hint_of("/co now").starts_with("did you mean /coverage?"));
        for line in ["/", "/xyzzy", "/etc/hosts"] {
            assert!(hint_of(line).starts_with("type /help"), "{line}: {}", hint_of(line));
            assert!(hint_of(line).contains("//"));
        }
    }

    #[test]
    fn help_lists_every_command_with_its_aliases_and_argument() {
        let help = help_text();
        for spec in COMMANDS {
            let line =
                help.lines().find(|l| l.trim_start().starts_with(&format!("/{}", spec.name)));
            let line = line.unwrap_or_else(|| panic!("/{} missing from help", spec.name));
            assert!(line.contains(spec.help));
            assert!(line.contains(spec.args));
            assert!(spec.aliases.iter().all(|a| line.contains(&format!("/{a}"))));
        }
        assert!(help.contains("/add, /topic TOPIC"));
        assert!(help.contains("//"));
    }

    #[test]
    fn completion_offers_command_names() {
        assert_eq!(complete("/co"), ["/coverage"]);
        assert_eq!(complete("/F"), ["/followups", "/format"]);
        assert_eq!(complete("/").len(), COMMANDS.len());
        assert_eq!(complete("/quit"), ["/quit"]);
        assert!(complete("/zz").is_empty());
        assert!(complete("/add hea").is_empty());
        assert!(complete("//co").is_empty());
        assert!(complete("co").is_empty());
    }
}
