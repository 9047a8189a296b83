//! Reviewers' decisions as lessons for the mapper: an accepted (or hand-linked) passage is a
//! positive for its control, a rejected one a negative, from the next run of the workspace on.

use std::collections::HashMap;

use crate::{
    error::Result,
    ingest::chunk::Passage,
    report::DecisionsLearned,
    review::store::{Store, Verdict},
};
use controlmap_models::{Embedder, Embeddings};

/// The decided passages' vectors and, for each decision, `(row, control, accepted)`.
pub struct Decided {
    pub vectors: Embeddings,
    pub pairs: Vec<(usize, usize, bool)>,
    pub learned: DecisionsLearned,
}

impl Decided {
    /// The accepted rows as labelled passages, for the probe: `(row, controls)`.
    pub fn positives(&self) -> Vec<Vec<usize>> {
        let mut labels = vec![Vec::new(); self.vectors.len()];
        for &(row, control, accepted) in &self.pairs {
            if accepted && !labels[row].contains(&control) {
                labels[row].push(control);
            }
        }
        labels
    }
}

/// The current decisions of `workspace` (none when it has no decision store) on controls of
/// the catalog (`index_of`), each with its passage's vector: from this run's passages when
/// the passage is still there, else its text as it was decided, embedded now (a reviewer's
/// decision outlives an edit of the document).
pub fn decided(
    workspace: &std::path::Path,
    passages: &[&Passage],
    vectors: &Embeddings,
    embedder: &dyn Embedder,
    index_of: &HashMap<&str, usize>,
) -> Result<Decided> {
    let mut out = Decided {
        vectors: Embeddings::new(vectors.dim(), Vec::new()),
        pairs: Vec::new(),
        learned: DecisionsLearned::default(),
    };
    let Some(store) = Store::open_if_exists(workspace)? else {
        return Ok(out);
    };
    let mut current: Vec<_> = store.current_decisions()?.into_values().collect();
    // The store's map has no order; the rows and the probe's fit should not depend on it.
    current.sort_by_key(|d| d.key());
    let row_of: HashMap<&str, usize> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.content_hash.as_str(), i))
        .collect();
    let mut data: Vec<f32> = Vec::new();
    let mut rows: HashMap<String, usize> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    let mut pending: Vec<(String, usize, bool)> = Vec::new();
    for d in current {
        let accepted = match d.verdict {
            Verdict::Accepted | Verdict::Linked => true,
            Verdict::Rejected => false,
            Verdict::Withdrawn => continue,
        };
        let Some(&control) = index_of.get(d.control.as_str()) else {
            continue;
        };
        if !rows.contains_key(&d.content_hash) {
            if let Some(&p) = row_of.get(d.content_hash.as_str()) {
                rows.insert(d.content_hash.clone(), data.len() / vectors.dim().max(1));
                data.extend_from_slice(vectors.row(p));
            } else if !d.passage_text.trim().is_empty()
                && !missing.iter().any(|(h, _)| *h == d.content_hash)
            {
                missing.push((d.content_hash.clone(), d.passage_text.clone()));
            }
        }
        pending.push((d.content_hash, control, accepted));
    }
    if !missing.is_empty() {
        let texts: Vec<&str> = missing.iter().map(|(_, t)| t.as_str()).collect();
        let embedded = embedder.embed(&texts)?;
        for ((hash, _), v) in missing.iter().zip(embedded.rows()) {
            rows.insert(hash.clone(), data.len() / vectors.dim().max(1));
            data.extend_from_slice(v);
        }
    }
    for (hash, control, accepted) in pending {
        let Some(&row) = rows.get(&hash) else {
            continue;
        };
        out.pairs.push((row, control, accepted));
        if accepted {
            out.learned.accepted += 1;
        } else {
            out.learned.rejected += 1;
        }
    }
    out.vectors = Embeddings::new(vectors.dim(), data);
    Ok(out)
}
