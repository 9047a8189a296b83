//! Labelled vectors: passages of real documents kept as the model's vectors with their labels
//! (`corpora/real`: `labels.jsonl`, `vectors.npy`, `vectors.json`), never as text. Read from a
//! folder for `eval --vectors`, or from the copy built into the binary, which the default
//! mapper learns from.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use controlmap_models::Embeddings;
use serde::Deserialize;

use crate::{
    error::{Context, Result, user_error},
    eval::labels::{Labelled, gold_indices},
    mapping::Origin,
};

/// The built-in labelled corpus (see corpora/real/README.md).
const BUILTIN_LABELS: &str = include_str!("../../../corpora/real/labels.jsonl");
const BUILTIN_VECTORS: &[u8] = include_bytes!("../../../corpora/real/vectors.npy");
const BUILTIN_MADE_BY: &str = include_str!("../../../corpora/real/vectors.json");
/// What the built-in corpus is called in reports and notes.
pub const BUILTIN_NAME: &str = "corpora/real (built in)";
/// The framework whose control IDs the built-in labels name.
pub const BUILTIN_FRAMEWORK: &str = "iso42001-annex-a";

/// Whether two model ids name the same weights, whatever precision each runs in (the id's
/// `+bf16` / `+int8` suffix).
pub fn same_weights(a: &str, b: &str) -> bool {
    let weights = |id: &str| id.split('+').next().unwrap_or_default().to_string();
    weights(a) == weights(b)
}

/// One labelled passage: which document, where in it, and the controls it is evidence for
/// (none: evidence for nothing).
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub doc_id: String,
    pub passage_index: usize,
    pub sha256: String,
    pub labels: Vec<String>,
}

/// What made the vectors (`vectors.json`).
#[derive(Debug, Clone, Deserialize)]
struct MadeBy {
    model_id: String,
    dim: usize,
    rows: usize,
}

/// A labelled corpus as vectors: one row of `vectors` per entry of `rows`.
#[derive(Debug, Clone)]
pub struct LabelledVectors {
    /// The folder it was read from, or [`BUILTIN_NAME`].
    pub name: String,
    /// The model the vectors are of (`model id@revision`).
    pub model_id: String,
    pub vectors: Embeddings,
    pub rows: Vec<Row>,
}

impl LabelledVectors {
    /// Reads `labels.jsonl`, `vectors.npy` and `vectors.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |f: &str| fs_err::read(dir.join(f));
        let labels = String::from_utf8(read("labels.jsonl")?)
            .ok()
            .with_context(|| format!("{}/labels.jsonl is not UTF-8", dir.display()))?;
        Self::parse(
            &dir.display().to_string(),
            &labels,
            &read("vectors.npy")?,
            &String::from_utf8_lossy(&read("vectors.json")?),
        )
    }

    /// The copy built into the binary.
    pub fn builtin() -> Self {
        Self::parse(
            BUILTIN_NAME,
            BUILTIN_LABELS,
            BUILTIN_VECTORS,
            BUILTIN_MADE_BY,
        )
        .expect("the built-in labelled corpus is checked by its tests")
    }

    fn parse(name: &str, labels: &str, npy: &[u8], made_by: &str) -> Result<Self> {
        let made_by: MadeBy = serde_json::from_str(made_by).with_context(|| {
            format!("{name}: vectors.json does not say which model made the vectors (model_id, dim, rows)")
        })?;
        let rows: Vec<Row> = labels
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .with_context(|| format!("{name}: labels.jsonl line {}", i + 1))
            })
            .collect::<Result<_>>()?;
        let (dim, data) =
            read_npy(npy).with_context(|| format!("{name}: vectors.npy is not readable"))?;
        if dim != made_by.dim || data.len() != made_by.rows * dim || made_by.rows != rows.len() {
            user_error!(
                "{name}: vectors.npy holds {} rows of {dim}, vectors.json says {} of {}, labels.jsonl has {} lines; rebuild the vectors (corpora/real/rebuild)",
                data.len() / dim.max(1),
                made_by.rows,
                made_by.dim,
                rows.len()
            );
        }
        Ok(Self {
            name: name.to_string(),
            model_id: made_by.model_id,
            vectors: Embeddings::new(dim, data),
            rows,
        })
    }

    /// Whether these vectors are of the model `model_id` names, in any precision: the same
    /// weights in bfloat16 or int8 (`…+bf16`, `…+int8`) give vectors within cosine 0.99 of
    /// float32's, in the same space (what that costs is measured: docs/precision.md).
    pub fn fits_model(&self, model_id: &str) -> bool {
        same_weights(&self.model_id, model_id)
    }

    /// Refuses vectors another model made: they live in another space, and every comparison
    /// with this model's vectors would be noise. The same model in another precision is
    /// accepted ([`Self::fits_model`]).
    pub fn check_model(&self, model_id: &str) -> Result<()> {
        if !self.fits_model(model_id) {
            user_error!(
                "{} holds vectors of {}, but the model is {model_id}; embed the documents again with this model (corpora/real/rebuild DOCS_DIR --model DIR)",
                self.name,
                self.model_id
            );
        }
        Ok(())
    }

    /// Each row's controls as catalog indices; a control the catalog lacks is an error.
    pub fn labels(&self, index_of: &HashMap<&str, usize>) -> Result<Vec<Vec<usize>>> {
        self.rows
            .iter()
            .map(|r| {
                gold_indices(
                    &r.labels,
                    index_of,
                    &format!("{} {}#{}", self.name, r.doc_id, r.passage_index),
                )
            })
            .collect()
    }

    /// The documents, in order of first appearance, and each row's document index.
    pub fn documents(&self) -> (Vec<&str>, Vec<usize>) {
        let mut names: Vec<&str> = Vec::new();
        let mut of = HashMap::new();
        let group = self
            .rows
            .iter()
            .map(|r| {
                *of.entry(r.doc_id.as_str()).or_insert_with(|| {
                    names.push(&r.doc_id);
                    names.len() - 1
                })
            })
            .collect();
        (names, group)
    }

    /// The labelled rows as the mapper learns them, less those of the documents in `leave_out`
    /// (so that a document scored never teaches itself).
    pub fn lessons(
        &self,
        index_of: &HashMap<&str, usize>,
        leave_out: &BTreeSet<&str>,
    ) -> Result<Labelled> {
        let labels = self.labels(index_of)?;
        let mut out = Labelled::empty(self.vectors.dim());
        out.extend_rows(
            &self.vectors,
            &labels,
            (0..self.rows.len()).filter(|&i| !leave_out.contains(self.rows[i].doc_id.as_str())),
            Origin::Public,
        );
        Ok(out)
    }
}

