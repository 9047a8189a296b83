//! The mapper scored on labelled vectors (`eval --vectors DIR`, the real documents'
//! `corpora/real`): passages kept as the model's vectors, not as text, so scored on what the
//! vectors carry (the descriptions, examples, counter-examples and probe; not keywords,
//! headings or neighbours, which need the text). Cross-validation folds by document. Also the
//! learning curve: what reviewers' decisions on some documents teach about others.

use std::collections::HashMap;

use super::{
    CurvePoint, calibration_metrics, calibration_pairs, cross_validated_confidence,
    datasets::{CALIBRATION_TOP, DatasetResult, calibrated, score_set, suggested},
    fit_calibration, item_results,
    labels::Labelled,
    rank_rows, ranking_metrics, suggestion_metrics,
};
use crate::{
    error::Result,
    lessons::LabelledVectors,
    mapping::{Batch, Contexts, Mapper, Origin, Thresholds, top_k},
};
use controlmap_models::Embeddings;

/// The mapper's scores of every row of `vectors`, with no text, context or neighbours.
fn score_vectors(mapper: &Mapper, vectors: &Embeddings) -> Vec<f32> {
    let blank = vec![""; vectors.len()];
    mapper.scores(&Batch {
        vectors,
        texts: &blank,
        contexts: &Contexts::none(vectors.len()),
        sections: &vec![None; vectors.len()],
    })
}

/// Scores a labelled-vector set as it is, or (`cv`) in K folds of its documents, the mapper
/// learning `base` and the other folds' labels each time; with `fit`, the calibration is fitted
/// on the (cross-validated) scores' pairs, and its figures are those of a calibration fitted on
/// the other folds' documents.
pub fn eval_vectors(
    set: &LabelledVectors,
    mapper: &mut Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
    base: &Labelled,
    cv: Option<usize>,
    fit: bool,
) -> Result<DatasetResult> {
    let gold = set.labels(index_of)?;
    let (docs, group) = set.documents();
    let score = |m: &Mapper| score_vectors(m, &set.vectors);
    let (scores, ranked, ranking, cross_validation) = score_set(
        mapper,
        base,
        &set.vectors,
        &gold,
        Origin::Public,
        &group,
        docs.len(),
        cv.map(|k| (k, "documents")),
        &score,
    );
    let n = mapper.n_controls();
    let about_nothing: Vec<bool> = gold.iter().map(Vec::is_empty).collect();
    let pairs = calibration_pairs(&scores, n, &gold, &about_nothing, &group, CALIBRATION_TOP);
    let mut suggestions = suggested(&mapper.calibration, &pairs, &about_nothing);
    let mut calibration_cross_validated = None;
    if fit {
        mapper.calibration = fit_calibration(&pairs);
        let held_out = cross_validated_confidence(&pairs, 5);
        let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
        calibration_cross_validated = Some(calibration_metrics(&held_out, &right));
        suggestions = suggestion_metrics(
            &pairs,
            &held_out,
            &about_nothing,
            Thresholds::default().evidence,
        );
    }
    let names: Vec<(String, Option<u64>)> = set
        .rows
        .iter()
        .map(|r| (format!("{}#{}", r.doc_id, r.passage_index), None))
        .collect();
    let texts = vec![""; set.rows.len()];
    Ok(DatasetResult {
        name: format!("{} (vectors)", set.name),
        ranking,
        calibration: calibrated(&mapper.calibration, &pairs),
        calibration_cross_validated,
        suggestions,
        gaps: None,
        cross_validation,
        items: item_results(&scores, &ranked, &gold, &names, &texts, ids),
    })
}

/// The decisions the learning curve replays.
pub const CURVE_STEPS: [usize; 5] = [0, 25, 50, 100, 200];

/// Folds of documents the learning curve rotates through: each rotation scores one fold,
/// has a reviewer decide suggestions in the next, and starts from a mapper that learned the
/// other three.
const CURVE_FOLDS: usize = 5;

