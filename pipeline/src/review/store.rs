//! The decision store: `decisions.db` (SQLite) in the workspace, the one file there that
//! cannot be rebuilt from the policy folder. It is kept apart from everything `run` writes,
//! so rebuilding a workspace never touches it.
//!
//! Safe under faults and concurrency: the journal is a write-ahead log with full syncs, every
//! write is one `BEGIN IMMEDIATE` transaction (a second writer waits for the busy timeout
//! instead of failing), and records are only ever added.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{
    Error, migrations,
    opening::{check_header, check_schema, has_log, set_wal, uri_path},
    uid::fresh_uid,
};

/// How long a write waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// What a reviewer decided about a (passage, control) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A suggestion accepted as evidence for the control.
    Accepted,
    /// A suggestion rejected: the passage is not evidence for the control.
    Rejected,
    /// Evidence the mapper missed, mapped by hand.
    Linked,
    /// The earlier decision taken back: the pair is undecided again.
    Withdrawn,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Linked => "linked",
            Verdict::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Verdict::Accepted,
            "rejected" => Verdict::Rejected,
            "linked" => Verdict::Linked,
            "withdrawn" => Verdict::Withdrawn,
            _ => return None,
        })
    }

    /// Accepted or linked: the passage is evidence for the control.
    pub fn is_evidence(self) -> bool {
        matches!(self, Verdict::Accepted | Verdict::Linked)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decision record. The current decision on a pair is its latest record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Identity of the record across workspaces (export and import use it).
    pub uid: String,
    /// The passage's content hash ([`crate::ingest::chunk::Passage::content_hash`]).
    pub content_hash: String,
    /// The control ID, e.g. `A.6.2.4`.
    pub control: String,
    pub verdict: Verdict,
    pub reviewer: String,
    pub comment: Option<String>,
    /// When, in UTC, RFC 3339 with microseconds (`2025-03-01T09:30:00.000000Z`).
    pub decided_at: String,
    /// The run whose suggestion was decided (none for a manual link).
    pub run_id: Option<String>,
    /// The confidence the suggestion came with.
    pub confidence: Option<f32>,
    /// The passage's text when it was decided.
    pub passage_text: String,
    /// Where the passage was when it was decided.
    pub document: Option<String>,
    pub heading: Option<String>,
    pub page: Option<u32>,
}

impl Decision {
    /// A new record, decided now, with a fresh uid.
    pub fn new(
        content_hash: &str,
        control: &str,
        verdict: Verdict,
        reviewer: &str,
        passage_text: &str,
    ) -> Self {
        let decided_at = super::now();
        Decision {
            uid: fresh_uid(&[
                content_hash,
                control,
                verdict.as_str(),
                reviewer,
                &decided_at,
            ]),
            content_hash: content_hash.to_string(),
            control: control.to_string(),
            verdict,
            reviewer: reviewer.to_string(),
            comment: None,
            decided_at,
            run_id: None,
            confidence: None,
            passage_text: passage_text.to_string(),
            document: None,
            heading: None,
            page: None,
        }
    }

    /// The pair this record decides.
    pub fn key(&self) -> (String, String) {
        (self.content_hash.clone(), self.control.clone())
    }
}

/// A control marked not applicable (or the mark withdrawn), with its justification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub uid: String,
    pub control: String,
    /// The mark taken back: the control applies again.
    pub withdrawn: bool,
    pub justification: String,
    pub reviewer: String,
    pub decided_at: String,
}

impl NotApplicable {
    pub fn new(control: &str, justification: &str, reviewer: &str, withdrawn: bool) -> Self {
        let decided_at = super::now();
        NotApplicable {
            uid: fresh_uid(&[control, justification, reviewer, &decided_at]),
            control: control.to_string(),
            withdrawn,
            justification: justification.to_string(),
            reviewer: reviewer.to_string(),
            decided_at,
        }
    }
}

/// An open decision store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const DECISION_COLUMNS: &str = "uid, content_hash, control, verdict, reviewer, comment, \
     decided_at, run_id, confidence, passage_text, document, heading, page";