/// A NumPy `.npy` file of little-endian f32 in C order, two dimensions: (columns, data).
fn read_npy(bytes: &[u8]) -> Result<(usize, Vec<f32>)> {
    let Some(rest) = bytes.strip_prefix(b"\x93NUMPY") else {
        user_error!("not a .npy file");
    };
    let (major, rest) = rest.split_at(2.min(rest.len()));
    let (len, rest) = match major.first() {
        Some(1) if rest.len() >= 2 => (u16::from_le_bytes([rest[0], rest[1]]) as usize, &rest[2..]),
        Some(2 | 3) if rest.len() >= 4 => (
            u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize,
            &rest[4..],
        ),
        _ => user_error!("unknown .npy version"),
    };
    if rest.len() < len {
        user_error!("the .npy header is cut short");
    }
    let (header, data) = rest.split_at(len);
    let header = String::from_utf8_lossy(header).replace(' ', "");
    if !header.contains("'descr':'<f4'") || !header.contains("'fortran_order':False") {
        user_error!("expected little-endian float32 in C order, found {header}");
    }
    let shape = header
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .context("the .npy header has no shape")?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok().context("the .npy shape is not numbers"))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        user_error!("expected a two-dimensional array, found shape ({shape})");
    };
    if data.len() != rows * cols * 4 {
        user_error!(
            "the .npy data holds {} bytes, its shape ({rows}, {cols}) needs {}",
            data.len(),
            rows * cols * 4
        );
    }
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((cols, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{catalog::Catalog, eval::labels::control_index};

    #[test]
    fn the_builtin_corpus_loads_with_one_unit_vector_per_label() {
        let v = LabelledVectors::builtin();
        assert_eq!(v.vectors.len(), v.rows.len());
        assert_eq!(v.vectors.dim(), 384);
        assert!(v.rows.len() >= 800, "{}", v.rows.len());
        assert!(
            v.model_id
                .starts_with("sentence-transformers/all-MiniLM-L6-v2@")
        );
        for row in v.vectors.rows() {
            let norm: f32 = row.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-3, "{norm}");
        }
        let ids: Vec<String> = Catalog::builtin()
            .controls()
            .map(|(_, c)| c.id.clone())
            .collect();
        let labels = v.labels(&control_index(&ids)).unwrap();
        let labelled = labels.iter().filter(|l| !l.is_empty()).count();
        assert!(labelled >= 600 && labelled < labels.len(), "{labelled}");
        let (docs, group) = v.documents();
        assert!(docs.len() >= 40);
        assert_eq!(group.len(), v.rows.len());
        // Leaving a document out leaves out exactly its rows.
        let first: BTreeSet<&str> = [docs[0]].into();
        let own = group.iter().filter(|&&g| g == 0).count();
        let rest = v.lessons(&control_index(&ids), &first).unwrap();
        assert_eq!(rest.labels.len(), v.rows.len() - own);
    }

    #[test]
    fn vectors_of_another_model_or_a_broken_file_are_refused() {
        let v = LabelledVectors::builtin();
        v.check_model(&v.model_id.clone()).unwrap();
        let e = v.check_model("someone/else@1").unwrap_err().to_string();
        assert!(e.contains("someone/else@1") && e.contains("rebuild"), "{e}");
        // The same weights in another precision are the same model; other weights are not.
        v.check_model(&format!("{}+int8", v.model_id)).unwrap();
        assert!(v.fits_model(&format!("{}+bf16", v.model_id)));
        assert!(!v.fits_model(&format!("{}0+int8", v.model_id)));

        let dir = tempfile::tempdir().unwrap();
        let write = |f: &str, b: &[u8]| fs_err::write(dir.path().join(f), b).unwrap();
        write("labels.jsonl", BUILTIN_LABELS.as_bytes());
        write("vectors.json", BUILTIN_MADE_BY.as_bytes());
        write("vectors.npy", BUILTIN_VECTORS);
        let read = LabelledVectors::load(dir.path()).unwrap();
        assert_eq!(read.vectors.as_slice(), v.vectors.as_slice());
        // One label line fewer than rows of vectors.
        let short: String = BUILTIN_LABELS
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect();
        write("labels.jsonl", short.as_bytes());
        let e = LabelledVectors::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("rebuild"), "{e}");
        write("labels.jsonl", BUILTIN_LABELS.as_bytes());
        write("vectors.npy", &BUILTIN_VECTORS[..BUILTIN_VECTORS.len() - 4]);
        let e = LabelledVectors::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("vectors.npy"), "{e}");
    }
}
