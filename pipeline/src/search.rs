//! The auditor's hybrid search (BM25 and dense, fused) over a workspace, by free text or by
//! control, with reviewers' verdicts applied: `controlmap search` and the web UI's search
//! page both rank through [`Engine`].

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use controlmap_index::{Dense, Filters, Fusion, TextIndex, VectorStore, fuse};
use controlmap_models::Embedder;
use serde::Serialize;

use crate::{
    catalog::Catalog,
    error::{Context, Result, user_error},
    ingest::manifest::Manifest,
    review::Store,
    workspace,
};

/// Candidates taken from each of BM25 and dense search before fusion.
const CANDIDATES: usize = 200;

/// A passage found only by dense search needs at least this cosine to be shown: dense search
/// always returns neighbours, and below this MiniLM's neighbours are unrelated text.
const MIN_DENSE_ONLY: f32 = 0.25;

/// One search result, as printed in JSON (one object per line).
#[derive(Debug, Serialize)]
pub struct SearchResult {
    pub rank: usize,
    pub score: f32,
    pub bm25: Option<f32>,
    pub cosine: Option<f32>,
    pub passage_id: u64,
    pub document: String,
    pub page: Option<u32>,
    pub heading: String,
    pub text: String,
    pub snippet: String,
    /// Byte ranges of `snippet` that match the query's words.
    pub highlights: Vec<(usize, usize)>,
    /// A reviewer's verdict on this passage for the searched control (`accepted`, `linked`),
    /// when there is one; accepted evidence is listed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The document's review status (`current`, `overdue`, `unknown`) as of today, or the
    /// day the last run was given; absent when the workspace's report does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_status: Option<String>,
}

/// What to search for: the texts to embed and the BM25 query, for free text (`query`) or for
/// a control's evidence (`control`: its description, evidence examples and keywords).
pub fn query_for(
    query: Option<&str>,
    control: Option<&str>,
    catalog: &Catalog,
) -> Result<(Vec<String>, String)> {
    match (query, control) {
        (Some(q), None) => Ok((vec![q.to_string()], q.to_string())),
        (None, Some(id)) => {
            let c = catalog.control(id).with_context(|| {
                format!(
                    "no control {id} in {}; IDs look like A.6.2.4, GOVERN 1.1 or Art. 9",
                    catalog.framework.name
                )
            })?;
            let mut texts = vec![format!("{}. {}", c.title, c.summary.trim())];
            texts.extend(c.evidence_examples.iter().cloned());
            // Keywords as phrases, any of which may match.
            let bm25 = c
                .keywords
                .iter()
                .map(|k| format!("\"{}\"", k.replace('"', " ")))
                .collect::<Vec<_>>()
                .join(" ");
            Ok((texts, bm25))
        }
        (Some(_), Some(_)) => user_error!("give a query or --control, not both"),
        (None, None) => {
            user_error!("give a query (controlmap search \"model drift\") or --control A.6.2.4")
        }
    }
}

/// How the web UI and `--fusion weighted` combine the rankings: 0.7 × cosine + 0.3 ×
/// normalised BM25 (it ranked known evidence higher than reciprocal rank fusion on the
/// sample corpus).
pub const WEIGHTED: Fusion = Fusion::Weighted { alpha: 0.7 };

/// One search: free text or a control, within filters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: Option<String>,
    pub control: Option<String>,
    pub filters: Filters,
    pub limit: usize,
    pub fusion: Fusion,
}

