//! Embedding throughput of the CPU forward pass on generated policy passages: a sweep of
//! fixed lengths (32, 64, 128, 256 tokens) and a mix with real policies' lengths (mean 78),
//! each precision, beside PyTorch sentence-transformers on the same passages in the same run
//! (interleaved round by round) when its Python is there.
//!
//!     cargo bench -p controlmap-models --bench embed
//!     BENCH_PRECISION=f32,int8 BENCH_PASSAGES=300 BENCH_ROUNDS=3 BENCH_THREADS=2 \
//!         cargo bench -p controlmap-models --bench embed
//!     CONTROLMAP_CPU=scalar BENCH_WORKLOADS=mix cargo bench -p controlmap-models --bench embed
//!
//! Prints the kernel path, a table per workload and one JSON line per figure. GFLOP/s counts
//! the model's multiply-adds (2 per MAC: the linear layers, 21.2 MFLOP a token for
//! MiniLM-L6, plus attention's 4·len·hidden per layer and token); the share of peak is
//! against `threads × GHz × 2 FMA units × f32 lanes of the path that ran (8 AVX2, 16
//! AVX-512) × 2`, with the clock
//! from `BENCH_GHZ` or else /proc/cpuinfo's "cpu MHz" (the base clock on a VM: boost makes
//! the true peak higher and the share lower). int8 and bf16 are counted at the same FLOPs.
//!
//! PyTorch comes from `CONTROLMAP_ST_PYTHON` (default `/tmp/st/bin/python`) running
//! `../shared/bench/st_reference.py` (its header says how to set it up).

mod policy_text;

use std::{path::Path, process::Command, time::Instant};

use controlmap_models::{
    BertEmbedder, DeviceChoice, Embedder, EmbedderOptions, KernelPath, ModelSearch, Precision,
    kernel_path, locate_model, set_cpu_threads,
};

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

/// The clock the peak assumes, in GHz: `BENCH_GHZ`, or /proc/cpuinfo's first "cpu MHz".
fn clock_ghz() -> f64 {
    if let Ok(g) = std::env::var("BENCH_GHZ") {
        return g.parse().expect("BENCH_GHZ: a number of GHz");
    }
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .map_or(3.0, |mhz| mhz / 1000.0)
}

/// float32 lanes of the widest FMA the kernels run (`CONTROLMAP_CPU=avx2` on an AVX-512 CPU
/// counts AVX2's 8: the peak of the path measured).
fn f32_lanes() -> f64 {
    match kernel_path() {
        KernelPath::Avx512 => 16.0,
        _ => 8.0,
    }
}

/// FLOPs of one sequence of `len` tokens: 2 per multiply-add of the linear layers and of
/// attention's two products.
fn flops(config: &serde_json::Value, len: usize) -> f64 {
    let get = |k: &str| {
        config[k]
            .as_u64()
            .unwrap_or_else(|| panic!("config.json: {k}")) as f64
    };
    let (h, i, layers) = (
        get("hidden_size"),
        get("intermediate_size"),
        get("num_hidden_layers"),
    );
    let len = len as f64;
    layers * (2.0 * len * (3.0 * h * h + h * h + 2.0 * h * i) + 4.0 * len * len * h)
}

