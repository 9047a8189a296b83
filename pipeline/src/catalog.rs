//! Control catalogs: a framework's objectives and controls, each with a description,
//! evidence examples and keywords in the project's own words, loaded from YAML and
//! validated with errors that name the line.

use std::{collections::HashSet, path::Path};

use serde::{Deserialize, Serialize};

pub mod oscal;

/// The catalog shipped in the binary: ISO/IEC 42001:2023 Annex A.
pub const BUILTIN_ANNEX_A: &str = include_str!("../../corpora/catalogs/iso42001-annex-a.yaml");
const BUILTIN_NAME: &str = "corpora/catalogs/iso42001-annex-a.yaml (built in)";

/// The schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub schema_version: u32,
    pub framework: Framework,
    pub objectives: Vec<Objective>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub note: String,
    /// Words and phrases that put a document in the framework's scope (matched whole and
    /// case-insensitively in its text, headings and title). A document that contains none of
    /// them is out of scope: indexed and searchable, but evidence for no control. Empty: every
    /// document is in scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope_terms: Vec<String>,
    /// Other names `--framework` accepts for it (`iso42001` for `iso42001-annex-a`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub id: String,
    pub title: String,
    pub purpose: String,
    /// Sub-objectives (Annex A's A.6.1 and A.6.2, the AI RMF's categories); controls name
    /// theirs in `group`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    pub controls: Vec<Control>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub summary: String,
    #[serde(default)]
    pub evidence_examples: Vec<String>,
    /// Sentences that read as if they were about this control but are not evidence for it
    /// (its title's false friends: information classification is not "information for
    /// interested parties"). Passages close to one score lower for the control.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counter_examples: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub document_kinds: Vec<String>,
}

pub use crate::error::CatalogError;

impl Control {
    /// The text the mapper embeds for the control: its title and summary.
    pub fn description(&self) -> String {
        format!("{}. {}", self.title, self.summary.trim())
    }
}

