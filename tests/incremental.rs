//! Re-runs reuse what has not changed, and reflect what has: edited, added and deleted
//! documents, and a workspace whose bookkeeping was lost.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{run_json as run, search_json};

fn search(ws: &Path, query: &str) -> Vec<Value> {
    search_json(ws, &["-n", "50", query])
}

fn outcome(report: &Value, path: &str) -> String {
    report["file_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == path)
        .map(|o| o["outcome"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "absent".into())
}

fn texts(results: &[Value]) -> String {
    results
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rerun_reuses_unchanged_and_follows_edits_additions_and_deletions() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("policies");
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.md"),
        "# A\n\nSuppliers of AI components are assessed before contract signature.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.md"),
        "# B\n\nThe zebra protocol governs quarterly kiosk audits.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("c.txt"),
        "Retention of event logs is seven years for credit models.\n",
    )
    .unwrap();

    let first = run(&dir, &ws);
    assert_eq!(first["files"]["parsed"], 3);
    assert_eq!(first["files"]["unchanged"], 0);

    let again = run(&dir, &ws);
    assert_eq!(again["files"]["unchanged"], 3, "{}", again["files"]);
    assert_eq!(again["files"]["passages"], first["files"]["passages"]);
    assert_eq!(
        again["summary"], first["summary"],
        "same folder, same coverage"
    );

    // The heading paths were embedded once, by the first run, and kept in the workspace.
    let quiet_less = common::controlmap()
        .args(["run", "--workspace"])
        .arg(&ws)
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&quiet_less.stderr);
    assert!(
        stderr.contains("headings: 0 embedded, 3 reused from the last run"),
        "{stderr}"
    );
    assert!(ws.join("contexts.bin").is_file());

    // Edit b, delete c, add d.
    std::fs::write(
        dir.join("b.md"),
        "# B\n\nThe giraffe procedure replaces the old kiosk audits.\n",
    )
    .unwrap();
    std::fs::remove_file(dir.join("c.txt")).unwrap();
    std::fs::write(
        dir.join("d.md"),
        "# D\n\nModel drift is monitored weekly by the platform team.\n",
    )
    .unwrap();
    let third = run(&dir, &ws);
    assert_eq!(outcome(&third, "a.md"), "unchanged");
    assert_eq!(outcome(&third, "b.md"), "parsed");
    assert_eq!(outcome(&third, "c.txt"), "absent");
    assert_eq!(outcome(&third, "d.md"), "parsed");

    let found = texts(&search(&ws, "zebra giraffe retention drift suppliers"));
    assert!(
        found.contains("giraffe") && !found.contains("zebra"),
        "edited text replaced: {found}"
    );
    assert!(
        !found.contains("seven years"),
        "deleted document gone: {found}"
    );
    assert!(
        found.contains("Model drift") && found.contains("Suppliers"),
        "{found}"
    );
    assert!(!texts(&search(&ws, "zebra")).contains("zebra"));

    // Lost bookkeeping: the manifest is corrupt, so everything is redone, and nothing doubles.
    std::fs::write(ws.join("documents.json"), "{ broken").unwrap();
    let fourth = run(&dir, &ws);
    assert_eq!(fourth["files"]["parsed"], 3);
    let giraffes = search(&ws, "giraffe")
        .iter()
        .filter(|r| r["text"].as_str().unwrap().contains("giraffe"))
        .count();
    assert_eq!(giraffes, 1, "no duplicate passages after a rebuild");
}
