//! A run split into shards gives the report a single run gives: by hand (`controlmap shard
//! plan|work|merge`) and on a local two-node Ray cluster through `scripts/ray-run`, with one
//! worker killed mid-run.

mod common;

use std::{path::Path, process::Command, sync::OnceLock};

use serde_json::Value;

use common::{controlmap, controls, fails, ok, repo};

const AS_OF: &str = "2025-06-30";

/// `controlmap run` on the sample corpus, once for the file.
fn single_run() -> &'static Value {
    static R: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    &R.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path().join("ws");
        ok(controlmap()
            .args(["run", "-q", "--as-of", AS_OF, "--workspace"])
            .arg(&ws)
            .arg(repo().join("corpora/sample-org")));
        let report = read_report(&ws);
        (t, report)
    })
    .1
}

/// `controlmap shard merge` of `plan`'s shards in `shards` into `ws`, with `args`.
fn merge(plan: &Path, shards: &Path, ws: &Path, args: &[&str]) -> Command {
    let mut c = controlmap();
    c.args(["shard", "merge", "-q", "--plan"])
        .arg(plan)
        .arg("--shards")
        .arg(shards)
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .arg(repo().join("corpora/sample-org"));
    c
}

fn read_report(ws: &Path) -> Value {
    serde_json::from_str(&fs_err::read_to_string(ws.join("report.json")).unwrap()).unwrap()
}

/// What must agree between two runs: the files and their outcomes, the passages, the
/// documents' fields and statuses, and for every control its status, coverage and evidence
/// (passages, in order, and confidences to three places).
fn essence(r: &Value) -> Value {
    let evidence = |c: &Value| -> Vec<Value> {
        c["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "content_hash": e["content_hash"],
                    "document": e["document"],
                    "page": e["page"],
                    "heading": e["heading"],
                    "confidence": format!("{:.3}", e["confidence"].as_f64().unwrap_or(0.0)),
                })
            })
            .collect()
    };
    serde_json::json!({
        "files": r["files"],
        "file_outcomes": r["file_outcomes"],
        "summary": r["summary"],
        "coverage": r["coverage"],
        "documents": r["documents"],
        "controls": controls(r).iter().map(|c| serde_json::json!({
            "id": c["id"],
            "status": c["status"],
            "coverage": c["coverage"],
            "evidence": evidence(c),
        })).collect::<Vec<_>>(),
    })
}

fn assert_same_as_single_run(report: &Value) {
    let (want, got) = (essence(single_run()), essence(report));
    assert_eq!(want["files"], got["files"]);
    assert_eq!(want["file_outcomes"], got["file_outcomes"]);
    assert_eq!(want["documents"], got["documents"]);
    assert_eq!(want["coverage"], got["coverage"]);
    for (w, g) in want["controls"]
        .as_array()
        .unwrap()
        .iter()
        .zip(got["controls"].as_array().unwrap())
    {
        assert_eq!(w, g);
    }
    assert_eq!(want, got);
}

#[test]
fn plan_work_and_merge_by_hand_give_the_single_runs_report() {
    let t = tempfile::tempdir().unwrap();
    let corpus = repo().join("corpora/sample-org");
    let (plan, shards, ws) = (
        t.path().join("plan"),
        t.path().join("shards"),
        t.path().join("ws"),
    );
    let out = ok(controlmap()
        .args(["shard", "plan", "-q", "--shards", "3", "--out"])
        .arg(&plan)
        .arg(&corpus));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = printed["shards"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let listed: u64 = entries.iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(listed, single_run()["files"]["found"].as_u64().unwrap());
    fs_err::create_dir_all(&shards).unwrap();

    // Merging before every shard is read says which one is missing.
    let err = fails(&mut merge(&plan, &shards, &ws, &[]));
    assert!(err.contains("shard 0 has no file"), "{err}");

    // Shards in any order: each worker knows only its list.
    for id in [2, 0, 1] {
        ok(controlmap()
            .args(["shard", "work", "-q", "--files"])
            .arg(plan.join(format!("shard-{id:04}.txt")))
            .arg("--out")
            .arg(shards.join(format!("shard-{id:04}.arrow")))
            .arg(&corpus));
    }
    ok(&mut merge(&plan, &shards, &ws, &["--as-of", AS_OF]));
    assert_same_as_single_run(&read_report(&ws));
    // The merged workspace is searchable like any other.
    let hits = common::search_json(&ws, &["--control", "A.6.2.4", "--limit", "3"]);
    assert_eq!(hits.len(), 3);

    // A shard from another plan is refused, by name.
    fs_err::copy(
        shards.join("shard-0000.arrow"),
        shards.join("shard-0001.arrow"),
    )
    .unwrap();
    let err = fails(&mut merge(&plan, &shards, &t.path().join("ws2"), &[]));
    assert!(
        err.contains("shard-0001.arrow does not hold the files"),
        "{err}"
    );

    // Nor is a file that is not a shard's (garbage, here): an error naming it, no panic.
    fs_err::write(shards.join("shard-0001.arrow"), b"ARROW1 but not really").unwrap();
    let err = fails(&mut merge(&plan, &shards, &t.path().join("ws3"), &[]));
    assert!(
        err.contains("shard-0001.arrow is not a shard file"),
        "{err}"
    );
}

#[test]
fn a_list_naming_a_file_outside_the_folder_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let list = t.path().join("list.txt");
    fs_err::write(&list, "governance/ai-policy.md\n../../etc/passwd\n").unwrap();
    let err = fails(
        controlmap()
            .args(["shard", "work", "-q", "--files"])
            .arg(&list)
            .arg("--out")
            .arg(t.path().join("s.arrow"))
            .arg(repo().join("corpora/sample-org")),
    );
    assert!(
        err.contains("is not a path inside the policy folder"),
        "{err}"
    );
    assert!(!t.path().join("s.arrow").exists());
}

/// `scripts/ray-run` on a local cluster of two nodes, the first attempt of one shard's
/// worker killed mid-run: the shard is retried and the merged report is the single run's.
#[test]
fn ray_run_on_two_local_nodes_survives_a_killed_worker() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let out = Command::new(repo().join("scripts/ray-run"))
        .arg(repo().join("corpora/sample-org"))
        .arg("--workspace")
        .arg(&ws)
        .args(["--local-nodes", "2", "--shards", "4"])
        .args(["--", "-q", "--as-of", AS_OF])
        .env("CONTROLMAP_BIN", env!("CARGO_BIN_EXE_controlmap"))
        .env("CONTROLMAP_RAY_KILL_ONE", "1")
        .env("CONTROLMAP_PRECISION", "f32")
        .env("NO_COLOR", "1")
        .env_remove("RAY_ADDRESS")
        .env_remove("CONTROLMAP_MODEL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("kill"),
        "the test hook killed a worker: {stderr}"
    );
    assert_same_as_single_run(&read_report(&ws));
}
