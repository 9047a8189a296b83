//! `controlmap run`: the whole pipeline over a policy folder.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Mutex,
    time::Instant,
};

use anyhow::{Context, Result, bail};
use controlmap_index::{Passage as IndexPassage, TextIndex, VectorStore};
use controlmap_models::{Embedder, Embeddings};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    catalog::Catalog,
    chunk::{ChunkOptions, Passage, chunk},
    cli::{Cli, RunArgs},
    context_cache::ContextCache,
    manifest::{DocRecord, Manifest, sha256_file, stamp},
    map::{Mapper, Scope, Status, Thresholds, Weights, assess, map_passages},
    ordered::for_each_ordered,
    parse::{NotParsed, ParseOptions, parse_file_with},
    report::{
        ControlReport, EvidenceItem, FileCounts, FileOutcome, ObjectiveReport,
        REPORT_SCHEMA_VERSION, Report, StatusCounts, Timings,
    },
    walk::{FoundFile, walk},
};

/// Most passages listed per control in the report.
const EVIDENCE_PER_CONTROL: usize = 5;

/// Passages embedded per call: enough for the embedder to group them by length into full
/// batches, few enough that one call's token encodings stay small.
const EMBED_CHUNK: usize = 256;

/// Files each parsing thread may read ahead of the embedding.
const READ_AHEAD_PER_THREAD: usize = 4;

/// The default workspace: `.controlmap` beside the policy folder.
pub fn default_workspace(dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(_)) => parent.join(".controlmap"),
        _ => abs.join(".controlmap"),
    }
}

