//! Text from a model, a transcript or a server never sends control sequences to the
//! terminal (issue 12, point 10): `chat`, `show`, `compare` and error messages show them
//! visibly, deepdive's own styling still works, and the transcript keeps the text byte for
//! byte. Checked on the real binary's stdout and stderr, and through a pseudo-terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};
use deepdive::session::store;

/// An answer that tries everything: a clipboard write (OSC 52), a title change, a screen
/// clear, an OSC 8 link, a C1 CSI, a bell, a backspace and a carriage return that would
/// overwrite the line.
const HOSTILE: &str = "Use **probes**.\x1b]52;c;cm0gLXJmIH4=\x07 \x1b]0;owned\x1b\\ \x1b[2J\x1b[H \
                       \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ \u{9b}31m red \x08 \
                       safe\rEVIL\n";

/// The escapes as they must be shown.
const SHOWN: [&str; 6] = [
    "^[]52;c;cm0gLXJmIH4=^G",
    "^[]0;owned^[\\",
    "^[[2J^[[H",
    "^[]8;;http://evil.example^[\\link",
    "\\u{9b}31m",
    "safe^MEVIL",
];

/// True when `text` carries any control character a terminal would act on.
fn has_raw_controls(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c))
}

fn sandbox_for(url: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[retry]\nmax_attempts = 1\n\n[profiles.test]\nbase_url = \"{url}\"\nmodel = \"m\"\n\
         api_key_env = \"\"\n"
    ));
    sandbox
}

/// Runs a chat on topic 15 whose answers are [`HOSTILE`]; returns its stdout and transcript.
fn hostile_chat() -> (Sandbox, String, std::path::PathBuf) {
    let server = TestServer::start(Script::from_fn(|_, _| Reply::stream(HOSTILE).chunks(7)));
    let sandbox = sandbox_for(&server.url());
    let output = sandbox.cmd().args(["chat", "15"]).write_stdin("/quit\n").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let files = sandbox.transcripts_in(&sandbox.sessions_dir());
    assert_eq!(files.len(), 1);
    (sandbox, String::from_utf8(output.stdout).unwrap(), files[0].clone())
}

#[test]
fn chat_shows_control_sequences_visibly_and_the_transcript_keeps_them() {
    let (_sandbox, stdout, path) = hostile_chat();
    assert!(!has_raw_controls(&stdout), "{stdout:?}");
    for shown in SHOWN {
        assert!(stdout.contains(shown), "{shown} in {stdout:?}");
    }
    let transcript = store::load(&path).unwrap();
    assert_eq!(transcript.turns[1].text, HOSTILE, "kept byte for byte");
    assert_eq!(transcript.turns[3].text, HOSTILE);
}

#[test]
fn show_and_compare_never_send_control_sequences() {
    let (sandbox, _, path) = hostile_chat();
    // A title edited to carry an escape, too.
    let text = std::fs::read_to_string(&path).unwrap();
    let retitled = text.replacen("title = \"", "title = \"\\u001B]0;pwned\\u0007", 1);
    assert_ne!(retitled, text, "the title line was found");
    std::fs::write(&path, retitled).unwrap();

    let output = sandbox.cmd().arg("show").arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!has_raw_controls(&stdout), "{stdout:?}");
    assert!(stdout.starts_with("^[]0;pwned^G"), "{stdout:?}");
    assert!(stdout.contains(SHOWN[0]), "{stdout:?}");

    let output = sandbox
        .cmd()
        .arg("compare")
        .arg(&path)
        .arg(&path)
        .arg("--out")
        .arg(sandbox.path().join("cmp.md"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!has_raw_controls(&stdout), "{stdout:?}");
    assert!(!has_raw_controls(&String::from_utf8_lossy(&output.stderr)));
}

#[test]
fn in_a_terminal_deepdive_styles_its_output_but_shows_foreign_escapes() {
    let (sandbox, _, path) = hostile_chat();
    let mut cmd = sandbox.std_cmd();
    cmd.arg("show").arg(&path).env("TERM", "xterm").env_remove("NO_COLOR");
    let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let shown = session.exp_eof().unwrap();
    assert!(shown.contains("\x1b[1mprobes\x1b[0m"), "deepdive's own bold: {shown:?}");
    assert!(shown.contains("^[]52;c;"), "{shown:?}");
    for raw in ["\x1b]52", "\x1b]0;", "\x1b[2J", "\x1b]8;", "\u{9b}", "\x07", "\x08"] {
        assert!(!shown.contains(raw), "{raw:?} reached the terminal: {shown:?}");
    }
}

#[test]
fn error_messages_quoting_the_server_show_its_escapes() {
    let message = "overloaded \x1b]52;c;ZXZpbA==\x07\x1b[2J\u{9b}H";
    let server = TestServer::start(Script::from_fn(move |_, _| Reply::error(400, message)));
    let sandbox = sandbox_for(&server.url());
    let output = sandbox.cmd().args(["batch", "15"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("overloaded ^[]52;c;ZXZpbA==^G^[[2J\\u{9b}H"), "{stderr:?}");
    assert!(!has_raw_controls(&stderr), "{stderr:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!has_raw_controls(&stdout), "the summary table quotes it too: {stdout:?}");
}
