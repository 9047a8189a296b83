//! The run as a library call: a policy folder through ingest, embedding, the index and the
//! mapper into a workspace's `report.json` and the other outputs. `controlmap run` is a thin
//! face over [`run`]; a worker over part of a folder would be another.
//!
//! - `read`: parsing in parallel and embedding as passages arrive, in the walk's order,
//!   reusing what the last run read of unchanged files;
//! - this module: the stages in order, the index and vectors written, the passages mapped and
//!   the report built.

mod read;
pub mod shard;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::PathBuf,
    sync::Mutex,
    time::Instant,
};

use controlmap_index::{Passage as IndexPassage, TextIndex, VectorStore};
use controlmap_models::{Embedder, Embeddings};

use crate::{
    catalog::Catalog,
    error::{Context, Result},
    eval::labels::{Labelled, LearnedFrom, control_index, load_labelled},
    frameworks::{Framework, Frameworks},
    ingest::{chunk::Passage, manifest::Manifest, parse::ParseOptions, walk::walk},
    lessons::{self, LabelledVectors},
    mapping::{
        Mapper, Origin, Scope, Thresholds, Weights, assess, context_cache::ContextCache,
        map_passages, stored_calibration,
    },
    messages::note,
    precision::PrecisionUsed,
    report::{self, FileCounts, FileOutcome, Report, Timings, Written},
    workspace,
};

/// Passages embedded per call: enough for the embedder to group them by length into full
/// batches, few enough that one call's token encodings stay small.
const EMBED_CHUNK: usize = 256;

/// Files each parsing thread may read ahead of the embedding.
const READ_AHEAD_PER_THREAD: usize = 4;

/// What a run reads and where it writes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The policy folder.
    pub policy_dir: PathBuf,
    /// Where the index, vectors and reports go (created when missing).
    pub workspace: PathBuf,
    /// The frameworks to map to, the primary one (ISO/IEC 42001 Annex A) first.
    pub frameworks: Frameworks,
    /// The model's folder: a calibration stored beside it is used, and the report says so.
    pub model_dir: PathBuf,
    pub parse: ParseOptions,
    /// Map documents outside the catalog's scope too.
    pub all_documents: bool,
    /// Labelled passages the mapper learns from (`--learn`).
    pub learn: Vec<PathBuf>,
    /// The precision the embedder runs in and why, for the report (`None`: not said).
    pub precision: Option<PrecisionUsed>,
    /// The day documents are judged on, their review cycle, how their dates read.
    pub freshness: report::Asked,
    /// Take the documents from shards' files (`controlmap shard merge`) instead of reading
    /// the folder.
    pub shards: Option<shard::ShardInput>,
}

/// The policy folder exists and is a folder: checked by the face before it loads the model,
/// and by [`run`] for every other caller.
pub fn check_policy_dir(dir: &std::path::Path) -> Result<()> {
    if !dir.is_dir() {
        crate::error::user_error!(
            "{} is not a folder; give the policy folder to read",
            dir.display()
        );
    }
    Ok(())
}

