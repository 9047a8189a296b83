//! Scoring passages against controls ([`Mapper`]) and deciding each control's status
//! ([`assess`]). Signals: cosine similarity to the control's description, to its evidence
//! examples (its summary among them) and counter-examples, a linear probe fitted on the
//! catalog, and the share of its keywords in the passage, combined by [`Weights`]; `eval`
//! measures what each adds.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};

use controlmap_models::{Embedder, Embeddings, LinearProbe};
use rayon::prelude::*;
use serde::Serialize;

use crate::{catalog::Catalog, chunk::Passage, common::CommonDirections, parse::normalise_space};

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

/// When a passage counts for a control, in calibrated confidence (see [`Calibration`]).
#[derive(Debug, Clone, Copy, Serialize)]
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

/// The ridge penalty of the linear probe (`λ` in `|X·W − Y|² + λ|W|²`, unit vectors): between
/// 0.3 and 3 the eval figures hardly move; much less and the probe learns the examples' wording.
const PROBE_RIDGE: f64 = 1.0;

/// How the signals of a (passage, control) pair combine into one score.
///
/// A passage's own score is `description·cos(desc) + example_max·max cos(example) +
/// example_mean·mean cos(example) − counter·max cos(counter-example) + probe·probe score +
/// keywords·share`; its context's (the heading path, or an item's category) is the same
/// without keywords; the two mix as `(own + context·ctx) / (1 + context)`, and a passage then
/// leans towards its neighbours in the same section:
/// `(s + neighbours·mean(neighbour s)) / (1 + neighbours)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Cosine to the control's description (title and summary).
    pub description: f32,
    /// Best cosine to one of its evidence examples (its summary alone counts as one).
    pub example_max: f32,
    /// Mean cosine to its evidence examples (the summary included).
    pub example_mean: f32,
    /// Best cosine to one of the control's counter-examples (its title's false friends),
    /// subtracted.
    pub counter: f32,
    /// The linear probe's score: ridge regression from vectors to controls, fitted on the
    /// catalog's descriptions and evidence examples (which directions of the embedding space
    /// tell the controls apart).
    pub probe: f32,
    /// Share of the control's keywords found in the passage (capped at three), or with
    /// [`Weights::bm25`] their BM25 score.
    pub keywords: f32,
    /// Weight of the passage's context (heading path) against the passage itself.
    pub context: f32,
    /// Weight of the mean of the passage's neighbours in its section.
    pub neighbours: f32,
    /// Before any comparison, subtract the catalog's mean vector and project out its this
    /// many strongest principal directions, from the catalog's vectors and the passages'
    /// alike (see [`crate::common`]); `None` compares the model's vectors as they are.
    pub common: Option<usize>,
    /// Subtract each control's mean score over the scored passages, so controls that are
    /// close to everything (hubs) stop winning every passage.
    pub center: bool,
    /// Score keywords by BM25 over the batch (rare keywords count more, long passages less;
    /// saturated into [0, 1) as `s / (s + 2)`) instead of the share found.
    pub bm25: bool,
}

impl Weights {
    /// No signal at all; `"max=1".parse()` and friends start from here.
    pub const ZERO: Weights = Weights {
        description: 0.0,
        example_max: 0.0,
        example_mean: 0.0,
        counter: 0.0,
        probe: 0.0,
        keywords: 0.0,
        context: 0.0,
        neighbours: 0.0,
        common: None,
        center: false,
        bm25: false,
    };
}

