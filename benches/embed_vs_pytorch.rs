//! `controlmap embed` against PyTorch sentence-transformers on the same passages, same
//! machine, same thread count, interleaved (A, B, A, B, …) so load from other work hits both.
//!
//! Passages are generated policy text with real policies' lengths (`BENCH_TEXT=mix`, the
//! default: mean 78 tokens, tail to ~200, see `policy_text.rs`), or what `run` embeds for the
//! sample corpus (`BENCH_TEXT=sample`: parsed and chunked by the library), `BENCH_PASSAGES` of
//! them (default 3000). Prints each run's figures, the ratio and the kernel path that ran
//! (`CONTROLMAP_CPU=avx2|scalar` forces a lower one; it reaches `controlmap embed`).
//!
//!     cargo bench -p controlmap --bench embed_vs_pytorch
//!     BENCH_THREADS=2 BENCH_ROUNDS=3 BENCH_PRECISION=f32,int8 cargo bench -p controlmap --bench embed_vs_pytorch
//!     BENCH_TEXT=sample cargo bench -p controlmap --bench embed_vs_pytorch
//!
//! `BENCH_PRECISION` is a comma-separated list; each round runs every precision, then PyTorch.
//!
//! PyTorch comes from `CONTROLMAP_ST_PYTHON` (default `/tmp/st/bin/python`) running
//! `../shared/bench/st_reference.py`; set it up with
//! `python3 -m venv /tmp/st && /tmp/st/bin/pip install torch sentence-transformers`.

mod policy_text;

use std::{path::PathBuf, process::Command};

use controlmap::{
    ingest::chunk::{ChunkOptions, chunk},
    ingest::parse::{DEFAULT_MAX_BYTES, parse_file},
    ingest::walk::walk,
};
use controlmap_models::{BertEmbedder, DeviceChoice, Embedder, ModelSearch, locate_model};
use serde_json::Value;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run_json(cmd: &mut Command, what: &str) -> Value {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if !out.status.success() {
        eprintln!("{what} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(2);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what} printed {last:?}: {e}"))
}

fn main() {
    let n: usize = env_or("BENCH_PASSAGES", 3000);
    let threads: usize = env_or("BENCH_THREADS", 2);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let precisions: String = env_or("BENCH_PRECISION", "f32".to_string());
    let precisions: Vec<&str> = precisions.split(',').map(str::trim).collect();
    let python: String = env_or("CONTROLMAP_ST_PYTHON", "/tmp/st/bin/python".to_string());
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = repo.join("../shared/bench/st_reference.py");

    let probe = Command::new(&python)
        .args(["-c", "import torch, sentence_transformers"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) || !script.is_file() {
        eprintln!(
            "PyTorch reference not available: need {python} with torch and sentence-transformers,\n\
             and {}. Set up with:\n    \
             python3 -m venv /tmp/st && /tmp/st/bin/pip install torch sentence-transformers\n\
             or point CONTROLMAP_ST_PYTHON at a python that has them.",
            script.display()
        );
        std::process::exit(2);
    }

    let model = locate_model(&ModelSearch::from_env(None)).unwrap_or_else(|e| panic!("{e}"));
    let embedder = BertEmbedder::load(&model, DeviceChoice::Cpu).unwrap();
    let count = |s: &str| embedder.count_tokens(s).unwrap_or(usize::MAX);
    let corpus = repo.join("corpora/sample-org");
    let text: String = env_or("BENCH_TEXT", "mix".to_string());
    let mut base = Vec::new();
    if text == "mix" {
        let count = |s: &str| count(s).min(embedder.max_tokens());
        base = policy_text::mix(n, 26, &count);
    } else {
        for f in walk(&corpus).unwrap().files {
            let Ok(doc) = parse_file(&f.path, DEFAULT_MAX_BYTES) else {
                continue;
            };
            let opts = ChunkOptions {
                max_tokens: embedder.max_tokens(),
                ..Default::default()
            };
            for p in chunk(&doc, &f.rel, opts, &count) {
                base.push(
                    p.embedding_text()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
    }
    assert!(!base.is_empty(), "no passages in {}", corpus.display());
    let passages: Vec<&str> = base.iter().map(String::as_str).cycle().take(n).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passages.txt");
    std::fs::write(&file, passages.join("\n") + "\n").unwrap();
    if let Ok(out) = std::env::var("BENCH_PASSAGES_OUT") {
        std::fs::copy(&file, out).unwrap();
    }
    let mean = passages
        .iter()
        .map(|p| count(p).min(embedder.max_tokens()))
        .sum::<usize>() as f64
        / passages.len() as f64;
    let source = if text == "mix" {
        "generated policy text".to_string()
    } else {
        corpus.display().to_string()
    };
    eprintln!(
        "{} passages ({} distinct, {mean:.1} tokens mean, from {source}), {threads} threads, {rounds} rounds",
        passages.len(),
        base.len(),
    );

    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); precisions.len()];
    let mut theirs = Vec::new();
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        let mut mine = Vec::new();
        for (i, precision) in precisions.iter().enumerate() {
            let a = run_json(
                Command::new(env!("CARGO_BIN_EXE_controlmap"))
                    .args(["embed", "-q", "--format", "json", "--device", "cpu"])
                    .args(["--threads", &threads.to_string(), "--precision", precision])
                    .arg("--model")
                    .arg(&model)
                    .arg("--input")
                    .arg(&file),
                "controlmap embed",
            );
            let pa = a["passages_per_s"].as_f64().unwrap();
            line += &format!(
                " controlmap {precision} ({} kernels) {pa:.1} passages/s ({:.0} tokens/s) |",
                a["kernel_path"].as_str().unwrap_or("?"),
                a["tokens_per_s"].as_f64().unwrap()
            );
            ours[i].push(pa);
            mine.push(pa);
        }
        let b = run_json(
            Command::new(&python)
                .arg(&script)
                .arg(&model)
                .arg(&file)
                .args(["--threads", &threads.to_string()]),
            "st_reference.py",
        );
        let pb = b["passages_per_s"].as_f64().unwrap();
        line += &format!(
            " pytorch {pb:.1} passages/s ({} tokens/s) | ratio",
            b["tokens_per_s"]
        );
        for (precision, pa) in precisions.iter().zip(&mine) {
            line += &format!(" {precision} {:.2}", pa / pb);
        }
        println!("{line}");
        theirs.push(pb);
    }
    let b = median(theirs);
    for (precision, runs) in precisions.iter().zip(ours) {
        let a = median(runs);
        println!(
            "{{\"passages\": {}, \"threads\": {threads}, \"precision\": \"{precision}\", \
             \"controlmap_passages_per_s\": {a:.1}, \"pytorch_passages_per_s\": {b:.1}, \"ratio\": {:.3}}}",
            passages.len(),
            a / b
        );
    }
}
