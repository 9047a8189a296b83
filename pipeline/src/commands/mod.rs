//! One module per subcommand.

pub mod parse_worker;
pub mod review;
pub mod run;
pub mod search;
