//! `controlmap serve`: the web UI on a local address (see [`crate::serve`] for the pages and
//! the security model).

use std::time::Duration;

use anyhow::{Context, Result};

use crate::{
    cli::{Cli, ServeArgs},
    serve::{self, Access, Config, Limits},
    workspace,
};

pub fn run(args: &ServeArgs, cli: &Cli) -> Result<()> {
    let workspace = workspace::given_or_default(args.workspace.as_deref());
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
        precision: args.precision,
        limits: Limits {
            header_timeout: Duration::from_secs(args.header_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_connections: args.max_connections,
        },
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
    Ok(runtime.block_on(serve::serve(config, move |url| {
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
    }))?)
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
