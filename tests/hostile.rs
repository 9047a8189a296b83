//! The committed fixtures (`tests/fixtures`, see its README) in one batch with good
//! documents: every file ends with its expected outcome and reason, and the good documents
//! parse exactly as they do without the hostile ones beside them.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::Value;

mod common;
use common::{controlmap, copy_dir, ok, repo};

/// What a file must end with: the outcome, the format (when parsed) or the start of the
/// reason (when not), and for parsed files a phrase one of its passages must hold.
struct Expect {
    outcome: &'static str,
    format_or_reason: &'static str,
    phrase: Option<&'static str>,
}

const fn parsed(format: &'static str, phrase: &'static str) -> Expect {
    Expect {
        outcome: "parsed",
        format_or_reason: format,
        phrase: Some(phrase),
    }
}

const fn not_parsed(outcome: &'static str, reason: &'static str) -> Expect {
    Expect {
        outcome,
        format_or_reason: reason,
        phrase: None,
    }
}

/// The generated 50 MB single-line file (too large to commit).
const HUGE_LINE: &str = "hostile/one-line-50mb.txt";

fn expected() -> BTreeMap<&'static str, Expect> {
    BTreeMap::from([
        (
            "hostile/truncated.pdf",
            not_parsed("failed", "corrupt PDF: "),
        ),
        (
            "hostile/encrypted-user-password.pdf",
            not_parsed("failed", "encrypted PDF: a password is needed"),
        ),
        (
            "hostile/owner-password-only.pdf",
            parsed("pdf", "reviewed every quarter by the system owner"),
        ),
        (
            "hostile/image-only.pdf",
            // Rasterised at 40 dpi: OCR reads only noise there, and says so.
            not_parsed(
                "failed",
                "no text found: its 2 pages are only images (a scan?), and OCR could not read them reliably",
            ),
        ),
        (
            "hostile/zip-bomb.docx",
            not_parsed(
                "failed",
                "corrupt DOCX: word/document.xml unpacks to more than 256 MiB (a zip bomb?)",
            ),
        ),
        (
            "hostile/corrupt-document-xml.docx",
            not_parsed("failed", "corrupt DOCX: word/document.xml: XML error"),
        ),
        (
            "hostile/damaged-zip-data.docx",
            not_parsed("failed", "corrupt DOCX: word/document.xml: "),
        ),
        (
            "hostile/spreadsheet.docx",
            not_parsed("skipped", "an Excel workbook, not a Word document"),
        ),
        ("hostile/empty.txt", not_parsed("skipped", "empty file")),
        (
            "hostile/logo.md",
            not_parsed("skipped", "a PNG image named .md, not a document"),
        ),
        (
            "hostile/program.md",
            not_parsed("skipped", "an executable named .md, not a document"),
        ),
        (
            "hostile/invalid-utf8.txt",
            parsed("text", "The café vendor's résumé-screening tool"),
        ),
        (
            "hostile/windows-1252.html",
            parsed(
                "html",
                "over €50 a month need the budget owner’s approval – “no",
            ),
        ),
        (
            "hostile/iso-8859-2.html",
            parsed("html", "Właściciel systemu AI przegląda ryzyko"),
        ),
        (HUGE_LINE, not_parsed("skipped", "too large (")),
        (
            "good/access-review-libreoffice.docx",
            parsed(
                "docx",
                "Each account is confirmed or removed within ten working days.",
            ),
        ),
        (
            "good/access-review-libreoffice.pdf",
            parsed(
                "pdf",
                "Each account is confirmed or removed within ten working days.",
            ),
        ),
        (
            "good/access-review-chromium.pdf",
            parsed(
                "pdf",
                "Each account is confirmed or removed within ten working days.",
            ),
        ),
        (
            "sample/ai-policy.md",
            parsed("markdown", "AI Governance Lead"),
        ),
        (
            "sample/data-governance-standard.docx",
            parsed("docx", "dataset register"),
        ),
    ])
}

/// The good documents, at the same paths in both folders the test builds.
fn add_good_documents(dir: &Path) {
    let fixtures = repo().join("tests/fixtures");
    copy_dir(&fixtures.join("good"), &dir.join("good"));
    let sample = repo().join("corpora/sample-org");
    fs_err::create_dir_all(dir.join("sample")).unwrap();
    for from in [
        "governance/ai-policy.md",
        "data/data-governance-standard.docx",
    ] {
        let name = Path::new(from).file_name().unwrap();
        fs_err::copy(sample.join(from), dir.join("sample").join(name)).unwrap();
    }
}

