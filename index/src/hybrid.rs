//! Fusing the BM25 and dense rankings into one.

use std::collections::HashMap;

/// How two rankings become one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion: each list adds `1 / (k + rank)`; robust to score scales.
    Rrf { k: f32 },
    /// `alpha × dense + (1 − alpha) × bm25 / max bm25`.
    Weighted { alpha: f32 },
}

impl Default for Fusion {
    fn default() -> Self {
        // k = 60 as in Cormack, Clarke & Büttcher (SIGIR 2009).
        Fusion::Rrf { k: 60.0 }
    }
}

/// A fused result: the passage, its fused score, and its score in each list (if present).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fused {
    pub id: u64,
    pub score: f32,
    pub bm25: Option<f32>,
    pub dense: Option<f32>,
}

/// Fuses `text` (BM25, best first) and `dense` (cosine, best first) into one ranking, best
/// first, ties broken by dense score then id for a stable order.
pub fn fuse(text: &[(u64, f32)], dense: &[(u64, f32)], fusion: Fusion) -> Vec<Fused> {
    let mut map: HashMap<u64, Fused> = HashMap::new();
    let max_bm25 = text
        .iter()
        .map(|t| t.1)
        .fold(0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    for (rank, &(id, s)) in text.iter().enumerate() {
        let e = map.entry(id).or_insert(Fused {
            id,
            score: 0.0,
            bm25: None,
            dense: None,
        });
        e.bm25 = Some(s);
        e.score += match fusion {
            Fusion::Rrf { k } => 1.0 / (k + rank as f32 + 1.0),
            Fusion::Weighted { alpha } => (1.0 - alpha) * s / max_bm25,
        };
    }
    for (rank, &(id, s)) in dense.iter().enumerate() {
        let e = map.entry(id).or_insert(Fused {
            id,
            score: 0.0,
            bm25: None,
            dense: None,
        });
        e.dense = Some(s);
        e.score += match fusion {
            Fusion::Rrf { k } => 1.0 / (k + rank as f32 + 1.0),
            Fusion::Weighted { alpha } => alpha * s,
        };
    }
    let mut out: Vec<Fused> = map.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(
                b.dense
                    .unwrap_or(f32::MIN)
                    .total_cmp(&a.dense.unwrap_or(f32::MIN)),
            )
            .then(a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement() {
        let text = [(1, 12.0), (2, 9.0), (5, 3.0), (6, 2.0), (3, 1.0)];
        let dense = [(3, 0.9), (2, 0.8), (4, 0.7)];
        let f = fuse(&text, &dense, Fusion::default());
        assert_eq!(f[0].id, 2, "second in both beats first in one");
        assert_eq!(f.len(), 6);
        assert_eq!(f.iter().find(|x| x.id == 4).unwrap().bm25, None);
    }

    #[test]
    fn weighted_uses_scores() {
        let text = [(1, 10.0), (2, 1.0)];
        let dense = [(2, 0.9), (1, 0.1)];
        let only_dense = fuse(&text, &dense, Fusion::Weighted { alpha: 1.0 });
        assert_eq!(only_dense[0].id, 2);
        let only_text = fuse(&text, &dense, Fusion::Weighted { alpha: 0.0 });
        assert_eq!(only_text[0].id, 1);
        assert!((only_text[0].score - 1.0).abs() < 1e-6);
    }
}
