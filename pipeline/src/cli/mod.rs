//! The command line's types: every subcommand's arguments, with the help text in their doc
//! comments. What each command does is in [`crate::commands`].

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use controlmap_models::{DeviceChoice, Precision};

mod review_args;

pub use review_args::*;

use crate::precision::PrecisionChoice;

/// Map an organisation's policies to ISO/IEC 42001 Annex A controls, offline.
#[derive(Debug, Parser)]
#[command(name = "controlmap", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print no progress bars or notes on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// CPU threads for the model and parallel work [default: $RAYON_NUM_THREADS, else one
    /// per core].
    #[arg(long, global = true)]
    pub threads: Option<usize>,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, embed, index and map a policy folder; print coverage and write report.json.
    ///
    /// Example: controlmap run corpora/sample-org --workspace /tmp/ws
    Run(RunArgs),

    /// Search a workspace's passages by free text or by control (BM25 and dense, fused).
    ///
    /// Example: controlmap search "model drift" --workspace corpora/.controlmap
    ///
    /// Example: controlmap search --control A.6.2.4 --limit 5 --format json
    Search(SearchArgs),

    /// Score the mapper on labelled data: P@1, R@3, R@5 and MRR of the controls ranked for
    /// labelled passages, and precision and recall of a labelled corpus's gaps.
    ///
    /// Example: controlmap eval   (the sample corpus, and ../shared/eval when present)
    ///
    /// Example: controlmap eval --gold my-labels.json
    Eval(EvalArgs),

    /// Embed one passage per line of a file and report passages/s and tokens/s; optionally
    /// write the vectors (.npy, float32, one row per non-blank line; or .jsonl with line numbers).
    ///
    /// Example: controlmap embed --input passages.txt --output vectors.npy
    ///
    /// Example: cat passages.txt | controlmap embed --input - --format json --threads 2
    Embed(EmbedArgs),

    /// Write the reports again from a workspace's report.json and its current review
    /// decisions, without re-running the pipeline: report.json, report.html, evidence.csv
    /// (the evidence register) and soa.csv (a Statement of Applicability draft).
    ///
    /// Example: controlmap report --workspace /tmp/ws --fail-on-gaps
    Report(ReportArgs),

    /// Review suggested mappings: accept or reject them, link passages by hand, mark controls
    /// not applicable; `controlmap review` alone on a terminal is an interactive queue.
    ///
    /// Example: controlmap review list --status pending --workspace /tmp/ws
    Review(ReviewArgs),

    /// Serve the web UI: coverage at a glance, each control's evidence with accept / reject,
    /// the review queue with keyboard shortcuts, search, documents and the exports.
    ///
    /// Example: controlmap serve --workspace /tmp/ws --open
    ///
    /// Example: controlmap serve --bind 0.0.0.0:8642 --tokens-file reviewers.txt
    Serve(ServeArgs),

    /// Fine-tune the embedding model on the catalog's own text (each evidence example drawn
    /// towards its control's description) and write the tuned model to a directory; then use
    /// it with --model DIR. No labelled data is used. About 8 minutes on 2 CPU cores.
    ///
    /// Example: controlmap tune --out models/minilm-annex-a
    ///
    /// Then: controlmap run corpora/sample-org --model models/minilm-annex-a
    Tune(TuneArgs),

    /// Export a workspace in an interchange format: `oscal` writes each catalog as an OSCAL
    /// catalog and the run as OSCAL assessment-results (OSCAL 1.1, JSON).
    ///
    /// Example: controlmap export oscal --workspace /tmp/ws --out /tmp/oscal
    ///
    /// Example: controlmap export oscal --workspace /tmp/ws --out oscal --catalog corpora/catalogs/nist-ai-rmf.yaml
    Export(ExportCommandArgs),

    /// Run over a cluster: split a folder into shards, read one shard into a file, merge
    /// the shards' files into one workspace (scripts/ray-run drives these on Ray).
    ///
    /// Example: controlmap shard plan corpora/sample-org --shards 4 --out /tmp/plan
    #[command(subcommand)]
    Shard(ShardCommand),

    /// Parses one file and prints the document as JSON: the worker process `run` starts
    /// for each PDF and DOCX, so a parser crash or endless loop costs only that file.
    #[command(name = "parse-worker", hide = true)]
    ParseWorker(ParseWorkerArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportCommandArgs {
    #[command(subcommand)]
    pub format: ExportFormat,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportFormat {
    /// OSCAL 1.1 JSON: `catalog-ID.json` for each catalog (the built-in one when the run used
    /// it, and each --catalog), and `assessment-results.json`: a finding per control with its
    /// status, an observation per passage citing its document (with its SHA-256), the
    /// suggestions' confidence, and reviewers' decisions with the reviewer as their origin.
    ///
    /// Example: controlmap export oscal --workspace /tmp/ws --out /tmp/oscal
    Oscal(ExportOscalArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportOscalArgs {
    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// The folder to write the OSCAL files into (made if missing; files of the same name are
    /// replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// A catalog to export too, and to find the run's framework in when it is not the
    /// built-in one: controlmap YAML or OSCAL JSON (repeatable).
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
}

/// Which model to load, where it runs and in which number format; shared by every command
/// that embeds.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Model directory (config.json, tokenizer.json, model.safetensors) [default: $CONTROLMAP_MODEL,
    /// then the Hugging Face cache].
    #[arg(long = "model", id = "model", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Where the model runs: auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,

    /// Number format of the model's linear layers: auto (the fastest measured to stay within
    /// 0.01 of f32's P@1 and MRR for this model on this CPU's kernels; on a workspace, the one
    /// its vectors were made in; f32 where nothing was measured), f32, bf16 or int8. Vectors
    /// differ slightly from f32's, so search and eval must use the same. CONTROLMAP_CPU=avx2|scalar
    /// forces lower CPU kernels (for testing).
    #[arg(long, default_value = "auto", env = "CONTROLMAP_PRECISION")]
    pub precision: PrecisionChoice,
}

#[derive(Debug, clap::Args)]
pub struct ParseWorkerArgs {
    /// The file to parse.
    pub file: PathBuf,

    /// The most address space this worker may map, in bytes.
    #[arg(long, default_value_t = crate::ingest::parse::contain::MAX_PER_WORKER)]
    pub address_space: u64,

    /// Leave scanned pages unread.
    #[arg(long)]
    pub no_ocr: bool,
}

/// When documents are judged current, and how their dates are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FreshnessArgs {
    /// The day documents are judged on, as YYYY-MM-DD, so a report can be made again
    /// exactly [default: today, or the day the last run was given].
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub as_of: Option<time::Date>,

    /// The longest a document may go between reviews: 12m, 18 months, 1y [default: 12
    /// months, or what the last run was given]. A document whose last review (or, without
    /// one, its effective date) is older is overdue, as is one whose next review date has
    /// passed.
    #[arg(long, value_name = "CYCLE")]
    pub review_cycle: Option<crate::freshness::Cycle>,

    /// How a numeric date such as 03/04/2024 is read when either number could be the month
    /// [default: day-first, or what the last run was given].
    #[arg(long, value_enum)]
    pub date_order: Option<crate::freshness::DateOrder>,
}

impl FreshnessArgs {
    pub fn asked(&self) -> crate::report::Asked {
        crate::report::Asked {
            as_of: self.as_of,
            cycle: self.review_cycle,
            date_order: self.date_order,
        }
    }
}

fn parse_day(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("\"{s}\" is not a date as YYYY-MM-DD ({e})"))
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The policy folder to read.
    pub dir: PathBuf,

    /// Where the index, vectors and report go [default: .controlmap beside DIR].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Output on stdout: a table for people, or the report as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// The frameworks to map to, by ID, comma-separated: iso42001 (ISO/IEC 42001 Annex A,
    /// always mapped: the crosswalks read its evidence), nist-ai-rmf, eu-ai-act, or the ID of
    /// a catalog given with --catalog.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub framework: Vec<String>,

    /// A catalog file (controlmap YAML, or an OSCAL catalog in JSON): it replaces the
    /// built-in catalog of the same framework ID, or adds a framework that is then mapped.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,

    /// A crosswalk file (JSON, as corpora/catalogs/*-to-iso42001.json) from a loaded
    /// framework's controls to ISO/IEC 42001 Annex A's. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub crosswalk: Vec<PathBuf>,

    #[command(flatten)]
    pub parse: ParseArgs,

    /// Exit with code 1 when a control has no evidence and is not marked not applicable.
    #[arg(long)]
    pub fail_on_gaps: bool,

    #[command(flatten)]
    pub freshness: FreshnessArgs,

    /// Map every document, also those that mention none of the catalog's scope terms (for
    /// the built-in catalog: AI, machine learning, model, algorithm and the like). By default
    /// such documents are indexed and searchable but evidence for nothing.
    #[arg(long)]
    pub all_documents: bool,

    /// Labelled passages the mapper learns your labelling from (JSON: `{"items": [{"id",
    /// "text", "annex_a": [control IDs]}]}`, as `eval --gold` reads). Repeatable. Check with
    /// `controlmap eval --gold FILE --cv 5` that it helps on your labels first.
    #[arg(long, value_name = "FILE")]
    pub learn: Vec<PathBuf>,
}

/// How files are read: size and time limits, memory, OCR.
#[derive(Debug, Clone, clap::Args)]
pub struct ParseArgs {
    /// Files larger than this many bytes are skipped.
    #[arg(long, default_value_t = crate::ingest::parse::DEFAULT_MAX_BYTES)]
    pub max_file_size: u64,

    /// Seconds one file's parse may take before it fails (0: no limit). PDF and DOCX are
    /// parsed in a separate process that is stopped at the limit.
    #[arg(long, default_value_t = crate::ingest::parse::contain::DEFAULT_TIMEOUT_SECS)]
    pub parse_timeout: u64,

    /// The most memory the parser processes may use together (for example 6G or 512M)
    /// [default: a quarter of the machine's memory]. Each process gets an equal share (at
    /// least 1 GiB, at most 4 GiB) and only as many run at once as the total allows; a file
    /// that needs more than its share fails, and the run goes on.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,

    /// Leave scanned pages unread. By default pages without a text layer are read by OCR
    /// (Tesseract) when it is installed.
    #[arg(long)]
    pub no_ocr: bool,
}

/// A run split over machines: plan the shards, read one, merge them (scripts/ray-run drives
/// these on a Ray cluster).
#[derive(Debug, clap::Subcommand)]
pub enum ShardCommand {
    /// Split a policy folder's files into shards: PLAN_DIR/plan.json and one file list per
    /// shard (shard-0000.txt: paths relative to the folder, one per line).
    Plan {
        /// The policy folder.
        dir: PathBuf,
        /// How many shards (fewer when there are fewer files).
        #[arg(long, default_value_t = 4)]
        shards: usize,
        /// The folder to write the plan into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Parse and embed one shard's files into one Arrow IPC file (docs/shard-format.md).
    Work(ShardWorkArgs),
    /// Build a workspace from every shard's file: index, vectors, mapping and reports, as
    /// `controlmap run` would have made them from the folder.
    Merge(ShardMergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ShardWorkArgs {
    /// The policy folder the list's paths are relative to.
    pub dir: PathBuf,
    /// The shard's file list (from `shard plan`).
    #[arg(long)]
    pub files: PathBuf,
    /// The Arrow IPC file to write (written whole, then renamed into place).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub parse: ParseArgs,
}

#[derive(Debug, clap::Args)]
pub struct ShardMergeArgs {
    /// The plan's folder (from `shard plan`).
    #[arg(long)]
    pub plan: PathBuf,
    /// The folder holding every shard's file (shard-0000.arrow, …).
    #[arg(long)]
    pub shards: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// One passage per line (`-` for stdin). Blank lines are skipped: output row i is the
    /// i-th non-blank line.
    #[arg(long, short)]
    pub input: PathBuf,

    /// Where to write the vectors: FILE.npy (NumPy float32, shape (passages, dim)) or
    /// FILE.jsonl (`{"line": N, "embedding": [...]}`, N the 1-based input line).
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// The summary on stdout: one line for people, or a JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// Output on stdout: the coverage table, or the report as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit with code 1 when a control has no evidence and is not marked not applicable.
    #[arg(long)]
    pub fail_on_gaps: bool,

    #[command(flatten)]
    pub freshness: FreshnessArgs,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Free text to search for.
    pub query: Option<String>,

    /// Search for evidence of this control (e.g. A.6.2.4) instead of free text.
    #[arg(long)]
    pub control: Option<String>,

    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// Most results to show.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,

    /// Only passages in this folder of the policy tree (and below it).
    #[arg(long)]
    pub folder: Option<String>,

    /// Only passages of this document (its path relative to the policy folder).
    #[arg(long)]
    pub document: Option<String>,

    /// Only passages from files of this format (markdown, text, html, docx, pdf).
    #[arg(long)]
    pub file_format: Option<String>,

    /// Output: readable text, or one JSON object per result (JSON Lines).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// How BM25 and dense rankings are combined (weighted ranks the sample corpus's known
    /// evidence higher than reciprocal rank fusion does).
    #[arg(long, value_enum, default_value_t = FusionChoice::Weighted)]
    pub fusion: FusionChoice,

    #[command(flatten)]
    pub model: ModelArgs,

    /// A catalog file whose controls --control may name, besides the built-in frameworks'
    /// (ISO/IEC 42001 Annex A, NIST AI RMF, EU AI Act). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A file of labelled passages: `{"items": [{"id", "text", "annex_a": [control IDs]}]}`.
    /// Repeatable.
    #[arg(long)]
    pub gold: Vec<PathBuf>,

    /// A policy folder with a gold.yaml, already mapped by `controlmap run`
    /// [default: corpora/sample-org when no --gold is given].
    #[arg(long)]
    pub corpus: Option<PathBuf>,

    /// The workspace of the corpus's run [default: .controlmap beside the corpus].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// With --vectors: instead of scoring Annex A, compare this framework's direct mapping
    /// (e.g. nist-ai-rmf, eu-ai-act) with what its crosswalk carries from the labels.
    #[arg(long, value_name = "ID")]
    pub crosswalk_agreement: Option<String>,

    /// Signal weights: `default`, or `key=value` pairs (desc, max, mean, neg, probe, kw, ctx,
    /// nb; keys left out are 0), `common=K` (remove the catalog's mean and K strongest
    /// directions from every vector first) and the flags `center` and `bm25` (keywords scored
    /// by BM25), e.g. `desc=0.5,max=0.5,ctx=0.35`; `default,bm25` changes the default.
    #[arg(long, default_value = "default")]
    pub weights: crate::mapping::Weights,

    /// Fit the confidence calibration on the first labelled vectors (--vectors) or else the
    /// corpus's gold (and print it, with its calibration error cross-fitted by document)
    /// instead of using the built-in one.
    #[arg(long)]
    pub fit_calibration: bool,

    /// With --fit-calibration and a model made by `controlmap tune`: store the fitted
    /// calibration in the model's directory, where `run` and `eval` use it from then on.
    /// Not with --cv or --learn: that fit would hold for a mapper that learned from labels.
    #[arg(long, requires = "fit_calibration", conflicts_with_all = ["cv", "learn"])]
    pub save_calibration: bool,

    /// List the labelled items whose first-ranked control is not one of their labels, worst
    /// first, with the controls ranked above the label (JSON output always has every item).
    #[arg(long)]
    pub misses: bool,

    /// Labelled passages for the mapper to learn from before it scores anything, in the
    /// --gold format (items without controls are skipped). Repeatable. A file cannot be both
    /// learned from and scored: use --cv for that.
    #[arg(long, value_name = "FILE")]
    pub learn: Vec<PathBuf>,

    /// Labelled vectors to score (a folder with labels.jsonl, vectors.npy and vectors.json,
    /// as corpora/real holds): passages kept as this model's vectors, scored without their
    /// text (no keywords, headings or neighbours). Repeatable. Its documents are left out of
    /// what the mapper learned.
    #[arg(long, value_name = "DIR")]
    pub vectors: Vec<PathBuf>,

    /// Score the mapper that knows only the catalog (and any --learn files), without the
    /// lessons from real documents built into the binary.
    #[arg(long)]
    pub no_builtin: bool,

    /// With --vectors: simulate reviewers' decisions on some documents and score others after
    /// 0, 25, 50, 100 and 200 decisions (five rotations of folds by document).
    #[arg(long, requires = "vectors")]
    pub learning_curve: bool,

    /// Cross-validate learning from labels: score each labelled set in K folds (items; for a
    /// corpus or labelled vectors, documents), the mapper learning from the other folds'
    /// labels (and any --learn files) each time; figures are the mean over three fixed
    /// shuffles.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u16).range(2..=50))]
    pub cv: Option<u16>,

    /// Output: a table, or JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub model: ModelArgs,

    /// A catalog file to use instead of the built-in one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// Where the tuned model goes (created; a model tuned there before is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The model to start from, and where training runs (--precision must be f32).
    #[command(flatten)]
    pub model: ModelArgs,

    /// A catalog file to tune on instead of the built-in one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,

    /// Passes over the catalog's evidence examples.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub epochs: u16,

    /// Seeds the order of the examples and the dropout (same seed, same machine: same model).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// AdamW's learning rate.
    #[arg(long, default_value_t = 2e-5)]
    pub learning_rate: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FusionChoice {
    /// Reciprocal rank fusion.
    Rrf,
    /// 0.7 × cosine + 0.3 × normalised BM25.
    Weighted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Serve the web UI: coverage, controls and their evidence, the review queue, search,
/// documents and the exports, for a workspace `controlmap run` wrote.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The workspace `run` wrote [default: .controlmap in the current folder].
    #[arg(long, short)]
    pub workspace: Option<PathBuf>,

    /// Address to listen on. Loopback needs no token; any other address needs --token or
    /// --tokens-file. Port 0 picks a free port (the URL is printed on stdout).
    #[arg(long, default_value = crate::serve::DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// An access token every request must carry (`Authorization: Bearer TOKEN`, or open
    /// /login?token=TOKEN once for a cookie). It must hold an estimated 96 bits of entropy
    /// or more (dictionary words and repeats count little): make one with
    /// `openssl rand -hex 32`.
    #[arg(
        long,
        env = "CONTROLMAP_TOKEN",
        conflicts_with = "tokens_file",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A file of per-reviewer tokens, one `name:token` a line; each decision records the
    /// name of the token it came with.
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,

    /// Show the pages without any action, and refuse every change (for auditors).
    #[arg(long)]
    pub read_only: bool,

    /// Who decisions are recorded for, without a tokens file [default: $CONTROLMAP_REVIEWER,
    /// then the operating-system user].
    #[arg(long, env = "CONTROLMAP_REVIEWER")]
    pub reviewer: Option<String>,

    /// Open the UI in the default browser once the server listens.
    #[arg(long)]
    pub open: bool,

    /// Model directory for search (must be the model the workspace was built with).
    #[arg(long)]
    pub model: Option<PathBuf>,

    /// Where the search model runs: auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,

    /// Number format of the search model's linear layers [default: the one the workspace's
    /// vectors were made in].
    #[arg(long)]
    pub precision: Option<Precision>,

    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// when the connection opens or the previous answer on it was sent; a kept-alive
    /// connection with nothing to ask is closed after it too.
    #[arg(long, value_name = "SECS", default_value_t = crate::serve::Limits::DEFAULT_HEADER_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,

    /// Seconds a connection may pass with no byte coming in or going out (a stalled request
    /// body, a client that stops reading) before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = crate::serve::Limits::DEFAULT_IDLE_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,

    /// Connections served at once; more wait to be accepted until one closes.
    #[arg(long, value_name = "N", default_value_t = crate::serve::Limits::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
}

/// A size in bytes: a number with an optional K, M, G or T suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches(['B', 'I'])
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "{s:?} is not a size (a number, or one with K, M, G or T)"
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (a number, or one with K, M, G or T)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n && *v > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod definition_tests {
    use clap::CommandFactory;

    use super::*;

    /// clap checks argument ids, names and flattened groups only when asked (or on first use
    /// in a debug build): two arguments with one id would break every command.
    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("6G"), Ok(6 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").unwrap_err().contains("is not a size"));
        assert!(parse_size("0").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
