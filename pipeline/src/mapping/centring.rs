//! The directions every catalog text shares, removed before the mapper compares vectors.
//!
//! All-MiniLM-L6-v2 puts every sentence about AI governance in one corner of its space, and
//! the strongest direction along which the catalog's own texts spread out runs from the
//! technical controls (data, testing, models) to the organisational ones (policy, roles,
//! communication). A statement written in the organisational voice about a technical matter
//! ("processes are in place to monitor the system in production") is pulled along that
//! direction towards the policy controls, whatever it is about. Subtracting the catalog's mean
//! and projecting out its first principal directions from every vector (the "all but the top"
//! post-processing of Mu and Viswanath, 2018, with the statistics taken from the catalog, not
//! from the user's documents) takes that pull away. It also takes away what the direction says
//! about policy passages (a data-quality rule from a policy statement), so it is an option of
//! `eval --weights` (`common=K`), not the default; docs/quality.md has the figures.

use controlmap_index::dot;
use controlmap_models::Embeddings;

/// The catalog's mean vector and its strongest principal directions (unit vectors).
#[derive(Debug, Clone, PartialEq)]
pub struct CommonDirections {
    mean: Vec<f32>,
    directions: Vec<Vec<f32>>,
}

/// Power-iteration steps per direction. Each step shrinks the error by the ratio of the next
/// eigenvalue to the one sought; for the built-in catalog's first three directions those are
/// about 0.56, 0.70 and 0.89 (306 rows, summaries included), so 300 steps leave far less
/// than an f32 can hold.
const POWER_STEPS: usize = 300;

impl CommonDirections {
    /// The mean of `rows` and their `k` strongest principal directions, found by power
    /// iteration with deflation on their covariance (deterministic: the same rows give the
    /// same directions).
    pub fn fit(rows: &Embeddings, k: usize) -> Self {
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0f64; rows.dim()];
        for r in rows.rows() {
            for (m, &x) in mean.iter_mut().zip(r) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        Self {
            directions: principal_directions(rows, &mean, k),
            mean: mean.iter().map(|&m| m as f32).collect(),
        }
    }

    /// How many principal directions are removed (besides the mean).
    pub fn directions(&self) -> usize {
        self.directions.len()
    }

    /// `v` less the mean and its components along the directions, scaled back to unit length
    /// (a vector that is nothing but those is left at zero).
    pub fn apply(&self, v: &[f32]) -> Vec<f32> {
        let mut out: Vec<f32> = v.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for d in &self.directions {
            let along = dot(&out, d);
            for (o, y) in out.iter_mut().zip(d) {
                *o -= along * y;
            }
        }
        let norm = dot(&out, &out).sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|x| *x /= norm);
        }
        out
    }

    /// [`apply`](Self::apply) to every row.
    pub fn apply_all(&self, rows: &Embeddings) -> Embeddings {
        Embeddings::new(
            rows.dim(),
            rows.rows().flat_map(|r| self.apply(r)).collect(),
        )
    }
}

/// The `k` strongest principal directions of `rows` (about `mean`), by power iteration with
/// deflation on their covariance; fewer when the rows span fewer.
fn principal_directions(rows: &Embeddings, mean: &[f64], k: usize) -> Vec<Vec<f32>> {
    let dim = rows.dim();
    if k == 0 {
        return Vec::new();
    }
    // Covariance (up to the factor 1/n, which does not move eigenvectors).
    let mut cov = vec![0f64; dim * dim];
    let mut centred = vec![0f64; dim];
    for r in rows.rows() {
        for ((c, &x), m) in centred.iter_mut().zip(r).zip(mean) {
            *c = x as f64 - m;
        }
        for (i, &ci) in centred.iter().enumerate() {
            for (slot, &cj) in cov[i * dim..(i + 1) * dim].iter_mut().zip(&centred) {
                *slot += ci * cj;
            }
        }
    }
    let mut directions = Vec::new();
    for _ in 0..k.min(dim) {
        // A start no eigenvector is orthogonal to in practice, fixed so runs repeat.
        let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + (i % 7) as f64 * 0.1).collect();
        normalise(&mut v);
        let mut lambda = 0.0;
        for _ in 0..POWER_STEPS {
            let mut next: Vec<f64> = cov
                .chunks_exact(dim)
                .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
                .collect();
            lambda = normalise(&mut next);
            v = next;
        }
        if lambda <= 1e-12 {
            break;
        }
        // Deflate: the next pass finds the next direction.
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] -= lambda * v[i] * v[j];
            }
        }
        directions.push(v.iter().map(|&x| x as f32).collect());
    }
    directions
}

/// Scales `v` to unit length and returns the length it had.
fn normalise(v: &mut [f64]) -> f64 {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[[f32; 3]]) -> Embeddings {
        Embeddings::new(3, data.iter().flatten().copied().collect())
    }

    #[test]
    fn finds_the_direction_the_rows_spread_along_and_removes_it() {
        // Spread widely along x, a little along y, around the mean (0, 0, 1).
        let x = rows(&[
            [3.0, 0.1, 1.0],
            [-3.0, -0.1, 1.0],
            [3.0, -0.1, 1.0],
            [-3.0, 0.1, 1.0],
        ]);
        let common = CommonDirections::fit(&x, 1);
        assert_eq!(common.directions(), 1);
        let d = &common.directions[0];
        assert!(d[0].abs() > 0.99, "{d:?}");
        // The mean and the x direction go; what is left is the y part, at unit length.
        let out = common.apply(&[5.0, 0.5, 1.0]);
        assert!(out[0].abs() < 1e-3 && out[2].abs() < 1e-3, "{out:?}");
        assert!((out[1] - 1.0).abs() < 1e-3, "{out:?}");
    }

    #[test]
    fn with_no_direction_only_the_mean_is_removed() {
        let x = rows(&[[1.0, 1.0, 0.0], [1.0, -1.0, 0.0]]);
        let common = CommonDirections::fit(&x, 0);
        assert_eq!(common.apply(&[1.0, 2.0, 0.0]), vec![0.0, 1.0, 0.0]);
        let all = common.apply_all(&x);
        assert_eq!(all.row(0), &[0.0, 1.0, 0.0]);
        assert_eq!(all.row(1), &[0.0, -1.0, 0.0]);
    }
}
