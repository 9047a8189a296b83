//! Every output file of a workspace, made from its `report.json` and its review decisions:
//! `run` calls [`write_outputs`] once it has written `report.json`, and `controlmap report`
//! calls it alone, so both write the same files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{REPORT_SCHEMA_VERSION, coverage::ReportFile, html, register};
use crate::review::{Store, suggestions::ReviewWorkspace};

pub const REPORT_JSON: &str = "report.json";
pub const REPORT_HTML: &str = "report.html";
pub const EVIDENCE_CSV: &str = "evidence.csv";
pub const SOA_CSV: &str = "soa.csv";

/// The report as written, and where.
#[derive(Debug)]
pub struct Written {
    pub report: ReportFile,
    /// `report.json`, `report.html`, `evidence.csv`, `soa.csv`, in that order.
    pub files: Vec<PathBuf>,
}

/// Reads `report.json` from `workspace`.
pub fn read_report(workspace: &Path) -> Result<ReportFile> {
    let path = workspace.join(REPORT_JSON);
    if !path.is_file() {
        bail!(
            "{} has no report; run `controlmap run POLICY_DIR --workspace {}` first",
            workspace.display(),
            workspace.display()
        );
    }
    let text = fs_err::read_to_string(&path)?;
    let report: ReportFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a report controlmap can read; run `controlmap run` again to rewrite it",
            path.display()
        )
    })?;
    if report.schema_version > REPORT_SCHEMA_VERSION {
        bail!(
            "{} has schema version {}, newer than the {REPORT_SCHEMA_VERSION} this controlmap \
             knows; use a newer controlmap",
            path.display(),
            report.schema_version
        );
    }
    Ok(report)
}

/// The workspace's `report.json` with its current review decisions applied, at the current
/// schema version: what the outputs are made from, and what the web UI shows.
pub fn reviewed_report(workspace: &Path) -> Result<ReportFile> {
    let mut report = read_report(workspace)?;
    match Store::open_if_exists(workspace)? {
        Some(store) => {
            let current = store.current_decisions()?;
            let not_applicable = store.not_applicable()?;
            let items = ReviewWorkspace::load(workspace)?.items(&current);
            report.apply_review(&items, &not_applicable);
        }
        None => report.apply_review(&[], &Default::default()),
    }
    report.schema_version = REPORT_SCHEMA_VERSION;
    Ok(report)
}

/// Every output file's name and contents, made from a reviewed report: `report.json`,
/// `report.html`, `evidence.csv`, `soa.csv`, in that order.
pub fn render_outputs(report: &ReportFile) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(report)?;
    json.push(b'\n');
    let html = html::render(report);
    let mut evidence = Vec::new();
    register::write_evidence(report, &mut evidence)?;
    let mut soa = Vec::new();
    register::write_soa(report, &mut soa)?;
    Ok(vec![
        (REPORT_JSON, json),
        (REPORT_HTML, html.into_bytes()),
        (EVIDENCE_CSV, evidence),
        (SOA_CSV, soa),
    ])
}

/// Applies the workspace's current review decisions to its `report.json`, then writes
/// `report.json` (at the current schema version), `report.html`, `evidence.csv` and
/// `soa.csv` there. Each file is written whole or not at all.
pub fn write_outputs(workspace: &Path) -> Result<Written> {
    let report = reviewed_report(workspace)?;
    let mut files = Vec::new();
    for (name, bytes) in render_outputs(&report)? {
        let path = workspace.join(name);
        write_whole(&path, &bytes)?;
        files.push(path);
    }
    Ok(Written { report, files })
}

/// Writes a file beside its destination, then renames it into place.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs_err::write(&tmp, bytes)?;
    fs_err::rename(&tmp, path)?;
    Ok(())
}
