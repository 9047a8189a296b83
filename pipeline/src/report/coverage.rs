//! `report.json` as the outputs read it back ([`ReportFile`]), and each control's
//! [`Coverage`] once reviewers' decisions are applied to what the mapper found.
//!
//! The fields the outputs use are typed; every other field (thresholds, timings, whatever a
//! later mapper adds) is kept as it was read, so `controlmap report` rewrites `report.json`
//! without losing anything `run` wrote.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{FileCounts, Report, StatusCounts};
use crate::review::{
    Decision, Verdict,
    suggestions::{Item, Status as ItemStatus},
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

    fn get_mut(&mut self, c: Coverage) -> &mut usize {
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

impl From<ItemStatus> for Review {
    fn from(s: ItemStatus) -> Self {
        match s {
            ItemStatus::Pending => Review::Pending,
            ItemStatus::Accepted => Review::Accepted,
            ItemStatus::Rejected => Review::Rejected,
            ItemStatus::Linked => Review::Linked,
            ItemStatus::Stale => Review::Stale,
        }
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

impl From<&Decision> for DecisionNote {
    fn from(d: &Decision) -> Self {
        DecisionNote {
            verdict: d.verdict,
            reviewer: d.reviewer.clone(),
            decided_at: d.decided_at.clone(),
            comment: d.comment.clone(),
        }
    }
}

/// `report.json`, as the outputs read and rewrite it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportFile {
    pub schema_version: u32,
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub policy_folder: String,
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub model: String,
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
    #[serde(default)]
    pub file_outcomes: Vec<FileOutcomeEntry>,
    /// Everything else `run` wrote, kept as it was.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
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
    pub rationale: Option<crate::map::Rationale>,
    #[serde(default)]
    pub text: String,
    /// Where the pair stands in review (schema 2).
    #[serde(default)]
    pub review: Review,
    /// The current decision on the pair, if any (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionNote>,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileOutcomeEntry {
    pub path: String,
    /// `parsed`, `unchanged`, `skipped` or `failed`.
    #[serde(default)]
    pub outcome: String,
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

impl ReportFile {
    /// The report `run` built, as the outputs read it.
    pub fn from_report(report: &Report) -> serde_json::Result<Self> {
        serde_json::from_value(serde_json::to_value(report)?)
    }

    /// Every control, in report order.
    pub fn controls(&self) -> impl Iterator<Item = &ControlEntry> {
        self.objectives.iter().flat_map(|o| &o.controls)
    }

    /// Controls that are gaps once review is taken into account.
    pub fn gaps(&self) -> Vec<&ControlEntry> {
        self.controls()
            .filter(|c| c.coverage == Coverage::Gap)
            .collect()
    }

    /// Sets every control's coverage, every evidence entry's review state and decision, and
    /// the counts, from `items` (the workspace's review items, as
    /// [`crate::review::suggestions::ReviewWorkspace::items`] makes them) and the controls
    /// marked not applicable (control → justification). Applying it again with other
    /// decisions replaces what an earlier application set.
    ///
    /// A control is *not applicable* when marked so; else *covered* when a reviewer accepted
    /// or linked a passage still in the folder; else the mapper's status (`evidence` is
    /// *proposed*, `weak` is *weak*), unless reviewers rejected every passage it listed,
    /// which leaves a *gap*.
    pub fn apply_review(&mut self, items: &[Item], not_applicable: &HashMap<String, String>) {
        let by_pair: HashMap<(&str, &str), &Item> = items
            .iter()
            .map(|i| ((i.content_hash.as_str(), i.control.as_str()), i))
            .collect();
        let mut total = CoverageCounts::default();
        for o in &mut self.objectives {
            let mut counts = CoverageCounts::default();
            for c in &mut o.controls {
                let mut listed = HashSet::new();
                for e in &mut c.evidence {
                    let item = by_pair.get(&(e.content_hash.as_str(), c.id.as_str()));
                    e.review = item.map(|i| i.status.into()).unwrap_or_default();
                    e.decision = item.and_then(|i| i.decision.as_ref()).map(Into::into);
                    listed.insert(e.content_hash.clone());
                }
                c.reviewed_evidence = items
                    .iter()
                    .filter(|i| i.control == c.id && i.decision.is_some())
                    .filter(|i| !listed.contains(&i.content_hash))
                    .map(reviewed_entry)
                    .collect();
                c.justification = not_applicable.get(&c.id).cloned();
                let all_rejected = !c.evidence.is_empty()
                    && c.evidence.iter().all(|e| e.review == Review::Rejected);
                c.coverage = if c.justification.is_some() {
                    Coverage::NotApplicable
                } else if c.all_evidence().any(|e| e.review.is_evidence()) {
                    Coverage::Covered
                } else if all_rejected {
                    Coverage::Gap
                } else {
                    match c.status.as_str() {
                        "evidence" => Coverage::Proposed,
                        "weak" => Coverage::Weak,
                        _ => Coverage::Gap,
                    }
                };
                counts.add(c.coverage);
            }
            o.coverage = counts;
            for s in Coverage::ALL {
                *total.get_mut(s) += counts.get(s);
            }
        }
        self.coverage = total;
    }
}

/// A decided pair the mapper did not list, from its review item.
fn reviewed_entry(i: &Item) -> EvidenceEntry {
    EvidenceEntry {
        passage_id: i.passage_id,
        content_hash: i.content_hash.clone(),
        document: i.document.clone(),
        heading: i.heading.clone(),
        page: i.page,
        score: None,
        confidence: i.confidence,
        rationale: None,
        text: i.text.clone(),
        review: i.status.into(),
        decision: i.decision.as_ref().map(Into::into),
        rest: Map::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A report of two objectives: A.2.2 evidence (two passages), A.2.3 weak, A.5.2 gap.
    pub(crate) fn sample() -> ReportFile {
        serde_json::from_value(json!({
            "schema_version": 1,
            "tool": "controlmap 0.1.0",
            "policy_folder": "policies",
            "thresholds": {"evidence": 0.6, "weak": 0.5, "list_top_k": 3},
            "objectives": [
                {"id": "A.2", "title": "Policies related to AI", "controls": [
                    {"id": "A.2.2", "title": "AI policy", "status": "evidence", "best_score": 0.8,
                     "evidence": [
                        {"passage_id": 1, "content_hash": "aa11", "document": "gov/ai.md",
                         "heading": "Policy › Scope", "page": null, "score": 0.8,
                         "text": "The AI policy applies to all AI systems."},
                        {"passage_id": 2, "content_hash": "bb22", "document": "gov/ai.pdf",
                         "heading": "Review", "page": 3, "score": 0.7,
                         "text": "Reviewed, \"yearly\", by the Board,\nand after incidents."}
                     ]},
                    {"id": "A.2.3", "title": "Alignment with other policies", "status": "weak",
                     "best_score": 0.55, "evidence": [
                        {"passage_id": 3, "content_hash": "cc33", "document": "gov/ai.md",
                         "heading": "Policy › Other", "page": null, "score": 0.55,
                         "text": "See also the security policy."}
                     ]}
                ]},
                {"id": "A.5", "title": "Assessing impacts", "controls": [
                    {"id": "A.5.2", "title": "Impact assessment process", "status": "gap",
                     "best_score": 0.3, "evidence": []}
                ]}
            ]
        }))
        .unwrap()
    }

    pub(crate) fn item(hash: &str, control: &str, status: ItemStatus) -> Item {
        let verdict = match status {
            ItemStatus::Pending => None,
            ItemStatus::Accepted => Some(Verdict::Accepted),
            ItemStatus::Rejected => Some(Verdict::Rejected),
            ItemStatus::Linked | ItemStatus::Stale => Some(Verdict::Linked),
        };
        let mut d = verdict.map(|v| Decision::new(hash, control, v, "alice", "text"));
        if let Some(d) = &mut d {
            d.comment = Some("checked".into());
        }
        Item {
            id: format!("{hash}:{control}"),
            control: control.into(),
            content_hash: hash.into(),
            status,
            confidence: None,
            passage_id: None,
            document: "ops/linked.md".into(),
            heading: "Linked".into(),
            page: None,
            text: "A passage linked by hand.".into(),
            rationale: None,
            decision: d,
            replacement: None,
        }
    }

    fn coverage_of(r: &ReportFile) -> Vec<(&str, Coverage)> {
        r.controls().map(|c| (c.id.as_str(), c.coverage)).collect()
    }

    #[test]
    fn without_decisions_the_mapper_status_decides() {
        let mut r = sample();
        r.apply_review(&[], &HashMap::new());
        assert_eq!(
            coverage_of(&r),
            [
                ("A.2.2", Coverage::Proposed),
                ("A.2.3", Coverage::Weak),
                ("A.5.2", Coverage::Gap)
            ]
        );
        assert_eq!(r.coverage.total(), 3);
        assert_eq!(r.objectives[0].coverage.proposed, 1);
        assert_eq!(r.gaps().len(), 1);
        assert!(
            r.controls()
                .flat_map(|c| &c.evidence)
                .all(|e| e.review == Review::Pending)
        );
    }

    #[test]
    fn accepted_rejected_linked_and_not_applicable() {
        let mut r = sample();
        let items = [
            item("bb22", "A.2.2", ItemStatus::Accepted),
            item("aa11", "A.2.2", ItemStatus::Pending),
            item("cc33", "A.2.3", ItemStatus::Rejected),
            item("dd44", "A.5.2", ItemStatus::Linked),
        ];
        let na = HashMap::from([("A.2.3".to_string(), "No other policies.".to_string())]);
        r.apply_review(&items, &na);
        assert_eq!(
            coverage_of(&r),
            [
                ("A.2.2", Coverage::Covered),
                ("A.2.3", Coverage::NotApplicable),
                ("A.5.2", Coverage::Covered)
            ]
        );
        let a22 = &r.objectives[0].controls[0];
        assert_eq!(a22.evidence[1].review, Review::Accepted);
        assert_eq!(
            a22.evidence[1]
                .decision
                .as_ref()
                .unwrap()
                .comment
                .as_deref(),
            Some("checked")
        );
        assert_eq!(
            a22.references().len(),
            1,
            "only the accepted passage is cited"
        );
        let a52 = &r.objectives[1].controls[0];
        assert_eq!(a52.reviewed_evidence.len(), 1);
        assert_eq!(a52.reviewed_evidence[0].document, "ops/linked.md");
        assert_eq!(r.coverage.covered, 2);
        assert_eq!(r.coverage.not_applicable, 1);

        // Without the mark and with its only suggestion rejected, A.2.3 has nothing left.
        r.apply_review(&items, &HashMap::new());
        assert_eq!(coverage_of(&r)[1], ("A.2.3", Coverage::Gap));
        assert_eq!(r.objectives[0].controls[1].justification, None);
    }

    #[test]
    fn a_stale_acceptance_does_not_cover() {
        let mut r = sample();
        r.apply_review(&[item("ee55", "A.5.2", ItemStatus::Stale)], &HashMap::new());
        let c = &r.objectives[1].controls[0];
        assert_eq!(c.coverage, Coverage::Gap);
        assert_eq!(c.reviewed_evidence[0].review, Review::Stale);
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let mut r = sample();
        r.apply_review(&[], &HashMap::new());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["thresholds"]["list_top_k"], 3);
        assert_eq!(v["coverage"]["proposed"], 1);
        let c = &v["objectives"][0]["controls"][0];
        assert_eq!(c["coverage"], "proposed");
        assert_eq!(c["evidence"][0]["score"], 0.8_f32 as f64);
        assert_eq!(c["evidence"][0]["review"], "pending");
        assert_eq!(v["objectives"][1]["controls"][0]["coverage"], "gap");
        let again: ReportFile = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), v);
    }
}
