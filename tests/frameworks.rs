//! Several frameworks from one run: the NIST AI RMF and the EU AI Act mapped beside ISO/IEC
//! 42001, directly and through the crosswalks, in every output; bad catalogs and crosswalks
//! are errors that name the file and line and write nothing.

mod common;

use std::{path::PathBuf, sync::OnceLock};

use common::*;
use serde_json::Value;

/// One run of the sample with the three frameworks, shared by the tests (a debug run takes
/// about a minute): its workspace and the report it printed.
fn three() -> &'static (PathBuf, Value) {
    static RUN: OnceLock<(PathBuf, Value)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let ws = dir.join("ws");
        let out = ok(controlmap()
            .args([
                "run",
                "-q",
                "--format",
                "json",
                "--framework",
                "iso42001,nist-ai-rmf,eu-ai-act",
                "--workspace",
            ])
            .arg(&ws)
            .arg(repo().join("corpora/sample-org")));
        (ws, serde_json::from_slice(&out.stdout).unwrap())
    })
}

fn framework<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no framework {id}"))
}

fn controls_of(f: &Value) -> Vec<&Value> {
    controls(f)
}

#[test]
fn one_run_reports_each_framework_with_direct_and_crosswalk_coverage() {
    let (_, r) = three();
    assert_eq!(r["schema_version"], 4);
    assert_eq!(r["framework"]["id"], "iso42001-annex-a");
    assert_eq!(controls(r).len(), 38, "the primary framework stays on top");
    let nist = framework(r, "nist-ai-rmf");
    let eu = framework(r, "eu-ai-act");
    let nist_controls = controls_of(nist);
    assert_eq!(nist_controls.len(), 72);
    assert_eq!(nist_controls[0]["id"], "GOVERN 1.1");
    assert!(
        controls_of(eu).iter().any(|c| c["id"] == "Art. 26(2)"),
        "AI Act paragraphs are controls"
    );
    for f in [nist, eu] {
        let cs = controls_of(f);
        let total: u64 = ["covered", "proposed", "weak", "gap", "not_applicable"]
            .iter()
            .map(|k| f["coverage"][k].as_u64().unwrap())
            .sum();
        assert_eq!(total as usize, cs.len(), "{}", f["id"]);
        let a = &f["agreement"];
        let agreed: u64 = ["both", "neither", "direct_only", "crosswalk_only"]
            .iter()
            .map(|k| a[k].as_u64().unwrap())
            .sum();
        let crosswalked = cs.iter().filter(|c| c["crosswalk"].is_object()).count();
        assert_eq!(
            agreed as usize, crosswalked,
            "every crosswalked control counted once"
        );
        for c in cs.iter().filter(|c| c["crosswalk"].is_object()) {
            // The status is the better of the two sources, and says which gave it.
            let from = c["coverage_from"].as_str().unwrap();
            let x = c["crosswalk"]["coverage"].as_str().unwrap();
            let direct = c["direct_coverage"].as_str().unwrap();
            match from {
                "crosswalk" => assert_eq!(c["coverage"], x, "{c}"),
                "direct" | "both" => assert_eq!(c["coverage"], direct, "{c}"),
                other => panic!("{other}"),
            }
        }
    }
    // The crosswalk carries Annex A's evidence: a NIST subcategory whose Annex A targets are
    // all proposed or covered is at least proposed.
    let iso: std::collections::HashMap<&str, &str> = controls(r)
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["coverage"].as_str().unwrap()))
        .collect();
    let carried = nist_controls
        .iter()
        .filter(|c| c["crosswalk"].is_object())
        .filter(|c| {
            c["crosswalk"]["to"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| iso[t.as_str().unwrap()] == "proposed")
        })
        .collect::<Vec<_>>();
    assert!(!carried.is_empty());
    for c in carried {
        assert_eq!(c["crosswalk"]["coverage"], "proposed", "{c}");
        assert!(
            c["coverage"] == "proposed" || c["coverage"] == "covered",
            "{c}"
        );
    }
    let govern13 = nist_controls
        .iter()
        .find(|c| c["id"] == "GOVERN 1.3")
        .unwrap();
    assert!(
        govern13.get("crosswalk").is_none(),
        "no pair in NIST's crosswalk: direct mapping only"
    );
}

#[test]
fn the_table_html_and_search_show_every_framework() {
    let (ws, _) = three();
    let out = ok(controlmap().args(["report", "--workspace"]).arg(ws));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("== NIST AI Risk Management Framework"),
        "{table}"
    );
    assert!(table.contains("  GOVERN 1.1 "), "{table}");
    assert!(
        table.contains("EU AI Act (Regulation (EU) 2024/1689): 34 controls"),
        "{table}"
    );
    assert!(
        table.contains("direct mapping and crosswalk: both find evidence for"),
        "{table}"
    );

    let html = fs_err::read_to_string(ws.join("report.html")).unwrap();
    assert!(html.contains("<nav class=\"frameworks\""), "the switch");
    assert!(html.contains("href=\"#framework-nist-ai-rmf\""));
    assert!(html.contains("id=\"framework-eu-ai-act\""));
    assert!(
        html.contains("id=\"control-GOVERN-1.1\""),
        "fragment-safe IDs"
    );
    assert!(html.contains("Crosswalk to A.2.2, A.2.4"));

    // Search by a control of any loaded catalog.
    let hits = search_json(ws, &["--control", "GOVERN 1.1", "-n", "3"]);
    assert_eq!(hits.len(), 3);
    let hits = search_json(ws, &["--control", "Art. 14", "-n", "2"]);
    assert_eq!(hits.len(), 2);
    let e = fails(
        controlmap()
            .args(["search", "-q", "--control", "GOVERN 9.9", "--workspace"])
            .arg(ws),
    );
    assert!(e.contains("no control GOVERN 9.9"), "{e}");
}

