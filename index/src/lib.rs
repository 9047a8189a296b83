//! The passage index: a tantivy full-text index ([`TextIndex`]) and a memory-mapped file of
//! passage vectors beside it ([`VectorStore`]). Passages are identified by a `u64` the caller
//! chooses; this crate knows nothing of controls, models or document formats, and takes
//! vectors as plain `&[f32]`.
//!
//! ```no_run
//! use controlmap_index::{Passage, TextIndex, VectorStore};
//! # fn main() -> Result<(), controlmap_index::Error> {
//! let dir = std::path::Path::new("workspace");
//! let mut index = TextIndex::create_or_open(&dir.join("index"))?;
//! index.replace_all(&[Passage {
//!     id: 7,
//!     document: "policies/ai-policy.md".into(),
//!     title: "AI policy".into(),
//!     heading: "1 Purpose".into(),
//!     page: None,
//!     format: "markdown".into(),
//!     text: "The AI policy is reviewed every year.".into(),
//! }])?;
//! VectorStore::write(&dir.join("vectors.bin"), "model@1", 2, &[7], &[0.6, 0.8])?;
//! let vectors = VectorStore::open(&dir.join("vectors.bin"), Some("model@1"))?;
//! let best = vectors.search(&[0.6, 0.8], 1);
//! assert_eq!(best[0].id, 7);
//! # Ok(()) }
//! ```

pub mod ann;
mod error;
mod hybrid;
mod ids;
mod read_only;
mod text;
mod vectors;

pub use ann::{Dense, Synced};
pub use error::{Error, Result};
pub use hybrid::{Fused, Fusion, fuse};
pub use ids::IdSet;
pub use text::{Filters, Passage, Snippet, TextHit, TextIndex};
pub use vectors::{VectorHit, VectorStore, dot};
