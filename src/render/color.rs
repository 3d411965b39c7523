//! The single color decision of the program.
//!
//! Color is used only on a terminal, never when `NO_COLOR` is set (to any
//! non-empty value), never with `TERM=dumb`, never under `--json`, and never
//! with `--color never`; `--color always` forces it. The only colored words
//! are database states and verdicts.

use std::io::IsTerminal;

use owo_colors::OwoColorize;

/// The user's `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Color on a terminal unless NO_COLOR or TERM=dumb.
    #[default]
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Resolves the choice against the environment and stdout.
pub fn use_color(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            !no_color && !dumb && std::io::stdout().is_terminal()
        }
    }
}

/// Paints a database state word: Clean Shutdown green, Dirty Shutdown and
/// other non-clean states red.
pub fn state(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    match text {
        "Clean Shutdown" => text.green().to_string(),
        "Just Created" => text.yellow().to_string(),
        _ => text.red().to_string(),
    }
}

/// Paints a good verdict green.
pub fn good(text: &str, color: bool) -> String {
    if color {
        text.green().to_string()
    } else {
        text.to_string()
    }
}

/// Paints a bad verdict red.
pub fn bad(text: &str, color: bool) -> String {
    if color {
        text.red().to_string()
    } else {
        text.to_string()
    }
}
