//! Embedding throughput of the candle embedder on the real model.
//!
//! Passages are the paragraphs of the sample corpus's Markdown and text files, repeated to
//! `BENCH_PASSAGES` (default 2000), so lengths are a realistic mix. Prints one JSON line.
//!
//!     cargo bench -p controlmap-models --bench embed
//!     BENCH_PASSAGES_OUT=/tmp/passages.txt cargo bench -p controlmap-models --bench embed
//!
//! The second form also writes the passages, one per line, for
//! `../shared/bench/st_reference.py` (PyTorch on the same passages).

use std::{path::Path, time::Instant};

use controlmap_models::{
    BertEmbedder, DeviceChoice, Embedder, EmbedderOptions, ModelSearch, locate_model,
};

fn paragraphs(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            paragraphs(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "txt")) {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            for para in text.split("\n\n") {
                let para = para.split_whitespace().collect::<Vec<_>>().join(" ");
                if para.len() >= 40 && !para.starts_with('|') {
                    out.push(para);
                }
            }
        }
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_PASSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let device: DeviceChoice = std::env::var("BENCH_DEVICE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DeviceChoice::Cpu);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sample-org");
    let mut base = Vec::new();
    paragraphs(&corpus, &mut base);
    assert!(!base.is_empty(), "no paragraphs under {}", corpus.display());
    let passages: Vec<String> = base.iter().cycle().take(n).cloned().collect();
    if let Ok(out) = std::env::var("BENCH_PASSAGES_OUT") {
        std::fs::write(&out, passages.join("\n") + "\n").unwrap();
    }

    let dir = locate_model(&ModelSearch::from_env(None)).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = EmbedderOptions {
        device,
        ..Default::default()
    };
    if let Some(b) = std::env::var("BENCH_TOKEN_BUDGET")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        opts.token_budget = b;
    }
    let embedder = BertEmbedder::load_with(&dir, opts.clone()).unwrap();
    let texts: Vec<&str> = passages.iter().map(String::as_str).collect();
    let tokens: usize = texts
        .iter()
        .map(|t| embedder.count_tokens(t).unwrap().min(embedder.max_tokens()))
        .sum();

    embedder.embed(&texts[..texts.len().min(64)]).unwrap(); // warm-up
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let v = embedder.embed(&texts).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(v.len(), texts.len());
    }
    times.sort_by(f64::total_cmp);
    let dt = times[1];
    println!(
        "{{\"engine\": \"candle 0.11.1\", \"device\": \"{device}\", \"threads\": {}, \"token_budget\": {}, \"passages\": {}, \"tokens\": {tokens}, \"seconds_median\": {dt:.3}, \"passages_per_s\": {:.1}, \"tokens_per_s\": {:.0}}}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        opts.token_budget,
        texts.len(),
        texts.len() as f64 / dt,
        tokens as f64 / dt
    );
}
