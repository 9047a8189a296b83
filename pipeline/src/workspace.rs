//! The workspace: the folder `run` writes and every other command reads. Every file name in
//! it is here, as is the one way to find it and the one way to write a file in it.
//!
//! Everything in a workspace can be rebuilt from the policy folder except [`DECISIONS`], the
//! reviewers' work.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where commands look when no `--workspace` is given (relative to the current folder).
pub const DEFAULT_DIR: &str = ".controlmap";
/// The tantivy index of the passages (a folder).
pub const INDEX_DIR: &str = "index";
/// The passages' vectors, in the manifest's order.
pub const VECTORS: &str = "vectors.bin";
/// What the last run read: each document's stamp, hash and passages.
pub const MANIFEST: &str = "documents.json";
/// The heading paths' vectors, kept so a re-run embeds only headings it has not seen.
pub const CONTEXTS: &str = "contexts.bin";
/// The reviewers' decisions (SQLite).
pub const DECISIONS: &str = "decisions.db";
/// The coverage report; the other outputs are made from it.
pub const REPORT_JSON: &str = "report.json";
pub const REPORT_HTML: &str = "report.html";
pub const EVIDENCE_CSV: &str = "evidence.csv";
pub const SOA_CSV: &str = "soa.csv";

/// The default workspace of a policy folder: `.controlmap` beside it.
pub fn default_for(policy_dir: &Path) -> PathBuf {
    let abs = std::path::absolute(policy_dir).unwrap_or_else(|_| policy_dir.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(_)) => parent.join(DEFAULT_DIR),
        _ => abs.join(DEFAULT_DIR),
    }
}

/// What a command needs to find in the workspace it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Only that the folder exists (review, which works before any run).
    Folder,
    /// The index and the vectors (search).
    Index,
}

/// The workspace to read: `explicit` (`--workspace`), else [`DEFAULT_DIR`] in the current
/// folder; an error that says what to do when it lacks what `needs` asks for.
pub fn find(explicit: Option<&Path>, needs: Needs) -> Result<PathBuf> {
    let ws = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    match needs {
        Needs::Folder if !ws.is_dir() => Err(Error::user(format!(
            "{} is not a workspace folder; run `controlmap run POLICY_DIR` first and pass the \
             workspace it wrote (by default .controlmap beside POLICY_DIR) with --workspace",
            ws.display()
        ))),
        Needs::Index if !ws.join(INDEX_DIR).is_dir() || !ws.join(VECTORS).is_file() => {
            Err(Error::user(format!(
                "{} is not a controlmap workspace (no index/ or vectors.bin); run `controlmap run POLICY_DIR` \
                 first, and pass the workspace it wrote (by default .controlmap beside POLICY_DIR) with --workspace",
                ws.display()
            )))
        }
        _ => Ok(ws),
    }
}

/// The workspace named, else [`DEFAULT_DIR`], unchecked (for commands whose first read says
/// what is missing).
pub fn given_or_default(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// Writes a file beside its destination, then renames it into place: a reader never sees half
/// a file, and a crash leaves the old one.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    write_whole_with(path, |out| Ok(out.write_all(bytes)?))
}

/// [`write_whole`] for output written in pieces: `write` fills the temporary file, which is
/// synced before it is renamed into place.
pub fn write_whole_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs_err::File::create(&tmp)?;
    write(&mut f)?;
    f.sync_all()?;
    drop(f);
    fs_err::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workspace_sits_beside_the_policy_folder() {
        let t = tempfile::tempdir().unwrap();
        let policies = t.path().join("policies");
        assert_eq!(default_for(&policies), t.path().join(DEFAULT_DIR));
    }

    #[test]
    fn a_workspace_without_an_index_says_to_run_first() {
        let t = tempfile::tempdir().unwrap();
        let e = find(Some(t.path()), Needs::Index).unwrap_err().to_string();
        assert!(e.contains("controlmap run POLICY_DIR"), "{e}");
        assert_eq!(find(Some(t.path()), Needs::Folder).unwrap(), t.path());
        let missing = t.path().join("nope");
        assert!(find(Some(&missing), Needs::Folder).is_err());
    }

    #[test]
    fn a_whole_write_leaves_no_temporary_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(REPORT_JSON);
        write_whole(&p, b"{}").unwrap();
        write_whole_with(&p, |w| Ok(w.write_all(b"[]")?)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"[]");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
