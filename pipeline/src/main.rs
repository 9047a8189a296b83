use std::process::ExitCode;

fn main() -> ExitCode {
    controlmap::cli::main()
}
