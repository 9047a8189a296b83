//! End-to-end tests of `controlmap tune` with the real model: a small catalog (the built-in
//! one's first objective) is tuned on briefly, and the tuned model must load, carry its
//! provenance, and place each evidence example nearer its own control's description than the
//! base model did.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{controlmap, fails, ok, repo};

/// The built-in catalog cut down to its first objective (three controls), as a file.
fn small_catalog(dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    let text =
        std::fs::read_to_string(repo().join("corpora/catalogs/iso42001-annex-a.yaml")).unwrap();
    let mut catalog: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let objectives = catalog["objectives"].as_sequence_mut().unwrap();
    objectives.truncate(1);
    // (example, description) pairs, the description as the mapper embeds it.
    let mut pairs = Vec::new();
    for c in objectives[0]["controls"].as_sequence().unwrap() {
        let description = format!(
            "{}. {}",
            c["title"].as_str().unwrap(),
            c["summary"].as_str().unwrap().trim()
        );
        for e in c["evidence_examples"].as_sequence().unwrap() {
            pairs.push((e.as_str().unwrap().to_string(), description.clone()));
        }
    }
    let path = dir.join("small.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&catalog).unwrap()).unwrap();
    (path, pairs)
}

/// Unit vectors of `texts` from `model` (None: the default model).
fn embed(dir: &Path, model: Option<&Path>, texts: &[String]) -> Vec<Vec<f32>> {
    let input = dir.join("texts.txt");
    std::fs::write(&input, texts.join("\n")).unwrap();
    let output = dir.join("vectors.jsonl");
    let mut cmd = controlmap();
    cmd.args(["embed", "-q", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output);
    if let Some(m) = model {
        cmd.arg("--model").arg(m);
    }
    ok(&mut cmd);
    std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| {
            let row: Value = serde_json::from_str(l).unwrap();
            row["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn mean_cosine(v: &[Vec<f32>]) -> f32 {
    // Rows come as example, description, example, description, …
    let pairs = v.len() / 2;
    let sum: f32 = (0..pairs)
        .map(|i| {
            v[2 * i]
                .iter()
                .zip(&v[2 * i + 1])
                .map(|(a, b)| a * b)
                .sum::<f32>()
        })
        .sum();
    sum / pairs as f32
}

#[test]
fn tuning_draws_examples_to_their_descriptions_and_the_tuned_model_loads_with_provenance() {
    let t = tempfile::tempdir().unwrap();
    let (catalog, pairs) = small_catalog(t.path());
    assert!(pairs.len() >= 6, "{} pairs", pairs.len());
    let out = t.path().join("tuned");
    let run = ok(controlmap()
        .args([
            "tune",
            "--epochs",
            "3",
            "--learning-rate",
            "1e-4",
            "--catalog",
        ])
        .arg(&catalog)
        .arg("--out")
        .arg(&out));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("tuned model written to"), "{stderr}");
    assert!(stderr.contains("--model"), "says how to use it: {stderr}");

    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("controlmap-tune.json")).unwrap())
            .unwrap();
    assert_eq!(provenance["catalog"]["controls"], 3);
    assert_eq!(provenance["catalog"]["evidence_examples"], pairs.len());
    assert_eq!(
        provenance["base_model"]["model_safetensors_sha256"],
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "tuned from the pinned model"
    );
    let losses = provenance["epoch_losses"].as_array().unwrap();
    assert_eq!(losses.len(), 3);

    let texts: Vec<String> = pairs
        .iter()
        .flat_map(|(e, d)| [e.clone(), d.clone()])
        .collect();
    let before = mean_cosine(&embed(t.path(), None, &texts));
    let after = mean_cosine(&embed(t.path(), Some(&out), &texts));
    eprintln!("mean cosine of an example to its own description: {before:.3} -> {after:.3}");
    assert!(
        after > before + 0.05,
        "mean cosine of an example to its own description: {before:.3} -> {after:.3}"
    );

    // Tuning again into the same place replaces the earlier model.
    ok(controlmap()
        .args(["tune", "-q", "--epochs", "1", "--seed", "1", "--catalog"])
        .arg(&catalog)
        .arg("--out")
        .arg(&out));
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("controlmap-tune.json")).unwrap())
            .unwrap();
    assert_eq!(again["options"]["seed"], 1);
}

