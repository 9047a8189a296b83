//! Labelled passages: read from an item file (`{"items": [{"id", "text", "annex_a": [...]}]}`)
//! and embedded, for scoring (`eval --gold`) and for the mapper to learn from (`--learn`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use controlmap_models::{Embedder, Embeddings};
use serde::{Deserialize, Serialize};

use super::ItemFile;
use crate::error::{Context, Result, user_error};
use crate::mapping::Origin;

/// A file the mapper learned from, and how many labelled items it gave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnedFrom {
    pub file: String,
    pub items: usize,
}

/// Labelled passages as the mapper learns from them: vectors, and each one's controls.
pub struct Labelled {
    pub vectors: Embeddings,
    pub labels: Vec<Vec<usize>>,
    /// Each row's origin: public documents' or the organisation's own.
    pub origins: Vec<Origin>,
}

impl Labelled {
    pub fn empty(dim: usize) -> Self {
        Self {
            vectors: Embeddings::new(dim, Vec::new()),
            labels: Vec::new(),
            origins: Vec::new(),
        }
    }

    /// Reads a labelled-item file (`eval --gold`'s format) and embeds its texts: the
    /// organisation's own labels.
    pub fn load(
        path: &Path,
        embedder: &dyn Embedder,
        index_of: &HashMap<&str, usize>,
    ) -> Result<Self> {
        let file = read_items(path)?;
        let texts: Vec<&str> = file.items.iter().map(|i| i.text.as_str()).collect();
        Ok(Self {
            vectors: embedder.embed(&texts)?,
            labels: item_labels(&file, path, index_of)?,
            origins: vec![Origin::Own; texts.len()],
        })
    }

    /// How many of the items carry a label (the others teach nothing).
    pub fn labelled(&self) -> usize {
        self.labels.iter().filter(|l| !l.is_empty()).count()
    }

    pub fn extend(&mut self, other: &Labelled) {
        let mut data = self.vectors.as_slice().to_vec();
        data.extend_from_slice(other.vectors.as_slice());
        self.vectors = Embeddings::new(other.vectors.dim(), data);
        self.labels.extend(other.labels.iter().cloned());
        self.origins.extend(other.origins.iter().copied());
    }

    /// Adds these rows of `vectors`, labelled by `labels`, all of one origin.
    pub fn extend_rows(
        &mut self,
        vectors: &Embeddings,
        labels: &[Vec<usize>],
        rows: impl IntoIterator<Item = usize>,
        origin: Origin,
    ) {
        let mut data = self.vectors.as_slice().to_vec();
        for i in rows {
            data.extend_from_slice(vectors.row(i));
            self.labels.push(labels[i].clone());
            self.origins.push(origin);
        }
        self.vectors = Embeddings::new(vectors.dim(), data);
    }
}

/// Each control ID's position in catalog order (the mapper's column).
pub fn control_index(ids: &[String]) -> HashMap<&str, usize> {
    ids.iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect()
}

/// Loads the `--learn` files (for [`crate::mapping::Mapper::learn`]): their items, and how many labelled
/// items each gave.
pub fn load_labelled(
    paths: &[PathBuf],
    embedder: &dyn Embedder,
    index_of: &HashMap<&str, usize>,
) -> Result<(Labelled, Vec<LearnedFrom>)> {
    let mut all = Labelled::empty(embedder.dim());
    let mut from = Vec::new();
    for path in paths {
        let l = Labelled::load(path, embedder, index_of)?;
        if l.labelled() == 0 {
            user_error!(
                "{}: no item names a control, so there is nothing to learn",
                path.display()
            );
        }
        from.push(LearnedFrom {
            file: path.display().to_string(),
            items: l.labelled(),
        });
        all.extend(&l);
    }
    Ok((all, from))
}

pub fn read_items(path: &Path) -> Result<ItemFile> {
    let text = fs_err::read_to_string(path)?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an item file ({{\"items\": [{{\"id\", \"text\", \"annex_a\": [control IDs]}}]}})",
            path.display()
        )
    })
}

pub fn item_labels(
    file: &ItemFile,
    path: &Path,
    index_of: &HashMap<&str, usize>,
) -> Result<Vec<Vec<usize>>> {
    file.items
        .iter()
        .map(|i| {
            gold_indices(
                &i.annex_a,
                index_of,
                &format!("{} item {}", path.display(), i.id),
            )
        })
        .collect()
}

pub fn gold_indices(
    controls: &[String],
    index_of: &HashMap<&str, usize>,
    source: &str,
) -> Result<Vec<usize>> {
    controls
        .iter()
        .map(|c| {
            index_of
                .get(c.as_str())
                .copied()
                .with_context(|| format!("{source}: unknown control {c}"))
        })
        .collect()
}
