//! A control's status from its passages' confidences: evidence, weak or gap.

use serde::Serialize;

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

/// When a passage counts for a control, in calibrated confidence (see [`super::Calibration`]).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Confidence at or above which a passage is evidence…
    pub evidence: f32,
    /// …or, below that but at or above this, a weak mention…
    pub weak: f32,
    /// …provided the control is the passage's best-scoring control (for the control's
    /// status) or among its `list_top_k` best (to be listed under the control). A passage
    /// about AI in general is close to every control; the controls it is closest to are what
    /// it is about.
    pub list_top_k: usize,
}

impl Default for Thresholds {
    /// Evidence when the suggestion is more likely right than wrong; weak from one in four.
    fn default() -> Self {
        Self {
            evidence: 0.50,
            weak: 0.25,
            list_top_k: 3,
        }
    }
}

/// A control's status and the passages listed under it, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub status: Status,
    /// Best confidence of a passage whose best control this is (else of a listed passage,
    /// else 0).
    pub best: f32,
    /// `(passage index, confidence)` of passages that have this control among their
    /// `list_top_k` best with confidence at least `weak`.
    pub support: Vec<(usize, f32)>,
}

/// Assesses every control from the score matrix (`scores[p * n_controls + c]`, which orders
/// each passage's controls) and the confidence matrix of the same shape.
pub fn assess(
    scores: &[f32],
    confidence: &[f32],
    n_controls: usize,
    t: Thresholds,
) -> Vec<Assessment> {
    let n_passages = scores.len() / n_controls.max(1);
    let mut support: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n_controls];
    let mut best_top1 = vec![0f32; n_controls];
    for p in 0..n_passages {
        let row = &scores[p * n_controls..(p + 1) * n_controls];
        let conf = &confidence[p * n_controls..(p + 1) * n_controls];
        for (rank, c) in top_k(row, t.list_top_k).into_iter().enumerate() {
            if rank == 0 {
                best_top1[c] = best_top1[c].max(conf[c]);
            }
            if conf[c] >= t.weak {
                support[c].push((p, conf[c]));
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
            let best = if best_top1[c] > 0.0 {
                best_top1[c]
            } else {
                s.first().map_or(0.0, |x| x.1)
            };
            Assessment {
                status,
                best,
                support: s,
            }
        })
        .collect()
}

/// The indices of the `k` largest entries of `row`, largest first (ties: lower index first).
pub fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
    order.truncate(k);
    order
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_needs_a_passage_whose_best_control_it_is() {
        // Three passages × three controls; confidences as given. Control 2 is everyone's
        // second choice: listed, but not covered.
        let scores = [
            0.9, 0.1, 0.7, //
            0.2, 0.55, 0.5, //
            0.3, 0.2, 0.65, //
        ];
        let conf = [
            0.8, 0.0, 0.4, //
            0.0, 0.3, 0.26, //
            0.0, 0.0, 0.7, //
        ];
        let t = Thresholds {
            evidence: 0.5,
            weak: 0.25,
            list_top_k: 2,
        };
        let a = assess(&scores, &conf, 3, t);
        assert_eq!(a[0].status, Status::Evidence);
        assert_eq!(a[1].status, Status::Weak, "best for passage 1 at 0.3");
        assert_eq!(
            a[2].status,
            Status::Evidence,
            "passage 2's best is control 2"
        );
        assert_eq!(a[2].support, vec![(2, 0.7), (0, 0.4), (1, 0.26)]);
        let scores = [0.9, 0.8, 0.1, 0.8, 0.7, 0.2];
        let conf = [0.9, 0.8, 0.0, 0.9, 0.7, 0.0];
        let a = assess(&scores, &conf, 3, t);
        assert_eq!(
            a[1].status,
            Status::Gap,
            "0.8 and 0.7, but never anyone's best"
        );
        assert_eq!(a[1].support.len(), 2);
        assert_eq!(a[1].best, 0.8);
        assert_eq!(a[2].status, Status::Gap);
        assert_eq!(a[2].best, 0.0);
    }
}
