//! `controlmap run`: the whole pipeline over a policy folder.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use controlmap_index::{Passage as IndexPassage, TextIndex, VectorStore};
use controlmap_models::{BertEmbedder, Embedder, EmbedderOptions, ModelSearch, locate_model};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::{
    catalog::Catalog,
    chunk::{ChunkOptions, Passage, chunk},
    cli::{Cli, Format, RunArgs},
    map::{Status, Thresholds, control_texts, score_matrix},
    parse::{NotParsed, parse_file},
    report::{
        ControlReport, EvidenceItem, FileCounts, FileOutcome, ObjectiveReport,
        REPORT_SCHEMA_VERSION, Report, StatusCounts, Timings,
    },
    walk::walk,
};

/// Most passages listed per control in the report.
const EVIDENCE_PER_CONTROL: usize = 5;

/// The default workspace: `.controlmap` beside the policy folder.
pub fn default_workspace(dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(_)) => parent.join(".controlmap"),
        _ => abs.join(".controlmap"),
    }
}

fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// Prints a note on stderr unless `--quiet`.
fn note(quiet: bool, msg: std::fmt::Arguments) {
    if !quiet {
        eprintln!("{msg}");
    }
}

pub fn run(args: &RunArgs, cli: &Cli) -> Result<()> {
    let started = Instant::now();
    let quiet = cli.quiet;
    let mut timings = Timings::default();
    if !args.dir.is_dir() {
        bail!(
            "{} is not a folder; give the policy folder to read",
            args.dir.display()
        );
    }
    let workspace = args
        .workspace
        .clone()
        .unwrap_or_else(|| default_workspace(&args.dir));
    fs_err::create_dir_all(&workspace).context("cannot create the workspace")?;

    let catalog = match &args.catalog {
        Some(p) => Catalog::load(p)?,
        None => Catalog::builtin(),
    };

    // The model first: a missing model should stop us before minutes of parsing.
    let t = Instant::now();
    let model_dir = locate_model(&ModelSearch::from_env(args.model.clone()))?;
    let embedder = BertEmbedder::load_with(
        &model_dir,
        EmbedderOptions {
            device: args.device,
            ..Default::default()
        },
    )?;
    timings.load_model = t.elapsed().as_secs_f64();
    note(
        quiet,
        format_args!("model: {} on {:?}", embedder.model_id(), embedder.device()),
    );

    // Walk and parse, in parallel; every file gets an outcome.
    let t = Instant::now();
    let found = walk(&args.dir).with_context(|| format!("cannot read {}", args.dir.display()))?;
    let pb = bar(found.files.len() as u64, "parsing", quiet);
    let chunk_opts = ChunkOptions {
        max_tokens: embedder.max_tokens(),
        ..Default::default()
    };
    let count = |s: &str| embedder.count_tokens(s).unwrap_or(usize::MAX);
    let results: Vec<(FileOutcome, Vec<Passage>)> = found
        .files
        .par_iter()
        .map(|f| {
            let outcome = parse_file(&f.path, args.max_file_size).map(|doc| {
                let passages = chunk(&doc, &f.rel, chunk_opts, &count);
                (doc.format, passages)
            });
            pb.inc(1);
            match outcome {
                Ok((format, passages)) => (
                    FileOutcome {
                        path: f.rel.clone(),
                        outcome: "parsed",
                        format: Some(format.to_string()),
                        passages: Some(passages.len()),
                        reason: None,
                    },
                    passages,
                ),
                Err(NotParsed::Skipped(r)) => (
                    FileOutcome {
                        path: f.rel.clone(),
                        outcome: "skipped",
                        format: None,
                        passages: None,
                        reason: Some(r),
                    },
                    Vec::new(),
                ),
                Err(NotParsed::Failed(r)) => (
                    FileOutcome {
                        path: f.rel.clone(),
                        outcome: "failed",
                        format: None,
                        passages: None,
                        reason: Some(r),
                    },
                    Vec::new(),
                ),
            }
        })
        .collect();
    pb.finish_and_clear();
    let mut outcomes = Vec::new();
    let mut passages: Vec<Passage> = Vec::new();
    for (o, ps) in results {
        outcomes.push(o);
        passages.extend(ps);
    }
    for (rel, reason) in found.skipped {
        outcomes.push(FileOutcome {
            path: rel,
            outcome: "skipped",
            format: None,
            passages: None,
            reason: Some(reason),
        });
    }
    let mut files = FileCounts {
        found: outcomes.len(),
        passages: passages.len(),
        ..Default::default()
    };
    for o in &outcomes {
        match o.outcome {
            "parsed" => files.parsed += 1,
            "skipped" => files.skipped += 1,
            _ => files.failed += 1,
        }
        if o.outcome == "failed" {
            note(
                quiet,
                format_args!("failed: {}: {}", o.path, o.reason.as_deref().unwrap_or("")),
            );
        }
    }
    timings.parse = t.elapsed().as_secs_f64();

    // Embed passages.
    let t = Instant::now();
    let embed_texts: Vec<String> = passages.iter().map(Passage::embedding_text).collect();
    let texts: Vec<&str> = embed_texts.iter().map(String::as_str).collect();
    let pb = bar(texts.len() as u64, "embedding", quiet);
    let vectors = embedder.embed_with_progress(&texts, &mut |n| pb.inc(n as u64))?;
    pb.finish_and_clear();
    timings.embed = t.elapsed().as_secs_f64();

    // Index: full text and vectors, each replaced whole.
    let t = Instant::now();
    let index_dir = workspace.join("index");
    let mut index = match TextIndex::create_or_open(&index_dir) {
        Err(controlmap_index::Error::IncompatibleIndex { .. }) => {
            note(
                quiet,
                format_args!(
                    "rebuilding the index in {} (written by another version)",
                    index_dir.display()
                ),
            );
            TextIndex::recreate(&index_dir)?
        }
        other => other?,
    };
    let records: Vec<IndexPassage> = passages
        .iter()
        .map(|p| IndexPassage {
            id: p.id,
            document: p.document.clone(),
            title: p.title.clone(),
            heading: p.heading_path(),
            page: p.page,
            format: p.format.to_string(),
            text: p.text.clone(),
        })
        .collect();
    index.replace_all(&records)?;
    let ids: Vec<u64> = passages.iter().map(|p| p.id).collect();
    VectorStore::write(
        &workspace.join("vectors.bin"),
        embedder.model_id(),
        embedder.dim(),
        &ids,
        vectors.as_slice(),
    )?;
    timings.index = t.elapsed().as_secs_f64();

    // Map: every passage against every control.
    let t = Instant::now();
    let (control_text, owner) = control_texts(&catalog);
    let refs: Vec<&str> = control_text.iter().map(String::as_str).collect();
    let control_vecs = embedder.embed(&refs)?;
    let n_controls = catalog.controls().count();
    let scores = score_matrix(&vectors, &control_vecs, &owner, n_controls);
    let thresholds = Thresholds::default();
    let mut summary = StatusCounts::default();
    let mut objectives = Vec::new();
    let mut ci = 0;
    for o in &catalog.objectives {
        let mut controls = Vec::new();
        for c in &o.controls {
            let mut ranked: Vec<(usize, f32)> = (0..passages.len())
                .map(|p| (p, scores[p * n_controls + ci]))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let best_score = ranked.first().map(|r| r.1).unwrap_or(0.0);
            let status = if best_score >= thresholds.evidence {
                summary.evidence += 1;
                Status::Evidence
            } else if best_score >= thresholds.weak {
                summary.weak += 1;
                Status::Weak
            } else {
                summary.gap += 1;
                Status::Gap
            };
            let evidence = ranked
                .iter()
                .take_while(|(_, s)| *s >= thresholds.weak)
                .take(EVIDENCE_PER_CONTROL)
                .map(|&(p, score)| {
                    let p = &passages[p];
                    EvidenceItem {
                        passage_id: p.id,
                        content_hash: p.content_hash.clone(),
                        document: p.document.clone(),
                        heading: p.heading_path(),
                        page: p.page,
                        score,
                        text: p.text.clone(),
                    }
                })
                .collect();
            controls.push(ControlReport {
                id: c.id.clone(),
                title: c.title.clone(),
                status,
                best_score,
                evidence,
            });
            ci += 1;
        }
        objectives.push(ObjectiveReport {
            id: o.id.clone(),
            title: o.title.clone(),
            controls,
        });
    }
    timings.map = t.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();

    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: format!("controlmap {}", env!("CARGO_PKG_VERSION")),
        policy_folder: args.dir.display().to_string(),
        workspace: workspace.display().to_string(),
        model: embedder.model_id().to_string(),
        catalog: catalog.framework.name.clone(),
        thresholds,
        files,
        summary,
        objectives,
        file_outcomes: outcomes,
        timings_s: timings,
    };
    let json = serde_json::to_string_pretty(&report)?;
    let report_path = workspace.join("report.json");
    let tmp = report_path.with_extension("json.tmp");
    fs_err::write(&tmp, &json)?;
    fs_err::rename(&tmp, &report_path)?;

    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{json}")?,
        Format::Text => {
            report.write_text(&mut out, cli.color.enabled())?;
            writeln!(out, "report: {}", report_path.display())?;
        }
    }
    out.flush()?;
    note(
        quiet,
        format_args!("done in {:.1}s", report.timings_s.total),
    );
    Ok(())
}
