//! OSCAL out and in, end to end: `controlmap export oscal` writes catalogs and
//! assessment-results that a real OSCAL 1.1 validator accepts (compliance-trestle's models,
//! through `scripts/oscal-validate`); an exported catalog imports back with the same IDs and
//! titles; an OSCAL catalog given to `run --catalog` is mapped to; bad input exits 2 naming
//! the file and the place, and writes nothing.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use common::{controlmap, fails, ok, repo};
use controlmap::{
    catalog::Catalog,
    ingest::chunk::Passage,
    ingest::manifest::{DocRecord, MANIFEST_VERSION, Manifest, sha256_file},
    ingest::parse::Format,
    review::{Decision, NotApplicable, Store, Verdict},
};
use serde_json::{Value, json};

const EXAMPLE: &str = "tests/fixtures/oscal/example-catalog.json";

/// Runs the OSCAL validator on `files`; panics with its report when one is invalid, and says
/// plainly when the validator itself could not be installed or run.
fn validate(files: &[PathBuf]) {
    let out = Command::new(repo().join("scripts/oscal-validate"))
        .args(files)
        .output()
        .expect("scripts/oscal-validate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => {}
        Some(1) => panic!("OSCAL validation failed:\n{text}"),
        _ => panic!("the OSCAL validator could not run (see scripts/oscal-validate):\n{text}"),
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

fn passage(id: u64, hash: &str, doc: &str, text: &str) -> Passage {
    Passage {
        id,
        content_hash: hash.into(),
        document: doc.into(),
        title: "Policy".into(),
        headings: vec!["Policy".into(), "Section".into()],
        page: None,
        format: Format::Text,
        text: text.into(),
        start: 0,
        end: text.len(),
        ocr_confidence: None,
    }
}

/// A workspace as `run` leaves it, without the model: a policy folder of two files (one
/// listed in `documents.json`, one not), a report on the built-in catalog naming A.2.2
/// (evidence), A.5.2 (weak), A.7.5 (gap) and A.10.4, then decisions: A.2.2's passage
/// accepted by Alice with a comment, A.5.2's rejected by Bob, A.10.4 not applicable.
fn workspace(root: &Path) -> (PathBuf, PathBuf) {
    let policies = root.join("policies");
    fs_err::create_dir_all(policies.join("gov")).unwrap();
    fs_err::write(policies.join("gov/ai policy.txt"), "The AI policy applies.").unwrap();
    fs_err::write(policies.join("impact.txt"), "Impacts are assessed.").unwrap();
    let ws = root.join("ws");
    fs_err::create_dir_all(&ws).unwrap();
    let ps = [
        passage(
            1,
            "aa11aa11aa11",
            "gov/ai policy.txt",
            "The AI policy applies.",
        ),
        passage(2, "bb22bb22bb22", "impact.txt", "Impacts are assessed."),
    ];
    let mut m = Manifest {
        version: MANIFEST_VERSION,
        model_id: "test".into(),
        documents: BTreeMap::new(),
    };
    m.documents.insert(
        ps[0].document.clone(),
        DocRecord {
            size: 1,
            mtime_ns: 1,
            sha256: sha256_file(&policies.join("gov/ai policy.txt")).unwrap(),
            format: Format::Text,
            passages: ps.to_vec(),
            metadata: vec![],
        },
    );
    m.save(&ws).unwrap();
    let ev = |p: &Passage, score: f32| {
        json!({"passage_id": p.id, "content_hash": p.content_hash, "document": p.document,
               "heading": p.heading_path(), "score": score, "confidence": score - 0.1,
               "text": p.text})
    };
    let report = json!({
        "schema_version": 2,
        "tool": "controlmap 0.1.0",
        "run_id": "2025-03-01T10:00:00.000001Z",
        "policy_folder": policies,
        "model": "test-model@1",
        "catalog": Catalog::builtin().framework.name,
        "objectives": [
            {"id": "A.2", "title": "Policies related to AI", "controls": [
                {"id": "A.2.2", "title": "AI policy", "status": "evidence", "best_score": 0.8,
                 "evidence": [ev(&ps[0], 0.8)]}]},
            {"id": "A.5", "title": "Assessing impacts", "controls": [
                {"id": "A.5.2", "title": "AI system impact assessment process", "status": "weak",
                 "best_score": 0.55, "evidence": [ev(&ps[1], 0.55)]}]},
            {"id": "A.7", "title": "Data", "controls": [
                {"id": "A.7.5", "title": "Data provenance", "status": "gap", "best_score": 0.3,
                 "evidence": []}]},
            {"id": "A.10", "title": "Third parties", "controls": [
                {"id": "A.10.4", "title": "Customers", "status": "gap", "best_score": 0.2,
                 "evidence": []}]}
        ],
        "file_outcomes": []
    });
    fs_err::write(ws.join("report.json"), report.to_string()).unwrap();
    let mut store = Store::open(&ws).unwrap();
    let mut accept = Decision::new(
        &ps[0].content_hash,
        "A.2.2",
        Verdict::Accepted,
        "Alice",
        &ps[0].text,
    );
    accept.comment = Some("Approved by the board.\nSee minutes.".into());
    let reject = Decision::new(
        &ps[1].content_hash,
        "A.5.2",
        Verdict::Rejected,
        "Bob",
        &ps[1].text,
    );
    store.record(&[accept, reject]).unwrap();
    store
        .record_not_applicable(&[NotApplicable::new(
            "A.10.4",
            "We have no customers.",
            "Bob",
            false,
        )])
        .unwrap();
    (ws, policies)
}

fn export(ws: &Path, out: &Path, catalogs: &[&str]) -> Vec<PathBuf> {
    let mut cmd = controlmap();
    cmd.args(["export", "oscal", "--workspace"])
        .arg(ws)
        .arg("--out")
        .arg(out);
    for c in catalogs {
        cmd.arg("--catalog").arg(repo().join(c));
    }
    let stdout = String::from_utf8(ok(&mut cmd).stdout).unwrap();
    stdout.lines().map(PathBuf::from).collect()
}

fn ids_and_titles(c: &Catalog) -> Vec<(String, String)> {
    c.controls()
        .map(|(_, c)| (c.id.clone(), c.title.clone()))
        .collect()
}

#[test]
fn export_validates_imports_back_and_repeats_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    let (ws, policies) = workspace(t.path());
    let out = t.path().join("oscal");
    let files = export(
        &ws,
        &out,
        &[
            "corpora/catalogs/nist-ai-rmf.yaml",
            "corpora/catalogs/eu-ai-act.yaml",
        ],
    );
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "catalog-iso42001-annex-a.json",
            "catalog-nist-ai-rmf.json",
            "catalog-eu-ai-act.json",
            "assessment-results.json"
        ]
    );
    validate(&files);

    // Each catalog imports back with the same IDs (`GOVERN 1.1`, `Art. 26(2)`) and titles.
    for (file, source) in [
        (&files[0], Catalog::builtin()),
        (
            &files[1],
            Catalog::load(&repo().join("corpora/catalogs/nist-ai-rmf.yaml")).unwrap(),
        ),
        (
            &files[2],
            Catalog::load(&repo().join("corpora/catalogs/eu-ai-act.yaml")).unwrap(),
        ),
    ] {
        let back = Catalog::load(file).unwrap();
        assert_eq!(
            ids_and_titles(&back),
            ids_and_titles(&source),
            "{}",
            file.display()
        );
        assert_eq!(back.framework.id, source.framework.id);
        let (_, first) = source.controls().next().unwrap();
        assert_eq!(
            back.control(&first.id).unwrap().evidence_examples,
            first.evidence_examples
        );
    }

    let ar = read_json(&files[3]);
    let ar = &ar["assessment-results"];
    let result = &ar["results"][0];
    let finding = |id: &str| {
        result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["target"]["target-id"] == format!("{id}_smt"))
            .unwrap_or_else(|| panic!("no finding for {id}"))
            .clone()
    };
    let ns_prop = |v: &Value, name: &str| -> Option<String> {
        v["props"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    // Statuses: covered is satisfied; rejected evidence leaves a gap; not applicable is
    // satisfied as not-applicable with the justification; controlmap's own status is a prop.
    let a22 = finding("A.2.2");
    assert_eq!(a22["target"]["status"]["state"], "satisfied");
    assert_eq!(ns_prop(&a22, "coverage").as_deref(), Some("covered"));
    let a52 = finding("A.5.2");
    assert_eq!(a52["target"]["status"]["state"], "not-satisfied");
    assert_eq!(ns_prop(&a52, "coverage").as_deref(), Some("gap"));
    let a104 = finding("A.10.4");
    assert_eq!(
        a104["target"]["implementation-status"]["state"],
        "not-applicable"
    );
    assert_eq!(a104["target"]["remarks"], "We have no customers.");
    assert_eq!(
        ns_prop(&finding("A.7.5"), "coverage").as_deref(),
        Some("gap")
    );

    // The model and mapper version; the suggestion's confidence; Alice's decision with her
    // as a party origin, her comment kept.
    assert_eq!(ns_prop(result, "model").as_deref(), Some("test-model@1"));
    assert_eq!(
        ns_prop(result, "mapper-version").as_deref(),
        Some("controlmap 0.1.0")
    );
    let parties = ar["metadata"]["parties"].as_array().unwrap();
    let alice = parties.iter().find(|p| p["name"] == "Alice").unwrap();
    let obs_uuid = &a22["related-observations"][0]["observation-uuid"];
    let obs = result["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| &o["uuid"] == obs_uuid)
        .unwrap();
    assert_eq!(ns_prop(obs, "confidence").as_deref(), Some("0.7000"));
    let decided = &obs["origins"][1]["actors"][0];
    assert_eq!(decided["type"], "party");
    assert_eq!(decided["actor-uuid"], alice["uuid"]);
    assert_eq!(ns_prop(decided, "verdict").as_deref(), Some("accepted"));
    assert!(
        obs["remarks"]
            .as_str()
            .unwrap()
            .contains("Approved by the board."),
        "{obs}"
    );
    assert!(
        a22["origins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["actors"][0]["actor-uuid"] == alice["uuid"])
    );

    // The documents, with their SHA-256: from documents.json, or hashed from the policy
    // folder for one it does not list.
    let resources = ar["back-matter"]["resources"].as_array().unwrap();
    let doc = |href: &str| {
        resources
            .iter()
            .find(|r| r["rlinks"][0]["href"] == href)
            .unwrap()
    };
    let listed = doc("gov/ai%20policy.txt");
    assert_eq!(
        listed["rlinks"][0]["hashes"][0]["value"],
        sha256_file(&policies.join("gov/ai policy.txt")).unwrap()
    );
    assert_eq!(ns_prop(listed, "hash-source").as_deref(), Some("manifest"));
    let hashed = doc("impact.txt");
    assert_eq!(
        hashed["rlinks"][0]["hashes"][0]["value"],
        sha256_file(&policies.join("impact.txt")).unwrap()
    );
    assert_eq!(
        ns_prop(hashed, "hash-source").as_deref(),
        Some("policy-folder")
    );
    assert_eq!(
        obs["relevant-evidence"][0]["href"],
        format!("#{}", listed["uuid"].as_str().unwrap())
    );

    // A second export of the same workspace is the same, byte for byte.
    let again = export(
        &ws,
        &t.path().join("again"),
        &[
            "corpora/catalogs/nist-ai-rmf.yaml",
            "corpora/catalogs/eu-ai-act.yaml",
        ],
    );
    for (a, b) in files.iter().zip(&again) {
        assert_eq!(
            fs_err::read(a).unwrap(),
            fs_err::read(b).unwrap(),
            "{}",
            a.display()
        );
    }
}

#[test]
fn an_oscal_catalog_imports_and_maps() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let out = ok(controlmap()
        .args(["run", "--format", "json", "--quiet", "--catalog"])
        .arg(repo().join(EXAMPLE))
        .arg("--workspace")
        .arg(&ws)
        .arg(repo().join("corpora/sample-org")));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // A catalog of a framework that is not built in is mapped beside Annex A.
    assert_eq!(report["framework"]["id"], "iso42001-annex-a");
    let example = &report["frameworks"][0];
    assert_eq!(example["name"], "Example AI Assurance Controls");
    let controls = common::controls(example);
    let ids: Vec<&str> = controls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    // The enhancement is a control; the withdrawn one is not.
    assert_eq!(
        ids,
        [
            "gov-1", "gov-1.1", "gov-2", "gov-3", "lif-1", "lif-2", "lif-3"
        ]
    );
    // The sample organisation has an AI policy and impact assessments: the mapper finds
    // evidence for them in its documents.
    for id in ["gov-1", "lif-1"] {
        let c = controls.iter().find(|c| c["id"] == id).unwrap();
        assert_ne!(c["status"], "gap", "{id}: {c}");
        assert!(!c["evidence"].as_array().unwrap().is_empty(), "{id}");
    }

    // Its findings export, with the catalog given again, and validate.
    let files = export(&ws, &t.path().join("oscal"), &[EXAMPLE]);
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("catalog-example-ai-assurance-controls.json")),
        "{files:?}"
    );
    validate(&files);
}

