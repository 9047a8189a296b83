//! OSCAL 1.1 out and in: catalogs as OSCAL **catalogs** ([`catalog_out`]), a run's findings
//! as OSCAL **assessment-results** ([`results_out`]), and an OSCAL catalog read as a
//! controlmap catalog ([`read_catalog`], which lives in [`crate::catalog::oscal`] because
//! [`crate::catalog::Catalog::load`] calls it when a file holds one). [`export`] puts the
//! first two together for `controlmap export oscal`.
//!
//! Every UUID is a version-5 UUID derived from what it names (see [`uuid_for`]), so two
//! exports of the same workspace are byte for byte the same. What OSCAL has no field for
//! (controlmap's own coverage status, a suggestion's confidence, the original control IDs)
//! travels as props in controlmap's namespace, [`NS`]. It does not validate its output:
//! `scripts/oscal-validate` does that, with a real OSCAL validator, in the tests.

pub mod catalog_out;
pub mod results_out;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub use crate::catalog::oscal::{NS, looks_like_oscal, read_catalog};
use crate::{
    catalog::Catalog,
    error::{Context, Result},
    messages,
    report::{ObjectiveEntry, Report, outputs::reviewed_report},
    workspace,
};

/// The OSCAL version the documents are written for.
pub const OSCAL_VERSION: &str = "1.1.3";

/// The namespace of controlmap's v5 UUIDs (itself a random v4 UUID, fixed forever: changing
/// it changes every UUID controlmap has exported).
const UUID_NAMESPACE: uuid::Uuid = uuid::uuid!("6f0c3a52-9d1e-4b7a-8e25-3c9a1f4d7b60");

/// The v5 UUID of `parts` joined: the same thing exported twice gets the same UUID.
pub fn uuid_for(parts: &[&str]) -> String {
    uuid::Uuid::new_v5(&UUID_NAMESPACE, parts.join("\u{1f}").as_bytes()).to_string()
}

/// `id` as an OSCAL token (a letter or `_` first, then letters, digits, `_`, `-`, `.`):
/// every run of other characters becomes one `_` (`GOVERN 1.1` → `GOVERN_1.1`, `Art. 26(2)`
/// → `Art._26_2`). The original ID is kept in a `label` prop in [`NS`].
pub fn token(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut gap = false;
    for c in id.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// A prop in controlmap's namespace; `None` for a value OSCAL would refuse (empty, or
/// spaces at either end after trimming would leave nothing).
pub fn prop(name: &str, value: impl std::fmt::Display) -> Option<Value> {
    let value = one_line(&value.to_string());
    (!value.is_empty()).then(|| json!({"name": name, "ns": NS, "value": value}))
}

/// Text for an OSCAL single-line field: whitespace runs (newlines included) become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A framework's findings, as the export takes them: the primary framework's from
/// `report.objectives`, then each other framework's from `report.frameworks`.
#[derive(Debug, Clone)]
pub struct RunFramework<'a> {
    pub id: String,
    pub name: String,
    pub version: String,
    pub objectives: &'a [ObjectiveEntry],
}

/// Every framework the run mapped, the primary one first.
pub fn run_frameworks(report: &Report) -> Vec<RunFramework<'_>> {
    report
        .framework_views()
        .into_iter()
        .map(|v| RunFramework {
            id: v.info.id.clone(),
            name: v.info.name.clone(),
            version: v.info.version.clone(),
            objectives: v.objectives,
        })
        .collect()
}

/// The files `controlmap export oscal` writes, by name, with their contents.
#[derive(Debug)]
pub struct Export {
    pub files: Vec<(String, Vec<u8>)>,
}

/// The catalog file of a framework: `catalog-ID.json`.
pub fn catalog_file_name(framework_id: &str) -> String {
    format!("catalog-{}.json", token(framework_id))
}

/// The assessment-results file.
pub const RESULTS_FILE: &str = "assessment-results.json";

