//! The coverage report: what `run` writes to `report.json` and prints as a table.

use std::io::{self, Write};

use serde::Serialize;

use crate::map::{Status, Thresholds};

/// Version of the `report.json` layout; bumped on any incompatible change.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub policy_folder: String,
    pub workspace: String,
    pub model: String,
    pub catalog: String,
    pub thresholds: Thresholds,
    pub files: FileCounts,
    pub summary: StatusCounts,
    pub objectives: Vec<ObjectiveReport>,
    /// Every file the walk found and what became of it.
    pub file_outcomes: Vec<FileOutcome>,
    pub timings_s: Timings,
}

#[derive(Debug, Default, Serialize)]
pub struct FileCounts {
    pub found: usize,
    pub parsed: usize,
    /// Parsed in an earlier run and unchanged since: passages and vectors reused.
    pub unchanged: usize,
    pub skipped: usize,
    pub failed: usize,
    pub passages: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct StatusCounts {
    pub evidence: usize,
    pub weak: usize,
    pub gap: usize,
}

#[derive(Debug, Serialize)]
pub struct ObjectiveReport {
    pub id: String,
    pub title: String,
    pub controls: Vec<ControlReport>,
}

#[derive(Debug, Serialize)]
pub struct ControlReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// Highest passage score for this control (cosine similarity).
    pub best_score: f32,
    /// The best passages, highest first (at most five, each at or above the weak threshold).
    pub evidence: Vec<EvidenceItem>,
}

#[derive(Debug, Serialize)]
pub struct EvidenceItem {
    pub passage_id: u64,
    pub content_hash: String,
    pub document: String,
    pub heading: String,
    pub page: Option<u32>,
    pub score: f32,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct FileOutcome {
    pub path: String,
    /// `parsed`, `unchanged`, `skipped` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passages: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Timings {
    pub load_model: f64,
    pub parse: f64,
    pub embed: f64,
    pub index: f64,
    pub map: f64,
    pub total: f64,
}

fn paint(s: &str, status: Status, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match status {
        Status::Evidence => "32",
        Status::Weak => "33",
        Status::Gap => "31;1",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

impl Report {
    /// The coverage table, grouped by objective, with the best passage of each control.
    pub fn write_text(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        for o in &self.objectives {
            writeln!(out, "{}  {}", o.id, o.title)?;
            for c in &o.controls {
                let status = format!("{:<8}", c.status.label());
                let best = c
                    .evidence
                    .first()
                    .map(|e| {
                        let page = e.page.map(|p| format!(" p.{p}")).unwrap_or_default();
                        let heading = e.heading.rsplit(" › ").next().unwrap_or_default();
                        clip(&format!("{}{page} › {heading}", e.document), 60)
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  {:<8} {:<46} {} {:>5.2}  {}",
                    c.id,
                    clip(&c.title, 46),
                    paint(&status, c.status, color),
                    c.best_score,
                    best
                )?;
            }
        }
        let f = &self.files;
        let s = &self.summary;
        writeln!(out)?;
        writeln!(
            out,
            "{} controls: {} with evidence, {} weak, {} gaps",
            s.evidence + s.weak + s.gap,
            s.evidence,
            s.weak,
            s.gap
        )?;
        writeln!(
            out,
            "{} files: {} parsed, {} unchanged ({} passages), {} skipped, {} failed",
            f.found, f.parsed, f.unchanged, f.passages, f.skipped, f.failed
        )?;
        Ok(())
    }
}
