//! `controlmap review`: list suggestions, accept or reject them, link passages by hand, mark
//! controls not applicable, and read, export or import the decisions. With no subcommand on a
//! terminal, the interactive queue.
//!
//! Every command that decides writes its records in one transaction before it reports
//! success; a decision is never changed, only followed by a newer one.

mod queue;

use std::{
    io::{IsTerminal, Write},
    path::Path,
};

use anyhow::{Context, Result, bail};

#[cfg(feature = "test-aids")]
use crate::cli::SoakArgs;
use crate::{
    cli::{
        Cli, DecideArgs, ExportArgs, Format, ImportArgs, LinkArgs, ListArgs, LogArgs, NaArgs,
        ReviewArgs, ReviewCommand,
    },
    ingest::chunk::{clip, place},
    messages::printable,
    review::{
        Decision, NotApplicable, Store, Verdict,
        decide::{check_control, pair_record},
        exchange::{self, ExchangeFormat},
        suggestions::{Item, ReviewWorkspace, Status, counts, short_ids},
    },
    workspace::{self, Needs},
};

fn reviewer(given: &Option<String>) -> String {
    given
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .unwrap_or_else(crate::review::default_reviewer)
}

fn comment(given: &Option<String>) -> Option<String> {
    given.clone().filter(|c| !c.trim().is_empty())
}

pub fn run(args: &ReviewArgs, cli: &Cli) -> Result<()> {
    let dir = workspace::find(args.workspace.as_deref(), Needs::Folder)?;
    match &args.command {
        None => {
            if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
                bail!(
                    "the interactive review queue needs a terminal; from a script use \
                     `controlmap review list` and `controlmap review accept|reject ID`"
                );
            }
            queue::run(&dir, &reviewer(&args.reviewer), cli.color.enabled())
        }
        Some(ReviewCommand::List(a)) => list(&dir, a, cli),
        Some(ReviewCommand::Accept(a)) => decide(&dir, a, Verdict::Accepted, cli.quiet),
        Some(ReviewCommand::Reject(a)) => decide(&dir, a, Verdict::Rejected, cli.quiet),
        Some(ReviewCommand::Withdraw(a)) => decide(&dir, a, Verdict::Withdrawn, cli.quiet),
        Some(ReviewCommand::Link(a)) => link(&dir, a, cli.quiet),
        Some(ReviewCommand::Na(a)) => not_applicable(&dir, a, cli.quiet),
        Some(ReviewCommand::Log(a)) => log(&dir, a),
        Some(ReviewCommand::Export(a)) => export(&dir, a, cli.quiet),
        Some(ReviewCommand::Import(a)) => import(&dir, a, cli.quiet),
        #[cfg(feature = "test-aids")]
        Some(ReviewCommand::Soak(a)) => soak(&dir, a),
    }
}

