//! `report.json`: the one type `run` writes it with and every reader reads it with (the
//! outputs, review, the web UI). `docs/report-schema.md` documents it.
//!
//! The mapper's findings are typed; review's fields (coverage, review state, decisions) are
//! filled by [`super::coverage`]. Fields a later controlmap adds are kept as they were read
//! (`rest`), so an older `controlmap report` rewrites the file without losing them.

use std::{borrow::Cow, collections::HashSet, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::REPORT_SCHEMA_VERSION;
use crate::{
    error::{Context, Result, user_error},
    eval::labels::LearnedFrom,
    mapping::{Calibration, Rationale, Thresholds, stored_calibration},
    precision::PrecisionUsed,
    review::Verdict,
    workspace,
};

/// Where a control stands once review is taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// A reviewer accepted (or linked by hand) a passage that is still in the policy folder.
    Covered,
    /// The mapper found evidence that no reviewer has accepted yet.
    Proposed,
    /// Only low-confidence mentions.
    Weak,
    /// Nothing: the mapper found no evidence, or reviewers rejected all it suggested.
    #[default]
    Gap,
    /// A reviewer marked the control not applicable, with a justification.
    NotApplicable,
}

impl Coverage {
    /// Every status, from best covered to not applicable.
    pub const ALL: [Coverage; 5] = [
        Coverage::Covered,
        Coverage::Proposed,
        Coverage::Weak,
        Coverage::Gap,
        Coverage::NotApplicable,
    ];

    /// How people read it (`not applicable` with a space; JSON has `not_applicable`).
    pub fn label(self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::Proposed => "proposed",
            Coverage::Weak => "weak",
            Coverage::Gap => "gap",
            Coverage::NotApplicable => "not applicable",
        }
    }

    /// A name without spaces, for CSS classes.
    pub fn key(self) -> &'static str {
        match self {
            Coverage::NotApplicable => "na",
            other => other.label(),
        }
    }
}

/// How many controls have each coverage status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageCounts {
    pub covered: usize,
    pub proposed: usize,
    pub weak: usize,
    pub gap: usize,
    pub not_applicable: usize,
}

impl CoverageCounts {
    pub fn add(&mut self, c: Coverage) {
        *self.get_mut(c) += 1;
    }

    pub fn get(&self, c: Coverage) -> usize {
        match c {
            Coverage::Covered => self.covered,
            Coverage::Proposed => self.proposed,
            Coverage::Weak => self.weak,
            Coverage::Gap => self.gap,
            Coverage::NotApplicable => self.not_applicable,
        }
    }

    pub(crate) fn get_mut(&mut self, c: Coverage) -> &mut usize {
        match c {
            Coverage::Covered => &mut self.covered,
            Coverage::Proposed => &mut self.proposed,
            Coverage::Weak => &mut self.weak,
            Coverage::Gap => &mut self.gap,
            Coverage::NotApplicable => &mut self.not_applicable,
        }
    }

    pub fn total(&self) -> usize {
        Coverage::ALL.iter().map(|&c| self.get(c)).sum()
    }
}

/// Where a (passage, control) pair stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    /// Suggested, not decided.
    #[default]
    Pending,
    Accepted,
    Rejected,
    /// Mapped by hand.
    Linked,
    /// Decided on a passage whose text is no longer in the policy folder.
    Stale,
}

impl Review {
    pub fn label(self) -> &'static str {
        match self {
            Review::Pending => "pending",
            Review::Accepted => "accepted",
            Review::Rejected => "rejected",
            Review::Linked => "linked",
            Review::Stale => "stale",
        }
    }

    /// Accepted or linked: evidence a reviewer vouched for.
    pub fn is_evidence(self) -> bool {
        matches!(self, Review::Accepted | Review::Linked)
    }
}

