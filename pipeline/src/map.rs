//! Scoring passages against controls ([`Mapper`]) and deciding each control's status
//! ([`assess`]). Signals: cosine similarity to the control's description and to its evidence
//! examples, and the share of its keywords in the passage, combined by [`Weights`]; `eval`
//! measures what each adds.

use controlmap_models::{Embedder, Embeddings};
use rayon::prelude::*;
use serde::Serialize;

use crate::{catalog::Catalog, chunk::Passage};

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

/// How the signals of a (passage, control) pair combine into one score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Cosine to the control's description (title and summary).
    pub description: f32,
    /// Best cosine to one of its evidence examples.
    pub example_max: f32,
    /// Mean cosine to its evidence examples.
    pub example_mean: f32,
    /// Share of the control's keywords found in the passage (capped at three).
    pub keywords: f32,
    /// Subtract each control's mean score over the scored passages, so controls that are
    /// close to everything (hubs) stop winning every passage.
    pub center: bool,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            description: 0.0,
            example_max: 1.0,
            example_mean: 0.0,
            keywords: 0.0,
            center: false,
        }
    }
}

impl std::str::FromStr for Weights {
    type Err = String;

    /// `desc,max,mean,kw[,center]`, e.g. `0.3,0.5,0.2,0.1,center`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let num = |i: usize| -> Result<f32, String> {
            parts
                .get(i)
                .ok_or("expected desc,max,mean,kw[,center]")?
                .parse()
                .map_err(|e| format!("{e}"))
        };
        Ok(Self {
            description: num(0)?,
            example_max: num(1)?,
            example_mean: num(2)?,
            keywords: num(3)?,
            center: parts.get(4) == Some(&"center"),
        })
    }
}

/// The catalog's controls, embedded once, scoring batches of passages.
pub struct Mapper {
    n_controls: usize,
    /// Row `c`: the description's vector.
    descriptions: Embeddings,
    /// Example vectors and the control each belongs to.
    examples: Embeddings,
    example_owner: Vec<usize>,
    /// Lower-cased keywords per control.
    keywords: Vec<Vec<String>>,
    pub weights: Weights,
}

impl Mapper {
    pub fn new(
        catalog: &Catalog,
        embedder: &dyn Embedder,
        weights: Weights,
    ) -> controlmap_models::Result<Self> {
        let mut descriptions = Vec::new();
        let mut examples = Vec::new();
        let mut example_owner = Vec::new();
        let mut keywords = Vec::new();
        for (ci, (_, c)) in catalog.controls().enumerate() {
            descriptions.push(format!("{}. {}", c.title, c.summary.trim()));
            for e in &c.evidence_examples {
                examples.push(e.as_str());
                example_owner.push(ci);
            }
            keywords.push(c.keywords.iter().map(|k| k.to_lowercase()).collect());
        }
        let descs: Vec<&str> = descriptions.iter().map(String::as_str).collect();
        Ok(Self {
            n_controls: descs.len(),
            descriptions: embedder.embed(&descs)?,
            examples: embedder.embed(&examples)?,
            example_owner,
            keywords,
            weights,
        })
    }

    pub fn n_controls(&self) -> usize {
        self.n_controls
    }

