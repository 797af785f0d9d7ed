//! The API key never reaches a transcript, a log line, an error message or verbose output:
//! every failure path runs with a recognisable key, and every output and file is searched.

#![allow(clippy::unwrap_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::server::{
    Reply, Script, TestServer, closed_port_url, content_event, error_event,
};

const KEY: &str = "sk-test-CANARY-7f3a9c";

fn assert_no_key(sandbox: &Sandbox, output: &std::process::Output, what: &str) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(KEY), "{what}: the key leaked to {stream}:\n{text}");
        assert!(!text.contains("CANARY"), "{what}: part of the key leaked to {stream}:\n{text}");
    }
    for (path, bytes) in sandbox.all_files() {
        if path.ends_with("config.toml") {
            continue; // holds the key command, which the user wrote
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("CANARY"), "{what}: the key leaked into {}", path.display());
    }
}

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.cmd().args(args).arg("--verbose").env("OPENAI_API_KEY", KEY).output().unwrap()
}

#[test]
fn failure_paths_never_show_the_key() {
    let faults: Vec<(&str, Reply)> = vec![
        ("401", Reply::error(401, "Incorrect API key provided")),
        ("403", Reply::error(403, "forbidden")),
        ("404", Reply::error(404, "model not found")),
        ("echoed key", Reply::error(400, &format!("bad key {KEY} given"))),
        ("500 html", Reply::html(500, &format!("<html>Bearer {KEY}</html>"))),
        (
            "context",
            Reply::error_with(
                400,
                "maximum context length is 10",
                "x",
                Some("context_length_exceeded"),
            ),
        ),
        ("malformed", Reply::sse_events(["data: {not json\n\n"])),
        (
            "in-stream error",
            Reply::sse_events([
                content_event("a"),
                format!("data: {{\"error\":{{\"message\":\"key {KEY}\"}}}}\n\n"),
            ]),
        ),
        ("200 html", Reply::html(200, "<html>login</html>")),
        ("dropped", Reply::stream("partial answer").chunks(4).abort_after(2)),
    ];
    for (what, reply) in faults {
        let server = TestServer::start(Script::from_fn(move |_, _| reply.clone()));
        let sandbox = Sandbox::new();
        let output =
            run(&sandbox, &["batch", "15", "--max-attempts", "2", "--base-url", &server.url()]);
        assert_ne!(output.status.code(), Some(0), "{what} should fail");
        assert_eq!(
            server.requests()[0].header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_no_key(&sandbox, &output, what);
    }
}

#[test]
fn a_refused_connection_and_a_successful_run_never_show_the_key() {
    let sandbox = Sandbox::new();
    let output =
        run(&sandbox, &["batch", "15", "--max-attempts", "1", "--base-url", &closed_port_url()]);
    assert_eq!(output.status.code(), Some(1));
    assert_no_key(&sandbox, &output, "refused");

    let server = TestServer::start(Script::echo());
    let output = run(&sandbox, &["batch", "15", "--base-url", &server.url()]);
    assert_eq!(output.status.code(), Some(0));
    assert_no_key(&sandbox, &output, "success");
}

#[test]
fn config_show_and_a_failing_key_command_never_show_the_key() {
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &["config", "show"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("OPENAI_API_KEY"));
    assert_no_key(&sandbox, &output, "config show");

    // The command prints the key without containing it, so any "CANARY" in the output is a leak.
    sandbox.write_config(&format!(
        "[profiles.cmd]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_cmd = \"printf sk-test-%s%s-7f3a9c CAN ARY; exit 3\"\n",
        closed_port_url()
    ));
    let output = run(&sandbox, &["batch", "15"]);
    assert_eq!(output.status.code(), Some(2), "a failing key command is a config error");
    assert_no_key(&sandbox, &output, "failing key command");

    let server = TestServer::start(Script::echo());
    sandbox.write_config(&format!(
        "[profiles.cmd]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_cmd = \"printf sk-test-%s%s-7f3a9c CAN ARY\"\n",
        server.url()
    ));
    let output = run(&sandbox, &["batch", "15"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_no_key(&sandbox, &output, "key from a command");
}

// ---- Issue 12: redirects, masking before the cut, URL credentials, key destinations ----

/// True when any 8 characters in a row of `secret` appear in `text`: a key cut in half by a
/// length limit still counts as leaked.
fn leaks(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(8).any(|w| text.contains(&w.iter().collect::<String>()))
}

/// Every output stream and every file of the sandbox (but the config file) checked for
/// `secret`, in whole or in part.
fn assert_nowhere(sandbox: &Sandbox, output: &std::process::Output, secret: &str, what: &str) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!leaks(&text, secret), "{what}: {secret} leaked to {stream}:\n{text}");
    }
    for (path, bytes) in sandbox.all_files() {
        if path.ends_with("config.toml") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!leaks(&text, secret), "{what}: {secret} leaked into {}", path.display());
    }
}

