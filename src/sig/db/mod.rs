//! Loading ClamAV databases.
//!
//! CONTRACT (owned by the database helper; keep these public names and
//! fields — the compiler in `sig/compile.rs` reads them).

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::pattern::{Offset, Pattern};

/// Our ClamAV functionality level: signatures whose minimum level is above
/// it, or whose maximum is below it, are skipped (and counted).
pub const FLEVEL: u32 = 0;

/// A fatal load error (only I/O and, in strict mode, the first bad line).
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What we tried to read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Strict mode: the first line that failed.
    #[error("{0}")]
    Line(LoadIssue),
}

/// One line that did not load, or loaded only in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadIssue {
    /// The file (for members of a .cvd: `daily.cvd/daily.ndb`).
    pub file: String,
    /// 1-based line number; 0 for whole-file problems.
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Which digest a hash signature carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    /// 16 bytes.
    Md5,
    /// 20 bytes.
    Sha1,
    /// 32 bytes.
    Sha256,
}

/// A `.hdb/.hsb/.mdb/.msb/.fp/.sfp` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashSig {
    /// Digest kind, from the hex length.
    pub kind: HashKind,
    /// The digest, left-aligned (only `kind`'s length is meaningful).
    pub digest: [u8; 32],
    /// Size in bytes, or `None` for `*`.
    pub size: Option<u64>,
    /// Name as reported (with `.UNOFFICIAL` where ClamAV adds it).
    pub name: String,
}

/// An `.ndb` body signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodySig {
    /// Name as reported.
    pub name: String,
    /// Target type (0 any, 1 PE, 3 HTML, 4 mail, 6 ELF, 7 text, 9 Mach-O, 10 PDF, …).
    pub target: u8,
    /// Where the match may start.
    pub offset: Offset,
    /// The body.
    pub pattern: Pattern,
}

/// The TargetDescriptionBlock of a logical signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetBlock {
    /// `Target:n`, if given.
    pub target: Option<u8>,
    /// `FileSize:a-b`, inclusive.
    pub file_size: Option<(u64, u64)>,
    /// `Container:CL_TYPE_…`, if given.
    pub container: Option<String>,
    /// `EntryPoint`, `NumberOfSections` and other fields we parse but do not
    /// enforce, as `key:value`.
    pub other: Vec<String>,
}

/// A count operator in a logical expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    /// `=N`
    Eq,
    /// `>N`
    Gt,
    /// `<N`
    Lt,
}

/// A logical expression over subsignature hit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Subsignature `n` matched at least once.
    Sub(usize),
    /// Every operand holds.
    And(Vec<Expr>),
    /// Some operand holds.
    Or(Vec<Expr>),
    /// `inner` counted: the hits summed over the subsignatures it names
    /// compared with `n`, and (for `,m`) at least `m` distinct
    /// subsignatures matched.
    Count {
        /// The operand (a subsignature or a parenthesised group).
        inner: Box<Expr>,
        /// Comparison.
        op: CountOp,
        /// Count compared with.
        n: u32,
        /// The `,m` form.
        distinct: Option<u32>,
    },
}

impl Expr {
    /// Parses a logical expression.
    pub fn parse(s: &str) -> Result<Expr, String> {
        Err(format!("unsupported expression {s}"))
    }

    /// Evaluates against per-subsignature hit counts (`counts[i]` for
    /// subsignature `i`; missing entries count as 0).
    pub fn eval(&self, counts: &[u32]) -> bool {
        let _ = counts;
        false
    }
}

/// One `.ldb` subsignature.
#[derive(Debug, Clone)]
pub enum SubSig {
    /// A hex body with offset and modifiers.
    Body {
        /// Where it may start.
        offset: Offset,
        /// The body, modifiers applied.
        pattern: Pattern,
    },
    /// A PCRE subsignature: counts once when `trigger` holds and `regex`
    /// matches (at `offset`, if not `Any`).
    Pcre {
        /// Trigger expression over the other subsignatures.
        trigger: Expr,
        /// Compiled regex (bytes, Rust syntax).
        regex: regex::bytes::Regex,
        /// Offset the match must start at.
        offset: Offset,
    },
    /// A byte-compare subsignature, evaluated at the offsets where subsignature
    /// `of` matched.
    ByteCompare(ByteCompare),
    /// Parsed but not supported (e.g. PCRE with look-around); it never
    /// matches, and the signature is counted unsupported.
    Unsupported(String),
}

/// `subsigid(>>|<<)offset#options#comparisons`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteCompare {
    /// The subsignature whose match offsets are the base.
    pub of: usize,
    /// Signed distance from the base match's start.
    pub delta: i64,
    /// `h`/`d`/`a`/`i` … options as written, e.g. `"hle"`.
    pub options: String,
    /// Bytes read.
    pub len: usize,
    /// Comparisons, all of which must hold: (`<`,`>`,`=`, value).
    pub comparisons: Vec<(char, u64)>,
}

