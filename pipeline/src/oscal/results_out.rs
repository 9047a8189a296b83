//! A run's findings as OSCAL assessment-results: one `result` per framework, with
//!
//! - a **finding** per control, targeting the control's `statement` part in the exported
//!   catalog, its OSCAL status from controlmap's coverage (see [`target_status`]) and the
//!   coverage itself kept as a `coverage` prop;
//! - an **observation** per passage listed for the control (a suggestion, or one a reviewer
//!   decided), citing its document, a back-matter resource with the file's SHA-256; the
//!   suggestion's `confidence` and `score` are props; the mapper is the observation's first
//!   origin (a `tool` actor: controlmap, with the model and mapper version as props), and a
//!   reviewer's decision is a second origin, a `party` actor (the reviewer, a party in the
//!   metadata) with the verdict and time as props and the comment in the remarks.
//!
//! OSCAL wants an assessment plan (`import-ap`); controlmap has none, so it points at a
//! back-matter resource that says so.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use serde_json::{Value, json};

use super::{
    OSCAL_VERSION, RunFramework,
    catalog_out::{object, put_list, statement_id},
    one_line, prop, token, uuid_for,
};
use crate::{
    ingest::manifest::{Manifest, sha256_file},
    report::{ControlEntry, Coverage, EvidenceEntry, Report},
    workspace,
};

