//! A linear probe on embeddings: ridge regression from vectors to one-hot class labels, fitted
//! in closed form. Cosine similarity weighs every direction of the embedding space alike; the
//! probe learns which directions tell the classes apart from the labelled vectors it is given.
//!
//! ```
//! use controlmap_models::{Embeddings, LinearProbe};
//! let x = Embeddings::new(2, vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.1, 0.9]);
//! let probe = LinearProbe::fit(&x, &[0, 0, 1, 1], 2, 0.1);
//! let s = probe.scores(&[0.8, 0.2]);
//! assert!(s[0] > s[1]);
//! ```

use crate::Embeddings;

/// `scores(x) = x · W + b`, one score per class.
#[derive(Debug, Clone)]
pub struct LinearProbe {
    dim: usize,
    classes: usize,
    /// `dim × classes`, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl LinearProbe {
    /// Fits the probe to rows of `x` labelled `labels[i]` (a class below `classes`), minimising
    /// `|X·W + b − Y|² + lambda·|W|²` with `Y` one-hot: the centred normal equations, solved by
    /// Cholesky. Unlabelled classes get zero weights and bias.
    pub fn fit(x: &Embeddings, labels: &[usize], classes: usize, lambda: f64) -> Self {
        let sets: Vec<&[usize]> = labels.iter().map(std::slice::from_ref).collect();
        Self::fit_sets(x, &sets, classes, lambda)
    }

    /// As [`fit`](Self::fit), for rows that each carry a set of classes: the row's target is 1
    /// for every class in its set (a passage can be evidence for several), 0 elsewhere. A row
    /// with an empty set teaches the probe what belongs to no class.
    pub fn fit_sets<S: AsRef<[usize]>>(
        x: &Embeddings,
        labels: &[S],
        classes: usize,
        lambda: f64,
    ) -> Self {
        Self::fit_weighted(x, labels, &vec![1.0; labels.len()], classes, lambda)
    }

    /// As [`fit_sets`](Self::fit_sets), each row counting `weights[i]` times in the squared
    /// error (and in the means it is centred on): a source of rows can be made to count for
    /// more, or less, than its number of rows.
    pub fn fit_weighted<S: AsRef<[usize]>>(
        x: &Embeddings,
        labels: &[S],
        weights: &[f64],
        classes: usize,
        lambda: f64,
    ) -> Self {
        let dim = x.dim();
        let n = labels.len().min(x.len()).min(weights.len());
        let mut mean = vec![0f64; dim];
        let mut share = vec![0f64; classes];
        let mut total = 0f64;
        for (i, set) in labels.iter().enumerate().take(n) {
            let w = weights[i];
            total += w;
            for (m, &v) in mean.iter_mut().zip(x.row(i)) {
                *m += w * v as f64;
            }
            for &label in set.as_ref() {
                share[label] += w;
            }
        }
        let rows = if total > 0.0 { total } else { 1.0 };
        mean.iter_mut().for_each(|m| *m /= rows);
        share.iter_mut().for_each(|s| *s /= rows);

        // A = Xcᵀ·Xc + λI (lower triangle), B = Xcᵀ·(Y − share).
        let mut a = vec![0f64; dim * dim];
        let mut b = vec![0f64; dim * classes];
        let mut centred = vec![0f64; dim];
        let mut target = vec![0f64; classes];
        for (i, set) in labels.iter().enumerate().take(n) {
            for ((c, &v), m) in centred.iter_mut().zip(x.row(i)).zip(&mean) {
                *c = v as f64 - m;
            }
            for (t, s) in target.iter_mut().zip(&share) {
                *t = -s;
            }
            for &label in set.as_ref() {
                target[label] += 1.0;
            }
            let w = weights[i];
            for r in 0..dim {
                let cr = w * centred[r];
                let row = &mut a[r * dim..r * dim + r + 1];
                for (slot, &cc) in row.iter_mut().zip(&centred[..=r]) {
                    *slot += cr * cc;
                }
                let targets = &mut b[r * classes..(r + 1) * classes];
                for (t, &y) in targets.iter_mut().zip(&target) {
                    *t += cr * y;
                }
            }
        }
        for r in 0..dim {
            a[r * dim + r] += lambda;
        }
        cholesky_in_place(&mut a, dim);
        solve_cholesky(&a, dim, &mut b, classes);

        let bias = (0..classes)
            .map(|k| {
                (share[k] - (0..dim).map(|r| mean[r] * b[r * classes + k]).sum::<f64>()) as f32
            })
            .collect();
        Self {
            dim,
            classes,
            weights: b.iter().map(|&w| w as f32).collect(),
            bias,
        }
    }

