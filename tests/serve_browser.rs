//! The web UI end to end in a real headless Chromium, driven over WebDriver (chromedriver) with
//! plain HTTP/JSON: open the coverage page, click through to a control, accept a suggestion,
//! press `a` in the review queue, and check each decision landed in SQLite; a hostile passage
//! shows as text and fires no alert. Screenshots of the main pages go to
//! `$CONTROLMAP_SCREENSHOTS` when it is set.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver; `.ci/run` installs
//! them). Without them this test fails: it is not skipped.

mod common;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{controlmap, copy_dir, ok, repo};
use controlmap::review::{Store, Verdict};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";
const REVIEWER: &str = "browser-tester";

/// Kills a child process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request with a JSON body; the status and the JSON answer.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then exactly the body: chromedriver may keep the connection open.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed before the answer's head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &raw[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    let body = if chunked { dechunk(&rest) } else { rest };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A WebDriver session.
struct Browser {
    port: u16,
    session: String,
    _driver: Killed,
}

impl Browser {
    fn start() -> Browser {
        let chromium = find_program(&["chromium", "chromium-browser"]).expect(
            "chromium is not installed: the web UI's browser test needs it \
             (Debian: apt-get install chromium chromium-driver; .ci/run installs both)",
        );
        let driver = find_program(&["chromedriver"]).expect(
            "chromedriver is not installed: the web UI's browser test needs it \
             (Debian: apt-get install chromium-driver; .ci/run installs it)",
        );
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Killed(child);
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/status", None).1["value"]["ready"] == true
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, v) = http(
            port,
            "POST",
            "/session",
            Some(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,1100"]
                }
            }}})),
        );
        assert_eq!(status, 200, "no browser session: {v}");
        Browser {
            port,
            session: v["value"]["sessionId"].as_str().unwrap().to_string(),
            _driver: driver,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e.as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
    }

    fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css} on {}", self.url()))
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn value(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/property/value"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Like [`Self::value`], for a page that may be replacing the element while we read it:
    /// `None` when there is no such element or it went stale between finding and reading.
    fn value_if_there(&self, css: &str) -> Option<String> {
        let e = self.find_all(css).into_iter().next()?;
        let (status, v) = http(
            self.port,
            "GET",
            &format!("/session/{}/element/{e}/property/value", self.session),
            None,
        );
        (status == 200).then(|| v["value"].as_str().unwrap_or_default().to_string())
    }

    fn press(&self, key: &str) {
        self.cmd(
            "POST",
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                    {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
                ]}]}),
            ),
        );
    }

    /// An open alert's text; `None` when none is open.
    fn alert(&self) -> Option<String> {
        let (status, v) = http(
            self.port,
            "GET",
            &format!("/session/{}/alert/text", self.session),
            None,
        );
        (status == 200).then(|| v["value"].to_string())
    }

    /// Saves a screenshot to `$CONTROLMAP_SCREENSHOTS/NAME.png` when that is set.
    fn screenshot(&self, name: &str) {
        let png = base64_decode(self.cmd("GET", "/screenshot", None).as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = std::env::var_os("CONTROLMAP_SCREENSHOTS") {
            let dir = PathBuf::from(dir);
            fs_err::create_dir_all(&dir).unwrap();
            fs_err::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

/// Waits (up to 15 s) until `hash`/`control` has `verdict` in the store, by `REVIEWER`.
fn wait_for_decision(ws: &Path, control: &str, hash: Option<&str>, verdict: Verdict) {
    let start = Instant::now();
    loop {
        if let Some(store) = Store::open_if_exists(ws).unwrap() {
            let found = store.current_decisions().unwrap().values().any(|d| {
                d.control == control
                    && hash.is_none_or(|h| d.content_hash == h)
                    && d.verdict == verdict
                    && d.reviewer == REVIEWER
            });
            if found {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no {verdict} decision on {control} {hash:?} in decisions.db"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_reviewer_clicks_through_and_decides_in_a_real_browser() {
    // Fail early (before the minute the pipeline takes) when the browser is missing.
    let browser = Browser::start();

    let t = tempfile::tempdir().unwrap();
    let corpus = t.path().join("policies");
    copy_dir(&repo().join("corpora/sample-org"), &corpus);
    fs_err::write(
        corpus.join("hostile.txt"),
        format!(
            "NOTE\n\nAccess to AI data is reviewed quarterly. {HOSTILE} Findings go to the board.\n"
        ),
    )
    .unwrap();
    let ws = t.path().join("ws");
    ok(controlmap()
        .args([
            "run",
            "-q",
            "--framework",
            "iso42001,nist-ai-rmf",
            "--workspace",
        ])
        .arg(&ws)
        .arg(&corpus));

    let mut server = controlmap()
        .args(["serve", "-q", "--bind", "127.0.0.1:0", "--workspace"])
        .arg(&ws)
        .env("CONTROLMAP_REVIEWER", REVIEWER)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        std::io::BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    let _server = Killed(server);
    let base = line.trim().trim_end_matches('/').to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "the URL on stdout: {line:?}"
    );

    // Coverage, then click through to a control.
    browser.go(&format!("{base}/"));
    assert_eq!(browser.find_all("a.cell").len(), 38);
    browser.screenshot("coverage");

    // The framework switch: the NIST AI RMF's 72 subcategories, and back.
    browser.click("nav.frameworks a[data-framework=\"nist-ai-rmf\"]");
    assert!(
        browser.url().contains("framework=nist-ai-rmf"),
        "{}",
        browser.url()
    );
    assert!(
        browser
            .text("h1")
            .contains("NIST AI Risk Management Framework")
    );
    assert_eq!(browser.find_all("a.cell").len(), 72);
    assert!(browser.text("nav.frameworks a.current").contains("NIST"));
    browser.screenshot("coverage-nist");
    browser.click("a.cell[href=\"/control/GOVERN%201.1\"]");
    assert!(
        browser.text("h1").contains("GOVERN 1.1"),
        "{}",
        browser.text("h1")
    );
    browser.go(&format!("{base}/"));
    browser.click("nav.frameworks a[data-framework=\"iso42001-annex-a\"]");
    assert_eq!(browser.find_all("a.cell").len(), 38);
    browser.click("a.cell[href=\"/control/A.3.2\"]");
    assert!(
        browser.url().ends_with("/control/A.3.2"),
        "{}",
        browser.url()
    );
    assert!(browser.text("h1").contains("AI roles and responsibilities"));
    browser.screenshot("control");

    // Accept the first suggestion with a click: it lands in SQLite.
    let hash = browser.value("li.item form.decide input[name=hash]");
    browser.click("li.item form.decide button.accept");
    wait_for_decision(&ws, "A.3.2", Some(&hash), Verdict::Accepted);

    // The review queue: `a` accepts the suggestion shown.
    browser.go(&format!("{base}/review"));
    let hash = browser.value("form.decide input[name=hash]");
    let control = browser.value("form.decide input[name=control]");
    browser.screenshot("review");
    browser.press("a");
    wait_for_decision(&ws, &control, Some(&hash), Verdict::Accepted);
    // The page moved on in place to the next suggestion.
    let start = Instant::now();
    // (The page swaps the form in place, so a read can meet the old element gone stale.)
    while browser
        .value_if_there("form.decide input[name=hash]")
        .is_none_or(|h| h == hash)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the queue moved on"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    browser.go(&format!("{base}/search?q=model+drift+monitoring"));
    assert!(!browser.find_all("ol.results li").is_empty());
    assert!(!browser.find_all("ol.results mark").is_empty());
    browser.screenshot("search");

    browser.go(&format!(
        "{base}/document?path=operations/model-monitoring-and-ai-incident-response.pdf"
    ));
    assert!(browser.text("main").contains("page 1"));
    browser.screenshot("document");

    // A hostile passage: shown as text, and no alert.
    browser.go(&format!("{base}/document?path=hostile.txt"));
    assert_eq!(browser.alert(), None, "an alert fired");
    assert!(browser.text("blockquote.passage").contains(HOSTILE));
    assert!(browser.find_all("main script").is_empty());
    browser.screenshot("hostile");
}
