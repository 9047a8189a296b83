//! What a passage is read in: its heading path (or an item's category), embedded once per
//! distinct text, and the section that makes passages neighbours.

use controlmap_models::{Embedder, Embeddings};

use crate::ingest::chunk::Passage;

/// Context for the passages being scored: vectors of their contexts (heading paths, or an
/// item's category), shared by passages with the same context.
pub struct Contexts {
    pub(super) vectors: Option<Embeddings>,
    /// Each passage's row in `vectors`.
    pub(super) of: Vec<Option<usize>>,
}

impl Contexts {
    /// No passage has a context.
    pub fn none(n: usize) -> Self {
        Self {
            vectors: None,
            of: vec![None; n],
        }
    }

    /// Embeds each distinct context once, taking those `cache` holds from it, and leaves in
    /// `cache` exactly these contexts' vectors.
    pub fn embed(
        embedder: &dyn Embedder,
        contexts: &[Option<String>],
        cache: &mut crate::mapping::context_cache::ContextCache,
    ) -> controlmap_models::Result<Self> {
        let mut distinct: Vec<&str> = Vec::new();
        let mut row_of = std::collections::HashMap::new();
        let of = contexts
            .iter()
            .map(|c| {
                let c = c.as_deref()?.trim();
                if c.is_empty() {
                    return None;
                }
                Some(*row_of.entry(c).or_insert_with(|| {
                    distinct.push(c);
                    distinct.len() - 1
                }))
            })
            .collect();
        let dim = embedder.dim();
        let missing: Vec<&str> = distinct
            .iter()
            .copied()
            .filter(|c| cache.get(c, dim).is_none())
            .collect();
        let fresh = if missing.is_empty() {
            Embeddings::new(dim, Vec::new())
        } else {
            embedder.embed(&missing)?
        };
        let mut data = Vec::with_capacity(distinct.len() * dim);
        let mut fresh_rows = fresh.rows();
        for c in &distinct {
            match cache.get(c, dim) {
                Some(v) => data.extend_from_slice(v),
                None => data.extend_from_slice(fresh_rows.next().expect("one row per missing")),
            }
        }
        let vectors = Embeddings::new(dim, data);
        cache.replace(&distinct, &vectors);
        cache.reused = distinct.len() - missing.len();
        cache.embedded = missing.len();
        let vectors = (!distinct.is_empty()).then_some(vectors);
        Ok(Self { vectors, of })
    }
}

/// What the mapper scores: passage vectors and texts, their contexts, and the section each
/// belongs to (passages next to each other with the same section are neighbours).
pub struct Batch<'a> {
    pub vectors: &'a Embeddings,
    pub texts: &'a [&'a str],
    pub contexts: &'a Contexts,
    pub sections: &'a [Option<u64>],
}

/// The section key of a passage: its document and heading path.
pub fn section_key(p: &Passage) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&p.document, &p.headings).hash(&mut h);
    Some(h.finish())
}

/// A passage's context: its heading path, else its document's title.
pub fn context_of(p: &Passage) -> String {
    if p.headings.is_empty() {
        p.title.clone()
    } else {
        p.headings.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use controlmap_models::{BertEmbedder, DeviceChoice, testing::TinyModel};

    use super::*;
    use crate::mapping::context_cache::ContextCache;

    fn tiny() -> (tempfile::TempDir, BertEmbedder) {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        let e = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        (dir, e)
    }

    #[test]
    fn contexts_kept_from_the_last_run_are_reused_not_embedded_again() {
        let (_dir, e) = tiny();
        let ctx = |texts: &[&str]| -> Vec<Option<String>> {
            texts.iter().map(|t| Some(t.to_string())).collect()
        };
        let mut cache = ContextCache::default();
        Contexts::embed(&e, &ctx(&["Purpose", "Scope", "Purpose"]), &mut cache).unwrap();
        assert_eq!((cache.embedded, cache.reused, cache.len()), (2, 0, 2));

        // A vector planted for "Purpose" is taken as it is: the model is not asked again.
        let planted = vec![0.25; e.dim()];
        cache.replace(&["Purpose"], &Embeddings::new(e.dim(), planted.clone()));
        let again = Contexts::embed(&e, &ctx(&["Roles", "Purpose"]), &mut cache).unwrap();
        assert_eq!((cache.embedded, cache.reused), (1, 1));
        let vectors = again.vectors.as_ref().unwrap();
        assert_eq!(vectors.row(1), &planted[..]);
        assert_eq!(vectors.row(0), e.embed(&["Roles"]).unwrap().row(0));
        // Only the contexts of this run are kept.
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("Scope", e.dim()), None);
    }
}
