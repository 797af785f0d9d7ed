//! `handbook.html` as a person sees it: opened from a `file://` URL in real headless Chromium
//! (Debian's `chromium`), driven over the DevTools protocol. No console errors, no network,
//! every table-of-contents link lands on an anchor, typing in the search box hides the
//! chapters that do not match, a script planted in an answer never ran, dark and print
//! styles apply. Writes a screenshot to `target/tmp/handbook.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use super::handbook::{sample_run, scripted_server};
use crate::common::sandbox::Sandbox;

/// How long one DevTools reply may take before the test fails instead of hanging.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is not installed: the handbook's browser test needs it; install it \
                 with `apt-get install -y chromium` (or run .ci/browser)"
            )
        })
}

/// A headless Chromium, killed when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium and returns it with the browser's DevTools websocket URL.
    fn start() -> (Browser, String) {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Chromium: {e}"));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        break url.trim().to_string();
                    }
                }
                _ => panic!("Chromium exited before it listened for DevTools"),
            }
        };
        // Keep reading its log so that Chromium never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (Browser { child, _profile: profile }, url)
    }
}

/// A DevTools protocol connection, attached to one page.
struct Page {
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    /// Every event received so far.
    events: Vec<Value>,
}

impl Page {
    fn open(url: &str) -> Page {
        let host = url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        let (socket, _) = tungstenite::client(url, stream).unwrap();
        let mut page = Page { socket, session: String::new(), next_id: 0, events: Vec::new() };
        let target = page.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached =
            page.call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        page.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Runtime", "Log", "Page", "Network"] {
            page.call(&format!("{domain}.enable"), json!({}));
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        page
    }

    /// Sends a command to the page (the browser itself before attaching) and waits for its
    /// reply, keeping the events that arrive meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket.send(Message::text(command.to_string())).unwrap();
        loop {
            let message = self.read();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
                Ok(_) => continue,
                Err(e) => panic!("DevTools connection failed (or Chromium gave no reply): {e}"),
            }
        }
    }

    /// Opens `url` and waits until the page has loaded.
    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            let event = self.read();
            self.events.push(event);
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Console errors, uncaught exceptions and browser log errors seen so far.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => {
                    matches!(e["params"]["type"].as_str(), Some("error" | "assert"))
                }
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .map(|e| e["params"].to_string())
            .collect()
    }

    /// URLs the page requested other than itself.
    fn requests(&self, page: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str())
            .filter(|url| *url != page && !url.starts_with("data:"))
            .map(str::to_string)
            .collect()
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

#[test]
fn the_handbook_works_in_a_real_browser() {
    let server = scripted_server();
    let sandbox = Sandbox::new();
    let dir = sample_run(&sandbox, &server);
    let url = file_url(&dir.join("handbook.html"));
    let (_browser, devtools) = Browser::start();
    let mut page = Page::open(&devtools);
    page.navigate(&url);

    // Every table-of-contents link, clicked, lands on the section it names.
    let toc = page.eval(
        "(() => { const links = [...document.querySelectorAll('#toc a[href^=\"#\"]')]; \
         const missed = links.filter(a => { a.click(); \
           const t = document.querySelector(':target'); \
           return !t || t.id !== decodeURIComponent(a.getAttribute('href').slice(1)); }) \
           .map(a => a.getAttribute('href')); \
         const broken = [...document.querySelectorAll('main a[href^=\"#\"]')] \
           .map(a => decodeURIComponent(a.getAttribute('href').slice(1))) \
           .filter(id => !document.getElementById(id)); \
         return {links: links.length, missed, broken}; })()",
    );
    assert_eq!(toc["links"], 3 + 3, "three chapters and three appendices: {toc}");
    assert_eq!(toc["missed"], json!([]), "{toc}");
    assert_eq!(toc["broken"], json!([]), "links inside the page: {toc}");

    // Back at the top for the screenshot: the handbook as it opens.
    page.eval("location.hash = ''; window.scrollTo(0, 0); true");
    let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
    let png =
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("handbook.png");
    std::fs::write(&out, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    eprintln!("screenshot: {}", out.display());

    // Type into the search box: only the chapter that mentions the actuator stays.
    page.eval("document.getElementById('search').focus(); true");
    page.call("Input.insertText", json!({"text": "actuator"}));
    let visible = "[...document.querySelectorAll('section.chapter')] \
                   .filter(s => s.offsetParent !== null).map(s => s.id)";
    assert_eq!(page.eval(visible), json!(["15-health-checks-and-readiness-probes"]));
    assert!(
        page.eval("document.getElementById('search-count').textContent")
            .as_str()
            .unwrap()
            .contains("sections match")
    );
    let toc_visible = "[...document.querySelectorAll('#toc li')] \
                       .filter(li => li.offsetParent !== null).length";
    assert!(page.eval(toc_visible).as_u64().unwrap() < 6, "the contents follow the search");
    // Clearing the box shows everything again.
    page.eval("const b = document.getElementById('search'); b.select(); true");
    page.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
    );
    page.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyUp", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
    );
    assert_eq!(page.eval(&format!("{visible}.length")), json!(3));

    // The planted script, event handlers and javascript: link never ran; they show as text.
    assert_eq!(page.eval("typeof window.__planted"), json!("undefined"));
    let health =
        page.eval("document.getElementById('15-health-checks-and-readiness-probes').textContent");
    assert!(health.as_str().unwrap().contains("<script>window.__planted = 1</script>"));
    assert_eq!(page.eval("typeof window.__planted"), json!("undefined"));

    // Dark theme from the system setting, and from the toggle.
    let background = "getComputedStyle(document.body).backgroundColor";
    let light = page.eval(background);
    page.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    let dark = page.eval(background);
    assert_ne!(light, dark, "prefers-color-scheme: dark changes the page");
    page.eval("document.getElementById('theme').click(); true");
    assert_eq!(page.eval(background), light, "the toggle switches back to light");

    // Print: no side bar, every chapter on a new page.
    page.call("Emulation.setEmulatedMedia", json!({"media": "print"}));
    assert_eq!(
        page.eval("getComputedStyle(document.getElementById('toc')).display"),
        json!("none")
    );
    assert_eq!(
        page.eval("getComputedStyle(document.querySelector('section.chapter')).breakBefore"),
        json!("page")
    );

    // Nothing went wrong and nothing was fetched.
    assert_eq!(page.errors(), Vec::<String>::new(), "console errors");
    assert_eq!(page.requests(&url), Vec::<String>::new(), "the page loaded something");
}
