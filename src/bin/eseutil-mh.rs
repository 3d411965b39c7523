//! `eseutil-mh`: the same as `eseutil-rs mh` (`eseutil-rs /mh`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("mh", std::env::args_os().skip(1).collect())
}
