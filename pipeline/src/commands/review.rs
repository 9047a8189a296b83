//! `controlmap review`: list suggestions, accept or reject them, link passages by hand, mark
//! controls not applicable, and read, export or import the decisions. With no subcommand on a
//! terminal, the interactive queue.
//!
//! Every command that decides writes its records in one transaction before it reports
//! success; a decision is never changed, only followed by a newer one.

use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

use crate::{
    catalog::Catalog,
    cli::{Cli, Format},
    report::table::clip,
    review::{
        Decision, NotApplicable, Store, Verdict,
        exchange::{self, ExchangeFormat},
        suggestions::{Item, ReviewWorkspace, Status, counts, short_ids},
    },
};

/// Review suggested mappings: `controlmap review` on a terminal is an interactive queue;
/// the subcommands do the same from scripts.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,

    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short, global = true)]
    pub workspace: Option<PathBuf>,

    /// Who is reviewing (in the interactive queue) [default: $CONTROLMAP_REVIEWER, then the
    /// operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// List suggestions and decisions. IDs look like `3fa9c2d1:A.6.2.4`: the start of the
    /// passage's content hash, then the control.
    ///
    /// Example: controlmap review list --status pending --min-confidence 0.6
    ///
    /// Example: controlmap review list --control A.6.2.4 --format json
    List(ListArgs),

    /// Accept suggestions as evidence for their controls.
    ///
    /// Example: controlmap review accept 3fa9c2d1:A.6.2.4 77ab12cd:A.2.2 --comment "signed policy"
    Accept(DecideArgs),

    /// Reject suggestions: the passage is not evidence for the control.
    ///
    /// Example: controlmap review reject 3fa9c2d1:A.6.2.4 --comment "mentions it only in passing"
    Reject(DecideArgs),

    /// Take decisions back: the items are pending again (their history is kept).
    ///
    /// Example: controlmap review withdraw 3fa9c2d1:A.6.2.4
    Withdraw(DecideArgs),

    /// Map a passage to a control by hand (evidence the mapper missed).
    ///
    /// Example: controlmap review link 3fa9c2d1 A.6.2.4
    ///
    /// Example: controlmap review link 1234567890 A.6.2.4   (a passage ID from `search`)
    Link(LinkArgs),

    /// Mark a control not applicable, with a justification (or withdraw the mark).
    ///
    /// Example: controlmap review na A.10.3 --justification "We have no AI suppliers."
    Na(NaArgs),

    /// Every decision and mark: who decided what, when, and why; oldest first.
    ///
    /// Example: controlmap review log --control A.6.2.4
    Log(LogArgs),

    /// Write every decision record and mark, for another workspace or another tool.
    ///
    /// Example: controlmap review export --format csv -o decisions.csv
    Export(ExportArgs),

    /// Add the records of an exported file; records already present are left out, so
    /// importing a file twice adds nothing.
    ///
    /// Example: controlmap review import decisions.jsonl
    Import(ImportArgs),

    /// Test aid: writes COUNT batches of made-up decisions, one transaction each, printing each
    /// batch's number once it is committed.
    #[command(hide = true)]
    Soak(SoakArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this control.
    #[arg(long)]
    pub control: Option<String>,

    /// Only items with this status (repeatable, or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub status: Vec<Status>,

    /// Only items whose confidence is at least this.
    #[arg(long)]
    pub min_confidence: Option<f32>,

    /// Output: readable text, or one JSON object per item (JSON Lines).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// Item IDs as `review list` prints them (`3fa9c2d1:A.6.2.4`).
    #[arg(required = true)]
    pub ids: Vec<String>,

    /// Why (kept with each decision).
    #[arg(long, short)]
    pub comment: Option<String>,

    /// Who decides [default: $CONTROLMAP_REVIEWER, then the operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// The passage: the hash part of an item ID, or a passage ID from `controlmap search`.
    pub passage: String,

    /// The control, e.g. A.6.2.4.
    pub control: String,

    /// Why.
    #[arg(long, short)]
    pub comment: Option<String>,

    /// Who decides [default: $CONTROLMAP_REVIEWER, then the operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct NaArgs {
    /// The control, e.g. A.10.3.
    pub control: String,

    /// Why the control does not apply.
    #[arg(long, short, required_unless_present = "withdraw")]
    pub justification: Option<String>,

    /// Take the mark back: the control applies again.
    #[arg(long, conflicts_with = "justification")]
    pub withdraw: bool,

    /// Who decides [default: $CONTROLMAP_REVIEWER, then the operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only this control.
    #[arg(long)]
    pub control: Option<String>,

    /// Output: readable text, or one JSON object per record (JSON Lines, as `export`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// File format.
    #[arg(long, value_enum, default_value_t = ExchangeFormat::Jsonl)]
    pub format: ExchangeFormat,

    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A file written by `review export` (JSON Lines, or CSV when named .csv).
    pub file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Batches to write.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,

    /// Decisions per batch (one transaction).
    #[arg(long, default_value_t = 5)]
    pub batch: usize,
}

