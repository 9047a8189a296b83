//! Every output file of a workspace, made from its `report.json` and its review decisions:
//! `run` calls [`write_outputs`] once it has written `report.json`, and `controlmap report`
//! calls it alone, so both write the same files.

use std::path::{Path, PathBuf};

use super::{REPORT_SCHEMA_VERSION, documents::Asked, file::Report, html, register};
use crate::{
    error::Result,
    review::{Store, suggestions::ReviewWorkspace},
    workspace::{EVIDENCE_CSV, REPORT_HTML, REPORT_JSON, SOA_CSV, write_whole},
};

/// The report as written, and where.
#[derive(Debug)]
pub struct Written {
    pub report: Report,
    /// `report.json`, `report.html`, `evidence.csv`, `soa.csv`, in that order.
    pub files: Vec<PathBuf>,
}

/// The workspace's `report.json` with its current review decisions applied and its documents
/// judged as of today (or the day its run was given), at the current schema version: what
/// the outputs are made from, and what the web UI shows.
pub fn reviewed_report(workspace: &Path) -> Result<Report> {
    reviewed_report_as(workspace, &Asked::default())
}

/// [`reviewed_report`], its documents judged as `asked` says.
pub fn reviewed_report_as(workspace: &Path, asked: &Asked) -> Result<Report> {
    let mut report = Report::load(workspace)?;
    report.apply_freshness(asked);
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
pub fn render_outputs(report: &Report) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let json = report.to_json()?;
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

/// Applies the workspace's current review decisions to its `report.json`, judges its
/// documents as `asked` says, then writes
/// `report.json` (at the current schema version), `report.html`, `evidence.csv` and
/// `soa.csv` there. Each file is written whole or not at all.
pub fn write_outputs(workspace: &Path, asked: &Asked) -> Result<Written> {
    let report = reviewed_report_as(workspace, asked)?;
    let mut files = Vec::new();
    for (name, bytes) in render_outputs(&report)? {
        let path = workspace.join(name);
        write_whole(&path, &bytes)?;
        files.push(path);
    }
    Ok(Written { report, files })
}
