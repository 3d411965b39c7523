//! Evidence of the inputs of a recovery (`/r`, `/cc`): what each input was
//! when it was read, and the check made after the run that it still is.
//!
//! No input is read twice by default: the database is hashed on a worker
//! thread while redo runs, in the pass that copies it into its working
//! file (after a reflink clone, by a plain read; with `--in-place`, ahead
//! of redo's writes, see [`super::store`]), every log while it is read for
//! redo. After the run each input's size, modification time and inode
//! are compared with those taken when it was opened; `--verify-inputs`
//! re-reads and re-hashes them instead, `--no-hash` takes no hash at all.
//! The report states which check was made ([`InputCheck`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use serde::Serialize;

use crate::file::HashAlgorithm;

/// Default page cache of a recovery run, MiB, shared by the databases
/// attached (`Redo::put_db`). With the bounded log pipeline
/// this keeps a whole `/r` run under 256 MiB however many are attached.
pub const DEFAULT_CACHE_MIB: usize = 64;

/// How recovery reads its inputs and writes its outputs.
#[derive(Debug, Clone, Default)]
pub struct IoOptions {
    /// `--cache-mib`: page cache of the run, MiB, shared evenly by the
    /// databases open (`None`: [`DEFAULT_CACHE_MIB`]; each keeps at least
    /// one page).
    pub cache_mib: Option<usize>,
    /// `--no-hash`: no input is hashed.
    pub no_hash: bool,
    /// `--hash-algorithm`: the hash taken of every input.
    pub hash_algorithm: HashAlgorithm,
    /// `--verify-inputs`: every input is read and hashed again after the run.
    pub verify_inputs: bool,
    /// `--in-place`: existing databases are replayed in the database folder
    /// itself (no working copy); everything else is still only read.
    pub in_place: bool,
}

impl IoOptions {
    /// The page cache size in bytes.
    pub fn cache_bytes(&self) -> usize {
        self.cache_mib
            .unwrap_or(DEFAULT_CACHE_MIB)
            .saturating_mul(1 << 20)
    }

    /// The hash taken of inputs while they are read (`None`: `--no-hash`).
    pub fn hash(&self) -> Option<HashAlgorithm> {
        (!self.no_hash).then_some(self.hash_algorithm)
    }

    /// The check these options make.
    pub fn check(&self) -> InputCheck {
        InputCheck {
            hash: if self.no_hash {
                HashWhen::NotHashed
            } else {
                HashWhen::WhileRead
            },
            after: if self.verify_inputs && !self.no_hash {
                AfterCheck::HashReread
            } else {
                AfterCheck::SizeMtimeInode
            },
            algorithm: self.hash(),
        }
    }
}

/// When the inputs were hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashWhen {
    /// The hash of the bytes read for the run, as they were read.
    WhileRead,
    /// `--no-hash`: no hash was taken.
    NotHashed,
}

/// How the inputs were checked after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterCheck {
    /// Size, modification time and inode compared with those at opening.
    SizeMtimeInode,
    /// `--verify-inputs`: read again, hash compared (and the metadata).
    HashReread,
}

/// Which check of the inputs was made (stated by the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InputCheck {
    /// When the inputs were hashed.
    pub hash: HashWhen,
    /// How they were checked after the run.
    pub after: AfterCheck,
    /// The hash taken (`None`: not hashed).
    pub algorithm: Option<HashAlgorithm>,
}

impl InputCheck {
    /// One line for the text report.
    pub fn describe(&self) -> String {
        let name = self.algorithm.map_or("hash", HashAlgorithm::name);
        match (self.hash, self.after) {
            (HashWhen::NotHashed, _) => {
                "not hashed (--no-hash); checked after the run by size, mtime and inode".into()
            }
            (HashWhen::WhileRead, AfterCheck::SizeMtimeInode) => format!(
                "{name} taken while read; checked after the run by size, mtime and inode (--verify-inputs re-hashes)"
            ),
            (HashWhen::WhileRead, AfterCheck::HashReread) => {
                format!("{name} taken while read = {name} re-read after the run (--verify-inputs)")
            }
        }
    }
}

