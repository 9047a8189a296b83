//! Scores turned into probabilities that a suggestion is right.

use rayon::prelude::*;
use serde::Serialize;

/// Turns a pair's score into the probability that the suggestion is right, by logistic
/// regression on three features: the score, its distance below the passage's best score (0
/// for the best control) and whether it is the passage's best. Fitted with
/// `controlmap eval --fit-calibration` on labelled passages (pairs: each labelled passage's
/// five best controls, right when the label names the control; every pair of a passage
/// labelled evidence for nothing is wrong).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Calibration {
    pub score: f32,
    pub margin: f32,
    pub top: f32,
    pub bias: f32,
}

impl Default for Calibration {
    /// Fitted on the real documents' labelled passages (corpora/real), each scored by a
    /// mapper that learned the other folds' documents (5-fold by document), with the default
    /// [`super::Weights`]: `controlmap eval --vectors corpora/real --cv 5 --fit-calibration`
    /// prints these figures.
    fn default() -> Self {
        Self {
            score: 3.204,
            margin: 4.628,
            top: 1.176,
            bias: -3.856,
        }
    }
}

impl Calibration {
    /// The features of pair `c` of a passage's score row.
    pub fn features(row: &[f32], c: usize) -> [f32; 3] {
        Self::features_below(row[c], row_max(row))
    }

    /// The features of a pair scoring `score` in a row whose best score is `best`.
    fn features_below(score: f32, best: f32) -> [f32; 3] {
        let margin = score - best;
        [score, margin, if margin >= 0.0 { 1.0 } else { 0.0 }]
    }

    pub fn apply(&self, x: [f32; 3]) -> f32 {
        let z = self.score * x[0] + self.margin * x[1] + self.top * x[2] + self.bias;
        1.0 / (1.0 + (-z).exp())
    }

    /// The confidence of every pair of a score matrix; muted passages (all scores below 0)
    /// get 0.
    pub fn confidence(&self, scores: &[f32], n_controls: usize) -> Vec<f32> {
        let mut out = vec![0f32; scores.len()];
        out.par_chunks_mut(n_controls.max(1))
            .zip(scores.par_chunks(n_controls.max(1)))
            .for_each(|(out, row)| {
                let best = row_max(row);
                if best < 0.0 {
                    return;
                }
                for (o, &s) in out.iter_mut().zip(row) {
                    *o = self.apply(Self::features_below(s, best));
                }
            });
        out
    }
}
/// The largest score of a row.
pub(crate) fn row_max(row: &[f32]) -> f32 {
    row.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_monotone_and_mutes_muted_rows() {
        let c = Calibration::default();
        let row = [0.7, 0.6, 0.3];
        let f0 = Calibration::features(&row, 0);
        assert_eq!(f0, [0.7, 0.0, 1.0]);
        let f1 = Calibration::features(&row, 1);
        assert!((f1[1] + 0.1).abs() < 1e-6 && f1[2] == 0.0);
        let conf = c.confidence(&[0.7, 0.6, 0.3, -1.0, -1.0, -1.0], 3);
        assert!(conf[0] > conf[1] && conf[1] > conf[2], "{conf:?}");
        assert!(conf.iter().all(|x| (0.0..=1.0).contains(x)));
        assert_eq!(&conf[3..], &[0.0, 0.0, 0.0]);
        // A higher best score means a higher confidence.
        assert!(c.apply([0.8, 0.0, 1.0]) > c.apply([0.6, 0.0, 1.0]));
    }
}
