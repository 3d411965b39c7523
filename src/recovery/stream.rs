//! The log pipeline of recovery (`/r`, `/cc`): a reader thread reads,
//! verifies (segments or LRCHECKSUMs) and decodes one generation at a time
//! (`read_log`), at most `AHEAD` generations ahead of redo, and
//! checks every boundary between two generations (a gap, and for hard
//! recovery the signature and tmPrevGen) before the next one is handed to
//! redo. Memory is that of a few generations, whatever the number of logs.
//!
//! ESE reads the logs the same way, one generation after the other
//! (`LOG::ErrLGRRedo`, `ese/_log/logredo.cxx`; the next generation is
//! opened by `ErrLGRedoFill`, `ese/_log/logread.cxx`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{read_log, LogIn};
use crate::error::{Error, FormatError, Jet};
use crate::log::record::LogRecord;
use crate::parse::primitives::Signature;

/// Generations read ahead of redo (decoded and waiting in the channel).
pub(crate) const AHEAD: usize = 2;

/// One file of the stream, in log order.
#[derive(Debug, Clone)]
pub(crate) struct LogSource {
    /// The log file.
    pub path: PathBuf,
    /// A damaged file is reported under this code (hard recovery: −573
    /// restored set, −574 play forward) instead of the reader's.
    pub damage: Option<Jet>,
    /// The generation the file name says, checked against the header
    /// (hard recovery: `JET_errLogGenerationMismatch` when they differ).
    pub name_generation: Option<u32>,
    /// Hash the file from the bytes read with this (evidence; `None`:
    /// `--no-hash`).
    pub hash: Option<crate::file::HashAlgorithm>,
}

/// What is kept of the previous generation to check the next one against.
#[derive(Debug, Clone)]
pub(crate) struct Prev {
    /// Its generation.
    pub generation: u32,
    /// Its header (first 4096 bytes).
    pub header: Vec<u8>,
}

/// The check between two consecutive generations (previous, next).
pub(crate) type BoundaryCheck = Box<dyn Fn(&Prev, &LogIn) -> Result<(), Error> + Send>;

/// The generations of a recovery, read ahead of redo on a worker thread.
pub(crate) struct LogStream {
    /// Their total size in bytes (progress).
    pub total_bytes: u64,
    rx: Option<Receiver<Result<LogIn, Error>>>,
    /// The buffers of generations replayed, back to the reader.
    spent: SyncSender<Vec<u8>>,
    reader: Option<JoinHandle<()>>,
    /// The reader thread could not be started.
    start_error: Option<Error>,
}

