//! A labelled corpus's gold mapping (`gold.yaml`): which quotes in which files are evidence
//! for which controls, and which controls the corpus leaves as gaps or only mentions in
//! passing (weak). `controlmap eval` scores the mapper against it; the tests here check that
//! the parsers extract every labelled quote from its file.
//!
//! ```
//! let gold = controlmap::eval::gold::Gold::parse(
//!     "schema_version: 1\ncorpus: c\ncatalog: k\ngaps: [A.5.5]\nweak: []\n\
//!      labels:\n  - file: a.md\n    quote: \"Models are  validated.\"\n    controls: [A.6.2.4]\n",
//!     std::path::Path::new("gold.yaml"),
//! )
//! .unwrap();
//! assert!(controlmap::eval::gold::contains_quote("x\nModels are validated.\ny", &gold.labels[0].quote));
//! ```

use std::path::Path;

use serde::Deserialize;

/// The `gold.yaml` schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A corpus's gold mapping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gold {
    pub schema_version: u32,
    /// The corpus's name (its folder under `corpora/`).
    pub corpus: String,
    /// The catalog the control IDs come from.
    pub catalog: String,
    /// Controls with no evidence anywhere in the corpus.
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Controls with passing mentions only, which are not evidence.
    #[serde(default)]
    pub weak: Vec<String>,
    pub labels: Vec<Label>,
}

/// One quote and the controls it is evidence for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Path relative to the corpus folder, `/`-separated.
    pub file: String,
    /// Whole sentences as a reader extracts them; compared ignoring whitespace.
    pub quote: String,
    pub controls: Vec<String>,
}

pub use crate::error::GoldError;

impl Gold {
    /// Reads and validates a gold file.
    pub fn load(path: &Path) -> Result<Self, GoldError> {
        let text = fs_err::read_to_string(path).map_err(|e| GoldError {
            source_name: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates gold YAML; `name` is used in error messages.
    pub fn parse(text: &str, name: &Path) -> Result<Self, GoldError> {
        let fail = |line: Option<usize>, message: String| GoldError {
            source_name: name.to_path_buf(),
            line,
            message,
        };
        let gold: Gold = serde_yaml_ng::from_str(text)
            .map_err(|e| fail(e.location().map(|l| l.line()), e.to_string()))?;
        if gold.schema_version != SCHEMA_VERSION {
            return Err(fail(
                None,
                format!(
                    "schema_version {} is not supported (this controlmap reads version {SCHEMA_VERSION})",
                    gold.schema_version
                ),
            ));
        }
        for (i, l) in gold.labels.iter().enumerate() {
            let problem = if l.file.trim().is_empty() || l.file.starts_with('/') {
                Some("a label's file must be a path inside the corpus")
            } else if squash(&l.quote).is_empty() {
                Some("a label's quote is empty")
            } else if l.controls.is_empty() {
                Some("a label names no control")
            } else {
                None
            };
            if let Some(p) = problem {
                return Err(fail(None, format!("label {} ({}): {p}", i + 1, l.file)));
            }
        }
        Ok(gold)
    }

    /// The files that carry labels, each once, in first-label order.
    pub fn files(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for l in &self.labels {
            if !out.contains(&l.file.as_str()) {
                out.push(&l.file);
            }
        }
        out
    }
}

/// Text without any whitespace: quotes are compared this way, since line breaks, table
/// layouts and extractors differ in where they put spaces but not in the words.
pub fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether `quote` occurs in `text`, ignoring all whitespace (case-sensitive).
pub fn contains_quote(text: &str, quote: &str) -> bool {
    squash(text).contains(&squash(quote))
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, path::PathBuf};

    use super::*;
    use crate::ingest::parse::{NotParsed, parse_file};

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sample-org")
    }

    #[test]
    fn sample_gold_loads_and_is_consistent() {
        let gold = Gold::load(&corpus().join("gold.yaml")).unwrap();
        assert_eq!(gold.corpus, "sample-org");
        assert_eq!(gold.catalog, "iso42001-annex-a");
        assert!(gold.labels.len() >= 170, "{}", gold.labels.len());
        for l in &gold.labels {
            assert!(corpus().join(&l.file).is_file(), "{} is missing", l.file);
            for c in &l.controls {
                assert!(!gold.gaps.contains(c), "{c} is a gap but labelled");
                assert!(!gold.weak.contains(c), "{c} is weak but labelled");
            }
        }
    }

    /// The acceptance check of the parsers: every labelled quote is in the text that
    /// controlmap extracts from its file (whitespace ignored, nothing else forgiven).
    #[test]
    fn every_gold_quote_is_in_its_parsed_file() {
        let gold = Gold::load(&corpus().join("gold.yaml")).unwrap();
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut texts: BTreeMap<&str, Result<String, NotParsed>> = BTreeMap::new();
        for l in &gold.labels {
            let text = texts.entry(&l.file).or_insert_with(|| {
                parse_file(
                    &corpus().join(&l.file),
                    crate::ingest::parse::DEFAULT_MAX_BYTES,
                )
                .map(|d| squash(&d.text()))
            });
            match text {
                Ok(t) if t.contains(&squash(&l.quote)) => {}
                Ok(_) => missing.entry(&l.file).or_default().push(&l.quote),
                Err(e) => panic!("{}: {e}", l.file),
            }
        }
        assert!(
            missing.is_empty(),
            "{} quotes not found:\n{}",
            missing.values().map(Vec::len).sum::<usize>(),
            missing
                .iter()
                .map(|(f, qs)| format!("{f}:\n  {}", qs.join("\n  ")))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn bad_gold_files_say_what_and_where() {
        let bad = |yaml: &str| {
            Gold::parse(yaml, Path::new("g.yaml"))
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad("schema_version: 2\ncorpus: c\ncatalog: k\nlabels: []\n")
                .contains("schema_version 2")
        );
        let e = bad(
            "schema_version: 1\ncorpus: c\ncatalog: k\nlabels:\n  - file: a.md\n    quote: \" \"\n    controls: [A.2.2]\n",
        );
        assert!(
            e.starts_with("g.yaml: label 1 (a.md): a label's quote is empty"),
            "{e}"
        );
        let e = bad(
            "schema_version: 1\ncorpus: c\ncatalog: k\nlabels:\n  - file: a.md\n    quote: q\n    controls: [A.2.2]\n    extra: 1\n",
        );
        assert!(e.starts_with("g.yaml:"), "{e}");
        assert!(contains_quote("a b\n c", "ab c"));
        assert!(!contains_quote("a b c", "A b c"));
    }
}
