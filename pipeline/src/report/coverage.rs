//! Each control's [`Coverage`] once reviewers' decisions are applied to what the mapper
//! found: the rule the reports, the terminal table and the web UI all show.

use std::collections::{HashMap, HashSet};

use serde_json::Map;

use super::file::{
    Agreement, ControlEntry, Coverage, CoverageCounts, CoverageSource, DecisionNote, EvidenceEntry,
    ObjectiveEntry, Report, Review,
};
use crate::review::{
    Decision,
    suggestions::{Item, Status as ItemStatus},
};

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

impl Report {
    /// Sets every control's coverage, every evidence entry's review state and decision, and
    /// the counts, from `items` (the workspace's review items, as
    /// [`crate::review::suggestions::ReviewWorkspace::items`] makes them) and the controls
    /// marked not applicable (control → justification). Applying it again with other
    /// decisions replaces what an earlier application set.
    ///
    /// A control is *not applicable* when marked so; else *covered* when a reviewer accepted
    /// or linked a passage still in the folder; else the mapper's status (`evidence` is
    /// *proposed*, `weak` is *weak*), unless reviewers rejected every passage it listed,
    /// which leaves a *gap*. A control of another framework with crosswalk pairs then takes
    /// the better of that and what its primary controls carry over.
    pub fn apply_review(&mut self, items: &[Item], not_applicable: &HashMap<String, String>) {
        let by_pair: HashMap<(&str, &str), &Item> = items
            .iter()
            .map(|i| ((i.content_hash.as_str(), i.control.as_str()), i))
            .collect();
        self.coverage = apply_to(&mut self.objectives, &by_pair, items, not_applicable);
        let primary: HashMap<&str, Coverage> = self
            .objectives
            .iter()
            .flat_map(|o| &o.controls)
            .map(|c| (c.id.as_str(), c.coverage))
            .collect();
        for f in &mut self.frameworks {
            apply_to(&mut f.objectives, &by_pair, items, not_applicable);
            let mut agreement = Agreement::default();
            let mut counts = CoverageCounts::default();
            let mut crosswalked = false;
            for o in &mut f.objectives {
                let mut mine = CoverageCounts::default();
                for c in &mut o.controls {
                    if let Some(agrees) = carry_over(c, &primary) {
                        crosswalked = true;
                        match agrees {
                            (true, true) => agreement.both += 1,
                            (false, false) => agreement.neither += 1,
                            (true, false) => agreement.direct_only += 1,
                            (false, true) => agreement.crosswalk_only += 1,
                        }
                    }
                    mine.add(c.coverage);
                }
                o.coverage = mine;
                for s in Coverage::ALL {
                    *counts.get_mut(s) += mine.get(s);
                }
            }
            f.coverage = counts;
            f.agreement = crosswalked.then_some(agreement);
        }
    }
}

/// Applies the decisions to one framework's objectives; returns the counts.
fn apply_to(
    objectives: &mut [ObjectiveEntry],
    by_pair: &HashMap<(&str, &str), &Item>,
    items: &[Item],
    not_applicable: &HashMap<String, String>,
) -> CoverageCounts {
    let mut total = CoverageCounts::default();
    for o in objectives {
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
            let all_rejected =
                !c.evidence.is_empty() && c.evidence.iter().all(|e| e.review == Review::Rejected);
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
            c.direct_coverage = None;
            c.coverage_from = None;
            counts.add(c.coverage);
        }
        o.coverage = counts;
        for s in Coverage::ALL {
            *total.get_mut(s) += counts.get(s);
        }
    }
    total
}

/// How well a status shows evidence, for taking the better of two sources.
fn strength(c: Coverage) -> u8 {
    match c {
        Coverage::Covered => 3,
        Coverage::Proposed => 2,
        Coverage::Weak => 1,
        Coverage::Gap | Coverage::NotApplicable => 0,
    }
}