/// The current decision on a pair, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionNote {
    pub verdict: Verdict,
    pub reviewer: String,
    pub decided_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    #[serde(default)]
    pub tool: String,
    /// An identifier of the run that wrote the mapper's findings; decisions record it. A
    /// rewrite of the outputs (`controlmap report`) keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default)]
    pub policy_folder: String,
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub model: String,
    /// The precision the model ran in, and why (`--precision auto` picks one per CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionUsed>,
    #[serde(default)]
    pub catalog: String,
    #[serde(default)]
    pub files: FileCounts,
    /// Controls per status of the mapper alone.
    #[serde(default)]
    pub summary: StatusCounts,
    /// Controls per coverage status, review included (schema 2).
    #[serde(default)]
    pub coverage: CoverageCounts,
    #[serde(default)]
    pub objectives: Vec<ObjectiveEntry>,
    /// The primary framework whose controls `objectives` holds (schema 3; absent: ISO/IEC
    /// 42001 Annex A, built in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<FrameworkInfo>,
    /// The other frameworks mapped (`run --framework`), each with its own controls and
    /// coverage (schema 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<FrameworkEntry>,
    #[serde(default)]
    pub file_outcomes: Vec<FileOutcome>,
    /// How documents were judged current (schema 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<super::documents::FreshnessInfo>,
    /// Every document read, with its metadata and review status (schema 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<super::documents::DocumentEntry>,
    /// The calibration that turned the mapper's scores into the confidences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationUsed>,
    /// The labelled passages the mapper learned from: the built-in real documents' and
    /// `run --learn` files; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learned_from: Vec<LearnedFrom>,
    /// How many of the reviewers' decisions the mapping learned from.
    #[serde(default)]
    pub decisions_learned: DecisionsLearned,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings_s: Option<Timings>,
    /// Everything else, kept as it was read.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// Which framework a list of objectives belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `built in`, or the catalog file it was read from.
    #[serde(default)]
    pub source: String,
    /// The crosswalk that carries the primary framework's evidence to this one, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosswalk: Option<String>,
}

/// A framework besides the primary one, as `report.json` holds it (schema 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameworkEntry {
    #[serde(flatten)]
    pub info: FrameworkInfo,
    /// Controls per status of the mapper alone, mapping this framework's catalog directly.
    #[serde(default)]
    pub summary: StatusCounts,
    /// Controls per coverage status: direct mapping and crosswalk together, review included.
    #[serde(default)]
    pub coverage: CoverageCounts,
    /// How the two sources agree, control by control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    #[serde(default)]
    pub objectives: Vec<ObjectiveEntry>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// For a framework with a crosswalk: how many of its controls with crosswalk pairs each
/// source finds evidence for (covered or proposed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Both sources find evidence.
    pub both: usize,
    /// Neither does.
    pub neither: usize,
    /// Only the direct mapping to the framework's own catalog does.
    pub direct_only: usize,
    /// Only the crosswalk from the primary framework's evidence does.
    pub crosswalk_only: usize,
}

/// Which source gave a control of a crosswalked framework its coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageSource {
    /// Passages mapped to the control itself (or a reviewer's mark on it).
    Direct,
    /// The primary framework's evidence, through the crosswalk.
    Crosswalk,
    /// Both say the same.
    Both,
}

/// What the crosswalk says of a control (schema 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrosswalkEntry {
    /// The primary framework's controls whose evidence counts for this one.
    pub to: Vec<String>,
    /// The best coverage among them that carries over: covered, proposed, or gap.
    #[serde(default)]
    pub coverage: Coverage,
    /// Those of `to` that gave it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectiveEntry {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// This objective's controls per coverage status (schema 2).
    #[serde(default)]
    pub coverage: CoverageCounts,
    #[serde(default)]
    pub controls: Vec<ControlEntry>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlEntry {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// The mapper's status: `evidence`, `weak` or `gap`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub best_score: f32,
    /// Where the control stands with review taken into account (schema 2).
    #[serde(default)]
    pub coverage: Coverage,
    /// Why the control is not applicable, as the reviewer wrote it (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The mapper's suggestions, best first.
    #[serde(default)]
    pub evidence: Vec<EvidenceEntry>,
    /// Passages decided for this control that the mapper did not suggest this time: linked
    /// by hand, decided in an earlier run, or stale (schema 2).
    #[serde(default)]
    pub reviewed_evidence: Vec<EvidenceEntry>,
    /// For a framework with a crosswalk to the primary one: what the crosswalk says (schema 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosswalk: Option<CrosswalkEntry>,
    /// The coverage of the direct mapping alone, where a crosswalk also speaks (schema 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_coverage: Option<Coverage>,
    /// Which source gave `coverage`, where a crosswalk also speaks (schema 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_from: Option<CoverageSource>,
    /// For a control about reviewing the AI policy: the review records of the documents it
    /// cites, and of the AI policy (schema 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub review_records: Vec<super::documents::ReviewRecord>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceEntry {
    #[serde(default)]
    pub passage_id: Option<u64>,
    pub content_hash: String,
    #[serde(default)]
    pub document: String,
    #[serde(default)]
    pub heading: String,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Why the mapper suggested it (reports from before rationales have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "rationale_or_none")]
    pub rationale: Option<Rationale>,
    #[serde(default)]
    pub text: String,
    /// Where the pair stands in review (schema 2).
    #[serde(default)]
    pub review: Review,
    /// The current decision on the pair, if any (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionNote>,
    /// The passage's document is overdue for review on the report's day (schema 4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
    /// The passage was read from a scanned page; the OCR's confidence, 0–100 (schema 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl EvidenceEntry {
    /// The mapper's confidence for the pair: its calibrated confidence where the report has
    /// one, else the passage's score.
    pub fn confidence(&self) -> Option<f32> {
        self.confidence.or(self.score)
    }

    /// Where the passage is: `document p.N › heading`.
    pub fn location(&self) -> String {
        let mut s = self.document.clone();
        if let Some(p) = self.page {
            s.push_str(&format!(" p.{p}"));
        }
        if !self.heading.is_empty() {
            s.push_str(" › ");
            s.push_str(&self.heading);
        }
        s
    }
}

