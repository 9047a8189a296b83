//! `controlmap tune`: fine-tune the embedding model on the catalog's own text.
//!
//! Each evidence example of each control is an anchor whose target is its control's
//! description (title and summary, the text the mapper embeds); the model learns to place
//! every example nearer its own control's description than the other controls'. Nothing
//! labelled by anyone but the catalog's authors is used, so `eval` on the sample organisation
//! and on the NIST crosswalk stays a fair test of the tuned model.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use controlmap_models::{PROVENANCE_FILE, Precision, TuneOptions, Tuner};
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::cli::{Cli, TuneArgs};
use crate::ingest::manifest::sha256_file;
use crate::messages::{bar, note};
use crate::precision::PrecisionChoice;

/// The training pairs a catalog gives: (evidence example, control index) and the controls'
/// descriptions, in catalog order.
pub fn catalog_pairs(catalog: &Catalog) -> (Vec<(String, usize)>, Vec<String>) {
    let mut anchors = Vec::new();
    let mut targets = Vec::new();
    for (k, (_, c)) in catalog.controls().enumerate() {
        targets.push(c.description());
        anchors.extend(c.evidence_examples.iter().map(|e| (e.clone(), k)));
    }
    (anchors, targets)
}

pub fn run(args: &TuneArgs, _cli: &Cli) -> Result<()> {
    let started = Instant::now();
    // auto means f32 here: training needs float32's gradients.
    if !matches!(
        args.model.precision,
        PrecisionChoice::Auto | PrecisionChoice::Fixed(Precision::F32)
    ) {
        bail!(
            "tune trains in f32 (--precision f32); the tuned model can then run in any precision"
        );
    }
    let (catalog, catalog_name) = match &args.catalog {
        Some(p) => (Catalog::load(p)?, p.display().to_string()),
        None => (Catalog::builtin(), "built-in".to_string()),
    };
    let (anchors, targets) = catalog_pairs(&catalog);
    if anchors.is_empty() {
        bail!("the catalog {catalog_name} has no evidence examples to tune on");
    }
    if !(args.learning_rate.is_finite() && args.learning_rate > 0.0) {
        bail!(
            "--learning-rate must be a positive number, not {}",
            args.learning_rate
        );
    }
    let base = args.model.locate()?;
    let base_sha = sha256_file(&base.join("model.safetensors"))?;
    let mut tuner = Tuner::load(&base, args.model.device)
        .with_context(|| format!("loading {} for training", base.display()))?;
    tuner.check_destination(&args.out)?;

    let options = TuneOptions {
        epochs: args.epochs.into(),
        learning_rate: args.learning_rate,
        seed: args.seed,
        ..Default::default()
    };
    note(format_args!(
        "tuning {} on {} evidence examples of {} controls ({catalog_name} catalog): \
             {} epoch(s), seed {}",
        base.display(),
        anchors.len(),
        targets.len(),
        options.epochs,
        options.seed
    ));
    let steps = anchors.len().div_ceil(options.batch_size) * options.epochs;
    let bar = bar(steps as u64, "tune");
    let anchor_refs: Vec<(&str, usize)> = anchors.iter().map(|(t, k)| (t.as_str(), *k)).collect();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let summary = tuner.train(&anchor_refs, &target_refs, &options, &mut |s| {
        bar.set_message(format!("epoch {} loss {:.3}", s.epoch + 1, s.loss));
        bar.inc(1);
    })?;
    bar.finish_and_clear();

    let seconds = started.elapsed().as_secs_f64();
    let provenance = serde_json::json!({
        "made_by": format!("controlmap {} tune", env!("CARGO_PKG_VERSION")),
        "base_model": {
            "dir": base.display().to_string(),
            "model_safetensors_sha256": base_sha,
        },
        "catalog": {
            "name": catalog_name,
            "sha256": Sha256::digest(serde_json::to_string(&catalog)?)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "controls": targets.len(),
            "evidence_examples": anchors.len(),
        },
        "objective": "each evidence example nearest its own control's description \
                      (in-batch contrastive loss against every description)",
        "options": {
            "epochs": options.epochs,
            "batch_size": options.batch_size,
            "learning_rate": options.learning_rate,
            "scale": options.scale,
            "seed": options.seed,
            "device": format!("{:?}", tuner.device()),
        },
        "epoch_losses": summary.epoch_losses,
        "steps": summary.steps,
        "seconds": (seconds * 10.0).round() / 10.0,
    });
    tuner
        .save(&args.out, &provenance)
        .with_context(|| format!("writing the tuned model to {}", args.out.display()))?;
    // A calibration fitted for the model tuned here before does not hold for this one.
    let stale = args.out.join(crate::mapping::stored_calibration::FILE);
    if stale.is_file() {
        fs_err::remove_file(&stale)?;
    }
    let losses: Vec<String> = summary
        .epoch_losses
        .iter()
        .map(|l| format!("{l:.3}"))
        .collect();
    note(format_args!(
        "tuned model written to {} in {seconds:.0} s ({} steps; loss by epoch {}); \
             provenance in {PROVENANCE_FILE}.\n\
             Use it with --model {0} (or CONTROLMAP_MODEL={0}); a workspace built with \
             another model embeds its passages again on the next run.",
        args.out.display(),
        summary.steps,
        losses.join(", "),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_evidence_example_points_at_its_own_controls_description() {
        let catalog = Catalog::builtin();
        let (anchors, targets) = catalog_pairs(&catalog);
        let controls: Vec<_> = catalog.controls().map(|(_, c)| c).collect();
        assert_eq!(targets.len(), controls.len());
        let examples: usize = controls.iter().map(|c| c.evidence_examples.len()).sum();
        assert_eq!(anchors.len(), examples);
        for (text, k) in &anchors {
            assert!(controls[*k].evidence_examples.contains(text));
            assert!(targets[*k].starts_with(&controls[*k].title));
        }
    }
}
