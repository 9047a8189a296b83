//! How a decision store's file is recognised and opened: a file that is not a store of ours
//! (empty, not SQLite, another program's database) told apart before anything is written to
//! it, the write-ahead log switched on, and read-only opening's details.

use std::{path::Path, time::Duration};

use rusqlite::Connection;

use super::{Error, migrations};

/// SQLite's file header, which every database of any version begins with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A store of ours is an SQLite database: an empty file or another kind of file is not.
pub(super) fn check_header(path: &Path) -> Result<(), Error> {
    use std::io::Read;
    let not = |why: &str| Error::NotAStore {
        path: path.to_path_buf(),
        why: why.into(),
    };
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| not(&format!("cannot read it: {e}")))?;
    if head.is_empty() {
        return Err(not("it is empty (0 bytes)"));
    }
    if head != SQLITE_HEADER {
        return Err(not("it is not an SQLite database"));
    }
    Ok(())
}

/// The schema version of an opened store, after checking that it is ours: version 0 with no
/// tables is a store whose creation was cut short (made by an older controlmap) and is
/// brought up to date; anything else without our `decisions` table is another program's.
pub(super) fn check_schema(conn: &Connection, path: &Path) -> Result<u32, Error> {
    let not = |why: String| Error::NotAStore {
        path: path.to_path_buf(),
        why,
    };
    let read = || -> rusqlite::Result<(u32, Vec<String>)> {
        let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok((version, tables))
    };
    let (version, tables) = read().map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            not(format!("SQLite cannot read it: {e}"))
        }
        _ => Error::sqlite(path, e),
    })?;
    // A newer controlmap's store is refused as such, by the migration.
    if version > migrations::CURRENT {
        return Ok(version);
    }
    let ours = tables.iter().any(|t| t == "decisions");
    if (version == 0 && !tables.is_empty()) || (version > 0 && !ours) {
        return Err(not(format!(
            "an SQLite database with schema version {version} and tables {}",
            if tables.is_empty() {
                "none".into()
            } else {
                tables.join(", ")
            }
        )));
    }
    Ok(version)
}

/// Switches to the write-ahead log. The switch takes a lock the busy handler does not always
/// wait for, so two processes opening the store at once retry here. The mode is persistent:
/// once set, this is a no-op.
pub(super) fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mut tries = 0;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && tries < 600 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the store has a non-empty write-ahead log beside it (decisions not yet copied into
/// the database file, which an immutable open would not see).
pub(super) fn has_log(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

/// `path` as the path of an SQLite `file:` URI: `?`, `#` and `%` escaped.
pub(super) fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
