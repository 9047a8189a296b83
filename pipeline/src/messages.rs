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
        // A note names files and quotes their text: never let those drive the terminal.
        eprintln!("{}", printable(&msg.to_string()));
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

/// Text from files, passages and the store as it may be printed to a terminal: control
/// characters (C0, DEL, C1; an escape sequence starts with one) are shown as `\x1b` and the
/// like, so that a file name or a passage cannot move the cursor, recolour or retitle the
/// analyst's terminal. Line breaks and tabs become spaces.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| c.is_control();
    if !s.contains(is_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn terminal_escape_sequences_in_text_are_shown_not_obeyed() {
        let hostile = "policy\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m.md";
        let shown = super::printable(hostile);
        assert!(!shown.contains(|c: char| c.is_control()), "{shown:?}");
        assert_eq!(shown, "policy\\x1b]0;owned\\x07\\x1b[2J\\x9b31m.md");
        assert_eq!(super::printable("plain – text"), "plain – text");
    }
}
