//! The mapper scored on labelled sets: an item file, or a policy corpus with its gold
//! mapping and the workspace `run` wrote for it; as they are, or cross-validated (`--cv K`,
//! folds of items or of documents), the mapper learning from the other folds each time.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use controlmap_index::VectorStore;
use controlmap_models::{Embedder, Embeddings};
use serde::Serialize;

use super::{
    CalibrationMetrics, CalibrationPair, GapMetrics, ItemResult, RankingMetrics, SuggestionMetrics,
    assign_folds, calibration_metrics, calibration_pairs, cross_validated_confidence,
    fit_calibration, gap_metrics,
    gold::{Gold, squash},
    item_results,
    labels::{Labelled, LearnedFrom, gold_indices, item_labels, read_items},
    mean_metrics, rank_rows, ranking_metrics, suggestion_metrics,
};
use crate::{
    error::{Context, Result, user_error},
    ingest::{chunk::place, manifest::Manifest},
    mapping::{
        Batch, Calibration, Contexts, Mapper, Origin, Prepared, Scope, Status, Thresholds, assess,
        context_cache::ContextCache, map_prepared,
    },
    workspace,
};

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub weights: String,
    pub calibration: Calibration,
    /// The --learn files and how many labelled items each gave the mapper.
    pub learned_from: Vec<LearnedFrom>,
    pub datasets: Vec<DatasetResult>,
    /// `--learning-curve`: figures after each number of simulated reviewer decisions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learning_curves: Vec<super::LearningCurve>,
}

/// How a dataset was cross-validated (`--cv`): its ranking figures are the mean of
/// `shuffles`; items, calibration and gaps come from the first shuffle.
#[derive(Debug, Serialize)]
pub struct CrossValidation {
    pub folds: usize,
    /// What the folds are made of: `items`, or a corpus's `documents`.
    pub by: &'static str,
    pub shuffles: Vec<RankingMetrics>,
}

#[derive(Debug, Serialize)]
pub struct DatasetResult {
    pub name: String,
    pub ranking: RankingMetrics,
    /// The calibration of the confidences of each labelled item's five best controls.
    pub calibration: CalibrationMetrics,
    /// The same with a calibration fitted on the other folds' documents (`--fit-calibration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration_cross_validated: Option<CalibrationMetrics>,
    /// The suggestions proposed as evidence and how many are right, and how well confidence
    /// tells passages about nothing (with the cross-fitted calibration when one was fitted).
    pub suggestions: SuggestionMetrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaps: Option<GapMetrics>,
    /// Present when the figures are cross-validated (`--cv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
    /// Every labelled item: where its first labelled control was ranked, and what was
    /// ranked above it.
    pub items: Vec<ItemResult>,
}

/// Pairs per labelled item that calibration is measured on.
pub(super) const CALIBRATION_TOP: usize = 5;

/// Shuffles a cross-validation averages over (seeds 1 to 3): with a few dozen items, one
/// shuffle's figures move by several points with the split alone.
const CV_SHUFFLES: u64 = 3;

/// Scores every row once, held out: the rows are dealt into folds (`fold_of`), and each fold
/// is scored by the mapper after it learned from `base` and the other folds' labelled rows.
/// The mapper is left as it was, having learned `base` only.
pub(super) fn cross_validated(
    mapper: &mut Mapper,
    base: &Labelled,
    own: (&Embeddings, &[Vec<usize>], Origin),
    fold_of: &[usize],
    folds: usize,
    score: &dyn Fn(&Mapper) -> Vec<f32>,
) -> Vec<f32> {
    let n = mapper.n_controls();
    let mut out = vec![0f32; fold_of.len() * n];
    for f in 0..folds {
        let mut train = Labelled::empty(own.0.dim());
        train.extend(base);
        train.extend_rows(
            own.0,
            own.1,
            (0..fold_of.len()).filter(|&i| fold_of[i] != f),
            own.2,
        );
        mapper.learn(&train.vectors, &train.labels, &train.origins);
        let scores = score(mapper);
        for i in (0..fold_of.len()).filter(|&i| fold_of[i] == f) {
            out[i * n..(i + 1) * n].copy_from_slice(&scores[i * n..(i + 1) * n]);
        }
    }
    mapper.learn(&base.vectors, &base.labels, &base.origins);
    out
}

