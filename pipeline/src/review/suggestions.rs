//! What there is to review in a workspace: the suggestions of its last run (`report.json`'s
//! evidence items), the passages it holds now (`documents.json`), and the decisions, joined
//! into [`Item`]s with a status.
//!
//! An item's ID is the first 8 hex digits of its passage's content hash, a colon and the
//! control, e.g. `3fa9c2d1:A.6.2.4` (longer when 8 digits would be ambiguous). Commands
//! accept any unambiguous prefix of at least 4 digits.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::{Decision, Verdict};
use crate::{
    error::{Context, Error, Result, user_error},
    ingest::{chunk::Passage, manifest},
    report::Report,
    workspace,
};

/// A control as the last run reported it.
#[derive(Debug, Clone)]
pub struct ControlInfo {
    pub id: String,
    pub title: String,
    /// The mapper's status: `evidence`, `weak`, `gap` (or what a later report calls it).
    pub status: String,
}

/// A suggested (passage, control) pair from the last run.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub control: String,
    pub content_hash: String,
    pub passage_id: Option<u64>,
    pub document: String,
    pub heading: String,
    pub page: Option<u32>,
    /// The report's confidence for the pair (its score where it gives none).
    pub confidence: f32,
    pub text: String,
    /// Why the mapper suggested it, when the report says.
    pub rationale: Option<String>,
}

/// The workspace as review sees it.
#[derive(Debug)]
pub struct ReviewWorkspace {
    pub dir: PathBuf,
    /// Identifies the run the suggestions came from: the report's `run_id`, else the time
    /// `report.json` was written.
    pub run_id: Option<String>,
    /// Controls in report order.
    pub controls: Vec<ControlInfo>,
    pub suggestions: Vec<Suggestion>,
    /// The passages the workspace holds now, by content hash.
    pub passages: HashMap<String, Passage>,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Suggested, not decided.
    Pending,
    Accepted,
    Rejected,
    /// Mapped by hand.
    Linked,
    /// Decided on a passage whose text is no longer in the workspace: needs re-review.
    Stale,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Linked => "linked",
            Status::Stale => "stale",
        }
    }
}

/// The passage that most likely replaced a stale decision's passage: same document and
/// heading, most words in common.
#[derive(Debug, Clone, Serialize)]
pub struct Replacement {
    pub id: String,
    pub content_hash: String,
    pub text: String,
}

/// One row of `review list`.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub control: String,
    pub content_hash: String,
    pub status: Status,
    pub confidence: Option<f32>,
    pub passage_id: Option<u64>,
    pub document: String,
    pub heading: String,
    pub page: Option<u32>,
    /// The passage's text (for a stale item, the text that was decided).
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The current decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// For a stale item: the passage now in its place, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
}

/// Short hash prefixes: 8 digits, or more where 8 would be ambiguous among `hashes`.
pub fn short_ids<'a>(hashes: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    let mut all: Vec<&str> = hashes.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    let common = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    all.iter()
        .enumerate()
        .map(|(i, h)| {
            let prev = i.checked_sub(1).map(|j| common(h, all[j])).unwrap_or(0);
            let next = all.get(i + 1).map(|n| common(h, n)).unwrap_or(0);
            let n = (prev.max(next) + 1).max(8).min(h.len());
            (h.to_string(), h[..n].to_string())
        })
        .collect()
}

impl ReviewWorkspace {
    /// Reads `report.json` and `documents.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let report = Report::load(dir)?;
        let manifest_path = dir.join(workspace::MANIFEST);
        // A report from before runs had identifiers: the time `run` last wrote the manifest,
        // which rewriting the outputs (`controlmap report`) leaves alone.
        let run_id = report.run_id.clone().or_else(|| {
            let t = fs_err::metadata(&manifest_path).ok()?.modified().ok()?;
            Some(super::format_time(t.into()))
        });
        let mut controls = Vec::new();
        let mut suggestions = Vec::new();
        // Every framework's suggestions: decisions are recorded per control, whichever
        // framework it belongs to.
        let others = report.frameworks.into_iter().flat_map(|f| f.objectives);
        for c in report
            .objectives
            .into_iter()
            .chain(others)
            .flat_map(|o| o.controls)
        {
            for e in c.evidence {
                suggestions.push(Suggestion {
                    control: c.id.clone(),
                    confidence: e.confidence().unwrap_or(0.0),
                    content_hash: e.content_hash,
                    passage_id: e.passage_id,
                    document: e.document,
                    heading: e.heading,
                    page: e.page,
                    text: e.text,
                    rationale: e.rationale.map(|r| r.line()),
                });
            }
            controls.push(ControlInfo {
                id: c.id,
                title: c.title,
                status: c.status,
            });
        }

