//! What the mapper learns: the default that read real documents (its figures reproducible from
//! the labelled vectors in corpora/real), and reviewers' decisions taught to the next run.

mod common;

use common::{controlmap, controls, ok, repo, run_json};
use controlmap::{
    mapping::Calibration,
    review::{Decision, Store, Verdict},
};
use serde_json::Value;

#[test]
fn the_shipped_default_is_reproduced_from_the_labelled_vectors() {
    let out = ok(controlmap().current_dir(repo()).args([
        "eval",
        "--vectors",
        "corpora/real",
        "--cv",
        "5",
        "--fit-calibration",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The calibration built into the binary is this fit, to the digits it was written with.
    let fitted = &v["calibration"];
    let shipped = Calibration::default();
    for (key, value) in [
        ("score", shipped.score),
        ("margin", shipped.margin),
        ("top", shipped.top),
        ("bias", shipped.bias),
    ] {
        let f = fitted[key].as_f64().unwrap();
        assert!(
            (f - value as f64).abs() < 6e-4,
            "{key}: fitted {f}, shipped {value}"
        );
    }
    // The figures docs/quality.md gives, cross-validated by document.
    let d = &v["datasets"][0];
    assert_eq!(d["cross_validation"]["by"], "documents");
    let p1 = d["ranking"]["p_at_1"].as_f64().unwrap();
    let mrr = d["ranking"]["mrr"].as_f64().unwrap();
    assert!((p1 - 0.523).abs() < 0.0015, "P@1 {p1}");
    assert!((mrr - 0.645).abs() < 0.0015, "MRR {mrr}");
    assert!(d["calibration_cross_validated"]["ece"].as_f64().unwrap() < 0.05);
    assert_eq!(v["learned_from"][0]["file"], "corpora/real (built in)");
}

#[test]
fn vectors_of_another_model_are_refused() {
    let t = tempfile::tempdir().unwrap();
    for f in ["labels.jsonl", "vectors.npy"] {
        fs_err::copy(repo().join("corpora/real").join(f), t.path().join(f)).unwrap();
    }
    let made_by = fs_err::read_to_string(repo().join("corpora/real/vectors.json")).unwrap();
    let mut made_by: Value = serde_json::from_str(&made_by).unwrap();
    made_by["model_id"] = "sentence-transformers/all-mpnet-base-v2@x".into();
    fs_err::write(t.path().join("vectors.json"), made_by.to_string()).unwrap();
    let out = controlmap()
        .args(["eval", "--vectors"])
        .arg(t.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("all-mpnet-base-v2") && err.contains("rebuild"),
        "{err}"
    );
}

/// Each passage's confidence for `control` in a report, by content hash.
fn confidence(report: &Value, control: &str, hash: &str) -> Option<f64> {
    controls(report)
        .into_iter()
        .find(|c| c["id"] == control)
        .and_then(|c| {
            c["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["content_hash"] == hash)
        })
        .map(|e| e["confidence"].as_f64().unwrap())
}

#[test]
fn decisions_teach_the_next_run_an_accepted_control_rises_and_a_rejected_one_falls() {
    let t = tempfile::tempdir().unwrap();
    let policies = t.path().join("policies");
    fs_err::create_dir_all(&policies).unwrap();
    fs_err::copy(
        repo().join("corpora/sample-org/governance/ai-policy.md"),
        policies.join("ai-policy.md"),
    )
    .unwrap();
    let ws = t.path().join("ws");
    let before = run_json(&policies, &ws);
    assert_eq!(before["decisions_learned"]["accepted"], 0);

    // The most confident suggestion of the run, to reject.
    let (top_control, top) = controls(&before)
        .into_iter()
        .flat_map(|c| {
            c["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |e| (c["id"].as_str().unwrap().to_string(), e.clone()))
        })
        .max_by(|a, b| {
            a.1["confidence"]
                .as_f64()
                .unwrap()
                .total_cmp(&b.1["confidence"].as_f64().unwrap())
        })
        .unwrap();
    let hash = top["content_hash"].as_str().unwrap().to_string();
    let text = top["text"].as_str().unwrap().to_string();
    // A control the same passage is not listed under, to accept as a reviewer's link.
    let other = controls(&before)
        .into_iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .find(|id| *id != top_control && confidence(&before, id, &hash).is_none())
        .unwrap();

    let mut store = Store::open(&ws).unwrap();
    store
        .record(&[
            Decision::new(&hash, &top_control, Verdict::Rejected, "tester", &text),
            Decision::new(&hash, &other, Verdict::Accepted, "tester", &text),
        ])
        .unwrap();
    drop(store);

    let after = run_json(&policies, &ws);
    assert_eq!(after["decisions_learned"]["accepted"], 1);
    assert_eq!(after["decisions_learned"]["rejected"], 1);
    let was = top["confidence"].as_f64().unwrap();
    match confidence(&after, &top_control, &hash) {
        None => {} // no longer suggested at all
        Some(now) => assert!(now < was - 0.1, "rejected: {was} -> {now}"),
    }
    let accepted = confidence(&after, &other, &hash).expect("the accepted control is suggested");
    assert!(accepted > 0.5, "{accepted}");
    let html = fs_err::read_to_string(ws.join("report.html")).unwrap();
    assert!(
        html.contains("Learned from 2 reviewer decisions (1 accepted, 1 rejected)"),
        "the report says what the mapping learned from"
    );
}
