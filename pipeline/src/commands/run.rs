//! `controlmap run`: the whole pipeline over a policy folder ([`crate::batch::run`]), then the
//! coverage table (or the report as JSON) on stdout.

use anyhow::Result;

use crate::{
    batch::{self, RunOptions, shard::ShardInput},
    cli::{Cli, RunArgs},
    frameworks::{Frameworks, Selection},
    messages::note,
    workspace,
};

pub fn run(args: &RunArgs, cli: &Cli) -> Result<()> {
    run_with(args, cli, None)
}

/// `run`, or with `shards` the merge of shards' files (`controlmap shard merge`): the same
/// options, outputs and exit codes.
pub fn run_with(args: &RunArgs, cli: &Cli, shards: Option<ShardInput>) -> Result<()> {
    // A wrong folder, or a decision store that cannot be read, should stop us before the
    // model loads.
    batch::check_policy_dir(&args.dir)?;
    let workspace = args
        .workspace
        .clone()
        .unwrap_or_else(|| workspace::default_for(&args.dir));
    crate::review::Store::check(&workspace)?;
    let frameworks = Frameworks::load(&Selection {
        frameworks: args.framework.clone(),
        catalogs: args.catalog.clone(),
        crosswalks: args.crosswalk.clone(),
    })?;
    // The model first: a missing model should stop us before minutes of parsing.
    let (model_dir, embedder, chosen) = args.model.load_noted()?;
    let opts = RunOptions {
        policy_dir: args.dir.clone(),
        workspace,
        frameworks,
        model_dir,
        parse: args.parse_options(),
        all_documents: args.all_documents,
        learn: args.learn.clone(),
        precision: Some(chosen.used),
        freshness: args.freshness.asked(),
        shards,
    };
    let written = batch::run(&opts, &embedder)?;
    super::report::print(&written, args.format, cli)?;
    let total = written
        .report
        .timings_s
        .as_ref()
        .map(|t| t.total)
        .unwrap_or_default();
    note(format_args!("done in {total:.1}s"));
    super::report::fail_on_gaps(&written.report, args.fail_on_gaps)
}
