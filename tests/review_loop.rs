//! The review loop on the sample corpus with the real model: run, review some suggestions,
//! edit a document, run again: the decisions are kept and the edited passage is flagged for
//! re-review with its old and new text.

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
    // float32 on every CPU, as tests/common does.
    c.env("CONTROLMAP_PRECISION", "f32")
        .env_remove("CONTROLMAP_MODEL")
        .env("NO_COLOR", "1")
        .env("CONTROLMAP_REVIEWER", "loop-tester");
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn list(ws: &Path) -> Vec<Value> {
    ok(controlmap()
        .args(["review", "list", "--format", "json", "-q", "--workspace"])
        .arg(ws))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

fn find<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn decisions_survive_a_rerun_and_an_edited_passage_is_flagged() {
    let t = tempfile::tempdir().unwrap();
    let policies = t.path().join("policies");
    copy_dir(&repo().join("corpora/sample-org"), &policies);
    let ws = t.path().join("ws");
    let run = || {
        ok(controlmap()
            .args(["run", "-q", "--workspace"])
            .arg(&ws)
            .arg(&policies));
    };
    run();

    let items = list(&ws);
    assert!(items.iter().all(|i| i["status"] == "pending"));
    // A Markdown passage whose first line is in its file verbatim, to edit later; and two
    // suggestions from other documents, to accept and to reject.
    let edited = items
        .iter()
        .find(|i| {
            let doc = i["document"].as_str().unwrap();
            let first = i["text"].as_str().unwrap().lines().next().unwrap();
            doc.ends_with(".md")
                && first.len() > 30
                && std::fs::read_to_string(policies.join(doc))
                    .unwrap()
                    .contains(first)
        })
        .expect("a Markdown suggestion");
    let others: Vec<&Value> = items
        .iter()
        .filter(|i| i["document"] != edited["document"])
        .take(2)
        .collect();
    let ids = |i: &Value| i["id"].as_str().unwrap().to_string();
    let (edited_id, kept_id, rejected_id) = (ids(edited), ids(others[0]), ids(others[1]));

    ok(controlmap()
        .args([
            "review",
            "accept",
            &edited_id,
            &kept_id,
            "-c",
            "looks right",
        ])
        .arg("--workspace")
        .arg(&ws));
    ok(controlmap()
        .args(["review", "reject", &rejected_id, "--workspace"])
        .arg(&ws));

    // The edit: one word more in the passage's first line.
    let doc = policies.join(edited["document"].as_str().unwrap());
    let first = edited["text"].as_str().unwrap().lines().next().unwrap();
    let (head, tail) = first.split_once(' ').unwrap();
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(
        &doc,
        text.replace(first, &format!("{head} (revised) {tail}")),
    )
    .unwrap();
    run();

    let items = list(&ws);
    assert_eq!(find(&items, &kept_id)["status"], "accepted");
    assert_eq!(find(&items, &kept_id)["decision"]["comment"], "looks right");
    assert_eq!(find(&items, &rejected_id)["status"], "rejected");
    let stale = find(&items, &edited_id);
    assert_eq!(stale["status"], "stale");
    assert_eq!(stale["text"], edited["text"]);
    let new_text = stale["replacement"]["text"]
        .as_str()
        .expect("a replacement");
    assert!(new_text.contains("(revised)"), "{new_text}");
    assert_eq!(
        items.iter().filter(|i| i["status"] == "stale").count(),
        1,
        "only the edited passage needs re-review"
    );
}