/// Scores a labelled set as it is, or (`cv`) cross-validated over [`CV_SHUFFLES`] shuffles
/// of its groups (`group_of` each row's item or document, `groups` how many): the first
/// shuffle's scores and each row's controls ranked by them, and the ranking figures (the
/// shuffles' mean).
#[allow(clippy::too_many_arguments)]
pub(super) fn score_set(
    mapper: &mut Mapper,
    base: &Labelled,
    vectors: &Embeddings,
    gold: &[Vec<usize>],
    origin: Origin,
    group_of: &[usize],
    groups: usize,
    cv: Option<(usize, &'static str)>,
    score: &dyn Fn(&Mapper) -> Vec<f32>,
) -> (
    Vec<f32>,
    Vec<Vec<usize>>,
    RankingMetrics,
    Option<CrossValidation>,
) {
    let n = mapper.n_controls();
    let Some((folds, by)) = cv else {
        let scores = score(mapper);
        let ranked = rank_rows(&scores, n);
        let ranking = ranking_metrics(&ranked, gold);
        return (scores, ranked, ranking, None);
    };
    let mut first = None;
    let mut shuffles = Vec::new();
    for seed in 1..=CV_SHUFFLES {
        let fold_of_group = assign_folds(groups, folds, seed);
        let fold_of: Vec<usize> = group_of.iter().map(|&g| fold_of_group[g]).collect();
        let scores = cross_validated(
            mapper,
            base,
            (vectors, gold, origin),
            &fold_of,
            folds,
            score,
        );
        let ranked = rank_rows(&scores, n);
        shuffles.push(ranking_metrics(&ranked, gold));
        first.get_or_insert((scores, ranked));
    }
    let (scores, ranked) = first.unwrap_or_default();
    (
        scores,
        ranked,
        mean_metrics(&shuffles),
        Some(CrossValidation {
            folds,
            by,
            shuffles,
        }),
    )
}

pub fn eval_items(
    path: &Path,
    embedder: &dyn Embedder,
    mapper: &mut Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
    base: &Labelled,
    cv: Option<usize>,
) -> Result<DatasetResult> {
    let file = read_items(path)?;
    let gold = item_labels(&file, path, index_of)?;
    let texts: Vec<&str> = file.items.iter().map(|i| i.text.as_str()).collect();
    let vectors = embedder.embed(&texts)?;
    let contexts: Vec<Option<String>> = file.items.iter().map(|i| i.context.clone()).collect();
    let contexts = Contexts::embed(embedder, &contexts, &mut ContextCache::default())?;
    let sections = vec![None; texts.len()];
    let score = |m: &Mapper| {
        m.scores(&Batch {
            vectors: &vectors,
            texts: &texts,
            contexts: &contexts,
            sections: &sections,
        })
    };
    let groups: Vec<usize> = (0..gold.len()).collect();
    let (scores, ranked, ranking, cross_validation) = score_set(
        mapper,
        base,
        &vectors,
        &gold,
        Origin::Own,
        &groups,
        groups.len(),
        cv.map(|k| (k, "items")),
        &score,
    );
    let n = mapper.n_controls();
    let pairs = calibration_pairs(&scores, n, &gold, &[], &groups, CALIBRATION_TOP);
    let suggestions = suggested(&mapper.calibration, &pairs, &[]);
    let names: Vec<(String, Option<u64>)> =
        file.items.iter().map(|i| (i.id.clone(), None)).collect();
    let items = item_results(&scores, &ranked, &gold, &names, &texts, ids);
    Ok(DatasetResult {
        name: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ranking,
        calibration: calibrated(&mapper.calibration, &pairs),
        calibration_cross_validated: None,
        suggestions,
        gaps: None,
        cross_validation,
        items,
    })
}

/// [`SuggestionMetrics`] at the "proposed" threshold, with the confidences `c` gives.
pub fn suggested(
    c: &Calibration,
    pairs: &[CalibrationPair],
    about_nothing: &[bool],
) -> SuggestionMetrics {
    let conf: Vec<f32> = pairs.iter().map(|p| c.apply(p.features)).collect();
    suggestion_metrics(pairs, &conf, about_nothing, Thresholds::default().evidence)
}

pub fn calibrated(c: &Calibration, pairs: &[CalibrationPair]) -> CalibrationMetrics {
    let conf: Vec<f32> = pairs.iter().map(|p| c.apply(p.features)).collect();
    let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
    calibration_metrics(&conf, &right)
}

#[allow(clippy::too_many_arguments)]
pub fn eval_corpus(
    dir: &Path,
    ws: &Path,
    embedder: &dyn Embedder,
    mapper: &mut Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
    fit: bool,
    base: &Labelled,
    cv: Option<usize>,
) -> Result<DatasetResult> {
    let gold = Gold::load(&dir.join("gold.yaml"))?;
    let manifest = Manifest::load(ws, embedder.model_id());
    let store = VectorStore::open(&ws.join(workspace::VECTORS), Some(embedder.model_id())).ok();
    let (Some(store), false) = (store, manifest.documents.is_empty()) else {
        user_error!(
            "no workspace for {} at {}; run `controlmap run {} --workspace {}` first",
            dir.display(),
            ws.display(),
            dir.display(),
            ws.display()
        );
    };
    let row_of: HashMap<u64, usize> = (0..store.len()).map(|i| (store.id(i), i)).collect();
    let passages: Vec<_> = manifest
        .documents
        .values()
        .flat_map(|d| d.passages.iter())
        .collect();
    let mut data = Vec::with_capacity(passages.len() * store.dim());
    for p in &passages {
        let row = row_of
            .get(&p.id)
            .with_context(|| format!("workspace {} is out of date; run again", ws.display()))?;
        data.extend(store.vector(*row));
    }
    let vectors = Embeddings::new(store.dim(), data);

    // Labels to passages: a passage carries a label when it holds the quote, or lies inside it
    // (a quote that spans passages labels each of them).
    let squashed: Vec<String> = passages.iter().map(|p| squash(&p.text)).collect();
    let mut labels: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); passages.len()];
    let mut covered = BTreeSet::new();
    for l in &gold.labels {
        let q = squash(&l.quote);
        let controls = gold_indices(&l.controls, index_of, "gold.yaml")?;
        for (i, p) in passages.iter().enumerate() {
            if p.document == l.file
                && (squashed[i].contains(&q)
                    || (squashed[i].len() >= 40 && q.contains(&squashed[i])))
            {
                labels[i].extend(controls.iter().copied());
            }
        }
        covered.extend(l.controls.iter().cloned());
    }
    let gold_lists: Vec<Vec<usize>> = labels.iter().map(|s| s.iter().copied().collect()).collect();
    // Each passage's document: the groups of calibration's and learning's cross-validation.
    let mut doc_of = HashMap::new();
    let groups: Vec<usize> = passages
        .iter()
        .map(|p| {
            let k = doc_of.len();
            *doc_of.entry(p.document.as_str()).or_insert(k)
        })
        .collect();

    // Calibration is measured (and fitted) on every document's passages: the documents outside
    // the catalog's scope are the gold's examples of passages about nothing, which in-scope
    // documents have too. Statuses and gaps are assessed as `run` does, with them muted.
    // The heading paths `run` embedded are read from the workspace, not embedded again; eval
    // leaves the workspace as it found it.
    let mut contexts = ContextCache::load(ws, embedder.model_id());
    let prepared = Prepared::new(mapper, embedder, &passages, &mut contexts)?;
    let scope = std::mem::replace(&mut mapper.scope, Scope::everything());
    let score = |m: &Mapper| map_prepared(m, &passages, &vectors, &prepared).scores;
    let (mut scores, ranked_all, ranking, cross_validation) = score_set(
        mapper,
        base,
        &vectors,
        &gold_lists,
        Origin::Own,
        &groups,
        doc_of.len(),
        cv.map(|k| (k, "documents")),
        &score,
    );
    mapper.scope = scope;
    let n = mapper.n_controls();
    let names: Vec<(String, Option<u64>)> = passages
        .iter()
        .map(|p| (place(&p.document, p.page, &p.heading_path()), Some(p.id)))
        .collect();
    let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
    let items = item_results(&scores, &ranked_all, &gold_lists, &names, &texts, ids);

    // Documents the gold labels nowhere (the travel policy, the brand guidelines) are about
    // no control.
    let labelled_docs: BTreeSet<&str> = gold.labels.iter().map(|l| l.file.as_str()).collect();
    let about_nothing: Vec<bool> = passages
        .iter()
        .map(|p| !labelled_docs.contains(p.document.as_str()))
        .collect();
    let pairs = calibration_pairs(
        &scores,
        n,
        &gold_lists,
        &about_nothing,
        &groups,
        CALIBRATION_TOP,
    );
    let mut cross_validated = None;
    let mut suggestions = suggested(&mapper.calibration, &pairs, &about_nothing);
    if fit {
        mapper.calibration = fit_calibration(&pairs);
        let cv = cross_validated_confidence(&pairs, 5);
        let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
        cross_validated = Some(calibration_metrics(&cv, &right));
        suggestions =
            suggestion_metrics(&pairs, &cv, &about_nothing, Thresholds::default().evidence);
    }

    mapper.scope.mute_outside(&mut scores, n, &passages);
    let confidence = mapper.calibration.confidence(&scores, n);
    let statuses = assess(&scores, &confidence, n, Thresholds::default());
    let reported: Vec<String> = statuses
        .iter()
        .zip(ids)
        .filter(|(a, _)| a.status == Status::Gap)
        .map(|(_, id)| id.clone())
        .collect();
    Ok(DatasetResult {
        name: format!("{} (gold.yaml)", dir.display()),
        ranking,
        calibration: calibrated(&mapper.calibration, &pairs),
        calibration_cross_validated: cross_validated,
        suggestions,
        gaps: Some(gap_metrics(&reported, &gold.gaps, &covered)),
        cross_validation,
        items,
    })
}

