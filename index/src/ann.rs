//! Approximate nearest neighbours over a [`VectorStore`]: an HNSW graph (usearch) kept in
//! `vectors.hnsw` beside `vectors.bin`, used when the store is large enough for an exact
//! scan to be slow ([`MIN_VECTORS`]).
//!
//! Beside the graph, `vectors.hnsw.keys` lists the passage ids it holds (`u64`
//! little-endian) and `vectors.hnsw.json` says which store it was built for: the model, the
//! dimension and a digest of the ids. A graph whose digest does not match its store is not
//! used (search stays exact), so a run that died between writing the vectors and the graph
//! costs speed, never wrong answers.
//!
//! The graph stores vectors as f16: half the memory and disk of f32, and cosines within
//! about 1e-3 of the exact ones. A re-run that changes a few files removes and adds their
//! passages in the graph ([`sync`]); one that changes much of the store, or after removals
//! pile up, builds it again.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{Error, IdSet, Result, VectorHit, VectorStore};

/// Below this many vectors search is an exact scan: it takes a few milliseconds there, and
/// the graph would cost build time and disk for nothing.
pub const MIN_VECTORS: usize = 50_000;

/// Each node's links per layer (HNSW's M). 16 is the usual balance of recall and memory for
/// sentence embeddings of a few hundred dimensions.
const CONNECTIVITY: usize = 16;
/// Candidates kept while inserting (efConstruction): a better graph for a slower build.
const EXPANSION_ADD: usize = 128;
/// Candidates kept while searching (ef): 256 keeps recall@10 above 0.95 at a million
/// passages (docs/quality.md, Scale) for a few milliseconds; a search for more results than
/// this keeps as many as it asks for.
const EXPANSION_SEARCH: usize = 256;

/// A filter that lets through at most this many passages is searched exactly over them:
/// the graph would have to walk far to find enough of so few, and scoring them all is
/// cheaper than that.
const EXACT_FILTER_MAX: usize = 20_000;

/// Searches one mapped graph serves at once; more wait for exact search rather than fail.
const SEARCH_THREADS: usize = 64;

/// When more than this share of the graph's slots are removed passages, or a re-run changes
/// more than this share of the store, the graph is built again rather than patched.
const REBUILD_SHARE: f64 = 0.25;

/// What the graph file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    model_id: String,
    dim: usize,
    count: usize,
    ids_digest: u64,
    /// Slots of removed passages still in the graph.
    removed: usize,
}

/// The graph's three files, beside `vectors`.
fn paths(vectors: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let with = |ext: &str| vectors.with_extension(ext);
    (with("hnsw"), with("hnsw.keys"), with("hnsw.json"))
}

/// An order-independent digest of a set of ids.
fn digest(ids: impl Iterator<Item = u64>) -> u64 {
    ids.fold(0u64, |acc, id| {
        // splitmix64's finaliser, so that nearby ids do not cancel out.
        let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        acc.wrapping_add(z ^ (z >> 31))
    })
}

fn ann_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Vectors {
        path: path.to_path_buf(),
        reason: format!("approximate index: {e}"),
    }
}

fn options(dim: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::IP,
        quantization: ScalarKind::F16,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| ann_error(p, "the workspace path is not UTF-8"))
}

/// A graph opened for searching, memory-mapped.
pub struct Graph {
    index: Index,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("size", &self.index.size())
            .finish()
    }
}

