//! The coverage report: what `run` builds ([`Report`]), and every output made from it with the
//! reviewers' decisions (`report.json`, `report.html`, `evidence.csv`, `soa.csv`, the terminal
//! table). `docs/report-schema.md` documents `report.json`.
//!
//! - [`coverage`]: `report.json` as the outputs read it, and each control's coverage once the
//!   decisions are applied (covered, proposed, weak, gap, not applicable);
//! - [`outputs`]: reading a workspace's report and decisions, writing every file;
//! - [`register`]: the evidence register and the Statement of Applicability as CSV;
//! - [`html`]: the self-contained HTML report;
//! - [`table`]: the terminal table.
//!
//! It does not map passages to controls ([`crate::map`]) nor store decisions
//! ([`crate::review`]).

use serde::{Deserialize, Serialize};

use crate::map::{Status, Thresholds};

pub mod coverage;
pub mod html;
pub mod outputs;
pub mod register;
pub mod table;

pub use coverage::{Coverage, CoverageCounts, ReportFile};
pub use outputs::{Written, write_outputs};

/// Version of the `report.json` layout. 2 added the review-aware coverage fields
/// (`coverage`, `justification`, `reviewed_evidence`, `review`, `decision`); every field of 1
/// is still there with its meaning.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub policy_folder: String,
    pub workspace: String,
    pub model: String,
    pub catalog: String,
    /// The labelled-item files the mapper learned from (`run --learn`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learned_from: Vec<crate::commands::eval::LearnedFrom>,
    /// The calibration that turned the mapper's scores into the confidences.
    pub calibration: CalibrationUsed,
    pub thresholds: Thresholds,
    pub files: FileCounts,
    pub summary: StatusCounts,
    pub objectives: Vec<ObjectiveReport>,
    /// Every file the walk found and what became of it.
    pub file_outcomes: Vec<FileOutcome>,
    pub timings_s: Timings,
}

/// Which calibration made a report's confidences, so that a confidence read later can be traced
/// to the fit behind it.
#[derive(Debug, Serialize)]
pub struct CalibrationUsed {
    /// `built-in` (fitted for the pinned model on the sample organisation's gold) or `stored`
    /// (fitted for this model by `controlmap eval --save-calibration` and stored beside it).
    pub source: &'static str,
    /// The logistic regression's coefficients.
    pub coefficients: crate::map::Calibration,
    /// Where the stored one was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The labelled corpus the stored one was fitted on, and its ECE there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ece: Option<f64>,
}

impl CalibrationUsed {
    /// `coefficients`, the mapper's calibration: the built-in one, or `stored`, read from beside
    /// the model in `model_dir`.
    pub fn new(
        coefficients: crate::map::Calibration,
        stored: Option<&crate::model_calibration::StoredCalibration>,
        model_dir: &std::path::Path,
    ) -> Self {
        let file = model_dir.join(crate::model_calibration::FILE);
        Self {
            source: if stored.is_some() {
                "stored"
            } else {
                "built-in"
            },
            coefficients,
            file: stored.map(|_| file.display().to_string()),
            fitted_on: stored.map(|s| s.fitted_on.clone()),
            ece: stored.map(|s| s.ece),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileCounts {
    pub found: usize,
    pub parsed: usize,
    /// Parsed in an earlier run and unchanged since: passages and vectors reused.
    pub unchanged: usize,
    pub skipped: usize,
    pub failed: usize,
    pub passages: usize,
    /// Documents read but outside the catalog's scope (they mention none of its scope
    /// terms): searchable, evidence for nothing.
    #[serde(default)]
    pub out_of_scope: usize,
}

/// Controls per status of the mapper alone (see [`CoverageCounts`] for the reviewed ones).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    pub evidence: usize,
    pub weak: usize,
    pub gap: usize,
}

#[derive(Debug, Serialize)]
pub struct ObjectiveReport {
    pub id: String,
    pub title: String,
    pub controls: Vec<ControlReport>,
}

#[derive(Debug, Serialize)]
pub struct ControlReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// The calibrated confidence of the best passage whose best control this is (else of the
    /// best listed passage, else 0).
    pub best_score: f32,
    /// The best passages, highest first (at most five, each at or above the weak threshold).
    pub evidence: Vec<EvidenceItem>,
}

#[derive(Debug, Serialize)]
pub struct EvidenceItem {
    pub passage_id: u64,
    pub content_hash: String,
    pub document: String,
    pub heading: String,
    pub page: Option<u32>,
    /// The mapper's score for the pair (orders a passage's controls).
    pub score: f32,
    /// How likely the pair is right, in [0, 1] (calibrated on the sample gold).
    pub confidence: f32,
    /// Why it was suggested: the closest evidence example and the keywords found.
    pub rationale: crate::map::Rationale,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct FileOutcome {
    pub path: String,
    /// `parsed`, `unchanged`, `skipped` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passages: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Read, but outside the catalog's scope: evidence for nothing (see `--all-documents`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_scope: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Timings {
    pub load_model: f64,
    pub parse: f64,
    pub embed: f64,
    pub index: f64,
    pub map: f64,
    pub total: f64,
}
