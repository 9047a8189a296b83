//! Containment: one hostile file must cost one outcome, never the batch. A parser panic
//! becomes a failure ([`super::parse_bytes`] catches it); a parse that runs past the time
//! limit is abandoned. In the `controlmap` binary, PDF and DOCX (large parsers facing
//! binary input) run in a worker process, `controlmap parse-worker FILE`, which is killed
//! at the limit, so an endless loop, a stack overflow or an abort costs only that file.
//! Elsewhere (unit tests, other programs using the library) everything runs in this
//! process, and a parse past the limit is left running on its own thread.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use super::{Document, Format, HEAD_BYTES, NotParsed, Ocr, detect, parse_bytes_with};

/// Time one file's parse may take by default (`--parse-timeout`).
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// The hidden subcommand a worker process runs.
pub const WORKER_SUBCOMMAND: &str = "parse-worker";

/// How to read files: size and time limits, and where risky formats run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Larger files are skipped without being read.
    pub max_bytes: u64,
    /// A parse that takes longer fails; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// A program that understands `parse-worker FILE` (the `controlmap` binary); every
    /// format but plain text runs in it when set.
    pub worker: Option<PathBuf>,
    /// How `--max-memory` is shared among the workers: each gets an equal share, and only as
    /// many run at once as the total allows.
    pub worker_memory: WorkerMemory,
    /// Whether scanned pages are read (`--no-ocr` turns it off).
    pub ocr: Ocr,
}

/// How the run's memory is shared among its worker processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerMemory {
    /// The address space one worker may map: a PDF or zip bomb fails there, as that file's
    /// failure.
    pub per_worker: u64,
    /// How many workers may run at once.
    pub at_once: usize,
}

/// One worker's share never exceeds this: no real policy needs more to parse.
pub const MAX_PER_WORKER: u64 = 4 << 30;

/// Nor falls below this, which a large ordinary PDF can need; with a small `--max-memory`
/// fewer workers run at once instead.
pub const MIN_PER_WORKER: u64 = 1 << 30;

impl WorkerMemory {
    /// `total` shared among `threads` workers at most.
    pub fn share(total: u64, threads: usize) -> Self {
        let per_worker = (total / threads.max(1) as u64).clamp(MIN_PER_WORKER, MAX_PER_WORKER);
        let at_once = usize::try_from(total / per_worker)
            .unwrap_or(usize::MAX)
            .clamp(1, threads.max(1));
        WorkerMemory {
            per_worker,
            at_once,
        }
    }

    /// The default total: a quarter of the machine's memory (8 GiB when it cannot be read).
    pub fn default_total() -> u64 {
        physical_memory().map_or(8 << 30, |m| m / 4)
    }
}

impl Default for WorkerMemory {
    fn default() -> Self {
        Self::share(Self::default_total(), rayon::current_num_threads())
    }
}

/// The machine's memory in bytes, from /proc/meminfo.
fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Workers running now, against [`WorkerMemory::at_once`].
static RUNNING: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// A place among the workers allowed to run at once, held while one runs.
struct Slot;

impl Slot {
    fn take(at_once: usize) -> Slot {
        let (lock, freed) = &RUNNING;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= at_once {
            running = freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (lock, freed) = &RUNNING;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_bytes: super::DEFAULT_MAX_BYTES,
            timeout: Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS)),
            worker: None,
            worker_memory: WorkerMemory::default(),
            ocr: Ocr::Auto,
        }
    }
}