/// Builds every OSCAL document of `workspace` (its `report.json` with the current review
/// decisions applied) in memory: the catalogs `given` (`--catalog`), the built-in one when
/// the run mapped to it, and the assessment-results. Nothing is written, so a bad report
/// costs no half-written folder.
pub fn export(workspace: &Path, given: &[Catalog]) -> Result<Export> {
    let report = reviewed_report(workspace)?;
    let frameworks = run_frameworks(&report);
    // Each framework's catalog: one given with --catalog, else the built-in one of its ID,
    // else the file the run read it from, if it is still there.
    let builtins = crate::frameworks::builtins();
    let mut catalogs: Vec<Catalog> = Vec::new();
    for (f, v) in frameworks.iter().zip(report.framework_views()) {
        let found = given
            .iter()
            .find(|c| c.framework.id == f.id)
            .cloned()
            .or_else(|| {
                (v.info.source == crate::frameworks::BUILT_IN)
                    .then(|| builtins.iter().find(|b| b.id() == f.id))
                    .flatten()
                    .map(|b| b.catalog.clone())
            })
            .or_else(|| Catalog::load(Path::new(v.info.source.as_ref() as &str)).ok());
        match found {
            Some(c) => catalogs.push(c),
            None => messages::note(format_args!(
                "no catalog of {:?} was found: its findings are exported, its catalog is not \
                 (give it with --catalog FILE)",
                f.name
            )),
        }
    }
    for c in given {
        if !catalogs.iter().any(|k| k.framework.id == c.framework.id) {
            catalogs.push(c.clone());
        }
    }
    let modified = last_modified(&report, workspace);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut catalog_files = std::collections::BTreeMap::new();
    for catalog in &catalogs {
        let name = catalog_file_name(&catalog.framework.id);
        if files.iter().any(|(n, _)| *n == name) {
            continue; // the same framework given twice: the first one counts
        }
        let doc = catalog_out::catalog(catalog, &modified);
        files.push((name.clone(), to_bytes(&doc)?));
        catalog_files.insert(catalog.framework.name.clone(), name);
    }
    let sources = results_out::DocumentSources::read(&report, workspace);
    let results =
        results_out::assessment_results(&report, &frameworks, &catalog_files, &sources, &modified);
    files.push((RESULTS_FILE.to_string(), to_bytes(&results)?));
    Ok(Export { files })
}

/// Writes an export's files into `out` (made if missing), each whole; returns their paths.
pub fn write(export: &Export, out: &Path) -> Result<Vec<PathBuf>> {
    fs_err::create_dir_all(out)?;
    let mut written = Vec::new();
    for (name, bytes) in &export.files {
        let path = out.join(name);
        workspace::write_whole(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn to_bytes(doc: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// When the run finished (its `run_id` is that time), else when `report.json` was last
/// written: the documents' `last-modified`, stable from one export to the next.
fn last_modified(report: &Report, workspace: &Path) -> String {
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};
    let parsed = report
        .run_id
        .as_deref()
        .and_then(|r| OffsetDateTime::parse(r, &Rfc3339).ok())
        .or_else(|| {
            let meta = fs_err::metadata(workspace.join(workspace::REPORT_JSON)).ok()?;
            Some(OffsetDateTime::from(meta.modified().ok()?))
        })
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    parsed
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_oscal_tokens_and_keep_what_they_can() {
        assert_eq!(token("A.6.2.4"), "A.6.2.4");
        assert_eq!(token("GOVERN 1.1"), "GOVERN_1.1");
        assert_eq!(token("Art. 26(2)"), "Art._26_2");
        assert_eq!(token("1.2"), "_1.2");
        assert_eq!(token("(x)"), "x");
    }

    #[test]
    fn uuids_are_v5_and_stable() {
        let a = uuid_for(&["catalog", "iso42001"]);
        assert_eq!(a, uuid_for(&["catalog", "iso42001"]));
        assert_ne!(a, uuid_for(&["catalog", "iso4200", "1"]));
        assert_eq!(a.as_bytes()[14], b'5', "{a}");
    }

    #[test]
    fn props_are_single_lines_and_never_empty() {
        assert_eq!(prop("x", " a\n b ").unwrap()["value"], "a b");
        assert!(prop("x", "  ").is_none());
    }
}
