//! The token store: a model on disk that survives being killed mid-write.
//!
//! A store at `PATH` is two files:
//!
//! * the **snapshot**, `PATH`: a header (magic, format version,
//!   generation, length and CRC-32 of the model) and the model's bytes
//!   ([`Model::to_bytes`]);
//! * the **journal**, `PATH.journal.G` for the snapshot's generation `G`:
//!   every learn and unlearn since the snapshot, one record each (length,
//!   CRC-32, operation, tokens), appended with one `write` call.
//!
//! Opening reads the snapshot and replays the journal. A record that is
//! cut short or fails its CRC ends the journal: the writer truncates it
//! there, so a process killed in the middle of an append loses that one
//! message and nothing before it. [`Store::compact`] folds the journal
//! into a new snapshot: it writes the snapshot of generation `G + 1` to a
//! temporary file, syncs it, renames it over `PATH` (atomic on POSIX), and
//! only then starts journal `G + 1` and removes journal `G`. A crash at any
//! point leaves either the old snapshot with its whole journal or the new
//! snapshot, never a mix. A write that takes the journal past 64 MiB
//! ([`Store::set_auto_compact`]) compacts by itself.
//!
//! Appends are not synced to the disk unless [`Store::set_sync`] says so:
//! a killed process loses nothing that was written (the kernel has it), a
//! power cut may lose the last seconds of learning.
//!
//! One process writes a store at a time ([`Store::open`]); any number may
//! read it ([`Store::read`]), seeing what was written up to the moment
//! they read. Within a process, scanners use an immutable snapshot
//! ([`Store::snapshot`]) that the writer publishes when it chooses.
//!
//! Deliberate difference from the issue's sketch: the snapshot is read into
//! memory, not memory-mapped. Mapping needs `unsafe` (the file may change
//! under the map), which this crate keeps to its C ABI; reading the 8 MiB
//! logistic model takes about a millisecond.
//!
//! ```
//! use filter::spam::bayes::{Classifier, Store};
//!
//! let dir = std::env::temp_dir().join(format!("lf-store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("bayes.db");
//! {
//!     let mut store = Store::open(&path, Classifier::ChiSquare).unwrap();
//!     store.learn(&[1, 2, 3], true).unwrap();
//!     store.learn(&[4, 5, 6], false).unwrap();
//! }
//! let model = Store::read(&path).unwrap();
//! assert_eq!((model.counts().spam, model.counts().ham), (1, 1));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::model::{Classifier, Model, ModelError};

/// Why a store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The snapshot is not a store, or is damaged.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

const MAGIC: &[u8; 8] = b"LFBSTORE";
const VERSION: u32 = 1;
/// Largest journal record accepted (a message of 8 million tokens).
const MAX_RECORD: u32 = 64 << 20;

/// Journal operations.
const OP_HAM: u8 = 0;
const OP_SPAM: u8 = 1;
const OP_UNLEARN_HAM: u8 = 2;
const OP_UNLEARN_SPAM: u8 = 3;

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}

/// The writer of a store.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    model: Model,
    generation: u64,
    journal: File,
    /// Bytes in the journal.
    journal_len: u64,
    /// Compact when the journal grows past this many bytes.
    auto_compact: u64,
    sync: bool,
    buf: Vec<u8>,
}

/// The journal size past which a write compacts: about 5,000 messages of
/// the SpamAssassin corpus (a record holds every token, ~12 KiB).
const AUTO_COMPACT: u64 = 64 << 20;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn journal_path(path: &Path, generation: u64) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".journal.{generation}"));
    PathBuf::from(s)
}

