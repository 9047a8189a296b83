//! Review: reviewers' decisions on suggested mappings, the only part of a workspace that
//! cannot be recomputed from the policy folder.
//!
//! - [`store`]: the decision store (`decisions.db`, SQLite): decisions keyed by (passage
//!   content hash, control), kept as history, and not-applicable marks;
//! - [`suggestions`]: what there is to review: the workspace's `report.json` suggestions and
//!   its passages (`documents.json`), joined with the decisions, stale ones found;
//! - [`exchange`]: export and import as JSON Lines or CSV;
//! - [`decide`]: the rule for what a verdict records, which every face calls;
//! - [`order`]: the order reviewers work through suggestions in.
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
//!
//! // Or all at once, given which content hashes the workspace holds now:
//! let folded = store.fold(|hash| hash == "3fa9c2d1e0b4")?;
//! assert_eq!(folded.evidence["A.6.2.4"].len(), 1);
//! assert!(folded.stale.is_empty() && folded.rejected.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod decide;
pub mod exchange;
mod migrations;
mod opening;
pub mod order;
pub mod store;
pub mod suggestions;
mod uid;

pub use migrations::CURRENT as SCHEMA_VERSION;
pub use store::{Decision, NotApplicable, Store, Verdict};

pub use crate::error::StoreError as Error;

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

/// The reviewer to record when none is given: the operating-system user (`$USER`,
/// `$USERNAME`, `$LOGNAME`, else the name of this process's user in `/etc/passwd`).
pub fn default_reviewer() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .or_else(passwd_user)
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn passwd_user() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() }.to_string();
    let passwd = fs_err::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid && !f[0].is_empty()).then(|| f[0].to_string())
    })
}

#[cfg(not(unix))]
fn passwd_user() -> Option<String> {
    None
}

/// The decisions as coverage needs them (see [`Store::fold`]).
#[derive(Debug, Default)]
pub struct Folded {
    /// Accepted or linked decisions on passages the workspace still holds, by control:
    /// accepted evidence makes a control covered.
    pub evidence: std::collections::HashMap<String, Vec<Decision>>,
    /// (content hash, control) pairs a reviewer rejected: not to be suggested again while
    /// the passage's text is the same.
    pub rejected: std::collections::HashSet<(String, String)>,
    /// Decisions on passages whose text is no longer in the workspace: needs re-review.
    pub stale: Vec<Decision>,
    /// Controls marked not applicable, with their justification.
    pub not_applicable: std::collections::HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_always_a_reviewer() {
        assert!(!default_reviewer().is_empty());
        #[cfg(unix)]
        assert!(passwd_user().is_none_or(|u| !u.is_empty() && !u.contains(':')));
    }

    #[test]
    fn fold_sorts_decisions_for_coverage() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Store::open(t.path()).unwrap();
        let d = |h: &str, c: &str, v| Decision::new(h, c, v, "r", "text");
        s.record(&[
            d("live1", "A.2.2", Verdict::Accepted),
            d("live2", "A.2.2", Verdict::Linked),
            d("live1", "A.5.2", Verdict::Rejected),
            d("gone", "A.6.2.4", Verdict::Accepted),
            d("live2", "A.7.5", Verdict::Accepted),
        ])
        .unwrap();
        s.record(&[d("live2", "A.7.5", Verdict::Withdrawn)])
            .unwrap();
        s.record_not_applicable(&[NotApplicable::new("A.10.3", "No suppliers.", "r", false)])
            .unwrap();
        let f = s.fold(|h| h.starts_with("live")).unwrap();
        assert_eq!(f.evidence.len(), 1);
        assert_eq!(f.evidence["A.2.2"].len(), 2);
        assert!(
            f.rejected
                .contains(&("live1".to_string(), "A.5.2".to_string()))
        );
        assert_eq!(f.stale.len(), 1);
        assert_eq!(f.stale[0].control, "A.6.2.4");
        assert_eq!(f.not_applicable["A.10.3"], "No suppliers.");
    }

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