impl Default for Weights {
    /// Chosen on the sample organisation's gold and the NIST crosswalk together (see the
    /// README's Quality section, which also gives the cross-validated figures): mostly the
    /// description, then the closest example; the heading path with half a passage's say,
    /// the neighbours a fifth, a little for keywords; counter-examples push false friends down
    /// and the linear probe separates controls whose descriptions read alike.
    fn default() -> Self {
        Self {
            description: 0.625,
            example_max: 0.375,
            counter: 0.3,
            probe: 0.75,
            keywords: 0.25,
            context: 0.5,
            neighbours: 0.25,
            ..Self::ZERO
        }
    }
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "desc={},max={},mean={},neg={},probe={},kw={},ctx={},nb={}{}{}{}",
            self.description,
            self.example_max,
            self.example_mean,
            self.counter,
            self.probe,
            self.keywords,
            self.context,
            self.neighbours,
            match self.common {
                Some(k) => format!(",common={k}"),
                None => String::new(),
            },
            if self.center { ",center" } else { "" },
            if self.bm25 { ",bm25" } else { "" }
        )
    }
}

impl std::str::FromStr for Weights {
    type Err = String;

    /// `default`, or `key=value` pairs with keys `desc`, `max`, `mean`, `neg`, `probe`, `kw`,
    /// `ctx`, `nb` and the flags `center` and `bm25`; keys left out are 0, e.g.
    /// `desc=0.5,max=0.5,ctx=0.35`. `default` may start the list, with flags or keys that
    /// change it: `default,bm25`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut w = Self::ZERO;
        for (i, part) in s.split(',').map(str::trim).enumerate() {
            match part {
                "default" if i == 0 => {
                    w = Self::default();
                    continue;
                }
                "center" => {
                    w.center = true;
                    continue;
                }
                "bm25" => {
                    w.bm25 = true;
                    continue;
                }
                "" => continue,
                _ => {}
            }
            if let Some(k) = part.strip_prefix("common=") {
                w.common = Some(
                    k.trim()
                        .parse()
                        .map_err(|e| format!("`{part}`: {e} (a whole number of directions)"))?,
                );
                continue;
            }
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!(
                    "`{part}`: expected key=value (desc, max, mean, neg, probe, kw, ctx, nb, common), center or bm25"
                )
            })?;
            let value: f32 = value.trim().parse().map_err(|e| format!("`{part}`: {e}"))?;
            let slot = match key.trim() {
                "desc" => &mut w.description,
                "max" => &mut w.example_max,
                "mean" => &mut w.example_mean,
                "neg" => &mut w.counter,
                "probe" => &mut w.probe,
                "kw" => &mut w.keywords,
                "ctx" => &mut w.context,
                "nb" => &mut w.neighbours,
                other => {
                    return Err(format!(
                        "unknown weight `{other}` (desc, max, mean, neg, probe, kw, ctx, nb, common, center, bm25)"
                    ));
                }
            };
            *slot = value;
        }
        Ok(w)
    }
}

/// Turns a pair's score into the probability that the suggestion is right, by logistic
/// regression on three features: the score, its distance below the passage's best score (0
/// for the best control) and whether it is the passage's best. Fitted with
/// `controlmap eval --fit-calibration` on the sample organisation's gold mapping (pairs: each
/// labelled passage's five best controls, right when the label names the control).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Calibration {
    pub score: f32,
    pub margin: f32,
    pub top: f32,
    pub bias: f32,
}