fn decision_from_row(r: &Row) -> rusqlite::Result<Decision> {
    let verdict: String = r.get(3)?;
    Ok(Decision {
        uid: r.get(0)?,
        content_hash: r.get(1)?,
        control: r.get(2)?,
        verdict: Verdict::parse(&verdict).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown verdict {verdict:?}").into(),
            )
        })?,
        reviewer: r.get(4)?,
        comment: r.get(5)?,
        decided_at: r.get(6)?,
        run_id: r.get(7)?,
        confidence: r.get::<_, Option<f64>>(8)?.map(|c| c as f32),
        passage_text: r.get(9)?,
        document: r.get(10)?,
        heading: r.get(11)?,
        page: r.get(12)?,
    })
}

impl Store {
    /// Opens (creating it if needed) the decision store of `workspace`, which must exist.
    pub fn open(workspace: &Path) -> Result<Store, Error> {
        if !workspace.is_dir() {
            return Err(Error::NoWorkspace(workspace.to_path_buf()));
        }
        Self::open_path(&workspace.join(crate::workspace::DECISIONS))
    }

    /// The decision store of `workspace` if one has been written, opened read-only; `None`
    /// before any decision. This is what `run`, the reports, `search`, `review list` and the
    /// web UI's pages read: they work on a workspace the user cannot write (an auditor's copy).
    pub fn open_if_exists(workspace: &Path) -> Result<Option<Store>, Error> {
        let path = workspace.join(crate::workspace::DECISIONS);
        if !path.exists() {
            return Ok(None);
        }
        Self::open_read_only(&path).map(Some)
    }

    /// Checks, before any work, that the workspace's decision store (if there is one) is a
    /// store of ours that can be read: `run` calls it first, so that a damaged store stops the
    /// run before it rewrites any report.
    pub fn check(workspace: &Path) -> Result<(), Error> {
        if let Some(store) = Self::open_if_exists(workspace)? {
            store.current_decisions()?;
        }
        Ok(())
    }

