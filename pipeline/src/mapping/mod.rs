//! Mapping passages to controls, and what the mapping's figures mean.
//!
//! - [`mapper`]: the catalog's controls embedded once ([`Mapper`]), scoring passages by
//!   cosine to each control's description, evidence examples and counter-examples, a linear
//!   probe fitted on the catalog (and on learned labels), and keyword matches, combined by
//!   [`Weights`]; a [`Rationale`] for each suggestion;
//! - [`probe`]: the linear probe's fit (catalog rows, learned rows balanced by control);
//! - [`weights`]: how the signals combine, and the `--weights` syntax `eval` takes;
//! - [`contexts`]: the heading path a passage is read in, and its section's neighbours;
//!   [`context_cache`] keeps the headings' vectors between runs;
//! - [`scope`]: which documents a framework applies to, and document-control text that is
//!   evidence for nothing;
//! - [`decisions`]: reviewers' decisions remembered passage by passage;
//! - [`passages`]: a corpus's passages mapped in one call ([`map_passages`]);
//! - [`calibration`]: scores into probabilities; [`stored_calibration`], a calibration fitted
//!   for a tuned model and kept beside it;
//! - [`mod@assess`]: each control's status (evidence, weak, gap) from the confidences;
//! - [`centring`]: the "all but the top" transform `common=K` applies to vectors.
//!
//! It does not read files or write reports; what it learns is handed to it
//! ([`Mapper::learn`], [`Mapper::remember`]).

pub mod assess;
pub mod calibration;
pub mod centring;
pub mod context_cache;
pub mod contexts;
pub mod decisions;
pub mod mapper;
pub mod passages;
pub mod probe;
pub mod scope;
pub mod stored_calibration;
pub mod weights;

pub use assess::{Assessment, Status, Thresholds, assess, top_k};
pub use calibration::Calibration;
pub use contexts::{Batch, Contexts, context_of, section_key};
pub use mapper::{Mapper, Rationale};
pub use passages::{Mapped, Prepared, map_passages, map_prepared, mute};
pub use probe::Origin;
pub use scope::{Scope, contains_word, count_words, is_document_control};
pub use weights::Weights;
