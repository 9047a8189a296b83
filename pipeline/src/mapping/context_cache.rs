//! The vectors of the passages' heading paths, kept in the workspace between runs
//! (`contexts.bin`), so that a re-run embeds only the headings it has not seen before.
//!
//! The mapper reads each passage's heading path as context; embedding every distinct one again
//! on each run cost a re-run of an unchanged 1,500-file folder (9,000 heading paths) 65 of its
//! 66 seconds. The file is a [`VectorStore`] whose ids are the first 8 bytes of each heading
//! path's SHA-256, written for one model: a file of another model, or one that cannot be read,
//! is ignored and rewritten (it can always be rebuilt from the policy folder).

use std::collections::HashMap;
use std::path::Path;

use controlmap_index::VectorStore;
use controlmap_models::Embeddings;
use sha2::{Digest, Sha256};

/// Heading-path vectors by the key of their text; what [`crate::mapping::Contexts::embed`] reuses
/// and refreshes.
#[derive(Debug, Default)]
pub struct ContextCache {
    vectors: HashMap<u64, Vec<f32>>,
    /// Of the distinct contexts of the last embedding: how many were found here, and how many
    /// had to be embedded.
    pub reused: usize,
    pub embedded: usize,
}

impl ContextCache {
    /// The key of a context's text.
    pub fn key(text: &str) -> u64 {
        let digest = Sha256::digest(text.as_bytes());
        u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 has 32 bytes"))
    }

    /// The vector kept for `text`, if it has `dim` floats.
    pub fn get(&self, text: &str, dim: usize) -> Option<&[f32]> {
        self.vectors
            .get(&Self::key(text))
            .map(Vec::as_slice)
            .filter(|v| v.len() == dim)
    }

    /// Keeps exactly these contexts and their vectors (row `i` of `vectors` for `texts[i]`),
    /// so that headings no passage has any more are dropped.
    pub fn replace(&mut self, texts: &[&str], vectors: &Embeddings) {
        self.vectors = texts
            .iter()
            .zip(vectors.rows())
            .map(|(t, v)| (Self::key(t), v.to_vec()))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The contexts kept in `workspace` for `model_id`; empty when there are none, they were
    /// written by another model, or the file cannot be read.
    pub fn load(workspace: &Path, model_id: &str) -> Self {
        let Ok(store) =
            VectorStore::open(&workspace.join(crate::workspace::CONTEXTS), Some(model_id))
        else {
            return Self::default();
        };
        let vectors = (0..store.len())
            .map(|i| (store.id(i), store.vector(i)))
            .collect();
        Self {
            vectors,
            ..Self::default()
        }
    }

    /// Writes the contexts kept (atomically) for `model_id`; with none, removes the file.
    pub fn save(&self, workspace: &Path, model_id: &str) -> controlmap_index::Result<()> {
        let path = workspace.join(crate::workspace::CONTEXTS);
        let Some(dim) = self.vectors.values().next().map(Vec::len) else {
            if path.exists() {
                fs_err::remove_file(&path)?;
            }
            return Ok(());
        };
        let mut keys: Vec<u64> = self.vectors.keys().copied().collect();
        keys.sort_unstable();
        let data: Vec<f32> = keys
            .iter()
            .flat_map(|k| self.vectors[k].iter().copied())
            .collect();
        VectorStore::write(&path, model_id, dim, &keys, &data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_contexts_round_trip_for_their_model_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = ContextCache::default();
        let vectors = Embeddings::new(2, vec![1.0, 0.0, 0.6, 0.8]);
        cache.replace(&["Purpose", "Scope"], &vectors);
        cache.save(dir.path(), "m@1").unwrap();

        let again = ContextCache::load(dir.path(), "m@1");
        assert_eq!(again.len(), 2);
        assert_eq!(again.get("Scope", 2), Some(&[0.6, 0.8][..]));
        assert_eq!(
            again.get("Scope", 3),
            None,
            "another dimension is not reused"
        );
        assert_eq!(again.get("Roles", 2), None);
        assert!(ContextCache::load(dir.path(), "other@2").is_empty());

        // A damaged file is ignored (and rewritten by the next save), never an error.
        std::fs::write(
            dir.path().join(crate::workspace::CONTEXTS),
            b"CMVEC001 truncated",
        )
        .unwrap();
        assert!(ContextCache::load(dir.path(), "m@1").is_empty());

        // Keeping nothing removes the file.
        ContextCache::default().save(dir.path(), "m@1").unwrap();
        assert!(!dir.path().join(crate::workspace::CONTEXTS).exists());
    }
}
