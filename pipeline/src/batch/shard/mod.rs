//! A run split over machines. `plan` walks the folder once and cuts its files into shards;
//! `work` reads one shard (parse, chunk, embed: the part whose cost grows with the folder)
//! into one Arrow IPC file (`file.rs`, its schema in `docs/shard-format.md`); `load` reads
//! every shard's file back as the documents, vectors and file outcomes that
//! [`super::run`] would have read from the folder, so the merge maps and reports exactly as
//! a single run does. Workers keep no state: a shard that failed is run again from its list.

mod file;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use controlmap_models::Embedder;
use serde::{Deserialize, Serialize};

use super::read;
use crate::{
    error::{Context, Result, user_error},
    ingest::{parse::ParseOptions, walk::FoundFile, walk::walk},
    report::FileOutcome,
    workspace,
};

pub use file::FORMAT_VERSION;

/// The plan's file in its folder.
pub const PLAN_FILE: &str = "plan.json";

/// How a folder was cut into shards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// The policy folder, absolute, as the planner saw it.
    pub policy_dir: String,
    pub shards: Vec<ShardEntry>,
    /// Paths the walk left out, with why, as a single run reports them.
    #[serde(default)]
    pub skipped: Vec<(String, String)>,
}

/// One shard: its file list, beside the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardEntry {
    pub id: usize,
    /// The list's file name (`shard-0000.txt`): paths relative to the folder, one per line.
    pub files: String,
    pub count: usize,
    /// The files' bytes together: shards are cut to be about equal in these.
    pub bytes: u64,
}

/// The file a shard's worker writes.
pub fn shard_file_name(id: usize) -> String {
    format!("shard-{id:04}.arrow")
}

/// Walks `policy_dir` and cuts its files, in the walk's order, into at most `shards`
/// consecutive runs of about equal size in bytes; writes the plan into `out`.
pub fn plan(policy_dir: &Path, shards: usize, out: &Path) -> Result<Plan> {
    super::check_policy_dir(policy_dir)?;
    if shards == 0 {
        user_error!("--shards must be at least 1");
    }
    let dir = fs_err::canonicalize(policy_dir)?;
    let mut found = walk(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    // The lists hold a path a line: a name with a line break in it cannot be listed.
    let (files, odd): (Vec<FoundFile>, Vec<FoundFile>) = std::mem::take(&mut found.files)
        .into_iter()
        .partition(|f| !f.rel.contains(['\n', '\r']));
    found.files = files;
    found.skipped.extend(odd.into_iter().map(|f| {
        (
            f.rel,
            "a line break in its name: a shard's list cannot hold it".to_string(),
        )
    }));
    let sizes: Vec<u64> = found
        .files
        .iter()
        .map(|f| fs_err::metadata(&f.path).map(|m| m.len()).unwrap_or(0))
        .collect();
    let total: u64 = sizes.iter().sum();
    let n = shards.min(found.files.len()).max(1);
    fs_err::create_dir_all(out).context("cannot create the plan's folder")?;
    let mut entries = Vec::new();
    let mut start = 0;
    for id in 0..n {
        // Close this shard once it holds its share of the bytes, leaving a file for each
        // shard still to come.
        let target = total * (id as u64 + 1) / n as u64;
        let mut end = start;
        let mut upto: u64 = sizes[..start].iter().sum();
        while end < found.files.len() && (end == start || upto < target) {
            if found.files.len() - end < n - id {
                break;
            }
            upto += sizes[end];
            end += 1;
        }
        if id == n - 1 {
            end = found.files.len();
        }
        let files = format!("shard-{id:04}.txt");
        let list: String = found.files[start..end]
            .iter()
            .map(|f| format!("{}\n", f.rel))
            .collect();
        workspace::write_whole(&out.join(&files), list.as_bytes())?;
        entries.push(ShardEntry {
            id,
            files,
            count: end - start,
            bytes: sizes[start..end].iter().sum(),
        });
        start = end;
    }
    let plan = Plan {
        version: FORMAT_VERSION,
        policy_dir: dir.display().to_string(),
        shards: entries,
        skipped: found.skipped,
    };
    workspace::write_whole(
        &out.join(PLAN_FILE),
        serde_json::to_string_pretty(&plan)?.as_bytes(),
    )?;
    Ok(plan)
}

/// What one worker did.
#[derive(Debug, Clone, Default)]
pub struct Worked {
    pub files: usize,
    pub failed: usize,
    pub passages: usize,
}

/// Reads the files listed in `list` (relative to `policy_dir`) as a run reads them, embeds
/// their passages with `embedder`, and writes them to `out` (whole, then renamed).
pub fn work(
    policy_dir: &Path,
    list: &Path,
    out: &Path,
    embedder: &dyn Embedder,
    parse: &ParseOptions,
) -> Result<Worked> {
    super::check_policy_dir(policy_dir)?;
    let text = fs_err::read_to_string(list).context("cannot read the shard's file list")?;
    let root = fs_err::canonicalize(policy_dir)?;
    let files: Vec<FoundFile> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|rel| {
            let path = policy_dir.join(rel);
            // Through `..`, an absolute path or a link: a list is not to read outside.
            let outside = rel.split('/').any(|part| part == "..")
                || Path::new(rel).is_absolute()
                || fs_err::canonicalize(&path).is_ok_and(|p| !p.starts_with(&root));
            if outside {
                user_error!(
                    "{}: {rel:?} is not a path inside the policy folder",
                    list.display()
                );
            }
            Ok(FoundFile {
                path,
                rel: rel.to_string(),
            })
        })
        .collect::<Result<_>>()?;
    let (no_rows, no_records) = Default::default();
    let stream = read::read_all(
        &files,
        embedder,
        read::Reuse {
            vectors: None,
            rows: &no_rows,
            records: &no_records,
        },
        parse,
    )?;
    let worked = Worked {
        files: stream.outcomes.len(),
        failed: stream
            .outcomes
            .iter()
            .filter(|o| o.outcome == "failed")
            .count(),
        passages: stream.docs.values().map(|d| d.record.passages.len()).sum(),
    };
    file::write(out, embedder.model_id(), embedder.dim(), &stream)?;
    Ok(worked)
}