impl Default for Calibration {
    /// Fitted on corpora/sample-org's gold.yaml with the default [`Weights`]: `controlmap eval
    /// --fit-calibration` prints these figures.
    fn default() -> Self {
        Self {
            score: 5.543,
            margin: 6.554,
            top: 1.359,
            bias: -4.484,
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

/// Context for the passages being scored: vectors of their contexts (heading paths, or an
/// item's category), shared by passages with the same context.
pub struct Contexts {
    vectors: Option<Embeddings>,
    /// Each passage's row in `vectors`.
    of: Vec<Option<usize>>,
}

impl Contexts {
    /// No passage has a context.
    pub fn none(n: usize) -> Self {
        Self {
            vectors: None,
            of: vec![None; n],
        }
    }

    /// Embeds each distinct context once, taking those `cache` holds from it, and leaves in
    /// `cache` exactly these contexts' vectors.
    pub fn embed(
        embedder: &dyn Embedder,
        contexts: &[Option<String>],
        cache: &mut crate::context_cache::ContextCache,
    ) -> controlmap_models::Result<Self> {
        let mut distinct: Vec<&str> = Vec::new();
        let mut row_of = std::collections::HashMap::new();
        let of = contexts
            .iter()
            .map(|c| {
                let c = c.as_deref()?.trim();
                if c.is_empty() {
                    return None;
                }
                Some(*row_of.entry(c).or_insert_with(|| {
                    distinct.push(c);
                    distinct.len() - 1
                }))
            })
            .collect();
        let dim = embedder.dim();
        let missing: Vec<&str> = distinct
            .iter()
            .copied()
            .filter(|c| cache.get(c, dim).is_none())
            .collect();
        let fresh = if missing.is_empty() {
            Embeddings::new(dim, Vec::new())
        } else {
            embedder.embed(&missing)?
        };
        let mut data = Vec::with_capacity(distinct.len() * dim);
        let mut fresh_rows = fresh.rows();
        for c in &distinct {
            match cache.get(c, dim) {
                Some(v) => data.extend_from_slice(v),
                None => data.extend_from_slice(fresh_rows.next().expect("one row per missing")),
            }
        }
        let vectors = Embeddings::new(dim, data);
        cache.replace(&distinct, &vectors);
        cache.reused = distinct.len() - missing.len();
        cache.embedded = missing.len();
        let vectors = (!distinct.is_empty()).then_some(vectors);
        Ok(Self { vectors, of })
    }
}

/// What the mapper scores: passage vectors and texts, their contexts, and the section each
/// belongs to (passages next to each other with the same section are neighbours).
pub struct Batch<'a> {
    pub vectors: &'a Embeddings,
    pub texts: &'a [&'a str],
    pub contexts: &'a Contexts,
    pub sections: &'a [Option<u64>],
}

/// The section key of a passage: its document and heading path.
pub fn section_key(p: &Passage) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&p.document, &p.headings).hash(&mut h);
    Some(h.finish())
}

