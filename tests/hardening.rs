//! Hostile files and careless handling of a workspace, each as it once broke: a test per
//! finding, named for what broke, with the hostile input made here.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

mod common;
use common::{controlmap, ok, search_json};

/// A small policy folder: one document that is plainly about AI.
fn policies(root: &Path) -> PathBuf {
    let dir = root.join("policies");
    fs_err::create_dir_all(&dir).unwrap();
    fs_err::write(
        dir.join("ai-policy.md"),
        "# AI Policy\n\n## Roles\n\nThe AI governance committee approves every AI system before \
         it is deployed, and the system owner reviews its risks every year.\n",
    )
    .unwrap();
    dir
}

fn run(dir: &Path, ws: &Path) -> std::process::Output {
    controlmap()
        .args(["run", "-q", "--workspace"])
        .arg(ws)
        .arg(dir)
        .output()
        .unwrap()
}

fn report(ws: &Path) -> Value {
    serde_json::from_slice(&fs_err::read(ws.join("report.json")).unwrap()).unwrap()
}

/// Each file's outcome in a report, by path.
fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    report["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["outcome"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A DOCX package whose body is `body`.
fn docx(body: &str) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_string(),
        ),
        (
            "word/document.xml",
            format!(
                r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
            ),
        ),
    ];
    for (name, text) in parts {
        z.start_file(name, opts).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

#[test]
fn deeply_nested_html_markdown_and_docx_cost_at_most_their_own_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = policies(t.path());
    for depth in [10_000, 100_000] {
        fs_err::write(
            dir.join(format!("nested-{depth}.html")),
            format!(
                "<html><body>{}<p>AI systems nested {depth} deep are reviewed.</p>{}</body></html>",
                "<div>".repeat(depth),
                "</div>".repeat(depth)
            ),
        )
        .unwrap();
        fs_err::write(
            dir.join(format!("nested-{depth}.md")),
            format!(
                "# Quotes\n\n{} AI models nested {depth} deep.\n",
                ">".repeat(depth)
            ),
        )
        .unwrap();
        fs_err::write(
            dir.join(format!("nested-{depth}.docx")),
            docx(&format!(
                "{}<w:p><w:r><w:t>AI tools nested {depth} deep.</w:t></w:r></w:p>{}",
                "<w:sdt>".repeat(depth),
                "</w:sdt>".repeat(depth)
            )),
        )
        .unwrap();
    }
    let ws = t.path().join("ws");
    let out = run(&dir, &ws);
    assert!(
        out.status.success(),
        "the run survives: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = outcomes(&report(&ws));
    assert_eq!(got.len(), 7, "{got:?}");
    for (path, outcome, reason) in &got {
        // Every file read in full, or failed with its own reason; none takes the run with it.
        assert!(
            outcome == "parsed" || (outcome == "failed" && !reason.is_empty()),
            "{path}: {outcome} {reason}"
        );
    }
    assert!(
        got.iter()
            .filter(|(p, _, _)| p.starts_with("nested-10000."))
            .all(|(_, o, _)| o == "parsed"),
        "{got:?}"
    );
    assert!(!search_json(&ws, &["nested 10000 deep"]).is_empty());
}

/// The time limit holds for HTML too: it is parsed in a worker process, stopped at the
/// limit, instead of on a thread of the run that cannot be stopped.
#[cfg(feature = "test-aids")]
#[test]
fn an_html_parse_past_the_time_limit_is_stopped_not_left_running() {
    let t = tempfile::tempdir().unwrap();
    let dir = policies(t.path());
    fs_err::write(dir.join("slow.html"), "<p>AI policy page</p>").unwrap();
    let ws = t.path().join("ws");
    ok(controlmap()
        .args(["run", "-q", "--parse-timeout", "1", "--workspace"])
        .arg(&ws)
        .arg(&dir)
        .env("CONTROLMAP_TEST_HOSTILE", "hang:slow.html"));
    let got = outcomes(&report(&ws));
    let slow = got.iter().find(|(p, _, _)| p == "slow.html").unwrap();
    assert_eq!(slow.1, "failed", "{slow:?}");
    assert!(
        slow.2.contains("parse time limit exceeded (1 s"),
        "{slow:?}"
    );
    assert!(
        got.iter()
            .any(|(p, o, _)| p == "ai-policy.md" && o == "parsed")
    );
}

#[cfg(unix)]
#[test]
fn file_names_that_differ_only_in_invalid_utf8_stay_two_documents() {
    use std::{ffi::OsStr, os::unix::ffi::OsStrExt};
    let t = tempfile::tempdir().unwrap();
    let dir = policies(t.path());
    // Same number of passages (the silent drop) and a different number (the panic).
    let files: [(&[u8], &str); 3] = [
        (
            b"notes-\xff.md",
            "The AI model inventory lists every model in production.",
        ),
        (
            b"notes-\xfe.md",
            "The AI incident log records every model failure.",
        ),
        (
            b"notes-\xfd.md",
            "The AI register is kept by the risk office.\n\n## More\n\nAI vendors are assessed yearly.",
        ),
    ];
    for (name, text) in files {
        fs_err::write(
            dir.join(OsStr::from_bytes(name)),
            format!("# Notes\n\n{text}\n"),
        )
        .unwrap();
    }
    let ws = t.path().join("ws");
    let out = run(&dir, &ws);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = outcomes(&report(&ws));
    let notes: Vec<&(String, String, String)> = got
        .iter()
        .filter(|(p, _, _)| p.starts_with("notes-"))
        .collect();
    assert_eq!(notes.len(), 3, "{got:?}");
    assert!(notes.iter().all(|(_, o, _)| o == "parsed"), "{notes:?}");
    let names: std::collections::HashSet<&String> = notes.iter().map(|(p, _, _)| p).collect();
    assert_eq!(names.len(), 3, "distinct keys: {names:?}");
    for phrase in ["model inventory", "incident log", "vendors are assessed"] {
        let hits = search_json(&ws, &[phrase]);
        assert!(
            hits.iter()
                .any(|h| h["document"].as_str().unwrap().starts_with("notes-")
                    && h["snippet"].as_str().unwrap().contains(phrase)),
            "{phrase}: {hits:?}"
        );
    }
}

/// A workspace made by one run, for the tests of the decision store.
fn workspace(t: &Path) -> (PathBuf, PathBuf) {
    let dir = policies(t);
    let ws = t.join("ws");
    let out = run(&dir, &ws);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, ws)
}