/// An `.ldb` logical signature.
#[derive(Debug, Clone)]
pub struct LogicalSig {
    /// Name as reported.
    pub name: String,
    /// TargetDescriptionBlock.
    pub target: TargetBlock,
    /// The logical expression.
    pub expr: Expr,
    /// Subsignatures 0..n.
    pub subsigs: Vec<SubSig>,
}

/// A `.cdb` container-metadata signature. `None` fields are `*`.
#[derive(Debug, Clone)]
pub struct ContainerSig {
    /// Name as reported.
    pub name: String,
    /// `CL_TYPE_ZIP`, `CL_TYPE_MAIL`, …, or `None` for `*`.
    pub container: Option<String>,
    /// Container size range.
    pub container_size: Option<(u64, u64)>,
    /// File name regex.
    pub name_regex: Option<regex::bytes::Regex>,
    /// Member size in the container (compressed) range.
    pub size_in_container: Option<(u64, u64)>,
    /// Member real size range.
    pub size_real: Option<(u64, u64)>,
    /// Encrypted flag.
    pub encrypted: Option<bool>,
    /// Position in the container (1-based).
    pub file_pos: Option<(u64, u64)>,
}

/// What one database file or `.cvd` told us about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbInfo {
    /// File name.
    pub file: String,
    /// `.cvd/.cld` version, if any.
    pub version: Option<u32>,
    /// Build time as written in the header.
    pub build_time: Option<String>,
    /// Declared signature count.
    pub declared_sigs: Option<u64>,
    /// Functionality level.
    pub flevel: Option<u32>,
    /// Whether the MD5 in the header matched the archive.
    pub md5_ok: Option<bool>,
    /// Always `false`: we do not verify ClamAV's digital signature.
    pub signature_verified: bool,
}

/// Counts and problems from a load.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Signatures loaded, by kind: "hdb", "hsb", "mdb", "msb", "fp",
    /// "sfp", "ign2", "ndb", "ldb", "cdb", …
    pub loaded: std::collections::BTreeMap<&'static str, u64>,
    /// Lines that failed to load.
    pub errors: Vec<LoadIssue>,
    /// Lines loaded but not (fully) supported: they can never match, or
    /// part of them is ignored. The reason names the feature.
    pub unsupported: Vec<LoadIssue>,
    /// Signatures skipped because of their flevel.
    pub skipped_flevel: u64,
    /// Signatures removed by `.ign2`/`.ign`.
    pub ignored: u64,
    /// Per-file information.
    pub files: Vec<DbInfo>,
}

/// Everything loaded: plain data, ready for [`crate::sig::Signatures`].
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// `.hdb`/`.hsb` file hashes.
    pub hashes: Vec<HashSig>,
    /// `.mdb`/`.msb` PE section hashes (`size` is the section size).
    pub section_hashes: Vec<HashSig>,
    /// `.fp`/`.sfp` allow-list: a file with this hash is clean.
    pub allow: Vec<HashSig>,
    /// `.ndb` bodies.
    pub bodies: Vec<BodySig>,
    /// `.ldb` logical signatures.
    pub logical: Vec<LogicalSig>,
    /// `.cdb` container signatures.
    pub containers: Vec<ContainerSig>,
    /// Counts and problems.
    pub report: LoadReport,
}

/// Reads database files into a [`Database`].
#[derive(Debug, Default)]
pub struct Loader {
    db: Database,
    strict: bool,
}

impl Loader {
    /// A loader with nothing loaded, not strict.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// In strict mode the first bad line aborts the load.
    pub fn strict(mut self, strict: bool) -> Loader {
        self.strict = strict;
        self
    }

    /// Loads a file (by extension) or every database file in a directory.
    pub fn load_path(&mut self, path: &Path) -> Result<(), LoadError> {
        let _ = path;
        Ok(())
    }

    /// Loads one database file's bytes; `name` gives the type by extension.
    /// Signatures get `.UNOFFICIAL` unless they come from a `.cvd`/`.cld`.
    pub fn load_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), LoadError> {
        let _ = (name, bytes);
        Ok(())
    }

    /// As [`Loader::load_bytes`], but the signatures are official (no
    /// `.UNOFFICIAL`): used for the embedded default database.
    pub fn load_official(&mut self, name: &str, bytes: &[u8]) -> Result<(), LoadError> {
        let _ = (name, bytes);
        Ok(())
    }

    /// Applies `.ign2` removals and returns the database.
    pub fn finish(self) -> Database {
        self.db
    }
}
