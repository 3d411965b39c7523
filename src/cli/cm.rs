//! `/cm`: dump a restore environment (`restore.env`) in Exchange eseutil's
//! layout (`DBUTLIDumpRestoreEnv`, `eseutil/eseutil.cxx` ~3900–4011).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::error::{Error, FormatError, Jet};
use crate::log::naming::{list_logs, LogNameKind};
use crate::parse::restore_env::{
    detect, parse_restore_env, RestoreEnv, RestoreEnvFormat, MAX_RESTORE_ENV_SIZE,
};
use crate::render;

/// Arguments of `/cm`.
#[derive(Debug, Args)]
pub struct CmArgs {
    /// The restore folder (holding `restore.env` or `<Base>Restore.env`), or the file itself.
    pub path: PathBuf,
}

use super::stdout_err as io_err;

pub use crate::log::backup_set::find_restore_env;

/// The restored log generations of `base` in `dir` (archived ones only).
pub fn restored_generations(dir: &Path, base: &str) -> Option<(u32, u32)> {
    let (logs, _) = list_logs(dir, base).ok()?;
    let gens: Vec<u32> = logs
        .iter()
        .filter_map(|l| match l.name.kind {
            LogNameKind::Generation(g) => Some(g),
            _ => None,
        })
        .collect();
    Some((*gens.iter().min()?, *gens.iter().max()?))
}

/// Runs `/cm`.
pub fn run(args: &CmArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let env_path = find_restore_env(&args.path)?;
    let folder = env_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut input = crate::file::Input::open(&env_path)?;
    if input.len > MAX_RESTORE_ENV_SIZE as u64 {
        return Err(Error::not_ese(
            &env_path,
            FormatError::new(
                0,
                Jet::FILE_INVALID_TYPE,
                format!("{} bytes is too large for a restore.env", input.len),
            ),
        ));
    }
    let bytes = input.read_at(0, input.len as usize)?;
    let kind = crate::file::identify(&bytes);
    if kind.dump_mode().is_some() || matches!(kind, crate::file::FileKind::Checkpoint) {
        return Err(super::wrong_kind(&env_path, kind, "a restore.env"));
    }
    if detect(&bytes) == RestoreEnvFormat::Binary {
        let e = parse_restore_env(&bytes).expect_err("binary is refused");
        return Err(Error::Unsupported(format!(
            "{}: {}",
            env_path.display(),
            e.detail
        )));
    }
    let env = parse_restore_env(&bytes).map_err(|e| Error::corrupt(&env_path, e))?;
    let base = env.log_base_name.clone().unwrap_or_default();
    let range = if base.is_empty() {
        None
    } else {
        restored_generations(&folder, &base)
    };
    if ctx.common.json {
        write_json(out, &CmReport::new(&env_path, &folder, &env, range))?;
    } else {
        let text = render::restore_env::dump(&folder.display().to_string(), &env, range);
        out.write_all(text.as_bytes()).map_err(io_err)?;
    }
    Ok(super::exit::OK)
}

/// The `/cm --json` document.
#[derive(Debug, serde::Serialize)]
pub struct CmReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "cm".
    pub mode: &'static str,
    /// The restore.env file read.
    pub file: String,
    /// The restore folder.
    pub restore_path: String,
    /// Always "tagged" (binary files are refused).
    pub format: RestoreEnvFormat,
    /// Parsed content.
    pub restore_env: RestoreEnv,
    /// Restored log generations found in the folder for LOG_BASE_NAME.
    pub restored_log_generations: Option<(u32, u32)>,
}

impl CmReport {
    fn new(file: &Path, folder: &Path, env: &RestoreEnv, range: Option<(u32, u32)>) -> Self {
        CmReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "cm",
            file: file.display().to_string(),
            restore_path: folder.display().to_string(),
            format: RestoreEnvFormat::Tagged,
            restore_env: env.clone(),
            restored_log_generations: range,
        }
    }
}
