//! `controlmap parse-worker FILE` (hidden): parses one file in this process and prints the
//! outcome as JSON on stdout, for [`crate::ingest::parse::contain`], which starts one such process
//! per PDF or DOCX and stops it at the time limit.

use anyhow::Result;

use crate::cli::ParseWorkerArgs;

/// For tests of containment: `hang:NAME`, `abort:NAME`, `alloc:NAME` or `alloc1500:NAME`
/// makes the worker hang, abort or ask for 6 GiB (more than any worker may have) or 1.5 GiB
/// on a file whose path contains NAME, as a parser might on a hostile file. Only with the
/// `test-aids` feature.
#[cfg(feature = "test-aids")]
const TEST_HOSTILE: &str = "CONTROLMAP_TEST_HOSTILE";

/// Caps the address space this worker may map (its share of the run's `--max-memory`): a PDF
/// or zip bomb fails here, as that file's failure, instead of taking the machine's memory
/// from the run.
#[cfg(target_os = "linux")]
fn limit_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else; on failure the worker
    // simply runs without the limit.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

#[cfg(not(target_os = "linux"))]
fn limit_memory(_bytes: u64) {}

pub fn run(args: &ParseWorkerArgs) -> Result<()> {
    limit_memory(args.address_space);
    // A panic's message goes into the failure reason; don't also print it.
    std::panic::set_hook(Box::new(|_| {}));
    #[cfg(feature = "test-aids")]
    act_hostile(args)?;
    let mut out = std::io::stdout().lock();
    let ocr = if args.no_ocr {
        crate::ingest::parse::Ocr::Off
    } else {
        crate::ingest::parse::Ocr::Auto
    };
    crate::ingest::parse::contain::worker_main(&args.file, ocr, &mut out)?;
    Ok(())
}

/// Behaves as [`TEST_HOSTILE`] asks, on a file it names.
#[cfg(feature = "test-aids")]
fn act_hostile(args: &ParseWorkerArgs) -> Result<()> {
    if let Ok(spec) = std::env::var(TEST_HOSTILE)
        && let Some((behaviour, name)) = spec.split_once(':')
        && args.file.to_string_lossy().contains(name)
    {
        match behaviour {
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            },
            "abort" => std::process::abort(),
            // Reserve (not touch) more than the limit: fails only when the limit holds.
            "alloc" | "alloc1500" => {
                let size = if behaviour == "alloc" {
                    6u64 << 30
                } else {
                    1500 << 20
                };
                let big: Vec<u8> = Vec::with_capacity(usize::try_from(size)?);
                std::hint::black_box(big);
            }
            _ => {}
        }
    }
    Ok(())
}
