//! The coverage report: `report.json` ([`Report`], the one type that writes and reads it),
//! built from the mapper's findings ([`build`]), with the reviewers' decisions applied
//! ([`coverage`]), and every output made from it ([`outputs`]).
//!
//! - [`mod@file`]: `report.json`'s type, read and written whole;
//! - [`build`]: the report's body from a run's assessments;
//! - [`coverage`]: each control's coverage once decisions are applied (covered, proposed,
//!   weak, gap, not applicable);
//! - [`documents`]: each document's metadata and review status on the report's day;
//! - [`dated`]: the report judged on its day, and the marks that leaves on evidence;
//! - [`outputs`]: a workspace's report with its decisions, and every file written from it;
//! - [`register`]: the evidence register and the Statement of Applicability as CSV;
//! - [`html`]: the self-contained HTML report;
//! - [`table`]: the terminal table.
//!
//! It does not map passages to controls ([`crate::mapping`]) nor store decisions
//! ([`crate::review`]). `docs/report-schema.md` documents `report.json`.

pub mod build;
pub mod coverage;
pub mod dated;
pub mod documents;
pub mod file;
pub mod html;
pub mod outputs;
pub mod register;
pub mod table;

pub use documents::{Asked, DocumentEntry, FreshnessInfo};
pub use file::{
    Agreement, CalibrationUsed, ControlEntry, Coverage, CoverageCounts, CoverageSource,
    CrosswalkEntry, DecisionNote, DecisionsLearned, EvidenceEntry, FileCounts, FileOutcome,
    FrameworkEntry, FrameworkInfo, FrameworkView, ObjectiveEntry, Report, Review, StatusCounts,
    Timings,
};
pub use outputs::{Written, write_outputs};

/// Version of the `report.json` layout. 2 added the review-aware coverage fields
/// (`coverage`, `justification`, `reviewed_evidence`, `review`, `decision`); 3 added the
/// frameworks (`framework`, `frameworks`, and per control `crosswalk`, `direct_coverage`,
/// `coverage_from`); 4 added the documents (`freshness`, `documents`, per control
/// `review_records`, per passage `overdue` and `ocr_confidence`). Every field of an earlier
/// version is still there with its meaning.
pub const REPORT_SCHEMA_VERSION: u32 = 4;
