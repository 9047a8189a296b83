//! `controlmap eval`: how well the mapper ranks controls for labelled passages, and how well
//! it finds a labelled corpus's gaps ([`crate::eval`] does the scoring).

use std::{collections::BTreeSet, io::Write, path::PathBuf};

use anyhow::{Result, bail};
use controlmap_models::Embedder;

use crate::{
    batch::builtin_lessons,
    catalog::Catalog,
    cli::{Cli, EvalArgs, Format},
    eval::{
        ItemResult, LearningCurve, RankingMetrics,
        datasets::{EvalReport, eval_corpus, eval_items},
        labelled_vectors::{CURVE_STEPS, eval_vectors, learning_curve},
        labels::{Labelled, control_index, load_labelled},
    },
    frameworks::{Frameworks, Selection},
    lessons::LabelledVectors,
    mapping::{Mapper, stored_calibration},
    search::workspace_precision,
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
    let nothing_named = args.gold.is_empty() && args.corpus.is_none() && args.vectors.is_empty();
    let items = if nothing_named {
        default_items()
    } else {
        args.gold.clone()
    };
    let vector_dirs = if nothing_named {
        let real = PathBuf::from("corpora/real");
        if real.join("labels.jsonl").is_file() {
            vec![real]
        } else {
            Vec::new()
        }
    } else {
        args.vectors.clone()
    };
    // Read and checked before the model loads.
    let vector_sets = vector_dirs
        .iter()
        .map(|d| LabelledVectors::load(d))
        .collect::<crate::Result<Vec<_>>>()?;
    // Refused before the model loads.
    if args.save_calibration && !args.vectors.is_empty() {
        bail!(
            "--save-calibration stores a fit on a corpus's gold (--corpus DIR) for a tuned model; not with --vectors"
        );
    }
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
    let corpus = args.corpus.clone().or_else(|| {
        let d = PathBuf::from("corpora/sample-org");
        (nothing_named && d.join("gold.yaml").is_file()).then_some(d)
    });
    let corpus_ws = corpus.as_ref().map(|dir| {
        args.workspace
            .clone()
            .unwrap_or_else(|| workspace::default_for(dir))
    });
    // auto follows the precision the corpus's workspace was embedded in.
    let (embedder, chosen) = args.model.load_from(
        &model_dir,
        corpus_ws.as_deref().and_then(workspace_precision),
    )?;
    if !cli.quiet {
        eprintln!(
            "precision: {} ({}: {})",
            chosen.precision, chosen.used.chosen_by, chosen.used.why
        );
    }
    if let Some(id) = &args.crosswalk_agreement {
        let frameworks = Frameworks::load(&Selection {
            frameworks: vec![id.clone()],
            ..Default::default()
        })?;
        let Some(f) = frameworks.others().first() else {
            bail!("--crosswalk-agreement compares another framework with Annex A; {id} is Annex A");
        };
        if vector_sets.is_empty() {
            bail!("--crosswalk-agreement needs labelled vectors (--vectors DIR)");
        }
        let mapper = Mapper::new(&f.catalog, &embedder, args.weights)?;
        for set in &vector_sets {
            set.check_model(embedder.model_id())?;
            println!(
                "{}: {}",
                set.name,
                crate::eval::crosswalk_agreement::agreement(set, f, &mapper)?
            );
        }
        return Ok(());
    }
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

    for set in &vector_sets {
        set.check_model(embedder.model_id())?;
    }
    let mut datasets = Vec::new();
    let mut curves = Vec::new();
    // What the mapper learns before it scores anything: the built-in real documents' labels
    // (unless --no-builtin) and the --learn files. A labelled-vector set is scored by a mapper
    // that learned none of its documents.
    let (builtin, mut learned_from) = if args.no_builtin {
        (None, Vec::new())
    } else {
        let (_, from) = builtin_lessons(&catalog, &embedder, &index_of)?;
        ((!from.is_empty()).then(LabelledVectors::builtin), from)
    };
    let (files, from_files) = load_labelled(&args.learn, &embedder, &index_of)?;
    learned_from.extend(from_files);
    let base_without = |leave_out: &BTreeSet<&str>| -> crate::Result<Labelled> {
        let mut base = match &builtin {
            Some(b) => b.lessons(&index_of, leave_out)?,
            None => Labelled::empty(embedder.dim()),
        };
        base.extend(&files);
        Ok(base)
    };
    let base = base_without(&BTreeSet::new())?;
    if base.labelled() > 0 {
        mapper.learn(&base.vectors, &base.labels, &base.origins);
    }
    let cv = args.cv.map(usize::from);

    // The labelled vectors first: with --fit-calibration the first set's fit is what
    // everything else is scored with.
    for (k, set) in vector_sets.iter().enumerate() {
        let (docs, _) = set.documents();
        let own: BTreeSet<&str> = docs.into_iter().collect();
        let set_base = base_without(&own)?;
        mapper.learn(&set_base.vectors, &set_base.labels, &set_base.origins);
        datasets.push(eval_vectors(
            set,
            &mut mapper,
            &ids,
            &index_of,
            &set_base,
            cv,
            args.fit_calibration && k == 0,
        )?);
        if args.learning_curve {
            curves.push((
                set.name.clone(),
                learning_curve(set, &mut mapper, &index_of, &set_base, &CURVE_STEPS)?,
            ));
        }
        mapper.learn(&base.vectors, &base.labels, &base.origins);
    }

    // The corpus first: with --fit-calibration its fit is what the item files are scored with.
    if let (Some(dir), Some(ws)) = (&corpus, &corpus_ws) {
        datasets.push(eval_corpus(
            dir,
            ws,
            &embedder,
            &mut mapper,
            &ids,
            &index_of,
            args.fit_calibration && vector_sets.is_empty(),
            &base,
            cv,
        )?);
    } else if args.fit_calibration && vector_sets.is_empty() {
        bail!(
            "--fit-calibration needs labelled vectors (--vectors DIR) or a corpus with a gold.yaml (--corpus DIR)"
        );
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
        learning_curves: curves
            .into_iter()
            .map(|(set, points)| LearningCurve { set, points })
            .collect(),
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
                let sg = &d.suggestions;
                writeln!(
                    out,
                    "  suggestions at confidence ≥ {:.2}: {} pairs, precision {:.3}{}",
                    sg.threshold,
                    sg.proposed,
                    sg.precision,
                    sg.auroc_about_nothing
                        .map(|a| format!("; AUROC of best confidence vs about-nothing {a:.3}"))
                        .unwrap_or_default()
                )?;
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
    if let Format::Text = args.format {
        for c in &report.learning_curves {
            writeln!(
                out,
                "learning curve on {} (reviewer decisions on one fold's documents, scored on another's; mean of 5 rotations):",
                c.set
            )?;
            writeln!(
                out,
                "  {:>9} {:>7} {:>8} {:>6} {:>6}",
                "decisions", "made", "accepted", "P@1", "MRR"
            )?;
            for p in &c.points {
                writeln!(
                    out,
                    "  {:>9} {:>7.1} {:>8.1} {:>6.3} {:>6.3}",
                    p.decisions, p.decided, p.accepted, p.p_at_1, p.mrr
                )?;
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
