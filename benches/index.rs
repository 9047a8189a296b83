//! Index build and search benchmarks on a synthetic corpus of policy-like passages.
//!
//!     cargo bench -p controlmap-index --bench index                      # 10k and 100k
//!     BENCH_SIZES=10000,100000,1000000 cargo bench -p controlmap-index --bench index
//!
//! Passages are sentences assembled from policy vocabulary (actors, duties, objects,
//! qualifiers), so BM25 sees realistic term statistics; vectors are random unit vectors of
//! dimension 384, so the benchmark does not wait on the model. Prints one JSON line per size.

use std::{
    collections::HashSet,
    path::Path,
    time::{Duration, Instant},
};

use controlmap_index::{Filters, Fusion, Passage, TextIndex, VectorStore, fuse};

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

fn unit_vector(rng: &mut Rng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIM).map(|_| rng.unit()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
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

fn bench(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);

    let passages: Vec<Passage> = (0..n as u64).map(|i| passage(&mut rng, i)).collect();
    let mut data = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        data.extend(unit_vector(&mut rng));
    }
    let ids: Vec<u64> = passages.iter().map(|p| p.id).collect();

    let t = Instant::now();
    let mut index = TextIndex::create_or_open(&tmp.path().join("index")).unwrap();
    index.replace_all(&passages).unwrap();
    let text_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    VectorStore::write(&tmp.path().join("vectors.bin"), "bench", DIM, &ids, &data).unwrap();
    let vec_s = t.elapsed().as_secs_f64();
    drop(data);
    drop(passages);
    let vectors = VectorStore::open(&tmp.path().join("vectors.bin"), Some("bench")).unwrap();

    let queries = [
        "model drift",
        "supplier due diligence before contract",
        "retention of event logs",
        "fairness test results",
    ];
    let control_keywords =
        "\"impact assessment\" \"fairness\" \"individuals\" \"discrimination\" \"affected groups\"";
    let control_vecs: Vec<Vec<f32>> = (0..7).map(|_| unit_vector(&mut rng)).collect();
    let control_refs: Vec<&[f32]> = control_vecs.iter().map(Vec::as_slice).collect();
    let none = Filters::default();
    let rounds = if n >= 1_000_000 { 20 } else { 50 };

    let (mut text_t, mut dense_t, mut hybrid_t, mut filtered_t) = (vec![], vec![], vec![], vec![]);
    for r in 0..rounds {
        let q = queries[r % queries.len()];
        let t = Instant::now();
        std::hint::black_box(index.search(q, &none, 10).unwrap());
        text_t.push(t.elapsed());

        let qv = unit_vector(&mut rng);
        let t = Instant::now();
        std::hint::black_box(vectors.search_max(&[&qv], 10, None));
        dense_t.push(t.elapsed());

        // A control query: keyword BM25 + best-of-seven dense, fused.
        let t = Instant::now();
        let text: Vec<(u64, f32)> = index
            .search(control_keywords, &none, 200)
            .unwrap()
            .iter()
            .map(|h| (h.passage.id, h.score))
            .collect();
        let dense: Vec<(u64, f32)> = vectors
            .search_max(&control_refs, 200, None)
            .iter()
            .map(|h| (h.id, h.score))
            .collect();
        std::hint::black_box(fuse(&text, &dense, Fusion::Weighted { alpha: 0.7 }));
        hybrid_t.push(t.elapsed());

        let f = Filters {
            folder: Some("engineering".into()),
            ..Default::default()
        };
        let t = Instant::now();
        let allowed: Option<HashSet<u64>> = index.ids_matching(&f).unwrap();
        let text: Vec<(u64, f32)> = index
            .search(q, &f, 200)
            .unwrap()
            .iter()
            .map(|h| (h.passage.id, h.score))
            .collect();
        let dense: Vec<(u64, f32)> = vectors
            .search_max(&[&qv], 200, allowed.as_ref())
            .iter()
            .map(|h| (h.id, h.score))
            .collect();
        std::hint::black_box(fuse(&text, &dense, Fusion::default()));
        filtered_t.push(t.elapsed());
    }
    let (tp50, tp95) = percentiles(text_t);
    let (dp50, dp95) = percentiles(dense_t);
    let (hp50, hp95) = percentiles(hybrid_t);
    let (fp50, fp95) = percentiles(filtered_t);
    println!(
        "{{\"passages\": {n}, \"build_text_s\": {text_s:.2}, \"build_vectors_s\": {vec_s:.2}, \"build_passages_per_s\": {:.0}, \
         \"index_mib\": {:.1}, \"vectors_mib\": {:.1}, \
         \"text_ms_p50\": {tp50:.2}, \"text_ms_p95\": {tp95:.2}, \"dense_ms_p50\": {dp50:.2}, \"dense_ms_p95\": {dp95:.2}, \
         \"control_hybrid_ms_p50\": {hp50:.2}, \"control_hybrid_ms_p95\": {hp95:.2}, \
         \"filtered_hybrid_ms_p50\": {fp50:.2}, \"filtered_hybrid_ms_p95\": {fp95:.2}, \"peak_rss_mib\": {:.0}}}",
        n as f64 / (text_s + vec_s),
        dir_size(&tmp.path().join("index")) as f64 / 1048576.0,
        std::fs::metadata(tmp.path().join("vectors.bin"))
            .unwrap()
            .len() as f64
            / 1048576.0,
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
