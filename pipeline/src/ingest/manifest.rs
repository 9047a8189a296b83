//! What the last run saw: each parsed document's size, modification time, content hash and
//! passages. A re-run reuses the passages and vectors of documents whose content is unchanged,
//! so it costs little more than walking the folder.

use std::{collections::BTreeMap, path::Path, time::SystemTime};

use serde::{Deserialize, Serialize};

use crate::{ingest::chunk::Passage, ingest::parse::Format};

/// Bumped whenever parsing or chunking would cut the same file differently, so that an old
/// manifest's passages are not reused.
pub const MANIFEST_VERSION: u32 = 3;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// The model the passages' vectors were made with.
    pub model_id: String,
    /// Parsed documents by path relative to the policy folder.
    pub documents: BTreeMap<String, DocRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocRecord {
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
    pub sha256: String,
    pub format: Format,
    pub passages: Vec<Passage>,
    /// What the document says about itself (owner, version, review dates…), with where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<crate::ingest::parse::metadata::Fact>,
}

/// Size and modification time: when both match the record, the content is taken as unchanged
/// without reading the file.
pub fn stamp(path: &Path) -> std::io::Result<(u64, u128)> {
    let meta = fs_err::metadata(path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok((meta.len(), mtime))
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut f = fs_err::File::open(path)?;
    std::io::copy(&mut f, &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl Manifest {
    /// The manifest in `workspace`, or an empty one when there is none, it cannot be read, or
    /// it was written for another model or pipeline version (then everything is redone).
    pub fn load(workspace: &Path, model_id: &str) -> Self {
        let empty = || Manifest {
            version: MANIFEST_VERSION,
            model_id: model_id.to_string(),
            ..Default::default()
        };
        let Ok(text) = fs_err::read_to_string(workspace.join(crate::workspace::MANIFEST)) else {
            return empty();
        };
        match serde_json::from_str::<Manifest>(&text) {
            Ok(m) if m.version == MANIFEST_VERSION && m.model_id == model_id => m,
            _ => empty(),
        }
    }

    /// Writes the manifest whole or not at all.
    pub fn save(&self, workspace: &Path) -> crate::Result<()> {
        crate::workspace::write_whole(
            &workspace.join(crate::workspace::MANIFEST),
            &serde_json::to_vec(self)?,
        )
    }

    pub fn passage_count(&self) -> usize {
        self.documents.values().map(|d| d.passages.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_another_model_or_version() {
        let t = tempfile::tempdir().unwrap();
        let mut m = Manifest {
            version: MANIFEST_VERSION,
            model_id: "m1".into(),
            ..Default::default()
        };
        m.documents.insert(
            "a.md".into(),
            DocRecord {
                size: 3,
                mtime_ns: 7,
                sha256: "ab".into(),
                format: Format::Markdown,
                passages: vec![],
                metadata: vec![],
            },
        );
        m.save(t.path()).unwrap();
        assert_eq!(Manifest::load(t.path(), "m1").documents.len(), 1);
        assert!(Manifest::load(t.path(), "m2").documents.is_empty());
        let text = std::fs::read_to_string(t.path().join(crate::workspace::MANIFEST)).unwrap();
        std::fs::write(
            t.path().join(crate::workspace::MANIFEST),
            text.replace(
                &format!("\"version\":{MANIFEST_VERSION}"),
                "\"version\":999",
            ),
        )
        .unwrap();
        assert!(Manifest::load(t.path(), "m1").documents.is_empty());
        std::fs::write(t.path().join(crate::workspace::MANIFEST), "{ truncated").unwrap();
        assert!(Manifest::load(t.path(), "m1").documents.is_empty());
    }

    #[test]
    fn hashes_content() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(stamp(&p).unwrap().0, 3);
    }
}
