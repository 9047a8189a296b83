//! Documents as evidence over time, end to end on the sample organisation: the metadata read
//! from each kind of source, the review status judged on the day asked, the marks overdue
//! documents leave in every output, the review records of A.2.4, and the scans read by OCR.
//! The expected values are those `corpora/scripts/README.md` lists for 2025-06-30.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use common::{controlmap, controls, copy_dir, fails, ok, repo, search_json};
use serde_json::Value;

const AS_OF: &str = "2025-06-30";

/// The sample organisation run once `--as-of 2025-06-30`; tests that write to a workspace
/// copy it first.
fn workspace() -> &'static (tempfile::TempDir, PathBuf, Value) {
    static WS: OnceLock<(tempfile::TempDir, PathBuf, Value)> = OnceLock::new();
    WS.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path().join("ws");
        let out = ok(controlmap()
            .args(["run", "--format", "json", "--quiet", "--as-of", AS_OF])
            .arg("--workspace")
            .arg(&ws)
            .arg(repo().join("corpora/sample-org")));
        let report = serde_json::from_slice(&out.stdout).unwrap();
        (t, ws, report)
    })
}

fn report() -> &'static Value {
    &workspace().2
}

/// A workspace of its own, for a test that writes the reports again.
fn own_workspace() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    copy_dir(&workspace().1, &ws);
    (t, ws)
}

fn document<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("{path} in the report's documents"))
}

