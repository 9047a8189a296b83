//! A corpus's passages mapped: contexts prepared once, scores, confidences and muting.

use controlmap_models::{Embedder, Embeddings};

use super::*;
use crate::ingest::chunk::Passage;

/// A corpus's passages mapped: `scores` order each passage's controls, `confidence` says how
/// likely each pair is right (both `[p * n_controls + c]`).
pub struct Mapped {
    pub scores: Vec<f32>,
    pub confidence: Vec<f32>,
    /// Documents outside the mapper's [`Scope`], whose passages are muted.
    pub out_of_scope: Vec<String>,
}

/// Maps a corpus's passages (in document order, with their vectors): each passage's context
/// is its heading path, its neighbours the passages beside it under the same headings;
/// document-control text and the passages of documents outside the mapper's [`Scope`] are
/// muted.
pub fn map_passages(
    mapper: &Mapper,
    embedder: &dyn Embedder,
    passages: &[&Passage],
    vectors: &Embeddings,
    cache: &mut crate::mapping::context_cache::ContextCache,
) -> controlmap_models::Result<Mapped> {
    let prepared = Prepared::new(mapper, embedder, passages, cache)?;
    Ok(map_prepared(mapper, passages, vectors, &prepared))
}

/// What scoring a corpus's passages needs besides their vectors, made once for scoring them
/// several times (cross-validation maps the same passages with a mapper per fold).
pub struct Prepared {
    texts: Vec<String>,
    contexts: Contexts,
    sections: Vec<Option<u64>>,
}

impl Prepared {
    /// The passages' texts and sections, and their heading paths embedded (when the mapper
    /// weighs context at all; those `cache` holds are taken from it, see [`Contexts::embed`]).
    pub fn new(
        mapper: &Mapper,
        embedder: &dyn Embedder,
        passages: &[&Passage],
        cache: &mut crate::mapping::context_cache::ContextCache,
    ) -> controlmap_models::Result<Self> {
        let contexts: Vec<Option<String>> = passages.iter().map(|p| Some(context_of(p))).collect();
        let contexts = if mapper.weights.context != 0.0 {
            Contexts::embed(embedder, &contexts, cache)?
        } else {
            Contexts::none(passages.len())
        };
        Ok(Self {
            texts: passages.iter().map(|p| p.embedding_text()).collect(),
            contexts,
            sections: passages.iter().map(|p| section_key(p)).collect(),
        })
    }
}

/// [`map_passages`] with the passages already [`Prepared`].
pub fn map_prepared(
    mapper: &Mapper,
    passages: &[&Passage],
    vectors: &Embeddings,
    prepared: &Prepared,
) -> Mapped {
    let texts: Vec<&str> = prepared.texts.iter().map(String::as_str).collect();
    let mut scores = mapper.scores(&Batch {
        vectors,
        texts: &texts,
        contexts: &prepared.contexts,
        sections: &prepared.sections,
    });
    let n = mapper.n_controls();
    mute(
        &mut scores,
        n,
        passages.iter().map(|p| is_document_control(p)),
    );
    let out_of_scope = mapper.scope.mute_outside(&mut scores, n, passages);
    let confidence = mapper.calibration.confidence(&scores, n);
    Mapped {
        scores,
        confidence,
        out_of_scope,
    }
}
/// Sets the score rows of `muted` passages below any threshold.
pub fn mute(scores: &mut [f32], n_controls: usize, muted: impl IntoIterator<Item = bool>) {
    for (row, m) in scores.chunks_exact_mut(n_controls.max(1)).zip(muted) {
        if m {
            row.iter_mut().for_each(|s| *s = -1.0);
        }
    }
}