/// Reads and parses one file under `opts`' limits.
pub fn parse_file_with(path: &Path, opts: &ParseOptions) -> Result<Document, NotParsed> {
    let cannot_read = |e: std::io::Error| NotParsed::Failed(format!("cannot read: {e}"));
    let meta = fs_err::metadata(path).map_err(cannot_read)?;
    if meta.len() > opts.max_bytes {
        return Err(NotParsed::Skipped(format!(
            "too large ({} bytes; the limit is {}, see --max-file-size)",
            meta.len(),
            opts.max_bytes
        )));
    }
    if let Some(worker) = &opts.worker {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        fs_err::File::open(path)
            .and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head))
            .map_err(cannot_read)?;
        if let Some(format) = risky_format(path, &head) {
            let _slot = Slot::take(opts.worker_memory.at_once);
            return run_worker(worker, path, format, opts);
        }
    }
    let bytes = fs_err::read(path).map_err(cannot_read)?;
    match opts.timeout {
        None => parse_bytes_with(path, &bytes, opts.ocr),
        Some(limit) => parse_on_thread(path.to_path_buf(), bytes, limit, opts.ocr),
    }
}

/// The format a worker should parse, for files that look like PDF or DOCX (or a zip,
/// which may be a DOCX under another name) by content or by name.
fn risky_format(path: &Path, head: &[u8]) -> Option<Format> {
    match detect(path, head) {
        Ok(f) if f.is_risky() => Some(f),
        _ if head.starts_with(b"PK\x03\x04") => Some(Format::Docx),
        _ => None,
    }
}

fn time_limit_exceeded(limit: Duration) -> NotParsed {
    NotParsed::Failed(format!(
        "parse time limit exceeded ({} s, see --parse-timeout)",
        limit.as_secs_f64()
    ))
}

/// Runs [`parse_bytes`] on its own thread and waits at most `limit`. A parse past the limit
/// keeps its thread (Rust cannot stop one) but the caller moves on.
fn parse_on_thread(
    path: PathBuf,
    bytes: Vec<u8>,
    limit: Duration,
    ocr: Ocr,
) -> Result<Document, NotParsed> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("parse".into())
        .spawn(move || {
            let _ = tx.send(parse_bytes_with(&path, &bytes, ocr));
        });
    if let Err(e) = spawned {
        return Err(NotParsed::Failed(format!(
            "cannot start a parser thread: {e}"
        )));
    }
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(time_limit_exceeded(limit)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(NotParsed::Failed(
            "the parser thread ended without a result".into(),
        )),
    }
}

/// Parses `path` in a `worker parse-worker PATH` process, with its share of memory, killed
/// after the time limit.
fn run_worker(
    worker: &Path,
    path: &Path,
    format: Format,
    opts: &ParseOptions,
) -> Result<Document, NotParsed> {
    let limit = opts.timeout;
    let mut command = Command::new(worker);
    command
        .arg(WORKER_SUBCOMMAND)
        .arg(path)
        .arg("--address-space")
        .arg(opts.worker_memory.per_worker.to_string())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if opts.ocr == Ocr::Off {
        command.arg("--no-ocr");
    }
    // The worker leads its own process group, so that stopping it at the time limit also
    // stops what it started (Tesseract and pdftoppm, for a scan).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|e| {
        NotParsed::Failed(format!(
            "cannot start a parser process ({}): {e}",
            worker.display()
        ))
    })?;
    // Drain both pipes while waiting, so a large document never blocks the worker.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                return Err(NotParsed::Failed(format!(
                    "cannot wait for the parser process: {e}"
                )));
            }
        }
        if let Some(limit) = limit
            && started.elapsed() >= limit
        {
            kill_group(&mut child);
            let _ = child.wait();
            return Err(time_limit_exceeded(limit));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if status.success()
        && let Ok(result) = serde_json::from_slice::<Result<Document, NotParsed>>(&out)
    {
        return result;
    }
    // The first line says what happened ("memory allocation of … failed", "thread 'main'
    // has overflowed its stack"); any backtrace follows it.
    let mut last_words = String::from_utf8_lossy(&err)
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", super::normalise_space(l)))
        .unwrap_or_default();
    if last_words.contains("memory allocation") {
        last_words.push_str(&format!(
            "; one file may use {} MiB, see --max-memory",
            opts.worker_memory.per_worker >> 20
        ));
    }
    Err(NotParsed::Failed(format!(
        "the {format} parser crashed on this file ({}{last_words})",
        describe_exit(status)
    )))
}