        let text = fs_err::read_to_string(&manifest_path).map_err(|e| {
            Error::user(format!(
                "{e}; run `controlmap run POLICY_DIR --workspace {}` again to write it",
                dir.display()
            ))
        })?;
        let m: manifest::Manifest = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} cannot be read; run `controlmap run` again to rewrite it",
                manifest_path.display()
            )
        })?;
        let passages = m
            .documents
            .into_values()
            .flat_map(|d| d.passages)
            .map(|p| (p.content_hash.clone(), p))
            .collect();
        Ok(ReviewWorkspace {
            dir: dir.to_path_buf(),
            run_id,
            controls,
            suggestions,
            passages,
        })
    }

    /// Is `id` a control of the report?
    pub fn has_control(&self, id: &str) -> bool {
        self.controls.iter().any(|c| c.id == id)
    }

    /// Every item: each suggestion with its decision, then decided pairs the last run did not
    /// suggest (manual links, and stale decisions whose passage is gone).
    pub fn items(&self, current: &HashMap<(String, String), Decision>) -> Vec<Item> {
        let mut hashes: HashSet<&str> = self.passages.keys().map(String::as_str).collect();
        hashes.extend(current.keys().map(|(h, _)| h.as_str()));
        hashes.extend(self.suggestions.iter().map(|s| s.content_hash.as_str()));
        let short = short_ids(hashes);
        let id = |h: &str, c: &str| format!("{}:{c}", short[h]);

        let mut items = Vec::new();
        let mut seen = HashSet::new();
        for s in &self.suggestions {
            let key = (s.content_hash.clone(), s.control.clone());
            if !seen.insert(key.clone()) {
                continue;
            }
            let decision = current.get(&key).cloned();
            let status = match &decision {
                _ if !self.passages.contains_key(&s.content_hash) && decision.is_some() => {
                    Status::Stale
                }
                Some(d) => status_of(d.verdict),
                None => Status::Pending,
            };
            items.push(Item {
                id: id(&s.content_hash, &s.control),
                control: s.control.clone(),
                content_hash: s.content_hash.clone(),
                status,
                confidence: Some(s.confidence),
                passage_id: s.passage_id,
                document: s.document.clone(),
                heading: s.heading.clone(),
                page: s.page,
                text: s.text.clone(),
                rationale: s.rationale.clone(),
                decision,
                replacement: None,
            });
        }
        let mut rest: Vec<&Decision> = current
            .values()
            .filter(|d| !seen.contains(&d.key()))
            .collect();
        rest.sort_by(|a, b| (&a.control, &a.decided_at).cmp(&(&b.control, &b.decided_at)));
        for d in rest {
            let item = match self.passages.get(&d.content_hash) {
                Some(p) => Item {
                    id: id(&d.content_hash, &d.control),
                    control: d.control.clone(),
                    content_hash: d.content_hash.clone(),
                    status: status_of(d.verdict),
                    confidence: d.confidence,
                    passage_id: Some(p.id),
                    document: p.document.clone(),
                    heading: p.heading_path(),
                    page: p.page,
                    text: p.text.clone(),
                    rationale: None,
                    decision: Some(d.clone()),
                    replacement: None,
                },
                None => Item {
                    id: id(&d.content_hash, &d.control),
                    control: d.control.clone(),
                    content_hash: d.content_hash.clone(),
                    status: Status::Stale,
                    confidence: d.confidence,
                    passage_id: None,
                    document: d.document.clone().unwrap_or_default(),
                    heading: d.heading.clone().unwrap_or_default(),
                    page: d.page,
                    text: d.passage_text.clone(),
                    rationale: None,
                    decision: Some(d.clone()),
                    replacement: None,
                },
            };
            items.push(item);
        }
        let mut by_place: HashMap<(&str, String), Vec<&Passage>> = HashMap::new();
        if items.iter().any(|i| i.status == Status::Stale) {
            for p in self.passages.values() {
                by_place
                    .entry((p.document.as_str(), p.heading_path()))
                    .or_default()
                    .push(p);
            }
        }
        for item in items.iter_mut().filter(|i| i.status == Status::Stale) {
            let near = by_place
                .get(&(item.document.as_str(), item.heading.clone()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            item.replacement = replacement(item, near).map(|p| Replacement {
                id: id(&p.content_hash, &item.control),
                content_hash: p.content_hash.clone(),
                text: p.text.clone(),
            });
        }
        // Report order of controls, then most confident first.
        let order: HashMap<&str, usize> = self
            .controls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        items.sort_by(|a, b| {
            let oa = order.get(a.control.as_str()).copied().unwrap_or(usize::MAX);
            let ob = order.get(b.control.as_str()).copied().unwrap_or(usize::MAX);
            oa.cmp(&ob)
                .then_with(|| a.control.cmp(&b.control))
                .then_with(|| {
                    b.confidence
                        .unwrap_or(f32::NEG_INFINITY)
                        .total_cmp(&a.confidence.unwrap_or(f32::NEG_INFINITY))
                })
                .then_with(|| a.id.cmp(&b.id))
        });
        items
    }

    /// The content hash an ID or passage reference names: a suggestion ID's hash part, a
    /// prefix of a content hash (4 hex digits or more), or a passage ID as `search` prints.
    pub fn resolve_passage(
        &self,
        reference: &str,
        decided: &HashMap<(String, String), Decision>,
    ) -> Result<String> {
        let r = reference.trim().to_ascii_lowercase();
        if let Ok(n) = r.parse::<u64>()
            && let Some(p) = self.passages.values().find(|p| p.id == n)
        {
            return Ok(p.content_hash.clone());
        }
        if r.len() < 4 || !r.bytes().all(|b| b.is_ascii_hexdigit()) {
            user_error!(
                "{reference:?} names no passage: give the hash part of an ID from \
                 `controlmap review list` (e.g. 3fa9c2d1), or a passage ID from `controlmap search`"
            );
        }
        let mut found: Vec<&str> = self
            .passages
            .keys()
            .map(String::as_str)
            .chain(self.suggestions.iter().map(|s| s.content_hash.as_str()))
            .chain(decided.keys().map(|(h, _)| h.as_str()))
            .filter(|h| h.starts_with(&r))
            .collect();
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [one] => Ok(one.to_string()),
            [] => user_error!(
                "no passage {reference} in {}; `controlmap review list` prints the IDs",
                self.dir.display()
            ),
            many => user_error!(
                "{reference} is ambiguous ({} passages: {}…); give more digits",
                many.len(),
                many.iter()
                    .take(3)
                    .map(|h| &h[..h.len().min(12)])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Splits an item ID `HASH:CONTROL` into its content hash and control.
    pub fn resolve_id(
        &self,
        id: &str,
        decided: &HashMap<(String, String), Decision>,
    ) -> Result<(String, String)> {
        let Some((hash, control)) = id.split_once(':') else {
            user_error!(
                "{id:?} is not an item ID; IDs look like 3fa9c2d1:A.6.2.4 (`controlmap review list` prints them)"
            );
        };
        let hash = self.resolve_passage(hash, decided)?;
        Ok((hash, control.trim().to_string()))
    }

    /// The suggestion for a pair, if the last run made it.
    pub fn suggestion(&self, content_hash: &str, control: &str) -> Option<&Suggestion> {
        self.suggestions
            .iter()
            .find(|s| s.content_hash == content_hash && s.control == control)
    }
}

/// The passage now in the place of a stale item's, among those of its document and heading
/// (`near`): the one with most words in common with the old text.
fn replacement<'a>(item: &Item, near: &[&'a Passage]) -> Option<&'a Passage> {
    let old = words(&item.text);
    near.iter()
        .map(|p| {
            let new = words(&p.text);
            let common = old.intersection(&new).count() as f64;
            let union = old.union(&new).count().max(1) as f64;
            (common / union, *p)
        })
        .max_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| b.1.content_hash.cmp(&a.1.content_hash))
        })
        .map(|(_, p)| p)
}

fn status_of(v: Verdict) -> Status {
    match v {
        Verdict::Accepted => Status::Accepted,
        Verdict::Rejected => Status::Rejected,
        Verdict::Linked => Status::Linked,
        Verdict::Withdrawn => Status::Pending,
    }
}

fn words(s: &str) -> HashSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Counts of items per status, for summaries.
pub fn counts(items: &[Item]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.status.as_str()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_grow_only_where_needed() {
        let s = short_ids(["3fa9c2d1aa00", "3fa9c2d1ab00", "0123456789ab"]);
        assert_eq!(s["0123456789ab"], "01234567");
        assert_eq!(s["3fa9c2d1aa00"], "3fa9c2d1aa");
        assert_eq!(s["3fa9c2d1ab00"], "3fa9c2d1ab");
    }
}
