//! An OSCAL catalog (JSON) read as a controlmap catalog, so that any framework published in
//! OSCAL can be mapped to. It sits inside `catalog` because [`Catalog::load`] dispatches to
//! it; [`crate::oscal`] (which writes OSCAL) re-exports it.
//!
//! - top-level groups become objectives, their groups the objectives' sub-groups (deeper
//!   groups are folded into their second-level ancestor); controls outside any group form
//!   one objective of their own;
//! - each control keeps its ID and title; its summary is the prose of its `statement` and
//!   `guidance` parts, sub-parts included (with their labels, `a.`, `1.`), parameters written
//!   out as readable text (`[organization-defined frequency]`, `[one or more of: …]`);
//! - control enhancements (controls inside controls) become controls beside their parent;
//!   withdrawn controls (a `status` prop of `withdrawn`) are left out, having no text;
//! - what controlmap's own export adds in its namespace (original IDs, evidence examples,
//!   keywords) is read back, so an exported catalog imports as it was.
//!
//! Errors name the file and the place: serde_json's line and column, or a JSON path such as
//! `catalog.groups[2].controls[5]`.

use std::{collections::HashMap, path::Path};

use serde_json::{Map, Value};

use super::{Catalog, CatalogError, Control, Framework, Group, Objective, SCHEMA_VERSION};

/// controlmap's namespace for OSCAL props and parts OSCAL has no name for. An identifier,
/// not a page: `.invalid` never resolves (RFC 2606), as in the crate's `repository`.
pub const NS: &str = "https://example.invalid/controlmap/ns/oscal";

/// Whether a catalog file's text is an OSCAL catalog in JSON: a JSON object (its first
/// character `{`) that names `catalog`. YAML catalogs start otherwise.
pub fn looks_like_oscal(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{') && t.contains("\"catalog\"")
}

/// Reads the OSCAL catalog in `text` (JSON) as a controlmap catalog, validated; `name` is
/// the file, for error messages.
pub fn read_catalog(text: &str, name: &Path) -> Result<Catalog, CatalogError> {
    let doc: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| CatalogError {
            source_name: name.to_path_buf(),
            line: Some(e.line()),
            message: format!("not valid JSON (column {}): {e}", e.column()),
        })?;
    let reader = Reader {
        name,
        params: HashMap::new(),
        seen: HashMap::new(),
    };
    let catalog = reader.catalog(&doc)?;
    catalog.validate(text, name)?;
    Ok(catalog)
}

struct Reader<'a> {
    name: &'a Path,
    /// Every parameter's readable text, by ID.
    params: HashMap<String, String>,
    /// Every ID taken, with where.
    seen: HashMap<String, String>,
}

type Fallible<T> = Result<T, CatalogError>;