/// Reads the snapshot: `(generation, model)`, or `None` when there is none.
fn read_snapshot(path: &Path) -> Result<Option<(u64, Model)>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 32 || &bytes[..8] != MAGIC {
        return Err(corrupt("not a libfilter Bayes store".into()));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let u64_at = |i: usize| u64::from(u32_at(i)) | (u64::from(u32_at(i + 4)) << 32);
    let version = u32_at(8);
    if version != VERSION {
        return Err(corrupt(format!(
            "format version {version}, expected {VERSION}"
        )));
    }
    let generation = u64_at(12);
    let len = u64_at(20);
    let crc = u32_at(28);
    let body = &bytes[32..];
    if body.len() as u64 != len || crc32(body) != crc {
        return Err(corrupt("damaged snapshot (length or CRC)".into()));
    }
    let model = Model::from_bytes(body).map_err(|e: ModelError| corrupt(e.to_string()))?;
    Ok(Some((generation, model)))
}

/// Replays the complete records of `bytes` into `model`; returns the
/// length of the valid prefix.
fn replay(bytes: &[u8], model: &mut Model) -> usize {
    let mut at = 0;
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if len == 0 || len > MAX_RECORD || !(len - 1).is_multiple_of(8) {
            break;
        }
        let Some(payload) = bytes.get(at + 8..at + 8 + len as usize) else {
            break;
        };
        if crc32(payload) != crc {
            break;
        }
        let tokens: Vec<u64> = payload[1..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        match payload[0] {
            OP_HAM => model.learn(&tokens, false),
            OP_SPAM => model.learn(&tokens, true),
            OP_UNLEARN_HAM => model.unlearn(&tokens, false),
            OP_UNLEARN_SPAM => model.unlearn(&tokens, true),
            _ => break,
        }
        at += 8 + len as usize;
    }
    at
}

