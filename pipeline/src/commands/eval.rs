//! `controlmap eval`: how well the mapper ranks controls for labelled passages, and how well
//! it finds a labelled corpus's gaps ([`crate::eval`] does the scoring).

use std::{io::Write, path::PathBuf};

use anyhow::{Result, bail};
use controlmap_models::Embedder;

use crate::{
    catalog::Catalog,
    cli::{Cli, EvalArgs, Format},
    eval::{
        ItemResult, RankingMetrics,
        datasets::{EvalReport, eval_corpus, eval_items},
        labels::{control_index, load_labelled},
    },
    mapping::{Mapper, stored_calibration},
    workspace,
};

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
    let items = if args.gold.is_empty() && args.corpus.is_none() {
        default_items()
    } else {
        args.gold.clone()
    };
    // Refused before the model loads.
    for l in &args.learn {
        let same = |p: &PathBuf| match (fs_err::canonicalize(p), fs_err::canonicalize(l)) {
            (Ok(a), Ok(b)) => a == b,
            _ => p == l,
        };
        if items.iter().any(same) {
            bail!(
                "{} is both learned from (--learn) and scored: the figures would be in-sample; use --cv K to score it on folds the mapper did not learn from",
                l.display()
            );
        }
    }
    let model_dir = args.model.locate()?;
    if args.save_calibration {
        stored_calibration::check_can_save(&model_dir)?;
    }
    let embedder = args.model.load_from(&model_dir)?;
    let mut mapper = Mapper::new(&catalog, &embedder, args.weights)?;
    let (stored, passed_over) = stored_calibration::applicable(
        stored_calibration::load(&model_dir)?,
        embedder.model_id(),
        &args.weights.to_string(),
    );
    if let Some(why) = passed_over.as_ref().filter(|_| !cli.quiet) {
        eprintln!("note: {why}");
    }
    let stored_used = stored.is_some() && !args.fit_calibration;
    if let Some(s) = &stored {
        mapper.calibration = s.calibration;
    }
    let ids: Vec<String> = catalog.controls().map(|(_, c)| c.id.clone()).collect();
    let index_of = control_index(&ids);

    let mut datasets = Vec::new();
    let (base, learned_from) = load_labelled(&args.learn, &embedder, &index_of)?;
    if !learned_from.is_empty() {
        mapper.learn(&base.vectors, &base.labels);
    }
    let cv = args.cv.map(usize::from);

    let corpus = args.corpus.clone().or_else(|| {
        let d = PathBuf::from("corpora/sample-org");
        (args.gold.is_empty() && d.join("gold.yaml").is_file()).then_some(d)
    });
    // The corpus first: with --fit-calibration its fit is what the item files are scored with.
    if let Some(dir) = &corpus {
        let ws = args
            .workspace
            .clone()
            .unwrap_or_else(|| workspace::default_for(dir));
        datasets.push(eval_corpus(
            dir,
            &ws,
            &embedder,
            &mut mapper,
            &ids,
            &index_of,
            args.fit_calibration,
            &base,
            cv,
        )?);
    } else if args.fit_calibration {
        bail!("--fit-calibration needs a corpus with a gold.yaml (--corpus DIR)");
    }
    if args.save_calibration {
        let (Some(dir), Some(fitted)) = (&corpus, datasets.first()) else {
            unreachable!("--fit-calibration has a corpus (checked above)");
        };
        let stored = stored_calibration::StoredCalibration {
            model_id: embedder.model_id().to_string(),
            weights: args.weights.to_string(),
            calibration: mapper.calibration,
            fitted_on: dir.display().to_string(),
            ece: fitted.calibration.ece,
            ece_cross_validated: fitted.calibration_cross_validated.as_ref().map(|c| c.ece),
        };
        stored_calibration::save(&model_dir, &stored)?;
        if !cli.quiet {
            eprintln!(
                "calibration stored in {}; run and eval use it with this model",
                model_dir.join(stored_calibration::FILE).display()
            );
        }
    }
    for path in &items {
        datasets.push(eval_items(
            path,
            &embedder,
            &mut mapper,
            &ids,
            &index_of,
            &base,
            cv,
        )?);
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
        learned_from,
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
                } else if stored_used {
                    " (stored with the model)"
                } else {
                    ""
                },
                c.score,
                c.margin,
                c.top,
                c.bias
            )?;
            for l in &report.learned_from {
                writeln!(out, "learned from: {} ({} labelled items)", l.file, l.items)?;
            }
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
                if let Some(cv) = &d.cross_validation {
                    let by = |f: fn(&RankingMetrics) -> f64| {
                        cv.shuffles
                            .iter()
                            .map(|r| format!("{:.3}", f(r)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    writeln!(
                        out,
                        "  {}-fold by {}, learning from the other folds' labels; mean of {} shuffles (P@1 {}; R@5 {}; MRR {})",
                        cv.folds,
                        cv.by,
                        cv.shuffles.len(),
                        by(|r| r.p_at_1),
                        by(|r| r.r_at_5),
                        by(|r| r.mrr)
                    )?;
                }
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