impl Catalog {
    /// The built-in ISO/IEC 42001 Annex A catalog.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_ANNEX_A, Path::new(BUILTIN_NAME))
            .expect("the built-in catalog validates (tested)")
    }

    /// Reads and validates a catalog file: controlmap's YAML, or an OSCAL catalog in JSON.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = fs_err::read_to_string(path).map_err(|e| CatalogError {
            source_name: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        if oscal::looks_like_oscal(&text) {
            return oscal::read_catalog(&text, path);
        }
        Self::parse(&text, path)
    }

    /// Parses and validates catalog YAML; `name` is used in error messages.
    pub fn parse(text: &str, name: &Path) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_yaml_ng::from_str(text).map_err(|e| CatalogError {
            source_name: name.to_path_buf(),
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        catalog.validate(text, name)?;
        Ok(catalog)
    }

    pub(crate) fn validate(&self, text: &str, name: &Path) -> Result<(), CatalogError> {
        let fail = |id: Option<&str>, occurrence: usize, message: String| CatalogError {
            source_name: name.to_path_buf(),
            line: id.and_then(|id| line_of_id(text, id, occurrence)),
            message,
        };
        if self.schema_version != SCHEMA_VERSION {
            return Err(CatalogError {
                source_name: name.to_path_buf(),
                line: line_of_key(text, "schema_version"),
                message: format!(
                    "schema_version {} is not supported (this controlmap reads version {SCHEMA_VERSION})",
                    self.schema_version
                ),
            });
        }
        if self.framework.id.trim().is_empty() || self.framework.name.trim().is_empty() {
            return Err(CatalogError {
                source_name: name.to_path_buf(),
                line: line_of_key(text, "framework"),
                message: "framework needs a non-empty id and name".into(),
            });
        }
        if self
            .framework
            .scope_terms
            .iter()
            .any(|t| t.trim().is_empty())
        {
            return Err(CatalogError {
                source_name: name.to_path_buf(),
                line: line_of_key(text, "scope_terms"),
                message: "framework.scope_terms has an empty term".into(),
            });
        }
        if self.objectives.is_empty() {
            return Err(fail(None, 0, "the catalog has no objectives".into()));
        }
        // Every ID (objective, group, control) is unique; count occurrences to point at the
        // second one when an ID repeats.
        let mut seen: HashSet<String> = HashSet::new();
        let mut check_id = |id: &str| {
            if !seen.insert(id.to_string()) {
                return Err(fail(Some(id), 1, format!("duplicate ID {id}")));
            }
            Ok(())
        };
        let empty = |s: &str| s.trim().is_empty();
        for o in &self.objectives {
            check_id(&o.id)?;
            if empty(&o.title) || empty(&o.purpose) {
                return Err(fail(
                    Some(&o.id),
                    0,
                    format!("objective {} needs a title and a purpose", o.id),
                ));
            }
            if o.controls.is_empty() {
                return Err(fail(
                    Some(&o.id),
                    0,
                    format!("objective {} has no controls", o.id),
                ));
            }
            for g in &o.groups {
                check_id(&g.id)?;
                if empty(&g.title) || empty(&g.purpose) {
                    return Err(fail(
                        Some(&g.id),
                        0,
                        format!("group {} needs a title and a purpose", g.id),
                    ));
                }
            }
            for c in &o.controls {
                check_id(&c.id)?;
                let at = |msg: String| fail(Some(&c.id), 0, msg);
                if empty(&c.title) {
                    return Err(at(format!("control {} has an empty title", c.id)));
                }
                if empty(&c.summary) {
                    return Err(at(format!("control {} has an empty summary", c.id)));
                }
                if c.evidence_examples.iter().any(|e| empty(e))
                    || c.keywords.iter().any(|k| empty(k))
                {
                    return Err(at(format!(
                        "control {} has an empty evidence example or keyword",
                        c.id
                    )));
                }
                if c.counter_examples.iter().any(|e| empty(e)) {
                    return Err(at(format!("control {} has an empty counter-example", c.id)));
                }
                match (&c.group, o.groups.is_empty()) {
                    (None, false) => {
                        return Err(at(format!(
                            "control {} must name one of objective {}'s groups",
                            c.id, o.id
                        )));
                    }
                    (Some(g), _) if !o.groups.iter().any(|x| &x.id == g) => {
                        return Err(at(format!(
                            "control {} names group {g}, which objective {} does not have",
                            c.id, o.id
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Every control, in catalog order, with its objective.
    pub fn controls(&self) -> impl Iterator<Item = (&Objective, &Control)> {
        self.objectives
            .iter()
            .flat_map(|o| o.controls.iter().map(move |c| (o, c)))
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls().map(|(_, c)| c).find(|c| c.id == id)
    }
}

/// 1-based line of the `occurrence`-th (0-based) `id: ID` in the YAML text.
fn line_of_id(text: &str, id: &str, occurrence: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix("id:")
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'') == id)
                .unwrap_or(false)
        })
        .nth(occurrence)
        .map(|(i, _)| i + 1)
}

/// The first line that sets `key`, at any indentation (keys this is asked for occur once).
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANNEX_A_IDS: &[&str] = &[
        "A.2.2", "A.2.3", "A.2.4", "A.3.2", "A.3.3", "A.4.2", "A.4.3", "A.4.4", "A.4.5", "A.4.6",
        "A.5.2", "A.5.3", "A.5.4", "A.5.5", "A.6.1.2", "A.6.1.3", "A.6.2.2", "A.6.2.3", "A.6.2.4",
        "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8", "A.7.2", "A.7.3", "A.7.4", "A.7.5", "A.7.6",
        "A.8.2", "A.8.3", "A.8.4", "A.8.5", "A.9.2", "A.9.3", "A.9.4", "A.10.2", "A.10.3",
        "A.10.4",
    ];

    #[test]
    fn builtin_catalog_has_the_38_annex_a_controls_in_order() {
        let c = Catalog::builtin();
        assert_eq!(c.objectives.len(), 9);
        let ids: Vec<&str> = c.controls().map(|(_, c)| c.id.as_str()).collect();
        assert_eq!(ids, ANNEX_A_IDS);
        assert_eq!(
            c.control("A.6.2.4").unwrap().title,
            "AI system verification and validation"
        );
        assert_eq!(
            c.control("A.5.4").unwrap().title,
            "Assessing AI system impact on individuals or groups of individuals"
        );
        for (_, ctl) in c.controls() {
            assert!(
                ctl.evidence_examples.len() >= 4,
                "{} has too few examples",
                ctl.id
            );
            assert!(!ctl.keywords.is_empty(), "{} has no keywords", ctl.id);
        }
    }

    const SMALL: &str = "\
schema_version: 1
framework:
  id: demo
  name: Demo
objectives:
  - id: A.2
    title: Policies
    purpose: Why policies matter.
    controls:
      - id: A.2.2
        title: AI policy
        summary: Have a policy.
        evidence_examples: [\"The policy is approved.\"]
        keywords: [policy]
      - id: A.2.3
        title: Alignment
        summary: Align policies.
  - id: A.6
    title: Life cycle
    purpose: Build well.
    groups:
      - id: A.6.1
        title: Guidance
        purpose: Guide.
    controls:
      - id: A.6.1.2
        group: A.6.1
        title: Objectives
        summary: Set objectives.
";

    fn err(text: &str) -> CatalogError {
        Catalog::parse(text, Path::new("demo.yaml")).unwrap_err()
    }

    #[test]
    fn scope_terms_load_and_an_empty_one_is_an_error() {
        let with = |terms: &str| {
            SMALL.replace(
                "  name: Demo\n",
                &format!("  name: Demo\n  scope_terms: {terms}\n"),
            )
        };
        let c = Catalog::parse(&with("[AI, machine learning]"), Path::new("demo.yaml")).unwrap();
        assert_eq!(c.framework.scope_terms, ["AI", "machine learning"]);
        assert!(
            Catalog::parse(SMALL, Path::new("demo.yaml"))
                .unwrap()
                .framework
                .scope_terms
                .is_empty()
        );
        let e = err(&with("[AI, \" \"]"));
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("scope_terms"), "{e}");
    }

    #[test]
    fn small_catalog_validates() {
        let c = Catalog::parse(SMALL, Path::new("demo.yaml")).unwrap();
        assert_eq!(c.controls().count(), 3);
    }

    #[test]
    fn duplicate_id_names_the_second_line() {
        let e = err(&SMALL.replace("id: A.2.3", "id: A.2.2"));
        assert_eq!(e.line, Some(15), "{e}");
        assert!(
            e.to_string()
                .starts_with("demo.yaml:15: duplicate ID A.2.2"),
            "{e}"
        );
    }

    #[test]
    fn ids_need_not_continue_their_objective_s() {
        // Sources' own IDs: `Art. 9` under a themed objective, `ac-1` under `ac`.
        let c = Catalog::parse(
            &SMALL.replace("id: A.2.3", "id: Art. 9"),
            Path::new("demo.yaml"),
        )
        .unwrap();
        assert_eq!(c.control("Art. 9").unwrap().title, "Alignment");
    }

    #[test]
    fn empty_summary_is_an_error() {
        let e = err(&SMALL.replace("summary: Align policies.", "summary: \"  \""));
        assert_eq!(e.line, Some(15));
        assert!(e.message.contains("empty summary"), "{e}");
    }

    #[test]
    fn empty_title_or_purpose_is_an_error() {
        let e = err(&SMALL.replace("purpose: Build well.", "purpose: \"\""));
        assert_eq!(e.line, Some(18));
        assert!(e.message.contains("needs a title and a purpose"), "{e}");
        let e = err(&SMALL.replace("title: Alignment", "title: \"\""));
        assert!(e.message.contains("empty title"), "{e}");
    }

    #[test]
    fn empty_example_is_an_error() {
        let e = err(&SMALL.replace("[\"The policy is approved.\"]", "[\"\"]"));
        assert_eq!(e.line, Some(10));
        assert!(e.message.contains("empty evidence example"), "{e}");
    }

    #[test]
    fn counter_examples_load_and_an_empty_one_is_an_error() {
        let with = |list: &str| {
            SMALL.replace(
                "keywords: [policy]",
                &format!("counter_examples: [{list}]\n        keywords: [policy]"),
            )
        };
        let ok = Catalog::parse(
            &with("\"The travel policy sets meal allowances.\""),
            Path::new("demo.yaml"),
        )
        .unwrap();
        let a22 = ok.control("A.2.2").unwrap();
        assert_eq!(
            a22.counter_examples,
            ["The travel policy sets meal allowances."]
        );
        assert!(ok.control("A.2.3").unwrap().counter_examples.is_empty());
        let e = err(&with("\" \""));
        assert_eq!(e.line, Some(10));
        assert!(e.message.contains("empty counter-example"), "{e}");
    }

    #[test]
    fn objective_without_controls_is_an_error() {
        let text = SMALL.split("  - id: A.6\n").next().unwrap().to_string()
            + "  - id: A.7\n    title: Data\n    purpose: Data.\n    controls: []\n";
        let e = err(&text);
        assert!(e.message.contains("objective A.7 has no controls"), "{e}");
        assert_eq!(e.line, Some(18));
    }

    #[test]
    fn unknown_or_missing_group_is_an_error() {
        let e = err(&SMALL.replace("group: A.6.1", "group: A.6.9"));
        assert!(e.message.contains("names group A.6.9"), "{e}");
        let e = err(&SMALL.replace("        group: A.6.1\n", ""));
        assert!(
            e.message
                .contains("must name one of objective A.6's groups"),
            "{e}"
        );
        assert_eq!(e.line, Some(26));
    }

    #[test]
    fn syntax_and_type_errors_carry_a_line() {
        let e = err(&SMALL.replace("    title: Policies", "    title: [unclosed"));
        assert!(e.line.is_some(), "{e}");
        let e = err(&SMALL.replace("keywords: [policy]", "keyword: [policy]"));
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, Some(14));
    }

    #[test]
    fn wrong_schema_version_is_an_error() {
        let e = err(&SMALL.replace("schema_version: 1", "schema_version: 9"));
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("not supported"), "{e}");
    }

    #[test]
    fn missing_framework_name_is_an_error() {
        let e = err(&SMALL.replace("  name: Demo\n", "  name: \"\"\n"));
        assert_eq!(e.line, Some(2));
    }
}
