//! A confidence calibration fitted for a tuned model, kept in the model's own directory.
//!
//! The built-in [`Calibration`] was fitted on the sample organisation's gold with the pinned
//! model's scores; a model from `controlmap tune` scores differently, so its confidences need
//! their own fit. `controlmap eval --fit-calibration --save-calibration --model DIR` fits one on
//! the same gold and writes it here; `run` and `eval` use it whenever they load that model with
//! the weights it was fitted for.

use std::path::Path;

use controlmap_models::PROVENANCE_FILE;
use serde::{Deserialize, Serialize};

use super::Calibration;
use crate::{
    error::{Context, Result, user_error},
    workspace::write_whole,
};

/// The file, in the model directory.
pub const FILE: &str = "controlmap-calibration.json";

/// What is stored: the fit and what it holds for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCalibration {
    /// The model it was fitted with (`BertEmbedder::model_id`).
    pub model_id: String,
    /// The mapper's weights it was fitted with.
    pub weights: String,
    pub calibration: Calibration,
    /// The labelled corpus it was fitted on.
    pub fitted_on: String,
    /// Expected calibration error on that corpus, and with the fit made on the other folds.
    pub ece: f64,
    pub ece_cross_validated: Option<f64>,
}

/// The calibration stored in `model_dir`, if there is one. A file that cannot be read is an
/// error: the user made it, and silently falling back would change every confidence.
pub fn load(model_dir: &Path) -> Result<Option<StoredCalibration>> {
    let path = model_dir.join(FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = fs_err::read_to_string(&path)?;
    let stored = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a calibration file", path.display()))?;
    Ok(Some(stored))
}

/// Writes `stored` into `model_dir`, which must hold a model made by `controlmap tune` (the
/// pinned model's calibration is built in, and its directory is a shared cache).
pub fn save(model_dir: &Path, stored: &StoredCalibration) -> Result<()> {
    check_can_save(model_dir)?;
    let text = serde_json::to_string_pretty(stored)? + "\n";
    write_whole(&model_dir.join(FILE), text.as_bytes())
}

/// Whether [`save`] would write into `model_dir`; asked before the work whose result it saves.
pub fn check_can_save(model_dir: &Path) -> Result<()> {
    if !model_dir.join(PROVENANCE_FILE).is_file() {
        user_error!(
            "{} holds no model made by `controlmap tune` ({PROVENANCE_FILE} is missing): a \
             calibration is stored only beside a tuned model; the default model's is built in",
            model_dir.display()
        );
    }
    Ok(())
}

/// The stored calibration when it was fitted for `model_id` and `weights`; otherwise `None`
/// and, when a stored one was passed over, the reason.
pub fn applicable(
    stored: Option<StoredCalibration>,
    model_id: &str,
    weights: &str,
) -> (Option<StoredCalibration>, Option<String>) {
    match stored {
        None => (None, None),
        Some(s) if s.model_id != model_id => {
            let why = format!(
                "the calibration stored with the model was fitted for {}, not {model_id}; using the built-in one",
                s.model_id
            );
            (None, Some(why))
        }
        Some(s) if s.weights != weights => {
            let why = format!(
                "the calibration stored with the model was fitted for weights {}, not {weights}; using the built-in one",
                s.weights
            );
            (None, Some(why))
        }
        Some(s) => (Some(s), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredCalibration {
        StoredCalibration {
            model_id: "tuned@abc".into(),
            weights: "desc=1".into(),
            calibration: Calibration {
                score: 7.5,
                margin: 2.6,
                top: 1.3,
                bias: -5.0,
            },
            fitted_on: "corpora/sample-org".into(),
            ece: 0.017,
            ece_cross_validated: Some(0.018),
        }
    }

    #[test]
    fn a_calibration_is_kept_only_beside_a_tuned_model_and_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let err = save(dir.path(), &stored()).unwrap_err().to_string();
        assert!(err.contains("controlmap tune"), "{err}");
        assert!(!dir.path().join(FILE).exists());

        std::fs::write(dir.path().join(PROVENANCE_FILE), "{}").unwrap();
        save(dir.path(), &stored()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(stored()));

        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        let err = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(err.contains("not a calibration file"), "{err}");
    }

    #[test]
    fn a_stored_calibration_applies_only_to_its_model_and_weights() {
        let (c, why) = applicable(Some(stored()), "tuned@abc", "desc=1");
        assert_eq!(c, Some(stored()));
        assert_eq!(why, None);
        let (c, why) = applicable(Some(stored()), "tuned@abc+int8", "desc=1");
        assert_eq!(c, None);
        assert!(why.unwrap().contains("tuned@abc+int8"));
        let (c, why) = applicable(Some(stored()), "tuned@abc", "desc=0.5");
        assert_eq!(c, None);
        assert!(why.unwrap().contains("weights"));
        assert_eq!(applicable(None, "x", "y"), (None, None));
    }
}