/// Runs the pipeline over `opts.policy_dir` with `embedder` (the model in `opts.model_dir`)
/// and writes every output into `opts.workspace`, with the reviewers' decisions applied.
pub fn run(opts: &RunOptions, embedder: &dyn Embedder) -> Result<Written> {
    let started = Instant::now();
    let mut timings = Timings::default();
    check_policy_dir(&opts.policy_dir)?;
    let workspace = &opts.workspace;
    fs_err::create_dir_all(workspace).context("cannot create the workspace")?;
    // The reviewers' decisions are read at the end: a store that cannot be read must stop the
    // run before it rewrites any report.
    crate::review::Store::check(workspace)?;
    let catalog = &opts.frameworks.primary().catalog;

    let weights = Weights::default();
    let (stored_calibration, passed_over) = stored_calibration::applicable(
        stored_calibration::load(&opts.model_dir)?,
        embedder.model_id(),
        &weights.to_string(),
    );
    if let Some(why) = &passed_over {
        note(format_args!("note: {why}"));
    }
    if let Some(s) = &stored_calibration {
        note(format_args!(
            "calibration: the one stored with the model (fitted on {}, ECE {:.3})",
            s.fitted_on, s.ece
        ));
    }
    // The labels to learn from, read now: a mistake in them should stop us before parsing.
    let control_ids: Vec<String> = catalog.controls().map(|(_, c)| c.id.clone()).collect();
    let index_of = control_index(&control_ids);
    let (mut learned, mut learned_from) = builtin_lessons(catalog, embedder, &index_of)?;
    let (from_files, files_learned) = load_labelled(&opts.learn, embedder, &index_of)?;
    learned.extend(&from_files);
    learned_from.extend(files_learned);
    for l in &learned_from {
        note(format_args!(
            "learning from {}: {} labelled passages",
            l.file, l.items
        ));
    }

    // Walk, then parse what changed since the last run, in parallel; every file gets an
    // outcome. Unchanged documents keep their passages and vectors.
    let t = Instant::now();
    let mut old = Manifest::load(workspace, embedder.model_id());
    let index_dir = workspace.join(workspace::INDEX_DIR);
    // The index can always be rebuilt from the folder and the vectors: one that cannot be
    // opened (another version's, or damaged) is rebuilt, with a note.
    let mut index = match TextIndex::create_or_open(&index_dir) {
        Ok(index) => index,
        Err(e) => {
            let why = match e {
                controlmap_index::Error::IncompatibleIndex { .. } => {
                    "written by another version".to_string()
                }
                e => format!("it could not be opened: {}", one_line(&e.to_string())),
            };
            note(format_args!(
                "note: rebuilding the index in {} ({why})",
                index_dir.display()
            ));
            TextIndex::recreate(&index_dir)?
        }
    };
    let vectors_path = workspace.join(workspace::VECTORS);
    let old_vectors = VectorStore::open(&vectors_path, Some(embedder.model_id())).ok();
    // Reusing passages needs the manifest and the vectors to agree; an index that does not
    // agree with them (rebuilt, or damaged) is filled again whole from them.
    let reuse = opts.shards.is_none()
        && old_vectors
            .as_ref()
            .is_some_and(|v| v.len() == old.passage_count());
    let index_agrees = index.len() as usize == old.passage_count();

    let old_rows: HashMap<u64, usize> = match (&old_vectors, reuse) {
        (Some(v), true) => (0..v.len()).map(|i| (v.id(i), i)).collect(),
        _ => HashMap::new(),
    };
    // Each old record is taken (not copied) by the one file that reuses it.
    let old_paths: Vec<String> = old.documents.keys().cloned().collect();
    let old_records: HashMap<String, Mutex<Option<_>>> = if reuse {
        std::mem::take(&mut old.documents)
            .into_iter()
            .map(|(k, v)| (k, Mutex::new(Some(v))))
            .collect()
    } else {
        HashMap::new()
    };
    let dim = embedder.dim();

    let (docs, mut outcomes, changed, embed_secs, skipped) = match &opts.shards {
        Some(input) => {
            // A merge: the shards' workers read the files.
            let loaded = shard::load(input, embedder.model_id(), dim)?;
            let changed: Vec<String> = loaded.docs.keys().cloned().collect();
            (loaded.docs, loaded.outcomes, changed, 0.0, loaded.skipped)
        }
        None => {
            let found = walk(&opts.policy_dir)
                .with_context(|| format!("cannot read {}", opts.policy_dir.display()))?;
            let stream = read::read_all(
                &found.files,
                embedder,
                read::Reuse {
                    vectors: old_vectors.as_ref(),
                    rows: &old_rows,
                    records: &old_records,
                },
                &opts.parse,
            )?;
            let read::Stream {
                docs,
                outcomes,
                changed,
                embed_secs,
                ..
            } = stream;
            (docs, outcomes, changed, embed_secs, found.skipped)
        }
    };
    drop(old_records);

    for (rel, reason) in skipped {
        outcomes.push(FileOutcome {
            path: rel,
            outcome: "skipped".into(),
            reason: Some(reason),
            ..Default::default()
        });
    }
    // Documents that were indexed and now are gone, changed, or no longer parse.
    let mut remove: Vec<String> = old_paths
        .iter()
        .filter(|d| !docs.contains_key(*d))
        .cloned()
        .collect();
    let was_indexed: HashSet<&String> = old_paths.iter().collect();
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
        match o.outcome.as_str() {
            "parsed" => files.parsed += 1,
            "unchanged" => files.unchanged += 1,
            "skipped" => files.skipped += 1,
            _ => files.failed += 1,
        }
        if o.outcome == "failed" {
            note(format_args!(
                "failed: {}: {}",
                o.path,
                o.reason.as_deref().unwrap_or("")
            ));
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
    if reuse && index_agrees {
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
    if !reuse {
        // Every vector was made afresh, perhaps differently under the same passage ids: the
        // old graph cannot be patched, only built again.
        controlmap_index::ann::discard(&vectors_path)?;
    }
    let ids: Vec<u64> = passages.iter().map(|p| p.id).collect();
    VectorStore::write(
        &vectors_path,
        embedder.model_id(),
        dim,
        &ids,
        vectors.as_slice(),
    )?;
    // Large workspaces search through an approximate index beside the vectors; a re-run
    // patches it with the passages that changed. Only a saving of time: when it cannot be
    // made, search stays exact and the run goes on.
    match controlmap_index::ann::sync_above(
        &VectorStore::open(&vectors_path, None)?,
        ann_threshold(),
    ) {
        Ok(controlmap_index::Synced::Exact) => {}
        Ok(synced) => note(format_args!("{synced}")),
        Err(e) => note(format_args!(
            "note: no approximate index ({e}); search stays exact"
        )),
    }
    manifest.save(workspace)?;
    timings.index = t.elapsed().as_secs_f64();

    // Map: every passage against every control.
    let t = Instant::now();
    let mut mapper = Mapper::new(catalog, embedder, weights)?;
    if let Some(s) = &stored_calibration {
        mapper.calibration = s.calibration;
    }
    if opts.all_documents {
        mapper.scope = Scope::everything();
    }
    // The reviewers' decisions so far: accepted passages teach the probe as labels do, and
    // every decision moves its own passage's score for its control.
    let decided = lessons::decided(workspace, &passages, &vectors, embedder, &index_of)?;
    if decided.learned.total() > 0 {
        note(format_args!(
            "learning from {} reviewer decisions ({} accepted, {} rejected)",
            decided.learned.total(),
            decided.learned.accepted,
            decided.learned.rejected
        ));
        take_decisions(&mut mapper, &decided, &mut learned);
    }
    if learned.labelled() > 0 {
        mapper.learn(&learned.vectors, &learned.labels, &learned.origins);
    }
    let n_controls = mapper.n_controls();
    let mut contexts = ContextCache::load(workspace, embedder.model_id());
    let mapped = map_passages(&mapper, embedder, &passages, &vectors, &mut contexts)?;
    // Only a saving of time: a failure to keep them is said, and the run goes on.
    if let Err(e) = contexts.save(workspace, embedder.model_id()) {
        note(format_args!(
            "note: the headings' vectors were not kept for the next run: {e}"
        ));
    }
    if contexts.reused > 0 {
        note(format_args!(
            "headings: {} embedded, {} reused from the last run",
            contexts.embedded, contexts.reused
        ));
    }
    if !mapped.out_of_scope.is_empty() {
        let outside: HashSet<&str> = mapped.out_of_scope.iter().map(String::as_str).collect();
        for o in &mut outcomes {
            o.out_of_scope = outside.contains(o.path.as_str());
        }
        files.out_of_scope = mapped.out_of_scope.len();
        note(format_args!(
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
        ));
    }
    let thresholds = Thresholds::default();
    let assessments = assess(&mapped.scores, &mapped.confidence, n_controls, thresholds);
    let (summary, objectives) = report::build::objectives(
        catalog,
        None,
        &assessments,
        &passages,
        &mapped.scores,
        |p, ci| mapper.rationale(vectors.row(p), &passages[p].text, ci),
    );
    let mut frameworks = Vec::new();
    for f in opts.frameworks.others() {
        frameworks.push(map_framework(
            f,
            &Mapping {
                workspace,
                embedder,
                passages: &passages,
                vectors: &vectors,
                weights,
                calibration: mapper.calibration,
                all_documents: opts.all_documents,
                thresholds,
            },
            &mut contexts,
        )?);
    }
    timings.map = t.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();

    let report = Report::new(report::build::Header {
        policy_folder: opts.policy_dir.display().to_string(),
        workspace: workspace.display().to_string(),
        model: embedder.model_id().to_string(),
        precision: opts.precision.clone(),
        catalog: catalog.framework.name.clone(),
        learned_from,
        decisions_learned: decided.learned,
        calibration: report::CalibrationUsed::new(
            mapper.calibration,
            stored_calibration.as_ref(),
            &opts.model_dir,
        ),
        thresholds,
        files,
        summary,
        objectives,
        framework: report::FrameworkInfo::of(opts.frameworks.primary()),
        frameworks,
        file_outcomes: outcomes,
        documents: report::documents::entries(&manifest.documents),
        timings_s: timings,
    });
    report.save(workspace)?;

    // Every output, with the reviewers' decisions applied, as `controlmap report` writes them.
    report::write_outputs(workspace, &opts.freshness)
}

/// How many passages a workspace needs before it gets an approximate index. The test aids
/// let a test set it (`CONTROLMAP_TEST_ANN_MIN`), so a run over the small sample builds one.
fn ann_threshold() -> usize {
    #[cfg(feature = "test-aids")]
    if let Some(n) = std::env::var("CONTROLMAP_TEST_ANN_MIN")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    controlmap_index::ann::MIN_VECTORS
}

/// The reviewers' decisions so far teach the mapper: accepted passages become the
/// organisation's own labelled rows, and every decision moves its own passage's score.
fn take_decisions(mapper: &mut Mapper, decided: &lessons::Decided, learned: &mut Labelled) {
    learned.extend_rows(
        &decided.vectors,
        &decided.positives(),
        0..decided.vectors.len(),
        Origin::Own,
    );
    mapper.remember(&decided.vectors, &decided.pairs);
}

/// What mapping a framework besides the primary one needs from the run.
struct Mapping<'a> {
    workspace: &'a std::path::Path,
    embedder: &'a dyn Embedder,
    passages: &'a [&'a Passage],
    vectors: &'a Embeddings,
    weights: Weights,
    calibration: crate::mapping::Calibration,
    all_documents: bool,
    thresholds: Thresholds,
}