impl Graph {
    /// The graph beside `store`'s file, when there is one built for exactly these vectors.
    pub fn open(store: &VectorStore) -> Result<Option<Graph>> {
        let (graph, _, meta) = paths(store.path());
        let Ok(text) = fs_err::read_to_string(&meta) else {
            return Ok(None);
        };
        let Ok(meta) = serde_json::from_str::<Meta>(&text) else {
            return Ok(None);
        };
        let ids = (0..store.len()).map(|i| store.id(i));
        if meta.model_id != store.model_id()
            || meta.dim != store.dim()
            || meta.count != store.len()
            || meta.ids_digest != digest(ids)
        {
            return Ok(None);
        }
        // A graph that cannot be opened (missing, truncated, another usearch's) is passed
        // over: search stays exact, and the next run builds it again.
        let Some(path) = graph.to_str() else {
            return Ok(None);
        };
        let Ok(index) = Index::new(&options(store.dim())) else {
            return Ok(None);
        };
        if index.view(path).is_err() || index.size() != store.len() {
            return Ok(None);
        }
        // One search context per thread that may search at once (the web UI searches from
        // many); usearch reserves only one per core when it maps a file.
        let _ = index.reserve_capacity_and_threads(index.size(), SEARCH_THREADS);
        Ok(Some(Graph { index }))
    }

