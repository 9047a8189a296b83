//! The mapper: the catalog's controls embedded once, scoring batches of passages.

use std::borrow::Cow;

use controlmap_models::{Embedder, Embeddings, LinearProbe};
use rayon::prelude::*;
use serde::Serialize;

use super::{
    centring::CommonDirections,
    decisions::Decisions,
    probe::{Learned, Origin, catalog_probe},
    *,
};
use crate::catalog::Catalog;

/// Why a passage was suggested for a control, for a reviewer to check at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Rationale {
    /// The control's evidence example the passage is closest to…
    pub example: String,
    /// …and the cosine between them.
    pub similarity: f32,
    /// The control's keywords found in the passage.
    pub keywords: Vec<String>,
}

impl Rationale {
    /// One line: `closest to "…" (0.71); keywords: a, b`.
    pub fn line(&self) -> String {
        let mut s = format!("closest to \"{}\" ({:.2})", self.example, self.similarity);
        if !self.keywords.is_empty() {
            s.push_str("; keywords: ");
            s.push_str(&self.keywords.join(", "));
        }
        s
    }
}
/// The catalog's controls, embedded once, scoring batches of passages.
pub struct Mapper {
    n_controls: usize,
    /// Row `c`: the description's vector.
    descriptions: Embeddings,
    /// Example vectors, their texts and the control each belongs to.
    examples: Embeddings,
    example_texts: Vec<String>,
    example_owner: Vec<usize>,
    /// Which examples are a control's summary (one per control): set aside once the probe
    /// has learned labelled passages (see [`learn`](Self::learn)).
    example_is_summary: Vec<bool>,
    /// Counter-example vectors and the control each belongs to.
    counters: Embeddings,
    counter_owner: Vec<usize>,
    /// The catalog's keywords, lower-cased, each once.
    terms: Vec<String>,
    /// Each control's keywords, as indices into `terms`.
    control_terms: Vec<Vec<usize>>,
    /// Scores each control from a vector; fitted on the descriptions and evidence examples,
    /// and on the labelled passages given to [`learn`](Self::learn).
    probe: LinearProbe,
    /// Labelled passages the probe has learned from besides the catalog.
    learned: usize,
    /// Reviewers' decisions, passage by passage (see [`remember`](Self::remember)).
    decisions: Decisions,
    /// The catalog's common directions, removed from every vector before it is compared
    /// (with [`Weights::common`]); the catalog's vectors above are stored with them removed.
    common: Option<CommonDirections>,
    /// Which documents can be evidence at all.
    pub scope: Scope,
    pub weights: Weights,
    pub calibration: Calibration,
}

impl Mapper {
    pub fn new(
        catalog: &Catalog,
        embedder: &dyn Embedder,
        weights: Weights,
    ) -> controlmap_models::Result<Self> {
        let mut descriptions = Vec::new();
        let mut example_texts = Vec::new();
        let mut example_owner = Vec::new();
        let mut example_is_summary = Vec::new();
        let mut counter_texts = Vec::new();
        let mut counter_owner = Vec::new();
        let mut terms: Vec<String> = Vec::new();
        let mut control_terms = Vec::new();
        for (ci, (_, c)) in catalog.controls().enumerate() {
            descriptions.push(c.description());
            for e in &c.evidence_examples {
                example_texts.push(e.clone());
                example_owner.push(ci);
                example_is_summary.push(false);
            }
            // The summary on its own counts as one more example: the examples read like
            // policy text, and a passage that states an outcome in general terms (as
            // frameworks and crosswalks do) is often closest to the summary's own wording
            // (docs/quality.md measures what it adds).
            example_texts.push(c.summary.trim().to_string());
            example_owner.push(ci);
            example_is_summary.push(true);
            for e in &c.counter_examples {
                counter_texts.push(e.as_str());
                counter_owner.push(ci);
            }
            let own: Vec<usize> = c
                .keywords
                .iter()
                .map(|k| {
                    let k = k.to_lowercase();
                    terms.iter().position(|t| *t == k).unwrap_or_else(|| {
                        terms.push(k);
                        terms.len() - 1
                    })
                })
                .collect();
            control_terms.push(own);
        }
        let descs: Vec<&str> = descriptions.iter().map(String::as_str).collect();
        let ex: Vec<&str> = example_texts.iter().map(String::as_str).collect();
        let n_controls = descs.len();
        let mut descriptions = embedder.embed(&descs)?;
        let mut examples = embedder.embed(&ex)?;
        let mut counters = embedder.embed(&counter_texts)?;
        let common = weights.common.map(|k| {
            let both = Embeddings::new(
                descriptions.dim(),
                [descriptions.as_slice(), examples.as_slice()].concat(),
            );
            CommonDirections::fit(&both, k)
        });
        if let Some(common) = &common {
            descriptions = common.apply_all(&descriptions);
            examples = common.apply_all(&examples);
            counters = common.apply_all(&counters);
        }
        let probe = catalog_probe(&descriptions, &examples, &example_owner, None);
        let decisions = Decisions::none(descriptions.dim());
        Ok(Self {
            n_controls,
            descriptions,
            examples,
            probe,
            learned: 0,
            decisions,
            counters,
            common,
            counter_owner,
            example_texts,
            example_owner,
            example_is_summary,
            terms,
            control_terms,
            scope: Scope::new(&catalog.framework.scope_terms),
            weights,
            calibration: Calibration::default(),
        })
    }

