//! A controlmap catalog as an OSCAL catalog.
//!
//! - each objective is a top-level `group` (class `objective`), its purpose an `overview`
//!   part; its sub-objectives (Annex A's A.6.1, A.6.2) are groups inside it (class
//!   `sub-objective`) holding their controls;
//! - each control's summary is its `statement` part; its evidence examples and
//!   counter-examples are parts in controlmap's namespace (`evidence-examples` and
//!   `counter-examples`, one `example` sub-part each), so an OSCAL tool shows them and
//!   [`super::read_catalog`] reads them back;
//! - keywords (`keyword`), document kinds (`document-kind`), scope terms (`scope-term`) and
//!   every original ID (`label`) are props in controlmap's namespace: OSCAL IDs are tokens,
//!   and `GOVERN 1.1` is not one.

use serde_json::{Map, Value, json};

use super::{NS, OSCAL_VERSION, prop, token, uuid_for};
use crate::catalog::{Catalog, Control, Group, Objective};

/// The OSCAL catalog of `catalog`, `last-modified` at `modified` (RFC 3339).
pub fn catalog(catalog: &Catalog, modified: &str) -> Value {
    let f = &catalog.framework;
    let mut props = vec![prop("framework-id", &f.id)];
    props.extend(f.scope_terms.iter().map(|t| prop("scope-term", t)));
    let mut metadata = json!({
        "title": f.name,
        "last-modified": modified,
        "version": if f.version.trim().is_empty() { "unversioned" } else { f.version.trim() },
        "oscal-version": OSCAL_VERSION,
    });
    put_list(
        &mut metadata,
        "props",
        props.into_iter().flatten().collect(),
    );
    if !f.note.trim().is_empty() {
        metadata["remarks"] = json!(f.note.trim());
    }
    let groups: Vec<Value> = catalog.objectives.iter().map(objective).collect();
    json!({"catalog": {
        "uuid": uuid_for(&["catalog", &f.id, &f.version]),
        "metadata": metadata,
        "groups": groups,
    }})
}

fn objective(o: &Objective) -> Value {
    let mut g = group_head(&o.id, &o.title, &o.purpose, "objective");
    let subgroups: Vec<Value> = o
        .groups
        .iter()
        .map(|sub| {
            sub_objective(
                sub,
                o.controls
                    .iter()
                    .filter(|c| c.group.as_ref() == Some(&sub.id)),
            )
        })
        .collect();
    put_list(&mut g, "groups", subgroups);
    put_list(
        &mut g,
        "controls",
        o.controls
            .iter()
            .filter(|c| c.group.is_none())
            .map(control)
            .collect(),
    );
    g
}

fn sub_objective<'a>(sub: &Group, controls: impl Iterator<Item = &'a Control>) -> Value {
    let mut g = group_head(&sub.id, &sub.title, &sub.purpose, "sub-objective");
    put_list(&mut g, "controls", controls.map(control).collect());
    g
}

fn group_head(id: &str, title: &str, purpose: &str, class: &str) -> Value {
    let id_token = token(id);
    let mut g = json!({"id": id_token, "class": class, "title": title.trim()});
    put_list(&mut g, "props", prop("label", id).into_iter().collect());
    if !purpose.trim().is_empty() {
        g["parts"] = json!([{
            "id": format!("{id_token}_ovw"),
            "name": "overview",
            "prose": purpose.trim(),
        }]);
    }
    g
}

/// The `statement` part's ID of a control: what assessment-results' findings target.
pub fn statement_id(control_id: &str) -> String {
    format!("{}_smt", token(control_id))
}

fn control(c: &Control) -> Value {
    let id = token(&c.id);
    let mut props = vec![prop("label", &c.id)];
    props.extend(c.keywords.iter().map(|k| prop("keyword", k)));
    props.extend(c.document_kinds.iter().map(|k| prop("document-kind", k)));
    let mut parts = vec![json!({
        "id": statement_id(&c.id),
        "name": "statement",
        "prose": c.summary.trim(),
    })];
    parts.extend(examples(&id, "evidence-examples", &c.evidence_examples));
    parts.extend(examples(&id, "counter-examples", &c.counter_examples));
    let mut v = json!({"id": id, "title": c.title.trim()});
    put_list(&mut v, "props", props.into_iter().flatten().collect());
    v["parts"] = Value::Array(parts);
    v
}

/// A part in controlmap's namespace with one `example` sub-part per sentence; none when
/// there are no sentences.
fn examples(control_token: &str, name: &str, sentences: &[String]) -> Option<Value> {
    let parts: Vec<Value> = sentences
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| json!({"name": "example", "ns": NS, "prose": s.trim()}))
        .collect();
    (!parts.is_empty()).then(|| {
        json!({
            "id": format!("{control_token}_{name}"),
            "name": name,
            "ns": NS,
            "parts": parts,
        })
    })
}

/// Sets `key` to `items` unless there are none: OSCAL arrays hold at least one item.
pub(super) fn put_list(v: &mut Value, key: &str, items: Vec<Value>) {
    if let (false, Value::Object(m)) = (items.is_empty(), v) {
        m.insert(key.to_string(), Value::Array(items));
    }
}

/// An empty JSON object, for callers building one field at a time.
pub(super) fn object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_keeps_every_control_with_its_label() {
        let c = Catalog::builtin();
        let doc = catalog(&c, "2025-01-01T00:00:00Z");
        let groups = doc["catalog"]["groups"].as_array().unwrap();
        assert_eq!(groups.len(), c.objectives.len());
        // A.6 has sub-objectives: its controls sit in them.
        let a6 = groups.iter().find(|g| g["id"] == "A.6").unwrap();
        assert_eq!(a6["groups"][0]["id"], "A.6.1");
        assert_eq!(a6["groups"][0]["controls"][0]["id"], "A.6.1.2");
        let a22 = &groups[0]["controls"][0];
        assert_eq!(a22["props"][0]["value"], "A.2.2");
        assert_eq!(a22["parts"][0]["name"], "statement");
        assert_eq!(a22["parts"][0]["id"], "A.2.2_smt");
        assert_eq!(a22["parts"][1]["name"], "evidence-examples");
    }
}
