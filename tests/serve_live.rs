//! The server as the binary runs it, over real sockets: search follows a run made while it
//! serves, held-open connections neither pile up nor stop it, and wrong or weak tokens get
//! nowhere (issue 23 §7–9). Each test makes its own hostile input: files added and deleted
//! under a running server, a half-written vector file, idle and half-sent connections, guessed
//! tokens, dictionary phrases.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use common::{controlmap, ok};

/// A running `controlmap serve`, killed when the test ends; its stderr is collected.
struct Server {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(ws: &Path, args: &[&str]) -> Server {
        let mut child = controlmap()
            .args(["serve", "--bind", "127.0.0.1:0", "--workspace"])
            .arg(ws)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut from, into) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut url = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut url)
            .unwrap();
        let port = url
            .trim()
            .trim_end_matches('/')
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no URL on stdout: {url:?}; {}", stderr.lock().unwrap()));
        Server {
            child,
            port,
            stderr,
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        s
    }

    /// One GET on its own connection: the status, the head and the body.
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut s = self.connect();
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        Reply {
            status: head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            head: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(str::trim)
    }
}

/// A policy folder of two files.
fn policies(dir: &Path) {
    fs_err::create_dir_all(dir).unwrap();
    fs_err::write(
        dir.join("monitoring.md"),
        "# Model monitoring\n\nModel drift is checked every week by the ML team; alerts page \
         the on-call engineer.\n",
    )
    .unwrap();
    fs_err::write(
        dir.join("access.md"),
        "# Access reviews\n\nAccess to AI training data is reviewed every quarter by the data \
         owner.\n",
    )
    .unwrap();
}

fn run(corpus: &Path, ws: &Path) {
    ok(controlmap()
        .args(["run", "-q", "--workspace"])
        .arg(ws)
        .arg(corpus));
}

/// The document links of a search page (`/document?path=…`, without the anchor) and the
/// passage anchors they point at.
fn result_links(page: &str) -> Vec<(String, String)> {
    page.match_indices("href=\"/document?path=")
        .map(|(at, _)| {
            let rest = &page[at + "href=\"".len()..];
            let href = &rest[..rest.find('"').unwrap()];
            let (path, anchor) = href.split_once('#').unwrap_or((href, ""));
            (path.to_string(), anchor.to_string())
        })
        .collect()
}

/// Issue 23 §7: the server loaded the index once, so after a run /documents showed the new
/// files while /search kept the old passages, with links that 404.
#[test]
fn search_follows_a_run_made_while_the_server_runs() {
    let t = tempfile::tempdir().unwrap();
    let (corpus, ws) = (t.path().join("policies"), t.path().join("ws"));
    policies(&corpus);
    run(&corpus, &ws);
    let server = Server::start(&ws, &[]);
    let new_words = "/search?q=zebrafish+quarantine+tank";
    let old_words = "/search?q=training+data+reviewed+quarter";
    let r = server.get(new_words, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("zebrafish.md"));
    assert!(server.get(old_words, &[]).body.contains("access.md"));

    fs_err::write(
        corpus.join("zebrafish.md"),
        "# Zebrafish\n\nThe zebrafish quarantine procedure applies to every tank before any \
         model is trained on its imaging data.\n",
    )
    .unwrap();
    fs_err::remove_file(corpus.join("access.md")).unwrap();
    run(&corpus, &ws);

    let r = server.get(new_words, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("zebrafish.md"), "the new file is found");
    assert!(!r.body.contains("before its last change"), "{}", r.body);
    let r = server.get(old_words, &[]);
    assert!(
        !r.body.contains("access.md"),
        "the deleted file's passages are gone"
    );
    // Every result links to a passage that is there.
    let links = result_links(&r.body);
    assert!(!links.is_empty(), "{}", r.body);
    for (path, anchor) in links {
        let doc = server.get(&path, &[]);
        assert_eq!(doc.status, 200, "{path}");
        assert!(
            doc.body.contains(&format!("id=\"{anchor}\"")),
            "{path}#{anchor}"
        );
    }

    // A vector file that cannot be read (as a run half done might leave): search answers from
    // the last index that opened, says so, and logs it; no error page.
    let vectors = ws.join("vectors.bin");
    let good = fs_err::read(&vectors).unwrap();
    let bad = ws.join("vectors.bad");
    fs_err::write(&bad, b"not a vector file").unwrap();
    fs_err::rename(&bad, &vectors).unwrap();
    for _ in 0..3 {
        let r = server.get(new_words, &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("zebrafish.md"));
        assert!(r.body.contains("before its last change"), "{}", r.body);
    }
    assert!(
        server
            .stderr
            .lock()
            .unwrap()
            .contains("search: cannot open"),
        "{}",
        server.stderr.lock().unwrap()
    );
    // Put right, it is read again.
    fs_err::write(&bad, &good).unwrap();
    fs_err::rename(&bad, &vectors).unwrap();
    let r = server.get(new_words, &[]);
    assert!(r.body.contains("zebrafish.md") && !r.body.contains("before its last change"));
}