#[test]
fn a_decision_on_a_nist_control_is_recorded_and_covers_it_directly() {
    let (ws, report) = three();
    // A copy of the workspace: the other tests read the shared one.
    let t = tempfile::tempdir().unwrap();
    let mine = t.path().join("ws");
    copy_dir(ws, &mine);
    let nist = framework(report, "nist-ai-rmf");
    let (control, hash) = controls_of(nist)
        .iter()
        .find_map(|c| {
            let e = c["evidence"].as_array()?.first()?;
            Some((
                c["id"].as_str()?.to_string(),
                e["content_hash"].as_str()?.to_string(),
            ))
        })
        .expect("some NIST control has a suggestion");
    ok(controlmap()
        .args(["review", "accept", "--workspace"])
        .arg(&mine)
        .args(["--reviewer", "alice", "--comment", "checked"])
        .arg(format!("{hash}:{control}")));
    let out = ok(controlmap()
        .args(["report", "--format", "json", "--workspace"])
        .arg(&mine));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = controls_of(framework(&r, "nist-ai-rmf"))
        .into_iter()
        .find(|c| c["id"] == control.as_str())
        .unwrap()
        .clone();
    assert_eq!(c["coverage"], "covered", "{c}");
    assert_eq!(c["evidence"][0]["review"], "accepted");
    assert_eq!(c["evidence"][0]["decision"]["reviewer"], "alice");
    if c["crosswalk"].is_object() {
        assert_eq!(c["direct_coverage"], "covered");
        assert_ne!(c["coverage_from"], "crosswalk");
    }
    // The decision is on the NIST control, not on an Annex A one.
    assert!(
        controls(&r).iter().all(|c| c["coverage"] != "covered"),
        "no Annex A control is covered by it"
    );
}

#[test]
fn bad_frameworks_catalogs_and_crosswalks_are_errors_that_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let sample = repo().join("corpora/sample-org");
    let run = |args: &[&str]| {
        let out = controlmap()
            .args(["run", "-q", "--workspace"])
            .arg(&ws)
            .args(args)
            .arg(&sample)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(!ws.join("report.json").exists(), "nothing written");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["--framework", "iso42001,iso27001"]);
    assert!(e.contains("no framework \"iso27001\""), "{e}");
    assert!(e.contains("nist-ai-rmf, eu-ai-act"), "{e}");

    let bad_catalog = t.path().join("bad.yaml");
    let text = fs_err::read_to_string(repo().join("corpora/catalogs/eu-ai-act.yaml"))
        .unwrap()
        .replacen("title: AI literacy", "title: \"\"", 1);
    fs_err::write(&bad_catalog, &text).unwrap();
    let e = run(&["--catalog", bad_catalog.to_str().unwrap()]);
    let line = text
        .lines()
        .position(|l| l.trim() == "- id: Art. 4")
        .unwrap()
        + 1;
    assert!(e.contains(&format!("bad.yaml:{line}:")), "{e}");
    assert!(e.contains("Art. 4 has an empty title"), "{e}");

    let bad_crosswalk = t.path().join("x.json");
    let text = fs_err::read_to_string(repo().join("corpora/catalogs/eu-ai-act-to-iso42001.json"))
        .unwrap()
        .replacen("\"A.4.6\"", "\"A.4.99\"", 1);
    fs_err::write(&bad_crosswalk, &text).unwrap();
    let e = run(&[
        "--framework",
        "eu-ai-act",
        "--crosswalk",
        bad_crosswalk.to_str().unwrap(),
    ]);
    assert!(e.contains("x.json:"), "{e}");
    assert!(
        e.contains("A.4.99 is not a control of ISO/IEC 42001"),
        "{e}"
    );
}

#[test]
fn every_framework_exports_as_oscal_that_validates() {
    let (ws, _) = three();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("oscal");
    ok(controlmap()
        .args(["export", "oscal", "-q", "--workspace"])
        .arg(ws)
        .arg("--out")
        .arg(&out));
    let mut files: Vec<PathBuf> = fs_err::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "assessment-results.json",
            "catalog-eu-ai-act.json",
            "catalog-iso42001-annex-a.json",
            "catalog-nist-ai-rmf.json"
        ]
    );
    let results: Value =
        serde_json::from_slice(&fs_err::read(out.join("assessment-results.json")).unwrap())
            .unwrap();
    let results = results["assessment-results"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "one result per framework");
    let findings: Vec<usize> = results
        .iter()
        .map(|r| r["findings"].as_array().unwrap().len())
        .collect();
    assert_eq!(findings, [38, 72, 34]);
    let check = std::process::Command::new(repo().join("scripts/oscal-validate"))
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
