//! `controlmap eval`: how well the mapper ranks controls for labelled passages, and how well
//! it finds a labelled corpus's gaps.

use std::{
    collections::{BTreeSet, HashMap},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use controlmap_index::VectorStore;
use controlmap_models::{
    BertEmbedder, Embedder, EmbedderOptions, Embeddings, ModelSearch, locate_model,
};
use serde::Serialize;

use crate::{
    catalog::Catalog,
    cli::{Cli, EvalArgs, Format},
    commands::run::default_workspace,
    eval::{GapMetrics, ItemFile, RankingMetrics, gap_metrics, rank_rows, ranking_metrics},
    gold::{Gold, squash},
    manifest::Manifest,
    map::{Mapper, Status, Thresholds, assess, is_document_control, mute},
};

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub weights: crate::map::Weights,
    pub datasets: Vec<DatasetResult>,
}

#[derive(Debug, Serialize)]
pub struct DatasetResult {
    pub name: String,
    pub ranking: RankingMetrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaps: Option<GapMetrics>,
}

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
    let model_dir = locate_model(&ModelSearch::from_env(args.model.clone()))?;
    let embedder = BertEmbedder::load_with(
        &model_dir,
        EmbedderOptions {
            device: args.device,
            precision: args.precision,
            ..Default::default()
        },
    )?;
    let mapper = Mapper::new(&catalog, &embedder, args.weights)?;
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
    for path in &items {
        datasets.push(eval_items(path, &embedder, &mapper, &index_of)?);
    }
    let corpus = args.corpus.clone().or_else(|| {
        let d = PathBuf::from("corpora/sample-org");
        (args.gold.is_empty() && d.join("gold.yaml").is_file()).then_some(d)
    });
    if let Some(dir) = &corpus {
        let ws = args
            .workspace
            .clone()
            .unwrap_or_else(|| default_workspace(dir));
        datasets.push(eval_corpus(dir, &ws, &embedder, &mapper, &ids, &index_of)?);
    }
    if datasets.is_empty() {
        bail!(
            "nothing to evaluate: give --gold FILE (items with id, text, annex_a) or --corpus DIR (with gold.yaml)"
        );
    }

    let report = EvalReport {
        model: embedder.model_id().to_string(),
        weights: args.weights,
        datasets,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => {
            writeln!(
                out,
                "{:<44} {:>5} {:>6} {:>6} {:>6} {:>6}",
                "dataset", "items", "P@1", "R@3", "R@5", "MRR"
            )?;
            for d in &report.datasets {
                let r = &d.ranking;
                writeln!(
                    out,
                    "{:<44} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                    d.name, r.items, r.p_at_1, r.r_at_3, r.r_at_5, r.mrr
                )?;
                if let Some(g) = &d.gaps {
                    writeln!(
                        out,
                        "  gaps: precision {:.2}, recall {:.2}; reported {:?}; labelled {:?}; covered reported as gap {:?}",
                        g.precision, g.recall, g.reported, g.gold, g.covered_reported_as_gap
                    )?;
                }
            }
        }
    }
    let _ = cli;
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
    index_of: &HashMap<&str, usize>,
) -> Result<DatasetResult> {
    let text = fs_err::read_to_string(path)?;
    let file: ItemFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an item file", path.display()))?;
    let texts: Vec<&str> = file.items.iter().map(|i| i.text.as_str()).collect();
    let vectors = embedder.embed(&texts)?;
    let scores = mapper.scores(&vectors, &texts);
    let ranked = rank_rows(&scores, mapper.n_controls());
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
    Ok(DatasetResult {
        name: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ranking: ranking_metrics(&ranked, &gold),
        gaps: None,
    })
}

fn eval_corpus(
    dir: &Path,
    ws: &Path,
    embedder: &dyn Embedder,
    mapper: &Mapper,
    ids: &[String],
    index_of: &HashMap<&str, usize>,
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
    let texts: Vec<String> = passages.iter().map(|p| p.embedding_text()).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut scores = mapper.scores(&vectors, &refs);
    mute(
        &mut scores,
        mapper.n_controls(),
        passages.iter().map(|p| is_document_control(p)),
    );

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
    let ranked_all = rank_rows(&scores, mapper.n_controls());
    let gold_lists: Vec<Vec<usize>> = labels.iter().map(|s| s.iter().copied().collect()).collect();
    let ranking = ranking_metrics(&ranked_all, &gold_lists);

    let statuses = assess(&scores, mapper.n_controls(), Thresholds::default());
    let reported: Vec<String> = statuses
        .iter()
        .zip(ids)
        .filter(|(a, _)| a.status == Status::Gap)
        .map(|(_, id)| id.clone())
        .collect();
    Ok(DatasetResult {
        name: format!("{} (gold.yaml)", dir.display()),
        ranking,
        gaps: Some(gap_metrics(&reported, &gold.gaps, &covered)),
    })
}
