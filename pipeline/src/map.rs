//! Scoring passages against controls. The walking skeleton's mapper: cosine similarity of a
//! passage to each control's description and to each of its evidence examples, the best of
//! which is the passage's score for that control.

use controlmap_models::Embeddings;
use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::Catalog;

/// A control's status in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one passage scores at or above the evidence threshold.
    Evidence,
    /// The best passage is near but below the threshold: a passing mention at most.
    Weak,
    /// Nothing comes close.
    Gap,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Evidence => "evidence",
            Status::Weak => "weak",
            Status::Gap => "gap",
        }
    }
}

/// Thresholds on the cosine score.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub evidence: f32,
    pub weak: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            evidence: 0.60,
            weak: 0.50,
        }
    }
}

/// The texts embedded for each control, and which control each belongs to.
pub fn control_texts(catalog: &Catalog) -> (Vec<String>, Vec<usize>) {
    let mut texts = Vec::new();
    let mut owner = Vec::new();
    for (ci, (_, c)) in catalog.controls().enumerate() {
        texts.push(format!("{}. {}", c.title, c.summary.trim()));
        owner.push(ci);
        for e in &c.evidence_examples {
            texts.push(e.clone());
            owner.push(ci);
        }
    }
    (texts, owner)
}

/// `scores[p * n_controls + c]`: passage `p`'s best similarity to control `c`'s texts.
pub fn score_matrix(
    passages: &Embeddings,
    control_vecs: &Embeddings,
    owner: &[usize],
    n_controls: usize,
) -> Vec<f32> {
    let mut scores = vec![f32::NEG_INFINITY; passages.len() * n_controls];
    scores
        .par_chunks_mut(n_controls.max(1))
        .zip(passages.rows().collect::<Vec<_>>())
        .for_each(|(row, p)| {
            for (t, &c) in control_vecs.rows().zip(owner) {
                let s: f32 = t.iter().zip(p).map(|(a, b)| a * b).sum();
                if s > row[c] {
                    row[c] = s;
                }
            }
        });
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_text_of_each_control_wins() {
        // Two controls: control 0 has texts along x and y, control 1 along z.
        let controls = Embeddings::new(3, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        let owner = [0, 0, 1];
        let passages = Embeddings::new(3, vec![0.0, 0.6, 0.8, 1.0, 0.0, 0.0]);
        let s = score_matrix(&passages, &controls, &owner, 2);
        assert_eq!(s, vec![0.6, 0.8, 1.0, 0.0]);
    }

    #[test]
    fn every_control_gets_description_and_examples() {
        let c = Catalog::builtin();
        let (texts, owner) = control_texts(&c);
        assert_eq!(texts.len(), owner.len());
        assert_eq!(*owner.last().unwrap(), 37);
        assert!(texts[0].starts_with("AI policy. "));
    }
}