/// PyTorch's passages/s on `file`, one timed pass after its warm-up.
fn pytorch(python: &str, script: &Path, model: &Path, file: &Path, threads: usize) -> f64 {
    let out = Command::new(python)
        .arg(script)
        .arg(model)
        .arg(file)
        .args(["--threads", &threads.to_string(), "--repeat", "1"])
        .output()
        .expect("cannot start the PyTorch reference");
    assert!(
        out.status.success(),
        "st_reference.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    v["passages_per_s"].as_f64().unwrap()
}

fn main() {
    let n: usize = env_or("BENCH_PASSAGES", 300);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let threads: usize = env_or("BENCH_THREADS", 2);
    let precisions: Vec<Precision> = env_or("BENCH_PRECISION", "f32,int8,bf16".to_string())
        .split(',')
        .map(|p| p.trim().parse().unwrap())
        .collect();
    let wanted: String = env_or("BENCH_WORKLOADS", "32,64,128,256,mix".to_string());
    let python: String = env_or("CONTROLMAP_ST_PYTHON", "/tmp/st/bin/python".to_string());
    set_cpu_threads(threads);

    let model = locate_model(&ModelSearch::from_env(None)).unwrap_or_else(|e| panic!("{e}"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/st_reference.py");
    let torch = script.is_file()
        && Command::new(&python)
            .args(["-c", "import torch, sentence_transformers"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !torch {
        eprintln!(
            "PyTorch reference not available ({python}, {}): ours only",
            script.display()
        );
    }

    let load = |precision| {
        let opts = EmbedderOptions {
            device: DeviceChoice::Cpu,
            precision,
            ..Default::default()
        };
        BertEmbedder::load_with(&model, opts).unwrap()
    };
    let embedders: Vec<(Precision, BertEmbedder)> =
        precisions.iter().map(|&p| (p, load(p))).collect();
    let counter = &embedders[0].1;
    let count = |s: &str| counter.count_tokens(s).unwrap().min(counter.max_tokens());

    let (ghz, lanes) = (clock_ghz(), f32_lanes());
    let peak = threads as f64 * ghz * 1e9 * 2.0 * lanes * 2.0;
    println!(
        "kernel path: {}; {threads} threads; peak {:.0} GFLOP/s = {threads} cores × {ghz:.2} GHz \
         (assumed) × 2 FMA units × {lanes} f32 lanes × 2",
        kernel_path(),
        peak / 1e9
    );

    let dir = tempfile::tempdir().unwrap();
    for workload in wanted.split(',').map(str::trim) {
        let passages = match workload {
            "mix" => policy_text::mix(n, 26, &count),
            len => policy_text::fixed(n, len.parse().expect("a length or mix"), 32, &count),
        };
        let texts: Vec<&str> = passages.iter().map(String::as_str).collect();
        let lens: Vec<usize> = texts.iter().map(|t| count(t)).collect();
        let tokens: usize = lens.iter().sum();
        let work: f64 = lens.iter().map(|&l| flops(&config, l)).sum();
        let file = dir.path().join(format!("{workload}.txt"));
        std::fs::write(&file, passages.join("\n") + "\n").unwrap();

        let mut ours = vec![Vec::new(); embedders.len()];
        let mut theirs = Vec::new();
        for (_, e) in &embedders {
            e.embed(&texts[..texts.len().min(32)]).unwrap(); // warm-up
        }
        for _ in 0..rounds {
            for ((_, e), times) in embedders.iter().zip(&mut ours) {
                let t = Instant::now();
                assert_eq!(e.embed(&texts).unwrap().len(), texts.len());
                times.push(t.elapsed().as_secs_f64());
            }
            if torch {
                theirs.push(pytorch(&python, &script, &model, &file, threads));
            }
        }
        let reference = (!theirs.is_empty()).then(|| median(theirs));
        println!(
            "\n{workload}: {} passages, {:.1} tokens mean, {} max",
            texts.len(),
            tokens as f64 / texts.len() as f64,
            lens.iter().max().unwrap()
        );
        println!("  precision  passages/s  tokens/s  GFLOP/s  % of peak  × PyTorch");
        for ((precision, _), times) in embedders.iter().zip(ours) {
            let dt = median(times);
            let ps = texts.len() as f64 / dt;
            let ratio = reference.map_or("-".to_string(), |r| format!("{:.2}", ps / r));
            println!(
                "  {precision:<9}  {ps:>10.1}  {:>8.0}  {:>7.1}  {:>9.1}  {ratio:>9}",
                tokens as f64 / dt,
                work / dt / 1e9,
                100.0 * work / dt / peak
            );
            println!(
                "  {{\"workload\": \"{workload}\", \"precision\": \"{precision}\", \"kernel_path\": \"{}\", \
                 \"threads\": {threads}, \"passages\": {}, \"tokens\": {tokens}, \"passages_per_s\": {ps:.1}, \
                 \"gflop_per_s\": {:.1}, \"peak_share\": {:.3}, \"pytorch_passages_per_s\": {}, \"ratio\": {}}}",
                kernel_path(),
                texts.len(),
                work / dt / 1e9,
                work / dt / peak,
                reference.map_or("null".to_string(), |r| format!("{r:.1}")),
                reference.map_or("null".to_string(), |r| format!("{:.3}", ps / r)),
            );
        }
        if let Some(r) = reference {
            println!("  pytorch    {r:>10.1}");
        }
    }
}