/// Kills the worker and every process in its group.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill takes a process group ID and a signal number and touches no memory;
        // the group is the worker's own (process_group(0) above), so nothing else is hit.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => " (abort)",
                9 => " (killed, perhaps out of memory)",
                11 => " (segmentation fault)",
                _ => "",
            };
            return format!("parser process ended by signal {sig}{name}");
        }
    }
    match status.code() {
        Some(c) => format!("parser process exited with status {c}"),
        None => "parser process ended abnormally".into(),
    }
}

/// What `controlmap parse-worker FILE` does: parse in this process, answer as JSON.
pub fn worker_main(path: &Path, ocr: Ocr, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let result = fs_err::read(path)
        .map_err(|e| NotParsed::Failed(format!("cannot read: {e}")))
        .and_then(|bytes| parse_bytes_with(path, &bytes, ocr));
    serde_json::to_writer(&mut *out, &result)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_process_parses_under_the_limit_and_gives_up_past_it() {
        let t = tempfile::tempdir().unwrap();
        let md = t.path().join("a.md");
        std::fs::write(&md, "# T\n\nBody.").unwrap();
        let opts = ParseOptions::default();
        assert_eq!(parse_file_with(&md, &opts).unwrap().title, "T");

        // A limit of zero cannot be met by any parse.
        let zero = ParseOptions {
            timeout: Some(Duration::ZERO),
            ..ParseOptions::default()
        };
        let big = t.path().join("big.txt");
        std::fs::write(&big, "word ".repeat(2_000_000)).unwrap();
        assert!(
            matches!(parse_file_with(&big, &zero), Err(NotParsed::Failed(r)) if r.starts_with("parse time limit exceeded (0 s"))
        );
    }

    #[test]
    fn size_limit_applies_before_reading() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a.txt");
        std::fs::write(&f, "0123456789").unwrap();
        let opts = ParseOptions {
            max_bytes: 5,
            ..ParseOptions::default()
        };
        assert!(
            matches!(parse_file_with(&f, &opts), Err(NotParsed::Skipped(r)) if r.contains("too large (10 bytes"))
        );
        assert!(matches!(
            parse_file_with(&t.path().join("missing.txt"), &opts),
            Err(NotParsed::Failed(r)) if r.contains("cannot read") && r.contains("missing.txt")
        ));
    }

    #[test]
    fn a_missing_worker_program_is_a_failure_not_a_crash() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a.pdf");
        std::fs::write(&f, "%PDF-1.4\n").unwrap();
        let opts = ParseOptions {
            worker: Some(t.path().join("no-such-program")),
            ..ParseOptions::default()
        };
        assert!(
            matches!(parse_file_with(&f, &opts), Err(NotParsed::Failed(r)) if r.contains("cannot start a parser process"))
        );
    }

    #[test]
    fn the_run_s_memory_is_shared_among_its_workers() {
        const G: u64 = 1 << 30;
        // Sixteen threads and 32 GiB: 2 GiB each, sixteen at once (the run's total holds).
        assert_eq!(
            WorkerMemory::share(32 * G, 16),
            WorkerMemory {
                per_worker: 2 * G,
                at_once: 16
            }
        );
        // A small total: the floor per worker, and fewer at once so the total still holds.
        let small = WorkerMemory::share(3 * G, 16);
        assert_eq!(small.per_worker, MIN_PER_WORKER);
        assert_eq!(small.at_once, 3);
        assert!(small.per_worker * small.at_once as u64 <= 3 * G);
        // A large one: never more than the ceiling each.
        assert_eq!(WorkerMemory::share(512 * G, 2).per_worker, MAX_PER_WORKER);
        assert_eq!(WorkerMemory::share(G / 2, 2).at_once, 1);
    }

    #[test]
    fn worker_answers_json_that_reads_back() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a.md");
        std::fs::write(&f, "# T\n\nBody.").unwrap();
        let mut out = Vec::new();
        worker_main(&f, Ocr::Auto, &mut out).unwrap();
        let back: Result<Document, NotParsed> = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.unwrap().blocks[0].text, "Body.");
    }
}
