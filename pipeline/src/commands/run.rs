//! `controlmap run`: the whole pipeline over a policy folder.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use controlmap_index::{Passage as IndexPassage, TextIndex, VectorStore};
use controlmap_models::{Embedder, Embeddings};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::{
    catalog::Catalog,
    chunk::{ChunkOptions, Passage, chunk},
    cli::{Cli, RunArgs},
    manifest::{DocRecord, Manifest, sha256_file, stamp},
    map::{Mapper, Status, Thresholds, Weights, assess, map_passages},
    parse::{NotParsed, ParseOptions, parse_file_with},
    report::{
        ControlReport, EvidenceItem, FileCounts, FileOutcome, ObjectiveReport,
        REPORT_SCHEMA_VERSION, Report, StatusCounts, Timings,
    },
    walk::{FoundFile, walk},
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
    let embedder = args.model.load()?;
    timings.load_model = t.elapsed().as_secs_f64();
    note(
        quiet,
        format_args!("model: {} on {:?}", embedder.model_id(), embedder.device()),
    );

    // Walk, then parse what changed since the last run, in parallel; every file gets an
    // outcome. Unchanged documents keep their passages and vectors.
    let t = Instant::now();
    let old = Manifest::load(&workspace, embedder.model_id());
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
    let vectors_path = workspace.join("vectors.bin");
    let old_vectors = VectorStore::open(&vectors_path, Some(embedder.model_id())).ok();
    // Reuse needs all three to agree: the manifest, the vectors and the index.
    let reuse = old_vectors
        .as_ref()
        .is_some_and(|v| v.len() == old.passage_count())
        && index.len() as usize == old.passage_count();

    let found = walk(&args.dir).with_context(|| format!("cannot read {}", args.dir.display()))?;
    let pb = bar(found.files.len() as u64, "parsing", quiet);
    let chunk_opts = ChunkOptions {
        max_tokens: embedder.max_tokens(),
        ..Default::default()
    };
    let count = |s: &str| embedder.count_tokens(s).unwrap_or(usize::MAX);
    let parse_options = args.parse_options();
    let results: Vec<(FileOutcome, Option<DocRecord>, bool)> = found
        .files
        .par_iter()
        .map(|f| {
            let r = read_file(f, &old, reuse, &parse_options, chunk_opts, &count);
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();

    let mut outcomes = Vec::new();
    let mut manifest = Manifest {
        version: old.version,
        model_id: old.model_id.clone(),
        documents: BTreeMap::new(),
    };
    let mut changed: Vec<String> = Vec::new();
    for (outcome, record, unchanged) in results {
        if let Some(rec) = record {
            if !unchanged {
                changed.push(outcome.path.clone());
            }
            manifest.documents.insert(outcome.path.clone(), rec);
        }
        outcomes.push(outcome);
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
    // Documents that were indexed and now are gone, changed, or no longer parse.
    let mut remove: Vec<String> = old
        .documents
        .keys()
        .filter(|d| !manifest.documents.contains_key(*d))
        .cloned()
        .collect();
    remove.extend(
        changed
            .iter()
            .filter(|d| old.documents.contains_key(*d))
            .cloned(),
    );

    let passages: Vec<Passage> = manifest
        .documents
        .values()
        .flat_map(|d| d.passages.iter().cloned())
        .collect();
    let mut files = FileCounts {
        found: outcomes.len(),
        passages: passages.len(),
        ..Default::default()
    };
    for o in &outcomes {
        match o.outcome {
            "parsed" => files.parsed += 1,
            "unchanged" => files.unchanged += 1,
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

    // Embed what is new; take the rest from the last run's vectors.
    let t = Instant::now();
    let old_rows: HashMap<u64, usize> = match (&old_vectors, reuse) {
        (Some(v), true) => (0..v.len()).map(|i| (v.id(i), i)).collect(),
        _ => HashMap::new(),
    };
    let fresh: Vec<usize> = (0..passages.len())
        .filter(|&i| !old_rows.contains_key(&passages[i].id))
        .collect();
    let embed_texts: Vec<String> = fresh
        .iter()
        .map(|&i| passages[i].embedding_text())
        .collect();
    let texts: Vec<&str> = embed_texts.iter().map(String::as_str).collect();
    let pb = bar(texts.len() as u64, "embedding", quiet);
    let new_vectors = embedder.embed_with_progress(&texts, &mut |n| pb.inc(n as u64))?;
    pb.finish_and_clear();
    let dim = embedder.dim();
    let mut data = vec![0f32; passages.len() * dim];
    let mut fresh_rows = new_vectors.rows();
    for (i, p) in passages.iter().enumerate() {
        let row = &mut data[i * dim..(i + 1) * dim];
        match old_rows.get(&p.id) {
            Some(&r) => row.copy_from_slice(
                &old_vectors
                    .as_ref()
                    .expect("reused rows have a store")
                    .vector(r),
            ),
            None => {
                row.copy_from_slice(fresh_rows.next().expect("one fresh vector per new passage"))
            }
        }
    }
    let vectors = Embeddings::new(dim, data);
    timings.embed = t.elapsed().as_secs_f64();

    // Index: the changed documents' passages in one commit (everything when nothing could be
    // reused), then the vectors, then the manifest that says both are done.
    let t = Instant::now();
    let record = |p: &Passage| IndexPassage {
        id: p.id,
        document: p.document.clone(),
        title: p.title.clone(),
        heading: p.heading_path(),
        page: p.page,
        format: p.format.to_string(),
        text: p.text.clone(),
    };
    if reuse {
        let added: Vec<IndexPassage> = passages
            .iter()
            .filter(|p| !old_rows.contains_key(&p.id))
            .map(record)
            .collect();
        if !remove.is_empty() || !added.is_empty() {
            index.update(&remove, &added)?;
        }
    } else {
        index.replace_all(&passages.iter().map(record).collect::<Vec<_>>())?;
    }
    drop(old_vectors);
    let ids: Vec<u64> = passages.iter().map(|p| p.id).collect();
    VectorStore::write(
        &vectors_path,
        embedder.model_id(),
        dim,
        &ids,
        vectors.as_slice(),
    )?;
    manifest.save(&workspace)?;
    timings.index = t.elapsed().as_secs_f64();

    // Map: every passage against every control.
    let t = Instant::now();
    let mapper = Mapper::new(&catalog, &embedder, Weights::default())?;
    let n_controls = mapper.n_controls();
    let refs: Vec<&Passage> = passages.iter().collect();
    let mapped = map_passages(&mapper, &embedder, &refs, &vectors)?;
    let thresholds = Thresholds::default();
    let assessments = assess(&mapped.scores, &mapped.confidence, n_controls, thresholds);
    let mut summary = StatusCounts::default();
    let mut objectives = Vec::new();
    let mut ci = 0;
    for o in &catalog.objectives {
        let mut controls = Vec::new();
        for c in &o.controls {
            let a = &assessments[ci];
            let (status, best_score) = (a.status, a.best);
            match status {
                Status::Evidence => summary.evidence += 1,
                Status::Weak => summary.weak += 1,
                Status::Gap => summary.gap += 1,
            }
            let evidence = a
                .support
                .iter()
                .take(EVIDENCE_PER_CONTROL)
                .map(|&(p, confidence)| {
                    let passage = &passages[p];
                    EvidenceItem {
                        passage_id: passage.id,
                        content_hash: passage.content_hash.clone(),
                        document: passage.document.clone(),
                        heading: passage.heading_path(),
                        page: passage.page,
                        score: mapped.scores[p * n_controls + ci],
                        confidence,
                        rationale: mapper.rationale(vectors.row(p), &passage.text, ci),
                        text: passage.text.clone(),
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

    // Every output, with the reviewers' decisions applied, as `controlmap report` writes them.
    let written = crate::report::write_outputs(&workspace)?;
    super::report::print(&written, args.format, cli)?;
    note(
        quiet,
        format_args!("done in {:.1}s", report.timings_s.total),
    );
    super::report::fail_on_gaps(&written.report, args.fail_on_gaps)
}

/// One file's outcome, its record for the manifest when it has passages, and whether it was
/// unchanged since the last run.
fn read_file(
    f: &FoundFile,
    old: &Manifest,
    reuse: bool,
    parse_options: &ParseOptions,
    chunk_opts: ChunkOptions,
    count: &(dyn Fn(&str) -> usize + Sync),
) -> (FileOutcome, Option<DocRecord>, bool) {
    let outcome = |kind, reason: Option<String>| FileOutcome {
        path: f.rel.clone(),
        outcome: kind,
        format: None,
        passages: None,
        reason,
    };
    let (size, mtime_ns) = match stamp(&f.path) {
        Ok(s) => s,
        Err(e) => {
            return (
                outcome("failed", Some(format!("cannot read: {e}"))),
                None,
                false,
            );
        }
    };
    let previous = old.documents.get(&f.rel).filter(|_| reuse);
    let sha256 = match previous {
        Some(rec) if rec.size == size && rec.mtime_ns == mtime_ns => rec.sha256.clone(),
        _ => match sha256_file(&f.path) {
            Ok(h) => h,
            Err(e) => {
                return (
                    outcome("failed", Some(format!("cannot read: {e}"))),
                    None,
                    false,
                );
            }
        },
    };
    if let Some(rec) = previous.filter(|r| r.sha256 == sha256) {
        let o = FileOutcome {
            outcome: "unchanged",
            format: Some(rec.format.to_string()),
            passages: Some(rec.passages.len()),
            ..outcome("unchanged", None)
        };
        return (
            o,
            Some(DocRecord {
                size,
                mtime_ns,
                ..rec.clone()
            }),
            true,
        );
    }
    match parse_file_with(&f.path, parse_options) {
        Ok(doc) => {
            let passages = chunk(&doc, &f.rel, chunk_opts, count);
            let o = FileOutcome {
                outcome: "parsed",
                format: Some(doc.format.to_string()),
                passages: Some(passages.len()),
                ..outcome("parsed", None)
            };
            (
                o,
                Some(DocRecord {
                    size,
                    mtime_ns,
                    sha256,
                    format: doc.format,
                    passages,
                }),
                false,
            )
        }
        Err(NotParsed::Skipped(r)) => (outcome("skipped", Some(r)), None, false),
        Err(NotParsed::Failed(r)) => (outcome("failed", Some(r)), None, false),
    }
}
