//! End-to-end tests of the reports: `run` and `controlmap report` write `report.json`,
//! `report.html`, `evidence.csv` and `soa.csv`, with review decisions applied; `--fail-on-gaps`
//! exits 1. Where `chromium` is installed, the HTML report is rendered in it headless.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use assert_cmd::prelude::*;
use controlmap::{
    ingest::chunk::Passage,
    ingest::manifest::{DocRecord, Manifest},
    ingest::parse::Format,
    review::{Decision, NotApplicable, Store, Verdict},
};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>document.title='pwned'</script>";

fn controlmap() -> Command {
    let mut c = Command::cargo_bin("controlmap").unwrap();
    // float32 on every CPU, as tests/common does.
    c.env("CONTROLMAP_PRECISION", "f32")
        .env_remove("CONTROLMAP_MODEL")
        .env("NO_COLOR", "1")
        .env("USER", "tester")
        .env_remove("CONTROLMAP_REVIEWER");
    c
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn controls(report: &Value) -> Vec<&Value> {
    report["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["controls"].as_array().unwrap())
        .collect()
}

/// Evidence entries of a control as the register lists them.
fn listed(c: &Value) -> usize {
    c["evidence"].as_array().unwrap().len()
        + c["reviewed_evidence"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default()
}

fn passage(id: u64, hash: &str, doc: &str, heading: &str, text: &str) -> Passage {
    Passage {
        id,
        content_hash: hash.into(),
        document: doc.into(),
        title: "Policy".into(),
        headings: vec!["Policy".into(), heading.into()],
        page: Some(2),
        format: Format::Text,
        text: text.into(),
        start: 0,
        end: text.len(),
        ocr_confidence: None,
    }
}

/// A workspace as `run` leaves it (`documents.json`, a schema-1 `report.json`), without the
/// model: A.2.2 evidence, A.5.2 weak, A.7.5 gap.
fn hand_made_workspace(root: &Path) -> (PathBuf, Vec<Passage>) {
    let ws = root.join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let ps = vec![
        passage(
            1,
            "aa11aa11aa11",
            "gov/ai.txt",
            "Scope",
            &format!("The AI policy, \"v2\", applies to all AI systems.\nSee {HOSTILE}."),
        ),
        passage(
            2,
            "bb22bb22bb22",
            "gov/ai.txt",
            "Impact",
            "=SUM(A1:A9) impacts are assessed",
        ),
        passage(
            3,
            "cc33cc33cc33",
            "ops/data.txt",
            "Data",
            "Datasets are catalogued.",
        ),
    ];
    let mut m = Manifest {
        version: controlmap::ingest::manifest::MANIFEST_VERSION,
        model_id: "test".into(),
        documents: BTreeMap::new(),
    };
    for p in &ps {
        m.documents
            .entry(p.document.clone())
            .or_insert_with(|| DocRecord {
                size: 1,
                mtime_ns: 1,
                sha256: "00".into(),
                format: Format::Text,
                passages: vec![],
                metadata: vec![],
            })
            .passages
            .push(p.clone());
    }
    m.save(&ws).unwrap();
    let ev = |p: &Passage, score: f32| {
        json!({"passage_id": p.id, "content_hash": p.content_hash, "document": p.document,
               "heading": p.heading_path(), "page": p.page, "score": score, "text": p.text})
    };
    let report = json!({
        "schema_version": 1,
        "tool": "controlmap 0.1.0",
        "policy_folder": "policies",
        "catalog": "Test catalog",
        "thresholds": {"evidence": 0.6, "weak": 0.5, "list_top_k": 3},
        "files": {"found": 2, "parsed": 2, "unchanged": 0, "skipped": 0, "failed": 0, "passages": 3},
        "summary": {"evidence": 1, "weak": 1, "gap": 1},
        "objectives": [
            {"id": "A.2", "title": "Policies", "controls": [
                {"id": "A.2.2", "title": "AI policy", "status": "evidence", "best_score": 0.8,
                 "evidence": [ev(&ps[0], 0.8)]}]},
            {"id": "A.5", "title": "Impacts", "controls": [
                {"id": "A.5.2", "title": "Impact assessment", "status": "weak", "best_score": 0.55,
                 "evidence": [ev(&ps[1], 0.55)]}]},
            {"id": "A.7", "title": "Data", "controls": [
                {"id": "A.7.5", "title": "Data provenance", "status": "gap", "best_score": 0.3,
                 "evidence": []}]}
        ],
        "file_outcomes": [],
        "timings_s": {"total": 1.0}
    });
    std::fs::write(
        ws.join("report.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    (ws, ps)
}

fn report(ws: &Path, extra: &[&str]) -> Output {
    controlmap()
        .args(["report", "--workspace"])
        .arg(ws)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn report_applies_decisions_without_rerunning() {
    let t = tempfile::tempdir().unwrap();
    let (ws, ps) = hand_made_workspace(t.path());

    // Before any decision: the mapper's statuses; the gap fails --fail-on-gaps.
    let out = report(&ws, &["--fail-on-gaps"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 control without evidence: A.7.5"), "{err}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("3 controls: 0 covered, 1 proposed, 1 weak, 1 gaps, 0 not applicable"),
        "{stdout}"
    );
    for f in ["report.json", "report.html", "evidence.csv", "soa.csv"] {
        assert!(
            stdout.contains(&format!("report: {}", ws.join(f).display())),
            "{stdout}"
        );
    }

    // A.2.2's suggestion accepted, A.5.2's rejected, a passage linked to A.7.5 by hand.
    let mut store = Store::open(&ws).unwrap();
    let decide = |p: &Passage, c: &str, v| {
        let mut d = Decision::new(&p.content_hash, c, v, "alice", &p.text);
        d.comment = Some("<b>checked</b>, \"ok\"".into());
        d
    };
    store
        .record(&[
            decide(&ps[0], "A.2.2", Verdict::Accepted),
            decide(&ps[1], "A.5.2", Verdict::Rejected),
            decide(&ps[2], "A.7.5", Verdict::Linked),
        ])
        .unwrap();
    let out = report(&ws, &["--format", "json", "--fail-on-gaps"]);
    assert_eq!(out.status.code(), Some(1), "A.5.2 is a gap now");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(ws.join("report.json")).unwrap()).unwrap();
    assert_eq!(json, on_disk, "stdout is the report written");
    assert_eq!(json["schema_version"], 4);
    assert_eq!(json["thresholds"]["list_top_k"], 3, "fields of run kept");
    assert_eq!(json["summary"]["evidence"], 1, "the mapper's counts kept");
    assert_eq!(
        json["coverage"],
        json!({"covered": 2, "proposed": 0, "weak": 0, "gap": 1, "not_applicable": 0})
    );
    let cs = controls(&json);
    assert_eq!(cs[0]["coverage"], "covered");
    assert_eq!(cs[0]["evidence"][0]["review"], "accepted");
    assert_eq!(cs[0]["evidence"][0]["decision"]["reviewer"], "alice");
    assert_eq!(cs[1]["coverage"], "gap");
    assert_eq!(cs[2]["coverage"], "covered");
    assert_eq!(cs[2]["reviewed_evidence"][0]["document"], "ops/data.txt");
    assert_eq!(cs[2]["reviewed_evidence"][0]["review"], "linked");

    // A.5.2 marked not applicable: no gap left.
    store
        .record_not_applicable(&[NotApplicable::new(
            "A.5.2",
            "We deploy no AI system; see \"Scope\", section 2.",
            "bob",
            false,
        )])
        .unwrap();
    let out = report(&ws, &["--fail-on-gaps"]);
    ok(&out);

    let (header, rows) = csv_rows(&ws.join("evidence.csv"));
    assert_eq!(
        header,
        [
            "control",
            "status",
            "confidence",
            "document",
            "page",
            "heading",
            "text",
            "decision",
            "passage",
            "document_status",
            "ocr_confidence"
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], "covered");
    assert_eq!(rows[0][2], "0.800");
    assert_eq!(rows[0][4], "2");
    assert_eq!(
        rows[0][6], ps[0].text,
        "commas, quotes and newlines survive"
    );
    assert_eq!(rows[0][7], "accepted");
    assert_eq!(rows[1][6], "'=SUM(A1:A9) impacts are assessed");
    assert_eq!(rows[1][1], "not applicable");
    assert_eq!(rows[2][7], "linked");

    let (header, rows) = csv_rows(&ws.join("soa.csv"));
    assert_eq!(header[0], "control");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][5], "gov/ai.txt p.2 › Policy › Scope");
    assert_eq!(
        &rows[1][2..5],
        [
            "no",
            "We deploy no AI system; see \"Scope\", section 2.",
            "not applicable"
        ]
    );

    let html = std::fs::read_to_string(ws.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "document text is escaped");
    assert!(!html.contains("<b>checked"));
    assert!(html.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert_eq!(html.matches("class=\"cell ").count(), 3);
}

#[test]
fn report_without_a_workspace_says_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    let out = report(&t.path().join("nothing"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("controlmap run"), "{err}");
}

/// A small policy folder: an AI policy with a hostile passage, and a travel note.
fn policy_folder(root: &Path) -> PathBuf {
    let dir = root.join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ai-policy.txt"),
        format!(
            "ARTIFICIAL INTELLIGENCE POLICY\n\n1. Review\n\nThe AI policy shall be reviewed at least \
             once a year by its owner, the Chief Risk Officer, and after any serious AI incident, \
             \"without exception\". {HOSTILE}\n\n2. Monitoring\n\nDeployed models are monitored \
             for drift, bias and performance degradation; alerts go to the on-call ML engineer.\n\n\
             3. Impact assessment\n\nBefore deployment, every AI system gets an impact assessment \
             of its effects on individuals, groups and society.\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("travel.txt"),
        "TRAVEL\n\n1. Meals\n\nMeals are reimbursed up to the daily allowance.\n",
    )
    .unwrap();
    dir
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn run_writes_every_report_and_a_browser_renders_the_html() {
    let t = tempfile::tempdir().unwrap();
    let dir = policy_folder(t.path());
    let ws = t.path().join("ws");
    let out = controlmap()
        .args(["run", "-q", "--fail-on-gaps", "--workspace"])
        .arg(&ws)
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a small folder has gaps");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("without evidence"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let json: Value =
        serde_json::from_slice(&std::fs::read(ws.join("report.json")).unwrap()).unwrap();
    let cs = controls(&json);
    assert_eq!(cs.len(), 38);
    assert_eq!(json["schema_version"], 4);
    assert_eq!(
        json["coverage"]["proposed"].as_u64().unwrap()
            + json["coverage"]["weak"].as_u64().unwrap()
            + json["coverage"]["gap"].as_u64().unwrap(),
        38
    );
    let texts: Vec<&str> = cs
        .iter()
        .flat_map(|c| c["evidence"].as_array().unwrap())
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains(HOSTILE)),
        "the hostile passage is listed, so the HTML checks below mean something"
    );

    let (header, rows) = csv_rows(&ws.join("evidence.csv"));
    assert_eq!(header[..3], ["control", "status", "confidence"]);
    assert_eq!(rows.len(), cs.iter().map(|c| listed(c)).sum::<usize>());
    assert!(rows.iter().any(|r| r[6].contains(HOSTILE)));
    let (_, rows) = csv_rows(&ws.join("soa.csv"));
    assert_eq!(rows.len(), 38);
    assert!(rows.iter().all(|r| r[2] == "yes"));

    // Every gap marked not applicable: `report` regenerates and no longer fails.
    let mut store = Store::open(&ws).unwrap();
    let marks: Vec<NotApplicable> = cs
        .iter()
        .filter(|c| c["coverage"] == "gap")
        .map(|c| NotApplicable::new(c["id"].as_str().unwrap(), "Out of scope.", "bob", false))
        .collect();
    assert!(!marks.is_empty());
    store.record_not_applicable(&marks).unwrap();
    let out = report(&ws, &["--fail-on-gaps", "-q"]);
    ok(&out);
    let (_, rows) = csv_rows(&ws.join("soa.csv"));
    assert_eq!(rows.iter().filter(|r| r[2] == "no").count(), marks.len());

    let html = ws.join("report.html");
    let Some(browser) = chromium() else {
        eprintln!(
            "chromium is not installed: report.html is not rendered in a browser (apt-get install chromium)"
        );
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    ok(&out);
    let dom = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        dom.matches("class=\"cell ").count(),
        38,
        "one cell per control"
    );
    assert_eq!(dom.matches("class=\"cell na\"").count(), marks.len());
    assert!(
        dom.contains("<title>ISO/IEC 42001:2023 Annex A coverage — "),
        "the title is untouched, so no script ran: {}",
        &dom[..dom.len().min(400)]
    );
    assert!(!dom.contains("pwned</title>"));
    assert!(!dom.contains("<script"), "no script element in the page");
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the passage shows as text"
    );
}
