//! One module per subcommand.

pub mod eval;
pub mod parse_worker;
pub mod review;
pub mod run;
pub mod search;