fn status(report: &Value, path: &str) -> String {
    document(report, path)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A field's value and where it was found.
fn field(report: &Value, path: &str, name: &str) -> (String, String) {
    let f = &document(report, path)["fields"][name];
    assert!(
        f.is_object(),
        "{path} has no {name}: {}",
        document(report, path)
    );
    (
        f["value"].as_str().unwrap().to_string(),
        f["source"].as_str().unwrap().to_string(),
    )
}

fn report_json(ws: &Path, extra: &[&str]) -> Value {
    let out = ok(controlmap()
        .args(["report", "--format", "json", "--workspace"])
        .arg(ws)
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn metadata_is_read_from_every_kind_of_source() {
    let r = report();
    let cases = [
        // Markdown front matter.
        (
            "governance/ai-policy.md",
            "approver",
            "Board Risk Committee",
            "front matter",
        ),
        // DOCX custom properties.
        (
            "data/data-governance-standard.docx",
            "owner",
            "Chief Data Officer",
            "DOCX custom property",
        ),
        // DOCX core properties.
        (
            "engineering/release-and-change-management.docx",
            "version",
            "2.3",
            "DOCX core property",
        ),
        // PDF XMP.
        (
            "engineering/model-development-and-validation-sop.pdf",
            "approver",
            "AI Governance Committee",
            "XMP",
        ),
        // PDF information dictionary.
        (
            "customer/customer-terms-digital-services.pdf",
            "owner",
            "General Counsel",
            "PDF info",
        ),
        // HTML <meta>.
        (
            "governance/ai-roles-and-responsibilities.html",
            "next_review",
            "2025-04-30",
            "meta",
        ),
        // The text: labelled lines.
        (
            "risk/ai-system-inventory-guidance.txt",
            "owner",
            "AI Governance Lead",
            "",
        ),
    ];
    for (path, name, value, source) in cases {
        let (v, s) = field(r, path, name);
        assert_eq!(v, value, "{path} {name}");
        assert!(
            s.contains(source),
            "{path} {name} should come from {source}, came from {s}"
        );
    }
    // A numeric date is read day first: 12/03/2025 is 12 March.
    let f = &document(r, "risk/ai-system-inventory-guidance.txt")["fields"]["last_review"];
    assert_eq!(f["date"], "2025-03-12");
    // A model card's "Model version" is not the document's version.
    assert_eq!(
        field(r, "engineering/credit-model-card.md", "version").0,
        "4.0"
    );
}

#[test]
fn documents_are_judged_on_the_day_asked() {
    let r = report();
    let fr = &r["freshness"];
    assert_eq!(fr["as_of"], AS_OF);
    assert_eq!(fr["as_of_given"], true);
    assert_eq!(fr["review_cycle_months"], 12);
    let n = r["documents"].as_array().unwrap().len() as u64;
    assert_eq!(
        fr["current"].as_u64().unwrap()
            + fr["overdue"].as_u64().unwrap()
            + fr["unknown"].as_u64().unwrap(),
        n
    );
    for (path, want) in [
        ("governance/ai-policy.md", "current"),
        ("governance/ai-governance-committee-tor.docx", "current"),
        (
            "engineering/model-development-and-validation-sop.pdf",
            "current",
        ),
        ("general/travel-and-expenses-policy.docx", "current"),
        // Next review (meta) passed, though the cycle from the last review has not.
        ("governance/ai-roles-and-responsibilities.html", "overdue"),
        // Next review "03/2025" runs to the end of March.
        ("risk/impact-assessment-template.md", "overdue"),
        // Only the cycle: last reviewed 12/02/2024, day first.
        ("engineering/release-and-change-management.docx", "overdue"),
        // The cycle from the effective date.
        ("general/information-security-policy.md", "overdue"),
        ("customer/ai-transparency-notice.html", "unknown"),
    ] {
        assert_eq!(status(r, path), want, "{path}: {}", document(r, path));
    }
    // An impossible date is reported and not used: the effective date decides.
    let d = document(r, "data/data-quality-rules.md");
    let notes = d["notes"].to_string();
    assert!(notes.contains("31/02/2024"), "{d}");
    assert_eq!(d["status"], "overdue");
    // Two sources that disagree are both named.
    let d = document(r, "operations/logging-and-retention-standard.md");
    let notes = d["notes"].to_string();
    assert!(
        notes.contains("2026-04-01") && notes.contains("1 April 2025"),
        "{d}"
    );
}

#[test]
fn the_day_is_kept_and_the_cycle_changes_verdicts() {
    let (_t, ws) = own_workspace();
    // `report` without --as-of judges on the day the run was given.
    let again = report_json(&ws, &[]);
    assert_eq!(again["freshness"]["as_of"], AS_OF);
    assert_eq!(
        status(&again, "engineering/release-and-change-management.docx"),
        "overdue"
    );
    // With a 24-month cycle, a review in February 2024 is recent enough.
    let longer = report_json(&ws, &["--review-cycle", "24m"]);
    assert_eq!(longer["freshness"]["review_cycle_months"], 24);
    assert_eq!(
        status(&longer, "engineering/release-and-change-management.docx"),
        "current"
    );
    // Read month first, 12/02/2024 is 2 December 2024.
    let us = report_json(&ws, &["--date-order", "month-first"]);
    let d =
        &document(&us, "engineering/release-and-change-management.docx")["fields"]["last_review"];
    assert_eq!(d["date"], "2024-12-02");
    // A later day makes a current document overdue.
    let later = report_json(&ws, &["--as-of", "2026-06-30", "--review-cycle", "12m"]);
    assert_eq!(status(&later, "governance/ai-policy.md"), "overdue");
    assert!(
        fails(
            controlmap()
                .args(["report", "--as-of", "30/06/2025", "--workspace"])
                .arg(&ws)
        )
        .contains("YYYY-MM-DD")
    );
}

#[test]
fn the_ai_policy_control_lists_its_review_records() {
    let r = report();
    let a24 = controls(r)
        .into_iter()
        .find(|c| c["id"] == "A.2.4")
        .unwrap();
    let records = a24["review_records"].as_array().unwrap();
    let policy = records
        .iter()
        .find(|x| x["document"] == "governance/ai-policy.md")
        .unwrap_or_else(|| panic!("the AI policy's record: {records:?}"));
    assert_eq!(policy["version"], "2.1");
    assert_eq!(policy["approver"], "Board Risk Committee");
    assert_eq!(policy["last_review"], "2025-02-25");
    assert_eq!(policy["next_review"], "2026-02-28");
    assert_eq!(policy["status"], "current");
    // Other controls list none.
    let a62 = controls(r)
        .into_iter()
        .find(|c| c["id"] == "A.6.2.4")
        .unwrap();
    assert!(
        a62.get("review_records")
            .is_none_or(|v| v.as_array().unwrap().is_empty())
    );
}

#[test]
fn overdue_documents_are_marked_in_every_output() {
    let ws = &workspace().1;
    let r = report();
    let overdue: Vec<&str> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "overdue")
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(!overdue.is_empty());
    // report.json: each passage of an overdue document says so.
    let mut marked = 0;
    for c in controls(r) {
        for e in c["evidence"].as_array().unwrap() {
            let doc = e["document"].as_str().unwrap();
            assert_eq!(
                e["overdue"].as_bool().unwrap_or(false),
                overdue.contains(&doc),
                "{doc}"
            );
            marked += usize::from(overdue.contains(&doc));
        }
    }
    assert!(marked > 0, "some evidence comes from an overdue document");
    // evidence.csv: a document_status column.
    let mut csv = csv::Reader::from_path(ws.join("evidence.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let doc_col = header.iter().position(|h| h == "document").unwrap();
    let status_col = header.iter().position(|h| h == "document_status").unwrap();
    let mut rows = 0;
    for rec in csv.records() {
        let rec = rec.unwrap();
        let want = status(r, &rec[doc_col]);
        assert_eq!(rec[status_col], want, "{}", &rec[doc_col]);
        rows += 1;
    }
    assert!(rows > 0);
    // report.html: the documents section and the marks on evidence.
    let html = fs_err::read_to_string(ws.join("report.html")).unwrap();
    assert!(html.contains("id=\"documents\""));
    assert!(html.contains("overdue document"));
    for path in &overdue {
        assert!(html.contains(path), "{path} in report.html");
    }
    // The table says how many, and which.
    let (_t, own) = own_workspace();
    let out = ok(controlmap().args(["report", "--workspace"]).arg(&own));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} overdue", overdue.len())),
        "{text}"
    );
    assert!(text.contains("governance/ai-roles-and-responsibilities.html"));
}

#[test]
fn scanned_pages_are_read_and_searchable() {
    let ws = &workspace().1;
    let hits = search_json(
        ws,
        &["Board Risk Committee approved the AI policy version 2.1"],
    );
    let scan = hits
        .iter()
        .find(|h| h["document"] == "governance/ai-policy-approval-minutes-scan.pdf")
        .unwrap_or_else(|| panic!("the minutes scan among the hits: {hits:?}"));
    assert!(scan["text"].as_str().unwrap().contains("Committee"));
    // The bulletin's two columns are read as text too.
    let hits = search_json(ws, &["staff bulletin generative AI tools"]);
    assert!(
        hits.iter()
            .any(|h| h["document"] == "people/ai-bulletin-scan.pdf"),
        "{hits:?}"
    );
    // OCR'd passages carry the recogniser's confidence into the report.
    let r = report();
    let confident: Vec<u64> = controls(r)
        .into_iter()
        .flat_map(|c| c["evidence"].as_array().unwrap())
        .filter(|e| e["document"].as_str().unwrap().ends_with("-scan.pdf"))
        .filter_map(|e| e["ocr_confidence"].as_u64())
        .collect();
    assert!(
        confident.iter().all(|c| (50..=100).contains(c)),
        "{confident:?}"
    );
}

#[test]
fn without_ocr_a_scan_fails_saying_why() {
    let t = tempfile::tempdir().unwrap();
    let corpus = t.path().join("in");
    fs_err::create_dir_all(&corpus).unwrap();
    fs_err::copy(
        repo().join("corpora/sample-org/general/fire-evacuation-notice-scan.pdf"),
        corpus.join("notice.pdf"),
    )
    .unwrap();
    fs_err::write(
        corpus.join("note.md"),
        "# Note\n\nAI models are reviewed yearly.\n",
    )
    .unwrap();
    let out = ok(controlmap()
        .args([
            "run",
            "--no-ocr",
            "--format",
            "json",
            "--quiet",
            "--workspace",
        ])
        .arg(t.path().join("ws"))
        .arg(&corpus));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = r["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == "notice.pdf")
        .unwrap()
        .to_string();
    assert!(outcome.contains("OCR is off"), "{outcome}");
    assert_eq!(r["files"]["parsed"], 1);
}