/// Size, modification time and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FileFacts {
    /// Length in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Its nanoseconds.
    pub mtime_nsec: i64,
    /// Inode number.
    pub inode: u64,
    /// Device.
    pub dev: u64,
}

impl FileFacts {
    /// The facts of an open file or of metadata read by path.
    pub fn of(m: &std::fs::Metadata) -> FileFacts {
        use std::os::unix::fs::MetadataExt;
        FileFacts {
            size: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            inode: m.ino(),
            dev: m.dev(),
        }
    }

    /// The facts of `path` now (`None` when it cannot be read).
    pub fn now(path: &Path) -> Option<FileFacts> {
        std::fs::metadata(path).ok().map(|m| FileFacts::of(&m))
    }
}

/// An input's hash: taken, being taken by a worker, or not taken.
#[derive(Debug)]
pub enum InputHash {
    /// Lower-case hex (or `unreadable: …`).
    Done(String),
    /// Hashed by a worker a [`super::store::PageStore`] owns and joins
    /// (the copy of its input, or the hash of a database replayed in place).
    Later(LaterHash),
    /// `--no-hash`.
    None,
}

impl InputHash {
    /// Hashes `path` now.
    pub fn now(path: &Path, algorithm: HashAlgorithm) -> InputHash {
        InputHash::Done(hash_text(path, algorithm))
    }

    /// A hash with `algorithm` a worker will deliver into the returned slot.
    pub(crate) fn later(algorithm: HashAlgorithm) -> (InputHash, Arc<HashSlot>) {
        let slot = Arc::new(HashSlot {
            algorithm,
            value: Mutex::new(None),
            ready: Condvar::new(),
            unwanted: AtomicBool::new(false),
        });
        (InputHash::Later(LaterHash(Arc::clone(&slot))), slot)
    }

    pub(crate) fn wait(self) -> Option<String> {
        match self {
            InputHash::Done(s) => Some(s),
            InputHash::Later(l) => Some(l.wait()),
            InputHash::None => None,
        }
    }
}

/// Where a worker delivers the hash it takes; the worker puts something
/// there whatever happens (`unreadable: …` when it stopped).
#[derive(Debug)]
pub struct HashSlot {
    /// The hash to take.
    algorithm: HashAlgorithm,
    value: Mutex<Option<String>>,
    ready: Condvar,
    /// The waiting end ([`LaterHash`]) was dropped: nobody reads the hash.
    unwanted: AtomicBool,
}

impl HashSlot {
    /// The hash to take.
    pub(crate) fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Delivers the hash (only the first delivery counts).
    pub(crate) fn put(&self, text: String) {
        let mut v = self.value.lock().unwrap_or_else(|e| e.into_inner());
        if v.is_none() {
            *v = Some(text);
        }
        self.ready.notify_all();
    }

    /// Whether anyone still waits for the hash.
    pub(crate) fn wanted(&self) -> bool {
        !self.unwanted.load(Ordering::Acquire)
    }
}

/// The waiting end of a [`HashSlot`]; dropping it tells the worker that
/// nobody reads the hash any more.
#[derive(Debug)]
pub struct LaterHash(Arc<HashSlot>);

