//! controlmap maps an organisation's policies and procedures to the controls of
//! ISO/IEC 42001:2023 Annex A: which passages are evidence for which control, and which
//! controls have none.
//!
//! The library, by stage (data flows down this list):
//! - [`ingest`]: a policy folder's files walked, parsed and cut into passages;
//! - embedding: [`controlmap_models`], in the precision [`precision`] picks; indexing:
//!   [`controlmap_index`];
//! - [`catalog`]: the controls, with descriptions and evidence examples in our own words;
//! - [`mapping`]: passages scored against controls, calibrated, each control assessed;
//!   [`lessons`]: what it learns beyond the catalog (real documents' labelled vectors, built
//!   in; labelled files; reviewers' decisions);
//! - [`batch`]: the run as one call (ingest → embed → index → map → report);
//! - [`report`]: `report.json` (one type for writer and readers), coverage with reviewers'
//!   decisions applied, and every output (HTML, evidence register, Statement of
//!   Applicability, the terminal table);
//! - [`review`]: reviewers' decisions (SQLite, kept as history) and the one rule for what a
//!   verdict records ([`review::decide`]);
//! - [`search`]: hybrid search by free text or by control;
//! - [`eval`]: the mapper scored on labelled data;
//! - [`oscal`]: catalogs and a run's findings as OSCAL, and OSCAL catalogs read;
//! - [`workspace`]: every file a run writes, and how a command finds them;
//! - [`messages`]: progress and notes (library code never prints); [`error`]: the library's
//!   error.
//!
//! The faces over it: [`commands`] (the command line; [`cli`] holds its argument types) and
//! [`serve`] (the web UI).
//!
//! ```
//! let catalog = controlmap::catalog::Catalog::builtin();
//! assert_eq!(catalog.controls().count(), 38);
//! ```

pub mod batch;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod crosswalk;
pub mod error;
pub mod eval;
pub mod frameworks;
pub mod freshness;
pub mod ingest;
pub mod lessons;
pub mod mapping;
pub mod messages;
pub mod oscal;
pub mod precision;
pub mod report;
pub mod review;
pub mod search;
pub mod serve;
pub mod workspace;

pub use error::{Error, Result};