const HEADER_SECRET: &str = "azure-HEADERCANARY-5150";
const SUBSCRIPTION: &str = "apim-SUBSCRIPTION-90210";

fn profile_with_headers(url: &str) -> String {
    format!(
        "[retry]\nmax_attempts = 2\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.gw]\nbase_url = \"{url}\"\nmodel = \"m\"\napi_key_env = \"GW_KEY\"\n\
         [profiles.gw.headers]\n\"api-key\" = \"{HEADER_SECRET}\"\n\
         \"Ocp-Apim-Subscription-Key\" = \"{SUBSCRIPTION}\"\n\"X-Title\" = \"deepdive\"\n"
    )
}

#[test]
fn a_cross_origin_redirect_sends_nothing_there_and_names_the_location() {
    let elsewhere = TestServer::start(Script::echo());
    let location = format!("{}/chat/completions", elsewhere.url());
    for status in [301, 302, 307, 308] {
        let target = location.clone();
        let server =
            TestServer::start(Script::from_fn(move |_, _| Reply::redirect(status, &target)));
        let sandbox = Sandbox::new();
        sandbox.write_config(&profile_with_headers(&server.url()));
        let output = sandbox
            .cmd()
            .args(["batch", "15", "--out"])
            .arg(sandbox.run_dir())
            .env("GW_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{status}: the topic fails");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&location) && stderr.contains("base URL"), "{status}: {stderr}");
        assert_eq!(server.hits(), 1, "{status}: not retried, the endpoint is refused");
        assert_eq!(server.requests()[0].header("api-key"), Some(HEADER_SECRET));
        for secret in [KEY, HEADER_SECRET, SUBSCRIPTION] {
            assert_nowhere(&sandbox, &output, secret, "redirect");
        }
    }
    assert_eq!(elsewhere.hits(), 0, "the other origin never saw a request, key or header");
}

#[test]
fn a_key_or_header_value_crossing_the_cut_is_masked_in_stderr_manifest_and_transcript() {
    // Each reply echoes the secrets where a cut to 80 or 120 characters falls inside them.
    let echo = |start: usize, secret: &str| format!("{}{secret} and more", "x".repeat(start));
    let replies: Vec<(&str, Reply)> = vec![
        ("message 120", Reply::error(500, &echo(112, KEY))),
        ("header 120", Reply::error(500, &echo(115, HEADER_SECRET))),
        ("html page", Reply::html(502, &format!("<html>{}", echo(110, SUBSCRIPTION)))),
        ("stream error", Reply::sse_events([content_event("a"), error_event(&echo(114, KEY))])),
        ("bad chunk", Reply::sse_events([format!("data: {{{}\n\n", echo(75, KEY))])),
    ];
    for (what, reply) in replies {
        let server = TestServer::start(Script::from_fn(move |_, _| reply.clone()));
        let sandbox = Sandbox::new();
        sandbox.write_config(&profile_with_headers(&server.url()));
        let output = sandbox
            .cmd()
            .args(["batch", "15", "--verbose", "--out"])
            .arg(sandbox.run_dir())
            .env("GW_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{what}");
        let manifest = std::fs::read_to_string(sandbox.run_dir().join("manifest.json")).unwrap();
        assert!(manifest.contains("xxxxxxxxxx"), "{what}: the error is recorded: {manifest}");
        for secret in [KEY, HEADER_SECRET, SUBSCRIPTION] {
            assert_nowhere(&sandbox, &output, secret, what);
        }
    }
}