    /// Opens (creating it if needed) the database at `path`, bringing its schema up to date.
    /// A file there that is not a store of ours (empty, not SQLite, another program's
    /// database) is an error, and nothing is written to it.
    pub fn open_path(path: &Path) -> Result<Store, Error> {
        let err = |e| Error::sqlite(path, e);
        if !path.exists() {
            create(path)?;
        }
        check_header(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        check_schema(&conn, path)?;
        set_wal(&conn).map_err(err)?;
        // FULL: a committed decision survives a power cut, not only a crash of this process.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        Self::migrated(conn, path)
    }

    /// Opens the database at `path` for reading only. On a read-only folder SQLite cannot make
    /// the write-ahead log's index file; with no log to read, the file is then opened as
    /// immutable.
    fn open_read_only(path: &Path) -> Result<Store, Error> {
        let err = |e| Error::sqlite(path, e);
        check_header(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let opened = Connection::open_with_flags(path, flags).and_then(|c| {
            // Opening is lazy: the first read is where a missing log index shows.
            c.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0))?;
            Ok(c)
        });
        let conn = match opened {
            Ok(c) => c,
            Err(e) if !has_log(path) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(uri, flags).map_err(|_| err(e))?
            }
            Err(e) => return Err(err(e)),
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let version = check_schema(&conn, path)?;
        if version < migrations::CURRENT {
            // An older controlmap's store is brought up to date where it can be written
            // (migrations only add); where it cannot, the reader is told what to do.
            drop(conn);
            return Self::open_path(path).map_err(|_| Error::OlderSchemaReadOnly {
                path: path.to_path_buf(),
                found: version,
            });
        }
        if version > migrations::CURRENT {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: migrations::CURRENT,
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A store on `conn` (the database at `path`), its schema brought up to date.
    pub(super) fn migrated(conn: Connection, path: &Path) -> Result<Store, Error> {
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, e)
    }

    /// The schema version of the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, Error> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), Error> {
        let version = self.schema_version()?;
        if version == migrations::CURRENT {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Another process may have migrated while we waited for the lock: read again.
        let version: u32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        if version > migrations::CURRENT {
            return Err(Error::NewerSchema {
                path: path.clone(),
                found: version,
                supported: migrations::CURRENT,
            });
        }
        migrations::migrate(&tx, version).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Adds decision records in one transaction: all of them or none. A record whose uid is
    /// already stored is left out (so an import can be repeated). Returns how many were new.
    pub fn record(&mut self, decisions: &[Decision]) -> Result<usize, Error> {
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut added = 0;
        {
            let mut st = tx
                .prepare_cached(&format!(
                    "INSERT OR IGNORE INTO decisions ({DECISION_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .map_err(err)?;
            for d in decisions {
                added += st
                    .execute(params![
                        d.uid,
                        d.content_hash,
                        d.control,
                        d.verdict.as_str(),
                        d.reviewer,
                        d.comment,
                        d.decided_at,
                        d.run_id,
                        d.confidence.map(f64::from),
                        d.passage_text,
                        d.document,
                        d.heading,
                        d.page,
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(added)
    }

    /// Adds not-applicable records in one transaction, leaving out uids already stored.
    pub fn record_not_applicable(&mut self, marks: &[NotApplicable]) -> Result<usize, Error> {
        let path = self.path.clone();
        let err = |e| Error::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut added = 0;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO not_applicable
                     (uid, control, justification, reviewer, decided_at, withdrawn)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for m in marks {
                added += st
                    .execute(params![
                        m.uid,
                        m.control,
                        m.justification,
                        m.reviewer,
                        m.decided_at,
                        m.withdrawn
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(added)
    }

    /// Every decision record, oldest first.
    pub fn history(&self) -> Result<Vec<Decision>, Error> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DECISION_COLUMNS} FROM decisions ORDER BY decided_at, id"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map([], decision_from_row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Every not-applicable record, oldest first.
    pub fn not_applicable_history(&self) -> Result<Vec<NotApplicable>, Error> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT uid, control, justification, reviewer, decided_at, withdrawn
                 FROM not_applicable ORDER BY decided_at, id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([], |r| {
            Ok(NotApplicable {
                uid: r.get(0)?,
                control: r.get(1)?,
                justification: r.get(2)?,
                reviewer: r.get(3)?,
                decided_at: r.get(4)?,
                withdrawn: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// The current decision on every decided (content hash, control) pair: its latest record,
    /// unless that withdrew the decision.
    pub fn current_decisions(&self) -> Result<HashMap<(String, String), Decision>, Error> {
        let mut current = HashMap::new();
        for d in self.history()? {
            current.insert(d.key(), d);
        }
        current.retain(|_, d| d.verdict != Verdict::Withdrawn);
        Ok(current)
    }

    /// The latest decision record on one pair, withdrawn or not.
    pub fn latest(&self, content_hash: &str, control: &str) -> Result<Option<Decision>, Error> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions
                     WHERE content_hash = ?1 AND control = ?2
                     ORDER BY decided_at DESC, id DESC LIMIT 1"
                ),
                (content_hash, control),
                decision_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Controls currently marked not applicable, with their justification.
    pub fn not_applicable(&self) -> Result<HashMap<String, String>, Error> {
        let mut current = HashMap::new();
        for m in self.not_applicable_history()? {
            if m.withdrawn {
                current.remove(&m.control);
            } else {
                current.insert(m.control, m.justification);
            }
        }
        Ok(current)
    }

    /// The current decisions sorted for coverage: evidence by control, rejected pairs, and
    /// stale decisions (`holds(content_hash)` says whether the workspace still has a passage
    /// with that text), with the not-applicable marks.
    pub fn fold(&self, holds: impl Fn(&str) -> bool) -> Result<super::Folded, Error> {
        let mut f = super::Folded {
            not_applicable: self.not_applicable()?,
            ..Default::default()
        };
        let mut current: Vec<Decision> = self.current_decisions()?.into_values().collect();
        current.sort_by(|a, b| (&a.decided_at, &a.uid).cmp(&(&b.decided_at, &b.uid)));
        for d in current {
            if !holds(&d.content_hash) {
                f.stale.push(d);
            } else if d.verdict.is_evidence() {
                f.evidence.entry(d.control.clone()).or_default().push(d);
            } else if d.verdict == Verdict::Rejected {
                f.rejected.insert(d.key());
            }
        }
        Ok(f)
    }

    /// SQLite's `PRAGMA integrity_check`: `Ok(())` or what it found wrong.
    pub fn integrity_check(&self) -> Result<(), Error> {
        let found: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        if found == ["ok"] {
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.path.clone(),
                found: found.join("; "),
            })
        }
    }
}

/// Creates an empty store at `path` whole: built under another name and linked into place, so
/// that no process ever finds a half-made (0-byte) store there. When another process made one
/// first, that one is kept.
fn create(path: &Path) -> Result<(), Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_file_name(format!(
        ".{}.new-{}-{nanos}",
        crate::workspace::DECISIONS,
        std::process::id(),
    ));
    let _ = std::fs::remove_file(&tmp);
    {
        let conn = Connection::open(&tmp).map_err(|e| Error::sqlite(&tmp, e))?;
        let err = |e| Error::sqlite(&tmp, e);
        set_wal(&conn).map_err(err)?;
        Store::migrated(conn, &tmp)?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(Error::Io {
            path: path.to_path_buf(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(hash: &str, control: &str, verdict: Verdict) -> Decision {
        Decision::new(hash, control, verdict, "alice", "The text.")
    }

    #[test]
    fn latest_record_is_the_current_decision_and_history_keeps_all() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Store::open(t.path()).unwrap();
        s.record(&[decision("aa", "A.2.2", Verdict::Accepted)])
            .unwrap();
        s.record(&[decision("aa", "A.2.2", Verdict::Rejected)])
            .unwrap();
        s.record(&[decision("bb", "A.2.2", Verdict::Linked)])
            .unwrap();
        let cur = s.current_decisions().unwrap();
        assert_eq!(cur.len(), 2);
        assert_eq!(
            cur[&("aa".into(), "A.2.2".into())].verdict,
            Verdict::Rejected
        );
        assert_eq!(s.history().unwrap().len(), 3);
        s.record(&[decision("aa", "A.2.2", Verdict::Withdrawn)])
            .unwrap();
        assert_eq!(s.current_decisions().unwrap().len(), 1);
        assert_eq!(
            s.latest("aa", "A.2.2").unwrap().unwrap().verdict,
            Verdict::Withdrawn
        );
    }

    #[test]
    fn a_stored_uid_is_not_added_again() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Store::open(t.path()).unwrap();
        let d = decision("aa", "A.2.2", Verdict::Accepted);
        assert_eq!(s.record(&[d.clone(), d.clone()]).unwrap(), 1);
        assert_eq!(s.record(&[d]).unwrap(), 0);
        assert_eq!(s.history().unwrap().len(), 1);
    }

    #[test]
    fn records_cannot_be_changed_or_deleted() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Store::open(t.path()).unwrap();
        s.record(&[decision("aa", "A.2.2", Verdict::Accepted)])
            .unwrap();
        for sql in [
            "UPDATE decisions SET verdict = 'rejected'",
            "DELETE FROM decisions",
        ] {
            let e = s.conn.execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("history"), "{e}");
        }
        assert_eq!(s.history().unwrap().len(), 1);
    }

    #[test]
    fn not_applicable_marks_and_withdrawals() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Store::open(t.path()).unwrap();
        s.record_not_applicable(&[
            NotApplicable::new("A.10.3", "No suppliers of AI.", "bob", false),
            NotApplicable::new("A.10.4", "No customers.", "bob", false),
        ])
        .unwrap();
        s.record_not_applicable(&[NotApplicable::new("A.10.4", "", "bob", true)])
            .unwrap();
        let na = s.not_applicable().unwrap();
        assert_eq!(na.len(), 1);
        assert_eq!(na["A.10.3"], "No suppliers of AI.");
        assert_eq!(s.not_applicable_history().unwrap().len(), 3);
    }

    #[test]
    fn a_newer_schema_is_refused_with_advice() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(crate::workspace::DECISIONS);
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let e = Store::open_path(&path).unwrap_err().to_string();
        assert!(
            e.contains("decisions.db") && e.contains("newer controlmap"),
            "{e}"
        );
    }

    #[test]
    fn open_if_exists_creates_nothing() {
        let t = tempfile::tempdir().unwrap();
        assert!(Store::open_if_exists(t.path()).unwrap().is_none());
        assert!(!t.path().join(crate::workspace::DECISIONS).exists());
        Store::open(t.path()).unwrap();
        let s = Store::open_if_exists(t.path()).unwrap().unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::CURRENT);
        s.integrity_check().unwrap();
    }

    #[test]
    fn migrates_a_hand_written_version_1_database() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(crate::workspace::DECISIONS);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(migrations::V1_SCHEMA).unwrap();
        c.execute_batch(
            "INSERT INTO decisions (content_hash, control, verdict, reviewer, comment, decided_at,
                                    run_id, confidence, passage_text)
             VALUES ('aa', 'A.2.2', 'accepted', 'alice', 'good', '2024-05-01T10:00:00.000000Z',
                     'run-1', 0.75, 'Old text.'),
                    ('aa', 'A.2.2', 'rejected', 'bob', NULL, '2024-05-02T10:00:00.000000Z',
                     'run-1', 0.75, 'Old text.'),
                    ('bb', 'A.5.2', 'linked', 'alice', NULL, '2024-05-03T10:00:00.000000Z',
                     NULL, NULL, 'Other text.');
             INSERT INTO not_applicable (control, justification, reviewer, decided_at)
             VALUES ('A.10.3', 'No suppliers.', 'carol', '2024-05-04T10:00:00.000000Z');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(c);
        let copy = t.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();

        let mut s = Store::open_path(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), 2);
        s.integrity_check().unwrap();
        let h = s.history().unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(
            (h[0].reviewer.as_str(), h[0].comment.as_deref()),
            ("alice", Some("good"))
        );
        assert_eq!(h[0].confidence, Some(0.75));
        assert_eq!(h[0].document, None);
        let cur = s.current_decisions().unwrap();
        assert_eq!(
            cur[&("aa".into(), "A.2.2".into())].verdict,
            Verdict::Rejected
        );
        assert_eq!(cur[&("bb".into(), "A.5.2".into())].verdict, Verdict::Linked);
        assert_eq!(s.not_applicable().unwrap()["A.10.3"], "No suppliers.");
        // What version 2 added works on the migrated database.
        s.record(&[decision("aa", "A.2.2", Verdict::Withdrawn)])
            .unwrap();
        assert_eq!(s.current_decisions().unwrap().len(), 1);
        // A reader (run, report, review list) brings an old store up to date too.
        let reader_ws = t.path().join("reader");
        std::fs::create_dir(&reader_ws).unwrap();
        std::fs::copy(&copy, reader_ws.join(crate::workspace::DECISIONS)).unwrap();
        let read = Store::open_if_exists(&reader_ws).unwrap().unwrap();
        assert_eq!(read.schema_version().unwrap(), 2);
        assert_eq!(read.history().unwrap().len(), 3);
        // Two copies of one old database agree on the old records' uids.
        let other = Store::open_path(&copy).unwrap();
        let uids = |h: &[Decision]| h.iter().map(|d| d.uid.clone()).collect::<Vec<_>>();
        assert_eq!(uids(&other.history().unwrap()), uids(&h));
        assert_eq!(
            other.not_applicable_history().unwrap()[0].uid,
            s.not_applicable_history().unwrap()[0].uid
        );
    }

    #[test]
    fn migrates_an_empty_database_from_version_0() {
        // A store whose creation an older controlmap cut short: SQLite's header, no tables.
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(crate::workspace::DECISIONS);
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); DROP TABLE t;")
            .unwrap();
        let s = Store::open_path(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::CURRENT);
    }

    #[test]
    fn a_store_is_made_whole_and_a_half_made_one_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(crate::workspace::DECISIONS);
        Store::open_path(&path).unwrap();
        // Made under another name and linked into place: nothing else is left behind.
        let names: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("decisions.db"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
        std::fs::write(&path, b"").unwrap();
        let e = Store::open_path(&path).unwrap_err().to_string();
        assert!(e.contains("it is empty (0 bytes)"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }
}
