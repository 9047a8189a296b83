//! The interactive review queue on a terminal (`controlmap review` with no subcommand): one
//! suggestion at a time, most useful first (high-confidence suggestions for controls that
//! nobody has accepted evidence for, and that the mapper found weak or missing), with the
//! passage, its document, page, heading and the mapper's rationale.
//!
//! Keys: `a` accept, `r` reject, `c` comment (for the next verdict), `s` skip, `u` undo the
//! last verdict of this session, `q`, Esc or Ctrl-C quit. Each verdict is committed to the
//! store the moment its key is pressed, so quitting, Ctrl-C or a dropped SSH connection loses
//! none. An undo is a new record too (the history keeps both). Plain text under `NO_COLOR`
//! or `--color never`; only the basic terminal features, so it works over SSH and in tmux.

use std::{
    collections::HashSet,
    io::{Write, stdout},
    path::Path,
};

use anyhow::Result;
use crossterm::{
    cursor,
    event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers},
    execute, queue,
    style::{Attribute, Print, SetAttribute},
    terminal::{self, ClearType},
};

use crate::{
    ingest::chunk::{clip, place},
    messages::printable,
    review::{
        Decision, Store, Verdict,
        decide::{item_records, undo_records},
        order::{covered_controls, ordered_items},
        suggestions::{Item, ReviewWorkspace, Status},
    },
};