/// The workspace to use: `--workspace`, else `.controlmap` in the current folder.
fn workspace_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let ws = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".controlmap"));
    if !ws.is_dir() {
        bail!(
            "{} is not a workspace folder; run `controlmap run POLICY_DIR` first and pass the \
             workspace it wrote (by default .controlmap beside POLICY_DIR) with --workspace",
            ws.display()
        );
    }
    Ok(ws)
}

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
    let dir = workspace_dir(args.workspace.as_deref())?;
    match &args.command {
        None => {
            if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
                bail!(
                    "the interactive review queue needs a terminal; from a script use \
                     `controlmap review list` and `controlmap review accept|reject ID`"
                );
            }
            crate::review::queue::run(&dir, &reviewer(&args.reviewer), cli.color.enabled())
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

/// `document p.N › heading` of an item.
pub(crate) fn place(document: &str, page: Option<u32>, heading: &str) -> String {
    let page = page.map(|p| format!(" p.{p}")).unwrap_or_default();
    if heading.is_empty() {
        format!("{document}{page}")
    } else {
        format!("{document}{page} › {heading}")
    }
}

fn list(dir: &Path, a: &ListArgs, cli: &Cli) -> Result<()> {
    let ws = ReviewWorkspace::load(dir)?;
    let store = Store::open(dir)?;
    let items: Vec<Item> = ws
        .items(&store.current_decisions()?)
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
                    i.id,
                    paint(&format!("{:<8}", i.status.as_str()), i.status, color),
                    clip(&place(&i.document, i.page, &i.heading), 70),
                )?;
                if let Some(d) = &i.decision {
                    let why = d
                        .comment
                        .as_deref()
                        .map(|c| format!(": {}", clip(c, 60)))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "    {} by {} {}{why}",
                        d.verdict,
                        d.reviewer,
                        &d.decided_at[..10]
                    )?;
                }
                if i.status == Status::Stale {
                    writeln!(out, "    was: {}", clip(&i.text, 100))?;
                    match &i.replacement {
                        Some(r) => writeln!(
                            out,
                            "    now: {}\n    (decide on the new text as {})",
                            clip(&r.text, 100),
                            r.id
                        )?,
                        None => writeln!(
                            out,
                            "    now: the passage is gone (withdraw the decision with `review withdraw {}`)",
                            i.id
                        )?,
                    }
                } else {
                    writeln!(out, "    {}", clip(&i.text, 100))?;
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

/// A control the workspace knows: one of its report's, or of the built-in catalog when there
/// is no report.
fn check_control(ws: Option<&ReviewWorkspace>, control: &str) -> Result<()> {
    let known = match ws {
        Some(ws) if !ws.controls.is_empty() => ws.has_control(control),
        _ => Catalog::builtin().control(control).is_some(),
    };
    if !known {
        bail!("no control {control} in this workspace's catalog; IDs look like A.6.2.4");
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
        let d = decision_for(&ws, &store, &current, &hash, &control, verdict, &who)
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

/// The record deciding `verdict` on a pair, carrying the suggestion's run and confidence and
/// the passage's text and place; or why that decision cannot be made.
pub(crate) fn decision_for(
    ws: &ReviewWorkspace,
    store: &Store,
    current: &HashMap<(String, String), Decision>,
    hash: &str,
    control: &str,
    verdict: Verdict,
    reviewer: &str,
) -> Result<Decision> {
    check_control(Some(ws), control)?;
    let key = (hash.to_string(), control.to_string());
    let suggestion = ws.suggestion(hash, control);
    let passage = ws.passages.get(hash);
    let previous = store.latest(hash, control)?;
    if verdict == Verdict::Withdrawn {
        let Some(old) = current.get(&key) else {
            bail!("there is no decision on it to withdraw");
        };
        return Ok(Decision {
            run_id: old.run_id.clone(),
            confidence: old.confidence,
            document: old.document.clone(),
            heading: old.heading.clone(),
            page: old.page,
            ..Decision::new(hash, control, verdict, reviewer, &old.passage_text)
        });
    }
    if passage.is_none() {
        bail!(
            "its passage is no longer in the workspace (the text changed or the document is \
             gone); `controlmap review list --status stale` shows the text that replaced it"
        );
    }
    if verdict != Verdict::Linked && suggestion.is_none() && previous.is_none() {
        bail!(
            "the last run did not suggest it; to map the passage by hand use \
             `controlmap review link {} {control}`",
            &hash[..hash.len().min(8)]
        );
    }
    let p = passage.expect("checked above");
    let mut d = Decision::new(hash, control, verdict, reviewer, &p.text);
    d.document = Some(p.document.clone());
    d.heading = Some(p.heading_path()).filter(|h| !h.is_empty());
    d.page = p.page;
    match (suggestion, previous) {
        (Some(s), _) => {
            d.run_id = ws.run_id.clone();
            d.confidence = Some(s.confidence);
        }
        (None, Some(prev)) if verdict != Verdict::Linked => {
            d.run_id = prev.run_id;
            d.confidence = prev.confidence;
        }
        _ => {}
    }
    Ok(d)
}

fn link(dir: &Path, a: &LinkArgs, quiet: bool) -> Result<()> {
    let ws = ReviewWorkspace::load(dir)?;
    let mut store = Store::open(dir)?;
    let current = store.current_decisions()?;
    let hash = ws.resolve_passage(&a.passage, &current)?;
    let control = a.control.trim();
    let who = reviewer(&a.reviewer);
    let d = decision_for(&ws, &store, &current, &hash, control, Verdict::Linked, &who)
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

fn log(dir: &Path, a: &LogArgs) -> Result<()> {
    let store = Store::open(dir)?;
    let mut records = exchange::records(&store)?;
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
    let store = Store::open(dir)?;
    let records = exchange::records(&store)?;
    match &a.output {
        None => {
            let mut out = std::io::stdout().lock();
            exchange::write(&records, a.format, &mut out)?;
            out.flush()?;
        }
        Some(path) => {
            // A temporary file renamed into place: an interrupted export leaves no half file.
            let tmp = path.with_extension("controlmap-tmp");
            let mut f = fs_err::File::create(&tmp)?;
            exchange::write(&records, a.format, &mut f)?;
            f.sync_all()?;
            drop(f);
            fs_err::rename(&tmp, path)?;
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
