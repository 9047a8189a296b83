//! Scoring the mapper against labelled data: ranking metrics for labelled passages, and
//! precision and recall of the gaps reported for a labelled corpus.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::mapping::Calibration;

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

/// The mean of several runs' metrics (the repeats of a cross-validation).
pub fn mean_metrics(runs: &[RankingMetrics]) -> RankingMetrics {
    let d = runs.len().max(1) as f64;
    let mean = |f: fn(&RankingMetrics) -> f64| runs.iter().map(f).sum::<f64>() / d;
    RankingMetrics {
        items: runs.first().map_or(0, |r| r.items),
        p_at_1: mean(|r| r.p_at_1),
        r_at_3: mean(|r| r.r_at_3),
        r_at_5: mean(|r| r.r_at_5),
        mrr: mean(|r| r.mrr),
    }
}

/// Deals `groups` (items, or a corpus's documents) into `k` folds after a shuffle fixed by
/// `seed`: fold sizes differ by at most one, and each seed gives the same folds on every
/// machine and with every dependency version (a small SplitMix64 generator drives a
/// Fisher–Yates shuffle, so published figures stay reproducible).
pub fn assign_folds(groups: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = controlmap_models::SplitMix64::new(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D,
    );
    let mut order: Vec<usize> = (0..groups).collect();
    rng.shuffle(&mut order);
    let mut fold = vec![0; groups];
    for (position, &g) in order.iter().enumerate() {
        fold[g] = position % k.max(1);
    }
    fold
}

/// How one labelled item was ranked, for reading what the mapper gets wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemResult {
    /// The item's id (a labelled file's `id`; for a corpus, document and heading).
    pub id: String,
    /// The passage in the workspace (corpus items only), as `search` and `review` show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passage_id: Option<u64>,
    /// The start of the item's text.
    pub excerpt: String,
    pub labelled: Vec<String>,
    /// Where the first labelled control was ranked (1 is right at P@1).
    pub first_labelled_rank: usize,
    /// The best-ranked controls with their scores, best first.
    pub ranked: Vec<RankedControl>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedControl {
    pub control: String,
    pub score: f32,
}

/// Controls listed per item in [`ItemResult::ranked`].
pub const ITEM_TOP: usize = 5;

/// One [`ItemResult`] per labelled item (unlabelled ones are left out, as in
/// [`ranking_metrics`]). `names[i]` is item `i`'s id and passage id, `texts[i]` its text,
/// `controls` the catalog's control IDs in score-column order.
pub fn item_results(
    scores: &[f32],
    ranked: &[Vec<usize>],
    gold: &[Vec<usize>],
    names: &[(String, Option<u64>)],
    texts: &[&str],
    controls: &[String],
) -> Vec<ItemResult> {
    let n = controls.len();
    ranked
        .iter()
        .zip(gold)
        .enumerate()
        .filter(|(_, (_, g))| !g.is_empty())
        .map(|(i, (r, g))| {
            let row = &scores[i * n..(i + 1) * n];
            ItemResult {
                id: names[i].0.clone(),
                passage_id: names[i].1,
                excerpt: crate::ingest::chunk::clip(texts[i], 160),
                labelled: g.iter().map(|&c| controls[c].clone()).collect(),
                first_labelled_rank: r.iter().position(|c| g.contains(c)).map_or(n, |p| p + 1),
                ranked: r
                    .iter()
                    .take(ITEM_TOP)
                    .map(|&c| RankedControl {
                        control: controls[c].clone(),
                        score: row[c],
                    })
                    .collect(),
            }
        })
        .collect()
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
    /// Where the text sits (a heading path; the NIST file's `category`): the mapper's context
    /// signal.
    #[serde(default, alias = "category")]
    pub context: Option<String>,
}

/// A suggestion shown to a reviewer, as calibration data: its features and whether the label
/// names its control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationPair {
    pub features: [f32; 3],
    pub right: bool,
    /// Which group (document) the pair comes from, for cross-validation.
    pub group: usize,
    /// Which row (passage) of the set it is a pair of.
    pub row: usize,
}

