//! controlmap maps an organisation's policies and procedures to the controls of
//! ISO/IEC 42001:2023 Annex A: which passages are evidence for which control, and which
//! controls have none.
//!
//! The pipeline, one module per stage:
//! - [`walk`]: the files of a policy folder (hidden and `.controlmapignore`d paths left out);
//! - [`parse`]: files into blocks of text under their headings;
//! - [`chunk`]: blocks into passages within the model's token limit;
//! - [`ordered`]: parallel work consumed in input order, with bounded read-ahead (how `run`
//!   streams parsed files into embedding);
//! - embedding: [`controlmap_models`];
//! - indexing: [`controlmap_index`];
//! - [`catalog`]: the controls, with descriptions and evidence examples in our own words;
//! - [`map`]: passages scored against controls;
//! - [`report`]: coverage and gaps with reviewers' decisions applied: the table, `report.json`,
//!   `report.html`, the evidence register (`evidence.csv`) and a draft Statement of
//!   Applicability (`soa.csv`);
//! - [`review`]: reviewers' decisions (SQLite, kept as history), the review commands and queue;
//! - [`serve`]: the web UI (`controlmap serve`) over the same report, store and search;
//! - [`gold`]: a labelled corpus's gold mapping, for evaluation and parser checks.
//!
//! ```
//! let catalog = controlmap::catalog::Catalog::builtin();
//! assert_eq!(catalog.controls().count(), 38);
//! ```

pub mod catalog;
pub mod chunk;
pub mod cli;
pub mod commands;
pub mod common;
pub mod context_cache;
pub mod eval;
pub mod gold;
pub mod manifest;
pub mod map;
pub mod model_calibration;
pub mod ordered;
pub mod parse;
pub mod report;
pub mod review;
pub mod serve;
pub mod walk;
