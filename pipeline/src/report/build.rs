//! The report's body from a run: each control's status and best passages, as the mapper
//! assessed them, in catalog order.

use serde_json::Map;

use super::{
    REPORT_SCHEMA_VERSION,
    file::{
        CalibrationUsed, ControlEntry, CrosswalkEntry, DecisionsLearned, EvidenceEntry, FileCounts,
        FileOutcome, FrameworkEntry, FrameworkInfo, ObjectiveEntry, Report, StatusCounts, Timings,
    },
};
use crate::{
    catalog::Catalog,
    crosswalk::Crosswalk,
    eval::labels::LearnedFrom,
    frameworks::Framework,
    ingest::chunk::Passage,
    mapping::{Assessment, Rationale, Status, Thresholds},
    precision::PrecisionUsed,
};

/// Most passages listed per control in the report.
pub const EVIDENCE_PER_CONTROL: usize = 5;

/// Everything about a run besides its controls' findings.
#[derive(Debug)]
pub struct Header {
    pub policy_folder: String,
    pub workspace: String,
    pub model: String,
    pub precision: Option<PrecisionUsed>,
    pub catalog: String,
    pub learned_from: Vec<LearnedFrom>,
    pub decisions_learned: DecisionsLearned,
    pub calibration: CalibrationUsed,
    pub thresholds: Thresholds,
    pub files: FileCounts,
    pub summary: StatusCounts,
    pub objectives: Vec<ObjectiveEntry>,
    pub framework: FrameworkInfo,
    pub frameworks: Vec<FrameworkEntry>,
    pub file_outcomes: Vec<FileOutcome>,
    pub documents: Vec<super::DocumentEntry>,
    pub timings_s: Timings,
}

impl Report {
    /// A fresh run's report, before review is applied. Its `run_id` is new: decisions made on
    /// its suggestions record it, and rewriting the outputs keeps it.
    pub fn new(h: Header) -> Self {
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: format!("controlmap {}", env!("CARGO_PKG_VERSION")),
            run_id: Some(new_run_id()),
            policy_folder: h.policy_folder,
            workspace: h.workspace,
            model: h.model,
            precision: h.precision,
            catalog: h.catalog,
            files: h.files,
            summary: h.summary,
            coverage: Default::default(),
            objectives: h.objectives,
            framework: Some(h.framework),
            frameworks: h.frameworks,
            file_outcomes: h.file_outcomes,
            freshness: None,
            documents: h.documents,
            calibration: Some(h.calibration),
            learned_from: h.learned_from,
            decisions_learned: h.decisions_learned,
            thresholds: Some(h.thresholds),
            timings_s: Some(h.timings_s),
            rest: Map::new(),
        }
    }
}

/// A run's identifier: when it finished (UTC, to the microsecond, so identifiers sort as
/// text), which is also what a reviewer reads in a decision's history.
fn new_run_id() -> String {
    crate::review::now()
}

/// The objectives with each control's status and best passages (at most
/// [`EVIDENCE_PER_CONTROL`]), and the count per status. `assessments` are in catalog order;
/// `scores[p * n + c]` is passage `p`'s score for control `c`; `rationale(p, c)` says why
/// passage `p` was suggested for control `c`. With a `crosswalk` (a framework besides the
/// primary one), each control lists the primary controls it borrows evidence from.
pub fn objectives(
    catalog: &Catalog,
    crosswalk: Option<&Crosswalk>,
    assessments: &[Assessment],
    passages: &[&Passage],
    scores: &[f32],
    rationale: impl Fn(usize, usize) -> Rationale,
) -> (StatusCounts, Vec<ObjectiveEntry>) {
    let n_controls = assessments.len();
    let mut summary = StatusCounts::default();
    let mut objectives = Vec::new();
    let mut ci = 0;
    for o in &catalog.objectives {
        let mut controls = Vec::new();
        for c in &o.controls {
            let a = &assessments[ci];
            match a.status {
                Status::Evidence => summary.evidence += 1,
                Status::Weak => summary.weak += 1,
                Status::Gap => summary.gap += 1,
            }
            let evidence = a
                .support
                .iter()
                .take(EVIDENCE_PER_CONTROL)
                .map(|&(p, confidence)| {
                    let passage = passages[p];
                    EvidenceEntry {
                        passage_id: Some(passage.id),
                        content_hash: passage.content_hash.clone(),
                        document: passage.document.clone(),
                        heading: passage.heading_path(),
                        page: passage.page,
                        score: Some(scores[p * n_controls + ci]),
                        confidence: Some(confidence),
                        rationale: Some(rationale(p, ci)),
                        text: passage.text.clone(),
                        review: Default::default(),
                        decision: None,
                        overdue: false,
                        ocr_confidence: passage.ocr_confidence,
                        rest: Map::new(),
                    }
                })
                .collect();
            controls.push(ControlEntry {
                id: c.id.clone(),
                title: c.title.clone(),
                status: a.status.label().to_string(),
                best_score: a.best,
                coverage: Default::default(),
                justification: None,
                evidence,
                reviewed_evidence: Vec::new(),
                crosswalk: crosswalk
                    .map(|x| x.targets(&c.id).to_vec())
                    .filter(|to| !to.is_empty())
                    .map(|to| CrosswalkEntry {
                        to,
                        ..Default::default()
                    }),
                direct_coverage: None,
                coverage_from: None,
                review_records: Vec::new(),
                rest: Map::new(),
            });
            ci += 1;
        }
        objectives.push(ObjectiveEntry {
            id: o.id.clone(),
            title: o.title.clone(),
            coverage: Default::default(),
            controls,
            rest: Map::new(),
        });
    }
    (summary, objectives)
}

impl FrameworkInfo {
    /// A framework of a run, as the report names it.
    pub fn of(f: &Framework) -> Self {
        let fw = &f.catalog.framework;
        FrameworkInfo {
            id: fw.id.clone(),
            name: fw.name.clone(),
            version: fw.version.clone(),
            source: f.source.clone(),
            crosswalk: f.crosswalk.as_ref().map(|x| x.name.clone()),
        }
    }
}