/// Maps every passage to one more framework's catalog, directly: its catalog's own text and
/// the reviewers' decisions on its controls teach the mapper (the built-in lessons from real
/// documents are labelled for Annex A only), with the primary framework's calibration.
fn map_framework(
    f: &Framework,
    m: &Mapping<'_>,
    contexts: &mut ContextCache,
) -> Result<report::FrameworkEntry> {
    let catalog = &f.catalog;
    let mut mapper = Mapper::new(catalog, m.embedder, m.weights)?;
    mapper.calibration = m.calibration;
    if m.all_documents {
        mapper.scope = Scope::everything();
    }
    let ids: Vec<String> = catalog.controls().map(|(_, c)| c.id.clone()).collect();
    let index_of = control_index(&ids);
    let decided = lessons::decided(m.workspace, m.passages, m.vectors, m.embedder, &index_of)?;
    if decided.learned.total() > 0 {
        let mut learned = Labelled::empty(m.embedder.dim());
        take_decisions(&mut mapper, &decided, &mut learned);
        mapper.learn(&learned.vectors, &learned.labels, &learned.origins);
    }
    let mapped = map_passages(&mapper, m.embedder, m.passages, m.vectors, contexts)?;
    let assessments = assess(
        &mapped.scores,
        &mapped.confidence,
        mapper.n_controls(),
        m.thresholds,
    );
    let (summary, objectives) = report::build::objectives(
        catalog,
        f.crosswalk.as_ref(),
        &assessments,
        m.passages,
        &mapped.scores,
        |p, ci| mapper.rationale(m.vectors.row(p), &m.passages[p].text, ci),
    );
    Ok(report::FrameworkEntry {
        info: report::FrameworkInfo::of(f),
        summary,
        coverage: Default::default(),
        agreement: None,
        objectives,
        rest: Default::default(),
    })
}