/// Restores the terminal however the queue ends (return, error or panic).
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(stdout(), cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

/// One verdict of this session, for undo: the pairs it decided and what each was before.
struct Step {
    item: usize,
    before: Vec<((String, String), Option<Decision>)>,
}

struct Queue {
    ws: ReviewWorkspace,
    store: Store,
    reviewer: String,
    items: Vec<Item>,
    /// Controls with evidence a reviewer accepted.
    covered: HashSet<String>,
    /// What this session decided on each item.
    done: Vec<Option<&'static str>>,
    pos: usize,
    comment: Option<String>,
    undo: Vec<Step>,
    message: String,
    color: bool,
}

/// Runs the queue on the terminal until the reviewer quits.
pub fn run(workspace: &Path, reviewer: &str, color: bool) -> Result<()> {
    let ws = ReviewWorkspace::load(workspace)?;
    let store = Store::open(workspace)?;
    let covered = covered_controls(&ws, &store.current_decisions()?);
    let items = ordered_items(&ws, &store)?;
    let n = items.len();
    let mut q = Queue {
        ws,
        store,
        reviewer: reviewer.to_string(),
        items,
        covered,
        done: vec![None; n],
        pos: 0,
        comment: None,
        undo: Vec::new(),
        message: String::new(),
        color,
    };
    let _guard = TerminalGuard::enter()?;
    q.main_loop()
}

impl Queue {
    fn main_loop(&mut self) -> Result<()> {
        loop {
            self.draw()?;
            let Event::Key(key) = event::read()? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if is_quit(&key) {
                return Ok(());
            }
            self.message.clear();
            match key.code {
                KeyCode::Char('a') => self.decide(Verdict::Accepted)?,
                KeyCode::Char('r') => self.decide(Verdict::Rejected)?,
                KeyCode::Char('s') | KeyCode::Right | KeyCode::Char('n') => self.advance(true),
                KeyCode::Left | KeyCode::Char('p') => self.back(),
                KeyCode::Char('u') => self.undo()?,
                KeyCode::Char('c') => {
                    if self.pos < self.items.len() {
                        self.read_comment()?;
                    }
                }
                _ => {
                    self.message =
                        "keys: a accept  r reject  c comment  s skip  u undo  q quit".into()
                }
            }
        }
    }

    /// Moves to the next item this session has not decided (past the end: the end).
    fn advance(&mut self, skip_current: bool) {
        let start = if skip_current { self.pos + 1 } else { self.pos };
        self.pos = (start..self.items.len())
            .find(|&i| self.done[i].is_none())
            .unwrap_or(self.items.len());
        self.comment = None;
    }

    fn back(&mut self) {
        if let Some(i) = (0..self.pos).rev().find(|&i| self.done[i].is_none()) {
            self.pos = i;
            self.comment = None;
        }
    }

    fn decide(&mut self, verdict: Verdict) -> Result<()> {
        let Some(item) = self.items.get(self.pos) else {
            return Ok(());
        };
        let current = self.store.current_decisions()?;
        let records = match item_records(
            &self.ws,
            &self.store,
            &current,
            item,
            verdict,
            &self.reviewer,
            self.comment.clone(),
        )? {
            Ok(records) => records,
            Err(why) => {
                self.message = why;
                return Ok(());
            }
        };
        let before = records
            .iter()
            .map(|d| (d.key(), current.get(&d.key()).cloned()))
            .collect();
        // Committed before the screen moves on: a decision shown as made is made.
        self.store.record(&records)?;
        self.undo.push(Step {
            item: self.pos,
            before,
        });
        self.done[self.pos] = Some(verdict.as_str());
        if verdict.is_evidence() {
            self.covered.insert(item.control.clone());
        }
        self.message = format!("{} {}", verdict, item.id);
        self.advance(true);
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        let Some(step) = self.undo.pop() else {
            self.message = "nothing to undo in this session".into();
            return Ok(());
        };
        let records = undo_records(&self.ws, step.before, &self.reviewer);
        self.store.record(&records)?;
        self.done[step.item] = None;
        self.pos = step.item;
        self.comment = None;
        self.message = format!("undone: {} is pending again", self.items[step.item].id);
        Ok(())
    }

    /// Reads a one-line comment at the bottom of the screen; Enter keeps it, Esc drops it.
    fn read_comment(&mut self) -> Result<()> {
        let mut text = self.comment.clone().unwrap_or_default();
        loop {
            self.message = format!("comment (Enter to keep, Esc to cancel): {text}_");
            self.draw()?;
            let Event::Key(key) = event::read()? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Enter => {
                    let t = text.trim().to_string();
                    self.comment = (!t.is_empty()).then_some(t);
                    self.message = "the comment goes with the next verdict (a or r)".into();
                    return Ok(());
                }
                KeyCode::Esc => {
                    self.message.clear();
                    return Ok(());
                }
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.message.clear();
                    return Ok(());
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(ch) => text.push(ch),
                _ => {}
            }
        }
    }

    fn bold(&self, s: &str) -> String {
        if self.color {
            format!(
                "{}{s}{}",
                SetAttribute(Attribute::Bold),
                SetAttribute(Attribute::Reset)
            )
        } else {
            s.to_string()
        }
    }

    fn dim(&self, s: &str) -> String {
        if self.color {
            format!(
                "{}{s}{}",
                SetAttribute(Attribute::Dim),
                SetAttribute(Attribute::Reset)
            )
        } else {
            s.to_string()
        }
    }

    fn draw(&self) -> Result<()> {
        let (w, h) = terminal::size().unwrap_or((80, 24));
        let width = (w as usize).max(20);
        let left = self.done.iter().filter(|d| d.is_none()).count();
        let mut lines: Vec<String> = Vec::new();
        lines.push(self.bold(&format!(
            "controlmap review · {left} of {} left · reviewer {}",
            self.items.len(),
            self.reviewer
        )));
        lines.push(self.dim("a accept  r reject  c comment  s skip  u undo  q quit"));
        lines.push(String::new());
        match self.items.get(self.pos) {
            None if self.items.is_empty() => {
                lines.push("Nothing to review: every suggestion has a decision.".into())
            }
            None => lines.push(
                "End of the queue. u undoes the last verdict; q quits (every verdict is saved)."
                    .into(),
            ),
            Some(item) => {
                let control = self.ws.controls.iter().find(|c| c.id == item.control);
                let title = control.map(|c| c.title.as_str()).unwrap_or("");
                let mapper = control.map(|c| c.status.as_str()).unwrap_or("");
                let covered = if self.covered.contains(&item.control) {
                    "has accepted evidence"
                } else {
                    "no accepted evidence yet"
                };
                lines.push(format!(
                    "[{}/{}] {}  {}",
                    self.pos + 1,
                    self.items.len(),
                    self.bold(&item.control),
                    self.bold(title)
                ));
                lines.push(format!(
                    "mapper: {mapper} · {covered} · confidence {}",
                    item.confidence
                        .map(|c| format!("{c:.2}"))
                        .unwrap_or_else(|| "–".into())
                ));
                // Names and text come from files: shown, never obeyed by the terminal.
                lines.push(
                    printable(&clip(
                        &place(&item.document, item.page, &item.heading),
                        width,
                    ))
                    .into_owned(),
                );
                lines.push(self.dim(&format!("id {}", item.id)));
                if let Some(r) = &item.rationale {
                    lines.push(format!(
                        "why: {}",
                        printable(&clip(r, width.saturating_sub(5)))
                    ));
                }
                lines.push(String::new());
                if item.status == Status::Stale {
                    let d = item.decision.as_ref();
                    lines.push(self.bold(&format!(
                        "NEEDS RE-REVIEW: {} by {} on a text that has changed",
                        d.map(|d| d.verdict.as_str()).unwrap_or(""),
                        printable(d.map(|d| d.reviewer.as_str()).unwrap_or(""))
                    )));
                    lines.push("was:".into());
                    lines.extend(wrap(&printable(&item.text), width.saturating_sub(2), "  "));
                    match &item.replacement {
                        Some(r) => {
                            lines.push("now:".into());
                            lines.extend(wrap(&printable(&r.text), width.saturating_sub(2), "  "));
                        }
                        None => {
                            lines.push("now: the passage is gone (r drops the decision)".into())
                        }
                    }
                } else {
                    lines.extend(wrap(&printable(&item.text), width, ""));
                }
                if let Some(c) = &self.comment {
                    lines.push(String::new());
                    lines.push(format!("comment: {c}"));
                }
            }
        }
        let h = (h as usize).max(5);
        let mut out = stdout().lock();
        queue!(out, terminal::Clear(ClearType::All))?;
        for (row, line) in lines.iter().take(h - 2).enumerate() {
            queue!(out, cursor::MoveTo(0, row as u16), Print(line))?;
        }
        queue!(
            out,
            cursor::MoveTo(0, (h - 1) as u16),
            Print(clip(&self.message, width.saturating_sub(1)))
        )?;
        out.flush()?;
        Ok(())
    }
}

fn is_quit(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
        || (key.code == KeyCode::Char('d') && key.modifiers.contains(KeyModifiers::CONTROL))
}

/// `text` in lines of at most `width` characters, broken between words, each line prefixed.
fn wrap(text: &str, width: usize, prefix: &str) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(format!("{prefix}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out.push(format!("{prefix}{line}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_between_words() {
        assert_eq!(
            wrap("one two three four\nfive", 10, "> "),
            vec!["> one two", "> three four", "> five"]
        );
    }
}