impl LaterHash {
    /// Waits until the worker delivered the hash.
    pub fn wait(&self) -> String {
        let mut v = self.0.value.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(t) = v.as_ref() {
                return t.clone();
            }
            v = self.0.ready.wait(v).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for LaterHash {
    fn drop(&mut self) {
        self.0.unwanted.store(true, Ordering::Release);
    }
}

fn hash_text(path: &Path, algorithm: HashAlgorithm) -> String {
    crate::file::hash_file(path, algorithm).unwrap_or_else(|e| format!("unreadable: {e}"))
}

/// What an input was when it was read.
#[derive(Debug)]
pub struct ReadEvidence {
    /// Its facts when opened (`None`: could not be read).
    pub facts: Option<FileFacts>,
    /// Its hash.
    pub hash: InputHash,
}

/// The inputs of one run, collected as they are opened (first read wins).
#[derive(Debug, Default)]
pub struct Inputs {
    items: Vec<(PathBuf, ReadEvidence, bool)>,
    /// The paths of `items`: one look-up per input, not a scan (a run may
    /// read thousands of logs).
    seen: HashSet<PathBuf>,
}

impl Inputs {
    /// Adds an input read elsewhere (a log, the database copy).
    pub fn add(&mut self, path: &Path, ev: ReadEvidence) {
        self.push(path, ev, false);
    }

    /// Adds a database replayed in place (`--in-place`): its change is wanted.
    pub fn add_written_in_place(&mut self, path: &Path, ev: ReadEvidence) {
        self.push(path, ev, true);
    }

    /// Adds a small input read whole here (checkpoint, restore.env).
    pub fn add_file(&mut self, path: &Path, hash: Option<HashAlgorithm>) {
        let facts = FileFacts::now(path);
        let hash = hash.map_or(InputHash::None, |a| InputHash::now(path, a));
        self.push(path, ReadEvidence { facts, hash }, false);
    }

    fn push(&mut self, path: &Path, ev: ReadEvidence, in_place: bool) {
        if !self.seen.contains(path) {
            self.seen.insert(path.to_path_buf());
            self.items.push((path.to_path_buf(), ev, in_place));
        }
    }

    /// Waits for the hashes still being taken and checks every input as
    /// `check` says.
    pub fn finish(self, check: InputCheck) -> Vec<InputFile> {
        self.items
            .into_iter()
            .map(|(path, ev, in_place)| {
                let before = ev.hash.wait();
                let after = FileFacts::now(&path);
                let hash_after = match (check.after, check.algorithm, &before) {
                    (AfterCheck::HashReread, Some(a), Some(_)) => Some(hash_text(&path, a)),
                    _ => None,
                };
                let same_facts = ev.facts.is_some() && ev.facts == after;
                let same_hash = hash_after.is_none() || hash_after == before;
                InputFile {
                    unchanged: same_facts && same_hash,
                    path,
                    hash_before: before,
                    hash_after,
                    facts_before: ev.facts,
                    facts_after: after,
                    written_in_place: in_place,
                }
            })
            .collect()
    }
}

/// One input file and its check.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// Path.
    pub path: PathBuf,
    /// The hash of the bytes read for the run (null with `--no-hash`),
    /// taken with the report's `input_check.algorithm`.
    pub hash_before: Option<String>,
    /// The hash read again after the run (`--verify-inputs` only).
    pub hash_after: Option<String>,
    /// Size, mtime and inode when opened.
    pub facts_before: Option<FileFacts>,
    /// Size, mtime and inode after the run.
    pub facts_after: Option<FileFacts>,
    /// The after-check found the input as it was read.
    pub unchanged: bool,
    /// A database replayed in place (`--in-place`): changed on purpose.
    pub written_in_place: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_check_sees_a_rewrite_and_reread_sees_content() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a");
        std::fs::write(&f, b"one").unwrap();
        let io = IoOptions::default();
        let mut ins = Inputs::default();
        ins.add_file(&f, io.hash());
        ins.add_file(&f, io.hash());
        let out = ins.finish(io.check());
        assert_eq!(out.len(), 1);
        assert!(out[0].unchanged && out[0].hash_after.is_none());
        let mut ins = Inputs::default();
        ins.add_file(&f, io.hash());
        std::fs::write(&f, b"two!").unwrap();
        assert!(!ins.finish(io.check())[0].unchanged);
        let io = IoOptions {
            verify_inputs: true,
            ..Default::default()
        };
        let mut ins = Inputs::default();
        ins.add_file(&f, io.hash());
        let out = ins.finish(io.check());
        assert!(out[0].unchanged);
        assert_eq!(out[0].hash_after, out[0].hash_before);
        let io = IoOptions {
            no_hash: true,
            ..Default::default()
        };
        let mut ins = Inputs::default();
        ins.add_file(&f, io.hash());
        let out = ins.finish(io.check());
        assert!(out[0].unchanged && out[0].hash_before.is_none());
    }
}
