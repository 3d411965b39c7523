//! `eseutil-k`: the same as `eseutil-rs k` (`eseutil-rs /k`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("k", std::env::args_os().skip(1).collect())
}
