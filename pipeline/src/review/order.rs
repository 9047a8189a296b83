//! The order reviewers work through suggestions in: the terminal queue and the web UI's
//! queue both take [`ordered_items`].

use std::collections::HashSet;

use super::{
    Decision, Store,
    suggestions::{Item, ReviewWorkspace, Status},
};
use crate::error::Result;

/// The items to review, in queue order: pending and stale items of controls not marked not
/// applicable; controls nobody has accepted evidence for first, the mapper's gaps before its
/// weak controls before the rest, then most confident first. The web UI's queue
/// (`controlmap serve`) uses this same order.
pub fn ordered_items(ws: &ReviewWorkspace, store: &Store) -> Result<Vec<Item>> {
    let current = store.current_decisions()?;
    let na = store.not_applicable()?;
    let covered = covered_controls(ws, &current);
    let rank = |control: &str| {
        let mapper = ws
            .controls
            .iter()
            .find(|c| c.id == control)
            .map(|c| match c.status.as_str() {
                "gap" => 0,
                "weak" => 1,
                _ => 2,
            })
            .unwrap_or(3);
        (covered.contains(control), mapper)
    };
    let mut items: Vec<Item> = ws
        .items(&current)
        .into_iter()
        .filter(|i| matches!(i.status, Status::Pending | Status::Stale))
        .filter(|i| !na.contains_key(&i.control))
        .collect();
    items.sort_by(|a, b| {
        rank(&a.control).cmp(&rank(&b.control)).then_with(|| {
            b.confidence
                .unwrap_or(0.0)
                .total_cmp(&a.confidence.unwrap_or(0.0))
        })
    });
    Ok(items)
}

/// Controls that already have evidence a reviewer accepted, on passages still in the workspace.
pub fn covered_controls(
    ws: &ReviewWorkspace,
    current: &std::collections::HashMap<(String, String), Decision>,
) -> HashSet<String> {
    current
        .values()
        .filter(|d| d.verdict.is_evidence() && ws.passages.contains_key(&d.content_hash))
        .map(|d| d.control.clone())
        .collect()
}
