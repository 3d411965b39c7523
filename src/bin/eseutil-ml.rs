//! `eseutil-ml`: the same as `eseutil-rs ml` (`eseutil-rs /ml`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("ml", std::env::args_os().skip(1).collect())
}
