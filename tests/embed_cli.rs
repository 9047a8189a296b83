//! End-to-end tests of `controlmap embed`: the vectors it writes (.npy and .jsonl) are the
//! library's vectors for the same lines, blank lines are skipped with rows kept aligned, and
//! bad input is a clear error.

use std::{io::Write, path::Path, process::Stdio};

use controlmap_models::{BertEmbedder, DeviceChoice, Embedder, Embeddings, testing::TinyModel};
use serde_json::Value;

mod common;
use common::{controlmap, ok};

const LINES: &str = "the ai policy is reviewed every year\n\n  \ndata quality risk\nthe model\n";
/// The non-blank lines of `LINES` and their 1-based line numbers.
const KEPT: [(usize, &str); 3] = [
    (1, "the ai policy is reviewed every year"),
    (4, "data quality risk"),
    (5, "the model"),
];

fn tiny_model(dir: &Path) -> BertEmbedder {
    TinyModel::default().write(dir).unwrap();
    BertEmbedder::load(dir, DeviceChoice::Cpu).unwrap()
}

/// Parses a `.npy` file: its shape and its little-endian f32 data.
fn read_npy(bytes: &[u8]) -> ((usize, usize), Vec<f32>) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0, "header padded to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.ends_with('\n'));
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape = header.split("'shape': (").nth(1).unwrap();
    let shape = &shape[..shape.find(')').unwrap()];
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), dims[0] * dims[1]);
    ((dims[0], dims[1]), data)
}

#[test]
fn npy_rows_are_the_library_vectors_of_the_non_blank_lines() {
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("model");
    let lib = tiny_model(&model);
    let input = t.path().join("passages.txt");
    std::fs::write(&input, LINES).unwrap();
    let npy = t.path().join("v.npy");
    let out = ok(controlmap()
        .env_remove("CONTROLMAP_PRECISION")
        .args([
            "embed",
            "-q",
            "--format",
            "json",
            "--threads",
            "1",
            "--input",
        ])
        .arg(&input)
        .arg("--output")
        .arg(&npy)
        .arg("--model")
        .arg(&model));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["passages"], 3);
    assert_eq!(summary["dim"], 32);
    assert_eq!(summary["threads"], 1);
    // auto, the default: a model no measurement names runs in float32.
    assert_eq!(summary["precision"], "f32");
    assert_eq!(summary["chosen_by"], "auto");
    assert!(summary["passages_per_s"].as_f64().unwrap() > 0.0);
    let texts: Vec<&str> = KEPT.iter().map(|(_, t)| *t).collect();
    let tokens: usize = texts.iter().map(|t| lib.token_ids(t).unwrap().len()).sum();
    assert_eq!(summary["tokens"], tokens);

    let (shape, data) = read_npy(&std::fs::read(&npy).unwrap());
    assert_eq!(shape, (3, 32));
    let want = lib.embed(&texts).unwrap();
    assert_rows_close(&data, 32, &want, 0.99999);
}

#[test]
fn jsonl_rows_carry_their_input_line_and_stdin_works() {
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("model");
    let lib = tiny_model(&model);
    let jsonl = t.path().join("v.jsonl");
    let mut child = controlmap()
        .args(["embed", "-q", "--input", "-", "--output"])
        .arg(&jsonl)
        .arg("--model")
        .arg(&model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(LINES.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("3 passages") && text.contains("passages/s"),
        "{text}"
    );

    let rows: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    for (row, (line, text)) in rows.iter().zip(KEPT) {
        assert_eq!(row["line"], line);
        let got: Vec<f32> = row["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let want = lib.embed(&[text]).unwrap();
        let c: f32 = got.iter().zip(want.row(0)).map(|(a, b)| a * b).sum();
        assert!(c > 0.99999, "line {line}: cosine {c}");
    }
}

#[test]
fn blank_input_missing_file_and_unknown_output_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("model");
    tiny_model(&model);
    let blank = t.path().join("blank.txt");
    std::fs::write(&blank, "\n  \n\n").unwrap();

    let run = |input: &Path, extra: &[&str]| {
        let out = controlmap()
            .args(["embed", "-q", "--input"])
            .arg(input)
            .arg("--model")
            .arg(&model)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&blank, &[]);
    assert!(err.contains("no passages"), "{err}");
    let err = run(&t.path().join("nope.txt"), &[]);
    assert!(
        err.contains("nope.txt") && err.contains("cannot read"),
        "{err}"
    );
    std::fs::write(t.path().join("one.txt"), "the policy\n").unwrap();
    let err = run(&t.path().join("one.txt"), &["--output", "v.csv"]);
    assert!(err.contains(".npy") && err.contains(".jsonl"), "{err}");
}

/// The real model (`scripts/fetch-model` installs it): the command's vectors are the library's.
#[test]
fn real_model_vectors_match_the_library() {
    let dir = controlmap_models::locate_model(&controlmap_models::ModelSearch::from_env(None))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("p.txt");
    std::fs::write(&input, LINES).unwrap();
    let npy = t.path().join("v.npy");
    ok(controlmap()
        .args(["embed", "-q", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&npy)
        .arg("--model")
        .arg(&dir)
        // The library's embedder is float32; the command's default (auto) may pick another.
        .args(["--precision", "f32"]));
    let (shape, data) = read_npy(&std::fs::read(&npy).unwrap());
    assert_eq!(shape, (3, 384));
    let lib = BertEmbedder::load(&dir, DeviceChoice::Cpu).unwrap();
    let texts: Vec<&str> = KEPT.iter().map(|(_, t)| *t).collect();
    let want = lib.embed(&texts).unwrap();
    assert_rows_close(&data, 384, &want, 0.9999);
}

/// `--precision int8` / `bf16` reach the model: the summary and model id say so, and the
/// vectors are close to float32's but not identical.
#[test]
fn reduced_precisions_are_used_when_asked() {
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("model");
    tiny_model(&model);
    let input = t.path().join("p.txt");
    std::fs::write(&input, LINES).unwrap();
    let embed = |precision: &str| {
        let npy = t.path().join(format!("{precision}.npy"));
        let out = ok(controlmap()
            .args(["embed", "-q", "--format", "json", "--precision", precision])
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&npy)
            .arg("--model")
            .arg(&model));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["precision"], precision);
        let id = summary["model"].as_str().unwrap().to_string();
        assert_eq!(id.ends_with(&format!("+{precision}")), precision != "f32");
        read_npy(&std::fs::read(&npy).unwrap()).1
    };
    let f32_rows = embed("f32");
    for precision in [
        controlmap_models::Precision::Int8,
        controlmap_models::Precision::Bf16,
    ] {
        if !precision.available_on_cpu() {
            eprintln!("skipped {precision}: this CPU or build cannot run it");
            continue;
        }
        let rows = embed(&precision.to_string());
        for (a, b) in f32_rows.chunks_exact(32).zip(rows.chunks_exact(32)) {
            let c: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(c > 0.95 && c < 0.999_999, "{precision}: cosine {c}");
        }
    }
}

/// Every `dim`-wide row of `data` has cosine above `min` to the same row of `want` (both
/// unit length).
fn assert_rows_close(data: &[f32], dim: usize, want: &Embeddings, min: f32) {
    assert_eq!(data.len(), want.len() * dim);
    for (i, row) in data.chunks_exact(dim).enumerate() {
        let c: f32 = row.iter().zip(want.row(i)).map(|(a, b)| a * b).sum();
        assert!(c > min, "row {i}: cosine {c}");
    }
}
