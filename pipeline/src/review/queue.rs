//! The interactive review queue on a terminal.

use std::path::Path;

use anyhow::Result;

/// Runs the queue on the terminal until the reviewer quits.
pub fn run(_workspace: &Path, _reviewer: &str, _color: bool) -> Result<()> {
    anyhow::bail!("the interactive queue is not built yet; use `controlmap review list`")
}
