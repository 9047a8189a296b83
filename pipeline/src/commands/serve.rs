//! `controlmap serve`: the web UI on a local address (see [`crate::serve`] for the pages and
//! the security model).

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context, Result};
use controlmap_models::DeviceChoice;

use crate::{
    cli::Cli,
    serve::{self, Access, Config},
};

/// Serve the web UI: coverage, controls and their evidence, the review queue, search,
/// documents and the exports, for a workspace `controlmap run` wrote.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// Address to listen on. Loopback needs no token; any other address needs --token or
    /// --tokens-file. Port 0 picks a free port (the URL is printed on stdout).
    #[arg(long, default_value = serve::DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// An access token every request must carry (`Authorization: Bearer TOKEN`, or open
    /// /login?token=TOKEN once for a cookie); at least 16 characters.
    #[arg(
        long,
        env = "CONTROLMAP_TOKEN",
        conflicts_with = "tokens_file",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A file of per-reviewer tokens, one `name:token` a line; each decision records the
    /// name of the token it came with.
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,

    /// Show the pages without any action, and refuse every change (for auditors).
    #[arg(long)]
    pub read_only: bool,

    /// Who decisions are recorded for, without a tokens file [default: $CONTROLMAP_REVIEWER,
    /// then the operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,

    /// Open the UI in the default browser once the server listens.
    #[arg(long)]
    pub open: bool,

    /// Model directory for search (must be the model the workspace was built with).
    #[arg(long)]
    pub model: Option<PathBuf>,

    /// Where the search model runs: auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

pub fn run(args: &ServeArgs, cli: &Cli) -> Result<()> {
    let workspace = args
        .workspace
        .clone()
        .unwrap_or_else(|| PathBuf::from(".controlmap"));
    let access = match (&args.token, &args.tokens_file) {
        (Some(t), _) => {
            serve::auth_check_token(t).context("--token")?;
            let who = args
                .reviewer
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(crate::review::default_reviewer);
            Access::Tokens(vec![(who, t.clone())])
        }
        (None, Some(f)) => Access::Tokens(serve::load_tokens(f)?),
        (None, None) => Access::Open,
    };
    let config = Config {
        workspace,
        bind: args.bind,
        access,
        read_only: args.read_only,
        reviewer: args
            .reviewer
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(crate::review::default_reviewer),
        model: args.model.clone(),
        device: args.device,
    };
    config.check()?;
    let login = args.token.clone();
    let open = args.open;
    let quiet = cli.quiet;
    let read_only = args.read_only;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(serve::serve(config, move |url| {
        if !quiet {
            eprintln!(
                "serving {url}{}; Ctrl-C stops",
                if read_only { " (read-only)" } else { "" }
            );
        }
        if open {
            let target = match &login {
                Some(t) => format!("{url}login?token={t}"),
                None => url.to_string(),
            };
            open_browser(&target, quiet);
        }
    }))
}

/// Best effort: `xdg-open` (or `open` on macOS); a note if neither works.
fn open_browser(url: &str, quiet: bool) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let started = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if started.is_err() && !quiet {
        eprintln!("note: could not start {opener}; open {url} in a browser");
    }
}
