//! Progress and notes for people, on stderr. Library code reports through here and never
//! prints; the face sets [`set_quiet`] once from `--quiet` (the web server and tests leave it
//! as they need).

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// No notes and no progress bars from now on (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether notes and bars are hidden.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A line for people on stderr, unless quiet.
pub fn note(msg: std::fmt::Arguments) {
    if !quiet() {
        eprintln!("{msg}");
    }
}

/// A progress bar of `len` steps named `what` on stderr (hidden when quiet; indicatif hides it
/// too when stderr is not a terminal).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if quiet() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}