    /// `scores[p * n_controls + c]` for passages with vectors `vectors` and texts `texts`.
    pub fn scores(&self, vectors: &Embeddings, texts: &[&str]) -> Vec<f32> {
        let n = self.n_controls;
        let w = self.weights;
        let mut counts = vec![0usize; n];
        for &o in &self.example_owner {
            counts[o] += 1;
        }
        let rows: Vec<&[f32]> = vectors.rows().collect();
        let mut scores = vec![0f32; rows.len() * n];
        scores
            .par_chunks_mut(n.max(1))
            .zip(rows.par_iter().zip(texts.par_iter()))
            .for_each(|(row, (p, text))| {
                let mut ex_max = vec![f32::NEG_INFINITY; n];
                let mut ex_sum = vec![0f32; n];
                for (e, &c) in self.examples.rows().zip(&self.example_owner) {
                    let s = dot(e, p);
                    ex_max[c] = ex_max[c].max(s);
                    ex_sum[c] += s;
                }
                let lower = text.to_lowercase();
                for c in 0..n {
                    let desc = dot(self.descriptions.row(c), p);
                    let (mx, mean) = if counts[c] > 0 {
                        (ex_max[c], ex_sum[c] / counts[c] as f32)
                    } else {
                        (desc, desc)
                    };
                    let hits = self.keywords[c]
                        .iter()
                        .filter(|k| contains_word(&lower, k))
                        .count();
                    row[c] = w.description * desc
                        + w.example_max * mx
                        + w.example_mean * mean
                        + w.keywords * (hits.min(3) as f32 / 3.0);
                }
            });
        if w.center && !rows.is_empty() {
            let mut mean = vec![0f32; n];
            for row in scores.chunks_exact(n) {
                for (m, s) in mean.iter_mut().zip(row) {
                    *m += s;
                }
            }
            mean.iter_mut().for_each(|m| *m /= rows.len() as f32);
            for row in scores.chunks_exact_mut(n) {
                for (s, m) in row.iter_mut().zip(&mean) {
                    *s -= m;
                }
            }
        }
        scores
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    controlmap_index::dot(a, b)
}

/// Document-control text — revision tables, `"Approved by … on <date>"` lines — describes the
/// document, not what the organisation does. It is close to the policy controls in meaning
/// (a revision history reads like a policy review), so it is indexed and searchable but is
/// evidence for nothing. On the sample corpus these lines were the best passage for A.2.2,
/// A.2.4 and A.8.5.
pub fn is_document_control(p: &Passage) -> bool {
    let heading = p
        .headings
        .last()
        .map(|h| h.to_lowercase())
        .unwrap_or_default();
    let section = [
        "revision history",
        "document control",
        "version history",
        "change history",
        "change log",
        "distribution list",
    ];
    if section.iter().any(|s| heading.contains(s)) {
        return true;
    }
    let text = crate::parse::normalise_space(&p.text);
    let lower = text.to_lowercase();
    let approval_line = lower.starts_with("approved by ")
        && text.split(' ').count() <= 25
        && lower.contains(" on ");
    let revision_table = lower.starts_with("version | date");
    approval_line || revision_table
}

/// Sets the score rows of `muted` passages below any threshold.
pub fn mute(scores: &mut [f32], n_controls: usize, muted: impl IntoIterator<Item = bool>) {
    for (row, m) in scores.chunks_exact_mut(n_controls.max(1)).zip(muted) {
        if m {
            row.iter_mut().for_each(|s| *s = -1.0);
        }
    }
}

/// `needle` occurs in `haystack` at word boundaries (both lower-case).
pub fn contains_word(haystack: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric();
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word(c));
        let after = haystack[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_word(c));
        before && after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(heading: &str, text: &str) -> Passage {
        Passage {
            id: 1,
            content_hash: String::new(),
            document: "d.md".into(),
            title: "D".into(),
            headings: vec!["D".into(), heading.into()],
            page: None,
            format: crate::parse::Format::Markdown,
            text: text.into(),
            start: 0,
            end: text.len(),
        }
    }

    #[test]
    fn document_control_text_is_recognised() {
        assert!(is_document_control(&passage(
            "12. Approval",
            "Approved by the AI Governance Committee on 21 February 2024."
        )));
        assert!(is_document_control(&passage(
            "9. Revision history",
            "3.0 | January 2021 | Independent line introduced"
        )));
        assert!(is_document_control(&passage(
            "Annex",
            "Version | Date | Change\n1.0 | 2022 | First issue"
        )));
        // An approval section about approving assessments is content, not document control.
        assert!(!is_document_control(&passage(
            "7. Approval",
            "Assessments shall be approved at the level shown in section 6."
        )));
        assert!(!is_document_control(&passage(
            "4.3 Roles",
            "The Board Risk Committee approves this policy."
        )));
        let mut scores = vec![0.9, 0.8, 0.7, 0.6];
        mute(&mut scores, 2, [true, false]);
        assert_eq!(scores, vec![-1.0, -1.0, 0.7, 0.6]);
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
    fn keyword_match_respects_word_boundaries() {
        assert!(contains_word("the ai policy is set", "ai policy"));
        assert!(!contains_word("the maintain policy", "ai policy"));
        assert!(contains_word("raci.", "raci"));
        assert!(!contains_word("racing", "raci"));
    }

    #[test]
    fn weights_parse() {
        let w: Weights = "0.2,0.5,0.3,0.1,center".parse().unwrap();
        assert_eq!((w.description, w.keywords, w.center), (0.2, 0.1, true));
        assert!("1,2".parse::<Weights>().is_err());
    }
}

#[cfg(test)]
mod mapper_tests {
    use controlmap_models::{BertEmbedder, DeviceChoice, testing::TinyModel};

    use super::*;

    #[test]
    fn keyword_signal_moves_the_score_and_centering_zeroes_column_means() {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        let e = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let catalog = Catalog::builtin();
        let texts = ["the ai policy is reviewed every year", "data quality risk"];
        let vectors = e.embed(&texts).unwrap();
        let plain = Mapper::new(&catalog, &e, Weights::default()).unwrap();
        let n = plain.n_controls();
        let base = plain.scores(&vectors, &texts);
        assert_eq!(base.len(), 2 * n);

        let kw = Weights {
            keywords: 1.0,
            ..Weights::default()
        };
        let with_kw = Mapper::new(&catalog, &e, kw)
            .unwrap()
            .scores(&vectors, &texts);
        // "ai policy" is a keyword of A.2.2 (control 0): its score rises by a third.
        assert!(
            (with_kw[0] - base[0] - 1.0 / 3.0).abs() < 1e-5,
            "{} vs {}",
            with_kw[0],
            base[0]
        );

        let centered = Mapper::new(
            &catalog,
            &e,
            Weights {
                center: true,
                ..Weights::default()
            },
        )
        .unwrap();
        let c = centered.scores(&vectors, &texts);
        for col in 0..n {
            assert!((c[col] + c[n + col]).abs() < 1e-5);
        }
    }
}