/// Combines a crosswalked control's direct coverage (already in `c.coverage`) with what its
/// primary controls carry over: covered when one of them is covered, proposed when one is
/// proposed (weak evidence does not carry). The control takes the better of the two, and
/// records both and which gave it; a reviewer's not-applicable mark stands. Returns whether
/// each source finds evidence (direct, crosswalk), or `None` without crosswalk pairs.
fn carry_over(c: &mut ControlEntry, primary: &HashMap<&str, Coverage>) -> Option<(bool, bool)> {
    let x = c.crosswalk.as_mut()?;
    let of = |id: &String| primary.get(id.as_str()).copied().unwrap_or_default();
    let best =
        x.to.iter()
            .map(of)
            .filter(|&k| matches!(k, Coverage::Covered | Coverage::Proposed))
            .max_by_key(|&k| strength(k))
            .unwrap_or(Coverage::Gap);
    x.coverage = best;
    x.from =
        x.to.iter()
            .filter(|t| of(t) == best && best != Coverage::Gap)
            .cloned()
            .collect();
    let direct = c.coverage;
    c.direct_coverage = Some(direct);
    let evidence = |k: Coverage| matches!(k, Coverage::Covered | Coverage::Proposed);
    let agrees = (evidence(direct), evidence(best));
    if direct == Coverage::NotApplicable {
        c.coverage_from = Some(CoverageSource::Direct);
        return Some(agrees);
    }
    let (coverage, from) = match strength(direct).cmp(&strength(best)) {
        std::cmp::Ordering::Equal => (direct, CoverageSource::Both),
        std::cmp::Ordering::Greater => (direct, CoverageSource::Direct),
        std::cmp::Ordering::Less => (best, CoverageSource::Crosswalk),
    };
    c.coverage = coverage;
    c.coverage_from = Some(from);
    Some(agrees)
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
        overdue: false,
        ocr_confidence: None,
        rest: Map::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::review::Verdict;
    use serde_json::json;

    /// A report of two objectives: A.2.2 evidence (two passages), A.2.3 weak, A.5.2 gap.
    pub(crate) fn sample() -> Report {
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

    fn coverage_of(r: &Report) -> Vec<(&str, Coverage)> {
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
        let again: Report = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), v);
    }

    #[test]
    fn a_crosswalked_control_takes_the_better_source_and_says_which() {
        let mut r = sample();
        // A.2.2 proposed, A.2.3 weak, A.5.2 gap in Annex A. X.1 borrows A.2.2 (proposed
        // carries) and is a gap directly; X.2 borrows A.2.3 (weak does not carry) and is weak
        // directly; X.3 borrows A.5.2 and is marked not applicable; X.4 has no pair.
        let control = |id: &str, status: &str, to: &[&str]| {
            json!({"id": id, "title": id, "status": status, "best_score": 0.5, "evidence": [],
                   "crosswalk": (!to.is_empty()).then(|| json!({"to": to}))})
        };
        r.frameworks = vec![
            serde_json::from_value(json!({
                "id": "x", "name": "X", "source": "built in",
                "objectives": [{"id": "X", "title": "X", "controls": [
                    control("X.1", "gap", &["A.2.2", "A.5.2"]),
                    control("X.2", "weak", &["A.2.3"]),
                    control("X.3", "gap", &["A.5.2"]),
                    control("X.4", "evidence", &[]),
                ]}]
            }))
            .unwrap(),
        ];
        let na = HashMap::from([("X.3".to_string(), "Out of scope.".to_string())]);
        r.apply_review(&[], &na);
        let f = &r.frameworks[0];
        let c = |i: usize| &f.objectives[0].controls[i];
        assert_eq!(c(0).coverage, Coverage::Proposed);
        assert_eq!(c(0).coverage_from, Some(CoverageSource::Crosswalk));
        assert_eq!(c(0).direct_coverage, Some(Coverage::Gap));
        assert_eq!(c(0).crosswalk.as_ref().unwrap().from, ["A.2.2"]);
        assert_eq!(c(1).coverage, Coverage::Weak);
        assert_eq!(c(1).coverage_from, Some(CoverageSource::Direct));
        assert_eq!(c(1).crosswalk.as_ref().unwrap().coverage, Coverage::Gap);
        assert_eq!(c(2).coverage, Coverage::NotApplicable);
        assert_eq!(c(3).coverage, Coverage::Proposed);
        assert_eq!(
            c(3).coverage_from,
            None,
            "no pair: direct only, nothing to compare"
        );
        assert_eq!(
            f.agreement,
            Some(Agreement {
                both: 0,
                neither: 2,
                direct_only: 0,
                crosswalk_only: 1
            })
        );
        assert_eq!((f.coverage.proposed, f.coverage.weak), (2, 1));
        assert_eq!(f.coverage.not_applicable, 1);

        // A reviewer accepting A.2.2's passage makes X.1 covered through the crosswalk.
        r.apply_review(&[item("aa11", "A.2.2", ItemStatus::Accepted)], &na);
        assert_eq!(
            r.frameworks[0].objectives[0].controls[0].coverage,
            Coverage::Covered
        );
    }
}
