//! The `brokerdash` binary: parse the command line and run the chosen command.

fn main() -> std::process::ExitCode {
    brokerdash::cli::run()
}
