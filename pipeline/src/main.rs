use std::process::ExitCode;

fn main() -> ExitCode {
    controlmap::commands::main()
}