fn review(ws: &Path, args: &[&str]) -> Command {
    let mut c = controlmap();
    c.arg("review")
        .args(args)
        .arg("--workspace")
        .arg(ws)
        .env("CONTROLMAP_REVIEWER", "tester");
    c
}

fn first_item(ws: &Path) -> String {
    let out = ok(&mut review(ws, &["list", "--format", "json"]));
    let items = common::json_lines(&out.stdout);
    items[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn an_empty_or_foreign_decisions_db_is_an_error_and_nothing_is_written_to_it() {
    let t = tempfile::tempdir().unwrap();
    let (_, ws) = workspace(t.path());
    let id = first_item(&ws);
    let db = ws.join("decisions.db");
    let foreign = {
        let p = t.path().join("foreign.db");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
            .unwrap();
        drop(c);
        fs_err::read(&p).unwrap()
    };
    for (what, bytes) in [
        ("empty", Vec::new()),
        (
            "garbage",
            b"not a database at all, just some bytes".repeat(100),
        ),
        ("another program's database", foreign),
    ] {
        fs_err::write(&db, &bytes).unwrap();
        for args in [
            vec!["list"],
            vec!["accept", id.as_str()],
            vec!["export", "--format", "csv"],
        ] {
            let out = review(&ws, &args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what}, {args:?}: {err}");
            assert!(
                err.contains("is not a decision store of controlmap")
                    && err.contains("review import"),
                "{what}, {args:?}: {err}"
            );
            assert_eq!(fs_err::read(&db).unwrap(), bytes, "{what}: written to");
        }
    }
}

#[test]
fn run_with_a_corrupt_decisions_db_stops_before_rewriting_any_report() {
    let t = tempfile::tempdir().unwrap();
    let (dir, ws) = workspace(t.path());
    let before: Vec<(String, Vec<u8>)> = ["report.json", "report.html", "evidence.csv", "soa.csv"]
        .iter()
        .map(|f| (f.to_string(), fs_err::read(ws.join(f)).unwrap()))
        .collect();
    fs_err::write(
        dir.join("new.md"),
        "# New\n\nAI models are retrained monthly.\n",
    )
    .unwrap();
    fs_err::write(ws.join("decisions.db"), b"").unwrap();
    let out = run(&dir, &ws);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a decision store"), "{err}");
    assert!(
        !err.contains("model:"),
        "stopped before loading the model: {err}"
    );
    for (name, bytes) in before {
        assert_eq!(
            fs_err::read(ws.join(&name)).unwrap(),
            bytes,
            "{name} rewritten"
        );
    }
}

/// Runs `args` of the binary with `ws` mounted read-only (a private mount namespace, so
/// nothing outside the test sees it); `None` where this system allows no such namespace.
fn read_only_command(ws: &Path, args: &[&str]) -> Option<Command> {
    let probe = Command::new("unshare")
        .args(["-rm", "true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_controlmap");
    let mut c = Command::new("unshare");
    c.args([
        "-rm",
        "sh",
        "-c",
        r#"mount --bind -o ro "$1" "$1" && shift && exec "$@""#,
        "sh",
    ])
    .arg(ws)
    .arg(bin)
    .args(args)
    .env_remove("CONTROLMAP_MODEL")
    .env("NO_COLOR", "1");
    Some(c)
}

#[test]
fn a_read_only_workspace_can_be_listed_searched_and_served() {
    let t = tempfile::tempdir().unwrap();
    let (_, ws) = workspace(t.path());
    let id = first_item(&ws);
    ok(&mut review(&ws, &["accept", &id, "--comment", "seen"]));
    let ws_s = ws.to_str().unwrap();
    let Some(mut probe) = read_only_command(&ws, &["--version"]) else {
        eprintln!("SKIPPED: this system allows no private mount namespace (unshare -rm)");
        return;
    };
    ok(&mut probe);
    // The mount really is read-only.
    let mut touch = read_only_command(&ws, &[]).unwrap();
    touch.args([
        "run",
        "-q",
        "--workspace",
        ws_s,
        t.path().join("policies").to_str().unwrap(),
    ]);
    assert!(
        !touch.output().unwrap().status.success(),
        "a run could write"
    );

    let mut list = read_only_command(&ws, &["review", "list", "--workspace", ws_s]).unwrap();
    let out = ok(&mut list);
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted by tester"));
    let mut search = read_only_command(
        &ws,
        &[
            "search",
            "-q",
            "--format",
            "json",
            "--workspace",
            ws_s,
            "governance committee",
        ],
    )
    .unwrap();
    let out = ok(&mut search);
    assert!(!common::json_lines(&out.stdout).is_empty());

    // The web UI, read-only: its pages answer.
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut serve = read_only_command(
        &ws,
        &["serve", "--read-only", "--workspace", ws_s, "--bind", &bind],
    )
    .unwrap();
    let mut child = serve
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pages = ["/", "/documents", "/search?q=governance+committee"];
    let mut answers = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for page in pages {
        loop {
            match get(&bind, page) {
                Some(status) => {
                    answers.push((page, status));
                    break;
                }
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                None => break,
            }
        }
    }
    let _ = child.kill();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let _ = child.wait();
    assert_eq!(
        answers,
        pages.iter().map(|p| (*p, 200)).collect::<Vec<_>>(),
        "{err}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status of a plain HTTP GET, or `None` when nothing answers yet.
fn get(addr: &str, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn a_damaged_index_is_rebuilt_with_a_note() {
    let t = tempfile::tempdir().unwrap();
    let (dir, ws) = workspace(t.path());
    let index = ws.join("index");
    // meta.json garbage, then the segments deleted.
    let damage: [&dyn Fn(); 2] = [
        &|| fs_err::write(index.join("meta.json"), b"{ not json").unwrap(),
        &|| {
            for e in fs_err::read_dir(&index).unwrap() {
                let p = e.unwrap().path();
                if p.file_name().unwrap() != "meta.json" {
                    fs_err::remove_file(p).unwrap();
                }
            }
        },
    ];
    for (i, damage) in damage.iter().enumerate() {
        damage();
        let out = controlmap()
            .args(["run", "--workspace"])
            .arg(&ws)
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "damage {i}: {err}");
        assert!(err.contains("rebuilding the index"), "damage {i}: {err}");
        assert!(
            !err.contains("Error {") && !err.contains("TantivyError"),
            "{err}"
        );
        assert!(!search_json(&ws, &["governance committee approves"]).is_empty());
    }
}

#[test]
fn terminal_escape_sequences_in_names_and_text_are_not_printed_raw() {
    let t = tempfile::tempdir().unwrap();
    let dir = policies(t.path());
    let evil = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J.md";
    fs_err::write(
        dir.join(evil),
        "# Policy\n\nAI governance reviews happen \u{1b}[31mmonthly\u{1b}[0m for every model.\n",
    )
    .unwrap();
    let ws = t.path().join("ws");
    let out = run(&dir, &ws);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let search = ok(controlmap()
        .args(["search", "-q", "--color", "never", "--workspace"])
        .arg(&ws)
        .arg("governance reviews monthly"));
    let list = ok(&mut review(&ws, &["list", "--color", "never"]));
    // The coverage table names the passage's document too.
    let table = ok(controlmap()
        .args(["report", "--color", "never", "--workspace"])
        .arg(&ws));
    let table_text = String::from_utf8_lossy(&table.stdout);
    assert!(!table_text.contains('\u{1b}'), "{table_text:?}");
    for (what, bytes) in [("search", &search.stdout), ("review list", &list.stdout)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{what}: {text:?}"
        );
        assert!(text.contains("evil\\x1b]0;pwned\\x07"), "{what}: {text}");
    }
}

#[cfg(feature = "test-aids")]
#[test]
fn parser_processes_share_the_run_s_memory_cap() {
    let t = tempfile::tempdir().unwrap();
    let dir = policies(t.path());
    // Four files whose parser asks for 1.5 GiB each (as a PDF bomb would, only reserved).
    for i in 0..4 {
        fs_err::write(
            dir.join(format!("bomb-{i}.md")),
            "# Bomb\n\nAI text that parses fine.\n",
        )
        .unwrap();
    }
    let outcome_with = |max: Option<&str>| {
        let ws = tempfile::tempdir().unwrap();
        let mut c = controlmap();
        c.args(["run", "-q", "--workspace"])
            .arg(ws.path())
            .arg(&dir);
        if let Some(m) = max {
            c.args(["--max-memory", m]);
        }
        ok(c.env("CONTROLMAP_TEST_HOSTILE", "alloc1500:bomb-"));
        outcomes(&report(ws.path()))
            .into_iter()
            .filter(|(p, _, _)| p.starts_with("bomb-"))
            .collect::<Vec<_>>()
    };
    // 2 GiB for the run: 1 GiB a process, so each bomb fails on its own, with the reason.
    let capped = outcome_with(Some("2G"));
    assert_eq!(capped.len(), 4);
    for (p, o, r) in &capped {
        assert_eq!(o, "failed", "{p}");
        assert!(r.contains("see --max-memory"), "{p}: {r}");
    }
    // 16 GiB: 4 GiB a process (on two threads, or more), enough for each.
    let roomy = outcome_with(Some("16G"));
    assert!(roomy.iter().all(|(_, o, _)| o == "parsed"), "{roomy:?}");
    let bad = common::fails(controlmap().args(["run", "--max-memory", "lots", "x"]));
    assert!(bad.contains("is not a size"), "{bad}");
}