/// A file one byte over the default size limit, all one line of words.
fn write_huge_line(path: &Path) {
    let size = controlmap::ingest::parse::DEFAULT_MAX_BYTES + 1;
    let mut f = std::io::BufWriter::new(fs_err::File::create(path).unwrap());
    let words = b"policy review owner approval ".repeat(4096);
    let mut left = size as usize;
    while left > 0 {
        let n = left.min(words.len());
        f.write_all(&words[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
    assert_eq!(fs_err::metadata(path).unwrap().len(), size);
}

fn run(dir: &Path, ws: &Path) -> Value {
    let out = ok(controlmap()
        .args(["run", "--format", "json", "--quiet", "--workspace"])
        .arg(ws)
        .arg(dir));
    serde_json::from_slice(&out.stdout).expect("stdout is the JSON report")
}

/// The passages `run` recorded in the workspace, by document.
fn passages(ws: &Path) -> BTreeMap<String, Vec<Value>> {
    let manifest: Value =
        serde_json::from_slice(&fs_err::read(ws.join("documents.json")).unwrap()).unwrap();
    manifest["documents"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, doc)| (path.clone(), doc["passages"].as_array().unwrap().clone()))
        .collect()
}

#[test]
fn every_fixture_gets_its_expected_outcome_and_the_good_documents_are_unaffected() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("policies");
    copy_dir(&repo().join("tests/fixtures/hostile"), &dir.join("hostile"));
    add_good_documents(&dir);
    write_huge_line(&dir.join(HUGE_LINE));

    let started = Instant::now();
    let ws = t.path().join("ws");
    let report = run(&dir, &ws);
    // The zip bomb and the 50 MB line cost seconds, not minutes (a debug build, 2 cores).
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "{:?}",
        started.elapsed()
    );

    let expected = expected();
    let outcomes: BTreeMap<String, Value> = report["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap().to_string(), o.clone()))
        .collect();
    assert_eq!(
        outcomes.keys().map(String::as_str).collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>(),
        "one outcome per file, no more, no less"
    );
    let recorded = passages(&ws);
    for (path, want) in &expected {
        let got = &outcomes[*path];
        assert_eq!(got["outcome"], want.outcome, "{path}: {got}");
        if want.outcome == "parsed" {
            assert_eq!(got["format"], want.format_or_reason, "{path}: {got}");
            let texts = &recorded[*path];
            assert_eq!(
                got["passages"].as_u64().unwrap() as usize,
                texts.len(),
                "{path}"
            );
            let phrase = want.phrase.unwrap();
            assert!(
                texts
                    .iter()
                    .any(|p| p["text"].as_str().unwrap().contains(phrase)),
                "{path}: no passage holds {phrase:?}: {texts:?}"
            );
        } else {
            let reason = got["reason"].as_str().unwrap_or_default();
            assert!(
                reason.starts_with(want.format_or_reason),
                "{path}: {reason:?}"
            );
            assert!(!recorded.contains_key(*path), "{path} has passages");
        }
    }
    let huge = outcomes[HUGE_LINE]["reason"].as_str().unwrap();
    assert!(huge.contains("see --max-file-size"), "{huge}");
    let count = |o: &str| expected.values().filter(|e| e.outcome == o).count();
    assert_eq!(report["files"]["parsed"], count("parsed"));
    assert_eq!(report["files"]["skipped"], count("skipped"));
    assert_eq!(report["files"]["failed"], count("failed"));

    // The good documents alone give the same passages, IDs and offsets included: nothing in
    // the hostile batch changed how they were read.
    let alone = t.path().join("alone");
    add_good_documents(&alone);
    let alone_ws = t.path().join("alone-ws");
    let alone_report = run(&alone, &alone_ws);
    let alone_passages = passages(&alone_ws);
    assert_eq!(
        alone_report["files"]["parsed"],
        alone_passages.len(),
        "{}",
        alone_report["file_outcomes"]
    );
    for (path, ps) in &alone_passages {
        assert!(!ps.is_empty(), "{path}");
        assert_eq!(&recorded[path], ps, "{path} read differently in the batch");
    }
}

/// The fixtures README lists every committed fixture, and the test expects an outcome for
/// each: a fixture added without both fails here.
#[test]
fn every_committed_fixture_is_documented_and_expected() {
    let fixtures = repo().join("tests/fixtures");
    let readme = fs_err::read_to_string(fixtures.join("README.md")).unwrap();
    let expected = expected();
    for sub in ["hostile", "good"] {
        for e in fs_err::read_dir(fixtures.join(sub)).unwrap() {
            let rel: PathBuf = Path::new(sub).join(e.unwrap().file_name());
            let rel = rel.to_str().unwrap().to_string();
            assert!(readme.contains(&format!("`{rel}`")), "{rel} not in README");
            assert!(
                expected.contains_key(rel.as_str()),
                "{rel} has no expected outcome"
            );
        }
    }
}

/// Chromium's "Save as PDF" gives its CID fonts' widths in the `/W` range form, which
/// pdf-extract 0.12.1 misread (vendor/README.md): lines split into paragraphs and the title
/// into "Access Review Pr" / "ocedure". The same text printed by Chromium and by LibreOffice
/// must read the same.
#[test]
fn chromium_and_libreoffice_pdfs_of_one_text_read_the_same() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("pdfs");
    fs_err::create_dir_all(&dir).unwrap();
    for name in [
        "access-review-chromium.pdf",
        "access-review-libreoffice.pdf",
    ] {
        fs_err::copy(
            repo().join("tests/fixtures/good").join(name),
            dir.join(name),
        )
        .unwrap();
    }
    let ws = t.path().join("ws");
    run(&dir, &ws);
    let recorded = passages(&ws);
    let words = |doc: &str| -> Vec<String> {
        recorded[doc]
            .iter()
            .map(|p| {
                let text = p["text"].as_str().unwrap();
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect()
    };
    let chromium = words("access-review-chromium.pdf");
    assert_eq!(chromium, words("access-review-libreoffice.pdf"));
    assert!(
        chromium
            .iter()
            .any(|t| t
                .contains("access to the model registry. Each account is confirmed or removed")),
        "{chromium:?}"
    );
    let headings: Vec<&Value> = recorded["access-review-chromium.pdf"]
        .iter()
        .map(|p| &p["headings"])
        .collect();
    assert!(
        headings.iter().all(|h| h[0] == "Access Review Procedure"),
        "{headings:?}"
    );
}