/// The probe fitted on each control's description and evidence examples (one row each,
/// labelled with its control), and on `extra` labelled rows when given.
fn catalog_probe(
    descriptions: &Embeddings,
    examples: &Embeddings,
    example_owner: &[usize],
    extra: Option<(&Embeddings, &[&[usize]])>,
) -> LinearProbe {
    let n_controls = descriptions.len();
    let mut data = [descriptions.as_slice(), examples.as_slice()].concat();
    let mut labels: Vec<&[usize]> = Vec::new();
    let own: Vec<usize> = (0..n_controls).collect();
    labels.extend(own.iter().map(std::slice::from_ref));
    labels.extend(example_owner.iter().map(std::slice::from_ref));
    if let Some((rows, sets)) = extra {
        data.extend(rows.rows().take(sets.len()).flatten());
        labels.extend(sets.iter().take(rows.len()));
    }
    LinearProbe::fit_sets(
        &Embeddings::new(descriptions.dim(), data),
        &labels,
        n_controls,
        PROBE_RIDGE,
    )
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
            // (NIST R@5 0.389 → 0.450 with the default weights; see the README's Quality).
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
        Ok(Self {
            n_controls,
            descriptions,
            examples,
            probe,
            learned: 0,
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
    /// stood in for, and with both, learning did worse (NIST 5-fold MRR 0.616 against 0.629;
    /// the sample learning the NIST file, P@1 0.794 against 0.817).
    pub fn learn(&mut self, vectors: &Embeddings, labels: &[Vec<usize>]) {
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
            Some((&rows, &sets)),
        );
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

/// The documents a catalog's framework applies to: those that mention at least one of its
/// scope terms (whole words, any case) in a passage's text, heading path or title. An AI
/// management standard says nothing about a travel expenses policy, however close its
/// sentences come to a control's wording ("customers", "approved by", "responsible for").
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Lower-cased; empty: every document is in scope.
    terms: Vec<String>,
}

impl Scope {
    pub fn new(terms: &[String]) -> Self {
        Self {
            terms: terms
                .iter()
                .map(|t| normalise_space(t).to_lowercase())
                .collect(),
        }
    }

    /// Every document is in scope.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The terms, lower-cased.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Whether `text` mentions a scope term (always, when there are none).
    pub fn mentions(&self, text: &str) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        // One space between words, so that a term of two words matches across a line break.
        let lower = normalise_space(text).to_lowercase();
        self.terms.iter().any(|t| contains_word(&lower, t))
    }

    /// The documents among `passages` none of whose passages mentions a scope term, sorted.
    pub fn out_of_scope(&self, passages: &[&Passage]) -> Vec<String> {
        if self.terms.is_empty() {
            return Vec::new();
        }
        let mut in_scope: HashSet<&str> = HashSet::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for p in passages {
            seen.insert(&p.document);
            if in_scope.contains(p.document.as_str()) {
                continue;
            }
            if self.mentions(&p.text) || self.mentions(&p.heading_path()) || self.mentions(&p.title)
            {
                in_scope.insert(&p.document);
            }
        }
        seen.into_iter()
            .filter(|d| !in_scope.contains(d))
            .map(str::to_string)
            .collect()
    }

    /// Mutes the score rows of the passages of documents outside the scope and returns those
    /// documents.
    pub fn mute_outside(
        &self,
        scores: &mut [f32],
        n_controls: usize,
        passages: &[&Passage],
    ) -> Vec<String> {
        let out = self.out_of_scope(passages);
        if !out.is_empty() {
            let outside: HashSet<&str> = out.iter().map(String::as_str).collect();
            mute(
                scores,
                n_controls,
                passages
                    .iter()
                    .map(|p| outside.contains(p.document.as_str())),
            );
        }
        out
    }
}

/// A corpus's passages mapped: `scores` order each passage's controls, `confidence` says how
/// likely each pair is right (both `[p * n_controls + c]`).
pub struct Mapped {
    pub scores: Vec<f32>,
    pub confidence: Vec<f32>,
    /// Documents outside the mapper's [`Scope`], whose passages are muted.
    pub out_of_scope: Vec<String>,
}

/// Maps a corpus's passages (in document order, with their vectors): each passage's context
/// is its heading path, its neighbours the passages beside it under the same headings;
/// document-control text and the passages of documents outside the mapper's [`Scope`] are
/// muted.
pub fn map_passages(
    mapper: &Mapper,
    embedder: &dyn Embedder,
    passages: &[&Passage],
    vectors: &Embeddings,
    cache: &mut crate::context_cache::ContextCache,
) -> controlmap_models::Result<Mapped> {
    let prepared = Prepared::new(mapper, embedder, passages, cache)?;
    Ok(map_prepared(mapper, passages, vectors, &prepared))
}

/// What scoring a corpus's passages needs besides their vectors, made once for scoring them
/// several times (cross-validation maps the same passages with a mapper per fold).
pub struct Prepared {
    texts: Vec<String>,
    contexts: Contexts,
    sections: Vec<Option<u64>>,
}

impl Prepared {
    /// The passages' texts and sections, and their heading paths embedded (when the mapper
    /// weighs context at all; those `cache` holds are taken from it, see [`Contexts::embed`]).
    pub fn new(
        mapper: &Mapper,
        embedder: &dyn Embedder,
        passages: &[&Passage],
        cache: &mut crate::context_cache::ContextCache,
    ) -> controlmap_models::Result<Self> {
        let contexts: Vec<Option<String>> = passages.iter().map(|p| Some(context_of(p))).collect();
        let contexts = if mapper.weights.context != 0.0 {
            Contexts::embed(embedder, &contexts, cache)?
        } else {
            Contexts::none(passages.len())
        };
        Ok(Self {
            texts: passages.iter().map(|p| p.embedding_text()).collect(),
            contexts,
            sections: passages.iter().map(|p| section_key(p)).collect(),
        })
    }
}

/// [`map_passages`] with the passages already [`Prepared`].
pub fn map_prepared(
    mapper: &Mapper,
    passages: &[&Passage],
    vectors: &Embeddings,
    prepared: &Prepared,
) -> Mapped {
    let texts: Vec<&str> = prepared.texts.iter().map(String::as_str).collect();
    let mut scores = mapper.scores(&Batch {
        vectors,
        texts: &texts,
        contexts: &prepared.contexts,
        sections: &prepared.sections,
    });
    let n = mapper.n_controls();
    mute(
        &mut scores,
        n,
        passages.iter().map(|p| is_document_control(p)),
    );
    let out_of_scope = mapper.scope.mute_outside(&mut scores, n, passages);
    let confidence = mapper.calibration.confidence(&scores, n);
    Mapped {
        scores,
        confidence,
        out_of_scope,
    }
}

/// A passage's context: its heading path, else its document's title.
pub fn context_of(p: &Passage) -> String {
    if p.headings.is_empty() {
        p.title.clone()
    } else {
        p.headings.join(" ")
    }
}

fn row_max(row: &[f32]) -> f32 {
    row.iter().copied().fold(f32::NEG_INFINITY, f32::max)
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
    let text = normalise_space(&p.text);
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
    whole_words(haystack, needle).next().is_some()
}

/// How many times `needle` occurs in `haystack` as whole words.
pub fn count_words(haystack: &str, needle: &str) -> usize {
    whole_words(haystack, needle).count()
}

fn whole_words<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let is_word = |c: char| c.is_alphanumeric();
    haystack
        .match_indices(needle)
        .map(|(i, _)| i)
        .filter(move |&i| {
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
    fn documents_that_mention_no_scope_term_are_out_of_scope_and_muted() {
        let at = |doc: &str, title: &str, heading: &str, text: &str| Passage {
            document: doc.into(),
            title: title.into(),
            ..passage(heading, text)
        };
        let ps = [
            at(
                "travel.md",
                "Travel",
                "1 Flights",
                "Economy class for short flights.",
            ),
            at(
                "travel.md",
                "Travel",
                "2 Meals",
                "Meals are paid up to a daily limit.",
            ),
            // "mail" and "maintain" hold "ai" but not as a word; "Model" in a heading counts.
            at("it.md", "IT", "Mail", "We maintain the mail servers."),
            at(
                "risk.md",
                "Risk",
                "Model risk",
                "Each is validated before use.",
            ),
            at(
                "use.md",
                "Use of A.I. tools",
                "Rules",
                "Staff follow these rules.",
            ),
        ];
        let refs: Vec<&Passage> = ps.iter().collect();
        let scope = Scope::new(&["AI".into(), "A.I.".into(), "model".into()]);
        assert!(scope.mentions("Our AI policy") && !scope.mentions("Email the maintainer"));
        assert!(Scope::new(&["machine learning".into()]).mentions("uses Machine\n  Learning"));
        assert_eq!(scope.out_of_scope(&refs), ["it.md", "travel.md"]);
        assert!(Scope::everything().out_of_scope(&refs).is_empty());

        let mut scores = vec![0.5f32; ps.len() * 2];
        let out = scope.mute_outside(&mut scores, 2, &refs);
        assert_eq!(out, ["it.md", "travel.md"]);
        assert_eq!(
            scores,
            [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.5, 0.5, 0.5, 0.5]
        );
        let conf = Calibration::default().confidence(&scores, 2);
        assert!(conf[..6].iter().all(|&c| c == 0.0) && conf[6..].iter().all(|&c| c > 0.0));
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

    #[test]
    fn keyword_match_respects_word_boundaries() {
        assert!(contains_word("the ai policy is set", "ai policy"));
        assert!(!contains_word("the maintain policy", "ai policy"));
        assert!(contains_word("raci.", "raci"));
        assert!(!contains_word("racing", "raci"));
    }

    #[test]
    fn weights_parse() {
        let w: Weights = "desc=0.2,max=0.5,nb=0.3,kw=0.1,neg=0.25,center"
            .parse()
            .unwrap();
        assert_eq!(
            (
                w.description,
                w.keywords,
                w.neighbours,
                w.context,
                w.counter,
                w.center
            ),
            (0.2, 0.1, 0.3, 0.0, 0.25, true)
        );
        assert_eq!("default".parse::<Weights>().unwrap(), Weights::default());
        let changed: Weights = "default,bm25,kw=0.2".parse().unwrap();
        assert!(changed.bm25 && changed.keywords == 0.2);
        assert_eq!(changed.description, Weights::default().description);
        assert_eq!(changed.to_string().parse::<Weights>().unwrap(), changed);
        assert!("max=1,default".parse::<Weights>().is_err());
        let shown = Weights::default().to_string();
        assert_eq!(shown.parse::<Weights>().unwrap(), Weights::default());
        assert!("1,2".parse::<Weights>().is_err());
        let common: Weights = "default,common=2".parse().unwrap();
        assert_eq!(common.common, Some(2));
        assert_eq!(Weights::default().common, None);
        assert_eq!(common.to_string().parse::<Weights>().unwrap(), common);
        assert!("common=1.5".parse::<Weights>().is_err());
        assert!(
            "speed=3"
                .parse::<Weights>()
                .unwrap_err()
                .contains("unknown weight")
        );
    }
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
    fn contexts_kept_from_the_last_run_are_reused_not_embedded_again() {
        use crate::context_cache::ContextCache;
        let (_dir, e) = tiny();
        let ctx = |texts: &[&str]| -> Vec<Option<String>> {
            texts.iter().map(|t| Some(t.to_string())).collect()
        };
        let mut cache = ContextCache::default();
        Contexts::embed(&e, &ctx(&["Purpose", "Scope", "Purpose"]), &mut cache).unwrap();
        assert_eq!((cache.embedded, cache.reused, cache.len()), (2, 0, 2));

        // A vector planted for "Purpose" is taken as it is: the model is not asked again.
        let planted = vec![0.25; e.dim()];
        cache.replace(&["Purpose"], &Embeddings::new(e.dim(), planted.clone()));
        let again = Contexts::embed(&e, &ctx(&["Roles", "Purpose"]), &mut cache).unwrap();
        assert_eq!((cache.embedded, cache.reused), (1, 1));
        let vectors = again.vectors.as_ref().unwrap();
        assert_eq!(vectors.row(1), &planted[..]);
        assert_eq!(vectors.row(0), e.embed(&["Roles"]).unwrap().row(0));
        // Only the contexts of this run are kept.
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("Scope", e.dim()), None);
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
        m.learn(&rows, &labels);
        assert_eq!(m.learned(), 20, "the unlabelled row teaches nothing");
        let learned = m.probe.scores(v.row(0));
        assert_eq!(rank(&learned, target), 0, "{learned:?}");
        // The mapper's score moves by exactly the probe's change.
        let texts = ["expense claims for business travel are filed monthly"];
        let none = [None];
        let after = score(&m, &e, &texts, &Contexts::none(1), &none);
        m.learn(&rows, &vec![vec![]; 21]);
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
        mapper.learn(&other, &[vec![ci]]);
        let learned = score(&mapper, &e, &[summary], &Contexts::none(1), &[None]);
        assert!(learned[ci] < 0.9999, "{}", learned[ci]);
        mapper.learn(&other, &[vec![]]);
        assert_eq!(
            score(&mapper, &e, &[summary], &Contexts::none(1), &[None]),
            row
        );
    }
}