impl Store {
    /// Opens the store at `path` for writing, creating an empty one of
    /// `kind` if there is none (an existing store keeps its own kind). A
    /// torn last journal record is cut off.
    pub fn open(path: &Path, kind: Classifier) -> Result<Store, StoreError> {
        let (generation, mut model) = match read_snapshot(path)? {
            Some(s) => s,
            None => {
                // A fresh store starts with a snapshot, so that its kind is
                // fixed on disk.
                let model = Model::new(kind);
                write_snapshot(path, 0, &model)?;
                (0, model)
            }
        };
        let jpath = journal_path(path, generation);
        let mut journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&jpath)
            .map_err(io_err(&jpath))?;
        let mut bytes = Vec::new();
        journal.read_to_end(&mut bytes).map_err(io_err(&jpath))?;
        let valid = replay(&bytes, &mut model);
        if valid < bytes.len() {
            journal.set_len(valid as u64).map_err(io_err(&jpath))?;
        }
        let journal_len = journal.seek(SeekFrom::End(0)).map_err(io_err(&jpath))?;
        // Journals of earlier generations are folded into the snapshot.
        for g in generation.saturating_sub(2)..generation {
            let _ = fs::remove_file(journal_path(path, g));
        }
        Ok(Store {
            path: path.to_path_buf(),
            model,
            generation,
            journal,
            journal_len,
            auto_compact: AUTO_COMPACT,
            sync: false,
            buf: Vec::new(),
        })
    }

    /// The model as of the latest write in the files at `path`: for a
    /// reader, which never modifies them.
    pub fn read(path: &Path) -> Result<Model, StoreError> {
        let Some((generation, mut model)) = read_snapshot(path)? else {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        };
        let jpath = journal_path(path, generation);
        match fs::read(&jpath) {
            Ok(bytes) => {
                replay(&bytes, &mut model);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&jpath)(e)),
        }
        Ok(model)
    }

    /// Compact ([`Store::compact`]) whenever the journal grows past `bytes`
    /// (64 MiB by default); `u64::MAX` never does.
    pub fn set_auto_compact(&mut self, bytes: u64) {
        self.auto_compact = bytes;
    }

    /// Sync every append to the disk (slower; survives power loss).
    pub fn set_sync(&mut self, on: bool) {
        self.sync = on;
    }

    /// The model with everything learned so far.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// An immutable copy of the model for scanners.
    pub fn snapshot(&self) -> Arc<Model> {
        Arc::new(self.model.clone())
    }

    /// Learns one message (its distinct tokens) and records it.
    pub fn learn(&mut self, tokens: &[u64], spam: bool) -> Result<(), StoreError> {
        self.append(if spam { OP_SPAM } else { OP_HAM }, tokens)?;
        self.model.learn(tokens, spam);
        self.maybe_compact()
    }

    fn maybe_compact(&mut self) -> Result<(), StoreError> {
        if self.journal_len > self.auto_compact {
            self.compact()?;
        }
        Ok(())
    }

    /// Forgets one message learned earlier with the same label, and
    /// records that.
    pub fn unlearn(&mut self, tokens: &[u64], spam: bool) -> Result<(), StoreError> {
        self.append(
            if spam {
                OP_UNLEARN_SPAM
            } else {
                OP_UNLEARN_HAM
            },
            tokens,
        )?;
        self.model.unlearn(tokens, spam);
        self.maybe_compact()
    }

    fn append(&mut self, op: u8, tokens: &[u64]) -> Result<(), StoreError> {
        let len = 1 + 8 * tokens.len();
        if len > MAX_RECORD as usize {
            return Err(StoreError::Io {
                path: self.path.clone(),
                source: io::Error::other("message has too many tokens to record"),
            });
        }
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 8]);
        self.buf.push(op);
        for t in tokens {
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        let crc = crc32(&self.buf[8..]);
        self.buf[..4].copy_from_slice(&(len as u32).to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        let jpath = journal_path(&self.path, self.generation);
        if let Err(e) = self.journal.write_all(&self.buf) {
            // A partial record may be on disk: cut it off, so that the
            // next append starts on a record boundary.
            let _ = self.journal.set_len(self.journal_len);
            return Err(io_err(&jpath)(e));
        }
        self.journal_len += self.buf.len() as u64;
        if self.sync {
            self.journal.sync_data().map_err(io_err(&jpath))?;
        }
        Ok(())
    }

    /// Drops rare, stale tokens ([`Model::expire`]) and compacts. Returns
    /// how many tokens were dropped.
    pub fn expire(&mut self, keep: u64, max_count: u32) -> Result<usize, StoreError> {
        let n = self.model.expire(keep, max_count);
        self.compact()?;
        Ok(n)
    }

    /// Folds the journal into a new snapshot (see the module docs).
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let next = self.generation + 1;
        write_snapshot(&self.path, next, &self.model)?;
        let jnext = journal_path(&self.path, next);
        let journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .truncate(false)
            .open(&jnext)
            .map_err(io_err(&jnext))?;
        journal.set_len(0).map_err(io_err(&jnext))?;
        let old = journal_path(&self.path, self.generation);
        self.journal = journal;
        self.journal_len = 0;
        self.generation = next;
        let _ = fs::remove_file(old);
        Ok(())
    }

    /// Bytes in the journal (what a compaction would fold in).
    pub fn journal_len(&self) -> u64 {
        self.journal_len
    }
}

