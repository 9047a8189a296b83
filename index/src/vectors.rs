//! Passage vectors in one file that is memory-mapped, not read whole.
//!
//! Layout (little-endian): a 64-byte-aligned header — magic `CMVEC001`, `u32` dimension,
//! `u32` model-id length, `u64` row count, the model id (UTF-8), zero padding — then
//! `count` `u64` passage ids, then `count × dim` `f32` values, row-major.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use memmap2::Mmap;
use rayon::prelude::*;

use crate::{
    Error, Result,
    ids::{IdHasher, IdSet},
};

const MAGIC: &[u8; 8] = b"CMVEC001";
const ALIGN: usize = 64;

/// A passage and its similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    pub id: u64,
    pub score: f32,
}

/// Row numbers by passage id.
type Rows = HashMap<u64, u32, std::hash::BuildHasherDefault<IdHasher>>;

/// A read-only, memory-mapped set of vectors with the passage ids they belong to.
#[derive(Debug)]
pub struct VectorStore {
    path: PathBuf,
    map: Option<Mmap>,
    model_id: String,
    dim: usize,
    count: usize,
    ids_at: usize,
    data_at: usize,
    /// Built on first use, by the searches that look rows up by id.
    rows: OnceLock<Rows>,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Vectors {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn header_len(model_id: &str) -> usize {
    (24 + model_id.len()).div_ceil(ALIGN) * ALIGN
}

impl VectorStore {
    /// Writes `ids.len()` vectors of `dim` floats, atomically: a reader sees the old file or
    /// the new one, never half of one.
    pub fn write(path: &Path, model_id: &str, dim: usize, ids: &[u64], data: &[f32]) -> Result<()> {
        if dim == 0 || data.len() != ids.len() * dim {
            return Err(bad(
                path,
                format!(
                    "{} floats for {} ids of dimension {dim}",
                    data.len(),
                    ids.len()
                ),
            ));
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::io::BufWriter::new(fs_err::File::create(&tmp)?);
        let mut header = Vec::with_capacity(header_len(model_id));
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(dim as u32).to_le_bytes());
        header.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
        header.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        header.extend_from_slice(model_id.as_bytes());
        header.resize(header_len(model_id), 0);
        f.write_all(&header)?;
        for id in ids {
            f.write_all(&id.to_le_bytes())?;
        }
        for x in data {
            f.write_all(&x.to_le_bytes())?;
        }
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        fs_err::rename(&tmp, path)?;
        Ok(())
    }

    /// Opens a vector file. With `expected_model`, a file written by another model is an
    /// error that says to re-embed.
    pub fn open(path: &Path, expected_model: Option<&str>) -> Result<Self> {
        let file = fs_err::File::open(path)?;
        // SAFETY: the file is only ever replaced by rename, never written in place, so the
        // mapped bytes do not change under us.
        let map = unsafe { Mmap::map(file.file()) }?;
        if map.len() < 24 || &map[..8] != MAGIC {
            return Err(bad(path, "not a controlmap vector file (bad magic)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(map[o..o + 4].try_into().unwrap()) as usize;
        let dim = u32_at(8);
        let id_len = u32_at(12);
        let count = u64::from_le_bytes(map[16..24].try_into().unwrap()) as usize;
        if map.len() < 24 + id_len {
            return Err(bad(path, "truncated header"));
        }
        let model_id = std::str::from_utf8(&map[24..24 + id_len])
            .map_err(|_| bad(path, "model id is not UTF-8"))?
            .to_string();
        let ids_at = header_len(&model_id);
        let data_at = ids_at + count * 8;
        let expected_len = data_at + count * dim * 4;
        if dim == 0 || map.len() != expected_len {
            return Err(bad(
                path,
                format!("size {} bytes, expected {expected_len}", map.len()),
            ));
        }
        if let Some(expected) = expected_model.filter(|e| *e != model_id) {
            return Err(Error::ModelMismatch {
                path: path.to_path_buf(),
                found: model_id,
                expected: expected.to_string(),
            });
        }
        // An empty map cannot be created on some platforms; keep None for zero rows.
        let map = (count > 0).then_some(map);
        Ok(Self {
            path: path.to_path_buf(),
            map,
            model_id,
            dim,
            count,
            ids_at,
            data_at,
            rows: OnceLock::new(),
        })
    }

    /// Queries of another length than the vectors' are a caller's bug.
    pub(crate) fn check_queries(&self, queries: &[&[f32]]) {
        for q in queries {
            assert_eq!(q.len(), self.dim, "query dimension");
        }
    }

    /// Row numbers by passage id, built once.
    pub(crate) fn rows_by_id(&self) -> &Rows {
        self.rows.get_or_init(|| {
            let mut rows = Rows::with_capacity_and_hasher(self.count, Default::default());
            for i in 0..self.count {
                rows.insert(self.id(i), i as u32);
            }
            rows
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The passage id of row `i`.
    pub fn id(&self, i: usize) -> u64 {
        let m = self.map.as_ref().expect("row of an empty store");
        let o = self.ids_at + i * 8;
        u64::from_le_bytes(m[o..o + 8].try_into().unwrap())
    }

    /// Row `i`'s vector (copied out: the file's floats need not be aligned for `f32`).
    pub fn vector(&self, i: usize) -> Vec<f32> {
        let m = self.map.as_ref().expect("row of an empty store");
        let o = self.data_at + i * self.dim * 4;
        m[o..o + self.dim * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    /// All vectors as one row-major slice (empty for an empty store).
    pub fn data(&self) -> &[f32] {
        let Some(m) = &self.map else { return &[] };
        let bytes = &m[self.data_at..self.data_at + self.count * self.dim * 4];
        // SAFETY: any bit pattern is a valid f32; the map is page-aligned and `data_at` is a
        // multiple of 8, so `align_to` yields no prefix (checked below). The file is written
        // little-endian, which is what this host reads (see the compile-time check above).
        let (pre, floats, post) = unsafe { bytes.align_to::<f32>() };
        assert!(pre.is_empty() && post.is_empty(), "vector data is aligned");
        floats
    }

    /// The `k` rows with the highest dot product with `query` (cosine, for unit vectors),
    /// best first. Exact search over every row.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<VectorHit> {
        self.search_max(&[query], k, None)
    }

    /// The `k` rows whose best dot product with any of `queries` is highest, among the ids in
    /// `allowed` when given. Exact: every row scored, in parallel (or, for a narrow filter,
    /// only the allowed rows); [`crate::ann::Dense`] goes through a graph when there is one.
    pub fn search_max(
        &self,
        queries: &[&[f32]],
        k: usize,
        allowed: Option<&IdSet>,
    ) -> Vec<VectorHit> {
        self.check_queries(queries);
        if self.count == 0 || queries.is_empty() || k == 0 {
            return Vec::new();
        }
        if let Some(a) = allowed
            && a.len() < self.count / 8
        {
            // A narrow filter: look its rows up rather than test every row.
            return self.search_max_among(queries, k, a);
        }
        let data = self.data();
        let mut hits: Vec<VectorHit> = data
            .par_chunks_exact(self.dim)
            .enumerate()
            .filter_map(|(i, row)| {
                let id = self.id(i);
                if allowed.is_some_and(|a| !a.contains(&id)) {
                    return None;
                }
                let score = queries
                    .iter()
                    .map(|q| dot(row, q))
                    .fold(f32::NEG_INFINITY, f32::max);
                Some(VectorHit { id, score })
            })
            .collect();
        let k = k.min(hits.len());
        if k == 0 {
            return Vec::new();
        }
        hits.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits
    }

    /// Exact search among the `allowed` ids only, looked up by id rather than scanning
    /// every row.
    pub fn search_max_among(
        &self,
        queries: &[&[f32]],
        k: usize,
        allowed: &IdSet,
    ) -> Vec<VectorHit> {
        let rows = self.rows_by_id();
        let data = self.data();
        let dim = self.dim();
        let mut hits: Vec<VectorHit> = allowed
            .par_iter()
            .filter_map(|id| {
                let &row = rows.get(id)?;
                let v = &data[row as usize * dim..(row as usize + 1) * dim];
                let score = queries
                    .iter()
                    .map(|q| dot(v, q))
                    .fold(f32::NEG_INFINITY, f32::max);
                Some(VectorHit { id: *id, score })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        hits
    }
}

/// Dot product in eight independent lanes, which the compiler turns into SIMD.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_endian = "big")]
compile_error!(
    "the vector file is little-endian and read in place; big-endian hosts are not supported"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_ids_and_vectors() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.bin");
        let data = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        VectorStore::write(&p, "m@1", 2, &[10, 20, 30], &data).unwrap();
        let s = VectorStore::open(&p, Some("m@1")).unwrap();
        assert_eq!((s.len(), s.dim(), s.model_id()), (3, 2, "m@1"));
        assert_eq!(s.id(2), 30);
        assert_eq!(s.vector(2), vec![0.6, 0.8]);
        let hits = s.search(&[0.0, 1.0], 2);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![20, 30]);
        assert!((hits[1].score - 0.8).abs() < 1e-6);
    }

    #[test]
    fn another_model_is_refused_with_advice() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.bin");
        VectorStore::write(&p, "old-model", 1, &[1], &[1.0]).unwrap();
        let err = VectorStore::open(&p, Some("new-model"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("old-model") && err.contains("re-embed"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.bin");
        std::fs::write(&p, b"hello").unwrap();
        assert!(
            VectorStore::open(&p, None)
                .unwrap_err()
                .to_string()
                .contains("bad magic")
        );
        VectorStore::write(&p, "m", 2, &[1, 2], &[0.0; 4]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&p, bytes).unwrap();
        assert!(
            VectorStore::open(&p, None)
                .unwrap_err()
                .to_string()
                .contains("expected")
        );
    }

    #[test]
    fn filtered_multi_query_search() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.bin");
        let data = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        VectorStore::write(&p, "m", 2, &[10, 20, 30], &data).unwrap();
        let s = VectorStore::open(&p, None).unwrap();
        // Best of two queries: row 10 matches the first exactly, row 20 the second.
        let hits = s.search_max(&[&[1.0, 0.0], &[0.0, 1.0]], 3, None);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>()[2], 30);
        assert!((hits[0].score - 1.0).abs() < 1e-6 && (hits[1].score - 1.0).abs() < 1e-6);
        let allowed: IdSet = [30].into_iter().collect();
        let hits = s.search_max(&[&[1.0, 0.0]], 3, Some(&allowed));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, 30);
    }

    #[test]
    fn dot_matches_naive_for_odd_lengths() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn empty_store_opens_and_finds_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.bin");
        VectorStore::write(&p, "m", 3, &[], &[]).unwrap();
        let s = VectorStore::open(&p, None).unwrap();
        assert!(s.is_empty() && s.search(&[1.0, 0.0, 0.0], 5).is_empty());
    }
}