    pub fn len(&self) -> usize {
        self.index.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` passages whose best dot product with any of `queries` is highest, among
    /// `allowed` when given (tested inside the graph walk). Approximate.
    pub fn search_max(
        &self,
        store: &VectorStore,
        queries: &[&[f32]],
        k: usize,
        allowed: Option<&IdSet>,
    ) -> Vec<VectorHit> {
        if let Some(a) = allowed
            && a.len() <= EXACT_FILTER_MAX
        {
            return store.search_max_among(queries, k, a);
        }
        // A search the graph refuses (no free search context, say) is made exactly.
        self.walk(queries, k, allowed)
            .unwrap_or_else(|| store.search_max(queries, k, allowed))
    }

    /// The graph search itself, the filter tested on each node it visits; `None` when
    /// usearch refuses a search.
    fn walk(
        &self,
        queries: &[&[f32]],
        k: usize,
        allowed: Option<&IdSet>,
    ) -> Option<Vec<VectorHit>> {
        let mut best: std::collections::HashMap<u64, f32> = Default::default();
        for q in queries {
            let found = match allowed {
                None => self.index.search(q, k),
                Some(a) => self.index.filtered_search(q, k, |key| a.contains(&key)),
            };
            let m = found.ok()?;
            for (key, distance) in m.keys.iter().zip(&m.distances) {
                let score = 1.0 - distance;
                let e = best.entry(*key).or_insert(f32::NEG_INFINITY);
                *e = e.max(score);
            }
        }
        let mut hits: Vec<VectorHit> = best
            .into_iter()
            .map(|(id, score)| VectorHit { id, score })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        Some(hits)
    }
}

/// What [`sync`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Synced {
    /// The store is below [`MIN_VECTORS`]: no graph (an old one is removed).
    Exact,
    /// The graph already matched the store.
    Unchanged,
    /// Built whole.
    Built { vectors: usize, secs: f64 },
    /// Patched: passages removed and added.
    Updated {
        added: usize,
        removed: usize,
        secs: f64,
    },
}

impl std::fmt::Display for Synced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Synced::Exact => write!(f, "exact search (under {MIN_VECTORS} passages)"),
            Synced::Unchanged => write!(f, "approximate index unchanged"),
            Synced::Built { vectors, secs } => {
                write!(
                    f,
                    "approximate index built: {vectors} passages in {secs:.1} s"
                )
            }
            Synced::Updated {
                added,
                removed,
                secs,
            } => write!(
                f,
                "approximate index updated: {added} passages added, {removed} removed in {secs:.1} s"
            ),
        }
    }
}

/// Brings the graph beside `store` up to date with it: nothing below [`MIN_VECTORS`], a
/// patch when few passages changed since the graph was written, else a new build.
pub fn sync(store: &VectorStore) -> Result<Synced> {
    sync_above(store, MIN_VECTORS)
}

/// [`sync`] at any size: for benchmarks and tests that compare the two searches on small
/// stores.
pub fn build_anyway(store: &VectorStore) -> Result<Synced> {
    sync_above(store, 1)
}

/// [`sync`] with another threshold than [`MIN_VECTORS`] (tests of a whole run use a small
/// one).
pub fn sync_above(store: &VectorStore, min_vectors: usize) -> Result<Synced> {
    let (graph_path, keys_path, meta_path) = paths(store.path());
    if store.len() < min_vectors {
        for p in [&meta_path, &graph_path, &keys_path] {
            if p.exists() {
                fs_err::remove_file(p)?;
            }
        }
        return Ok(Synced::Exact);
    }
    let started = Instant::now();
    let ids: Vec<u64> = (0..store.len()).map(|i| store.id(i)).collect();
    let want = Meta {
        model_id: store.model_id().to_string(),
        dim: store.dim(),
        count: ids.len(),
        ids_digest: digest(ids.iter().copied()),
        removed: 0,
    };
    let old: Option<(Meta, Vec<u64>)> = (|| {
        let meta: Meta = serde_json::from_str(&fs_err::read_to_string(&meta_path).ok()?).ok()?;
        let bytes = fs_err::read(&keys_path).ok()?;
        let keys: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        (meta.count == keys.len() && meta.ids_digest == digest(keys.iter().copied()))
            .then_some((meta, keys))
    })();
    let unchanged = old.as_ref().is_some_and(|(meta, _)| {
        Meta {
            removed: 0,
            ..meta.clone()
        } == want
    }) && Graph::open(store)?.is_some();
    if unchanged {
        return Ok(Synced::Unchanged);
    }
    // From here until the new meta is written, no meta: a run that dies midway leaves a graph
    // nobody uses (search exact) and the next run builds it whole, never a graph whose meta
    // describes other vectors.
    if meta_path.exists() {
        fs_err::remove_file(&meta_path)?;
    }
    let patch = old.and_then(|(meta, keys)| {
        if meta.model_id != want.model_id || meta.dim != want.dim {
            return None;
        }
        let now: IdSet = ids.iter().copied().collect();
        let before: IdSet = keys.iter().copied().collect();
        let removed: Vec<u64> = keys.into_iter().filter(|k| !now.contains(k)).collect();
        let added: Vec<usize> = (0..ids.len())
            .filter(|&i| !before.contains(&ids[i]))
            .collect();
        let slots = meta.removed + removed.len();
        let changed = (removed.len() + added.len()) as f64;
        (changed <= REBUILD_SHARE * ids.len() as f64
            && (slots as f64) <= REBUILD_SHARE * (ids.len() + slots) as f64)
            .then_some((removed, added, slots))
    });
    let threads = rayon::current_num_threads().max(1);
    // A graph that cannot be loaded and patched (damaged, another usearch's) is built whole.
    let patched = patch.and_then(|(removed, added, slots)| {
        let index = Index::new(&options(store.dim())).ok()?;
        index.load(graph_path.to_str()?).ok()?;
        for k in &removed {
            index.remove(*k).ok()?;
        }
        Some((index, added, slots, removed.len()))
    });
    // The rows to add, the removed passages' slots left in the graph, and for a patch how
    // many passages it removed.
    let (index, rows, removed_slots, patched_out) = match patched {
        Some((index, added, slots, removed)) => (index, added, slots, Some(removed)),
        None => (
            Index::new(&options(store.dim())).map_err(|e| ann_error(&graph_path, e))?,
            (0..ids.len()).collect(),
            0,
            None,
        ),
    };
    index
        .reserve_capacity_and_threads(index.size() + removed_slots + rows.len(), threads)
        .map_err(|e| ann_error(&graph_path, e))?;
    let data = store.data();
    let dim = store.dim();
    rows.par_iter().try_for_each(|&i| {
        index
            .add(ids[i], &data[i * dim..(i + 1) * dim])
            .map_err(|e| ann_error(&graph_path, e))
    })?;
    // Graph, keys, then the meta that says they belong together.
    let tmp = graph_path.with_extension("hnsw.tmp");
    index
        .save(path_str(&tmp)?)
        .map_err(|e| ann_error(&graph_path, e))?;
    fs_err::rename(&tmp, &graph_path)?;
    let mut key_bytes = Vec::with_capacity(ids.len() * 8);
    for id in &ids {
        key_bytes.extend_from_slice(&id.to_le_bytes());
    }
    write_atomic(&keys_path, &key_bytes)?;
    let meta = Meta {
        removed: removed_slots,
        ..want
    };
    write_atomic(
        &meta_path,
        serde_json::to_string_pretty(&meta)
            .expect("meta serialises")
            .as_bytes(),
    )?;
    let secs = started.elapsed().as_secs_f64();
    Ok(match patched_out {
        Some(removed) => Synced::Updated {
            added: rows.len(),
            removed,
            secs,
        },
        None => Synced::Built {
            vectors: ids.len(),
            secs,
        },
    })
}

/// Removes the graph beside `vectors` (its meta first): for a caller about to write vectors
/// that may differ under the same passage ids (re-embedded), which a patch, comparing ids
/// only, would not see.
pub fn discard(vectors: &Path) -> Result<()> {
    let (graph, keys, meta) = paths(vectors);
    for p in [meta, graph, keys] {
        if p.exists() {
            fs_err::remove_file(&p)?;
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs_err::write(&tmp, bytes)?;
    fs_err::rename(&tmp, path)?;
    Ok(())
}

/// A vector store and, when one was built for it, its graph: searches go through the graph
/// when there is one (see [`MIN_VECTORS`]), else they are exact.
#[derive(Debug)]
pub struct Dense {
    store: VectorStore,
    graph: Option<Graph>,
}

impl Dense {
    /// `store` with the graph beside its file, if one was built for exactly these vectors.
    pub fn open(store: VectorStore) -> Result<Self> {
        let graph = Graph::open(&store)?;
        Ok(Dense { store, graph })
    }

    /// `store` searched exactly, graph or not: the reference the graph is measured against.
    pub fn exact(store: VectorStore) -> Self {
        Dense { store, graph: None }
    }

    pub fn store(&self) -> &VectorStore {
        &self.store
    }

    /// Whether searches go through the graph.
    pub fn is_approximate(&self) -> bool {
        self.graph.is_some()
    }

    /// The `k` passages whose best dot product with any of `queries` is highest, among
    /// `allowed` when given: through the graph (the filter tested inside its walk) when
    /// there is one, else exact.
    pub fn search_max(
        &self,
        queries: &[&[f32]],
        k: usize,
        allowed: Option<&IdSet>,
    ) -> Vec<VectorHit> {
        match &self.graph {
            Some(g) if !self.store.is_empty() && !queries.is_empty() && k > 0 => {
                self.store.check_queries(queries);
                g.search_max(&self.store, queries, k, allowed)
            }
            _ => self.store.search_max(queries, k, allowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        }
        fn unit(&mut self, dim: usize) -> Vec<f32> {
            let v: Vec<f32> = (0..dim).map(|_| self.next()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        }
    }

    const DIM: usize = 32;

    fn store(dir: &Path, ids: &[u64], seed: u64) -> VectorStore {
        let mut rng = Rng(seed);
        let data: Vec<f32> = ids.iter().flat_map(|_| rng.unit(DIM)).collect();
        let path = dir.join("vectors.bin");
        VectorStore::write(&path, "m@1", DIM, ids, &data).unwrap();
        VectorStore::open(&path, None).unwrap()
    }

    #[test]
    fn the_graph_finds_what_exact_search_finds() {
        let d = tempfile::tempdir().unwrap();
        let ids: Vec<u64> = (0..3000).map(|i| i * 7 + 1).collect();
        let s = store(d.path(), &ids, 1);
        assert!(matches!(
            build_anyway(&s).unwrap(),
            Synced::Built { vectors: 3000, .. }
        ));
        let s = Dense::open(VectorStore::open(s.path(), None).unwrap()).unwrap();
        assert!(s.is_approximate());
        // Each stored vector finds itself first.
        for row in [0, 1234, 2999] {
            let v = s.store().vector(row);
            let hit = s.search_max(&[&v], 1, None)[0];
            assert_eq!(hit.id, s.store().id(row));
            assert!((hit.score - 1.0).abs() < 2e-3, "{}", hit.score);
        }
        let mut rng = Rng(99);
        let mut found = 0;
        for _ in 0..20 {
            let q = rng.unit(DIM);
            let exact: Vec<u64> = s
                .store()
                .search_max(&[&q], 10, None)
                .iter()
                .map(|h| h.id)
                .collect();
            let approx = s.search_max(&[&q], 10, None);
            found += approx.iter().filter(|h| exact.contains(&h.id)).count();
        }
        assert!(found >= 190, "recall@10 {found}/200");
    }

    #[test]
    fn filters_apply_inside_the_walk_and_over_few_ids() {
        let d = tempfile::tempdir().unwrap();
        let ids: Vec<u64> = (0..3000).collect();
        let s = store(d.path(), &ids, 2);
        build_anyway(&s).unwrap();
        let s = Dense::open(VectorStore::open(s.path(), None).unwrap()).unwrap();
        let g = s.graph.as_ref().unwrap();
        let even: IdSet = ids.iter().copied().filter(|i| i % 2 == 0).collect();
        let q = Rng(5).unit(DIM);
        let hits = g.walk(&[&q], 20, Some(&even)).unwrap();
        assert_eq!(hits.len(), 20);
        assert!(hits.iter().all(|h| h.id % 2 == 0));
        // The best even passage is found, as exact search over them finds it.
        let best = s.store().search_max(&[&q], 1, Some(&even))[0];
        assert_eq!(hits[0].id, best.id);
        // A narrow filter is scored exactly.
        let few: IdSet = [3, 30, 300].into_iter().collect();
        let hits = s.search_max(&[&q], 10, Some(&few));
        assert_eq!(hits.len(), 3);
        assert!(hits.iter().all(|h| few.contains(&h.id)));
    }

    #[test]
    fn a_re_run_patches_the_graph_and_a_stale_one_is_not_used() {
        let d = tempfile::tempdir().unwrap();
        let ids: Vec<u64> = (0..2000).collect();
        let s = store(d.path(), &ids, 3);
        build_anyway(&s).unwrap();
        assert_eq!(build_anyway(&s).unwrap(), Synced::Unchanged);

        // Ten passages replaced by ten new ones.
        let mut next = ids.clone();
        for (k, id) in next.iter_mut().take(10).enumerate() {
            *id = 10_000 + k as u64;
        }
        let s = store(d.path(), &next, 4);
        // Written but not synced: the graph is for other vectors, so search stays exact.
        let unsynced = Dense::open(VectorStore::open(s.path(), None).unwrap()).unwrap();
        assert!(!unsynced.is_approximate());
        match build_anyway(&s).unwrap() {
            Synced::Updated { added, removed, .. } => assert_eq!((added, removed), (10, 10)),
            other => panic!("{other}"),
        }
        let s = Dense::open(VectorStore::open(s.path(), None).unwrap()).unwrap();
        assert!(s.is_approximate());
        let row = 3; // one of the new passages
        let hit = s.search_max(&[&s.store().vector(row)], 1, None)[0];
        assert_eq!(hit.id, 10_003);
        // The replaced passages (ids 0 to 9) are gone from the graph.
        let near = s.search_max(&[&s.store().vector(row)], 50, None);
        assert!(near.iter().all(|h| h.id >= 10), "{near:?}");

        // Most of the store changed: built again rather than patched.
        let all_new: Vec<u64> = (50_000..52_000).collect();
        let s = store(d.path(), &all_new, 5);
        assert!(matches!(build_anyway(&s).unwrap(), Synced::Built { .. }));
    }

    #[test]
    fn a_small_store_has_no_graph() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path(), &[1, 2, 3], 6);
        build_anyway(&s).unwrap();
        assert!(d.path().join("vectors.hnsw").exists());
        assert_eq!(sync(&s).unwrap(), Synced::Exact);
        for f in ["vectors.hnsw", "vectors.hnsw.keys", "vectors.hnsw.json"] {
            assert!(!d.path().join(f).exists(), "{f}");
        }
    }
}
