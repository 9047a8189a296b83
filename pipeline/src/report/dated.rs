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

/// Whether a document's title or file name says it is the AI policy ("AI Policy",
/// "Artificial Intelligence Policy", `ai-policy.md`, the AI policy's approval minutes): its
/// review record belongs on A.2.4 even when the mapper cites another passage there.
fn names_the_ai_policy(title: &str, path: &str) -> bool {
    let stem = path.rsplit('/').next().unwrap_or(path);
    [title, stem].iter().any(|name| {
        let words: String = name
            .to_lowercase()
            .replace("artificial intelligence", "ai")
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let words: Vec<&str> = words.split_whitespace().collect();
        words.windows(2).any(|w| w == ["ai", "policy"])
    })
}

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
                    cited.contains(d.path.as_str()) || names_the_ai_policy(&d.title, &d.path)
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

#[cfg(test)]
mod tests {
    use super::names_the_ai_policy;

    #[test]
    fn the_ai_policy_is_known_by_its_title_or_file_name() {
        assert!(names_the_ai_policy(
            "Artificial Intelligence Policy",
            "gov/x.md"
        ));
        assert!(names_the_ai_policy("Policy", "governance/ai-policy.md"));
        assert!(names_the_ai_policy("AI Policy v2", "p.pdf"));
        assert!(!names_the_ai_policy(
            "Fair lending policy",
            "lending/fair.md"
        ));
        // "ai" only as a whole word: "email policy" is not it.
        assert!(!names_the_ai_policy("Email policy", "it/mail-policy.md"));
    }
}