/// A file the walk found, and what became of it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileOutcome {
    pub path: String,
    /// `parsed`, `unchanged`, `skipped` or `failed`.
    #[serde(default)]
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passages: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Read, but outside the catalog's scope: evidence for nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub out_of_scope: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ControlEntry {
    /// Every passage listed for the control: suggestions, then reviewed ones.
    pub fn all_evidence(&self) -> impl Iterator<Item = &EvidenceEntry> {
        self.evidence.iter().chain(&self.reviewed_evidence)
    }

    /// The passages the Statement of Applicability cites: all those reviewers accepted when
    /// the control is covered; the best three suggestions not rejected when it is proposed or
    /// weak.
    pub fn references(&self) -> Vec<&EvidenceEntry> {
        match self.coverage {
            Coverage::Covered => self
                .all_evidence()
                .filter(|e| e.review.is_evidence())
                .collect(),
            Coverage::Proposed | Coverage::Weak => self
                .evidence
                .iter()
                .filter(|e| e.review == Review::Pending)
                .take(3)
                .collect(),
            Coverage::Gap | Coverage::NotApplicable => Vec::new(),
        }
    }
}

/// A rationale as this controlmap writes it; reports that wrote it another way (a line of
/// text, from before rationales were structured) read as none, not as an unreadable report.
fn rationale_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Rationale>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| serde_json::from_value(v).ok()))
}

/// One framework's part of a report, primary or not.
#[derive(Debug, Clone)]
pub struct FrameworkView<'a> {
    pub info: Cow<'a, FrameworkInfo>,
    pub objectives: &'a [ObjectiveEntry],
    pub coverage: &'a CoverageCounts,
    pub agreement: Option<&'a Agreement>,
    pub primary: bool,
}

impl FrameworkView<'_> {
    pub fn controls(&self) -> impl Iterator<Item = &ControlEntry> {
        self.objectives.iter().flat_map(|o| &o.controls)
    }
}

impl Report {
    /// Every control of the primary framework, in report order.
    pub fn controls(&self) -> impl Iterator<Item = &ControlEntry> {
        self.objectives.iter().flat_map(|o| &o.controls)
    }

    /// The primary framework's description: as the report says, or, for a report from before
    /// schema 3, the built-in ISO/IEC 42001 Annex A under the catalog name it recorded.
    pub fn primary_framework(&self) -> FrameworkInfo {
        self.framework.clone().unwrap_or_else(|| FrameworkInfo {
            id: crate::frameworks::PRIMARY.to_string(),
            name: self.catalog.clone(),
            source: crate::frameworks::BUILT_IN.to_string(),
            ..Default::default()
        })
    }

