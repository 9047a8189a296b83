//! Reading a policy folder for a run: each file parsed and chunked on a worker thread (or
//! its passages taken from the last run when it is unchanged), and the passages embedded on
//! the consuming thread as they arrive, in the walk's order.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Instant,
};

use controlmap_index::VectorStore;
use controlmap_models::Embedder;

use super::{EMBED_CHUNK, READ_AHEAD_PER_THREAD};
use crate::{
    error::Result,
    ingest::{
        chunk::{ChunkOptions, chunk},
        manifest::{DocRecord, sha256_file, stamp},
        ordered::for_each_ordered,
        parse::{NotParsed, ParseOptions, parse_file_with},
        walk::FoundFile,
    },
    messages::bar,
    report::FileOutcome,
};

/// The parse-and-embed stage's state on the consuming thread: parsed documents with their
/// vectors, and the passages that still wait for one.
pub(super) struct Stream<'a> {
    embedder: &'a dyn Embedder,
    old_vectors: Option<&'a VectorStore>,
    /// Passage id → row in `old_vectors`, for passages whose vector can be reused.
    old_rows: &'a HashMap<u64, usize>,
    dim: usize,
    pub(super) docs: BTreeMap<String, Collected>,
    /// (document, passage index) without a vector yet, in arrival order.
    pending: Vec<(String, usize)>,
    pub(super) outcomes: Vec<FileOutcome>,
    /// Documents parsed afresh (not unchanged).
    pub(super) changed: Vec<String>,
    pub(super) embedded: usize,
    pub(super) embed_secs: f64,
}

/// A document's record and its passages' vectors (`dim` floats each, filled as embedded).
pub(super) struct Collected {
    pub(super) record: DocRecord,
    pub(super) vectors: Vec<f32>,
}

impl<'a> Stream<'a> {
    pub(super) fn new(
        embedder: &'a dyn Embedder,
        old_vectors: Option<&'a VectorStore>,
        old_rows: &'a HashMap<u64, usize>,
        files: usize,
    ) -> Self {
        Stream {
            embedder,
            old_vectors,
            old_rows,
            dim: embedder.dim(),
            docs: BTreeMap::new(),
            pending: Vec::new(),
            outcomes: Vec::with_capacity(files),
            changed: Vec::new(),
            embedded: 0,
            embed_secs: 0.0,
        }
    }

    /// Takes one file's result: reused vectors are copied from the last run's store, the
    /// other passages wait for the next embedding chunk.
    pub(super) fn take(
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
    pub(super) fn flush(&mut self) -> Result<()> {
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

/// The last run's passages that this one may reuse: its vectors, the row of each passage id
/// in them, and its documents' records (each taken by the one file that reuses it).
pub(super) struct Reuse<'a> {
    pub vectors: Option<&'a VectorStore>,
    pub rows: &'a HashMap<u64, usize>,
    pub records: &'a HashMap<String, Mutex<Option<DocRecord>>>,
}

/// Parses and chunks `files` in parallel and embeds their passages as they come, in the
/// files' order: at most a few files' passages and one embedding chunk wait at any time, so
/// memory grows with the passages' records and vectors only, not with documents' text.
pub(super) fn read_all<'a>(
    files: &[FoundFile],
    embedder: &'a dyn Embedder,
    reuse: Reuse<'a>,
    parse: &ParseOptions,
) -> Result<Stream<'a>> {
    let chunk_opts = ChunkOptions {
        max_tokens: embedder.max_tokens(),
        ..Default::default()
    };
    let count = |s: &str| embedder.count_tokens(s).unwrap_or(usize::MAX);
    let threads = rayon::current_num_threads();
    let pb = bar(files.len() as u64, "reading");
    let mut stream = Stream::new(embedder, reuse.vectors, reuse.rows, files.len());
    for_each_ordered(
        files,
        threads,
        READ_AHEAD_PER_THREAD * threads,
        |f| read_file(f, reuse.records, parse, chunk_opts, &count),
        |_, (outcome, record, unchanged)| {
            stream.take(outcome, record, unchanged)?;
            pb.inc(1);
            pb.set_message(format!("{} passages embedded", stream.embedded));
            Ok::<(), crate::error::Error>(())
        },
    )?;
    stream.flush()?;
    pb.finish_and_clear();
    Ok(stream)
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
    let outcome = |kind: &str, reason: Option<String>| FileOutcome {
        path: f.rel.clone(),
        outcome: kind.to_string(),
        reason,
        ..Default::default()
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
                    metadata: doc.metadata,
                }),
                false,
            )
        }
        Err(NotParsed::Skipped(r)) => (outcome("skipped", Some(r)), None, false),
        Err(NotParsed::Failed(r)) => (outcome("failed", Some(r)), None, false),
    }
}
