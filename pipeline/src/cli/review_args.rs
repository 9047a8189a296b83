//! `controlmap review` and its subcommands' arguments.

use std::path::PathBuf;

use super::Format;
use crate::review::{exchange::ExchangeFormat, suggestions::Status};

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
    #[cfg(feature = "test-aids")]
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

#[cfg(feature = "test-aids")]
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Batches to write.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,

    /// Decisions per batch (one transaction).
    #[arg(long, default_value_t = 5)]
    pub batch: usize,
}