#[test]
fn credentials_in_the_base_url_are_redacted_everywhere() {
    let server = TestServer::start(Script::from_fn(|request, n| match n {
        0 => Reply::default_for(request),
        _ => Reply::error(404, "no such model"),
    }));
    let base = server.url().replace("http://", "http://deploy:PASSCANARY-31@")
        + "?api-version=2024-06-01&api-key=QUERYCANARY-77";
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| {
        sandbox
            .cmd()
            .args(args)
            .args(["--verbose", "--base-url", &base, "--max-attempts", "1"])
            .env("OPENAI_API_KEY", KEY)
            .output()
            .unwrap()
    };
    let outputs = [
        run(&["batch", "15", "--out", &sandbox.run_dir().display().to_string()]),
        run(&["config", "show"]),
        run(&["batch", "15", "--dry-run"]),
        run(&["chat", "15"]),
    ];
    assert!(server.requests()[0].path.ends_with("/chat/completions"));
    let config_show = String::from_utf8_lossy(&outputs[1].stdout);
    assert!(config_show.contains("http://<redacted>@127.0.0.1"), "{config_show}");
    assert!(config_show.contains("api-version=2024-06-01&api-key=<redacted>"), "{config_show}");
    let manifest = std::fs::read_to_string(sandbox.run_dir().join("manifest.json")).unwrap();
    assert!(manifest.contains("no such model") && manifest.contains("<redacted>@"), "{manifest}");
    for output in &outputs {
        for secret in ["PASSCANARY-31", "QUERYCANARY-77", KEY] {
            assert_nowhere(&sandbox, output, secret, "credentials in the URL");
        }
    }
    let refused = closed_port_url().replace("http://", "http://u:PASSCANARY-31@");
    let output = sandbox
        .cmd()
        .args(["batch", "15", "--max-attempts", "1", "--base-url", &refused])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("could not connect to http://<redacted>@")
    );
    assert_nowhere(&sandbox, &output, "PASSCANARY-31", "refused connection");
}

#[test]
fn user_info_a_strict_url_parser_would_not_find_is_redacted_too() {
    let sandbox = Sandbox::new();
    // No scheme (rejected, and the error quotes it: exit 2), and a password with an
    // unencoded "/" (accepted; the dry run names the endpoint).
    let cases =
        [("deploy:PASSCANARY-31@gw.example/v1", 2), ("https://u:PASS/CANARY-31@gw.example/v1", 0)];
    for (base, code) in cases {
        for as_flag in [true, false] {
            let mut cmd = sandbox.cmd();
            cmd.args(["batch", "15", "--dry-run"]);
            match as_flag {
                true => cmd.args(["--base-url", base]),
                false => cmd.env("OPENAI_BASE_URL", base),
            };
            let output = cmd.output().unwrap();
            assert_eq!(output.status.code(), Some(code), "{base}");
            let said = [&output.stdout[..], &output.stderr[..]].concat();
            let said = String::from_utf8_lossy(&said);
            assert!(said.contains("<redacted>@gw.example/v1"), "{said}");
            assert_nowhere(&sandbox, &output, "CANARY-31", base);
        }
    }
}

#[test]
fn a_profile_key_sent_to_an_overridden_url_is_said_once() {
    let server = TestServer::start(Script::echo());
    let sandbox = Sandbox::new();
    sandbox.write_config(&profile_with_headers("https://gateway.example/v1"));
    let output = sandbox
        .cmd()
        .args(["batch", "15", "--base-url", &server.url()])
        .env("GW_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("is set by flag --base-url").count(), 1, "{stderr}");
    assert!(stderr.contains("environment variable GW_KEY"), "{stderr}");

    let output = sandbox
        .cmd()
        .args(["config", "show", "--base-url", &server.url()])
        .env("GW_KEY", KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row =
        |key: &str| stdout.lines().find(|l| l.starts_with(key)).unwrap_or_default().to_string();
    assert!(row("api_key").contains("(file "), "{stdout}");
    assert!(row("base_url").contains("(flag --base-url)"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("is set by flag --base-url"));

    // The profile's own key and URL: nothing to say.
    sandbox.write_config(&profile_with_headers(&server.url()));
    let output = sandbox.cmd().args(["batch", "15"]).env("GW_KEY", KEY).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("is set by"));

    // OPENAI_API_KEY sent to a URL the user typed: said too.
    let fresh = Sandbox::new();
    let output = fresh
        .cmd()
        .args(["batch", "15", "--base-url", &server.url()])
        .env("OPENAI_API_KEY", KEY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("environment variable OPENAI_API_KEY"), "{stderr}");
    assert_no_key(&fresh, &output, "notice");
}

#[test]
fn config_show_masks_a_key_written_inline_in_the_key_command() {
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[profiles.inline]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n\
         api_key_cmd = \"echo sk-test-CANARY-7f3a9c\"\n",
    );
    let output = sandbox.cmd().args(["config", "show"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("<from command `echo <redacted>`>"), "{stdout}");
    assert_no_key(&sandbox, &output, "config show with an inline key");
}