/// The workspace the tests that do not change it share.
fn workspace() -> &'static Path {
    static WS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &WS.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        policies(&t.path().join("policies"));
        let ws = t.path().join("ws");
        run(&t.path().join("policies"), &ws);
        (t, ws)
    })
    .1
}

/// The open sockets of a process (Linux), to see how many connections the server holds.
fn sockets_of(child: &Child) -> Option<usize> {
    let fds = std::fs::read_dir(format!("/proc/{}/fd", child.id())).ok()?;
    Some(
        fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|l| l.to_string_lossy().starts_with("socket:"))
            .count(),
    )
}

/// Issue 23 §8: connections were never timed out, so enough held-open ones used up the
/// server's descriptors and it stopped answering.
#[test]
fn idle_connections_beyond_the_cap_neither_pile_up_nor_stop_the_server() {
    let server = Server::start(
        workspace(),
        &["-q", "--max-connections", "8", "--header-timeout", "1"],
    );
    let before = sockets_of(&server.child);
    let mut idle: Vec<TcpStream> = (0..24).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    if let (Some(before), Some(now)) = (before, sockets_of(&server.child)) {
        assert!(
            now <= before + 8,
            "{now} sockets, {before} before: over the cap"
        );
    }
    let t = Instant::now();
    let r = server.get("/", &[]);
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // And the server closed each of them.
    for s in &mut idle {
        let mut b = [0u8; 64];
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert!(matches!(s.read(&mut b), Ok(0) | Err(_)));
    }
}

/// Reads until the server closes the connection; how long that took.
fn closed_after(s: &mut TcpStream) -> Duration {
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut b = [0u8; 1024];
    loop {
        match s.read(&mut b) {
            Ok(0) => return t.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return t.elapsed(),
            Err(e) => panic!("still open after {:?}: {e}", t.elapsed()),
        }
    }
}

#[test]
fn a_half_sent_header_is_cut_off_after_the_header_timeout() {
    let server = Server::start(workspace(), &["-q", "--header-timeout", "1"]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    let waited = closed_after(&mut s);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn a_stalled_request_body_is_cut_off_after_the_idle_timeout() {
    let server = Server::start(
        workspace(),
        &["-q", "--header-timeout", "1", "--idle-timeout", "2"],
    );
    let mut s = server.connect();
    write!(
        s,
        "POST /decide HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: http://127.0.0.1:{0}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ncsrf=",
        server.port
    )
    .unwrap();
    let waited = closed_after(&mut s);
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
}

/// A token as `openssl rand -hex 32` makes one.
fn strong_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exit code and stderr of a server that should refuse to start; a failure if it serves.
fn refusal(cmd: &mut std::process::Command) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code().unwrap_or(-1), err)
}

/// Issue 23 §9b: a 16-character dictionary phrase was accepted as a token.
#[test]
fn a_dictionary_phrase_token_is_refused_at_start_and_a_strong_one_starts() {
    let t = tempfile::tempdir().unwrap();
    let phrases = [
        "sunnydaysarefine".to_string(),
        "correct-horse-battery-staple".to_string(),
        "CorrectHorseBatteryStaple2024".to_string(),
        "Password1".repeat(4),
    ];
    for phrase in &phrases {
        let (code, err) = refusal(
            controlmap()
                .args([
                    "serve",
                    "--bind",
                    "127.0.0.1:0",
                    "--token",
                    phrase,
                    "--workspace",
                ])
                .arg(workspace()),
        );
        assert_eq!(code, 2, "{phrase}");
        assert!(
            err.contains("96 are needed")
                && err.contains("openssl rand -hex 32")
                && err.contains("log2 of the alphabet"),
            "{phrase}: {err}"
        );
        // The same in a tokens file, which names the line.
        let file = t.path().join("tokens");
        fs_err::write(&file, format!("alice:{}\nbob:{phrase}\n", strong_token())).unwrap();
        let (code, err) = refusal(
            controlmap()
                .args(["serve", "--bind", "127.0.0.1:0", "--tokens-file"])
                .arg(&file)
                .arg("--workspace")
                .arg(workspace()),
        );
        assert_eq!(code, 2, "{phrase}");
        assert!(err.contains(":2") && err.contains("96 are needed"), "{err}");
    }
    let token = strong_token();
    let server = Server::start(workspace(), &["-q", "--token", &token]);
    let r = server.get("/", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(r.status, 200);
}

/// Issue 23 §9a: 1,000 wrong tokens were answered 401 in 0.4 s, with no limit.
#[test]
fn wrong_tokens_lock_their_client_out_with_429_and_retry_after() {
    let token = strong_token();
    let server = Server::start(workspace(), &["-q", "--token", &token]);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let guess = strong_token();
        assert_ne!(guess, token);
        let r = server.get("/", &[("Authorization", &format!("Bearer {guess}"))]);
        if r.status == 429 {
            let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses[..5], [401; 5]);
    assert_eq!(statuses[5..], [429; 15]);
    // Locked out, the right token gets nothing either, by header or by login.
    let right = format!("Bearer {token}");
    assert_eq!(server.get("/", &[("Authorization", &right)]).status, 429);
    assert_eq!(
        server.get(&format!("/login?token={token}"), &[]).status,
        429
    );
}
