//! `controlmap parse-worker FILE` (hidden): parses one file in this process and prints the
//! outcome as JSON on stdout, for [`crate::parse::contain`], which starts one such process
//! per PDF or DOCX and stops it at the time limit.

use anyhow::Result;

use crate::cli::ParseWorkerArgs;

/// For tests of containment: `hang:NAME` or `abort:NAME` makes the worker hang or abort on
/// a file whose path contains NAME, as a parser might on a hostile file.
const TEST_HOSTILE: &str = "CONTROLMAP_TEST_HOSTILE";

pub fn run(args: &ParseWorkerArgs) -> Result<()> {
    // A panic's message goes into the failure reason; don't also print it.
    std::panic::set_hook(Box::new(|_| {}));
    if let Ok(spec) = std::env::var(TEST_HOSTILE)
        && let Some((behaviour, name)) = spec.split_once(':')
        && args.file.to_string_lossy().contains(name)
    {
        match behaviour {
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            },
            "abort" => std::process::abort(),
            _ => {}
        }
    }
    let mut out = std::io::stdout().lock();
    crate::parse::contain::worker_main(&args.file, &mut out)?;
    Ok(())
}
