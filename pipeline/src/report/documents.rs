//! The report's documents: what each says about itself (owner, version, review dates…) and
//! whether it is current on the report's day, the day asked ([`Asked`]), and the review
//! records shown on the controls about reviewing the AI policy. [`super::dated`] applies
//! them to a report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    freshness::{Cycle, DateOrder, FieldValue, Policy, Status},
    ingest::{
        manifest::DocRecord,
        parse::metadata::{Fact, Field},
    },
};

/// Controls whose evidence is a document's review history: for these the report lists the
/// review records of the documents cited, and of every document titled as the AI policy.
pub const REVIEW_RECORD_CONTROLS: &[&str] = &["A.2.4"];

/// One document read by the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentEntry {
    /// Path relative to the policy folder.
    pub path: String,
    pub title: String,
    #[serde(default)]
    pub format: String,
    /// Every value found, as written, with where, in the order they count: the format's
    /// properties first, then the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// The value used for each field found.
    #[serde(default)]
    pub fields: BTreeMap<Field, FieldValue>,
    pub status: Status,
    /// Why: which date makes it current or overdue.
    #[serde(default)]
    pub status_reason: String,
    /// When its next review is or was due (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due: Option<String>,
    /// Impossible dates, values that disagree: for a reviewer to check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl DocumentEntry {
    /// A field's value as written, if found.
    pub fn value(&self, field: Field) -> Option<&str> {
        self.fields.get(&field).map(|v| v.value.as_str())
    }

    /// A date field as ISO 8601 when it reads as a date, else as written.
    pub fn date(&self, field: Field) -> Option<&str> {
        self.fields
            .get(&field)
            .map(|v| v.date.as_deref().unwrap_or(&v.value))
    }
}

/// How the documents were judged, and how many are in each state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessInfo {
    /// The day documents were judged on (ISO 8601).
    pub as_of: String,
    /// Whether that day was given (`--as-of`): later reports keep it. Otherwise each report
    /// is made as of its own day.
    #[serde(default)]
    pub as_of_given: bool,
    pub review_cycle_months: u32,
    pub date_order: DateOrder,
    pub current: usize,
    pub overdue: usize,
    pub unknown: usize,
}

/// What a command asked of freshness; what it leaves out comes from the last report, then
/// the defaults (today, 12 months, day first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    pub as_of: Option<time::Date>,
    pub cycle: Option<Cycle>,
    pub date_order: Option<DateOrder>,
}

impl Asked {
    /// The policy to judge by, and whether its day was given (now or by the last report).
    pub fn policy(&self, recorded: Option<&FreshnessInfo>) -> (Policy, bool) {
        let recorded_day = recorded.filter(|r| r.as_of_given).and_then(|r| {
            time::Date::parse(
                &r.as_of,
                &time::format_description::well_known::Iso8601::DATE,
            )
            .ok()
        });
        let as_of = self.as_of.or(recorded_day);
        (
            Policy {
                as_of: as_of.unwrap_or_else(|| time::OffsetDateTime::now_utc().date()),
                cycle: self
                    .cycle
                    .or(recorded.map(|r| Cycle(r.review_cycle_months)))
                    .unwrap_or_default(),
                date_order: self
                    .date_order
                    .or(recorded.map(|r| r.date_order))
                    .unwrap_or_default(),
            },
            as_of.is_some(),
        )
    }
}

/// The documents of a run, from the manifest's records (before they are judged).
pub fn entries(records: &BTreeMap<String, DocRecord>) -> Vec<DocumentEntry> {
    records
        .iter()
        .map(|(path, r)| DocumentEntry {
            path: path.clone(),
            title: r
                .passages
                .first()
                .map(|p| p.title.clone())
                .unwrap_or_default(),
            format: r.format.to_string(),
            facts: r.metadata.clone(),
            fields: BTreeMap::new(),
            status: Status::Unknown,
            status_reason: String::new(),
            review_due: None,
            notes: Vec::new(),
        })
        .collect()
}

/// One document's review record, as a review-of-policy control shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub document: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_review: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_review: Option<String>,
    pub status: Status,
    #[serde(default)]
    pub status_reason: String,
}
