//! Scoring the mapper against labelled data: [`metrics`] (P@1, R@3, R@5, MRR, calibration
//! error, suggestion precision, gap precision and recall), [`labels`] (labelled passages read
//! and embedded, for scoring and for learning), [`gold`] (a labelled corpus's gold mapping),
//! [`datasets`] (item files and corpora scored) and [`labelled_vectors`] (labelled vectors
//! scored, and the learning curve of reviewers' decisions).

pub mod crosswalk_agreement;
pub mod datasets;
pub mod gold;
pub mod labelled_vectors;
pub mod labels;
pub mod metrics;

pub use metrics::*;