#[test]
fn bad_oscal_input_exits_2_naming_the_file_and_place() {
    let t = tempfile::tempdir().unwrap();
    let mut doc = read_json(&repo().join(EXAMPLE));
    doc["catalog"]["groups"][1]["controls"][2]
        .as_object_mut()
        .unwrap()
        .remove("title");
    let bad = t.path().join("bad.json");
    fs_err::write(&bad, doc.to_string()).unwrap();
    let broken = t.path().join("broken.json");
    fs_err::write(&broken, "{\"catalog\": {\n  \"uuid\": ,\n}}").unwrap();
    let ws = t.path().join("ws");
    for (file, place) in [
        (&bad, "catalog.groups[1].controls[2]: `title` is missing"),
        (&broken, ":2: not valid JSON"),
    ] {
        let out = controlmap()
            .args(["run", "--quiet", "--catalog"])
            .arg(file)
            .arg("--workspace")
            .arg(&ws)
            .arg(repo().join("corpora/sample-org"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains(place), "{err}");
        assert!(!ws.join("report.json").exists(), "nothing written");
    }

    // Export: a workspace without report.json, and one with a damaged report: exit 2, the
    // file named, no output folder.
    let (good_ws, _) = workspace(&t.path().join("w"));
    let out_dir = t.path().join("oscal");
    let empty = t.path().join("empty");
    fs_err::create_dir_all(&empty).unwrap();
    let err = fails(
        controlmap()
            .args(["export", "oscal", "--workspace"])
            .arg(&empty)
            .arg("--out")
            .arg(&out_dir),
    );
    assert!(err.contains("has no report.json"), "{err}");
    fs_err::write(
        good_ws.join("report.json"),
        "{\"schema_version\": 2, \"objectives\": 7}",
    )
    .unwrap();
    let out = controlmap()
        .args(["export", "oscal", "--workspace"])
        .arg(&good_ws)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&good_ws.join("report.json").display().to_string()),
        "{err}"
    );
    // A bad --catalog stops it before anything is written, too.
    let out = controlmap()
        .args(["export", "oscal", "--workspace"])
        .arg(&good_ws)
        .arg("--out")
        .arg(&out_dir)
        .arg("--catalog")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out_dir.exists(), "nothing written");
}
