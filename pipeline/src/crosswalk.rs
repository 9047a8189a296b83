//! Crosswalks: which controls of the primary framework (ISO/IEC 42001 Annex A) a control of
//! another framework borrows its evidence from. Data, read from JSON and checked against both
//! catalogs, with errors that name the file and the line.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{catalog::Catalog, error::CatalogError};

/// NIST's published crosswalk from the AI RMF's subcategories to Annex A.
pub const BUILTIN_NIST_AI_RMF: &str =
    include_str!("../../corpora/catalogs/nist-ai-rmf-to-iso42001.json");
/// controlmap's own crosswalk from the EU AI Act's controls to Annex A.
pub const BUILTIN_EU_AI_ACT: &str =
    include_str!("../../corpora/catalogs/eu-ai-act-to-iso42001.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crosswalk {
    pub name: String,
    /// The framework whose controls the pairs start from (its catalog's `framework.id`).
    pub from_framework: String,
    /// The framework they point to: the primary one.
    pub to_framework: String,
    /// Who made it and on what authority.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub notes: String,
    pub pairs: Vec<Pair>,
    /// Where it was read from, and its text: errors found later name the file and line.
    #[serde(skip)]
    file: PathBuf,
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub from: String,
    pub to: Vec<String>,
    #[serde(default)]
    pub why: String,
}

impl Crosswalk {
    /// The crosswalks shipped in the binary, with the names errors give them.
    pub fn builtins() -> Vec<Crosswalk> {
        [
            (BUILTIN_NIST_AI_RMF, "nist-ai-rmf-to-iso42001.json"),
            (BUILTIN_EU_AI_ACT, "eu-ai-act-to-iso42001.json"),
        ]
        .into_iter()
        .map(|(text, name)| {
            Self::parse(text, Path::new(name)).expect("the built-in crosswalks parse (tested)")
        })
        .collect()
    }

