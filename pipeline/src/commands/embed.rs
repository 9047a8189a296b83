//! `controlmap embed`: one vector per line of a file, written as `.npy` or JSON Lines, and a
//! throughput summary (passages/s, tokens/s). Also the Rust side of the embedding benchmark.
//!
//! Blank lines (empty or whitespace only) are skipped: output row `i` is the `i`-th non-blank
//! line. JSON Lines rows carry the 1-based input line number, so they can be joined back.

use std::{
    io::{BufRead, BufWriter, Write},
    path::Path,
    time::Instant,
};

use anyhow::{Context, Result, bail};
use controlmap_models::{Embedder, Embeddings};
use serde::Serialize;

use crate::cli::{Cli, EmbedArgs, Format};

/// The figures `embed` prints.
#[derive(Debug, Serialize)]
pub struct EmbedSummary {
    pub passages: usize,
    /// Tokens the model read (special tokens included, after truncation).
    pub tokens: usize,
    /// Embedding time: tokenising, batching and the forward passes; not loading or writing.
    pub seconds: f64,
    pub passages_per_s: f64,
    pub tokens_per_s: f64,
    pub model: String,
    pub device: String,
    pub precision: String,
    /// The kernels that computed it (`int8 vnni + bf16 qkv`), and how it was chosen.
    pub kernels: String,
    pub chosen_by: String,
    /// The CPU kernels' instruction set (`avx512`, `avx2`, `scalar`; see `CONTROLMAP_CPU`).
    pub kernel_path: String,
    pub threads: usize,
    pub dim: usize,
}

/// The non-blank lines of `input` (`-` for stdin) with their 1-based line numbers.
fn read_passages(input: &Path) -> Result<Vec<(usize, String)>> {
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = fs_err::File::open(input)
            .with_context(|| "cannot read the passages; give a file with one passage per line")?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", input.display(), i + 1))?;
        if !line.trim().is_empty() {
            out.push((i + 1, line));
        }
    }
    Ok(out)
}

/// Writes `v` as a NumPy `.npy` file (format 1.0): little-endian f32, shape (rows, dim).
pub fn write_npy(w: &mut impl Write, v: &Embeddings) -> std::io::Result<()> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        v.len(),
        v.dim()
    );
    // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple
    // of 64 and ended by a newline (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    for x in v.as_slice() {
        w.write_all(&x.to_le_bytes())?;
    }
    Ok(())
}

fn write_jsonl(w: &mut impl Write, lines: &[usize], v: &Embeddings) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Row<'a> {
        line: usize,
        embedding: &'a [f32],
    }
    for (&line, embedding) in lines.iter().zip(v.rows()) {
        serde_json::to_writer(&mut *w, &Row { line, embedding })?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

pub fn run(args: &EmbedArgs, cli: &Cli) -> Result<()> {
    let output_kind = match &args.output {
        None => None,
        Some(p) => match p.extension().and_then(|e| e.to_str()) {
            Some("npy") => Some("npy"),
            Some("jsonl") => Some("jsonl"),
            _ => bail!(
                "{}: --output must end in .npy (NumPy, float32) or .jsonl (JSON Lines)",
                p.display()
            ),
        },
    };
    let passages = read_passages(&args.input)?;
    if passages.is_empty() {
        bail!(
            "{}: no passages (every line is blank); give one passage per line",
            args.input.display()
        );
    }

    let (embedder, chosen) = args.model.load()?;
    if !cli.quiet {
        eprintln!(
            "model: {} on {:?}, {} passages; precision {} ({}: {})",
            embedder.model_id(),
            embedder.device(),
            passages.len(),
            chosen.precision,
            chosen.used.chosen_by,
            chosen.used.why
        );
    }

    let texts: Vec<&str> = passages.iter().map(|(_, t)| t.as_str()).collect();
    let t = Instant::now();
    let vectors = embedder.embed(&texts)?;
    let seconds = t.elapsed().as_secs_f64();
    let tokens = texts
        .iter()
        .map(|t| Ok(embedder.count_tokens(t)?.min(embedder.max_tokens())))
        .sum::<Result<usize>>()?;

    if let (Some(path), Some(kind)) = (&args.output, output_kind) {
        let f = fs_err::File::create(path)?;
        let mut w = BufWriter::new(f);
        if kind == "npy" {
            write_npy(&mut w, &vectors)
        } else {
            let lines: Vec<usize> = passages.iter().map(|(l, _)| *l).collect();
            write_jsonl(&mut w, &lines, &vectors)
        }
        .and_then(|()| w.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let summary = EmbedSummary {
        passages: texts.len(),
        tokens,
        seconds,
        passages_per_s: texts.len() as f64 / seconds,
        tokens_per_s: tokens as f64 / seconds,
        model: embedder.model_id().to_string(),
        device: format!("{:?}", embedder.device()),
        precision: chosen.precision.to_string(),
        kernels: chosen.used.kernels.clone(),
        chosen_by: chosen.used.chosen_by.clone(),
        kernel_path: controlmap_models::kernel_path().to_string(),
        threads: controlmap_models::cpu_threads(),
        dim: embedder.dim(),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(&summary)?)?,
        Format::Text => writeln!(
            out,
            "{} passages, {} tokens in {:.2} s: {:.1} passages/s, {:.0} tokens/s \
             ({}, {}, {}, {} kernels, {} threads)",
            summary.passages,
            summary.tokens,
            summary.seconds,
            summary.passages_per_s,
            summary.tokens_per_s,
            summary.model,
            summary.device,
            summary.precision,
            summary.kernel_path,
            summary.threads
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_padded_to_64_bytes() {
        let v = Embeddings::new(3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut buf = Vec::new();
        write_npy(&mut buf, &v).unwrap();
        let hlen = u16::from_le_bytes([buf[8], buf[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(buf[10 + hlen - 1], b'\n');
        assert!(String::from_utf8_lossy(&buf[10..10 + hlen]).contains("'shape': (2, 3)"));
        assert_eq!(buf.len(), 10 + hlen + 6 * 4);
        assert_eq!(&buf[10 + hlen..10 + hlen + 4], &1f32.to_le_bytes());
    }
}
