//! Index build and search benchmarks on a synthetic corpus of policy-like passages, exact
//! and through the approximate (HNSW) index.
//!
//!     cargo bench -p controlmap-index --bench index                      # 10k and 100k
//!     BENCH_SIZES=100000,1000000 cargo bench -p controlmap-index --bench index
//!     BENCH_VECTORS=uniform cargo bench -p controlmap-index --bench index  # the worst case
//!
//! Passages are sentences assembled from policy vocabulary (actors, duties, objects,
//! qualifiers), so BM25 sees realistic term statistics. Vectors (dimension 384) are made,
//! not embedded, so the benchmark does not wait on the model: by default each passage's
//! vector lies near one of 2,000 topic directions (cosine about 0.5 to it), as sentence
//! embeddings of a policy library cluster by subject; queries are drawn the same way.
//! `BENCH_VECTORS=uniform` draws them uniformly on the sphere instead, where neighbours
//! are barely nearer than anything else and approximate search is at its hardest;
//! `BENCH_VECTORS=npy:FILE` takes real embeddings (`controlmap embed --output FILE.npy`):
//! the last 1,000 rows are the queries, the rows before them the passages (BENCH_SIZES at
//! most the rows less 1,000, less 1 % for the patch).
//!
//! For every size: build times, sizes on disk, latencies (p50, p95) of text, dense, control
//! (BM25 plus the best of seven query vectors, 200 candidates each) and folder-filtered
//! hybrid queries, exact and approximate, recall@10 of the approximate dense results
//! against the exact ones, and the process's peak memory. Sizes under the approximate
//! index's threshold are measured with a graph built anyway, to show the trade. One JSON
//! line per size.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use controlmap_index::{Filters, Fusion, IdSet, Passage, TextIndex, VectorStore, ann, fuse};

const DIM: usize = 384;

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

const ACTORS: &[&str] = &[
    "The System Owner",
    "The Model Risk team",
    "The Data Protection Officer",
    "Each business unit",
    "The AI Governance Committee",
    "Procurement",
    "The Chief Risk Officer",
    "Model Validation",
    "The Head of Engineering",
    "Internal Audit",
    "Every supplier",
    "The Service Desk",
];
const DUTIES: &[&str] = &[
    "shall review",
    "must approve",
    "is responsible for maintaining",
    "shall document",
    "must monitor",
    "shall assess",
    "shall retain",
    "must report",
    "is accountable for",
    "shall validate",
    "must record",
    "shall communicate",
];
const OBJECTS: &[&str] = &[
    "the impact assessment",
    "the training data lineage",
    "event logs of the credit model",
    "the supplier due diligence questionnaire",
    "model drift metrics",
    "the AI system inventory",
    "incident reports",
    "the model card",
    "data quality checks",
    "access rights to production",
    "the acceptable use register",
    "release approvals",
    "fairness test results",
    "customer complaints about automated decisions",
    "the competence matrix",
    "GPU capacity plans",
];
const QUALIFIERS: &[&str] = &[
    "at least annually",
    "before deployment",
    "within five working days",
    "for seven years",
    "after every material change",
    "on a quarterly basis",
    "in line with the retention schedule",
    "before contract signature",
    "whenever thresholds are breached",
    "as part of the release checklist",
];
const FOLDERS: &[&str] = &[
    "governance",
    "risk",
    "data",
    "engineering",
    "operations",
    "procurement",
    "people",
    "customer",
];
const FORMATS: &[&str] = &["pdf", "docx", "markdown", "html", "text"];