/// Where each cited document's SHA-256 came from.
#[derive(Debug, Default)]
pub struct DocumentSources {
    /// By path relative to the policy folder: the hash, and `manifest` (what the run read,
    /// from `documents.json`) or `policy-folder` (hashed at export: the file is not in the
    /// manifest, and is read from the policy folder as it is now).
    hashes: BTreeMap<String, (String, &'static str)>,
}

impl DocumentSources {
    /// The hashes of every document the report cites: the workspace's `documents.json`
    /// first; a document missing there is hashed from the policy folder if it is still there.
    pub fn read(report: &Report, workspace: &Path) -> Self {
        let manifest: Manifest = fs_err::read_to_string(workspace.join(workspace::MANIFEST))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut hashes = BTreeMap::new();
        for doc in cited_documents(report) {
            let found = match manifest.documents.get(&doc) {
                Some(r) if !r.sha256.is_empty() => Some((r.sha256.clone(), "manifest")),
                _ => sha256_file(&Path::new(&report.policy_folder).join(&doc))
                    .ok()
                    .map(|h| (h, "policy-folder")),
            };
            if let Some(found) = found {
                hashes.insert(doc, found);
            }
        }
        Self { hashes }
    }
}

/// Every document a control's evidence names, in order.
fn cited_documents(report: &Report) -> BTreeSet<String> {
    report
        .controls()
        .flat_map(ControlEntry::all_evidence)
        .map(|e| e.document.clone())
        .filter(|d| !d.is_empty())
        .collect()
}

/// OSCAL's status of a finding's target, from controlmap's coverage: `satisfied` only when a
/// reviewer accepted evidence (covered) or marked the control not applicable; evidence not
/// yet accepted (proposed), weak mentions and gaps are `not-satisfied`. The reason is `pass`
/// (covered), `fail` (gap) or `other`.
pub fn target_status(c: Coverage) -> (&'static str, &'static str) {
    match c {
        Coverage::Covered => ("satisfied", "pass"),
        Coverage::NotApplicable => ("satisfied", "other"),
        Coverage::Gap => ("not-satisfied", "fail"),
        Coverage::Proposed | Coverage::Weak => ("not-satisfied", "other"),
    }
}

/// The OSCAL assessment-results of `report`, a result per framework of `frameworks`;
/// `catalog_files` name the exported catalog file of each framework by name.
pub fn assessment_results(
    report: &Report,
    frameworks: &[RunFramework],
    catalog_files: &BTreeMap<String, String>,
    sources: &DocumentSources,
    modified: &str,
) -> Value {
    let run = report.run_id.as_deref().unwrap_or(modified);
    let run_key = [run, report.policy_folder.as_str()].join("\u{1f}");
    let mut back = Resources::default();
    let plan = uuid_for(&["no-assessment-plan", &run_key]);
    back.list.push(json!({
        "uuid": plan,
        "title": "No assessment plan",
        "description": "controlmap maps a policy folder to a framework's controls without an \
                        OSCAL assessment plan; this resource stands in for one.",
    }));
    let mut reviewers = BTreeSet::new();
    let results: Vec<Value> = frameworks
        .iter()
        .map(|f| {
            result(
                report,
                f,
                &run_key,
                modified,
                catalog_files,
                sources,
                &mut back,
                &mut reviewers,
            )
        })
        .collect();

    let mut metadata = json!({
        "title": format!("controlmap findings for {}", display_or(&report.policy_folder, "a policy folder")),
        "last-modified": modified,
        "version": one_line(run),
        "oscal-version": OSCAL_VERSION,
    });
    put_list(
        &mut metadata,
        "props",
        [
            prop("mapper-version", &report.tool),
            prop("model", &report.model),
            prop("policy-folder", &report.policy_folder),
        ]
        .into_iter()
        .flatten()
        .collect(),
    );
    put_list(
        &mut metadata,
        "parties",
        reviewers
            .iter()
            .map(|r| json!({"uuid": party_uuid(r), "type": "person", "name": one_line(r)}))
            .collect(),
    );
    json!({"assessment-results": {
        "uuid": uuid_for(&["assessment-results", &run_key]),
        "metadata": metadata,
        "import-ap": {"href": format!("#{plan}")},
        "results": results,
        "back-matter": {"resources": back.list},
    }})
}

fn display_or<'a>(s: &'a str, or: &'a str) -> &'a str {
    if s.trim().is_empty() { or } else { s }
}

fn party_uuid(reviewer: &str) -> String {
    uuid_for(&["party", reviewer])
}

/// Back-matter resources, each added once.
#[derive(Default)]
struct Resources {
    list: Vec<Value>,
    documents: BTreeMap<String, String>,
}

impl Resources {
    /// The resource of document `doc` (its UUID), added on first use.
    fn document(&mut self, doc: &str, sources: &DocumentSources) -> String {
        if let Some(u) = self.documents.get(doc) {
            return u.clone();
        }
        let hash = sources.hashes.get(doc);
        let uuid = uuid_for(&["document", doc, hash.map_or("", |h| h.0.as_str())]);
        let mut rlink = json!({"href": href(doc)});
        let mut r = json!({"uuid": uuid, "title": one_line(doc)});
        match hash {
            Some((sha, from)) => {
                rlink["hashes"] = json!([{"algorithm": "SHA-256", "value": sha}]);
                put_list(
                    &mut r,
                    "props",
                    prop("hash-source", from).into_iter().collect(),
                );
            }
            None => {
                r["remarks"] = json!(
                    "The file's SHA-256 is unknown: the workspace's documents.json does not list it \
                     and it is no longer in the policy folder."
                );
            }
        }
        r["rlinks"] = json!([rlink]);
        self.list.push(r);
        self.documents.insert(doc.to_string(), uuid.clone());
        uuid
    }
}

/// A path relative to the policy folder as a URI reference: `/` kept, every byte outside
/// RFC 3986's unreserved characters percent-encoded.
fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn result(
    report: &Report,
    f: &RunFramework,
    run_key: &str,
    modified: &str,
    catalog_files: &BTreeMap<String, String>,
    sources: &DocumentSources,
    back: &mut Resources,
    reviewers: &mut BTreeSet<String>,
) -> Value {
    let tool = uuid_for(&["tool", run_key, &f.id]);
    let controls: Vec<&ControlEntry> = f.objectives.iter().flat_map(|o| &o.controls).collect();
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    for c in &controls {
        let mut related = Vec::new();
        let mut deciders = BTreeSet::new();
        for e in c.all_evidence() {
            let obs = observation(f, c, e, &tool, run_key, modified, sources, back);
            related.push(json!({"observation-uuid": obs["uuid"]}));
            if let Some(d) = &e.decision {
                deciders.insert(d.reviewer.clone());
            }
            observations.push(obs);
        }
        findings.push(finding(f, c, &tool, run_key, related, &deciders));
        reviewers.extend(deciders);
    }

    let mut props = vec![
        prop("framework-id", &f.id),
        prop("framework-version", &f.version),
        prop("mapper-version", &report.tool),
        prop("model", &report.model),
    ];
    if let Some(cal) = &report.calibration {
        props.push(prop("calibration", &cal.source));
    }
    let mut r = json!({
        "uuid": uuid_for(&["result", run_key, &f.id]),
        "title": format!("Coverage of {}", display_or(&f.name, &f.id)),
        "description": format!(
            "controlmap's mapping of the policy folder's passages to the controls of {}, with \
             reviewers' decisions applied.",
            display_or(&f.name, &f.id)
        ),
        "start": modified,
    });
    put_list(&mut r, "props", props.into_iter().flatten().collect());
    if let Some(file) = catalog_files.get(&f.name) {
        let catalog = uuid_for(&["catalog-file", &f.id]);
        back.list.push(json!({
            "uuid": catalog,
            "title": format!("{} as an OSCAL catalog", display_or(&f.name, &f.id)),
            "rlinks": [{"href": href(file), "media-type": "application/oscal.catalog+json"}],
        }));
        r["links"] =
            json!([{"href": format!("#{catalog}"), "rel": "reference", "text": "the catalog"}]);
    }
    let tool_props: Vec<Value> = [
        prop("mapper-version", &report.tool),
        prop("model", &report.model),
    ]
    .into_iter()
    .flatten()
    .collect();
    r["local-definitions"] = json!({"assessment-assets": {
        "components": [{
            "uuid": tool,
            "type": "software",
            "title": "controlmap",
            "description": "Maps policy documents to a framework's controls with a local \
                            sentence-embedding model.",
            "status": {"state": "operational"},
        }],
        "assessment-platforms": [{
            "uuid": uuid_for(&["platform", run_key, &f.id]),
            "title": "controlmap",
            "uses-components": [{"component-uuid": tool}],
        }],
    }});
    put_list(
        &mut r["local-definitions"]["assessment-assets"]["components"][0],
        "props",
        tool_props,
    );
    let selected: Vec<Value> = controls
        .iter()
        .map(|c| json!({"control-id": token(&c.id)}))
        .collect();
    r["reviewed-controls"] = if selected.is_empty() {
        json!({"control-selections": [{"include-all": {}}]})
    } else {
        json!({"control-selections": [{"include-controls": selected}]})
    };
    put_list(&mut r, "observations", observations);
    put_list(&mut r, "findings", findings);
    r
}

fn tool_origin(tool: &str) -> Value {
    json!({"actors": [{"type": "tool", "actor-uuid": tool}]})
}

fn finding(
    f: &RunFramework,
    c: &ControlEntry,
    tool: &str,
    run_key: &str,
    related: Vec<Value>,
    deciders: &BTreeSet<String>,
) -> Value {
    let (state, reason) = target_status(c.coverage);
    let mut target = json!({
        "type": "statement-id",
        "target-id": statement_id(&c.id),
        "status": {"state": state, "reason": reason},
    });
    match c.coverage {
        Coverage::Covered => target["implementation-status"] = json!({"state": "implemented"}),
        Coverage::NotApplicable => {
            target["implementation-status"] = json!({"state": "not-applicable"});
            if let Some(j) = c.justification.as_deref().filter(|j| !j.trim().is_empty()) {
                target["remarks"] = json!(j.trim());
            }
        }
        _ => {}
    }
    let mut origins = vec![tool_origin(tool)];
    origins.extend(
        deciders
            .iter()
            .map(|r| json!({"actors": [{"type": "party", "actor-uuid": party_uuid(r)}]})),
    );
    let mut v = json!({
        "uuid": uuid_for(&["finding", run_key, &f.id, &c.id]),
        "title": one_line(&format!("{} {}", c.id, c.title)),
        "description": describe(c),
    });
    put_list(
        &mut v,
        "props",
        [
            prop("label", &c.id),
            prop("coverage", coverage_key(c.coverage)),
            prop("mapper-status", &c.status),
            prop("best-score", format!("{:.4}", c.best_score)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    );
    v["origins"] = Value::Array(origins);
    v["target"] = target;
    put_list(&mut v, "related-observations", related);
    v
}

/// controlmap's coverage as `report.json` spells it.
fn coverage_key(c: Coverage) -> &'static str {
    match c {
        Coverage::NotApplicable => "not_applicable",
        other => other.label(),
    }
}

fn describe(c: &ControlEntry) -> String {
    let accepted = c.all_evidence().filter(|e| e.review.is_evidence()).count();
    match c.coverage {
        Coverage::Covered => {
            format!("Covered: reviewers accepted {accepted} passage(s) as evidence.")
        }
        Coverage::Proposed => format!(
            "Proposed: the mapper found evidence in {} passage(s) that no reviewer has accepted yet.",
            c.evidence.len()
        ),
        Coverage::Weak => "Weak: the mapper found only low-confidence mentions.".into(),
        Coverage::Gap => {
            "Gap: no evidence was found, or reviewers rejected all that was suggested.".into()
        }
        Coverage::NotApplicable => "Not applicable, as a reviewer marked it.".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn observation(
    f: &RunFramework,
    c: &ControlEntry,
    e: &EvidenceEntry,
    tool: &str,
    run_key: &str,
    modified: &str,
    sources: &DocumentSources,
    back: &mut Resources,
) -> Value {
    let mut origins = vec![tool_origin(tool)];
    let mut remarks = None;
    if let Some(d) = &e.decision {
        let props: Vec<Value> = [
            prop("verdict", d.verdict.as_str()),
            prop("decided-at", &d.decided_at),
        ]
        .into_iter()
        .flatten()
        .collect();
        origins.push(json!({"actors": [{
            "type": "party",
            "actor-uuid": party_uuid(&d.reviewer),
            "props": props,
        }]}));
        remarks = Some(
            match d
                .comment
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                Some(comment) => format!("{} {} it: {comment}", d.reviewer, d.verdict.as_str()),
                None => format!("{} {} it.", d.reviewer, d.verdict.as_str()),
            },
        );
    }
    let mut props = vec![
        prop("content-hash", &e.content_hash),
        prop("review", e.review.label()),
    ];
    if let Some(conf) = e.confidence {
        props.push(prop("confidence", format!("{conf:.4}")));
    }
    if let Some(score) = e.score {
        props.push(prop("score", format!("{score:.4}")));
    }
    if let Some(p) = e.page {
        props.push(prop("page", p));
    }
    let text = if e.text.trim().is_empty() {
        "(no text)"
    } else {
        e.text.trim()
    };
    let mut v = json!({
        "uuid": uuid_for(&["observation", run_key, &f.id, &c.id, &e.content_hash, &e.document]),
        "title": one_line(&e.location()),
        "description": text,
    });
    put_list(&mut v, "props", props.into_iter().flatten().collect());
    v["methods"] = json!(["EXAMINE"]);
    v["origins"] = Value::Array(origins);
    if !e.document.is_empty() {
        let resource = back.document(&e.document, sources);
        let mut evidence = object();
        evidence["href"] = json!(format!("#{resource}"));
        evidence["description"] = json!(one_line(&e.location()));
        v["relevant-evidence"] = json!([evidence]);
    }
    v["collected"] = json!(modified);
    if let Some(r) = remarks {
        v["remarks"] = json!(r);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coverage_has_an_oscal_state() {
        assert_eq!(target_status(Coverage::Covered).0, "satisfied");
        assert_eq!(target_status(Coverage::Proposed).0, "not-satisfied");
        assert_eq!(target_status(Coverage::Gap), ("not-satisfied", "fail"));
    }

    #[test]
    fn hrefs_are_uri_references() {
        assert_eq!(
            href("gov/AI policy (v2).md"),
            "gov/AI%20policy%20%28v2%29.md"
        );
        assert_eq!(href("é.txt"), "%C3%A9.txt");
    }
}
