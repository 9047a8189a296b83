//! `controlmap eval`: how well the mapper ranks controls for labelled passages, and how well
//! it finds a labelled corpus's gaps.

use std::{
    collections::{BTreeSet, HashMap},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use controlmap_index::VectorStore;
use controlmap_models::{Embedder, Embeddings};
use serde::Serialize;

use crate::{
    catalog::Catalog,
    cli::{Cli, EvalArgs, Format},
    commands::{review::place, run::default_workspace},
    eval::{
        CalibrationMetrics, CalibrationPair, GapMetrics, ItemFile, ItemResult, RankingMetrics,
        calibration_metrics, calibration_pairs, cross_validated_confidence, fit_calibration,
        gap_metrics, item_results, rank_rows, ranking_metrics,
    },
    gold::{Gold, squash},
    manifest::Manifest,
    map::{Batch, Calibration, Contexts, Mapper, Scope, Status, Thresholds, assess, map_passages},
};

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub weights: String,
    pub calibration: Calibration,
    pub datasets: Vec<DatasetResult>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaps: Option<GapMetrics>,
    /// Every labelled item: where its first labelled control was ranked, and what was
    /// ranked above it.
    pub items: Vec<ItemResult>,
}

/// Pairs per labelled item that calibration is measured on.
const CALIBRATION_TOP: usize = 5;

/// The NIST crosswalk file, when this checkout sits beside the project's shared folder.
fn default_items() -> Vec<PathBuf> {
    let p = PathBuf::from("../shared/eval/nist-ai-rmf-to-iso42001.json");
    if p.is_file() { vec![p] } else { Vec::new() }
}

pub fn run(args: &EvalArgs, cli: &Cli) -> Result<()> {
    let catalog = match &args.catalog {
        Some(p) => Catalog::load(p)?,
        None => Catalog::builtin(),
    };
    let embedder = args.model.load()?;
    let mut mapper = Mapper::new(&catalog, &embedder, args.weights)?;
    let ids: Vec<String> = catalog.controls().map(|(_, c)| c.id.clone()).collect();
    let index_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();

    let mut datasets = Vec::new();
    let items = if args.gold.is_empty() && args.corpus.is_none() {
        default_items()
    } else {
        args.gold.clone()
    };
    let corpus = args.corpus.clone().or_else(|| {
        let d = PathBuf::from("corpora/sample-org");
        (args.gold.is_empty() && d.join("gold.yaml").is_file()).then_some(d)
    });
    // The corpus first: with --fit-calibration its fit is what the item files are scored with.
    if let Some(dir) = &corpus {
        let ws = args
            .workspace
            .clone()
            .unwrap_or_else(|| default_workspace(dir));
        datasets.push(eval_corpus(
            dir,
            &ws,
            &embedder,
            &mut mapper,
            &ids,
            &index_of,
            args.fit_calibration,
        )?);
    } else if args.fit_calibration {
        bail!("--fit-calibration needs a corpus with a gold.yaml (--corpus DIR)");
    }
    for path in &items {
        datasets.push(eval_items(path, &embedder, &mapper, &ids, &index_of)?);
    }
    if datasets.is_empty() {
        bail!(
            "nothing to evaluate: give --gold FILE (items with id, text, annex_a) or --corpus DIR (with gold.yaml)"
        );
    }

    let report = EvalReport {
        model: embedder.model_id().to_string(),
        weights: args.weights.to_string(),
        calibration: mapper.calibration,
        datasets,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => {
            writeln!(out, "weights: {}", report.weights)?;
            let c = report.calibration;
            writeln!(
                out,
                "calibration{}: {:.3}·score + {:.3}·margin + {:.3}·best + {:.3}",
                if args.fit_calibration {
                    " (fitted)"
                } else {
                    ""
                },
                c.score,
                c.margin,
                c.top,
                c.bias
            )?;
            writeln!(
                out,
                "{:<44} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6}",
                "dataset", "items", "P@1", "R@3", "R@5", "MRR", "ECE"
            )?;
            for d in &report.datasets {
                let r = &d.ranking;
                writeln!(
                    out,
                    "{:<44} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                    d.name, r.items, r.p_at_1, r.r_at_3, r.r_at_5, r.mrr, d.calibration.ece
                )?;
                if let Some(cv) = &d.calibration_cross_validated {
                    writeln!(
                        out,
                        "  ECE with the calibration fitted on the other folds' documents (5-fold): {:.3}",
                        cv.ece
                    )?;
                }
                if let Some(g) = &d.gaps {
                    writeln!(
                        out,
                        "  gaps: precision {:.2}, recall {:.2}; reported {:?}; labelled {:?}; covered reported as gap {:?}",
                        g.precision, g.recall, g.reported, g.gold, g.covered_reported_as_gap
                    )?;
                }
                if args.misses {
                    write_misses(&mut out, &d.items)?;
                }
            }
        }
    }
    let _ = cli;
    Ok(())
}

/// The items whose first-ranked control is not a labelled one, worst first.
fn write_misses(out: &mut dyn Write, items: &[ItemResult]) -> std::io::Result<()> {
    let mut misses: Vec<&ItemResult> = items.iter().filter(|i| i.first_labelled_rank > 1).collect();
    misses.sort_by_key(|i| std::cmp::Reverse(i.first_labelled_rank));
    writeln!(
        out,
        "  {} of {} items missed at P@1 (worst first, by the rank of their first labelled control):",
        misses.len(),
        items.len()
    )?;
    for i in misses {
        let ranked: Vec<String> = i
            .ranked
            .iter()
            .map(|r| format!("{} ({:.2})", r.control, r.score))
            .collect();
        writeln!(out, "    rank {:<3} {}", i.first_labelled_rank, i.id)?;
        writeln!(
            out,
            "             labelled {}; ranked {}",
            i.labelled.join(", "),
            ranked.join(", ")
        )?;
        writeln!(out, "             {}", i.excerpt)?;
    }
    Ok(())
}

