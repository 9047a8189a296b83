//! OCR quality and speed on the sample corpus's scans: for every page with a ground truth in
//! `corpora/ocr-truth/STEM.pN.txt` (the text that was printed before the page was scanned;
//! see its README for the dpi, skew and noise), the character error rate of what controlmap
//! reads (edit distance over the truth's length, whitespace runs counted as one space), and
//! pages per second through the whole path (render with pdftoppm, Tesseract, blocks), on one
//! thread. Each file is read `BENCH_ROUNDS` times (default 3). Prints one JSON line per page
//! and a summary line.
//!
//!     cargo bench -p controlmap --bench ocr

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use controlmap::ingest::parse::{Document, parse_pdf, pdf::ocr};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The PDF named `stem.pdf` anywhere under `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// What a reader of page `page` sees: each heading once, where it starts, then the blocks.
fn page_text(doc: &Document, page: u32) -> String {
    let mut out = Vec::new();
    let mut headings: Vec<String> = Vec::new();
    for b in doc.blocks.iter().filter(|b| b.page == Some(page)) {
        let common = headings
            .iter()
            .zip(&b.headings)
            .take_while(|(a, b)| a == b)
            .count();
        out.extend(b.headings[common..].iter().cloned());
        headings = b.headings.clone();
        out.push(b.text.clone());
    }
    out.join("\n")
}

fn normalise(s: &str) -> Vec<char> {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

/// Levenshtein distance, two rows.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn main() {
    if let Some(why) = ocr::unavailable() {
        eprintln!("OCR cannot run here: {why}");
        std::process::exit(2);
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let truth_dir = repo().join("corpora/ocr-truth");
    let corpus = repo().join("corpora/sample-org");
    let mut truths: Vec<PathBuf> = std::fs::read_dir(&truth_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    truths.sort();
    let (mut errors, mut chars, mut pages, mut secs) = (0usize, 0usize, 0usize, 0f64);
    for t in truths {
        // STEM.pN.txt
        let name = t.file_stem().unwrap().to_string_lossy().into_owned();
        let (stem, page) = name.rsplit_once(".p").expect("truth files are STEM.pN.txt");
        let page: u32 = page.parse().expect("a page number");
        let pdf = find(&corpus, &format!("{stem}.pdf")).expect("the scan of a truth file");
        let bytes = std::fs::read(&pdf).unwrap();
        let started = Instant::now();
        let mut doc = None;
        for _ in 0..rounds {
            doc = Some(parse_pdf(&bytes, stem).expect("the scan reads"));
        }
        let elapsed = started.elapsed().as_secs_f64() / rounds as f64;
        let doc = doc.unwrap();
        let n_pages = doc.blocks.iter().filter_map(|b| b.page).max().unwrap_or(1) as usize;
        let got = normalise(&page_text(&doc, page));
        let want = normalise(&std::fs::read_to_string(&t).unwrap());
        let e = edit_distance(&got, &want);
        let confidence: Vec<u8> = doc.blocks.iter().filter_map(|b| b.ocr_confidence).collect();
        let mean_conf =
            confidence.iter().map(|&c| f64::from(c)).sum::<f64>() / confidence.len().max(1) as f64;
        println!(
            "{{\"scan\":\"{}\",\"page\":{page},\"truth_chars\":{},\"edits\":{e},\"cer\":{:.4},\"seconds_per_file\":{elapsed:.2},\"pages_per_s\":{:.3},\"mean_block_confidence\":{mean_conf:.1}}}",
            pdf.strip_prefix(&corpus).unwrap_or(&pdf).display(),
            want.len(),
            e as f64 / want.len().max(1) as f64,
            n_pages as f64 / elapsed,
        );
        errors += e;
        chars += want.len();
        pages += n_pages;
        secs += elapsed;
    }
    println!(
        "{{\"summary\":true,\"pages\":{pages},\"cer\":{:.4},\"pages_per_s\":{:.3}}}",
        errors as f64 / chars.max(1) as f64,
        pages as f64 / secs.max(f64::EPSILON)
    );
}
