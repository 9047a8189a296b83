//! The report on its day: every document judged current or overdue on the day asked
//! ([`super::documents::Asked`]), evidence from overdue documents marked so, and the review
//! records listed on the controls about reviewing the AI policy.

use std::collections::{BTreeMap, HashSet};

use super::{
    documents::{Asked, DocumentEntry, FreshnessInfo, REVIEW_RECORD_CONTROLS, ReviewRecord},
    file::Report,
};
use crate::{
    freshness::{self, Status},
    ingest::parse::metadata::Field,
};

impl Report {
    /// Judges every document on `asked`'s day, marks the evidence of overdue documents in
    /// every framework, and lists the review records of [`REVIEW_RECORD_CONTROLS`].
    pub fn apply_freshness(&mut self, asked: &Asked) {
        let (policy, given) = asked.policy(self.freshness.as_ref());
        let mut info = FreshnessInfo {
            as_of: policy.as_of.to_string(),
            as_of_given: given,
            review_cycle_months: policy.cycle.0,
            date_order: policy.date_order,
            current: 0,
            overdue: 0,
            unknown: 0,
        };
        for d in &mut self.documents {
            let resolved = freshness::resolve(&d.facts, policy.date_order);
            let verdict = freshness::assess(&resolved, &policy);
            d.fields = resolved.fields;
            d.notes = resolved.notes;
            d.notes.extend(verdict.notes);
            d.status = verdict.status;
            d.status_reason = verdict.reason;
            d.review_due = verdict.due.map(|d| d.to_string());
            match d.status {
                Status::Current => info.current += 1,
                Status::Overdue => info.overdue += 1,
                Status::Unknown => info.unknown += 1,
            }
        }
        self.freshness = Some(info);

        let overdue: HashSet<&str> = self
            .documents
            .iter()
            .filter(|d| d.status == Status::Overdue)
            .map(|d| d.path.as_str())
            .collect();
        let records = |cited: &mut dyn Iterator<Item = &str>| -> Vec<ReviewRecord> {
            let cited: HashSet<&str> = cited.collect();
            self.documents
                .iter()
                .filter(|d| {
                    cited.contains(d.path.as_str()) || d.title.to_lowercase().contains("ai policy")
                })
                .map(|d| ReviewRecord {
                    document: d.path.clone(),
                    title: d.title.clone(),
                    version: d.value(Field::Version).map(str::to_string),
                    approver: d.value(Field::Approver).map(str::to_string),
                    last_review: d.date(Field::LastReview).map(str::to_string),
                    next_review: d.date(Field::NextReview).map(str::to_string),
                    status: d.status,
                    status_reason: d.status_reason.clone(),
                })
                .collect()
        };
        let mut review_records = BTreeMap::new();
        for c in self
            .objectives
            .iter()
            .flat_map(|o| &o.controls)
            .filter(|c| REVIEW_RECORD_CONTROLS.contains(&c.id.as_str()))
        {
            review_records.insert(
                c.id.clone(),
                records(&mut c.all_evidence().map(|e| e.document.as_str())),
            );
        }
        let objectives = self.objectives.iter_mut().chain(
            self.frameworks
                .iter_mut()
                .flat_map(|f| f.objectives.iter_mut()),
        );
        for c in objectives.flat_map(|o| o.controls.iter_mut()) {
            for e in c.evidence.iter_mut().chain(c.reviewed_evidence.iter_mut()) {
                e.overdue = overdue.contains(e.document.as_str());
            }
            if let Some(r) = review_records.remove(&c.id) {
                c.review_records = r;
            }
        }
    }

    /// The documents that are overdue, in path order.
    pub fn overdue_documents(&self) -> impl Iterator<Item = &DocumentEntry> {
        self.documents
            .iter()
            .filter(|d| d.status == Status::Overdue)
    }
}
