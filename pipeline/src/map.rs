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

/// When a passage counts for a control.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// Cosine at or above which a passage is evidence…
    pub evidence: f32,
    /// …or, below that but at or above this, a weak mention…
    pub weak: f32,
    /// …provided the control is the passage's best-scoring control (for the control's
    /// status) or among its `list_top_k` best (to be listed under the control). A passage
    /// about AI in general is close to every control; the controls it is closest to are what
    /// it is about. On the sample corpus, requiring the best control for the status turned
    /// one planted gap into a gap and one into weak, with no covered control reported as a gap;
    /// requiring only the top three found no gap at all.
    pub list_top_k: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            evidence: 0.60,
            weak: 0.50,
            list_top_k: 3,
        }
    }
}

/// A control's status and the passages listed under it, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub status: Status,
    /// Best score of a passage whose best control this is (else of any passage).
    pub best: f32,
    /// `(passage index, score)` of passages that have this control among their
    /// `list_top_k` best and score at least `weak`.
    pub support: Vec<(usize, f32)>,
}

/// Assesses every control from the score matrix (`scores[p * n_controls + c]`).
pub fn assess(scores: &[f32], n_controls: usize, t: Thresholds) -> Vec<Assessment> {
    let n_passages = scores.len() / n_controls.max(1);
    let mut support: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n_controls];
    let mut best_top1 = vec![f32::NEG_INFINITY; n_controls];
    let mut best_any = vec![f32::NEG_INFINITY; n_controls];
    for p in 0..n_passages {
        let row = &scores[p * n_controls..(p + 1) * n_controls];
        let mut order: Vec<usize> = (0..n_controls).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        for (rank, &c) in order.iter().enumerate() {
            best_any[c] = best_any[c].max(row[c]);
            if rank == 0 {
                best_top1[c] = best_top1[c].max(row[c]);
            }
            if rank < t.list_top_k && row[c] >= t.weak {
                support[c].push((p, row[c]));
            }
        }
    }
    (0..n_controls)
        .map(|c| {
            let mut s = std::mem::take(&mut support[c]);
            s.sort_by(|a, b| b.1.total_cmp(&a.1));
            let status = match best_top1[c] {
                v if v >= t.evidence => Status::Evidence,
                v if v >= t.weak => Status::Weak,
                _ => Status::Gap,
            };
            let best = if best_top1[c].is_finite() {
                best_top1[c]
            } else {
                best_any[c].max(0.0)
            };
            Assessment {
                status,
                best,
                support: s,
            }
        })
        .collect()
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
    fn status_needs_a_passage_whose_best_control_it_is() {
        // Three passages × three controls. Control 2 is everyone's second choice: listed, but
        // not covered.
        let scores = [
            0.9, 0.1, 0.7, //
            0.2, 0.55, 0.5, //
            0.3, 0.2, 0.65, //
        ];
        let t = Thresholds {
            evidence: 0.6,
            weak: 0.5,
            list_top_k: 2,
        };
        let a = assess(&scores, 3, t);
        assert_eq!(a[0].status, Status::Evidence);
        assert_eq!(a[1].status, Status::Weak);
        assert_eq!(
            a[2].status,
            Status::Evidence,
            "passage 2's best is control 2"
        );
        assert_eq!(a[2].support, vec![(0, 0.7), (2, 0.65), (1, 0.5)]);
        let scores = [0.9, 0.8, 0.1, 0.8, 0.7, 0.2];
        let a = assess(&scores, 3, t);
        assert_eq!(
            a[1].status,
            Status::Gap,
            "0.8 and 0.7, but never anyone's best"
        );
        assert_eq!(a[1].support.len(), 2);
        assert_eq!(a[2].status, Status::Gap);
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
