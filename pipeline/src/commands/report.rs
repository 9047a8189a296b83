//! `controlmap report`: every output written again from a workspace's `report.json` and its
//! current review decisions, without re-running the pipeline. `run` ends with the same
//! [`print()`] and [`fail_on_gaps`].

use std::io::Write;

use anyhow::Result;

use super::Findings;
use crate::{
    cli::{Cli, Format, ReportArgs},
    report::{Report, Written, write_outputs},
    workspace,
};

pub fn run(args: &ReportArgs, cli: &Cli) -> Result<()> {
    let workspace = workspace::given_or_default(args.workspace.as_deref());
    let written = write_outputs(&workspace, &args.freshness.asked())?;
    print(&written, args.format, cli)?;
    fail_on_gaps(&written.report, args.fail_on_gaps)
}

/// The report on stdout: the coverage table and where the files are, or the JSON report.
pub fn print(written: &Written, format: Format, cli: &Cli) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &written.report)?;
            writeln!(out)?;
        }
        Format::Text => {
            written.report.write_text(&mut out, cli.color.enabled())?;
            for f in &written.files {
                writeln!(out, "report: {}", f.display())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// With `--fail-on-gaps`, [`Findings`] (exit code 1) when a control is a gap.
pub fn fail_on_gaps(report: &Report, fail: bool) -> Result<()> {
    let gaps = report.gaps();
    if !fail || gaps.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = gaps.iter().map(|c| c.id.as_str()).collect();
    Err(Findings(format!(
        "{} control{} without evidence: {} (--fail-on-gaps)",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", ")
    ))
    .into())
}
