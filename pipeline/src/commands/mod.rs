//! One module per subcommand.

pub mod embed;
pub mod eval;
pub mod parse_worker;
pub mod report;
pub mod review;
pub mod run;
pub mod search;
pub mod serve;
pub mod tune;

/// The work is done, with findings the user asked to fail on (`--fail-on-gaps`): exit code 1,
/// where an error is 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Findings(pub String);
