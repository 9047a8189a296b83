//! What the mapper learns beyond the catalog:
//!
//! - [`vectors`]: labelled passages of real documents kept as vectors (`corpora/real`), built
//!   into the binary, which the default mapper learns from;
//! - labelled-item files (`run --learn`), read by [`crate::eval::labels`];
//! - [`decisions`]: the reviewers' decisions in a workspace.
//!
//! It reads; [`crate::mapping::Mapper::learn`] and [`crate::mapping::Mapper::remember`] do the
//! learning.

pub mod decisions;
pub mod vectors;

pub use decisions::{Decided, decided};
pub use vectors::LabelledVectors;