/// What the default mapper learns before anything of the user's: the real documents'
/// labelled vectors built into the binary, when they are this model's and this catalog's
/// (otherwise a note says that the catalog alone maps).
pub fn builtin_lessons(
    catalog: &Catalog,
    embedder: &dyn Embedder,
    index_of: &HashMap<&str, usize>,
) -> Result<(Labelled, Vec<LearnedFrom>)> {
    let none = || (Labelled::empty(embedder.dim()), Vec::new());
    if catalog.framework.id != lessons::vectors::BUILTIN_FRAMEWORK {
        return Ok(none());
    }
    let builtin = LabelledVectors::builtin();
    if !builtin.fits_model(embedder.model_id()) || builtin.vectors.dim() != embedder.dim() {
        note(format_args!(
            "note: the built-in lessons from real documents are vectors of {}; with {} the catalog alone maps",
            builtin.model_id,
            embedder.model_id()
        ));
        return Ok(none());
    }
    let labelled = builtin.lessons(index_of, &Default::default())?;
    let from = vec![LearnedFrom {
        file: builtin.name.clone(),
        items: labelled.labelled(),
    }];
    Ok((labelled, from))
}

/// The first line of an error message, at most 200 characters (tantivy's errors can carry
/// a whole debug dump).
fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use controlmap_models::testing::FakeEmbedder;

    use super::*;

    fn options(dir: &std::path::Path) -> RunOptions {
        RunOptions {
            policy_dir: dir.join("policies"),
            workspace: dir.join("ws"),
            frameworks: Frameworks::primary_only(),
            model_dir: dir.join("model"),
            parse: ParseOptions::default(),
            all_documents: false,
            learn: Vec::new(),
            precision: None,
            freshness: Default::default(),
            shards: None,
        }
    }

    #[test]
    fn the_run_is_a_library_call_that_writes_every_output_and_reuses_unchanged_files() {
        let t = tempfile::tempdir().unwrap();
        let policies = t.path().join("policies");
        fs_err::create_dir_all(&policies).unwrap();
        fs_err::write(
            policies.join("ai-policy.md"),
            "# AI policy\n\nThe board approves this AI policy and reviews it every year.\n\n\
             ## Impact assessment\n\nEvery AI system gets an impact assessment before release.\n",
        )
        .unwrap();
        fs_err::write(
            policies.join("travel.md"),
            "# Travel\n\nMeals are reimbursed.\n",
        )
        .unwrap();
        let mut opts = options(t.path());
        let used = PrecisionUsed {
            precision: "int8".into(),
            kernels: "int8 vnni + bf16 qkv".into(),
            chosen_by: "auto".into(),
            why: "measured".into(),
        };
        opts.precision = Some(used.clone());
        let embedder = FakeEmbedder::new(64);

        let first = run(&opts, &embedder).unwrap();
        let names: Vec<_> = first
            .files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                workspace::REPORT_JSON,
                workspace::REPORT_HTML,
                workspace::EVIDENCE_CSV,
                workspace::SOA_CSV
            ]
        );
        let r = &first.report;
        assert_eq!(r.controls().count(), 38);
        assert_eq!((r.files.found, r.files.parsed), (2, 2));
        assert_eq!(
            r.files.out_of_scope, 1,
            "the travel policy never mentions AI"
        );
        let run_id = r.run_id.clone().expect("a run names itself");
        // What was written is what a reader reads.
        let read = crate::report::Report::load(&opts.workspace).unwrap();
        assert_eq!(read.run_id.as_deref(), Some(run_id.as_str()));
        assert_eq!(read.controls().count(), 38);
        assert_eq!(
            read.precision,
            Some(used),
            "report.json records the precision that ran"
        );

        let again = run(&opts, &embedder).unwrap();
        assert_eq!(again.report.files.unchanged, 2);
        assert_ne!(again.report.run_id.as_deref(), Some(run_id.as_str()));
    }

    #[test]
    fn a_missing_policy_folder_is_the_users_mistake() {
        let t = tempfile::tempdir().unwrap();
        let e = run(&options(t.path()), &FakeEmbedder::new(8)).unwrap_err();
        assert!(matches!(e, crate::Error::User(_)), "{e:?}");
        assert!(e.to_string().contains("is not a folder"), "{e}");
    }
}
