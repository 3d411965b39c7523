//! `eseutil-cc`: the same as `eseutil-rs cc` (`eseutil-rs /cc`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("cc", std::env::args_os().skip(1).collect())
}
