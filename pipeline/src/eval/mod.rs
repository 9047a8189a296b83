//! Scoring the mapper against labelled data: [`metrics`] (P@1, R@3, R@5, MRR, calibration
//! error, gap precision and recall), [`labels`] (labelled passages read and embedded, for
//! scoring and for learning) and [`gold`] (a labelled corpus's gold mapping).

pub mod datasets;
pub mod gold;
pub mod labels;
pub mod metrics;

pub use metrics::*;