fn gold_indices(
    controls: &[String],
    index_of: &HashMap<&str, usize>,
    source: &str,
) -> Result<Vec<usize>> {
    controls
        .iter()
        .map(|c| {
            index_of
                .get(c.as_str())
                .copied()
                .with_context(|| format!("{source}: unknown control {c}"))
        })
        .collect()
}

fn eval_items(
    path: &Path,
    embedder: &dyn Embedder,
    mapper: &Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
) -> Result<DatasetResult> {
    let text = fs_err::read_to_string(path)?;
    let file: ItemFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an item file", path.display()))?;
    let texts: Vec<&str> = file.items.iter().map(|i| i.text.as_str()).collect();
    let vectors = embedder.embed(&texts)?;
    let contexts: Vec<Option<String>> = file.items.iter().map(|i| i.context.clone()).collect();
    let contexts = Contexts::embed(embedder, &contexts)?;
    let sections = vec![None; texts.len()];
    let scores = mapper.scores(&Batch {
        vectors: &vectors,
        texts: &texts,
        contexts: &contexts,
        sections: &sections,
    });
    let n = mapper.n_controls();
    let ranked = rank_rows(&scores, n);
    let gold = file
        .items
        .iter()
        .map(|i| {
            gold_indices(
                &i.annex_a,
                index_of,
                &format!("{} item {}", path.display(), i.id),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let groups: Vec<usize> = (0..gold.len()).collect();
    let pairs = calibration_pairs(&scores, n, &gold, &[], &groups, CALIBRATION_TOP);
    let names: Vec<(String, Option<u64>)> =
        file.items.iter().map(|i| (i.id.clone(), None)).collect();
    let items = item_results(&scores, &ranked, &gold, &names, &texts, ids);
    Ok(DatasetResult {
        name: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ranking: ranking_metrics(&ranked, &gold),
        calibration: calibrated(&mapper.calibration, &pairs),
        calibration_cross_validated: None,
        gaps: None,
        items,
    })
}

fn calibrated(c: &Calibration, pairs: &[CalibrationPair]) -> CalibrationMetrics {
    let conf: Vec<f32> = pairs.iter().map(|p| c.apply(p.features)).collect();
    let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
    calibration_metrics(&conf, &right)
}

fn eval_corpus(
    dir: &Path,
    ws: &Path,
    embedder: &dyn Embedder,
    mapper: &mut Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
    fit: bool,
) -> Result<DatasetResult> {
    let gold = Gold::load(&dir.join("gold.yaml"))?;
    let manifest = Manifest::load(ws, embedder.model_id());
    let store = VectorStore::open(&ws.join("vectors.bin"), Some(embedder.model_id())).ok();
    let (Some(store), false) = (store, manifest.documents.is_empty()) else {
        bail!(
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
    // Calibration is measured (and fitted) on every document's passages: the documents outside
    // the catalog's scope are the gold's examples of passages about nothing, which in-scope
    // documents have too. Statuses and gaps are assessed as `run` does, with them muted.
    let scope = std::mem::replace(&mut mapper.scope, Scope::everything());
    let mapped = map_passages(mapper, embedder, &passages, &vectors);
    mapper.scope = scope;
    let mut mapped = mapped?;
    let n = mapper.n_controls();

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
    let ranked_all = rank_rows(&mapped.scores, n);
    let gold_lists: Vec<Vec<usize>> = labels.iter().map(|s| s.iter().copied().collect()).collect();
    let ranking = ranking_metrics(&ranked_all, &gold_lists);
    let names: Vec<(String, Option<u64>)> = passages
        .iter()
        .map(|p| (place(&p.document, p.page, &p.heading_path()), Some(p.id)))
        .collect();
    let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
    let items = item_results(
        &mapped.scores,
        &ranked_all,
        &gold_lists,
        &names,
        &texts,
        ids,
    );

    // Calibration pairs, grouped by document for cross-validation.
    let mut doc_of = HashMap::new();
    let groups: Vec<usize> = passages
        .iter()
        .map(|p| {
            let k = doc_of.len();
            *doc_of.entry(p.document.as_str()).or_insert(k)
        })
        .collect();
    // Documents the gold labels nowhere (the travel policy, the brand guidelines) are about
    // no control.
    let labelled_docs: BTreeSet<&str> = gold.labels.iter().map(|l| l.file.as_str()).collect();
    let about_nothing: Vec<bool> = passages
        .iter()
        .map(|p| !labelled_docs.contains(p.document.as_str()))
        .collect();
    let pairs = calibration_pairs(
        &mapped.scores,
        n,
        &gold_lists,
        &about_nothing,
        &groups,
        CALIBRATION_TOP,
    );
    let mut cross_validated = None;
    if fit {
        mapper.calibration = fit_calibration(&pairs);
        mapped.confidence = mapper.calibration.confidence(&mapped.scores, n);
        let cv = cross_validated_confidence(&pairs, 5);
        let right: Vec<bool> = pairs.iter().map(|p| p.right).collect();
        cross_validated = Some(calibration_metrics(&cv, &right));
    }

    mapper.scope.mute_outside(&mut mapped.scores, n, &passages);
    mapped.confidence = mapper.calibration.confidence(&mapped.scores, n);
    let statuses = assess(&mapped.scores, &mapped.confidence, n, Thresholds::default());
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
        gaps: Some(gap_metrics(&reported, &gold.gaps, &covered)),
        items,
    })
}
