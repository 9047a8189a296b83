//! The rule for what a verdict records, whichever face it comes from: `controlmap review
//! accept|reject|withdraw|link` (a pair named by its ID), and the terminal queue and the web
//! UI (an item as the reviewer saw it, stale items included).
//!
//! A pair named by ID is decided as it stands: a passage whose text is gone cannot be accepted
//! again (`review list --status stale` names the text that replaced it, to decide on that).
//! An item shown to a reviewer carries what replaced its text, so a verdict on a stale item
//! decides on the replacement and withdraws the old decision ([`item_records`]). Both build
//! each record with [`pair_record`].

use std::collections::HashMap;

use super::{
    Decision, Store, Verdict,
    suggestions::{Item, ReviewWorkspace, Status},
};
use crate::{
    catalog::Catalog,
    error::{Result, user_error},
};

/// A control the workspace knows: one of its report's, or of the built-in catalog when there
/// is no report.
pub fn check_control(ws: Option<&ReviewWorkspace>, control: &str) -> Result<()> {
    let known = match ws {
        Some(ws) if !ws.controls.is_empty() => ws.has_control(control),
        _ => Catalog::builtin().control(control).is_some(),
    };
    if !known {
        user_error!(
            "no control {control} in this workspace's frameworks; IDs look like A.6.2.4, GOVERN 1.1 or Art. 9"
        );
    }
    Ok(())
}

/// The record deciding `verdict` on a pair, carrying the suggestion's run and confidence and
/// the passage's text and place; or why that decision cannot be made.
pub fn pair_record(
    ws: &ReviewWorkspace,
    store: &Store,
    current: &HashMap<(String, String), Decision>,
    hash: &str,
    control: &str,
    verdict: Verdict,
    reviewer: &str,
) -> Result<Decision> {
    check_control(Some(ws), control)?;
    let key = (hash.to_string(), control.to_string());
    let suggestion = ws.suggestion(hash, control);
    let passage = ws.passages.get(hash);
    let previous = store.latest(hash, control)?;
    if verdict == Verdict::Withdrawn {
        let Some(old) = current.get(&key) else {
            user_error!("there is no decision on it to withdraw");
        };
        return Ok(Decision {
            run_id: old.run_id.clone(),
            confidence: old.confidence,
            document: old.document.clone(),
            heading: old.heading.clone(),
            page: old.page,
            ..Decision::new(hash, control, verdict, reviewer, &old.passage_text)
        });
    }
    if passage.is_none() {
        user_error!(
            "its passage is no longer in the workspace (the text changed or the document is \
             gone); `controlmap review list --status stale` shows the text that replaced it"
        );
    }
    if verdict != Verdict::Linked && suggestion.is_none() && previous.is_none() {
        user_error!(
            "the last run did not suggest it; to map the passage by hand use \
             `controlmap review link {} {control}`",
            &hash[..hash.len().min(8)]
        );
    }
    let p = passage.expect("checked above");
    let mut d = Decision::new(hash, control, verdict, reviewer, &p.text);
    d.document = Some(p.document.clone());
    d.heading = Some(p.heading_path()).filter(|h| !h.is_empty());
    d.page = p.page;
    match (suggestion, previous) {
        (Some(s), _) => {
            d.run_id = ws.run_id.clone();
            d.confidence = Some(s.confidence);
        }
        (None, Some(prev)) if verdict != Verdict::Linked => {
            d.run_id = prev.run_id;
            d.confidence = prev.confidence;
        }
        _ => {}
    }
    Ok(d)
}

/// The records that undo a verdict: for each pair it decided, a new record restoring what was
/// there before (the old verdict again, or a withdrawal when the pair was undecided). Undo
/// never deletes; the history keeps both.
pub fn undo_records(
    ws: &ReviewWorkspace,
    before: Vec<((String, String), Option<Decision>)>,
    reviewer: &str,
) -> Vec<Decision> {
    before
        .into_iter()
        .map(|((hash, control), before)| match before {
            Some(old) => {
                let fresh =
                    Decision::new(&hash, &control, old.verdict, reviewer, &old.passage_text);
                Decision {
                    uid: fresh.uid,
                    decided_at: fresh.decided_at,
                    reviewer: fresh.reviewer,
                    ..old
                }
            }
            None => {
                let mut d = Decision::new(&hash, &control, Verdict::Withdrawn, reviewer, "");
                if let Some(p) = ws.passages.get(&hash) {
                    d.passage_text = p.text.clone();
                }
                d
            }
        })
        .collect()
}

/// The records a verdict on a queue item writes: a decision on the pair; for a stale item, the
/// decision on the passage that replaced its text and the old decision withdrawn (with no
/// replacement, a rejection only withdraws it). `Ok(Err(why))` when the verdict cannot be
/// made on this item (the reason is for the reviewer); `Err` when the store fails.
pub fn item_records(
    ws: &ReviewWorkspace,
    store: &Store,
    current: &std::collections::HashMap<(String, String), Decision>,
    item: &Item,
    verdict: Verdict,
    reviewer: &str,
    comment: Option<String>,
) -> Result<std::result::Result<Vec<Decision>, String>> {
    let mut records = Vec::new();
    let mut pairs = Vec::new();
    if item.status == Status::Stale {
        // Decide on the text that replaced the old one, and drop the old decision; with no
        // replacement, `r` only drops it.
        match &item.replacement {
            Some(r) => {
                pairs.push((r.content_hash.clone(), item.control.clone(), verdict));
            }
            None if verdict == Verdict::Accepted => {
                return Ok(Err(
                    "the passage is gone: nothing to accept (r drops the old decision)".into(),
                ));
            }
            None => {}
        }
        pairs.push((
            item.content_hash.clone(),
            item.control.clone(),
            Verdict::Withdrawn,
        ));
    } else {
        pairs.push((item.content_hash.clone(), item.control.clone(), verdict));
    }
    for (hash, control, v) in &pairs {
        let unsuggested = *v != Verdict::Withdrawn
            && ws.suggestion(hash, control).is_none()
            && store.latest(hash, control)?.is_none();
        // A replacement the last run did not suggest: accepting it links it by hand, and
        // rejecting it only drops the old decision.
        let v = match (*v, unsuggested) {
            (Verdict::Accepted, true) => Verdict::Linked,
            (Verdict::Rejected, true) => continue,
            (v, _) => v,
        };
        match pair_record(ws, store, current, hash, control, v, reviewer) {
            Ok(d) => records.push(Decision {
                comment: comment.clone(),
                ..d
            }),
            Err(e) => return Ok(Err(e.chain())),
        }
    }
    Ok(Ok(records))
}
