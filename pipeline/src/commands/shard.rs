//! `controlmap shard plan|work|merge`: a run split over machines ([`crate::batch::shard`]).
//! `scripts/ray-run` calls these on a Ray cluster; they work as well by hand or from any
//! other scheduler.

use anyhow::Result;

use crate::{
    batch::shard::{self, ShardInput},
    cli::{Cli, ShardCommand},
    messages::note,
};

pub fn run(cmd: &ShardCommand, cli: &Cli) -> Result<()> {
    match cmd {
        ShardCommand::Plan { dir, shards, out } => {
            let plan = shard::plan(dir, *shards, out)?;
            let files: usize = plan.shards.iter().map(|s| s.count).sum();
            note(format_args!(
                "{} files in {} shards: {}",
                files,
                plan.shards.len(),
                out.join(shard::PLAN_FILE).display()
            ));
            println!("{}", serde_json::to_string(&plan)?);
            Ok(())
        }
        ShardCommand::Work(args) => {
            let (_, embedder, _) = args.model.load_noted()?;
            let worked = shard::work(
                &args.dir,
                &args.files,
                &args.out,
                &embedder,
                &args.parse.options(),
            )?;
            note(format_args!(
                "{}: {} files ({} failed), {} passages",
                args.out.display(),
                worked.files,
                worked.failed,
                worked.passages
            ));
            Ok(())
        }
        ShardCommand::Merge(args) => super::run::run_with(
            &args.run,
            cli,
            Some(ShardInput {
                plan: args.plan.clone(),
                shards: args.shards.clone(),
            }),
        ),
    }
}