#[cfg(test)]
mod tests {
    use controlmap_models::{BertEmbedder, DeviceChoice, testing::TinyModel};

    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn cross_validation_scores_each_row_by_a_mapper_that_never_saw_its_label() {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        let e = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let mut mapper = Mapper::new(&Catalog::builtin(), &e, "probe=1".parse().unwrap()).unwrap();
        let texts = [
            "expense claims are filed monthly",
            "travel is booked through the portal",
            "the canteen opens at noon",
            "visitors sign in at reception",
            "parking permits are renewed yearly",
        ];
        let vectors = e.embed(&texts).unwrap();
        let labels: Vec<Vec<usize>> = vec![vec![3], vec![3, 7], vec![], vec![12], vec![7]];
        let base = Labelled {
            vectors: e.embed(&["the fire alarm is tested weekly"]).unwrap(),
            labels: vec![vec![20]],
            origins: vec![Origin::Public],
        };
        mapper.learn(&base.vectors, &base.labels, &base.origins);
        let texts_ref: Vec<&str> = texts.to_vec();
        let contexts = Contexts::none(texts.len());
        let sections = vec![None; texts.len()];
        let score = |m: &Mapper| {
            m.scores(&Batch {
                vectors: &vectors,
                texts: &texts_ref,
                contexts: &contexts,
                sections: &sections,
            })
        };
        let before = score(&mapper);
        let fold_of = [0, 1, 0, 2, 1];
        let cv = cross_validated(
            &mut mapper,
            &base,
            (&vectors, &labels, Origin::Own),
            &fold_of,
            3,
            &score,
        );

        let n = mapper.n_controls();
        for (i, &fold) in fold_of.iter().enumerate() {
            // What a mapper taught the base and exactly the other folds' labelled rows gives.
            let mut train = Labelled::empty(vectors.dim());
            train.extend(&base);
            train.extend_rows(
                &vectors,
                &labels,
                (0..5).filter(|&j| fold_of[j] != fold),
                Origin::Own,
            );
            let mut m = Mapper::new(&Catalog::builtin(), &e, "probe=1".parse().unwrap()).unwrap();
            m.learn(&train.vectors, &train.labels, &train.origins);
            let expected = score(&m);
            assert_eq!(
                cv[i * n..(i + 1) * n],
                expected[i * n..(i + 1) * n],
                "row {i}"
            );
        }
        // Learning everything (each row its own label too) scores differently.
        let mut all = Labelled::empty(vectors.dim());
        all.extend(&base);
        all.extend_rows(&vectors, &labels, 0..5, Origin::Own);
        mapper.learn(&all.vectors, &all.labels, &all.origins);
        assert_ne!(score(&mapper), cv);
        // And the cross-validation left the mapper as it found it.
        mapper.learn(&base.vectors, &base.labels, &base.origins);
        let again = cross_validated(
            &mut mapper,
            &base,
            (&vectors, &labels, Origin::Own),
            &fold_of,
            3,
            &score,
        );
        assert_eq!(again, cv);
        assert_eq!(score(&mapper), before);
        assert_eq!(mapper.learned(), 1);
    }
}