    /// Reads a crosswalk file; [`Crosswalk::check`] relates it to the catalogs.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = fs_err::read_to_string(path).map_err(|e| error(path, None, e.to_string()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, name: &Path) -> Result<Self, CatalogError> {
        let mut c: Crosswalk =
            serde_json::from_str(text).map_err(|e| error(name, Some(e.line()), e.to_string()))?;
        c.file = name.to_path_buf();
        c.text = text.to_string();
        let mut seen = HashSet::new();
        for (i, p) in c.pairs.iter().enumerate() {
            let line = line_of(text, "from", &p.from);
            if p.from.trim().is_empty()
                || p.to.is_empty()
                || p.to.iter().any(|t| t.trim().is_empty())
            {
                return Err(error(
                    name,
                    line,
                    format!("pairs[{i}] needs a `from` and at least one `to`"),
                ));
            }
            if !seen.insert(p.from.as_str()) {
                return Err(error(
                    name,
                    line_of_nth(text, "from", &p.from, 1),
                    format!(
                        "pairs[{i}]: {} has two pairs; list its targets in one",
                        p.from
                    ),
                ));
            }
        }
        Ok(c)
    }

    /// Where it was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Every pair's `from` is a control of `from` and every `to` one of `to`.
    pub fn check(&self, from: &Catalog, to: &Catalog) -> Result<(), CatalogError> {
        for (i, p) in self.pairs.iter().enumerate() {
            if from.control(&p.from).is_none() {
                return Err(error(
                    &self.file,
                    line_of(&self.text, "from", &p.from),
                    format!(
                        "pairs[{i}]: {} is not a control of {} ({})",
                        p.from, from.framework.name, from.framework.id
                    ),
                ));
            }
            if let Some(t) = p.to.iter().find(|t| to.control(t).is_none()) {
                return Err(error(
                    &self.file,
                    line_of(&self.text, "from", &p.from),
                    format!(
                        "pairs[{i}] ({}): {t} is not a control of {} ({})",
                        p.from, to.framework.name, to.framework.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The primary framework's controls that `control` borrows evidence from (none when the
    /// crosswalk has no pair for it).
    pub fn targets(&self, control: &str) -> &[String] {
        self.pairs
            .iter()
            .find(|p| p.from == control)
            .map(|p| p.to.as_slice())
            .unwrap_or_default()
    }
}

fn error(name: &Path, line: Option<usize>, message: String) -> CatalogError {
    CatalogError {
        source_name: name.to_path_buf(),
        line,
        message,
    }
}

/// 1-based line of the first `"key": "value"` in JSON text.
fn line_of(text: &str, key: &str, value: &str) -> Option<usize> {
    line_of_nth(text, key, value, 0)
}

fn line_of_nth(text: &str, key: &str, value: &str, n: usize) -> Option<usize> {
    let want = serde_json::to_string(value).ok()?;
    let key = format!("\"{key}\"");
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split(&key).skip(1).any(|after| {
                after
                    .trim_start()
                    .strip_prefix(':')
                    .is_some_and(|r| r.trim_start().starts_with(&want))
            })
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogs() -> (Catalog, Catalog, Catalog) {
        (
            Catalog::builtin(),
            Catalog::parse(
                crate::frameworks::BUILTIN_NIST_AI_RMF,
                Path::new("nist-ai-rmf.yaml"),
            )
            .unwrap(),
            Catalog::parse(
                crate::frameworks::BUILTIN_EU_AI_ACT,
                Path::new("eu-ai-act.yaml"),
            )
            .unwrap(),
        )
    }

    #[test]
    fn the_built_in_crosswalks_check_against_their_catalogs() {
        let (iso, nist, eu) = catalogs();
        let x = Crosswalk::builtins();
        assert_eq!(x[0].from_framework, nist.framework.id);
        assert_eq!(x[1].from_framework, eu.framework.id);
        x[0].check(&nist, &iso).unwrap();
        x[1].check(&eu, &iso).unwrap();
        assert_eq!(x[0].targets("GOVERN 1.1"), ["A.2.2", "A.2.4"]);
        assert!(
            x[0].targets("GOVERN 1.3").is_empty(),
            "no pair in NIST's crosswalk"
        );
        assert_eq!(x[0].pairs.iter().map(|p| p.to.len()).sum::<usize>(), 200);
    }

    #[test]
    fn a_wrong_control_is_named_with_its_line() {
        let (iso, nist, _) = catalogs();
        let text = BUILTIN_NIST_AI_RMF.replacen("\"A.2.4\"", "\"A.2.9\"", 1);
        let x = Crosswalk::parse(&text, Path::new("x.json")).unwrap();
        let e = x.check(&nist, &iso).unwrap_err();
        assert!(
            e.message
                .contains("A.2.9 is not a control of ISO/IEC 42001"),
            "{e}"
        );
        let line = e.line.unwrap();
        assert!(
            text.lines().nth(line - 1).unwrap().contains("GOVERN 1.1"),
            "{e}"
        );
        let text = BUILTIN_NIST_AI_RMF.replacen("\"GOVERN 1.1\"", "\"GOVERN 9.9\"", 1);
        let e = Crosswalk::parse(&text, Path::new("x.json"))
            .unwrap()
            .check(&nist, &iso)
            .unwrap_err();
        assert!(e.to_string().starts_with("x.json:"), "{e}");
        assert!(e.message.contains("GOVERN 9.9 is not a control"), "{e}");
    }

    #[test]
    fn syntax_errors_empty_targets_and_repeated_sources_are_named() {
        let e =
            Crosswalk::parse("{\"name\": \"x\",\n \"pairs\": [}", Path::new("x.json")).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let text = "{\"name\": \"x\", \"from_framework\": \"a\", \"to_framework\": \"b\",\n\
                    \"pairs\": [\n{\"from\": \"C1\", \"to\": []}]}";
        let e = Crosswalk::parse(text, Path::new("x.json")).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let text = "{\"name\": \"x\", \"from_framework\": \"a\", \"to_framework\": \"b\",\n\
                    \"pairs\": [\n{\"from\": \"C1\", \"to\": [\"A\"]},\n{\"from\": \"C1\", \"to\": [\"B\"]}]}";
        let e = Crosswalk::parse(text, Path::new("x.json")).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("two pairs"), "{e}");
    }
}
