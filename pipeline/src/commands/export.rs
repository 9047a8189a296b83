//! `controlmap export oscal`: a workspace's catalogs and findings as OSCAL files
//! ([`crate::oscal`]). Every catalog and the report are read, and every document built,
//! before the first file is written, so bad input leaves the output folder as it was.

use std::io::Write;

use anyhow::Result;

use crate::{
    catalog::Catalog,
    cli::{Cli, ExportCommandArgs, ExportFormat, ExportOscalArgs},
    oscal, workspace,
};

pub fn run(args: &ExportCommandArgs, _cli: &Cli) -> Result<()> {
    match &args.format {
        ExportFormat::Oscal(a) => oscal_export(a),
    }
}

fn oscal_export(args: &ExportOscalArgs) -> Result<()> {
    let workspace = workspace::given_or_default(args.workspace.as_deref());
    let catalogs = args
        .catalog
        .iter()
        .map(|p| Catalog::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let export = oscal::export(&workspace, &catalogs)?;
    let written = oscal::write(&export, &args.out)?;
    let mut out = std::io::stdout().lock();
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(())
}