impl LogStream {
    /// Starts reading `sources` in order; `check` runs at every boundary.
    pub(crate) fn start(sources: Vec<LogSource>, check: BoundaryCheck) -> LogStream {
        let total_bytes = sources
            .iter()
            .filter_map(|s| std::fs::metadata(&s.path).ok())
            .map(|m| m.len())
            .sum();
        let (tx, rx) = sync_channel(AHEAD);
        let (spent, spent_rx) = sync_channel::<Vec<u8>>(AHEAD);
        let reader = std::thread::Builder::new()
            .name("log-reader".into())
            .spawn(move || {
                let mut prev: Option<Prev> = None;
                for s in &sources {
                    let buf = spent_rx.try_recv().unwrap_or_default();
                    let next = read_source_into(s, buf).and_then(|l| {
                        if let Some(p) = &prev {
                            check(p, &l)?;
                        }
                        Ok(l)
                    });
                    let failed = next.is_err();
                    if let Ok(l) = &next {
                        prev = Some(Prev {
                            generation: l.generation,
                            header: l.header.clone(),
                        });
                    }
                    // A closed channel: redo stopped, nothing more to read.
                    if tx.send(next).is_err() || failed {
                        return;
                    }
                }
            });
        let (reader, start_error) = match reader {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(Error::io("log-reader thread", e))),
        };
        LogStream {
            total_bytes,
            rx: Some(rx),
            spent,
            reader,
            start_error,
        }
    }

    /// The next generation, `None` after the last one (or after an error).
    pub(crate) fn next_log(&mut self) -> Option<Result<LogIn, Error>> {
        if let Some(e) = self.start_error.take() {
            self.rx = None;
            return Some(Err(e));
        }
        self.rx.as_ref()?.recv().ok()
    }

    /// A generation replayed: its buffer goes back to the reader for a
    /// later one (when none of its records is kept), so that the buffers
    /// of the generations in flight are reused rather than allocated anew.
    pub(crate) fn give_back(&self, l: LogIn) {
        let LogIn { records, file, .. } = l;
        drop(records);
        if let Ok(buf) = Arc::try_unwrap(file) {
            let _ = self.spent.try_send(buf); // full: dropped
        }
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        // Closing the channel ends the reader at its next send.
        self.rx = None;
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// Reads one source, with hard recovery's damage code and file-name check.
pub(crate) fn read_source(s: &LogSource) -> Result<LogIn, Error> {
    read_source_into(s, Vec::new())
}

/// [`read_source`] into the buffer of an earlier generation.
fn read_source_into(s: &LogSource, buf: Vec<u8>) -> Result<LogIn, Error> {
    let l = read_log(&s.path, s.hash, buf).map_err(|e| match (e, s.damage) {
        (Error::Format { path, err: fe, .. }, Some(jet)) => Error::corrupt(
            &path,
            FormatError::new(0, jet, format!("{} ({})", fe.detail, fe.jet)),
        ),
        (other, _) => other,
    })?;
    if let Some(g) = s.name_generation.filter(|g| *g != l.generation) {
        return Err(Error::corrupt(
            &s.path,
            FormatError::new(
                0,
                Jet::LOG_GENERATION_MISMATCH,
                format!(
                    "file name says generation {g:#X}, header {:#X}",
                    l.generation
                ),
            ),
        ));
    }
    Ok(l)
}

/// The databases a replay may write, by file name (the last component of
/// the logged path), with the signatures each may carry: from the log
/// headers' and the checkpoint's attachment lists and the CreateDB,
/// AttachDB and DetachDB records. An existing file of that name in the
/// output folder is replaced only when it carries one of them (an earlier
/// run of the same recovery), see [`super::output::check_replaceable`].
#[derive(Debug, Clone, Default)]
pub struct ExpectedOutputs {
    names: Vec<(String, Vec<Signature>)>,
}

impl ExpectedOutputs {
    /// The file names expected, in the order first seen.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|(n, _)| n.as_str())
    }

    /// Adds the database logged as `logged`, with its signature if known.
    pub fn add(&mut self, logged: &str, sig: Option<Signature>) {
        let name = logged
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(logged)
            .to_string();
        if name.is_empty() {
            return;
        }
        let i = match self.names.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.names.push((name, Vec::new()));
                self.names.len() - 1
            }
        };
        if let Some(s) = sig.filter(|s| !self.names[i].1.contains(s)) {
            self.names[i].1.push(s);
        }
    }

    /// Adds the attachment list of a log header (ignored when unreadable).
    pub fn add_log_header(&mut self, header: &[u8]) {
        if let Ok(h) = crate::parse::log_header::parse_log_header_fields(header) {
            for a in &h.attachments {
                self.add(&a.path, Some(a.sign_db));
            }
        }
    }

    /// Adds a CreateDB / AttachDB / DetachDB record (others, and records
    /// that do not decode, are ignored).
    /// Inlined: it runs for every record read, and only these three types
    /// (lrtypCreateDB, lrtypAttachDB, lrtypDetachDB, logapi.hxx) go further.
    #[inline]
    pub fn add_record(&mut self, r: &LogRecord) {
        if matches!(r.lrtyp, 14..=16) {
            self.add_database_record(r);
        }
    }

    fn add_database_record(&mut self, r: &LogRecord) {
        use crate::log::record::Record;
        match r.decode() {
            Ok(Record::DetachDb(d)) => self.add(&d.path.text(), None),
            Ok(rec) => {
                if let Some((_, sign, path)) = rec.signed_database() {
                    self.add(&path.text(), Some(sign.value()));
                }
            }
            Err(_) => {}
        }
    }

    /// Adds the checkpoint's attachment list (ignored when unreadable).
    pub fn add_checkpoint(&mut self, chk: &Path) {
        let size = 2 * crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
        if let Ok(b) = crate::file::read_prefix(chk, size) {
            if let Ok(pair) = crate::parse::checkpoint::read_checkpoint_pair(&b) {
                for a in &pair.checkpoint().attachments {
                    self.add(&a.path, Some(a.sign_db));
                }
            }
        }
    }

    /// The names of the log headers of `base` in `dir` (the first 4096
    /// bytes of each file: a cheap check before replay; the records are
    /// seen during the replay, and checked again before commit).
    pub fn add_log_headers(&mut self, dir: &Path, base: &str) {
        if let Ok((logs, _)) = crate::log::naming::list_logs(dir, base) {
            for f in logs {
                let size = crate::parse::log_header::LOG_HEADER_SIZE;
                if let Ok(h) = crate::file::read_prefix(&f.path, size) {
                    self.add_log_header(&h);
                }
            }
        }
    }

    /// Checks every expected output in `dir` ([`super::output::check_replaceable`]).
    pub fn check_replaceable(&self, dir: &Path, force: bool) -> Result<(), Error> {
        for (name, sigs) in &self.names {
            super::output::check_replaceable(&dir.join(name), sigs, force)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::synth::{begin0, commit0, day, Log8};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Generations `first..first + n` chained, written as `edbXXXXX.log`.
    fn chain(dir: &Path, first: i32, n: i32) -> Vec<LogSource> {
        let mut prev = None;
        (first..first + n)
            .map(|g| {
                let mut l = Log8::new(g, day(1, 9));
                l.record(&begin0(g as u32));
                l.record(&commit0(g as u32));
                let create = day(g as u8, 10);
                let (f, acc) = l.finish(create, prev);
                prev = Some((create, acc));
                let path = dir.join(format!("edb{g:05X}.log"));
                std::fs::write(&path, f).unwrap();
                LogSource {
                    path,
                    damage: None,
                    name_generation: Some(g as u32),
                    hash: None,
                }
            })
            .collect()
    }

    /// The reader stays at most `AHEAD` generations (plus the one it holds)
    /// ahead of a consumer that does not read: memory does not depend on
    /// the number of logs; every generation arrives, in order, once read.
    #[test]
    fn reader_stays_a_bounded_number_of_generations_ahead() {
        let d = tempfile::tempdir().unwrap();
        let sources = chain(d.path(), 1, 12);
        let read = Arc::new(AtomicUsize::new(0));
        let seen = read.clone();
        let mut s = LogStream::start(
            sources,
            Box::new(move |_, _| {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        );
        assert_eq!(s.total_bytes, 12 * 256 * 4096);
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Generation 1 has no boundary: checks = generations read − 1.
        assert!(read.load(Ordering::SeqCst) <= AHEAD + 1, "{read:?}");
        let gens: Vec<u32> = std::iter::from_fn(|| s.next_log())
            .map(|l| l.unwrap().generation)
            .collect();
        assert_eq!(gens, (1..=12).collect::<Vec<_>>());
    }

    /// The buffer of a generation given back is read into again by a later
    /// one.
    #[test]
    fn buffers_given_back_are_reused() {
        let d = tempfile::tempdir().unwrap();
        let mut s = LogStream::start(chain(d.path(), 1, 8), Box::new(|_, _| Ok(())));
        let first = s.next_log().unwrap().unwrap();
        let at = first.file.as_ptr();
        s.give_back(first);
        let mut reused = false;
        while let Some(l) = s.next_log() {
            let l = l.unwrap();
            reused |= l.file.as_ptr() == at;
            s.give_back(l);
        }
        assert!(reused);
    }

    /// A boundary check that fails ends the stream with its error, after the
    /// generations before it.
    #[test]
    fn failed_boundary_ends_the_stream() {
        let d = tempfile::tempdir().unwrap();
        let sources = chain(d.path(), 1, 5);
        let mut s = LogStream::start(
            sources,
            Box::new(|prev, l| {
                if l.generation == 4 {
                    return Err(Error::Usage(format!("after {}", prev.generation)));
                }
                Ok(())
            }),
        );
        let got: Vec<Result<u32, String>> = std::iter::from_fn(|| s.next_log())
            .map(|r| r.map(|l| l.generation).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[..3], [Ok(1), Ok(2), Ok(3)]);
        assert!(got[3].as_ref().unwrap_err().contains("after 3"), "{got:?}");
    }
}