    pub fn n_controls(&self) -> usize {
        self.n_controls
    }

    /// Teaches the probe an organisation's own labels: refits it on the catalog's descriptions
    /// and examples plus these passages' vectors, each labelled with the controls it is
    /// evidence for (indices in catalog order). Passages with no label are left out. Replaces
    /// what an earlier call learned. Cosine similarity to the catalog cannot learn a labelling
    /// convention (which controls a crosswalk or an auditor files a kind of text under); the
    /// probe can, when it sees examples of it.
    ///
    /// Once it has learned any, the controls' summaries stop counting as examples (for the
    /// probe and the closest example alike): labelled passages teach the wording the summaries
    /// stood in for, and with both, learning does worse on held-out labels (docs/quality.md).
    ///
    /// `origins` says where each row comes from (public documents or the organisation's own),
    /// which sets its weight; a row without one counts as the organisation's own.
    pub fn learn(&mut self, vectors: &Embeddings, labels: &[Vec<usize>], origins: &[Origin]) {
        let labelled: Vec<usize> = (0..labels.len().min(vectors.len()))
            .filter(|&i| !labels[i].is_empty())
            .collect();
        let rows = Embeddings::new(
            vectors.dim(),
            labelled
                .iter()
                .flat_map(|&i| self.comparable(vectors.row(i)).into_owned())
                .collect(),
        );
        let sets: Vec<&[usize]> = labelled.iter().map(|&i| labels[i].as_slice()).collect();
        let origins: Vec<Origin> = labelled
            .iter()
            .map(|&i| origins.get(i).copied().unwrap_or(Origin::Own))
            .collect();
        self.learned = labelled.len();
        let (mut data, mut owner) = (Vec::new(), Vec::new());
        for (_, e, c) in self.active_examples() {
            data.extend_from_slice(e);
            owner.push(c);
        }
        self.probe = catalog_probe(
            &self.descriptions,
            &Embeddings::new(self.examples.dim(), data),
            &owner,
            Some(Learned {
                rows: &rows,
                sets: &sets,
                origins: &origins,
            }),
        );
    }

    /// Remembers reviewers' decisions: `pairs` are `(row of vectors, control, accepted)`. From
    /// then on a passage close to a decided one has the decided control's score moved up
    /// when it was accepted and down when it was rejected ([`Decisions`]). What an accepted
    /// passage teaches about other passages is for the probe: give it to
    /// [`learn`](Self::learn) as well. Replaces what an earlier call remembered.
    pub fn remember(&mut self, vectors: &Embeddings, pairs: &[(usize, usize, bool)]) {
        self.decisions = Decisions::new(vectors, pairs, self.n_controls);
    }

    /// How many decisions the mapper remembers.
    pub fn remembered(&self) -> usize {
        self.decisions.len()
    }

    /// The examples the mapper compares with (index, vector, control): all of them, less the
    /// summaries once labels are learned.
    fn active_examples(&self) -> impl Iterator<Item = (usize, &[f32], usize)> {
        let summaries = self.learned == 0;
        self.examples
            .rows()
            .zip(&self.example_owner)
            .zip(&self.example_is_summary)
            .enumerate()
            .filter(move |(_, (_, s))| summaries || !**s)
            .map(|(i, ((e, &c), _))| (i, e, c))
    }