impl Reader<'_> {
    fn fail(&self, at: &str, message: impl std::fmt::Display) -> CatalogError {
        CatalogError {
            source_name: self.name.to_path_buf(),
            line: None,
            message: format!("{at}: {message}"),
        }
    }

    fn object<'v>(&self, v: &'v Value, at: &str) -> Fallible<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.fail(at, "expected a JSON object"))
    }

    /// The array `key` of `o` (none: empty).
    fn array<'v>(&self, o: &'v Map<String, Value>, key: &str, at: &str) -> Fallible<&'v [Value]> {
        match o.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.fail(&format!("{at}.{key}"), "expected an array")),
        }
    }

    fn string(&self, o: &Map<String, Value>, key: &str, at: &str) -> Fallible<Option<String>> {
        match o.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(self.fail(&format!("{at}.{key}"), "expected a string")),
        }
    }

    fn required(&self, o: &Map<String, Value>, key: &str, at: &str) -> Fallible<String> {
        self.string(o, key, at)?
            .ok_or_else(|| self.fail(at, format!("`{key}` is missing or empty")))
    }

    /// An ID, checked unique: controlmap's own `label` prop when there is one, else `id`.
    fn id(
        &mut self,
        o: &Map<String, Value>,
        at: &str,
        fallback: Option<String>,
    ) -> Fallible<String> {
        let id = match ns_props(o, "label").into_iter().next() {
            Some(label) => label,
            None => match self.string(o, "id", at)? {
                Some(id) => id,
                None => fallback.ok_or_else(|| self.fail(at, "`id` is missing or empty"))?,
            },
        };
        if let Some(first) = self.seen.get(&id) {
            return Err(self.fail(at, format!("duplicate ID {id} (first at {first})")));
        }
        self.seen.insert(id.clone(), at.to_string());
        Ok(id)
    }

    fn catalog(mut self, doc: &Value) -> Fallible<Catalog> {
        let top = self.object(doc, "(top level)")?;
        let root = top
            .get("catalog")
            .ok_or_else(|| self.fail("(top level)", "no `catalog`: not an OSCAL catalog"))?;
        let root = self.object(root, "catalog")?;
        let meta = root
            .get("metadata")
            .ok_or_else(|| self.fail("catalog", "`metadata` is missing"))?;
        let meta = self.object(meta, "catalog.metadata")?;
        let title = self.required(meta, "title", "catalog.metadata")?;
        // Fields a framework gains later (aliases) take their defaults.
        #[allow(clippy::needless_update)]
        let framework = Framework {
            id: ns_props(meta, "framework-id")
                .into_iter()
                .next()
                .unwrap_or_else(|| slug(&title)),
            version: self
                .string(meta, "version", "catalog.metadata")?
                .unwrap_or_default(),
            note: self
                .string(meta, "remarks", "catalog.metadata")?
                .unwrap_or_default(),
            scope_terms: ns_props(meta, "scope-term"),
            name: title,
            ..Default::default()
        };
        self.collect_params(&Value::Object(root.clone()));

        let mut objectives = Vec::new();
        let ungrouped = self.array(root, "controls", "catalog")?;
        if !ungrouped.is_empty() {
            let id = self.id(&Map::new(), "catalog.controls", Some("ungrouped".into()))?;
            let mut controls = Vec::new();
            for (i, c) in ungrouped.iter().enumerate() {
                self.control(c, &format!("catalog.controls[{i}]"), None, &mut controls)?;
            }
            objectives.push(Objective {
                id,
                title: "Controls outside any group".into(),
                purpose: "The catalog's controls that no group holds.".into(),
                groups: Vec::new(),
                controls,
            });
        }
        for (i, g) in self.array(root, "groups", "catalog")?.iter().enumerate() {
            objectives.push(self.objective(g, &format!("catalog.groups[{i}]"))?);
        }
        if objectives.iter().all(|o| o.controls.is_empty()) {
            return Err(self.fail("catalog", "no controls (in `controls` or `groups`)"));
        }
        // A group with no (remaining) controls has nothing to map to.
        objectives.retain(|o| !o.controls.is_empty());
        Ok(Catalog {
            schema_version: SCHEMA_VERSION,
            framework,
            objectives,
        })
    }

    fn objective(&mut self, g: &Value, at: &str) -> Fallible<Objective> {
        let o = self.object(g, at)?;
        let id = self.id(o, at, Some(at.to_string()))?;
        let title = self.required(o, "title", at)?;
        let purpose = self.purpose(o, at)?.unwrap_or_else(|| title.clone());
        let mut objective = Objective {
            id,
            title,
            purpose,
            groups: Vec::new(),
            controls: Vec::new(),
        };
        let direct = self.array(o, "controls", at)?;
        let subgroups = self.array(o, "groups", at)?;
        // Controls beside sub-groups need a group of their own: one named for the objective.
        let direct_group = (!direct.is_empty() && !subgroups.is_empty()).then(|| Group {
            id: format!("{}-general", objective.id),
            title: objective.title.clone(),
            purpose: objective.purpose.clone(),
        });
        if let Some(g) = &direct_group {
            self.id(&Map::new(), at, Some(g.id.clone()))?;
        }
        let group_id = direct_group.as_ref().map(|g| g.id.clone());
        for (i, c) in direct.iter().enumerate() {
            let at = format!("{at}.controls[{i}]");
            self.control(c, &at, group_id.as_deref(), &mut objective.controls)?;
        }
        objective.groups.extend(direct_group);
        for (i, sub) in subgroups.iter().enumerate() {
            let at = format!("{at}.groups[{i}]");
            let so = self.object(sub, &at)?;
            let id = self.id(so, &at, Some(at.clone()))?;
            let title = self.required(so, "title", &at)?;
            let purpose = self.purpose(so, &at)?.unwrap_or_else(|| title.clone());
            let before = objective.controls.len();
            self.group_controls(sub, &at, &id, &mut objective.controls)?;
            if objective.controls.len() > before {
                objective.groups.push(Group { id, title, purpose });
            }
        }
        Ok(objective)
    }

    /// The controls of group `g` and of every group inside it, all in group `group`.
    fn group_controls(
        &mut self,
        g: &Value,
        at: &str,
        group: &str,
        out: &mut Vec<Control>,
    ) -> Fallible<()> {
        let o = self.object(g, at)?;
        for (i, c) in self.array(o, "controls", at)?.iter().enumerate() {
            self.control(c, &format!("{at}.controls[{i}]"), Some(group), out)?;
        }
        for (i, inner) in self.array(o, "groups", at)?.iter().enumerate() {
            self.group_controls(inner, &format!("{at}.groups[{i}]"), group, out)?;
        }
        Ok(())
    }

    /// A group's purpose: its parts' prose (an `overview` in controlmap's export).
    fn purpose(&self, o: &Map<String, Value>, at: &str) -> Fallible<Option<String>> {
        let mut text = Vec::new();
        for (i, p) in self.array(o, "parts", at)?.iter().enumerate() {
            self.prose(p, &format!("{at}.parts[{i}]"), &mut text)?;
        }
        Ok((!text.is_empty()).then(|| text.join("\n")))
    }

    /// Control `c` and its enhancements, appended to `out` (withdrawn ones left out).
    fn control(
        &mut self,
        c: &Value,
        at: &str,
        group: Option<&str>,
        out: &mut Vec<Control>,
    ) -> Fallible<()> {
        let o = self.object(c, at)?;
        let withdrawn = props(o).any(|p| {
            p.get("name").and_then(Value::as_str) == Some("status")
                && p.get("value").and_then(Value::as_str) == Some("withdrawn")
        });
        if !withdrawn {
            let id = self.id(o, at, None)?;
            let title = self.required(o, "title", at)?;
            let mut text = Vec::new();
            let mut examples = Vec::new();
            let mut counter = Vec::new();
            for (i, p) in self.array(o, "parts", at)?.iter().enumerate() {
                let pat = format!("{at}.parts[{i}]");
                let part = self.object(p, &pat)?;
                let name = part.get("name").and_then(Value::as_str).unwrap_or_default();
                let ours = part.get("ns").and_then(Value::as_str) == Some(NS);
                match (name, ours) {
                    ("statement" | "guidance", _) => self.prose(p, &pat, &mut text)?,
                    ("evidence-examples", true) => self.prose(p, &pat, &mut examples)?,
                    ("counter-examples", true) => self.prose(p, &pat, &mut counter)?,
                    _ => {}
                }
            }
            let summary = if text.is_empty() {
                title.clone()
            } else {
                text.join("\n")
            };
            out.push(Control {
                id,
                title,
                group: group.map(str::to_string),
                summary,
                evidence_examples: examples,
                counter_examples: counter,
                keywords: ns_props(o, "keyword"),
                document_kinds: ns_props(o, "document-kind"),
            });
        }
        for (i, e) in self.array(o, "controls", at)?.iter().enumerate() {
            self.control(e, &format!("{at}.controls[{i}]"), group, out)?;
        }
        Ok(())
    }

    /// A part's prose and its sub-parts', in order, each line led by its label (`a.`).
    fn prose(&self, p: &Value, at: &str, out: &mut Vec<String>) -> Fallible<()> {
        let o = self.object(p, at)?;
        if let Some(prose) = self.string(o, "prose", at)? {
            let prose = self.fill_params(&prose);
            match nist_label(o) {
                Some(label) => out.push(format!("{label} {prose}")),
                None => out.push(prose),
            }
        }
        for (i, sub) in self.array(o, "parts", at)?.iter().enumerate() {
            self.prose(sub, &format!("{at}.parts[{i}]"), out)?;
        }
        Ok(())
    }

    /// Every parameter anywhere in the catalog, as readable text.
    fn collect_params(&mut self, v: &Value) {
        let mut raw: Vec<(String, String)> = Vec::new();
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(o) => {
                    if let Some(Value::Array(ps)) = o.get("params") {
                        raw.extend(ps.iter().filter_map(param_text));
                    }
                    stack.extend(o.values());
                }
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        self.params = raw.iter().cloned().collect();
        // A choice may itself insert a parameter: fill those once (deeper nesting stays as
        // the parameter's ID).
        let filled: Vec<(String, String)> = raw
            .into_iter()
            .map(|(id, text)| (id, self.fill_params(&text)))
            .collect();
        self.params = filled.into_iter().collect();
    }

    /// `{{ insert: param, ID }}` replaced by the parameter's readable text.
    fn fill_params(&self, prose: &str) -> String {
        let mut out = String::with_capacity(prose.len());
        let mut rest = prose;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            let inner = &rest[start + 2..start + len];
            let mut fields = inner.split(',').map(str::trim);
            let kind = fields.next().unwrap_or_default();
            let id = fields.next().unwrap_or_default();
            match (kind.replace(' ', "").as_str(), self.params.get(id)) {
                ("insert:param", Some(text)) => out.push_str(text),
                _ => out.push_str(&format!("[{id}]")),
            }
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// A parameter's readable text: `[its label]`, `[one or more of: a; b]`, or its guidance.
fn param_text(p: &Value) -> Option<(String, String)> {
    let id = p.get("id")?.as_str()?.to_string();
    let text = if let Some(sel) = p.get("select") {
        let choices: Vec<&str> = sel
            .get("choice")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let how = match sel.get("how-many").and_then(Value::as_str) {
            Some("one-or-more") => "one or more of",
            _ => "one of",
        };
        format!("[{how}: {}]", choices.join("; "))
    } else if let Some(label) = p.get("label").and_then(Value::as_str) {
        format!("[{}]", label.trim())
    } else if let Some(g) = p
        .get("guidelines")
        .and_then(Value::as_array)
        .and_then(|g| g.first())
        .and_then(|g| g.get("prose"))
        .and_then(Value::as_str)
    {
        format!("[{}]", g.trim())
    } else {
        format!("[{id}]")
    };
    Some((id, text))
}

fn props(o: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    o.get("props")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The values of controlmap's props named `name`.
fn ns_props(o: &Map<String, Value>, name: &str) -> Vec<String> {
    props(o)
        .filter(|p| {
            p.get("ns").and_then(Value::as_str) == Some(NS)
                && p.get("name").and_then(Value::as_str) == Some(name)
        })
        .filter_map(|p| p.get("value").and_then(Value::as_str))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// A part's `label` prop outside controlmap's namespace (NIST's `a.`, `1.`).
fn nist_label(o: &Map<String, Value>) -> Option<&str> {
    props(o)
        .find(|p| {
            p.get("name").and_then(Value::as_str) == Some("label")
                && p.get("ns").and_then(Value::as_str) != Some(NS)
        })
        .and_then(|p| p.get("value").and_then(Value::as_str))
}

/// A framework ID from a title: lower case, each run of other characters one `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: Value) -> Result<Catalog, CatalogError> {
        read_catalog(&doc.to_string(), Path::new("x.json"))
    }

    fn meta() -> Value {
        json!({"title": "Small Framework", "last-modified": "2024-01-01T00:00:00Z",
               "version": "1", "oscal-version": "1.1.2"})
    }

    #[test]
    fn groups_become_objectives_and_parameters_read_as_text() {
        let c = read(json!({"catalog": {"uuid": "x", "metadata": meta(), "groups": [{
            "id": "ops", "title": "Operations",
            "controls": [{
                "id": "ops-1", "title": "Backups",
                "params": [{"id": "ops-1_prm", "label": "backup frequency"},
                           {"id": "ops-1_sel", "select": {"how-many": "one-or-more",
                                                          "choice": ["disk", "tape"]}}],
                "parts": [
                    {"name": "statement", "prose": "Back up {{ insert: param, ops-1_prm }}",
                     "parts": [{"name": "item", "props": [{"name": "label", "value": "a."}],
                                "prose": "to {{ insert: param, ops-1_sel }}."}]},
                    {"name": "guidance", "prose": "Test restores."},
                    {"name": "assessment-objective", "prose": "Left out."}],
                "controls": [{"id": "ops-1.1", "title": "Offsite copies"}]
            }, {"id": "ops-2", "title": "Gone", "props": [{"name": "status", "value": "withdrawn"}]}]
        }]}}))
        .unwrap();
        assert_eq!(c.framework.id, "small-framework");
        assert_eq!(c.objectives.len(), 1);
        let ids: Vec<&str> = c.controls().map(|(_, c)| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["ops-1", "ops-1.1"],
            "enhancement kept, withdrawn left out"
        );
        let ops1 = c.control("ops-1").unwrap();
        assert_eq!(
            ops1.summary,
            "Back up [backup frequency]\na. to [one or more of: disk; tape].\nTest restores."
        );
        assert_eq!(c.control("ops-1.1").unwrap().summary, "Offsite copies");
    }

    #[test]
    fn ungrouped_controls_get_one_objective() {
        let c = read(json!({"catalog": {"uuid": "x", "metadata": meta(),
            "controls": [{"id": "c1", "title": "One", "parts": [{"name": "statement", "prose": "Do one."}]}]}}))
        .unwrap();
        assert_eq!(c.objectives[0].id, "ungrouped");
        assert_eq!(c.control("c1").unwrap().summary, "Do one.");
    }

    #[test]
    fn errors_name_the_place() {
        let e = read(
            json!({"catalog": {"uuid": "x", "metadata": meta(), "groups": [
            {"id": "g", "title": "G", "controls": [{"id": "c1", "title": "One"}, {"id": "c2"}]}]}}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.json: catalog.groups[0].controls[1]: `title`"),
            "{e}"
        );
        let e = read(json!({"catalog": {"uuid": "x", "metadata": meta(), "groups": [
            {"id": "g", "title": "G", "controls": [{"id": "c1", "title": "One"}, {"id": "c1", "title": "Two"}]}]}}))
        .unwrap_err();
        assert!(
            e.message
                .contains("duplicate ID c1 (first at catalog.groups[0].controls[0])"),
            "{e}"
        );
        let e = read_catalog("{\"catalog\": {\n  \"uuid\": }", Path::new("x.json")).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