    /// One score per class for vector `v` (of the fitted dimension).
    pub fn scores(&self, v: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.classes];
        self.add_scores(v, 1.0, &mut out);
        out
    }

    /// Adds `scale` × each class's score for `v` to `out` (one slot per class), without
    /// allocating: what a caller summing several signals per row wants.
    pub fn add_scores(&self, v: &[f32], scale: f32, out: &mut [f32]) {
        for (o, &b) in out.iter_mut().zip(&self.bias) {
            *o += scale * b;
        }
        for (&x, w) in v.iter().zip(self.weights.chunks_exact(self.classes)) {
            let sx = scale * x;
            for (o, &wk) in out.iter_mut().zip(w) {
                *o += sx * wk;
            }
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn classes(&self) -> usize {
        self.classes
    }
}

/// Replaces the lower triangle of the symmetric positive definite `n × n` matrix `a` with `L`,
/// `a = L·Lᵀ`.
fn cholesky_in_place(a: &mut [f64], n: usize) {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(f64::MIN_POSITIVE).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
}

/// Solves `L·Lᵀ·X = B` for the `n × m` right-hand sides `b` (row-major), in place.
fn solve_cholesky(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    // L·Z = B, forward.
    for i in 0..n {
        for k in 0..i {
            let f = l[i * n + k];
            for c in 0..m {
                b[i * m + c] -= f * b[k * m + c];
            }
        }
        let d = l[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|v| *v /= d);
    }
    // Lᵀ·X = Z, backward.
    for i in (0..n).rev() {
        for k in i + 1..n {
            let f = l[k * n + i];
            for c in 0..m {
                b[i * m + c] -= f * b[k * m + c];
            }
        }
        let d = l[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|v| *v /= d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]]; A·[1, 2] = [8, 8].
        let mut a = vec![4.0, 0.0, 2.0, 3.0];
        cholesky_in_place(&mut a, 2);
        let mut b = vec![8.0, 8.0];
        solve_cholesky(&a, 2, &mut b, 1);
        assert!(
            (b[0] - 1.0).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12,
            "{b:?}"
        );
    }

    #[test]
    fn matches_ridge_regression_by_gradient_check() {
        // At the optimum the gradient of |Xc·W − Yc|² + λ|W|² is zero: Xcᵀ(Xc·W − Yc) + λW = 0.
        let data: Vec<f32> = (0..7 * 3)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
            .collect();
        let x = Embeddings::new(3, data);
        let labels = [0, 1, 2, 0, 1, 2, 0];
        let lambda = 0.5;
        let p = LinearProbe::fit(&x, &labels, 3, lambda);
        let mean: Vec<f32> = (0..3)
            .map(|d| (0..7).map(|i| x.row(i)[d]).sum::<f32>() / 7.0)
            .collect();
        let share = [3.0 / 7.0, 2.0 / 7.0, 2.0 / 7.0];
        for (k, &share_k) in share.iter().enumerate() {
            for d in 0..3 {
                let mut g = lambda as f32 * p.weights[d * 3 + k];
                for (i, &label) in labels.iter().enumerate() {
                    let xc: Vec<f32> = x.row(i).iter().zip(&mean).map(|(v, m)| v - m).collect();
                    let pred: f32 = (0..3).map(|e| xc[e] * p.weights[e * 3 + k]).sum();
                    let y = if label == k { 1.0 } else { 0.0 } - share_k;
                    g += xc[d] * (pred - y);
                }
                assert!(g.abs() < 1e-4, "class {k} dim {d}: gradient {g}");
            }
        }
        // The bias makes the mean vector score each class's share.
        let at_mean = p.scores(&mean);
        for (score, share) in at_mean.iter().zip(share) {
            assert!((score - share).abs() < 1e-5);
        }
    }

    #[test]
    fn a_row_with_two_classes_counts_for_both() {
        // Rows along x are class 0, along y class 1; the diagonal row is labelled both, so it
        // scores both about equally, and a one-label fit of the same rows agrees on the rest.
        let x = Embeddings::new(
            2,
            vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.1, 0.9, 0.7, 0.7, 0.7, 0.7],
        );
        let sets: [&[usize]; 6] = [&[0], &[0], &[1], &[1], &[0, 1], &[0, 1]];
        let p = LinearProbe::fit_sets(&x, &sets, 2, 0.01);
        let d = p.scores(&[0.7, 0.7]);
        assert!(d[0] > 0.8 && d[1] > 0.8, "{d:?}");
        assert!((d[0] - d[1]).abs() < 1e-3, "{d:?}");
        // Each class's share counts the diagonal rows: the mean vector scores 4/6 for both.
        let mean = [3.4 / 6.0, 3.4 / 6.0];
        for s in p.scores(&mean) {
            assert!((s - 4.0 / 6.0).abs() < 1e-4, "{s}");
        }
        // With no labels on the diagonal rows, they pull both scores down.
        let none: [&[usize]; 6] = [&[0], &[0], &[1], &[1], &[], &[]];
        let q = LinearProbe::fit_sets(&x, &none, 2, 0.01);
        let e = q.scores(&[0.7, 0.7]);
        assert!(e[0] < 0.2 && e[1] < 0.2, "{e:?}");
        // One label per row gives what `fit` gives.
        let one = LinearProbe::fit(&x, &[0, 0, 1, 1, 0, 1], 2, 0.01);
        let sets_one: [&[usize]; 6] = [&[0], &[0], &[1], &[1], &[0], &[1]];
        let two = LinearProbe::fit_sets(&x, &sets_one, 2, 0.01);
        assert_eq!(one.weights, two.weights);
        assert_eq!(one.bias, two.bias);
    }

    #[test]
    fn separates_two_clusters_and_leaves_unlabelled_classes_at_zero() {
        let x = Embeddings::new(2, vec![1.0, 0.1, 0.9, 0.0, 0.1, 1.0, 0.0, 0.8]);
        let p = LinearProbe::fit(&x, &[0, 0, 1, 1], 3, 0.01);
        let a = p.scores(&[0.95, 0.05]);
        let b = p.scores(&[0.05, 0.9]);
        assert!(a[0] > 0.8 && a[1] < 0.2, "{a:?}");
        assert!(b[1] > 0.8 && b[0] < 0.2, "{b:?}");
        assert_eq!((a[2], b[2]), (0.0, 0.0));
        assert_eq!((p.dim(), p.classes()), (2, 3));
    }
}
