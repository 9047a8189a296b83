//! Record identifiers: a fresh one for each new decision, and one derived from the fields of
//! a record that came without one (an old database, an imported file).

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// A uid no other record has: the record's fields, the time, this process and a counter.
pub(crate) fn fresh_uid(parts: &[&str]) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nonce = format!(
        "{}:{}:{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
    );
    let mut h = Sha256::new();
    for p in parts.iter().copied().chain([nonce.as_str()]) {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize()[..16])
}

/// The uid of a record that came without one (an old database, a hand-written file): a hash
/// of its fields, so the same record always gets the same uid.
pub(crate) fn derived_uid(kind: &str, parts: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