/// A workspace opened for searching: its index and vectors, the model its vectors were made
/// with, and the catalog. `controlmap search` opens one per invocation; `controlmap serve`
/// opens one and keeps it, so both rank alike.
pub struct Engine {
    workspace: PathBuf,
    catalog: Catalog,
    index: TextIndex,
    vectors: Dense,
    embedder: Box<dyn Embedder>,
    /// Each document's review status, judged when the workspace was opened (`serve` opens
    /// it again when `report.json` changes).
    statuses: HashMap<String, String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens `workspace` (see [`workspace::find`]) to search with `embedder`, which must be
    /// the model (and precision) the workspace's vectors were made with.
    pub fn open(workspace: &Path, catalog: Catalog, embedder: Box<dyn Embedder>) -> Result<Self> {
        // The vectors first: a workspace made with another model says so before anything else.
        let vectors = VectorStore::open(
            &workspace.join(workspace::VECTORS),
            Some(embedder.model_id()),
        )?;
        let vectors = Dense::open(vectors)?;
        let index = TextIndex::open_read_only(&workspace.join(workspace::INDEX_DIR))?;
        Ok(Engine {
            workspace: workspace.to_path_buf(),
            catalog,
            index,
            vectors,
            embedder,
            statuses: document_statuses(workspace),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The results of `q`, best first. For a control, evidence a reviewer accepted comes
    /// first and suggestions they rejected are left out.
    pub fn search(&self, q: &Query) -> Result<Vec<SearchResult>> {
        let (texts, bm25_query) =
            query_for(q.text.as_deref(), q.control.as_deref(), &self.catalog)?;
        let mut results = search(
            &self.index,
            &self.vectors,
            self.embedder.as_ref(),
            &texts,
            &bm25_query,
            &q.filters,
            q.limit,
            q.fusion,
        )?;
        if let Some(control) = &q.control {
            apply_decisions(
                &self.workspace,
                self.embedder.model_id(),
                control,
                &self.index,
                &q.filters,
                &bm25_query,
                q.limit,
                &mut results,
            )?;
        }
        for r in &mut results {
            r.document_status = self.statuses.get(&r.document).cloned();
        }
        Ok(results)
    }
}

/// Each document's review status by path, from the workspace's report judged today (empty
/// when there is no readable report: search works without one).
fn document_statuses(workspace: &Path) -> HashMap<String, String> {
    let Ok(mut report) = crate::report::Report::load(workspace) else {
        return HashMap::new();
    };
    report.apply_freshness(&Default::default());
    report
        .documents
        .into_iter()
        .map(|d| (d.path, d.status.to_string()))
        .collect()
}

/// Hybrid search: BM25 over `bm25_query` and dense over `texts` (a passage's dense score is
/// its best cosine to any of them), fused, within `filters`.
#[allow(clippy::too_many_arguments)]
pub fn search(
    index: &TextIndex,
    vectors: &Dense,
    embedder: &dyn Embedder,
    texts: &[String],
    bm25_query: &str,
    filters: &Filters,
    limit: usize,
    fusion: Fusion,
) -> Result<Vec<SearchResult>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let qv = embedder.embed(&refs)?;
    let queries: Vec<&[f32]> = qv.rows().collect();
    let allowed = index.ids_matching(filters)?;
    let dense: Vec<(u64, f32)> = vectors
        .search_max(&queries, CANDIDATES, allowed.as_ref())
        .into_iter()
        .map(|h| (h.id, h.score))
        .collect();
    let text_hits = index.search(bm25_query, filters, CANDIDATES)?;
    let text: Vec<(u64, f32)> = text_hits.iter().map(|h| (h.passage.id, h.score)).collect();
    let mut out = Vec::new();
    for f in fuse(&text, &dense, fusion) {
        if out.len() >= limit {
            break;
        }
        if f.bm25.is_none() && f.dense.is_some_and(|c| c < MIN_DENSE_ONLY) {
            continue;
        }
        let passage = match text_hits.iter().find(|h| h.passage.id == f.id) {
            Some(h) => h.passage.clone(),
            // A vector without its passage (the two files were written apart and a run died
            // between them): skip it rather than show a hole.
            None => match index.get(f.id)? {
                Some(p) => p,
                None => continue,
            },
        };
        let snippet = index.snippet(bm25_query, &passage.text, 240)?;
        out.push(SearchResult {
            rank: out.len() + 1,
            score: f.score,
            bm25: f.bm25,
            cosine: f.dense,
            passage_id: f.id,
            document: passage.document,
            page: passage.page,
            heading: passage.heading,
            text: passage.text,
            snippet: snippet.text,
            highlights: snippet.highlights,
            decision: None,
            document_status: None,
        });
    }
    Ok(out)
}

/// With review data: evidence a reviewer accepted (or linked) for `control` comes first, even
/// when retrieval did not find it, and suggestions they rejected are not shown.
#[allow(clippy::too_many_arguments)]
fn apply_decisions(
    ws: &Path,
    model_id: &str,
    control: &str,
    index: &TextIndex,
    filters: &Filters,
    bm25_query: &str,
    limit: usize,
    results: &mut Vec<SearchResult>,
) -> Result<()> {
    let Some(store) = Store::open_if_exists(ws)? else {
        return Ok(());
    };
    let decisions = store.current_decisions()?;
    if !decisions.keys().any(|(_, c)| c == control) {
        return Ok(());
    }
    // Passage ids to content hashes, from the last run's manifest.
    let manifest = Manifest::load(ws, model_id);
    let mut hash_of = std::collections::HashMap::new();
    let mut id_of = std::collections::HashMap::new();
    for p in manifest.documents.values().flat_map(|d| &d.passages) {
        hash_of.insert(p.id, p.content_hash.clone());
        id_of.insert(p.content_hash.clone(), p.id);
    }
    let verdict = |id: u64| {
        hash_of
            .get(&id)
            .and_then(|h| decisions.get(&(h.clone(), control.to_string())))
    };
    results.retain(|r| verdict(r.passage_id).is_none_or(|d| d.verdict.is_evidence()));
    let allowed = index.ids_matching(filters)?;
    let mut accepted: Vec<SearchResult> = Vec::new();
    for ((hash, c), d) in &decisions {
        if c != control || !d.verdict.is_evidence() {
            continue;
        }
        let Some(&id) = id_of.get(hash) else { continue }; // stale: the text changed
        if allowed.as_ref().is_some_and(|a| !a.contains(&id)) {
            continue;
        }
        let found = results
            .iter()
            .position(|r| r.passage_id == id)
            .map(|i| results.remove(i));
        let mut r = match found {
            Some(r) => r,
            None => {
                let Some(p) = index.get(id)? else { continue };
                let snippet = index.snippet(bm25_query, &p.text, 240)?;
                SearchResult {
                    rank: 0,
                    score: 0.0,
                    bm25: None,
                    cosine: None,
                    passage_id: id,
                    document: p.document,
                    page: p.page,
                    heading: p.heading,
                    text: p.text,
                    snippet: snippet.text,
                    highlights: snippet.highlights,
                    decision: None,
                    document_status: None,
                }
            }
        };
        r.decision = Some(d.verdict.to_string());
        accepted.push(r);
    }
    accepted.sort_by(|a, b| (&a.document, a.passage_id).cmp(&(&b.document, b.passage_id)));
    let limit = limit.max(accepted.len());
    accepted.append(results);
    accepted.truncate(limit);
    for (i, r) in accepted.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    *results = accepted;
    Ok(())
}

/// The precision a workspace's vectors were made in, read from the model id its vector store
/// records (`name@fingerprint+bf16`; f32 has no suffix); `None` when there are no vectors.
pub fn workspace_precision(ws: &Path) -> Option<controlmap_models::Precision> {
    let store = VectorStore::open(&ws.join(workspace::VECTORS), None).ok()?;
    Some(precision_of_model_id(store.model_id()))
}

fn precision_of_model_id(id: &str) -> controlmap_models::Precision {
    id.rsplit_once('+')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use controlmap_models::Precision;

    use super::*;

    #[test]
    fn the_precision_is_read_from_the_vectors_model_id() {
        assert_eq!(
            precision_of_model_id("all-MiniLM-L6-v2@53aa5117"),
            Precision::F32
        );
        assert_eq!(
            precision_of_model_id("all-MiniLM-L6-v2@53aa5117+bf16"),
            Precision::Bf16
        );
        assert_eq!(
            precision_of_model_id("all-MiniLM-L6-v2@53aa5117+int8"),
            Precision::Int8
        );
    }
}