#[test]
fn tune_refuses_reduced_precision_and_a_directory_holding_another_model() {
    let t = tempfile::tempdir().unwrap();
    let stderr = fails(
        controlmap()
            .args(["tune", "--precision", "int8", "--out"])
            .arg(t.path().join("x")),
    );
    assert!(stderr.contains("f32"), "{stderr}");

    // A folder holding a model that tune did not make is left alone, and refused before any
    // training.
    let other = t.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("model.safetensors"), b"not ours").unwrap();
    let (catalog, _) = small_catalog(t.path());
    let stderr = fails(
        controlmap()
            .args(["tune", "--epochs", "1", "--catalog"])
            .arg(&catalog)
            .arg("--out")
            .arg(&other),
    );
    assert!(stderr.contains("did not tune"), "{stderr}");
    assert_eq!(
        std::fs::read(other.join("model.safetensors")).unwrap(),
        b"not ours"
    );
}

#[test]
fn a_calibration_fitted_for_a_tuned_model_is_stored_beside_it_and_used() {
    let t = tempfile::tempdir().unwrap();
    let (catalog, _) = small_catalog(t.path());
    let model = t.path().join("tuned");
    ok(controlmap()
        .args(["tune", "-q", "--epochs", "1", "--catalog"])
        .arg(&catalog)
        .arg("--out")
        .arg(&model));
    let ws = t.path().join("ws");
    let corpus = repo().join("corpora/sample-org");
    ok(controlmap()
        .args(["run", "-q", "--workspace"])
        .arg(&ws)
        .arg("--model")
        .arg(&model)
        .arg(&corpus));
    let report = |ws: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(ws.join("report.json")).unwrap()).unwrap()
    };
    assert_eq!(report(&ws)["calibration"]["source"], "built-in");
    let eval = |extra: &[&str]| -> Value {
        let out = ok(controlmap()
            .args(["eval", "--format", "json", "--workspace"])
            .arg(&ws)
            .arg("--model")
            .arg(&model)
            .arg("--corpus")
            .arg(&corpus)
            .args(extra));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let built_in = eval(&[]);
    let fitted = eval(&["--fit-calibration", "--save-calibration"]);
    assert_ne!(built_in["calibration"], fitted["calibration"]);
    let file = model.join("controlmap-calibration.json");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["calibration"], fitted["calibration"]);
    assert_eq!(stored["model_id"], fitted["model"]);
    // From now on eval and run use it, and say so.
    let again = eval(&[]);
    assert_eq!(again["calibration"], fitted["calibration"]);
    assert_eq!(
        again["datasets"][0]["calibration"]["ece"],
        fitted["datasets"][0]["calibration"]["ece"]
    );
    let run = ok(controlmap()
        .args(["run", "--workspace"])
        .arg(&ws)
        .arg("--model")
        .arg(&model)
        .arg(&corpus));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("the one stored with the model"), "{stderr}");
    // The report says which calibration made its confidences.
    let used = &report(&ws)["calibration"];
    assert_eq!(used["source"], "stored", "{used}");
    assert_eq!(used["coefficients"], fitted["calibration"]);
    assert_eq!(used["ece"], stored["ece"]);
    assert_eq!(used["file"], file.display().to_string());
    let html = std::fs::read_to_string(ws.join("report.html")).unwrap();
    assert!(
        html.contains("Confidences from the calibration stored with the model"),
        "{html}"
    );

    // Tuning into the same place again drops the calibration fitted for the earlier model.
    ok(controlmap()
        .args(["tune", "-q", "--epochs", "1", "--seed", "3", "--catalog"])
        .arg(&catalog)
        .arg("--out")
        .arg(&model));
    assert!(!file.exists());

    // The default model's calibration is built in: nothing is stored beside it, and that is
    // said before any work.
    let stderr = fails(
        controlmap()
            .args([
                "eval",
                "--fit-calibration",
                "--save-calibration",
                "--workspace",
            ])
            .arg(&ws)
            .arg("--corpus")
            .arg(&corpus),
    );
    assert!(stderr.contains("controlmap tune"), "{stderr}");
}