pub(crate) fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
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
pub(crate) fn note(quiet: bool, msg: std::fmt::Arguments) {
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
    let model_dir = args.model.locate()?;
    let embedder = args.model.load_from(&model_dir)?;
    let weights = Weights::default();
    let (stored_calibration, passed_over) = crate::model_calibration::applicable(
        crate::model_calibration::load(&model_dir)?,
        embedder.model_id(),
        &weights.to_string(),
    );
    timings.load_model = t.elapsed().as_secs_f64();
    note(
        quiet,
        format_args!("model: {} on {:?}", embedder.model_id(), embedder.device()),
    );
    if let Some(why) = &passed_over {
        note(quiet, format_args!("note: {why}"));
    }
    if let Some(s) = &stored_calibration {
        note(
            quiet,
            format_args!(
                "calibration: the one stored with the model (fitted on {}, ECE {:.3})",
                s.fitted_on, s.ece
            ),
        );
    }
    // The labels to learn from, read now: a mistake in them should stop us before parsing.
    let control_ids: Vec<String> = catalog.controls().map(|(_, c)| c.id.clone()).collect();
    let (learned, learned_from) = super::eval::load_labelled(
        &args.learn,
        &embedder,
        &super::eval::control_index(&control_ids),
    )?;
    for l in &learned_from {
        note(
            quiet,
            format_args!("learning from {}: {} labelled passages", l.file, l.items),
        );
    }

    // Walk, then parse what changed since the last run, in parallel; every file gets an
    // outcome. Unchanged documents keep their passages and vectors.
    let t = Instant::now();
    let mut old = Manifest::load(&workspace, embedder.model_id());
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
    let chunk_opts = ChunkOptions {
        max_tokens: embedder.max_tokens(),
        ..Default::default()
    };
    let count = |s: &str| embedder.count_tokens(s).unwrap_or(usize::MAX);
    let parse_options = args.parse_options();
    let old_rows: HashMap<u64, usize> = match (&old_vectors, reuse) {
        (Some(v), true) => (0..v.len()).map(|i| (v.id(i), i)).collect(),
        _ => HashMap::new(),
    };
    // Each old record is taken (not copied) by the one file that reuses it.
    let old_paths: Vec<String> = old.documents.keys().cloned().collect();
    let old_records: HashMap<String, Mutex<Option<DocRecord>>> = if reuse {
        std::mem::take(&mut old.documents)
            .into_iter()
            .map(|(k, v)| (k, Mutex::new(Some(v))))
            .collect()
    } else {
        HashMap::new()
    };

    // Parse and chunk in parallel, and embed as the passages come, in the walk's order: at
    // most a few files' passages and one embedding chunk are waiting at any time, so memory
    // grows with the passages' records and vectors only, not with documents' text.
    let threads = rayon::current_num_threads();
    let pb = bar(found.files.len() as u64, "reading", quiet);
    let dim = embedder.dim();
    let mut stream = Stream {
        embedder: &embedder,
        old_vectors: old_vectors.as_ref(),
        old_rows: &old_rows,
        dim,
        docs: BTreeMap::new(),
        pending: Vec::new(),
        outcomes: Vec::with_capacity(found.files.len()),
        changed: Vec::new(),
        embedded: 0,
        embed_secs: 0.0,
    };
    for_each_ordered(
        &found.files,
        threads,
        READ_AHEAD_PER_THREAD * threads,
        |f| read_file(f, &old_records, &parse_options, chunk_opts, &count),
        |_, (outcome, record, unchanged)| {
            stream.take(outcome, record, unchanged)?;
            pb.inc(1);
            pb.set_message(format!("{} passages embedded", stream.embedded));
            Ok::<(), anyhow::Error>(())
        },
    )?;
    stream.flush()?;
    pb.finish_and_clear();
    drop(old_records);
    let Stream {
        docs,
        mut outcomes,
        changed,
        embed_secs,
        ..
    } = stream;

    for (rel, reason) in found.skipped {
        outcomes.push(FileOutcome {
            path: rel,
            outcome: "skipped",
            format: None,
            passages: None,
            reason: Some(reason),
            out_of_scope: false,
        });
    }
    // Documents that were indexed and now are gone, changed, or no longer parse.
    let mut remove: Vec<String> = old_paths
        .iter()
        .filter(|d| !docs.contains_key(*d))
        .cloned()
        .collect();
    let was_indexed: std::collections::HashSet<&String> = old_paths.iter().collect();
    remove.extend(changed.iter().filter(|d| was_indexed.contains(d)).cloned());

    // The manifest owns the passages; the vectors follow them in the manifest's order.
    let mut manifest = Manifest {
        version: old.version,
        model_id: old.model_id.clone(),
        documents: BTreeMap::new(),
    };
    let mut data = Vec::with_capacity(docs.values().map(|d| d.vectors.len()).sum());
    for (path, doc) in docs {
        data.extend_from_slice(&doc.vectors);
        manifest.documents.insert(path, doc.record);
    }
    let vectors = Embeddings::new(dim, data);
    let passages: Vec<&Passage> = manifest
        .documents
        .values()
        .flat_map(|d| &d.passages)
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
    // Parsing and embedding overlap: `parse` is the stage's time not spent embedding.
    timings.embed = embed_secs;
    timings.parse = (t.elapsed().as_secs_f64() - embed_secs).max(0.0);

    // Index: the changed documents' passages in one commit (everything when nothing could be
    // reused), then the vectors, then the manifest that says both are done.
    let t = Instant::now();
    let record = |p: &&Passage| IndexPassage {
        id: p.id,
        document: p.document.clone(),
        title: p.title.clone(),
        heading: p.heading_path(),
        page: p.page,
        format: p.format.to_string(),
        text: p.text.clone(),
    };
    if reuse {
        let mut added = passages
            .iter()
            .filter(|p| !old_rows.contains_key(&p.id))
            .map(record)
            .peekable();
        if !remove.is_empty() || added.peek().is_some() {
            index.update(&remove, added)?;
        }
    } else {
        index.replace_all(passages.iter().map(record))?;
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
    let mut mapper = Mapper::new(&catalog, &embedder, weights)?;
    if let Some(s) = &stored_calibration {
        mapper.calibration = s.calibration;
    }
    if args.all_documents {
        mapper.scope = Scope::everything();
    }
    if !learned_from.is_empty() {
        mapper.learn(&learned.vectors, &learned.labels);
    }
    let n_controls = mapper.n_controls();
    let mut contexts = ContextCache::load(&workspace, embedder.model_id());
    let mapped = map_passages(&mapper, &embedder, &passages, &vectors, &mut contexts)?;
    // Only a saving of time: a failure to keep them is said, and the run goes on.
    if let Err(e) = contexts.save(&workspace, embedder.model_id()) {
        note(
            quiet,
            format_args!("note: the headings' vectors were not kept for the next run: {e}"),
        );
    }
    if contexts.reused > 0 {
        note(
            quiet,
            format_args!(
                "headings: {} embedded, {} reused from the last run",
                contexts.embedded, contexts.reused
            ),
        );
    }
    if !mapped.out_of_scope.is_empty() {
        let outside: HashSet<&str> = mapped.out_of_scope.iter().map(String::as_str).collect();
        for o in &mut outcomes {
            o.out_of_scope = outside.contains(o.path.as_str());
        }
        files.out_of_scope = mapped.out_of_scope.len();
        note(
            quiet,
            format_args!(
                "{} documents mention none of the catalog's scope terms ({}…) and are evidence for nothing; --all-documents maps them",
                mapped.out_of_scope.len(),
                mapper
                    .scope
                    .terms()
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
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
                    let passage = passages[p];
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
        learned_from,
        calibration: crate::report::CalibrationUsed::new(
            mapper.calibration,
            stored_calibration.as_ref(),
            &model_dir,
        ),
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

/// The parse-and-embed stage's state on the consuming thread: parsed documents with their
/// vectors, and the passages that still wait for one.
struct Stream<'a> {
    embedder: &'a dyn Embedder,
    old_vectors: Option<&'a VectorStore>,
    /// Passage id → row in `old_vectors`, for passages whose vector can be reused.
    old_rows: &'a HashMap<u64, usize>,
    dim: usize,
    docs: BTreeMap<String, Collected>,
    /// (document, passage index) without a vector yet, in arrival order.
    pending: Vec<(String, usize)>,
    outcomes: Vec<FileOutcome>,
    /// Documents parsed afresh (not unchanged).
    changed: Vec<String>,
    embedded: usize,
    embed_secs: f64,
}

/// A document's record and its passages' vectors (`dim` floats each, filled as embedded).
struct Collected {
    record: DocRecord,
    vectors: Vec<f32>,
}

impl Stream<'_> {
    /// Takes one file's result: reused vectors are copied from the last run's store, the
    /// other passages wait for the next embedding chunk.
    fn take(
        &mut self,
        outcome: FileOutcome,
        record: Option<DocRecord>,
        unchanged: bool,
    ) -> Result<()> {
        if let Some(record) = record {
            let path = outcome.path.clone();
            if !unchanged {
                self.changed.push(path.clone());
            }
            let mut vectors = vec![0f32; record.passages.len() * self.dim];
            for (i, p) in record.passages.iter().enumerate() {
                match (self.old_rows.get(&p.id), self.old_vectors) {
                    (Some(&row), Some(store)) => vectors[i * self.dim..(i + 1) * self.dim]
                        .copy_from_slice(&store.vector(row)),
                    _ => self.pending.push((path.clone(), i)),
                }
            }
            self.docs.insert(path, Collected { record, vectors });
        }
        self.outcomes.push(outcome);
        if self.pending.len() >= EMBED_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Embeds every waiting passage.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        let texts: Vec<String> = self
            .pending
            .iter()
            .map(|(d, i)| self.docs[d].record.passages[*i].embedding_text())
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self.embedder.embed(&refs)?;
        for ((d, i), row) in self.pending.drain(..).zip(vectors.rows()) {
            let doc = self
                .docs
                .get_mut(&d)
                .expect("pending passages have a document");
            doc.vectors[i * self.dim..(i + 1) * self.dim].copy_from_slice(row);
        }
        self.embedded += texts.len();
        self.embed_secs += t.elapsed().as_secs_f64();
        Ok(())
    }
}

/// One file's outcome, its record for the manifest when it has passages, and whether it was
/// unchanged since the last run (its record then taken out of `old_records`).
fn read_file(
    f: &FoundFile,
    old_records: &HashMap<String, Mutex<Option<DocRecord>>>,
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
        out_of_scope: false,
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
    let mut previous = old_records
        .get(&f.rel)
        .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let known = previous
        .as_ref()
        .and_then(|p| p.as_ref())
        .map(|r| (r.size, r.mtime_ns, r.sha256.clone()));
    let sha256 = match known {
        Some((s, m, sha)) if s == size && m == mtime_ns => sha,
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
    if let Some(rec) = previous
        .as_mut()
        .and_then(|p| p.take_if(|r| r.sha256 == sha256))
    {
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
                ..rec
            }),
            true,
        );
    }
    drop(previous);
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
