//! Scoring the mapper against labelled data: ranking metrics for labelled passages, and
//! precision and recall of the gaps reported for a labelled corpus.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Ranking quality over labelled items (each item: the controls ranked for it, and the
/// controls its label names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankingMetrics {
    pub items: usize,
    /// Share of items whose first-ranked control is a labelled one.
    pub p_at_1: f64,
    /// Mean share of an item's labelled controls found in the first three.
    pub r_at_3: f64,
    /// The same in the first five.
    pub r_at_5: f64,
    /// Mean reciprocal rank of the first labelled control.
    pub mrr: f64,
}

/// `ranked[i]` is item `i`'s controls, best first (all of them); `gold[i]` its labels.
/// Items without labels are left out.
pub fn ranking_metrics(ranked: &[Vec<usize>], gold: &[Vec<usize>]) -> RankingMetrics {
    let (mut n, mut p1, mut r3, mut r5, mut mrr) = (0usize, 0.0, 0.0, 0.0, 0.0);
    for (r, g) in ranked.iter().zip(gold) {
        if g.is_empty() {
            continue;
        }
        n += 1;
        let recall =
            |k: usize| r.iter().take(k).filter(|c| g.contains(c)).count() as f64 / g.len() as f64;
        if r.first().is_some_and(|c| g.contains(c)) {
            p1 += 1.0;
        }
        r3 += recall(3);
        r5 += recall(5);
        if let Some(pos) = r.iter().position(|c| g.contains(c)) {
            mrr += 1.0 / (pos + 1) as f64;
        }
    }
    let d = n.max(1) as f64;
    RankingMetrics {
        items: n,
        p_at_1: p1 / d,
        r_at_3: r3 / d,
        r_at_5: r5 / d,
        mrr: mrr / d,
    }
}

/// Controls ranked by descending score for each row of a score matrix.
pub fn rank_rows(scores: &[f32], n_controls: usize) -> Vec<Vec<usize>> {
    scores
        .chunks_exact(n_controls)
        .map(|row| {
            let mut order: Vec<usize> = (0..n_controls).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            order
        })
        .collect()
}

/// How well the reported gaps match the labelled ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapMetrics {
    pub reported: Vec<String>,
    pub gold: Vec<String>,
    pub precision: f64,
    pub recall: f64,
    /// Controls with labelled evidence that were reported as gaps (the costly mistake).
    pub covered_reported_as_gap: Vec<String>,
}

pub fn gap_metrics(
    reported: &[String],
    gold_gaps: &[String],
    covered: &BTreeSet<String>,
) -> GapMetrics {
    let hit = reported.iter().filter(|r| gold_gaps.contains(r)).count() as f64;
    GapMetrics {
        reported: reported.to_vec(),
        gold: gold_gaps.to_vec(),
        precision: if reported.is_empty() {
            1.0
        } else {
            hit / reported.len() as f64
        },
        recall: if gold_gaps.is_empty() {
            1.0
        } else {
            hit / gold_gaps.len() as f64
        },
        covered_reported_as_gap: reported
            .iter()
            .filter(|r| covered.contains(*r))
            .cloned()
            .collect(),
    }
}

/// A labelled-passage file in the NIST crosswalk's format: items with an id, a text and the
/// Annex A controls it maps to.
#[derive(Debug, Deserialize)]
pub struct ItemFile {
    pub items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
pub struct Item {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub annex_a: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_metrics_by_hand() {
        let ranked = vec![
            vec![0, 1, 2, 3, 4, 5],
            vec![5, 4, 3, 2, 1, 0],
            vec![1, 0, 2, 3, 4, 5],
        ];
        let gold = vec![vec![0], vec![0, 3], vec![]];
        let m = ranking_metrics(&ranked, &gold);
        assert_eq!(m.items, 2);
        assert!((m.p_at_1 - 0.5).abs() < 1e-9);
        // item 0: r@3 = 1; item 1: {5,4,3} holds 3 → 0.5
        assert!((m.r_at_3 - 0.75).abs() < 1e-9);
        // item 1: r@5 = {5,4,3,2,1} holds 3 → 0.5
        assert!((m.r_at_5 - 0.75).abs() < 1e-9);
        // item 0: 1; item 1: first gold at rank 3 → 1/3
        assert!((m.mrr - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn rank_rows_orders_each_row() {
        assert_eq!(
            rank_rows(&[0.1, 0.9, 0.5, 0.3, 0.2, 0.1], 3),
            vec![vec![1, 2, 0], vec![0, 1, 2]]
        );
    }

    #[test]
    fn gap_metrics_by_hand() {
        let covered: BTreeSet<String> = ["A.2.2".to_string()].into();
        let m = gap_metrics(
            &["A.5.5".into(), "A.2.2".into()],
            &["A.5.5".into(), "A.7.5".into()],
            &covered,
        );
        assert_eq!((m.precision, m.recall), (0.5, 0.5));
        assert_eq!(m.covered_reported_as_gap, vec!["A.2.2".to_string()]);
        let none = gap_metrics(&[], &["A.5.5".into()], &covered);
        assert_eq!((none.precision, none.recall), (1.0, 0.0));
    }
}
