//! Review: reviewers' decisions on suggested mappings, the only part of a workspace that
//! cannot be recomputed from the policy folder.
//!
//! - [`store`]: the decision store (`decisions.db`, SQLite): decisions keyed by (passage
//!   content hash, control), kept as history, and not-applicable marks;
//! - [`suggestions`]: what there is to review: the workspace's `report.json` suggestions and
//!   its passages (`documents.json`), joined with the decisions, stale ones found;
//! - [`exchange`]: export and import as JSON Lines or CSV;
//! - [`queue`]: the interactive review queue on a terminal.
//!
//! Reading the decisions, as `run` and the reports do:
//!
//! ```
//! use controlmap::review::{Decision, Store, Verdict};
//!
//! let workspace = tempfile::tempdir()?;
//! assert!(Store::open_if_exists(workspace.path())?.is_none()); // nothing decided yet
//!
//! let mut store = Store::open(workspace.path())?;
//! store.record(&[Decision::new("3fa9c2d1e0b4", "A.6.2.4", Verdict::Accepted, "alice", "…")])?;
//!
//! let store = Store::open_if_exists(workspace.path())?.expect("written above");
//! let current = store.current_decisions()?;
//! let d = &current[&("3fa9c2d1e0b4".to_string(), "A.6.2.4".to_string())];
//! assert!(d.verdict.is_evidence());
//! assert!(store.not_applicable()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

pub mod exchange;
mod migrations;
pub mod queue;
pub mod store;
pub mod suggestions;

pub use migrations::CURRENT as SCHEMA_VERSION;
pub use store::{DB_FILE, Decision, NotApplicable, Store, Verdict};

/// What can go wrong with the decision store and its files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0} is not a workspace folder; run `controlmap run POLICY_DIR` first and pass the \
         workspace it wrote (by default .controlmap beside POLICY_DIR) with --workspace"
    )]
    NoWorkspace(PathBuf),

    #[error("{path}: {error}")]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },

    #[error(
        "{path} has schema version {found}, newer than the {supported} this controlmap knows; \
         use a newer controlmap (the file is left as it is)"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "{path} failed SQLite's integrity check ({found}); restore it from a backup or an \
         export (`controlmap review import`)"
    )]
    Corrupt { path: PathBuf, found: String },
}

impl Error {
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        Error::Sqlite {
            path: path.to_path_buf(),
            error: source,
        }
    }
}

/// Timestamps are UTC, RFC 3339, fixed width (microseconds), so that they sort as text.
const TIME_FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// Now, as stored in decision records.
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

fn format_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(TIME_FORMAT)
        .expect("every UTC time formats")
}

/// An RFC 3339 time (any offset, any precision) in the stored form; `None` if it is not one.
pub fn normalise_time(s: &str) -> Option<String> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(format_time)
}

/// The reviewer to record when none is given: the operating-system user.
pub fn default_reviewer() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_fixed_width_utc() {
        let n = now();
        assert_eq!(n.len(), 27, "{n}");
        assert!(n.ends_with('Z'));
        assert_eq!(
            normalise_time("2024-05-01T12:00:00+02:00").as_deref(),
            Some("2024-05-01T10:00:00.000000Z")
        );
        assert_eq!(
            normalise_time("2024-05-01T10:00:00.5Z").as_deref(),
            Some("2024-05-01T10:00:00.500000Z")
        );
        assert_eq!(normalise_time("yesterday"), None);
    }
}