fn paint(s: &str, status: Status, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match status {
        Status::Pending => "36",
        Status::Accepted | Status::Linked => "32",
        Status::Rejected => "2",
        Status::Stale => "33;1",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn list(dir: &Path, a: &ListArgs, cli: &Cli) -> Result<()> {
    let ws = ReviewWorkspace::load(dir)?;
    // Read-only, so that an auditor's copy they cannot write can be listed.
    let current = match Store::open_if_exists(dir)? {
        Some(store) => store.current_decisions()?,
        None => Default::default(),
    };
    let items: Vec<Item> = ws
        .items(&current)
        .into_iter()
        .filter(|i| a.control.as_ref().is_none_or(|c| &i.control == c))
        .filter(|i| a.status.is_empty() || a.status.contains(&i.status))
        .filter(|i| {
            a.min_confidence
                .is_none_or(|m| i.confidence.is_some_and(|c| c >= m))
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            for i in &items {
                serde_json::to_writer(&mut out, i)?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            let color = cli.color.enabled();
            let width = items.iter().map(|i| i.id.len()).max().unwrap_or(0);
            for i in &items {
                let conf = i
                    .confidence
                    .map(|c| format!("{c:.2}"))
                    .unwrap_or_else(|| "  – ".into());
                writeln!(
                    out,
                    "{:<width$}  {}  {conf}  {}",
                    printable(&i.id),
                    paint(&format!("{:<8}", i.status.as_str()), i.status, color),
                    printable(&clip(&place(&i.document, i.page, &i.heading), 70)),
                )?;
                if let Some(d) = &i.decision {
                    let why = d
                        .comment
                        .as_deref()
                        .map(|c| format!(": {}", clip(c, 60)))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "    {} by {} {}{}",
                        d.verdict,
                        printable(&d.reviewer),
                        printable(d.decided_at.get(..10).unwrap_or(&d.decided_at)),
                        printable(&why)
                    )?;
                }
                if i.status == Status::Stale {
                    writeln!(out, "    was: {}", printable(&clip(&i.text, 100)))?;
                    match &i.replacement {
                        Some(r) => writeln!(
                            out,
                            "    now: {}\n    (decide on the new text as {})",
                            printable(&clip(&r.text, 100)),
                            printable(&r.id)
                        )?,
                        None => writeln!(
                            out,
                            "    now: the passage is gone (withdraw the decision with `review withdraw {}`)",
                            printable(&i.id)
                        )?,
                    }
                } else {
                    writeln!(out, "    {}", printable(&clip(&i.text, 100)))?;
                }
            }
        }
    }
    out.flush()?;
    if !cli.quiet {
        let summary: Vec<String> = counts(&items)
            .into_iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        eprintln!("{} items: {}", items.len(), summary.join(", "));
    }
    Ok(())
}

fn decide(dir: &Path, a: &DecideArgs, verdict: Verdict, quiet: bool) -> Result<()> {
    let ws = ReviewWorkspace::load(dir)?;
    let mut store = Store::open(dir)?;
    let current = store.current_decisions()?;
    let who = reviewer(&a.reviewer);
    let mut records = Vec::new();
    for id in &a.ids {
        let (hash, control) = ws.resolve_id(id, &current)?;
        let d = pair_record(&ws, &store, &current, &hash, &control, verdict, &who)
            .with_context(|| format!("cannot {} {id}", verb(verdict)))?;
        records.push(Decision {
            comment: comment(&a.comment),
            ..d
        });
    }
    store.record(&records)?;
    if !quiet {
        let short = short_ids(records.iter().map(|d| d.content_hash.as_str()));
        for d in &records {
            eprintln!(
                "{} {}:{} ({})",
                d.verdict, short[&d.content_hash], d.control, d.reviewer
            );
        }
    }
    Ok(())
}

fn verb(v: Verdict) -> &'static str {
    match v {
        Verdict::Accepted => "accept",
        Verdict::Rejected => "reject",
        Verdict::Linked => "link",
        Verdict::Withdrawn => "withdraw",
    }
}

fn link(dir: &Path, a: &LinkArgs, quiet: bool) -> Result<()> {
    let ws = ReviewWorkspace::load(dir)?;
    let mut store = Store::open(dir)?;
    let current = store.current_decisions()?;
    let hash = ws.resolve_passage(&a.passage, &current)?;
    let control = a.control.trim();
    let who = reviewer(&a.reviewer);
    let d = pair_record(&ws, &store, &current, &hash, control, Verdict::Linked, &who)
        .with_context(|| format!("cannot link {} to {control}", a.passage))?;
    let d = Decision {
        comment: comment(&a.comment),
        ..d
    };
    store.record(std::slice::from_ref(&d))?;
    if !quiet {
        eprintln!("linked {}:{control} ({who})", &hash[..hash.len().min(8)]);
    }
    Ok(())
}

fn not_applicable(dir: &Path, a: &NaArgs, quiet: bool) -> Result<()> {
    let ws = ReviewWorkspace::load(dir).ok();
    let control = a.control.trim();
    check_control(ws.as_ref(), control)?;
    let mut store = Store::open(dir)?;
    let who = reviewer(&a.reviewer);
    if a.withdraw && !store.not_applicable()?.contains_key(control) {
        bail!("{control} is not marked not applicable; there is nothing to withdraw");
    }
    let justification = a.justification.as_deref().unwrap_or("").trim();
    if !a.withdraw && justification.is_empty() {
        bail!("say why {control} does not apply with --justification TEXT");
    }
    store.record_not_applicable(&[NotApplicable::new(control, justification, &who, a.withdraw)])?;
    if !quiet {
        if a.withdraw {
            eprintln!("{control} applies again ({who})");
        } else {
            eprintln!("{control} marked not applicable ({who})");
        }
    }
    Ok(())
}

/// Every record of the store, read-only (none before the first decision).
fn all_records(dir: &Path) -> Result<Vec<exchange::Record>> {
    match Store::open_if_exists(dir)? {
        Some(store) => Ok(exchange::records(&store)?),
        None => Ok(Vec::new()),
    }
}

fn log(dir: &Path, a: &LogArgs) -> Result<()> {
    let mut records = all_records(dir)?;
    records.retain(|r| a.control.as_ref().is_none_or(|c| &r.control == c));
    records.sort_by(|a, b| a.decided_at.cmp(&b.decided_at));
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => exchange::write(&records, ExchangeFormat::Jsonl, &mut out)?,
        Format::Text => {
            let short = short_ids(records.iter().filter_map(|r| r.content_hash.as_deref()));
            let who = records.iter().map(|r| r.reviewer.len()).max().unwrap_or(0);
            for r in &records {
                let what = match &r.content_hash {
                    Some(h) => format!("{:<9} {}:{}", r.verdict, short[h.as_str()], r.control),
                    None if r.verdict == "withdrawn" => {
                        format!("applicable again: {}", r.control)
                    }
                    None => format!("not applicable: {}", r.control),
                };
                let why = r
                    .comment
                    .as_deref()
                    .map(|c| format!("  \"{}\"", clip(c, 80)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}Z  {:<who$}  {what}{why}",
                    &r.decided_at[..19.min(r.decided_at.len())],
                    r.reviewer
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn export(dir: &Path, a: &ExportArgs, quiet: bool) -> Result<()> {
    let records = all_records(dir)?;
    match &a.output {
        None => {
            let mut out = std::io::stdout().lock();
            exchange::write(&records, a.format, &mut out)?;
            out.flush()?;
        }
        Some(path) => {
            // Written whole: an interrupted export leaves no half file.
            workspace::write_whole_with(path, |out| {
                exchange::write(&records, a.format, out)?;
                Ok(())
            })?;
            if !quiet {
                eprintln!("exported {} records to {}", records.len(), path.display());
            }
        }
    }
    Ok(())
}

fn import(dir: &Path, a: &ImportArgs, quiet: bool) -> Result<()> {
    let records = exchange::read_file(&a.file)?;
    let mut store = Store::open(dir)?;
    let got = exchange::import(&mut store, records, &a.file)?;
    if !quiet {
        eprintln!(
            "imported {} new records from {} ({} already present)",
            got.added,
            a.file.display(),
            got.read - got.added
        );
    }
    Ok(())
}

/// Writes batches of decisions and prints each batch number once it is committed: what the
/// durability tests kill mid-write.
#[cfg(feature = "test-aids")]
fn soak(dir: &Path, a: &SoakArgs) -> Result<()> {
    let mut store = Store::open(dir)?;
    let text = "Soak test passage. ".repeat(50);
    let mut out = std::io::stdout().lock();
    for i in 0..a.count {
        let batch: Vec<Decision> = (0..a.batch)
            .map(|j| {
                Decision::new(
                    &format!("{i:016x}"),
                    &format!("SOAK.{j}"),
                    Verdict::Accepted,
                    "soak",
                    &text,
                )
            })
            .collect();
        store.record(&batch)?;
        writeln!(out, "{i}")?;
        out.flush()?;
    }
    Ok(())
}
