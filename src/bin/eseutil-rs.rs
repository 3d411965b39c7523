//! `eseutil-rs`: the main command (eseutil syntax and GNU subcommands).

fn main() -> std::process::ExitCode {
    eseutil::cli::main(std::env::args_os().skip(1).collect())
}