/// Writes the snapshot of `generation` atomically: a temporary file,
/// synced, renamed over `path`, and the directory synced.
fn write_snapshot(path: &Path, generation: u64, model: &Model) -> Result<(), StoreError> {
    let body = model.to_bytes();
    let mut bytes = Vec::with_capacity(32 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&generation.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("lf-store-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn msgs() -> Vec<(Vec<u64>, bool)> {
        (0..50u64)
            .map(|i| ((i..i + 20).map(|t| t * 7919 % 1000).collect(), i % 3 == 0))
            .collect()
    }

    #[test]
    fn reopening_replays_the_journal_exactly() {
        for kind in [Classifier::ChiSquare, Classifier::Logistic] {
            let d = Dir::new("replay");
            let path = d.0.join("db");
            let mut mem = Model::new(kind);
            {
                let mut s = Store::open(&path, kind).unwrap();
                for (t, spam) in msgs() {
                    s.learn(&t, spam).unwrap();
                    mem.learn(&t, spam);
                }
                s.unlearn(&msgs()[3].0, msgs()[3].1).unwrap();
                mem.unlearn(&msgs()[3].0, msgs()[3].1);
            }
            assert_eq!(Store::read(&path).unwrap().to_bytes(), mem.to_bytes());
            let s = Store::open(&path, Classifier::ChiSquare).unwrap();
            // The store keeps the kind it was created with.
            assert_eq!(s.model().kind(), kind);
            assert_eq!(s.model().to_bytes(), mem.to_bytes());
        }
    }

    #[test]
    fn a_torn_record_loses_only_itself() {
        let d = Dir::new("torn");
        let path = d.0.join("db");
        let all = msgs();
        {
            let mut s = Store::open(&path, Classifier::ChiSquare).unwrap();
            for (t, spam) in &all[..10] {
                s.learn(t, *spam).unwrap();
            }
        }
        let jpath = journal_path(&path, 0);
        let full = fs::read(&jpath).unwrap();
        let mut want = Model::new(Classifier::ChiSquare);
        for (t, spam) in &all[..9] {
            want.learn(t, *spam);
        }
        // Every cut inside the last record, and a flipped byte in it.
        let record = 8 + 1 + 8 * all[9].0.len();
        let mut cases: Vec<Vec<u8>> = (1..record)
            .map(|k| full[..full.len() - k].to_vec())
            .collect();
        let mut flipped = full.clone();
        let n = flipped.len();
        flipped[n - 3] ^= 0x40;
        cases.push(flipped);
        for case in cases {
            fs::write(&jpath, &case).unwrap();
            assert_eq!(Store::read(&path).unwrap().to_bytes(), want.to_bytes());
            let mut s = Store::open(&path, Classifier::ChiSquare).unwrap();
            assert_eq!(s.model().to_bytes(), want.to_bytes());
            assert_eq!(s.journal_len() as usize, full.len() - record);
            // Learning goes on after the cut.
            s.learn(&all[9].0, all[9].1).unwrap();
            drop(s);
            assert_eq!(fs::read(&jpath).unwrap(), full);
        }
    }

    #[test]
    fn compaction_folds_the_journal_into_a_new_generation() {
        let d = Dir::new("compact");
        let path = d.0.join("db");
        let mut s = Store::open(&path, Classifier::ChiSquare).unwrap();
        for (t, spam) in &msgs()[..20] {
            s.learn(t, *spam).unwrap();
        }
        s.compact().unwrap();
        assert!(!journal_path(&path, 0).exists());
        assert_eq!(s.journal_len(), 0);
        for (t, spam) in &msgs()[20..] {
            s.learn(t, *spam).unwrap();
        }
        let bytes = s.model().to_bytes();
        drop(s);
        assert_eq!(Store::read(&path).unwrap().to_bytes(), bytes);
        // Expiry compacts too.
        let mut s = Store::open(&path, Classifier::ChiSquare).unwrap();
        let dropped = s.expire(5, 1).unwrap();
        assert!(dropped > 0);
        assert_eq!(Store::read(&path).unwrap().to_bytes(), s.model().to_bytes());
    }

    #[test]
    fn a_long_journal_compacts_itself() {
        let d = Dir::new("auto");
        let path = d.0.join("db");
        let mut s = Store::open(&path, Classifier::ChiSquare).unwrap();
        s.set_auto_compact(1000);
        let mut mem = Model::new(Classifier::ChiSquare);
        for (t, spam) in msgs() {
            s.learn(&t, spam).unwrap();
            mem.learn(&t, spam);
            assert!(s.journal_len() <= 1000);
        }
        assert!(s.generation > 5, "{}", s.generation);
        drop(s);
        assert_eq!(Store::read(&path).unwrap().to_bytes(), mem.to_bytes());
    }

    #[test]
    fn damage_is_reported_not_misread() {
        let d = Dir::new("corrupt");
        let path = d.0.join("db");
        drop(Store::open(&path, Classifier::Logistic).unwrap());
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            Store::read(&path),
            Err(StoreError::Corrupt { .. })
        ));
        fs::write(&path, b"hello").unwrap();
        assert!(matches!(
            Store::open(&path, Classifier::Logistic),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
