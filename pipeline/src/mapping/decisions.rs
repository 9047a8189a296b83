//! Reviewers' decisions remembered passage by passage: a decided passage, and any passage
//! nearly the same, has the decided control's score moved up (accepted) or down (rejected).

use controlmap_models::Embeddings;
use rayon::prelude::*;

/// A reviewer's decision on a passage moves that control's score for the same passage by this
/// much (up when accepted, down when rejected): more than the spread of a passage's best
/// scores, so that the next run ranks a rejected control lower and an accepted one first.
const DECISION_WEIGHT: f32 = 1.0;

/// …and for passages this close to it (cosine), less the further they are: the same
/// boilerplate repeated in another document is decided with it, a passage on another subject
/// is not.
const DECISION_REACH: f32 = 0.9;

/// The decided passages' vectors and, for each row, its decisions: (control, +1 accepted or
/// −1 rejected).
pub struct Decisions {
    vectors: Embeddings,
    on_row: Vec<Vec<(usize, f32)>>,
}

impl Decisions {
    pub fn none(dim: usize) -> Self {
        Self {
            vectors: Embeddings::new(dim, Vec::new()),
            on_row: Vec::new(),
        }
    }

    /// `pairs` are `(row of vectors, control, accepted)`; pairs naming a row or control out of
    /// range (`n_controls`) are left out.
    pub fn new(vectors: &Embeddings, pairs: &[(usize, usize, bool)], n_controls: usize) -> Self {
        let mut on_row = vec![Vec::new(); vectors.len()];
        for &(row, control, accepted) in pairs {
            if row < vectors.len() && control < n_controls {
                on_row[row].push((control, if accepted { 1.0 } else { -1.0 }));
            }
        }
        Self {
            vectors: vectors.clone(),
            on_row,
        }
    }

    pub fn len(&self) -> usize {
        self.on_row.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves each passage's score row (`rows[i]` its vector, `scores` rows of `n_controls`)
    /// by the decisions on passages close to it.
    pub fn apply(&self, rows: &[&[f32]], scores: &mut [f32], n_controls: usize) {
        if self.is_empty() {
            return;
        }
        scores
            .par_chunks_mut(n_controls.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (d, decisions) in self.vectors.rows().zip(&self.on_row) {
                    if decisions.is_empty() {
                        continue;
                    }
                    let cos = controlmap_index::dot(d, rows[i]);
                    let closeness = (cos - DECISION_REACH) / (1.0 - DECISION_REACH);
                    if closeness <= 0.0 {
                        continue;
                    }
                    for &(c, sign) in decisions {
                        row[c] += DECISION_WEIGHT * sign * closeness.min(1.0);
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_moves_its_own_passage_fully_near_ones_less_and_others_not() {
        let v = |x: f32, y: f32| {
            let n = (x * x + y * y).sqrt();
            [x / n, y / n]
        };
        let decided = Embeddings::new(2, v(1.0, 0.0).to_vec());
        let d = Decisions::new(&decided, &[(0, 1, false), (0, 0, true), (3, 0, true)], 3);
        assert_eq!(
            d.len(),
            2,
            "the pair on a row that is not there is left out"
        );
        let same = v(1.0, 0.0);
        let near = v(1.0, 0.25); // cosine 0.970
        let far = v(1.0, 1.0); // cosine 0.707
        let rows: Vec<&[f32]> = vec![&same, &near, &far];
        let mut scores = vec![0.0; 9];
        d.apply(&rows, &mut scores, 3);
        assert_eq!(&scores[..3], &[DECISION_WEIGHT, -DECISION_WEIGHT, 0.0]);
        assert!(scores[3] > 0.0 && scores[3] < DECISION_WEIGHT, "{scores:?}");
        assert!((scores[3] + scores[4]).abs() < 1e-6);
        assert_eq!(&scores[6..], &[0.0, 0.0, 0.0]);
    }
}