/// The calibration pairs of a labelled set: the `top` best controls of each labelled row, and
/// of each row known to be about no control (`about_nothing`: e.g. the passages of a document
/// the gold labels nowhere), whose pairs are all wrong. Without those, a passage about travel
/// expenses would get the confidence of a policy passage whose best control it is.
pub fn calibration_pairs(
    scores: &[f32],
    n_controls: usize,
    gold: &[Vec<usize>],
    about_nothing: &[bool],
    groups: &[usize],
    top: usize,
) -> Vec<CalibrationPair> {
    let mut out = Vec::new();
    for (i, (row, g)) in scores.chunks_exact(n_controls).zip(gold).enumerate() {
        let nothing = about_nothing.get(i).copied().unwrap_or(false);
        if (g.is_empty() && !nothing) || row.iter().all(|&s| s < 0.0) {
            continue;
        }
        for c in crate::mapping::top_k(row, top) {
            out.push(CalibrationPair {
                features: Calibration::features(row, c),
                right: g.contains(&c),
                group: groups.get(i).copied().unwrap_or(i),
                row: i,
            });
        }
    }
    out
}

/// Calibration quality: the expected calibration error over ten equal-width confidence bins
/// (the gap between mean confidence and share right in each bin, weighted by its size), and
/// the bins themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationMetrics {
    pub pairs: usize,
    pub ece: f64,
    /// `(mean confidence, share right, pairs)` per non-empty bin.
    pub bins: Vec<(f64, f64, usize)>,
}

pub fn calibration_metrics(confidence: &[f32], right: &[bool]) -> CalibrationMetrics {
    let mut sum = [0f64; 10];
    let mut hits = [0usize; 10];
    let mut count = [0usize; 10];
    for (&p, &r) in confidence.iter().zip(right) {
        let b = ((p as f64 * 10.0) as usize).min(9);
        sum[b] += p as f64;
        hits[b] += r as usize;
        count[b] += 1;
    }
    let n = confidence.len().max(1) as f64;
    let mut ece = 0.0;
    let mut bins = Vec::new();
    for b in 0..10 {
        if count[b] == 0 {
            continue;
        }
        let (conf, acc) = (sum[b] / count[b] as f64, hits[b] as f64 / count[b] as f64);
        ece += count[b] as f64 / n * (conf - acc).abs();
        bins.push((conf, acc, count[b]));
    }
    CalibrationMetrics {
        pairs: confidence.len(),
        ece,
        bins,
    }
}

/// What a reviewer would be shown: the suggestions at or above the "proposed" threshold
/// (a passage's control counts as evidence there), how many of them are right, and how well a
/// passage's best confidence tells passages about something from passages about nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuggestionMetrics {
    /// The confidence a suggestion needs to be proposed as evidence.
    pub threshold: f32,
    /// Calibration pairs (each passage's five best controls) at or above it…
    pub proposed: usize,
    /// …and the share of them that are right.
    pub precision: f64,
    /// The area under the ROC curve of each passage's best confidence, passages with a label
    /// against passages labelled evidence for nothing; `None` when the set has not both.
    pub auroc_about_nothing: Option<f64>,
}

/// [`SuggestionMetrics`] of calibration pairs with their confidences; `about_nothing[r]` says
/// row `r` is labelled evidence for nothing.
pub fn suggestion_metrics(
    pairs: &[CalibrationPair],
    confidence: &[f32],
    about_nothing: &[bool],
    threshold: f32,
) -> SuggestionMetrics {
    let (mut proposed, mut right) = (0usize, 0usize);
    let mut best: std::collections::BTreeMap<usize, f32> = Default::default();
    for (p, &c) in pairs.iter().zip(confidence) {
        if c >= threshold {
            proposed += 1;
            right += p.right as usize;
        }
        let b = best.entry(p.row).or_insert(f32::NEG_INFINITY);
        *b = b.max(c);
    }
    let (mut something, mut nothing) = (Vec::new(), Vec::new());
    for (&row, &b) in &best {
        if about_nothing.get(row).copied().unwrap_or(false) {
            nothing.push(b);
        } else {
            something.push(b);
        }
    }
    SuggestionMetrics {
        threshold,
        proposed,
        precision: right as f64 / proposed.max(1) as f64,
        auroc_about_nothing: auroc(&something, &nothing),
    }
}

