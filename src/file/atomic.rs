//! Writing an output file atomically: a new temporary file in the target's
//! folder, written, synced and renamed over the target only when complete.
//! A run that fails or is dropped half-way removes its temporary file and
//! leaves the target as it was (evidence is never half-written).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

/// Temporary files made by this process so far (names stay unique when
/// several are open at once, e.g. one per exported table).
static COUNT: AtomicU32 = AtomicU32::new(0);

/// An output under way: `file()` is the temporary file (read and write),
/// [`AtomicFile::commit`] puts it in place.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Starts writing `target`, which is replaced on commit whatever it is:
    /// for a caller that has decided the target may go (`--force`, or its
    /// own check that an existing file is an earlier output of the same
    /// input). The temporary file is new (never opened through a symlink or
    /// over another file) and hidden: `.<name>.eseutil-rs-<pid>-<n>.tmp`.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{} names no file", target.display())))?;
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{}.eseutil-rs-{}-{n}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// [`AtomicFile::create`] for a target that must not exist yet unless
    /// `force`: an existing file (or symlink) is refused with a usage error
    /// that suggests `--force` or `another` (e.g. "another --output").
    pub fn create_new(target: &Path, force: bool, another: &str) -> Result<AtomicFile> {
        if !force && std::fs::symlink_metadata(target).is_ok() {
            return Err(Error::Usage(format!(
                "{} exists: not replaced; use --force to replace it or choose {another}",
                target.display()
            )));
        }
        AtomicFile::create(target)
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until commit")
    }

    /// Where the bytes go until the commit (for error messages).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// The file it will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the temporary file and renames it over the target; on error
    /// the temporary file is removed.
    pub fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("open until commit");
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicFile {
    /// Not committed: the temporary file goes.
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_the_target_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("out.csv");
        std::fs::write(&t, b"old").unwrap();
        let mut a = AtomicFile::create(&t).unwrap();
        assert!(a.tmp_path().starts_with(d.path()));
        a.file().write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&t).unwrap(), b"old");
        a.commit().unwrap();
        assert_eq!(std::fs::read(&t).unwrap(), b"new");
        assert_eq!(names(d.path()), ["out.csv"]);
    }

    #[test]
    fn dropped_before_commit_removes_the_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("out.csv");
        {
            let mut a = AtomicFile::create(&t).unwrap();
            a.file().write_all(b"half").unwrap();
        }
        assert!(names(d.path()).is_empty());
    }

    #[test]
    fn an_existing_target_is_refused_unless_forced() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("out.csv");
        std::fs::write(&t, b"theirs").unwrap();
        let e = AtomicFile::create_new(&t, false, "another file").unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(names(d.path()), ["out.csv"]);
        AtomicFile::create_new(&t, true, "another file")
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(std::fs::read(&t).unwrap(), b"");
    }
}
