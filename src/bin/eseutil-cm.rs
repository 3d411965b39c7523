//! `eseutil-cm`: the same as `eseutil-rs cm` (`eseutil-rs /cm`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("cm", std::env::args_os().skip(1).collect())
}