    /// How many labelled passages the probe learned from besides the catalog.
    pub fn learned(&self) -> usize {
        self.learned
    }

    /// A passage's vector as the catalog's are compared: with the common directions removed
    /// when the weights ask for it.
    fn comparable<'v>(&self, v: &'v [f32]) -> Cow<'v, [f32]> {
        match &self.common {
            Some(common) => Cow::Owned(common.apply(v)),
            None => Cow::Borrowed(v),
        }
    }

    /// The dense part of a vector's score row: description, best and mean example, less the
    /// closest counter-example.
    fn dense_row(&self, p: &[f32], row: &mut [f32]) {
        let p = &*self.comparable(p);
        let n = self.n_controls;
        let w = self.weights;
        let mut ex_max = vec![f32::NEG_INFINITY; n];
        let mut ex_sum = vec![0f32; n];
        let mut ex_count = vec![0usize; n];
        for (_, e, c) in self.active_examples() {
            let s = dot(e, p);
            ex_max[c] = ex_max[c].max(s);
            ex_sum[c] += s;
            ex_count[c] += 1;
        }
        for (c, r) in row.iter_mut().enumerate() {
            let desc = dot(self.descriptions.row(c), p);
            let (mx, mean) = match ex_count[c] {
                0 => (desc, desc),
                k => (ex_max[c], ex_sum[c] / k as f32),
            };
            *r = w.description * desc + w.example_max * mx + w.example_mean * mean;
        }
        if w.probe != 0.0 {
            self.probe.add_scores(p, w.probe, row);
        }
        if w.counter != 0.0 {
            let mut counter_max = vec![f32::NEG_INFINITY; n];
            for (e, &c) in self.counters.rows().zip(&self.counter_owner) {
                counter_max[c] = counter_max[c].max(dot(e, p));
            }
            for (r, m) in row.iter_mut().zip(counter_max) {
                if m.is_finite() {
                    *r -= w.counter * m;
                }
            }
        }
    }

    /// How many of control `c`'s keywords occur in `lower` (a lower-cased text), and which.
    fn keyword_hits<'k>(&'k self, lower: &str, c: usize) -> impl Iterator<Item = &'k String> {
        self.control_terms[c]
            .iter()
            .map(|&k| &self.terms[k])
            .filter(move |t| contains_word(lower, t))
    }

    /// The keyword signal of each text and control, in [0, 1]: the share of the control's
    /// keywords found (three or more: 1), or with [`Weights::bm25`] the BM25 score of its
    /// keywords (each a term, counted as a whole phrase; document frequencies and the mean
    /// length from the batch), saturated as `s / (s + 2)`.
    fn keyword_scores(&self, texts: &[&str]) -> Vec<f32> {
        const K1: f32 = 1.2;
        const B: f32 = 0.75;
        let n = self.n_controls;
        // Each text's keyword counts (sparse: most texts hold few keywords) and its length in
        // words.
        let found: Vec<(Vec<(usize, f32)>, f32)> = texts
            .par_iter()
            .map(|t| {
                let lower = t.to_lowercase();
                let counts = self
                    .terms
                    .iter()
                    .enumerate()
                    .filter_map(|(k, term)| {
                        let count = count_words(&lower, term);
                        (count > 0).then_some((k, count as f32))
                    })
                    .collect();
                (counts, lower.split_whitespace().count() as f32)
            })
            .collect();
        // For BM25: each term's inverse document frequency, and the mean length.
        let bm25 = self.weights.bm25.then(|| {
            let docs = texts.len() as f32;
            let mut df = vec![0f32; self.terms.len()];
            for (counts, _) in &found {
                for &(k, _) in counts {
                    df[k] += 1.0;
                }
            }
            let idf: Vec<f32> = df
                .iter()
                .map(|&d| (1.0 + (docs - d + 0.5) / (d + 0.5)).ln())
                .collect();
            let mean_length = (found.iter().map(|(_, l)| l).sum::<f32>() / docs.max(1.0)).max(1.0);
            (idf, mean_length)
        });
        let mut out = vec![0f32; texts.len() * n];
        out.par_chunks_mut(n.max(1))
            .zip(found.par_iter())
            .for_each(|(row, (counts, len))| {
                let weight = |k: usize| {
                    let Some(&(_, f)) = counts.iter().find(|&&(t, _)| t == k) else {
                        return 0.0;
                    };
                    match &bm25 {
                        None => 1.0,
                        Some((idf, mean_length)) => {
                            let norm = K1 * (1.0 - B + B * len / mean_length);
                            idf[k] * f * (K1 + 1.0) / (f + norm)
                        }
                    }
                };
                for (r, ks) in row.iter_mut().zip(&self.control_terms) {
                    let s: f32 = ks.iter().map(|&k| weight(k)).sum();
                    *r = if bm25.is_some() {
                        s / (s + 2.0)
                    } else {
                        s.min(3.0) / 3.0
                    };
                }
            });
        out
    }

    /// `scores[p * n_controls + c]` for a batch of passages, computed as matrix work over all
    /// passages and controls at once (rows in parallel).
    pub fn scores(&self, batch: &Batch) -> Vec<f32> {
        let n = self.n_controls.max(1);
        let w = self.weights;
        let rows: Vec<&[f32]> = batch.vectors.rows().collect();
        // Each distinct context's row, once.
        let context_rows: Vec<f32> = match (&batch.contexts.vectors, w.context != 0.0) {
            (Some(v), true) => {
                let mut out = vec![0f32; v.len() * n];
                out.par_chunks_mut(n)
                    .zip(v.rows().collect::<Vec<_>>().par_iter())
                    .for_each(|(row, p)| self.dense_row(p, row));
                out
            }
            _ => Vec::new(),
        };
        let keywords = if w.keywords != 0.0 {
            self.keyword_scores(batch.texts)
        } else {
            Vec::new()
        };
        let mut scores = vec![0f32; rows.len() * n];
        scores.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            self.dense_row(rows[i], row);
            if !keywords.is_empty() {
                for (r, k) in row.iter_mut().zip(&keywords[i * n..(i + 1) * n]) {
                    *r += w.keywords * k;
                }
            }
            if let Some(ctx) = batch.contexts.of.get(i).copied().flatten()
                && !context_rows.is_empty()
            {
                let crow = &context_rows[ctx * n..(ctx + 1) * n];
                // A passage with no words of its own (a heading with nothing under it, an
                // item with only a category) says only what its context says.
                let blank = batch.texts.get(i).is_some_and(|t| t.trim().is_empty());
                for (r, c) in row.iter_mut().zip(crow) {
                    *r = if blank {
                        *c
                    } else {
                        (*r + w.context * c) / (1.0 + w.context)
                    };
                }
            }
        });
        if w.neighbours != 0.0 {
            scores = self.lean_on_neighbours(&scores, batch.sections);
        }
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
        self.decisions.apply(&rows, &mut scores, n);
        scores
    }

    /// Each row moves towards the mean of the rows just before and after it in the same
    /// section: a sentence in a section about supplier assessments is more likely about
    /// suppliers than it reads alone.
    fn lean_on_neighbours(&self, scores: &[f32], sections: &[Option<u64>]) -> Vec<f32> {
        let n = self.n_controls.max(1);
        let beta = self.weights.neighbours;
        let n_rows = scores.len() / n;
        let same = |a: usize, b: usize| matches!((sections.get(a), sections.get(b)), (Some(Some(x)), Some(Some(y))) if x == y);
        let mut out = scores.to_vec();
        out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            let neighbours: Vec<usize> = [i.checked_sub(1), Some(i + 1)]
                .into_iter()
                .flatten()
                .filter(|&j| j < n_rows && same(i, j))
                .collect();
            if neighbours.is_empty() {
                return;
            }
            for (c, r) in row.iter_mut().enumerate() {
                let mean = neighbours.iter().map(|&j| scores[j * n + c]).sum::<f32>()
                    / neighbours.len() as f32;
                *r = (*r + beta * mean) / (1.0 + beta);
            }
        });
        out
    }

    /// Why the passage with vector `vector` and text `text` was suggested for control `c`:
    /// the closest of the control's evidence examples proper (its summary, which scores as
    /// one, would tell a reviewer only what the control is about) and the keywords found.
    pub fn rationale(&self, vector: &[f32], text: &str, c: usize) -> Rationale {
        let vector = &*self.comparable(vector);
        let (mut best, mut sim) = (None, f32::NEG_INFINITY);
        for (i, e, o) in self.active_examples() {
            if o == c && !self.example_is_summary[i] {
                let s = dot(e, vector);
                if s > sim {
                    (best, sim) = (Some(i), s);
                }
            }
        }
        let lower = text.to_lowercase();
        Rationale {
            example: best.map_or_else(String::new, |i| self.example_texts[i].clone()),
            similarity: if best.is_some() { sim } else { 0.0 },
            keywords: self.keyword_hits(&lower, c).cloned().collect(),
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    controlmap_index::dot(a, b)
}

#[cfg(test)]
mod mapper_tests {
    use controlmap_models::{BertEmbedder, DeviceChoice, testing::TinyModel};

    use super::*;

    fn tiny() -> (tempfile::TempDir, BertEmbedder) {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        let e = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        (dir, e)
    }

    fn score(
        m: &Mapper,
        e: &BertEmbedder,
        texts: &[&str],
        ctx: &Contexts,
        sec: &[Option<u64>],
    ) -> Vec<f32> {
        let vectors = e.embed(texts).unwrap();
        m.scores(&Batch {
            vectors: &vectors,
            texts,
            contexts: ctx,
            sections: sec,
        })
    }

    #[test]
    fn learning_labels_raises_the_labelled_control_for_like_passages() {
        let (_dir, e) = tiny();
        let catalog = Catalog::builtin();
        let mut m = Mapper::new(&catalog, &e, "probe=1".parse().unwrap()).unwrap();
        let v = e
            .embed(&["expense claims for business travel are filed monthly"])
            .unwrap();
        let catalog_only = m.probe.scores(v.row(0));
        let rank = |s: &[f32], c: usize| s.iter().filter(|&&x| x > s[c]).count();
        // The control the catalog's probe puts last for this text.
        let target = (0..m.n_controls())
            .min_by(|&a, &b| catalog_only[a].total_cmp(&catalog_only[b]))
            .unwrap();
        assert!(rank(&catalog_only, target) > 30);

        // (The tiny model's weights are random, so what it embeds differs from run to run:
        // twenty copies make the lesson plain in any of its spaces.)
        let rows = Embeddings::new(v.dim(), v.row(0).repeat(21));
        let mut labels = vec![vec![target]; 20];
        labels.push(vec![]);
        m.learn(&rows, &labels, &[]);
        assert_eq!(m.learned(), 20, "the unlabelled row teaches nothing");
        let learned = m.probe.scores(v.row(0));
        assert_eq!(rank(&learned, target), 0, "{learned:?}");
        // The mapper's score moves by exactly the probe's change.
        let texts = ["expense claims for business travel are filed monthly"];
        let none = [None];
        let after = score(&m, &e, &texts, &Contexts::none(1), &none);
        m.learn(&rows, &vec![vec![]; 21], &[]);
        assert_eq!(m.learned(), 0);
        assert_eq!(
            m.probe.scores(v.row(0)),
            catalog_only,
            "back to the catalog's fit"
        );
        let before = score(&m, &e, &texts, &Contexts::none(1), &none);
        assert!(
            (after[target] - before[target] - (learned[target] - catalog_only[target])).abs()
                < 1e-4
        );
    }

    #[test]
    fn bm25_keywords_weigh_rare_terms_more_and_long_passages_less() {
        let (_dir, e) = tiny();
        let catalog = Catalog::builtin();
        let mapper = |w: &str| Mapper::new(&catalog, &e, w.parse().unwrap()).unwrap();
        let filler = " and more words".repeat(40);
        let long = format!("the ai policy is reviewed{filler}");
        // "ai policy" is in three texts, "ai principles" in one; both are A.2.2's (column 0).
        let texts = [
            "the ai policy is reviewed",
            long.as_str(),
            "the ai policy and the ai principles are reviewed",
            "our ai principles are reviewed",
            "nothing to see here",
        ];
        let n = catalog.controls().count();
        let bm25 = mapper("kw=1,bm25").keyword_scores(&texts);
        let a22 = |i: usize| bm25[i * n];
        assert!(a22(0) > a22(1), "longer passage, same term: {bm25:?}");
        assert!(a22(3) > a22(0), "the rare term counts more");
        assert!(a22(2) > a22(0) && a22(2) > a22(3), "two terms beat one");
        assert_eq!(a22(4), 0.0);
        assert!(bm25.iter().all(|&s| (0.0..1.0).contains(&s)));
        // The share signal sees no difference between the first three.
        let share = mapper("kw=1").keyword_scores(&texts);
        assert_eq!(share[0], 1.0 / 3.0);
        assert_eq!(share[n], 1.0 / 3.0);
        assert_eq!(share[3 * n], 1.0 / 3.0);
        assert_eq!(
            count_words("ai policy, the ai policy; aipolicy", "ai policy"),
            2
        );
    }

    #[test]
    fn each_signal_moves_the_score_as_documented() {
        let (_dir, e) = tiny();
        let catalog = Catalog::builtin();
        let texts = ["the ai policy is reviewed every year", "data quality risk"];
        let none = Contexts::none(2);
        let alone = [None, None];
        let mapper = |w: &str| Mapper::new(&catalog, &e, w.parse().unwrap()).unwrap();
        let base = score(&mapper("max=1"), &e, &texts, &none, &alone);
        let n = catalog.controls().count();
        assert_eq!(base.len(), 2 * n);

        // "ai policy" is a keyword of A.2.2 (control 0): its score rises by a third.
        let with_kw = score(&mapper("max=1,kw=1"), &e, &texts, &none, &alone);
        assert!(
            (with_kw[0] - base[0] - 1.0 / 3.0).abs() < 1e-5,
            "{} vs {}",
            with_kw[0],
            base[0]
        );

        // The probe adds its own score, the ridge fit on the catalog.
        let with_probe = score(&mapper("max=1,probe=0.5"), &e, &texts, &none, &alone);
        let probe = mapper("max=1")
            .probe
            .scores(e.embed(&texts).unwrap().row(0));
        assert!(probe.iter().any(|&p| p.abs() > 1e-3), "{probe:?}");
        for c in 0..n {
            assert!((with_probe[c] - base[c] - 0.5 * probe[c]).abs() < 1e-5);
        }

        // Centering zeroes each control's mean.
        let c = score(&mapper("max=1,center"), &e, &texts, &none, &alone);
        for col in 0..n {
            assert!((c[col] + c[n + col]).abs() < 1e-5);
        }

        // Neighbours in one section pull each other together; in different sections, not.
        let same = [Some(1), Some(1)];
        let nb = score(&mapper("max=1,nb=1"), &e, &texts, &none, &same);
        for col in 0..n {
            let mean = (base[col] + base[n + col]) / 2.0;
            assert!((nb[col] - mean).abs() < 1e-5 && (nb[n + col] - mean).abs() < 1e-5);
        }
        let apart = score(
            &mapper("max=1,nb=1"),
            &e,
            &texts,
            &none,
            &[Some(1), Some(2)],
        );
        assert_eq!(apart, base);

        // A context mixes in the context's own dense row: with the passage as its own context
        // nothing changes; with another text it moves.
        let own =
            Contexts::embed(&e, &[Some(texts[0].into()), None], &mut Default::default()).unwrap();
        let ctx = score(&mapper("max=1,ctx=0.5"), &e, &texts, &own, &alone);
        for (a, b) in ctx.iter().zip(&base) {
            assert!((a - b).abs() < 1e-5);
        }
        let other = Contexts::embed(
            &e,
            &[Some("Supplier management".into()), None],
            &mut Default::default(),
        )
        .unwrap();
        let moved = score(&mapper("max=1,ctx=0.5"), &e, &texts, &other, &alone);
        assert_ne!(&moved[..n], &base[..n]);
        assert_eq!(&moved[n..], &base[n..], "the second passage has no context");

        // A passage with no words of its own is scored by its context alone: exactly the
        // score a passage with the context's text would have on its own.
        let blank_texts = ["  ", "data quality risk"];
        let blank = score(&mapper("max=1,ctx=0.5"), &e, &blank_texts, &other, &alone);
        let heading = score(
            &mapper("max=1"),
            &e,
            &["Supplier management"],
            &Contexts::none(1),
            &[None],
        );
        for (a, b) in blank[..n].iter().zip(&heading) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(&blank[n..], &base[n..]);

        // A passage that is one of A.8.5's counter-examples loses `neg` times its cosine
        // (1) there; controls without counter-examples do not move.
        let a85 = catalog
            .controls()
            .position(|(_, c)| c.id == "A.8.5")
            .unwrap();
        let a22 = 0;
        let friend = catalog.control("A.8.5").unwrap().counter_examples[0].as_str();
        let texts = [friend];
        let (none, alone) = (Contexts::none(1), [None]);
        let plain = score(&mapper("max=1"), &e, &texts, &none, &alone);
        let pushed = score(&mapper("max=1,neg=0.5"), &e, &texts, &none, &alone);
        assert!(
            (plain[a85] - pushed[a85] - 0.5).abs() < 1e-4,
            "{} vs {}",
            plain[a85],
            pushed[a85]
        );
        assert_eq!(plain[a22], pushed[a22]);

        // With the common directions removed, the description signal is the cosine of the
        // two vectors after removal, and differs from the plain cosine.
        let texts = ["data quality risk"];
        let plain = score(&mapper("desc=1"), &e, &texts, &none, &alone);
        let stripped_mapper = mapper("desc=1,common=1");
        let stripped = score(&stripped_mapper, &e, &texts, &none, &alone);
        let common = stripped_mapper.common.as_ref().unwrap();
        assert_eq!(common.directions(), 1);
        let p = common.apply(e.embed(&texts).unwrap().row(0));
        let desc = e
            .embed(&[catalog.control("A.2.2").unwrap().description().as_str()])
            .unwrap();
        let expected = dot(&common.apply(desc.row(0)), &p);
        assert!(
            (stripped[a22] - expected).abs() < 1e-5,
            "{} vs {expected}",
            stripped[a22]
        );
        assert!((stripped[a22] - plain[a22]).abs() > 1e-3);
    }

    #[test]
    fn rationale_names_the_closest_example_and_the_keywords_found() {
        let (_dir, e) = tiny();
        let catalog = Catalog::builtin();
        let mapper = Mapper::new(&catalog, &e, Weights::default()).unwrap();
        let (_, a22) = catalog.controls().next().unwrap();
        // An example of A.2.2 itself is closest to itself.
        let text = a22.evidence_examples[2].clone();
        let v = e.embed(&[text.as_str()]).unwrap();
        let r = mapper.rationale(v.row(0), &format!("{text} Our AI policy."), 0);
        assert_eq!(r.example, text);
        assert!((r.similarity - 1.0).abs() < 1e-4);
        assert!(
            r.keywords.contains(&"ai policy".to_string()),
            "{:?}",
            r.keywords
        );
        assert!(r.line().starts_with("closest to \""));
    }

    #[test]
    fn a_controls_summary_counts_as_one_of_its_examples() {
        let (_dir, e) = tiny();
        let catalog = Catalog::builtin();
        let mut mapper = Mapper::new(&catalog, &e, "max=1".parse().unwrap()).unwrap();
        let (ci, (_, c)) = catalog
            .controls()
            .enumerate()
            .find(|(_, (_, c))| c.id == "A.6.2.7")
            .unwrap();
        let summary = c.summary.trim();
        assert!(!c.evidence_examples.iter().any(|x| x.trim() == summary));
        // With only the closest-example signal, a passage worded as the summary scores its
        // cosine to itself for the control; the rationale still names an evidence example.
        let row = score(&mapper, &e, &[summary], &Contexts::none(1), &[None]);
        assert!((row[ci] - 1.0).abs() < 1e-4, "{}", row[ci]);
        let v = e.embed(&[summary]).unwrap();
        let r = mapper.rationale(v.row(0), summary, ci);
        assert!(c.evidence_examples.contains(&r.example), "{}", r.example);
        assert!(r.similarity < row[ci]);

        // Once labelled passages are learned, the summaries step aside; learning nothing
        // brings them back.
        let other = e
            .embed(&["incidents are reported to the regulator"])
            .unwrap();
        mapper.learn(&other, &[vec![ci]], &[]);
        let learned = score(&mapper, &e, &[summary], &Contexts::none(1), &[None]);
        assert!(learned[ci] < 0.9999, "{}", learned[ci]);
        mapper.learn(&other, &[vec![]], &[]);
        assert_eq!(
            score(&mapper, &e, &[summary], &Contexts::none(1), &[None]),
            row
        );
    }
}
