//! `eseutil-mk`: the same as `eseutil-rs mk` (`eseutil-rs /mk`).

fn main() -> std::process::ExitCode {
    eseutil::cli::main_mode("mk", std::env::args_os().skip(1).collect())
}
