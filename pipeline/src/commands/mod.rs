//! The command line as a face over the library: one module per subcommand, each parsing its
//! arguments ([`crate::cli`]), calling the library and printing. Here: the dispatch, exit
//! codes, and what several commands share (loading the model, colour).

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::Parser;
use controlmap_models::{
    BertEmbedder, Embedder, EmbedderOptions, ModelSearch, Precision, locate_model,
};

use crate::{
    cli::{Cli, ColorChoice, Command, ModelArgs, ParseArgs, RunArgs},
    precision::{self, Chosen},
};

pub mod embed;
pub mod eval;
pub mod export;
pub mod parse_worker;
pub mod report;
pub mod review;
pub mod run;
pub mod search;
pub mod serve;
pub mod shard;
pub mod tune;

/// The work is done, with findings the user asked to fail on (`--fail-on-gaps`): exit code 1,
/// where an error is 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Findings(pub String);

/// Exit codes: 0 done, 1 done with findings the user asked to fail on (`--fail-on-gaps`),
/// 2 error (usage errors are clap's 2 as well).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        controlmap_models::set_cpu_threads(n);
    }
    crate::messages::set_quiet(cli.quiet);
    let result = match &cli.command {
        Command::Run(args) => run::run(args, &cli),
        Command::Search(args) => search::run(args, &cli),
        Command::Eval(args) => eval::run(args, &cli),
        Command::Embed(args) => embed::run(args, &cli),
        Command::Export(args) => export::run(args, &cli),
        Command::Report(args) => report::run(args, &cli),
        Command::Review(args) => review::run(args, &cli),
        Command::Serve(args) => serve::run(args, &cli),
        Command::Tune(args) => tune::run(args, &cli),
        Command::Shard(args) => shard::run(args, &cli),
        Command::ParseWorker(args) => parse_worker::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(findings) = e.downcast_ref::<Findings>() {
                eprintln!("{findings}");
                return ExitCode::from(1);
            }
            let broken_pipe = e
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                || e.downcast_ref::<crate::Error>()
                    .is_some_and(crate::Error::is_broken_pipe);
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

impl ModelArgs {
    /// The model directory found from `dir` (see [`locate_model`]).
    pub fn locate(&self) -> anyhow::Result<PathBuf> {
        Ok(locate_model(&ModelSearch::from_env(self.dir.clone()))?)
    }

    /// The model found from `dir`, loaded on `device` in the precision `precision` means for
    /// it (`auto`: [`crate::precision::auto`]).
    pub fn load(&self) -> anyhow::Result<(BertEmbedder, Chosen)> {
        self.load_from(&self.locate()?, None)
    }

    /// The model found as the arguments say, loaded for a command that embeds a folder, with
    /// a note of which model, where, and in what precision and why.
    pub fn load_noted(&self) -> anyhow::Result<(PathBuf, BertEmbedder, Chosen)> {
        let model_dir = self.locate()?;
        let (embedder, chosen) = self.load_from(&model_dir, None)?;
        crate::messages::note(format_args!(
            "model: {} on {:?}; precision {} ({}: {})",
            embedder.model_id(),
            embedder.device(),
            chosen.precision,
            chosen.used.chosen_by,
            chosen.used.why
        ));
        Ok((model_dir, embedder, chosen))
    }

    /// The model in `model_dir`, loaded on `device` in the precision `precision` means for it;
    /// `workspace`: the precision of vectors this command must match, which `auto` follows.
    pub fn load_from(
        &self,
        model_dir: &std::path::Path,
        workspace: Option<Precision>,
    ) -> anyhow::Result<(BertEmbedder, Chosen)> {
        let chosen = precision::resolve(self.precision, model_dir, self.device, workspace);
        let embedder = BertEmbedder::load_with(
            model_dir,
            EmbedderOptions {
                device: self.device,
                precision: chosen.precision,
                ..Default::default()
            },
        )?;
        Ok((embedder, chosen))
    }
}

impl RunArgs {
    /// How `run` reads files.
    pub fn parse_options(&self) -> crate::ingest::parse::ParseOptions {
        self.parse.options()
    }
}

impl ParseArgs {
    /// How files are read: the limits given, and PDF/DOCX in worker processes of this same
    /// program.
    pub fn options(&self) -> crate::ingest::parse::ParseOptions {
        crate::ingest::parse::ParseOptions {
            max_bytes: self.max_file_size,
            timeout: (self.parse_timeout > 0)
                .then(|| std::time::Duration::from_secs(self.parse_timeout)),
            worker: std::env::current_exe().ok(),
            worker_memory: crate::ingest::parse::contain::WorkerMemory::share(
                self.max_memory
                    .unwrap_or_else(crate::ingest::parse::contain::WorkerMemory::default_total),
                rayon::current_num_threads(),
            ),
            ocr: if self.no_ocr {
                crate::ingest::parse::Ocr::Off
            } else {
                crate::ingest::parse::Ocr::Auto
            },
        }
    }
}

impl ColorChoice {
    /// Colour stdout? `auto` means: a terminal, and `NO_COLOR` unset.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}
