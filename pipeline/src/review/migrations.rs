//! The decision store's schema, one migration per version. The database's `PRAGMA
//! user_version` says which version it has; opening it applies the missing migrations in one
//! transaction. A migration, once released, never changes: a new schema is a new entry.

use rusqlite::Transaction;

use super::uid::derived_uid;

/// The schema version this build writes.
pub const CURRENT: u32 = 2;

/// `MIGRATIONS[i]` takes a database from version `i` to version `i + 1`.
const MIGRATIONS: [fn(&Transaction) -> rusqlite::Result<()>; CURRENT as usize] = [v1, v2];

/// Brings a database at version `from` up to [`CURRENT`] inside `tx`.
pub(crate) fn migrate(tx: &Transaction, from: u32) -> rusqlite::Result<()> {
    for (i, step) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        step(tx)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
    }
    Ok(())
}

/// Version 1: decisions keyed by (content hash, control) with the passage's text at decision
/// time, and not-applicable marks; both kept as history.
pub(crate) const V1_SCHEMA: &str = "
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    control TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'linked')),
    reviewer TEXT NOT NULL,
    comment TEXT,
    decided_at TEXT NOT NULL,
    run_id TEXT,
    confidence REAL,
    passage_text TEXT NOT NULL
);
CREATE INDEX decisions_by_key ON decisions (content_hash, control);
CREATE TABLE not_applicable (
    id INTEGER PRIMARY KEY,
    control TEXT NOT NULL,
    justification TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0
);
";

fn v1(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(V1_SCHEMA)
}

/// Version 2:
/// - every record gets a `uid`, so that importing a file twice adds nothing; records of
///   version 1 get one derived from their fields, so that two copies of the same old database
///   agree on it;
/// - a decision can be `withdrawn` (undo: the suggestion is pending again), which needs the
///   table rebuilt because SQLite cannot change a CHECK constraint;
/// - a decision keeps where its passage was (document, heading, page), to find the passage
///   that replaced it when its text changes;
/// - records can no longer be updated or deleted: a change is a new record.
fn v2(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
CREATE TABLE decisions_v2 (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    control TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'linked', 'withdrawn')),
    reviewer TEXT NOT NULL,
    comment TEXT,
    decided_at TEXT NOT NULL,
    run_id TEXT,
    confidence REAL,
    passage_text TEXT NOT NULL,
    document TEXT,
    heading TEXT,
    page INTEGER
);
INSERT INTO decisions_v2 (id, uid, content_hash, control, verdict, reviewer, comment,
                          decided_at, run_id, confidence, passage_text)
    SELECT id, 'v1-' || id, content_hash, control, verdict, reviewer, comment,
           decided_at, run_id, confidence, passage_text FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_v2 RENAME TO decisions;
CREATE INDEX decisions_by_key ON decisions (content_hash, control);
CREATE INDEX decisions_by_time ON decisions (decided_at, id);
ALTER TABLE not_applicable ADD COLUMN uid TEXT;
",
    )?;
    // Derive the uids of the old records from their fields.
    let rows: Vec<(i64, String)> = {
        let mut st = tx.prepare(
            "SELECT id, content_hash, control, verdict, reviewer, coalesce(comment, ''),
                    decided_at FROM decisions",
        )?;
        st.query_map([], |r| {
            let parts: Vec<String> = (1..7).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            Ok((r.get(0)?, derived_uid("decision", &parts)))
        })?
        .collect::<Result<_, _>>()?
    };
    for (id, uid) in rows {
        tx.execute("UPDATE decisions SET uid = ?1 WHERE id = ?2", (uid, id))?;
    }
    let rows: Vec<(i64, String)> = {
        let mut st = tx.prepare(
            "SELECT id, control, justification, reviewer, decided_at, withdrawn
             FROM not_applicable",
        )?;
        st.query_map([], |r| {
            let mut parts: Vec<String> = (1..5).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            parts.push(r.get::<_, i64>(5)?.to_string());
            Ok((r.get(0)?, derived_uid("not_applicable", &parts)))
        })?
        .collect::<Result<_, _>>()?
    };
    for (id, uid) in rows {
        tx.execute(
            "UPDATE not_applicable SET uid = ?1 WHERE id = ?2",
            (uid, id),
        )?;
    }
    tx.execute_batch(
        "
CREATE UNIQUE INDEX not_applicable_uid ON not_applicable (uid);
CREATE TRIGGER decisions_are_history_u BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are history: add a record instead'); END;
CREATE TRIGGER decisions_are_history_d BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are history: add a record instead'); END;
CREATE TRIGGER not_applicable_is_history_u BEFORE UPDATE ON not_applicable
    BEGIN SELECT RAISE(ABORT, 'not-applicable marks are history: add a record instead'); END;
CREATE TRIGGER not_applicable_is_history_d BEFORE DELETE ON not_applicable
    BEGIN SELECT RAISE(ABORT, 'not-applicable marks are history: add a record instead'); END;
",
    )
}
