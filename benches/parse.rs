//! Parse throughput on the sample corpus, per format: MB/s, files/s and (PDF) pages/s, on
//! one thread and on `BENCH_THREADS` (default 2), in this process and through the worker
//! process that `run` uses for PDF and DOCX. Each file is parsed `BENCH_ROUNDS` times
//! (default 20). Prints one JSON line per format and mode.
//!
//!     cargo bench -p controlmap --bench parse

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use controlmap::ingest::parse::{Format, ParseOptions, parse_bytes, parse_file_with};
use rayon::prelude::*;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p
            .file_name()
            .is_some_and(|n| n != "gold.yaml" && !n.to_string_lossy().starts_with('.'))
        {
            out.push(p);
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sample-org");
    let rounds = env_usize("BENCH_ROUNDS", 20);
    let threads = env_usize("BENCH_THREADS", 2);
    let mut all = Vec::new();
    files(&corpus, &mut all);

    // Parseable files by format, with their size and page count.
    let mut by_format: BTreeMap<String, Vec<(PathBuf, Vec<u8>, u32)>> = BTreeMap::new();
    for p in all {
        let bytes = std::fs::read(&p).unwrap();
        if let Ok(doc) = parse_bytes(&p, &bytes) {
            let pages = doc.blocks.iter().filter_map(|b| b.page).max().unwrap_or(0);
            by_format
                .entry(doc.format.to_string())
                .or_default()
                .push((p, bytes, pages));
        }
    }
    let worker = PathBuf::from(env!("CARGO_BIN_EXE_controlmap"));
    for (format, docs) in &by_format {
        let bytes: usize = docs.iter().map(|d| d.1.len()).sum();
        let pages: u32 = docs.iter().map(|d| d.2).sum();
        let risky = docs
            .first()
            .is_some_and(|d| parse_bytes(&d.0, &d.1).is_ok_and(|doc| Format::is_risky(doc.format)));
        let mut modes: Vec<(&str, usize)> = vec![("in-process", 1), ("in-process", threads)];
        if risky {
            modes.extend([("worker", 1), ("worker", threads)]);
        }
        for (mode, n) in modes {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            let opts = ParseOptions {
                timeout: None,
                worker: Some(worker.clone()),
                ..ParseOptions::default()
            };
            let work: Vec<&(PathBuf, Vec<u8>, u32)> =
                (0..rounds).flat_map(|_| docs.iter()).collect();
            let t = Instant::now();
            pool.install(|| {
                work.par_iter().for_each(|(path, data, _)| {
                    let ok = match mode {
                        "worker" => parse_file_with(path, &opts).is_ok(),
                        _ => parse_bytes(path, data).is_ok(),
                    };
                    assert!(ok, "{}", path.display());
                });
            });
            let secs = t.elapsed().max(Duration::from_nanos(1)).as_secs_f64();
            let r = rounds as f64;
            println!(
                "{{\"format\":\"{format}\",\"mode\":\"{mode}\",\"threads\":{n},\"files\":{},\"bytes\":{bytes},\"pages\":{pages},\"rounds\":{rounds},\"seconds\":{secs:.3},\"mb_per_s\":{:.2},\"files_per_s\":{:.1},\"pages_per_s\":{:.1},\"ms_per_file\":{:.2}}}",
                docs.len(),
                bytes as f64 * r / secs / 1e6,
                docs.len() as f64 * r / secs,
                pages as f64 * r / secs,
                secs * 1000.0 / (docs.len() as f64 * r) * n as f64,
            );
        }
    }
}