/// Every shard's documents, vectors and outcomes, in the walk's order.
pub(super) struct Loaded {
    pub docs: BTreeMap<String, read::Collected>,
    pub outcomes: Vec<FileOutcome>,
    pub skipped: Vec<(String, String)>,
}

/// Where a merge reads from.
#[derive(Debug, Clone)]
pub struct ShardInput {
    /// The plan's folder.
    pub plan: PathBuf,
    /// The folder of the shards' files.
    pub shards: PathBuf,
}

/// Reads the plan and every shard's file; a missing shard, one of another model, or one
/// that does not hold its list's files is an error naming it.
pub(super) fn load(input: &ShardInput, model_id: &str, dim: usize) -> Result<Loaded> {
    let plan_path = input.plan.join(PLAN_FILE);
    let plan: Plan = serde_json::from_str(
        &fs_err::read_to_string(&plan_path).context("cannot read the shard plan")?,
    )
    .with_context(|| format!("{} is not a shard plan", plan_path.display()))?;
    if plan.version != FORMAT_VERSION {
        user_error!(
            "{} was written by another version of controlmap (plan version {}, this one reads {FORMAT_VERSION}); plan and run the shards again",
            plan_path.display(),
            plan.version
        );
    }
    let mut loaded = Loaded {
        docs: BTreeMap::new(),
        outcomes: Vec::new(),
        skipped: plan.skipped,
    };
    for s in &plan.shards {
        let path = input.shards.join(shard_file_name(s.id));
        if !path.exists() {
            user_error!(
                "shard {} has no file ({}): run `controlmap shard work` on {} first",
                s.id,
                path.display(),
                input.plan.join(&s.files).display()
            );
        }
        if s.files.contains(['/', '\\']) || s.files.starts_with('.') {
            user_error!(
                "{}: {:?} is not a list's file name",
                plan_path.display(),
                s.files
            );
        }
        let list = fs_err::read_to_string(input.plan.join(&s.files))?;
        let expected: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
        let shard = file::read(&path, model_id, dim)
            .with_context(|| format!("cannot read shard {}", s.id))?;
        let got: Vec<&str> = shard.outcomes.iter().map(|o| o.path.as_str()).collect();
        if got != expected {
            user_error!(
                "{} does not hold the files of its list {} (another plan's shard?): run it again",
                path.display(),
                s.files
            );
        }
        if let Some(twice) = shard.docs.keys().find(|d| loaded.docs.contains_key(*d)) {
            user_error!("{twice} is in two shards: plan and run the shards again");
        }
        loaded.outcomes.extend(shard.outcomes);
        loaded.docs.extend(shard.docs);
    }
    Ok(loaded)
}