fn passage(rng: &mut Rng, id: u64) -> Passage {
    let sentences = 2 + rng.next() % 4;
    let text = (0..sentences)
        .map(|_| {
            format!(
                "{} {} {} {}.",
                rng.pick(ACTORS),
                rng.pick(DUTIES),
                rng.pick(OBJECTS),
                rng.pick(QUALIFIERS)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let folder = rng.pick(FOLDERS);
    Passage {
        id,
        document: format!("{folder}/doc-{}.{}", id / 20, rng.pick(FORMATS)),
        title: format!("Policy {}", id / 20),
        heading: format!("{} › Section {}", folder, id % 20),
        page: Some((id % 20) as u32 + 1),
        format: rng.pick(FORMATS).to_string(),
        text,
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn unit_vector(rng: &mut Rng) -> Vec<f32> {
    normalise((0..DIM).map(|_| rng.unit()).collect())
}

/// Where the vectors come from: topics (clustered, as embeddings are), uniform, or the rows
/// of an embedded file (`BENCH_VECTORS=npy:FILE`, as `controlmap embed --output FILE.npy`
/// writes it; its last 1,000 rows are the queries, the others the passages, in order).
struct Vectors {
    topics: Vec<Vec<f32>>,
    rows: Vec<Vec<f32>>,
    next: std::cell::Cell<usize>,
}

/// The rows of a float32 `.npy` file.
fn read_npy(path: &str) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).expect("BENCH_VECTORS=npy:FILE names a readable file");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not a .npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = &bytes[10 + header_len..];
    data.chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect::<Vec<f32>>()
        .chunks_exact(DIM)
        .map(<[f32]>::to_vec)
        .collect()
}

impl Vectors {
    const TOPICS: usize = 2_000;

    const QUERY_ROWS: usize = 1_000;

    fn new(rng: &mut Rng) -> Self {
        let kind = std::env::var("BENCH_VECTORS").unwrap_or_default();
        let rows = match kind.strip_prefix("npy:") {
            Some(path) => read_npy(path),
            None => Vec::new(),
        };
        let topics = if kind == "uniform" || !rows.is_empty() {
            Vec::new()
        } else {
            (0..Self::TOPICS).map(|_| unit_vector(rng)).collect()
        };
        Vectors {
            topics,
            rows,
            next: std::cell::Cell::new(0),
        }
    }

    fn name(&self) -> &'static str {
        match (self.rows.is_empty(), self.topics.is_empty()) {
            (false, _) => "embedded",
            (true, false) => "topics",
            (true, true) => "uniform",
        }
    }

    /// A query vector: drawn as passages are, or one of an embedded file's query rows.
    fn query(&self, rng: &mut Rng) -> Vec<f32> {
        if self.rows.is_empty() {
            return self.draw(rng);
        }
        let tail = self.rows.len() - Self::QUERY_ROWS;
        self.rows[tail + (rng.next() % Self::QUERY_ROWS as u64) as usize].clone()
    }

    /// A passage's vector: near a random topic (the topic plus noise of about the same
    /// length), uniform, or an embedded file's next row.
    fn draw(&self, rng: &mut Rng) -> Vec<f32> {
        if !self.rows.is_empty() {
            let i = self.next.get();
            assert!(
                i < self.rows.len() - Self::QUERY_ROWS,
                "the file has fewer rows than BENCH_SIZES asks for"
            );
            self.next.set(i + 1);
            return self.rows[i].clone();
        }
        if self.topics.is_empty() {
            return unit_vector(rng);
        }
        let t = &self.topics[(rng.next() % self.topics.len() as u64) as usize];
        let noise = unit_vector(rng);
        normalise(t.iter().zip(&noise).map(|(a, b)| a + 1.5 * b).collect())
    }
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        dir_size(&e.path())
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentiles(mut xs: Vec<Duration>) -> (f64, f64) {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(xs[xs.len() / 2]),
        ms(xs[(xs.len() * 95 / 100).min(xs.len() - 1)]),
    )
}

fn ms(xs: &[Duration]) -> (f64, f64) {
    percentiles(xs.to_vec())
}

/// Share of the exact top 10 that the approximate top 10 holds.
fn recall_at_10(
    exact: &[controlmap_index::VectorHit],
    approx: &[controlmap_index::VectorHit],
) -> f64 {
    let want: Vec<u64> = exact.iter().take(10).map(|h| h.id).collect();
    if want.is_empty() {
        return 1.0;
    }
    let got = approx
        .iter()
        .take(10)
        .filter(|h| want.contains(&h.id))
        .count();
    got as f64 / want.len() as f64
}

fn bench(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let source = Vectors::new(&mut rng);

    let passages: Vec<Passage> = (0..n as u64).map(|i| passage(&mut rng, i)).collect();
    let mut data = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        data.extend(source.draw(&mut rng));
    }
    let ids: Vec<u64> = passages.iter().map(|p| p.id).collect();

    let t = Instant::now();
    let mut index = TextIndex::create_or_open(&tmp.path().join("index")).unwrap();
    index.replace_all(&passages).unwrap();
    let text_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let vectors_path = tmp.path().join("vectors.bin");
    VectorStore::write(&vectors_path, "bench", DIM, &ids, &data).unwrap();
    let vec_s = t.elapsed().as_secs_f64();
    drop(data);
    drop(passages);
    let rss_before_graph = peak_rss_mib();

    // The graph, built whole (the threshold is the product's; the benchmark builds one at
    // every size so the two searches can be compared).
    let exact = VectorStore::open(&vectors_path, Some("bench")).unwrap();
    let t = Instant::now();
    let built = if n >= ann::MIN_VECTORS {
        ann::sync(&exact).unwrap()
    } else {
        ann::build_anyway(&exact).unwrap()
    };
    let graph_s = t.elapsed().as_secs_f64();
    assert!(matches!(built, ann::Synced::Built { .. }), "{built}");
    let approx =
        ann::Dense::open(VectorStore::open(&vectors_path, Some("bench")).unwrap()).unwrap();
    assert!(approx.is_approximate());
    let exact_dense = ann::Dense::exact(VectorStore::open(&vectors_path, Some("bench")).unwrap());
    let graph_mib = std::fs::metadata(tmp.path().join("vectors.hnsw"))
        .unwrap()
        .len() as f64
        / 1048576.0;

    // Patching the graph after a re-run that changed 1% of the passages.
    let changed = (n / 100).max(1);
    let mut data: Vec<f32> = exact.data().to_vec();
    let mut new_ids = ids.clone();
    for (k, id) in new_ids.iter_mut().take(changed).enumerate() {
        *id = n as u64 + k as u64;
        data[k * DIM..(k + 1) * DIM].copy_from_slice(&source.draw(&mut rng));
    }
    let patched_path = tmp.path().join("patched").join("vectors.bin");
    std::fs::create_dir_all(patched_path.parent().unwrap()).unwrap();
    for ext in ["hnsw", "hnsw.keys", "hnsw.json"] {
        std::fs::copy(
            vectors_path.with_extension(ext),
            patched_path.with_extension(ext),
        )
        .unwrap();
    }
    VectorStore::write(&patched_path, "bench", DIM, &new_ids, &data).unwrap();
    drop(data);
    let t = Instant::now();
    let patched = ann::sync_above(
        &VectorStore::open(&patched_path, None).unwrap(),
        ann::MIN_VECTORS.min(n),
    )
    .unwrap();
    let update_s = t.elapsed().as_secs_f64();
    assert!(matches!(patched, ann::Synced::Updated { .. }), "{patched}");

    let queries = [
        "model drift",
        "supplier due diligence before contract",
        "retention of event logs",
        "fairness test results",
    ];
    let control_keywords =
        "\"impact assessment\" \"fairness\" \"individuals\" \"discrimination\" \"affected groups\"";
    let none = Filters::default();
    let rounds = if n >= 1_000_000 { 40 } else { 100 };

    #[derive(Default)]
    struct Times {
        text: Vec<Duration>,
        dense: Vec<Duration>,
        hybrid: Vec<Duration>,
        filtered: Vec<Duration>,
    }
    let (mut ex, mut ap) = (Times::default(), Times::default());
    let (mut recall_dense, mut recall_control, mut recall_filtered) = (0.0, 0.0, 0.0);
    for r in 0..rounds {
        let q = queries[r % queries.len()];
        let qv = source.query(&mut rng);
        let control_vecs: Vec<Vec<f32>> = (0..7).map(|_| source.query(&mut rng)).collect();
        let control_refs: Vec<&[f32]> = control_vecs.iter().map(Vec::as_slice).collect();
        let f = Filters {
            folder: Some("engineering".into()),
            ..Default::default()
        };
        let mut results = Vec::new();
        for (store, times) in [(&exact_dense, &mut ex), (&approx, &mut ap)] {
            let t = Instant::now();
            std::hint::black_box(index.search(q, &none, 10).unwrap());
            times.text.push(t.elapsed());

            let t = Instant::now();
            let dense_hits = store.search_max(&[&qv], 10, None);
            times.dense.push(t.elapsed());

            // A control query: keyword BM25 + best-of-seven dense, fused.
            let t = Instant::now();
            let text: Vec<(u64, f32)> = index
                .search(control_keywords, &none, 200)
                .unwrap()
                .iter()
                .map(|h| (h.passage.id, h.score))
                .collect();
            let control_hits = store.search_max(&control_refs, 200, None);
            let dense: Vec<(u64, f32)> = control_hits.iter().map(|h| (h.id, h.score)).collect();
            std::hint::black_box(fuse(&text, &dense, Fusion::Weighted { alpha: 0.7 }));
            times.hybrid.push(t.elapsed());

            let t = Instant::now();
            let allowed: Option<IdSet> = index.ids_matching(&f).unwrap();
            let text: Vec<(u64, f32)> = index
                .search(q, &f, 200)
                .unwrap()
                .iter()
                .map(|h| (h.passage.id, h.score))
                .collect();
            let filtered_hits = store.search_max(&[&qv], 200, allowed.as_ref());
            let dense: Vec<(u64, f32)> = filtered_hits.iter().map(|h| (h.id, h.score)).collect();
            std::hint::black_box(fuse(&text, &dense, Fusion::default()));
            times.filtered.push(t.elapsed());
            results.push((dense_hits, control_hits, filtered_hits));
        }
        let (e, a) = (&results[0], &results[1]);
        recall_dense += recall_at_10(&e.0, &a.0);
        recall_control += recall_at_10(&e.1, &a.1);
        recall_filtered += recall_at_10(&e.2, &a.2);
    }
    let rounds_f = rounds as f64;
    let line = |t: &Times| {
        let (tp50, tp95) = ms(&t.text);
        let (dp50, dp95) = ms(&t.dense);
        let (hp50, hp95) = ms(&t.hybrid);
        let (fp50, fp95) = ms(&t.filtered);
        format!(
            "{{\"text_ms_p50\": {tp50:.2}, \"text_ms_p95\": {tp95:.2}, \"dense_ms_p50\": {dp50:.2}, \"dense_ms_p95\": {dp95:.2}, \
             \"control_hybrid_ms_p50\": {hp50:.2}, \"control_hybrid_ms_p95\": {hp95:.2}, \
             \"filtered_hybrid_ms_p50\": {fp50:.2}, \"filtered_hybrid_ms_p95\": {fp95:.2}}}"
        )
    };
    println!(
        "{{\"passages\": {n}, \"vectors\": \"{}\", \"threads\": {}, \"build_text_s\": {text_s:.2}, \"build_vectors_s\": {vec_s:.2}, \
         \"build_graph_s\": {graph_s:.2}, \"update_graph_1pct_s\": {update_s:.2}, \
         \"index_mib\": {:.1}, \"vectors_mib\": {:.1}, \"graph_mib\": {graph_mib:.1}, \
         \"recall_at_10_dense\": {:.4}, \"recall_at_10_control\": {:.4}, \"recall_at_10_filtered\": {:.4}, \
         \"exact\": {}, \"approximate\": {}, \"peak_rss_mib_before_graph\": {rss_before_graph:.0}, \"peak_rss_mib\": {:.0}}}",
        source.name(),
        rayon::current_num_threads(),
        dir_size(&tmp.path().join("index")) as f64 / 1048576.0,
        std::fs::metadata(&vectors_path).unwrap().len() as f64 / 1048576.0,
        recall_dense / rounds_f,
        recall_control / rounds_f,
        recall_filtered / rounds_f,
        line(&ex),
        line(&ap),
        peak_rss_mib()
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_SIZES is a comma-separated list of numbers")
        })
        .collect();
    for n in sizes {
        bench(n);
    }
}