    /// Each framework's name and catalog source (`built in` or a file) as the report in
    /// `workspace` records them; none when it has no readable report.
    pub fn recorded_catalogs(workspace: &Path) -> Vec<(String, String)> {
        Report::load(workspace)
            .map(|r| {
                r.framework_views()
                    .iter()
                    .map(|v| (v.info.name.clone(), v.info.source.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every framework's part, the primary one first.
    pub fn framework_views(&self) -> Vec<FrameworkView<'_>> {
        let primary = match &self.framework {
            Some(f) => Cow::Borrowed(f),
            None => Cow::Owned(self.primary_framework()),
        };
        let mut views = vec![FrameworkView {
            info: primary,
            objectives: &self.objectives,
            coverage: &self.coverage,
            agreement: None,
            primary: true,
        }];
        views.extend(self.frameworks.iter().map(|f| FrameworkView {
            info: Cow::Borrowed(&f.info),
            objectives: &f.objectives,
            coverage: &f.coverage,
            agreement: f.agreement.as_ref(),
            primary: false,
        }));
        views
    }

    /// Every control of every framework: the primary's, then the others' in order.
    pub fn all_controls(&self) -> impl Iterator<Item = &ControlEntry> {
        self.controls().chain(
            self.frameworks
                .iter()
                .flat_map(|f| f.objectives.iter().flat_map(|o| &o.controls)),
        )
    }

    /// The documents the run found outside the catalog's scope: read and searchable, but
    /// evidence for no control.
    pub fn out_of_scope(&self) -> HashSet<&str> {
        self.file_outcomes
            .iter()
            .filter(|o| o.out_of_scope)
            .map(|o| o.path.as_str())
            .collect()
    }

    /// Controls that are gaps once review is taken into account.
    pub fn gaps(&self) -> Vec<&ControlEntry> {
        self.controls()
            .filter(|c| c.coverage == Coverage::Gap)
            .collect()
    }

    /// Reads `report.json` from `workspace`.
    pub fn load(workspace: &Path) -> Result<Self> {
        let path = workspace.join(workspace::REPORT_JSON);
        if !path.is_file() {
            user_error!(
                "{} has no report.json; run `controlmap run POLICY_DIR --workspace {}` first",
                workspace.display(),
                workspace.display()
            );
        }
        let text = fs_err::read_to_string(&path)?;
        let report: Report = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a report controlmap can read; run `controlmap run` again to rewrite it",
                path.display()
            )
        })?;
        if report.schema_version > REPORT_SCHEMA_VERSION {
            user_error!(
                "{} has schema version {}, newer than the {REPORT_SCHEMA_VERSION} this controlmap \
                 knows; use a newer controlmap",
                path.display(),
                report.schema_version
            );
        }
        Ok(report)
    }

    /// Writes it as `report.json` in `workspace`, whole or not at all.
    pub fn save(&self, workspace: &Path) -> Result<()> {
        workspace::write_whole(&workspace.join(workspace::REPORT_JSON), &self.to_json()?)
    }

    /// `report.json`'s bytes, as `save` and the outputs write them.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        Ok(json)
    }
}

/// to the fit behind it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CalibrationUsed {
    /// `built-in` (fitted for the pinned model on the sample organisation's gold) or `stored`
    /// (fitted for this model by `controlmap eval --save-calibration` and stored beside it).
    pub source: String,
    /// The logistic regression's coefficients.
    pub coefficients: Calibration,
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
        coefficients: Calibration,
        stored: Option<&stored_calibration::StoredCalibration>,
        model_dir: &std::path::Path,
    ) -> Self {
        let file = model_dir.join(stored_calibration::FILE);
        Self {
            source: if stored.is_some() {
                "stored"
            } else {
                "built-in"
            }
            .to_string(),
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Timings {
    pub load_model: f64,
    pub parse: f64,
    pub embed: f64,
    pub index: f64,
    pub map: f64,
    pub total: f64,
}

/// How many decisions the mapping learned from, as the report says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionsLearned {
    /// Accepted or linked by hand: positives.
    pub accepted: usize,
    /// Rejected: negatives.
    pub rejected: usize,
}

impl DecisionsLearned {
    pub fn total(&self) -> usize {
        self.accepted + self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_written_by_earlier_versions_still_read() {
        let e: EvidenceEntry = serde_json::from_value(serde_json::json!({
            "content_hash": "aa11", "rationale": "closest to \"…\" (0.71)", "extra": 1
        }))
        .unwrap();
        assert!(e.rationale.is_none());
        assert_eq!(
            e.rest["extra"], 1,
            "unknown fields are kept for the rewrite"
        );
        let t: Timings = serde_json::from_value(serde_json::json!({"total": 2.5})).unwrap();
        assert_eq!((t.total, t.embed), (2.5, 0.0));
    }
}