/// The probability that a random `positive` scores above a random `negative` (ties count
/// half): the area under the ROC curve. `None` when either is empty.
pub fn auroc(positive: &[f32], negative: &[f32]) -> Option<f64> {
    if positive.is_empty() || negative.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = positive
        .iter()
        .map(|&s| (s, true))
        .chain(negative.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Rank sum of the positives (ranks from 1, ties given their mean rank).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (positive.len() as f64, negative.len() as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// One point of the learning curve: after this many decisions, the figures on documents
/// nobody decided anything in (the mean over the rotations).
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// The decisions asked for at this step.
    pub decisions: usize,
    /// The decisions made, mean per rotation: fewer than asked where a fold's review queue
    /// (suggestions at or above the weak threshold) runs out.
    pub decided: f64,
    /// How many of them were acceptances (the rest rejections), mean per rotation.
    pub accepted: f64,
    pub p_at_1: f64,
    pub mrr: f64,
}

/// The learning curve of one labelled-vector set.
#[derive(Debug, Serialize)]
pub struct LearningCurve {
    pub set: String,
    pub points: Vec<CurvePoint>,
}

/// Fits a [`Calibration`] to pairs by logistic regression (Newton's method, with a light L2
/// penalty so that separable data still gives finite weights).
pub fn fit_calibration(pairs: &[CalibrationPair]) -> Calibration {
    const L2: f64 = 1e-3;
    let mut w = [0f64; 4];
    for _ in 0..50 {
        let mut grad = [0f64; 4];
        let mut hess = [[0f64; 4]; 4];
        for p in pairs {
            let x = [
                p.features[0] as f64,
                p.features[1] as f64,
                p.features[2] as f64,
                1.0,
            ];
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let q = 1.0 / (1.0 + (-z).exp());
            let y = p.right as u8 as f64;
            for i in 0..4 {
                grad[i] += (q - y) * x[i];
                for j in 0..4 {
                    hess[i][j] += q * (1.0 - q) * x[i] * x[j];
                }
            }
        }
        for i in 0..4 {
            grad[i] += L2 * w[i];
            hess[i][i] += L2;
        }
        let step = solve4(hess, grad);
        let mut moved = 0.0f64;
        for i in 0..4 {
            w[i] -= step[i];
            moved = moved.max(step[i].abs());
        }
        if moved < 1e-9 {
            break;
        }
    }
    Calibration {
        score: w[0] as f32,
        margin: w[1] as f32,
        top: w[2] as f32,
        bias: w[3] as f32,
    }
}

/// Solves `a x = b` for a 4×4 system by Gaussian elimination with partial pivoting.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> [f64; 4] {
    for col in 0..4 {
        let pivot = (col..4)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        if a[col][col].abs() < 1e-12 {
            continue;
        }
        for row in col + 1..4 {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (x, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row].abs() < 1e-12 {
            0.0
        } else {
            (b[row] - s) / a[row][row]
        };
    }
    x
}

/// Fits on all groups but one fold at a time (`folds` folds of groups) and scores each pair
/// with the calibration fitted without its fold: the confidences a new organisation's
/// documents would get.
pub fn cross_validated_confidence(pairs: &[CalibrationPair], folds: usize) -> Vec<f32> {
    let folds = folds.max(2);
    (0..folds)
        .flat_map(|k| {
            let train: Vec<CalibrationPair> = pairs
                .iter()
                .filter(|p| p.group % folds != k)
                .copied()
                .collect();
            let fitted = fit_calibration(&train);
            pairs
                .iter()
                .enumerate()
                .filter(move |(_, p)| p.group % folds == k)
                .map(move |(i, p)| (i, fitted.apply(p.features)))
        })
        .collect::<std::collections::BTreeMap<usize, f32>>()
        .into_values()
        .collect()
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
    fn auroc_and_suggestion_precision_by_hand() {
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auroc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auroc(&[0.5], &[0.5]), Some(0.5));
        // 0.7 beats 0.2 and ties 0.7; 0.1 beats nothing: (1.5 + 0) / 4.
        assert_eq!(auroc(&[0.7, 0.1], &[0.2, 0.7]), Some(0.375));
        assert_eq!(auroc(&[], &[0.2]), None);

        let pair = |row, right| CalibrationPair {
            features: [0.0; 3],
            right,
            group: row,
            row,
        };
        // Rows 0 and 1 are about something, row 2 about nothing.
        let pairs = [
            pair(0, true),
            pair(0, false),
            pair(1, false),
            pair(2, false),
        ];
        let conf = [0.9, 0.6, 0.3, 0.7];
        let m = suggestion_metrics(&pairs, &conf, &[false, false, true], 0.5);
        assert_eq!(m.proposed, 3);
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-9);
        // Best confidences: 0.9 and 0.3 about something, 0.7 about nothing.
        assert_eq!(m.auroc_about_nothing, Some(0.5));
    }

    #[test]
    fn item_results_give_the_rank_of_the_first_label_and_the_best_controls() {
        let controls: Vec<String> = (0..6).map(|c| format!("A.{c}")).collect();
        let scores = [
            [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            [0.0; 6],
        ]
        .concat();
        let ranked = rank_rows(&scores, 6);
        let gold = vec![vec![0], vec![3, 0], vec![]];
        let names = vec![
            ("a".to_string(), Some(7)),
            ("b".to_string(), None),
            ("c".to_string(), None),
        ];
        let long = "word ".repeat(100);
        let texts = ["first\n  passage", long.as_str(), "unlabelled"];
        let items = item_results(&scores, &ranked, &gold, &names, &texts, &controls);
        assert_eq!(items.len(), 2, "the unlabelled item is left out");
        assert_eq!(items[0].id, "a");
        assert_eq!(items[0].passage_id, Some(7));
        assert_eq!(items[0].excerpt, "first passage");
        assert_eq!(items[0].first_labelled_rank, 1);
        assert_eq!(items[1].labelled, ["A.3", "A.0"]);
        // b ranks A.5, A.4, A.3, …: its first label is third.
        assert_eq!(items[1].first_labelled_rank, 3);
        let best: Vec<_> = items[1].ranked.iter().map(|r| r.control.as_str()).collect();
        assert_eq!(best, ["A.5", "A.4", "A.3", "A.2", "A.1"]);
        assert_eq!(items[1].ranked[0].score, 0.6);
        assert!(items[1].excerpt.ends_with('…') && items[1].excerpt.chars().count() == 160);
    }

    #[test]
    fn folds_are_balanced_fixed_by_the_seed_and_shuffled() {
        let a = assign_folds(23, 5, 1);
        assert_eq!(
            a,
            assign_folds(23, 5, 1),
            "the same seed gives the same folds"
        );
        let mut sizes = [0; 5];
        a.iter().for_each(|&f| sizes[f] += 1);
        assert_eq!(sizes, [5, 5, 5, 4, 4]);
        assert_ne!(a, assign_folds(23, 5, 2), "another seed, other folds");
        // Not simply dealt in order.
        assert_ne!(a, (0..23).map(|i| i % 5).collect::<Vec<_>>());
        assert!(assign_folds(0, 5, 1).is_empty());
    }

    #[test]
    fn mean_metrics_averages_each_figure() {
        let m = |x: f64| RankingMetrics {
            items: 4,
            p_at_1: x,
            r_at_3: x / 2.0,
            r_at_5: x / 4.0,
            mrr: 1.0 - x,
        };
        let mean = mean_metrics(&[m(0.2), m(0.6)]);
        assert_eq!(mean.items, 4);
        assert!((mean.p_at_1 - 0.4).abs() < 1e-12 && (mean.r_at_3 - 0.2).abs() < 1e-12);
        assert!((mean.r_at_5 - 0.1).abs() < 1e-12 && (mean.mrr - 0.6).abs() < 1e-12);
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

    #[test]
    fn ece_by_hand() {
        // Bin 0.8–0.9: mean 0.8, 3 of 4 right (gap 0.05); bin 0.2–0.3: mean 0.2, 0 of 1 (0.2).
        let m = calibration_metrics(
            &[0.8, 0.8, 0.8, 0.8, 0.2],
            &[true, true, true, false, false],
        );
        assert_eq!(m.pairs, 5);
        assert!((m.ece - (0.8 * 0.05 + 0.2 * 0.2)).abs() < 1e-6, "{}", m.ece);
        assert_eq!(m.bins.len(), 2);
    }

    #[test]
    fn fitting_recovers_a_known_calibration() {
        // Pairs drawn from a known logistic model (deterministic quasi-random features): the
        // fit lands near it, and its confidences are calibrated on the same data.
        let truth = Calibration {
            score: 4.0,
            margin: 6.0,
            top: 1.0,
            bias: -2.5,
        };
        let mut pairs = Vec::new();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f32 / (1u64 << 31) as f32
        };
        for i in 0..20_000 {
            let score = next();
            let margin = if i % 3 == 0 { 0.0 } else { -0.3 * next() };
            let x = [score, margin, (margin == 0.0) as u8 as f32];
            let right = next() < truth.apply(x);
            pairs.push(CalibrationPair {
                features: x,
                right,
                group: i % 7,
                row: i,
            });
        }
        let fit = fit_calibration(&pairs);
        assert!((fit.score - truth.score).abs() < 0.5, "{fit:?}");
        assert!((fit.margin - truth.margin).abs() < 1.5, "{fit:?}");
        assert!((fit.bias - truth.bias).abs() < 0.5, "{fit:?}");
        let conf: Vec<f32> = pairs.iter().map(|p| fit.apply(p.features)).collect();
        let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
        assert!(calibration_metrics(&conf, &right).ece < 0.02);
        let cv = cross_validated_confidence(&pairs, 5);
        assert_eq!(cv.len(), pairs.len());
        assert!(calibration_metrics(&cv, &right).ece < 0.03);
        // A constant confidence of 0.9 on the same data is badly calibrated.
        assert!(calibration_metrics(&vec![0.9; pairs.len()], &right).ece > 0.3);
    }
}
