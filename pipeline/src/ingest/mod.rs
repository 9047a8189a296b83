//! From a policy folder to passages: [`walk`] finds the files (hidden and
//! `.controlmapignore`d paths left out), [`parse`] reads each into blocks of text under their
//! headings (PDF and DOCX in a worker process, see [`parse::contain`]), [`chunk`] cuts blocks
//! into passages within the model's token limit, [`manifest`] remembers what the last run
//! read so unchanged files are not read again, and [`ordered`] runs parsing in parallel while
//! handing results on in the walk's order.
//!
//! It does not embed, index or map; [`crate::batch`] strings the stages together.

pub mod chunk;
pub mod manifest;
pub mod ordered;
pub mod parse;
pub mod walk;