/// The learning curve of reviewers' decisions, simulated on a labelled-vector set: the
/// documents are dealt into five folds; in each rotation the mapper learns three folds' labels
/// (and `extra`), a reviewer works through the suggestions of the fourth in queue order (most
/// confident first; each of a passage's listed controls, accepted when the labels name it and
/// rejected otherwise), and the fifth is scored after each step's number of decisions.
pub fn learning_curve(
    set: &LabelledVectors,
    mapper: &mut Mapper,
    index_of: &HashMap<&str, usize>,
    extra: &Labelled,
    steps: &[usize],
) -> Result<Vec<CurvePoint>> {
    let gold = set.labels(index_of)?;
    let (docs, group) = set.documents();
    let fold_of_doc = super::assign_folds(docs.len(), CURVE_FOLDS, 1);
    let fold: Vec<usize> = group.iter().map(|&g| fold_of_doc[g]).collect();
    let n = mapper.n_controls();
    let thresholds = Thresholds::default();
    let mut points: Vec<CurvePoint> = steps
        .iter()
        .map(|&d| CurvePoint {
            decisions: d,
            decided: 0.0,
            accepted: 0.0,
            p_at_1: 0.0,
            mrr: 0.0,
        })
        .collect();
    for r in 0..CURVE_FOLDS {
        let (scored, reviewed) = (r, (r + 1) % CURVE_FOLDS);
        let mut base = Labelled::empty(set.vectors.dim());
        base.extend(extra);
        base.extend_rows(
            &set.vectors,
            &gold,
            (0..gold.len()).filter(|&i| fold[i] != scored && fold[i] != reviewed),
            Origin::Public,
        );
        mapper.learn(&base.vectors, &base.labels, &base.origins);
        mapper.remember(&Embeddings::new(set.vectors.dim(), Vec::new()), &[]);

        // The review queue of the reviewed documents, most confident first.
        let rows: Vec<usize> = (0..gold.len()).filter(|&i| fold[i] == reviewed).collect();
        let vectors = rows_of(&set.vectors, &rows);
        let scores = score_vectors(mapper, &vectors);
        let confidence = mapper.calibration.confidence(&scores, n);
        let mut queue: Vec<(usize, usize, f32)> = Vec::new();
        for (k, row) in scores.chunks_exact(n).enumerate() {
            for c in top_k(row, thresholds.list_top_k) {
                let conf = confidence[k * n + c];
                if conf >= thresholds.weak {
                    queue.push((k, c, conf));
                }
            }
        }
        queue.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));

        let held_out: Vec<usize> = (0..gold.len()).filter(|&i| fold[i] == scored).collect();
        let test_vectors = rows_of(&set.vectors, &held_out);
        let test_gold: Vec<Vec<usize>> = held_out.iter().map(|&i| gold[i].clone()).collect();
        for point in &mut points {
            let decided = &queue[..point.decisions.min(queue.len())];
            let pairs: Vec<(usize, usize, bool)> = decided
                .iter()
                .map(|&(k, c, _)| (k, c, gold[rows[k]].contains(&c)))
                .collect();
            let folds = CURVE_FOLDS as f64;
            point.decided += pairs.len() as f64 / folds;
            point.accepted += pairs.iter().filter(|p| p.2).count() as f64 / folds;
            let mut taught = Labelled::empty(set.vectors.dim());
            taught.extend(&base);
            let mut positives = vec![Vec::new(); rows.len()];
            for &(k, c, yes) in &pairs {
                if yes {
                    positives[k].push(c);
                }
            }
            taught.extend_rows(&vectors, &positives, 0..rows.len(), Origin::Own);
            mapper.learn(&taught.vectors, &taught.labels, &taught.origins);
            mapper.remember(&vectors, &pairs);
            let m = ranking_metrics(
                &rank_rows(&score_vectors(mapper, &test_vectors), n),
                &test_gold,
            );
            point.p_at_1 += m.p_at_1 / CURVE_FOLDS as f64;
            point.mrr += m.mrr / CURVE_FOLDS as f64;
        }
    }
    mapper.learn(&extra.vectors, &extra.labels, &extra.origins);
    mapper.remember(&Embeddings::new(set.vectors.dim(), Vec::new()), &[]);
    Ok(points)
}

fn rows_of(v: &Embeddings, rows: &[usize]) -> Embeddings {
    Embeddings::new(
        v.dim(),
        rows.iter()
            .flat_map(|&i| v.row(i).iter().copied())
            .collect(),
    )
}
