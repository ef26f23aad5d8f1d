//! Loading ClamAV databases.
//!
//! ClamAV keeps its signatures in a directory of small text files, one
//! format per extension, and in `.cvd`/`.cld` archives of such files. This
//! module reads them into a [`Database`] of plain data; the compiler in
//! [`crate::sig`] builds the search structures from it. Every format below
//! was checked against the ClamAV documentation and, where the documents
//! are silent, against clamscan 1.4.3.
//!
//! # The formats
//!
//! - **Hash signatures** — `.hdb`/`.hsb`: `hash:size:name[:min[:max]]`,
//!   the digest of a whole file (MD5, SHA-1 or SHA-256, told apart by the
//!   hex length). `.mdb`/`.msb`: `size:hash:name[:…]`, the digest of one PE
//!   section. The size may be `*` only when the minimum flevel is at least
//!   73, as ClamAV demands. `.fp`/`.sfp` are allow-lists in the `.hdb`
//!   format: a file with such a digest is clean.
//! - **Ignore lists** — `.ign2` lines are `name` or `name:md5`; `.ign` is
//!   the older `db:line:name`. Each names a signature to drop. ClamAV only
//!   drops signatures loaded *after* the list (it loads a directory's
//!   ignore lists first, but separate `-d` options go in the order given);
//!   we drop plain names in [`Loader::finish`], whatever the order. The name
//!   is the signature's own, without `.UNOFFICIAL` (an ignore line
//!   `Foo.UNOFFICIAL` does not drop an unofficial `Foo`, as in clamscan).
//!   A `name:md5` entry drops the signature only if `md5` is the MD5 of its
//!   database line without the end-of-line (checked with clamscan: another
//!   MD5 leaves it loaded), so that an updated signature comes back. We
//!   keep no lines, so such an entry applies, as in ClamAV, only to lines
//!   loaded after it — [`Loader::load_path`] loads a directory's ignore
//!   lists first — and one naming a signature loaded before it is not
//!   applied and is listed in [`LoadReport::unsupported`]. Only lines whose
//!   name is in such an entry are hashed.
//! - **Body signatures** — `.ndb`: `name:target:offset:hexsig[:min[:max]]`.
//!   The hex body and offset are parsed by [`crate::sig::pattern`].
//! - **Logical signatures** — `.ldb`: `name;target block;expression;
//!   subsig0;…`: up to 64 subsignatures (hex bodies, PCREs, byte compares)
//!   combined by a logical [`Expr`]; see [below](#logical-signatures).
//! - **Container metadata** — `.cdb`: conditions on a member of an
//!   archive (its name, sizes, position, encryption).
//! - **Archives** — `.cvd` (header + gzip'd tar) and `.cld` (header +
//!   plain tar, left by freshclam's incremental updates). We check the
//!   `.cvd`'s MD5 and refuse it on a mismatch as ClamAV does, but do not
//!   verify Talos's RSA signature: [`DbInfo::signature_verified`] is always
//!   false. Members load by extension; `.info` members are parsed and the
//!   sizes and SHA-256 digests they list are checked (a mismatch is an
//!   error in the report; where ClamAV would refuse the archive, we keep
//!   what loaded). A `.cld` may hold a plain or a gzip'd tar: clamscan reads
//!   both.
//! - **PUA databases** — `.hdu`, `.hsu`, `.mdu`, `.msu`, `.ndu`, `.ldu`:
//!   skipped and counted in [`LoadReport::skipped_pua`], as clamscan skips
//!   them without `--detect-pua`.
//! - **Everything else ClamAV knows** — `.cfg`, `.crb`, `.cat`, `.pdb`,
//!   `.gdb`, `.wdb`, `.ftm`, `.idb`, `.cbc`, `.yar`/`.yara`, `.imp`,
//!   `.pwdb`, the old `.db`/`.zmd`/`.rmd` — is listed in
//!   [`LoadReport::unsupported`] with line 0. A directory's files with
//!   other extensions are skipped silently, as ClamAV skips them.
//!
//! # Names
//!
//! clamscan prints a signature from a local file with `.UNOFFICIAL`
//! appended (`Test.Evil.UNOFFICIAL`), and one from a `.cvd`/`.cld` as
//! written. [`Loader::load_bytes`] and [`Loader::load_path`] do the same;
//! [`Loader::load_official`] treats the file as official.
//!
//! # Lines and errors
//!
//! Lines end with `\n` (a `\r` before it is dropped). Lines starting with
//! `#` are comments in every format. An empty line is an error, as it is
//! for clamscan. Where we differ on purpose: ClamAV refuses a whole file
//! (and stops loading) at its first bad line; we record the line in
//! [`LoadReport::errors`] with its file and number and carry on, unless the
//! loader is [strict](Loader::strict), which stops at the first bad line
//! with [`LoadError::Line`].
//!
//! Each signature may carry a functionality-level range; one outside
//! [`FLEVEL`] is skipped and counted in [`LoadReport::skipped_flevel`]
//! before the rest of its line is parsed, so that syntax from newer
//! engines is skipped rather than refused. Like ClamAV, an empty flevel
//! field reads as 0 (so `:1:` — maximum 0 — skips the line), and in hash
//! files an unparsable one does too.
//!
//! # Logical signatures
//!
//! Two rules of the expression language are not what a reader would
//! guess; both were checked against clamscan. There is no precedence and
//! chains group to the right: `0|1&2` is `0|(1&2)` and `1&2|0` is
//! `1&(2|0)`. And a count modifier on a group compares the hits the group
//! *generates* — the sum of its subsignatures' hits, where a part that does
//! not hold (an `&` missing an operand, a modifier that fails) generates
//! none: `(0&1&2)>1` fails when 1 is missing however often 0 and 2 hit,
//! `(1|2)=0` holds when neither hits, and `,M` asks that at least `M`
//! distinct subsignatures generated hits. ClamAV also insists that the
//! expression names exactly the subsignatures given (highest index + 1 ==
//! their number); so do we.
//!
//! PCRE subsignatures become `regex` crate byte regexes with the `i`, `s`,
//! `m`, `x`, `U` flags mapped; `A` anchors at the offset (or the file's
//! start), `r` lets the match start anywhere after the offset, `E` is the
//! `regex` default, and `g` and `e` are accepted and ignored. A
//! subsignature we cannot run — a PCRE using
//! look-around, a macro, an image fuzzy hash — loads as
//! [`SubSig::Unsupported`], counting no hits; the signature stays loaded
//! (another branch of an `|` may still match) and is listed in
//! [`LoadReport::unsupported`]. `EntryPoint`, `NumberOfSections`,
//! `Intermediates`, `IconGroup1/2` and `HandlerType` are kept in
//! [`TargetBlock::other`] but not enforced, and listed there too.

mod cdb;
mod cvd;
mod expr;
mod hash;
mod ldb;
mod ndb;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::pattern::{Offset, Pattern, PatternError};

/// Our ClamAV functionality level: signatures whose minimum level is above
/// it, or whose maximum is below it, are skipped (and counted).
///
/// 213 is ClamAV 1.4.3's (the 1.4 series runs 210 for 1.4.0 to 213; checked
/// with clamscan 1.4.3, which reports "running FLEVEL is 213").
pub const FLEVEL: u32 = 213;

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

impl<'a> IntoIterator for &'a HashList {
    type Item = HashSig<'a>;
    type IntoIter = std::vec::IntoIter<HashSig<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One `.hdb/.hsb/.mdb/.msb/.fp/.sfp` entry, as [`HashList::iter`] shows
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashSig<'a> {
    /// Digest kind, from the hex length.
    pub kind: HashKind,
    /// The digest (`kind`'s length).
    pub digest: &'a [u8],
    /// Size in bytes, or `None` for `*`.
    pub size: Option<u64>,
    /// Name as reported (with `.UNOFFICIAL` where ClamAV adds it).
    pub name: &'a str,
}

/// Size of a hash row that matches any size (`*`).
pub(crate) const ANY_SIZE: u64 = u64::MAX;

/// One hash-table row: digest, size ([`ANY_SIZE`] for any) and name id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Row<const N: usize> {
    pub(crate) digest: [u8; N],
    pub(crate) size: u64,
    pub(crate) name: u32,
}

/// Every signature name of a [`HashList`] in one string: a million hash
/// signatures cost their text and four bytes each, not an allocation each.
/// A name equal to the one added just before it is stored once.
#[derive(Debug, Clone, Default)]
pub struct Names {
    text: String,
    /// End of name `i` in `text` (it starts where name `i - 1` ends); the
    /// top bit says the name ends in an added `.UNOFFICIAL`.
    ends: Vec<u32>,
}

const UNOFFICIAL_BIT: u32 = 1 << 31;

impl Names {
    /// Adds `name` + `suffix` (an added `.UNOFFICIAL` when `unofficial`),
    /// returning its id.
    pub(crate) fn add(&mut self, name: &str, suffix: &str, unofficial: bool) -> u32 {
        let flag = if unofficial { UNOFFICIAL_BIT } else { 0 };
        if let Some(&last) = self.ends.last() {
            let prev = self.get((self.ends.len() - 1) as u32);
            if last & UNOFFICIAL_BIT == flag
                && prev.len() == name.len() + suffix.len()
                && prev.starts_with(name)
                && prev.ends_with(suffix)
            {
                return (self.ends.len() - 1) as u32;
            }
        }
        self.text.push_str(name);
        self.text.push_str(suffix);
        assert!(self.text.len() < UNOFFICIAL_BIT as usize, "2 GiB of names");
        self.ends.push(self.text.len() as u32 | flag);
        (self.ends.len() - 1) as u32
    }

    /// Adds `name` as a new id, even if it equals the last one.
    pub(crate) fn push(&mut self, name: &str, unofficial: bool) -> u32 {
        self.text.push_str(name);
        assert!(self.text.len() < UNOFFICIAL_BIT as usize, "2 GiB of names");
        let flag = if unofficial { UNOFFICIAL_BIT } else { 0 };
        self.ends.push(self.text.len() as u32 | flag);
        (self.ends.len() - 1) as u32
    }

    /// Name `i` as reported.
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 {
            0
        } else {
            (self.ends[i - 1] & !UNOFFICIAL_BIT) as usize
        };
        &self.text[start..(self.ends[i] & !UNOFFICIAL_BIT) as usize]
    }

    /// Name `i` as written in its file (without an added `.UNOFFICIAL`).
    pub(crate) fn raw(&self, i: u32) -> &str {
        let n = self.get(i);
        if self.ends[i as usize] & UNOFFICIAL_BIT != 0 {
            n.strip_suffix(UNOFFICIAL).unwrap_or(n)
        } else {
            n
        }
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Makes room for `names` more names of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, bytes: usize, names: usize) {
        self.text.reserve(bytes);
        self.ends.reserve(names);
    }
}

/// The entries of one family of hash files (`.hdb`/`.hsb`, `.mdb`/`.msb`
/// or `.fp`/`.sfp`), stored compactly: one fixed-size row per entry, by
/// digest kind, and the names end to end in one [`Names`]. Loading a
/// million lines allocates nothing per line.
#[derive(Debug, Clone, Default)]
pub struct HashList {
    pub(crate) md5: Vec<Row<16>>,
    pub(crate) sha1: Vec<Row<20>>,
    pub(crate) sha256: Vec<Row<32>>,
    pub(crate) names: Names,
}

impl HashList {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.md5.len() + self.sha1.len() + self.sha256.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, in the order they were loaded (for inspection: this
    /// gathers them into a vector).
    pub fn iter(&self) -> std::vec::IntoIter<HashSig<'_>> {
        fn view<const N: usize>(
            kind: HashKind,
            rows: &[Row<N>],
        ) -> impl Iterator<Item = (u32, HashKind, &[u8], u64)> {
            rows.iter()
                .map(move |r| (r.name, kind, &r.digest[..], r.size))
        }
        let mut all: Vec<_> = view(HashKind::Md5, &self.md5)
            .chain(view(HashKind::Sha1, &self.sha1))
            .chain(view(HashKind::Sha256, &self.sha256))
            .collect();
        // Name ids grow in load order.
        all.sort_by_key(|e| e.0);
        all.into_iter()
            .map(|(name, kind, digest, size)| HashSig {
                kind,
                digest,
                size: (size != ANY_SIZE).then_some(size),
                name: self.names.get(name),
            })
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Entry `i` in load order.
    pub fn get(&self, i: usize) -> Option<HashSig<'_>> {
        self.iter().nth(i)
    }

    fn reserve(&mut self, lines: usize) {
        self.md5.reserve(lines);
        self.names.ends.reserve(lines);
    }

    fn push(&mut self, kind: HashKind, digest: &[u8; 32], size: Option<u64>, name: u32) {
        let size = size.unwrap_or(ANY_SIZE);
        fn row<const N: usize>(digest: &[u8; 32], size: u64, name: u32) -> Row<N> {
            let mut d = [0u8; N];
            d.copy_from_slice(&digest[..N]);
            Row {
                digest: d,
                size,
                name,
            }
        }
        match kind {
            HashKind::Md5 => self.md5.push(row(digest, size, name)),
            HashKind::Sha1 => self.sha1.push(row(digest, size, name)),
            HashKind::Sha256 => self.sha256.push(row(digest, size, name)),
        }
    }

    /// Keeps the entries whose name id passes `keep`; returns how many went.
    fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) -> u64 {
        let before = self.len();
        self.md5.retain(|r| keep(r.name));
        self.sha1.retain(|r| keep(r.name));
        self.sha256.retain(|r| keep(r.name));
        (before - self.len()) as u64
    }

    /// Whether an entry with a name id below `before` has raw name `name`.
    fn has_before(&self, before: usize, name: &str) -> bool {
        let hit = |id: u32| (id as usize) < before && self.names.raw(id) == name;
        self.md5.iter().any(|r| hit(r.name))
            || self.sha1.iter().any(|r| hit(r.name))
            || self.sha256.iter().any(|r| hit(r.name))
    }

    /// Gives back unused capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.md5.shrink_to_fit();
        self.sha1.shrink_to_fit();
        self.sha256.shrink_to_fit();
        self.names.shrink_to_fit();
    }
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
    /// `inner` counted: the hits `inner` generates (summed over the
    /// subsignatures it names, where a part that does not hold generates
    /// none) compared with `n`, and (for `,m`) at least `m` distinct
    /// subsignatures generated hits.
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
    /// Parses a logical expression (the module documentation gives the
    /// grouping and counting rules).
    pub fn parse(s: &str) -> Result<Expr, String> {
        expr::parse(s).map_err(|e| e.to_string())
    }

    /// Evaluates against per-subsignature hit counts (`counts[i]` for
    /// subsignature `i`; missing entries count as 0).
    pub fn eval(&self, counts: &[u32]) -> bool {
        expr::eval(self, counts)
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
    /// "sfp", "ign2", "ign" (ignore entries), "ndb", "ldb", "cdb", and
    /// "info" (entries of `.info` files).
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
    /// Signature lines in PUA databases (`.hdu`, `.hsu`, `.mdu`, `.msu`,
    /// `.ndu`, `.ldu`), skipped as ClamAV skips them without
    /// `--detect-pua`.
    pub skipped_pua: u64,
    /// Per-file information.
    pub files: Vec<DbInfo>,
}

/// Everything loaded: plain data, ready for [`crate::sig::Signatures`].
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// `.hdb`/`.hsb` file hashes.
    pub hashes: HashList,
    /// `.mdb`/`.msb` PE section hashes (`size` is the section size).
    pub section_hashes: HashList,
    /// `.fp`/`.sfp` allow-list: a file with this hash is clean.
    pub allow: HashList,
    /// `.ndb` bodies.
    pub bodies: Vec<BodySig>,
    /// `.ldb` logical signatures.
    pub logical: Vec<LogicalSig>,
    /// `.cdb` container signatures.
    pub containers: Vec<ContainerSig>,
    /// Counts and problems.
    pub report: LoadReport,
}

/// Why one line did not load.
#[derive(Debug, Error)]
enum LineError {
    /// Wrong number of fields.
    #[error("expected {0}")]
    Fields(&'static str),
    /// The line is empty.
    #[error("empty line")]
    EmptyLine,
    /// The signature name is empty.
    #[error("empty signature name")]
    EmptyName,
    /// A digest that is not 32, 40 or 64 hex digits.
    #[error("bad hash {0:?}")]
    Hash(String),
    /// `*` as the size without a minimum flevel of 73.
    #[error("size `*` needs a minimum flevel of at least 73")]
    WildcardSize,
    /// A number field that does not parse.
    #[error("bad {field} {value:?}")]
    Number {
        /// Which field.
        field: &'static str,
        /// As written.
        value: String,
    },
    /// A malformed offset.
    #[error("bad offset {0:?}: {1}")]
    Offset(String, PatternError),
    /// A malformed hex body.
    #[error("bad body: {0}")]
    Pattern(PatternError),
    /// Malformed `::` modifiers.
    #[error("bad modifiers {0:?}: {1}")]
    Modifiers(String, PatternError),
    /// A malformed logical expression.
    #[error("bad logical expression: {0}")]
    Expr(expr::ExprError),
    /// A malformed TargetDescriptionBlock attribute.
    #[error("bad target description {0:?}")]
    Tdb(String),
    /// More than 64 subsignatures.
    #[error("{0} subsignatures (at most 64)")]
    TooManySubsigs(usize),
    /// The expression and the subsignatures disagree.
    #[error("{given} subsignatures, but the expression names {named}")]
    SubsigCount {
        /// Subsignatures on the line.
        given: usize,
        /// Highest index in the expression + 1.
        named: usize,
    },
    /// One subsignature is malformed.
    #[error("subsignature {0}: {1}")]
    Subsig(usize, Box<LineError>),
    /// A regex that does not compile.
    #[error("bad regex {0:?}: {1}")]
    Regex(String, String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Reads the optional `min` and `max` flevel fields. An empty field reads
/// as 0, as ClamAV's `atoi` reads it; with `lenient` (hash files) so does
/// anything else that is not a number.
fn flevel_fields(
    min: Option<&str>,
    max: Option<&str>,
    lenient: bool,
) -> Result<(Option<u32>, Option<u32>), LineError> {
    let one = |s: Option<&str>| -> Result<Option<u32>, LineError> {
        let Some(s) = s else { return Ok(None) };
        if s.is_empty() {
            return Ok(Some(0));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Some(s.parse().unwrap_or(u32::MAX)));
        }
        if lenient {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            return Ok(Some(s[..digits].parse().unwrap_or(0)));
        }
        Err(LineError::Number {
            field: "flevel",
            value: s.to_string(),
        })
    };
    Ok((one(min)?, one(max)?))
}

/// Whether a signature with this flevel range loads here.
fn flevel_ok(min: Option<u32>, max: Option<u32>) -> bool {
    min.is_none_or(|m| m <= FLEVEL) && max.is_none_or(|m| m >= FLEVEL)
}

/// What a file is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// Whole-file hashes (`hdb`, `hsb`).
    Hash(&'static str),
    /// PE section hashes (`mdb`, `msb`).
    Section(&'static str),
    /// Allow-list (`fp`, `sfp`).
    Allow(&'static str),
    /// PUA databases.
    Pua,
    /// `ign2` (false) or `ign` (true).
    Ignore(bool),
    Ndb,
    Ldb,
    Cdb,
    /// `cvd` (false) or `cld` (true).
    Archive(bool),
    Info,
    /// A database type ClamAV reads and we do not.
    Unsupported(&'static str),
    /// Not a database.
    Unknown,
}

/// True when `name`'s extension is a database type the loader reads.
pub(crate) fn known_type(name: &str) -> bool {
    kind_of(name) != FileKind::Unknown
}

fn kind_of(name: &str) -> FileKind {
    let ext = match name.rsplit_once('.') {
        Some((_, e)) => e.to_ascii_lowercase(),
        None => return FileKind::Unknown,
    };
    match ext.as_str() {
        "hdb" => FileKind::Hash("hdb"),
        "hsb" => FileKind::Hash("hsb"),
        "mdb" => FileKind::Section("mdb"),
        "msb" => FileKind::Section("msb"),
        "fp" => FileKind::Allow("fp"),
        "sfp" => FileKind::Allow("sfp"),
        "hdu" | "hsu" | "mdu" | "msu" | "ndu" | "ldu" => FileKind::Pua,
        "ign2" => FileKind::Ignore(false),
        "ign" => FileKind::Ignore(true),
        "ndb" => FileKind::Ndb,
        "ldb" => FileKind::Ldb,
        "cdb" => FileKind::Cdb,
        "cvd" => FileKind::Archive(false),
        "cld" => FileKind::Archive(true),
        "info" => FileKind::Info,
        "cfg" => FileKind::Unsupported("engine configuration"),
        "crb" => FileKind::Unsupported("trusted and revoked certificates"),
        "cat" => FileKind::Unsupported("Authenticode catalogs"),
        "pdb" | "gdb" | "wdb" => FileKind::Unsupported("phishing URL lists"),
        "ftm" => FileKind::Unsupported("file type magic"),
        "idb" => FileKind::Unsupported("icon signatures"),
        "cbc" => FileKind::Unsupported("bytecode signatures"),
        "yar" | "yara" => FileKind::Unsupported("YARA rules"),
        "imp" => FileKind::Unsupported("PE import table hashes"),
        "pwdb" => FileKind::Unsupported("archive passwords"),
        "db" | "zmd" | "rmd" | "sdb" => FileKind::Unsupported("obsolete formats"),
        "hdbu" | "ldbu" | "ndbu" | "cdbu" => FileKind::Unsupported("obsolete formats"),
        _ => FileKind::Unknown,
    }
}

/// Whether each loaded signature got `.UNOFFICIAL` (to match ignore lines
/// against the name as written in its file).
#[derive(Debug, Default)]
struct Unofficial {
    bodies: Vec<bool>,
    logical: Vec<bool>,
    containers: Vec<bool>,
}

const UNOFFICIAL: &str = ".UNOFFICIAL";

/// Reads database files into a [`Database`].
#[derive(Debug, Default)]
pub struct Loader {
    db: Database,
    strict: bool,
    ignore: HashSet<String>,
    /// `name:md5` ignore entries, by name.
    ignore_md5: HashMap<String, Vec<IgnoreMd5>>,
    unofficial: Unofficial,
}

/// One `name:md5` ignore entry: it drops a signature of that name whose
/// line has that MD5, loaded after it.
#[derive(Debug)]
struct IgnoreMd5 {
    md5: [u8; 16],
    file: String,
    line: usize,
    /// How many hashes, section hashes, allow entries, bodies, logical and
    /// container signatures were loaded before this entry.
    before: [usize; 6],
}

/// The name field of a signature line, for matching `name:md5` ignores.
fn sig_name(kind: FileKind, line: &str) -> &str {
    match kind {
        FileKind::Hash(_) | FileKind::Section(_) | FileKind::Allow(_) => {
            line.split(':').nth(2).unwrap_or("")
        }
        FileKind::Ldb => line.split(';').next().unwrap_or(""),
        _ => line.split(':').next().unwrap_or(""),
    }
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

    /// Loads a file (by extension) or every database file in a directory,
    /// in sorted order of file name, ignore lists (`.ign`, `.ign2`) first
    /// as ClamAV loads them. As ClamAV does, when a directory holds
    /// both `x.cvd` and `x.cld` only the one with the higher version loads
    /// (the `.cld` on a tie).
    pub fn load_path(&mut self, path: &Path) -> Result<(), LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_dir() {
            let label = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            return self.load_disk_file(&label, path);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind_of(&name) == FileKind::Unknown {
                continue;
            }
            // Follows symlinks; skips subdirectories.
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                files.push((name, entry.path()));
            }
        }
        // Ignore lists first, as ClamAV loads them, so that their `name:md5`
        // entries apply to every signature in the directory.
        files.sort_by(|a, b| {
            let late = |n: &str| !matches!(kind_of(n), FileKind::Ignore(_));
            (late(&a.0), &a.0).cmp(&(late(&b.0), &b.0))
        });
        let names: HashSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
        for (name, p) in &files {
            if let Some(stem) = name
                .strip_suffix(".cvd")
                .or_else(|| name.strip_suffix(".cld"))
            {
                let other = if name.ends_with(".cvd") {
                    format!("{stem}.cld")
                } else {
                    format!("{stem}.cvd")
                };
                if names.contains(&other) {
                    let mine = header_version(p);
                    let theirs = header_version(&path.join(&other));
                    let keep = if name.ends_with(".cld") {
                        mine >= theirs
                    } else {
                        mine > theirs
                    };
                    if !keep {
                        continue;
                    }
                }
            }
            self.load_disk_file(name, p)?;
        }
        Ok(())
    }

    /// Loads one database file's bytes; `name` gives the type by extension.
    /// Signatures get `.UNOFFICIAL` unless they come from a `.cvd`/`.cld`.
    pub fn load_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), LoadError> {
        self.load_file(name, bytes, false)
    }

    /// As [`Loader::load_bytes`], but the signatures are official (no
    /// `.UNOFFICIAL`): used for the embedded default database.
    pub fn load_official(&mut self, name: &str, bytes: &[u8]) -> Result<(), LoadError> {
        self.load_file(name, bytes, true)
    }

    /// Applies `.ign2` removals and returns the database.
    pub fn finish(mut self) -> Database {
        self.note_late_md5_ignores();
        if !self.ignore.is_empty() {
            let ign = &self.ignore;
            let mut removed = 0u64;
            macro_rules! drop_ignored {
                ($field:ident) => {{
                    let flags = &self.unofficial.$field;
                    let mut i = 0;
                    self.db.$field.retain(|s| {
                        let unofficial = flags.get(i).copied().unwrap_or(false);
                        i += 1;
                        let raw = if unofficial {
                            s.name.strip_suffix(UNOFFICIAL).unwrap_or(&s.name)
                        } else {
                            &s.name
                        };
                        let keep = !ign.contains(raw);
                        removed += u64::from(!keep);
                        keep
                    });
                }};
            }
            for list in [
                &mut self.db.hashes,
                &mut self.db.section_hashes,
                &mut self.db.allow,
            ] {
                let names = std::mem::take(&mut list.names);
                removed += list.retain(|id| !ign.contains(names.raw(id)));
                list.names = names;
            }
            drop_ignored!(bodies);
            drop_ignored!(logical);
            drop_ignored!(containers);
            self.db.report.ignored += removed;
        }
        self.db.hashes.shrink_to_fit();
        self.db.section_hashes.shrink_to_fit();
        self.db.allow.shrink_to_fit();
        self.db
    }

    /// A `name:md5` ignore entry can only be checked against lines loaded
    /// after it (we keep no lines). One naming a signature loaded before it
    /// is not applied, as in ClamAV, and is listed as unsupported.
    fn note_late_md5_ignores(&mut self) {
        if self.ignore_md5.is_empty() {
            return;
        }
        let db = &self.db;
        let u = &self.unofficial;
        let mut notes = Vec::new();
        for (name, entries) in &self.ignore_md5 {
            for e in entries {
                let mut hit = false;
                macro_rules! scan {
                    ($field:ident, $k:expr) => {
                        hit |= db.$field[..e.before[$k].min(db.$field.len())]
                            .iter()
                            .zip(&u.$field)
                            .any(|(s, &unofficial)| {
                                let raw = if unofficial {
                                    s.name.strip_suffix(UNOFFICIAL).unwrap_or(&s.name)
                                } else {
                                    &s.name
                                };
                                raw == name
                            });
                    };
                }
                hit |= db.hashes.has_before(e.before[0], name)
                    || db.section_hashes.has_before(e.before[1], name)
                    || db.allow.has_before(e.before[2], name);
                scan!(bodies, 3);
                scan!(logical, 4);
                scan!(containers, 5);
                if hit {
                    notes.push(LoadIssue {
                        file: e.file.clone(),
                        line: e.line,
                        reason: format!(
                            "ignore entry {name}:md5 comes after its signature; \
                             its MD5 cannot be checked, so it is not applied"
                        ),
                    });
                }
            }
        }
        notes.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.db.report.unsupported.extend(notes);
    }

    /// Records a problem; in strict mode, fails with it.
    fn issue(&mut self, file: &str, line: usize, reason: String) -> Result<(), LoadError> {
        let issue = LoadIssue {
            file: file.to_string(),
            line,
            reason,
        };
        if self.strict {
            return Err(LoadError::Line(issue));
        }
        self.db.report.errors.push(issue);
        Ok(())
    }

    fn unsupported(&mut self, file: &str, line: usize, reason: String) {
        self.db.report.unsupported.push(LoadIssue {
            file: file.to_string(),
            line,
            reason,
        });
    }

    fn load_file(&mut self, label: &str, bytes: &[u8], official: bool) -> Result<(), LoadError> {
        let kind = kind_of(label);
        match kind {
            FileKind::Archive(cld) => return self.load_archive(label, bytes, cld),
            FileKind::Info => return self.load_info(label, bytes, &[]),
            _ => {}
        }
        self.db.report.files.push(DbInfo {
            file: label.to_string(),
            ..DbInfo::default()
        });
        match kind {
            FileKind::Unsupported(what) => {
                let ext = label.rsplit_once('.').map_or("", |(_, e)| e);
                self.unsupported(label, 0, format!(".{ext} files ({what}) are not supported"));
                Ok(())
            }
            FileKind::Unknown => {
                self.unsupported(label, 0, "not a known database type".into());
                Ok(())
            }
            FileKind::Pua => {
                // Not parsed at all, as clamscan does not read them: only
                // the signature lines are counted.
                let n = bytes
                    .split(|&b| b == b'\n')
                    .filter(|l| {
                        let l = l.strip_suffix(b"\r").unwrap_or(l);
                        !l.is_empty() && l[0] != b'#'
                    })
                    .count();
                self.db.report.skipped_pua += n as u64;
                Ok(())
            }
            _ => self.load_lines(label, bytes, kind, official, 0).map(|_| ()),
        }
    }

    /// Loads a line-based database.
    /// Lines are numbered from `first + 1`; returns how many there were.
    fn load_lines(
        &mut self,
        label: &str,
        bytes: &[u8],
        kind: FileKind,
        official: bool,
        first: usize,
    ) -> Result<usize, LoadError> {
        let suffix = if official { "" } else { UNOFFICIAL };
        let counter: &'static str = match kind {
            FileKind::Hash(k) | FileKind::Section(k) | FileKind::Allow(k) => k,
            FileKind::Ignore(true) => "ign",
            FileKind::Ignore(false) => "ign2",
            FileKind::Ndb => "ndb",
            FileKind::Ldb => "ldb",
            FileKind::Cdb => "cdb",
            _ => "other",
        };
        // A million-line hash file would otherwise grow its vector by
        // doubling and briefly hold twice what it needs.
        let lines = memchr::memchr_iter(b'\n', bytes).count() + 1;
        match kind {
            FileKind::Hash(_) => self.db.hashes.reserve(lines),
            FileKind::Section(_) => self.db.section_hashes.reserve(lines),
            FileKind::Allow(_) => self.db.allow.reserve(lines),
            FileKind::Ndb => self.db.bodies.reserve(lines),
            _ => {}
        }
        let mut loaded = 0u64;
        let mut lineno = first;
        // Checked once for the whole file; only a file that is not UTF-8
        // pays for a lossy conversion per line.
        let whole = std::str::from_utf8(bytes).ok();
        let mut pos = 0;
        while pos < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |n| pos + n);
            let start = pos;
            pos = end + 1;
            lineno += 1;
            let raw = &bytes[start..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.first() == Some(&b'#') {
                continue;
            }
            let text = match whole {
                // Cut at ASCII bytes, so on character boundaries.
                Some(w) => std::borrow::Cow::Borrowed(&w[start..start + raw.len()]),
                None => String::from_utf8_lossy(raw),
            };
            let line: &str = &text;
            let result = if line.is_empty() {
                Err(LineError::EmptyLine)
            } else {
                self.load_line(kind, line, suffix, !official, label, lineno)
            };
            match result {
                Ok(true) => loaded += 1,
                Ok(false) => {}
                Err(e) => {
                    if let Err(e) = self.issue(label, lineno, e.to_string()) {
                        self.count(counter, loaded);
                        return Err(e);
                    }
                }
            }
        }
        self.count(counter, loaded);
        Ok(lineno - first)
    }

    /// Loads a line-based database file from disk a chunk at a time, so
    /// that a large `.hdb` is never in memory whole (and its pages are
    /// never faulted in); anything else is read whole.
    fn load_disk_file(&mut self, label: &str, path: &Path) -> Result<(), LoadError> {
        use std::io::Read as _;
        const CHUNK: usize = 1 << 20;
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let kind = kind_of(label);
        let streamed = matches!(
            kind,
            FileKind::Hash(_)
                | FileKind::Section(_)
                | FileKind::Allow(_)
                | FileKind::Ignore(_)
                | FileKind::Ndb
                | FileKind::Ldb
                | FileKind::Cdb
        );
        if !streamed {
            let bytes = std::fs::read(path).map_err(io)?;
            return self.load_file(label, &bytes, false);
        }
        let mut file = std::fs::File::open(path).map_err(io)?;
        // A hash file's rows and names are reserved for the whole file at
        // once (a line takes at least 36 bytes; a name at most the line plus
        // `.UNOFFICIAL`), rather than grown and copied chunk by chunk. Pages
        // never written are never resident; `finish` gives the rest back.
        if let Ok(meta) = file.metadata() {
            let len = usize::try_from(meta.len()).unwrap_or(0);
            let list = match kind {
                FileKind::Hash(_) => Some(&mut self.db.hashes),
                FileKind::Section(_) => Some(&mut self.db.section_hashes),
                FileKind::Allow(_) => Some(&mut self.db.allow),
                _ => None,
            };
            if let Some(list) = list {
                let lines = len / 36 + 1;
                list.names
                    .reserve(len.saturating_add(lines * UNOFFICIAL.len()), lines);
                list.md5.reserve(lines);
            }
        }
        self.db.report.files.push(DbInfo {
            file: label.to_string(),
            ..DbInfo::default()
        });
        let mut buf: Vec<u8> = Vec::new();
        let mut eof = false;
        let mut lineno = 0;
        while !eof || !buf.is_empty() {
            if !eof {
                let mut filled = buf.len();
                let want = filled + CHUNK;
                buf.resize(want, 0);
                while filled < want {
                    match file.read(&mut buf[filled..]) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(e)),
                    }
                }
                buf.truncate(filled);
            }
            // Whole lines only, until the end of the file; a line longer
            // than a chunk reads on.
            let cut = if eof {
                buf.len()
            } else {
                match memchr::memrchr(b'\n', &buf) {
                    Some(i) => i + 1,
                    None => continue,
                }
            };
            lineno += self.load_lines(label, &buf[..cut], kind, false, lineno)?;
            buf.drain(..cut);
        }
        Ok(())
    }

    fn count(&mut self, counter: &'static str, n: u64) {
        if n > 0 {
            *self.db.report.loaded.entry(counter).or_default() += n;
        }
    }

    /// Loads one line: `Ok(true)` if a signature was added.
    fn load_line(
        &mut self,
        kind: FileKind,
        line: &str,
        suffix: &str,
        unofficial: bool,
        label: &str,
        lineno: usize,
    ) -> Result<bool, LineError> {
        // A `name:md5` ignore entry drops the line whose MD5 it gives (as
        // ClamAV does, the line without its end-of-line).
        if !self.ignore_md5.is_empty()
            && !matches!(kind, FileKind::Ignore(_))
            && let Some(entries) = self.ignore_md5.get(sig_name(kind, line))
        {
            use md5::Digest as _;
            let got: [u8; 16] = md5::Md5::digest(line.as_bytes()).into();
            if entries.iter().any(|e| e.md5 == got) {
                self.db.report.ignored += 1;
                return Ok(false);
            }
        }
        let db = &mut self.db;
        let flags = &mut self.unofficial;
        macro_rules! skip {
            () => {{
                db.report.skipped_flevel += 1;
                return Ok(false);
            }};
        }
        match kind {
            FileKind::Hash(_) | FileKind::Section(_) | FileKind::Allow(_) => {
                let section = matches!(kind, FileKind::Section(_));
                let sig = match hash::parse(line, section)? {
                    hash::Parsed::Sig(s) => s,
                    hash::Parsed::SkipFlevel => skip!(),
                };
                let list = match kind {
                    FileKind::Hash(_) => &mut db.hashes,
                    FileKind::Section(_) => &mut db.section_hashes,
                    _ => &mut db.allow,
                };
                let name = list.names.add(sig.name, suffix, unofficial);
                list.push(sig.kind, &sig.digest, sig.size, name);
            }
            FileKind::Ignore(old) => match hash::ignore(line, old)? {
                (name, None) => {
                    self.ignore.insert(name.to_string());
                }
                (name, Some(md5)) => {
                    // For hash lists: the names so far (ids grow in
                    // load order).
                    let before = [
                        db.hashes.names.len(),
                        db.section_hashes.names.len(),
                        db.allow.names.len(),
                        db.bodies.len(),
                        db.logical.len(),
                        db.containers.len(),
                    ];
                    self.ignore_md5
                        .entry(name.to_string())
                        .or_default()
                        .push(IgnoreMd5 {
                            md5,
                            file: label.to_string(),
                            line: lineno,
                            before,
                        });
                }
            },
            FileKind::Ndb => match ndb::parse(line, suffix)? {
                ndb::Parsed::Sig(s) => {
                    db.bodies.push(s);
                    flags.bodies.push(unofficial);
                }
                ndb::Parsed::SkipFlevel => skip!(),
            },
            FileKind::Ldb => match ldb::parse(line, suffix)? {
                ldb::Parsed::Sig(s, notes) => {
                    if !notes.is_empty() {
                        db.report.unsupported.push(LoadIssue {
                            file: label.to_string(),
                            line: lineno,
                            reason: format!("{}: {}", s.name, notes.join("; ")),
                        });
                    }
                    db.logical.push(s);
                    flags.logical.push(unofficial);
                }
                ldb::Parsed::SkipFlevel => skip!(),
                ldb::Parsed::Skip(why) => {
                    db.report.unsupported.push(LoadIssue {
                        file: label.to_string(),
                        line: lineno,
                        reason: why,
                    });
                    return Ok(false);
                }
            },
            FileKind::Cdb => match cdb::parse(line, suffix)? {
                cdb::Parsed::Sig(s, note) => {
                    if let Some(n) = note {
                        db.report.unsupported.push(LoadIssue {
                            file: label.to_string(),
                            line: lineno,
                            reason: format!("{}: {n}", s.name),
                        });
                    }
                    db.containers.push(*s);
                    flags.containers.push(unofficial);
                }
                cdb::Parsed::SkipFlevel => skip!(),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Loads a `.cvd`/`.cld`: every member, as official.
    fn load_archive(&mut self, label: &str, bytes: &[u8], cld: bool) -> Result<(), LoadError> {
        let u = match cvd::unpack(bytes, cld) {
            Ok(u) => u,
            Err((header, why)) => {
                let mut info = DbInfo {
                    file: label.to_string(),
                    ..DbInfo::default()
                };
                if let Some(h) = header {
                    fill(&mut info, &h);
                    info.md5_ok = Some(false);
                }
                self.db.report.files.push(info);
                return self.issue(label, 0, why);
            }
        };
        let mut info = DbInfo {
            file: label.to_string(),
            md5_ok: u.md5_ok,
            ..DbInfo::default()
        };
        fill(&mut info, &u.header);
        self.db.report.files.push(info);
        for p in u.problems {
            self.issue(label, 0, p)?;
        }
        // Members load inside the walk (their bytes are borrowed from the
        // unpacked tar); `.info` members are checked after it, against the
        // size and SHA-256 of every member.
        let mut failed: Option<LoadError> = None;
        let mut digests: Vec<(String, u64, [u8; 32])> = Vec::new();
        let mut infos: Vec<(String, Vec<u8>)> = Vec::new();
        let problem = cvd::each_member(&u.tar, &mut |name, data| {
            if failed.is_some() {
                return;
            }
            let name = String::from_utf8_lossy(name).into_owned();
            let member = format!("{label}/{name}");
            use sha2::Digest as _;
            let sha: [u8; 32] = sha2::Sha256::digest(data).into();
            digests.push((name.clone(), data.len() as u64, sha));
            let r = match kind_of(&name) {
                FileKind::Unknown | FileKind::Archive(_) => Ok(()),
                FileKind::Info => {
                    infos.push((member, data.to_vec()));
                    Ok(())
                }
                _ => self.load_file(&member, data, true),
            };
            if let Err(e) = r {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(p) = problem {
            self.issue(label, 0, p)?;
        }
        for (member, data) in infos {
            self.load_info(&member, &data, &digests)?;
        }
        Ok(())
    }

    /// Parses an `.info` file; inside an archive, `members` are the other
    /// members' names, sizes and SHA-256 digests to check against it.
    fn load_info(
        &mut self,
        label: &str,
        bytes: &[u8],
        members: &[(String, u64, [u8; 32])],
    ) -> Result<(), LoadError> {
        let text = String::from_utf8_lossy(bytes);
        let (head, entries, errors) = cvd::info(&text);
        let mut info = DbInfo {
            file: label.to_string(),
            ..DbInfo::default()
        };
        if let Some(h) = &head {
            fill(&mut info, h);
        }
        self.db.report.files.push(info);
        for (line, why) in errors {
            self.issue(label, line, why)?;
        }
        if !members.is_empty() {
            for e in &entries {
                match members.iter().find(|m| m.0 == e.name) {
                    None => self.issue(label, 0, format!("{} is listed but missing", e.name))?,
                    Some(m) if m.1 != e.size || m.2 != e.sha256 => self.issue(
                        label,
                        0,
                        format!("{} does not match its size and SHA-256", e.name),
                    )?,
                    Some(_) => {}
                }
            }
        }
        self.count("info", entries.len() as u64);
        Ok(())
    }
}

/// Copies a header into a [`DbInfo`].
fn fill(info: &mut DbInfo, h: &cvd::Header) {
    info.version = Some(h.version);
    info.build_time = Some(h.build_time.clone());
    info.declared_sigs = Some(h.sigs);
    info.flevel = Some(h.flevel);
}

/// The version in a `.cvd`/`.cld` header on disk (0 if unreadable).
fn header_version(path: &Path) -> u32 {
    use std::io::Read;
    let mut buf = [0u8; cvd::HEADER];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .ok()
        .and_then(|()| cvd::header(&buf).ok())
        .map_or(0, |h| h.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EICAR_MD5: &str = "44d88612fea8a8f36de82e1278abb02f";

    fn load(name: &str, text: &str) -> Database {
        let mut l = Loader::new();
        l.load_bytes(name, text.as_bytes()).unwrap();
        l.finish()
    }

    fn issue(file: &str, line: usize) -> impl Fn(&LoadIssue) -> bool + '_ {
        move |i: &LoadIssue| i.file == file && i.line == line
    }

    #[test]
    fn hash_files_and_naming() {
        let db = load("local.hdb", &format!("{EICAR_MD5}:68:Eicar-Test\n"));
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.hashes.get(0).unwrap().name, "Eicar-Test.UNOFFICIAL");
        assert_eq!(db.report.loaded["hdb"], 1);
        assert_eq!(db.report.files[0].file, "local.hdb");
        assert!(db.report.errors.is_empty());

        let mut l = Loader::new();
        l.load_official(
            "default.hdb",
            format!("{EICAR_MD5}:68:Eicar-Test\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(l.finish().hashes.get(0).unwrap().name, "Eicar-Test");

        let db = load("x.MDB", &format!("4096:{EICAR_MD5}:Sec\n"));
        assert_eq!(db.section_hashes.len(), 1);
        assert_eq!(db.report.loaded["mdb"], 1);
        let db = load("x.sfp", &format!("{}:*:Clean:73\n", "ab".repeat(32)));
        assert_eq!(db.allow.len(), 1);
        assert_eq!(db.allow.get(0).unwrap().kind, HashKind::Sha256);
        assert_eq!(db.report.loaded["sfp"], 1);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text =
            format!("# comment\n{EICAR_MD5}:68:A\r\nzz:1:B\n\n{EICAR_MD5}:68:C\n{EICAR_MD5}:*:D\n");
        let db = load("t.hdb", &text);
        let names: Vec<&str> = db.hashes.iter().map(|h| h.name).collect();
        assert_eq!(names, ["A.UNOFFICIAL", "C.UNOFFICIAL"]);
        assert_eq!(db.report.errors.len(), 3);
        assert!(issue("t.hdb", 3)(&db.report.errors[0]));
        assert!(db.report.errors[0].reason.contains("bad hash"));
        assert!(issue("t.hdb", 4)(&db.report.errors[1]));
        assert_eq!(db.report.errors[1].reason, "empty line");
        assert!(issue("t.hdb", 6)(&db.report.errors[2]));
        assert_eq!(
            db.report.errors[2].to_string(),
            format!("t.hdb:6: {}", LineError::WildcardSize)
        );
        // No final newline: the last line still counts.
        let db = load("t.hdb", &format!("{EICAR_MD5}:68:A"));
        assert_eq!(db.hashes.len(), 1);
    }

    #[test]
    fn strict_stops_at_first_bad_line() {
        let mut l = Loader::new().strict(true);
        let text = format!("{EICAR_MD5}:68:A\nbad\n{EICAR_MD5}:68:C\n");
        match l.load_bytes("s.hdb", text.as_bytes()) {
            Err(LoadError::Line(i)) => {
                assert_eq!((i.file.as_str(), i.line), ("s.hdb", 2));
            }
            other => panic!("{other:?}"),
        }
        let db = l.finish();
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.report.loaded["hdb"], 1);
    }

    #[test]
    fn flevel_skips_are_counted() {
        let text = format!(
            "{EICAR_MD5}:68:A:{}\n{EICAR_MD5}:68:B:1:{}\n{EICAR_MD5}:68:C:1:\n{EICAR_MD5}:68:D:x\n",
            FLEVEL + 1,
            FLEVEL - 1
        );
        let db = load("f.hdb", &text);
        assert_eq!(db.report.skipped_flevel, 3);
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.hashes.get(0).unwrap().name, "D.UNOFFICIAL");
        let db = load("f.ndb", &format!("N:0:*:41:{}\nM:0:*:41:1:\n", FLEVEL + 1));
        assert_eq!(db.report.skipped_flevel, 2);
        let db = load(
            "f.ldb",
            &format!("L;Engine:{}-255,Target:0;0;41\n", FLEVEL + 1),
        );
        assert_eq!(db.report.skipped_flevel, 1);
        let db = load("f.cdb", &format!("C:*:*:*:*:*:*:*:*:*:{}\n", FLEVEL + 1));
        assert_eq!(db.report.skipped_flevel, 1);
    }

    #[test]
    fn ignore_lists_in_any_order() {
        let sigs = format!("{EICAR_MD5}:68:Drop.Me\n{EICAR_MD5}:68:Keep.Me\n");
        for ign_first in [true, false] {
            let mut l = Loader::new();
            if ign_first {
                l.load_bytes("a.ign2", b"Drop.Me\n").unwrap();
            }
            l.load_bytes("b.hdb", sigs.as_bytes()).unwrap();
            if !ign_first {
                l.load_bytes("c.ign2", b"# c\nDrop.Me\n").unwrap();
            }
            let db = l.finish();
            let names: Vec<&str> = db.hashes.iter().map(|h| h.name).collect();
            assert_eq!(names, ["Keep.Me.UNOFFICIAL"]);
            assert_eq!(db.report.ignored, 1);
            assert_eq!(db.report.loaded["ign2"], 1);
        }
        // An ignore line naming the `.UNOFFICIAL` form does not match (as in
        // clamscan); official names match as written.
        let mut l = Loader::new();
        l.load_bytes("a.ign2", b"Keep.Me.UNOFFICIAL\nOff.Sig\n")
            .unwrap();
        l.load_bytes("b.hdb", sigs.as_bytes()).unwrap();
        l.load_official("o.ndb", b"Off.Sig:0:*:41\n").ok();
        l.load_bytes("c.cdb", b"Off.Sig:*:*:*:*:*:*:*:*:*\n")
            .unwrap();
        let db = l.finish();
        assert_eq!(db.hashes.len(), 2);
        assert!(
            db.containers.is_empty(),
            "unofficial Off.Sig is dropped by its own name"
        );
        let db = {
            let mut l = Loader::new();
            l.load_bytes("a.ign2", b"Off.Sig\n").unwrap();
            l.load_bytes("c.cdb", b"Off.Sig:*:*:*:*:*:*:*:*:*\n")
                .unwrap();
            l.finish()
        };
        assert!(db.containers.is_empty());
        // Old .ign format and bad lines.
        let db = load("x.ign", "daily.ndb:12:Name\nName:nothex\n");
        assert_eq!(db.report.loaded["ign"], 1);
        assert!(issue("x.ign", 2)(&db.report.errors[0]));
    }

    // Checked with clamscan 1.4.3: `name:md5` drops the signature only when
    // md5 is the MD5 of its line (without the newline), and only when the
    // ignore list was loaded first.
    #[test]
    fn ignore_md5_is_the_line_md5() {
        let line = format!("{EICAR_MD5}:68:Test.Hdb");
        let good = {
            use md5::Digest as _;
            let d: [u8; 16] = md5::Md5::digest(line.as_bytes()).into();
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let run = |ign: &str, first: bool| {
            let mut l = Loader::new();
            if first {
                l.load_bytes("z.ign2", ign.as_bytes()).unwrap();
            }
            l.load_bytes("a.hdb", format!("{line}\r\n").as_bytes())
                .unwrap();
            if !first {
                l.load_bytes("z.ign2", ign.as_bytes()).unwrap();
            }
            l.finish()
        };
        let db = run(&format!("Test.Hdb:{good}\n"), true);
        assert!(db.hashes.is_empty());
        assert_eq!(db.report.ignored, 1);
        let db = run("Test.Hdb:0123456789abcdef0123456789abcdef\n", true);
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.report.ignored, 0);
        assert!(db.report.unsupported.is_empty());
        let db = run(&format!("Test.Hdb:{good}\n"), false);
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.report.unsupported.len(), 1);
        assert_eq!(
            (
                db.report.unsupported[0].file.as_str(),
                db.report.unsupported[0].line
            ),
            ("z.ign2", 1)
        );
        // A directory loads its ignore lists first, whatever their names.
        let dir = std::env::temp_dir().join(format!("filter-ign-md5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.hdb"), format!("{line}\n")).unwrap();
        std::fs::write(dir.join("z.ign2"), format!("Test.Hdb:{good}\n")).unwrap();
        let mut l = Loader::new();
        l.load_path(&dir).unwrap();
        let db = l.finish();
        std::fs::remove_dir_all(&dir).ok();
        assert!(db.hashes.is_empty());
        assert_eq!(db.report.ignored, 1);
    }

    #[test]
    fn pua_and_unsupported_files() {
        let db = load("p.ndu", "# x\nPUA.Test:0:*:41\n\nPUA.Two:0:*:42\n");
        assert_eq!(db.report.skipped_pua, 2);
        assert!(db.bodies.is_empty() && db.report.errors.is_empty());
        for name in [
            "daily.cfg",
            "x.yar",
            "p.pdb",
            "b.cbc",
            "i.ftm",
            "w.wdb",
            "c.crb",
        ] {
            let db = load(name, "whatever\n");
            assert_eq!(db.report.unsupported.len(), 1, "{name}");
            assert_eq!(db.report.unsupported[0].line, 0);
            assert!(db.report.unsupported[0].reason.contains("not supported"));
        }
        let db = load("README", "x");
        assert_eq!(db.report.unsupported[0].reason, "not a known database type");
    }

    #[test]
    fn container_sigs() {
        let db = load(
            "c.cdb",
            "Zip.Exe:CL_TYPE_ZIP:*:.*\\.exe:*:*:0:*:*:*\nBad:CL_TYPE_ZIP:*\n",
        );
        assert_eq!(db.containers.len(), 1);
        assert_eq!(db.containers[0].name, "Zip.Exe.UNOFFICIAL");
        assert_eq!(db.report.loaded["cdb"], 1);
        assert!(issue("c.cdb", 2)(&db.report.errors[0]));
    }

    /// Needs the pattern parser.
    #[test]
    fn body_and_logical_sigs() {
        let db = load("b.ndb", "Test.Evil:0:*:6576696c\nBroken:0:*\n");
        assert_eq!(db.bodies.len(), 1);
        assert_eq!(db.bodies[0].name, "Test.Evil.UNOFFICIAL");
        assert!(issue("b.ndb", 2)(&db.report.errors[0]));
        let db = load(
            "l.ldb",
            "L.One;Engine:81-255,Target:0;0&1;6b6f74656b;0/a(?=b)/\nL.Bad;Target:0;0&1;41\n",
        );
        assert_eq!(db.logical.len(), 1);
        assert_eq!(db.logical[0].name, "L.One.UNOFFICIAL");
        assert!(matches!(db.logical[0].subsigs[1], SubSig::Unsupported(_)));
        assert!(issue("l.ldb", 1)(&db.report.unsupported[0]));
        assert!(db.report.unsupported[0].reason.contains("look-around"));
        assert!(issue("l.ldb", 2)(&db.report.errors[0]));
    }

    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        cvd::tests::tar(files)
    }

    fn info_for(files: &[(&str, &[u8])]) -> Vec<u8> {
        use sha2::Digest as _;
        let mut s = format!("ClamAV-VDB:x:42:3:90:{}:d:b:1\n", "0".repeat(32));
        for (n, d) in files {
            let h: String = sha2::Sha256::digest(d)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            s.push_str(&format!("{n}:{}:{h}\n", d.len()));
        }
        s.push_str("DSIG:xyz\n");
        s.into_bytes()
    }

    #[test]
    fn cvd_archives() {
        let hdb = format!("{EICAR_MD5}:68:Official.Eicar\n{EICAR_MD5}:68:Dropped\n");
        let members: Vec<(&str, &[u8])> = vec![
            ("daily.hdb", hdb.as_bytes()),
            ("daily.ign2", b"Dropped\n"),
            ("daily.cdb", b"Zip.Any:CL_TYPE_ZIP:*:*:*:*:*:*:*:*\n"),
            ("COPYING", b"license text"),
            ("daily.cfg", b"DOCUMENT:0x1:0:0\n"),
        ];
        let info = info_for(&members);
        let mut all = vec![("daily.info", &info[..])];
        all.extend(members.iter().copied());
        let t = tar(&all);
        let file = cvd::tests::cvd(&cvd::tests::gzip(&t), 27000, None);
        let mut l = Loader::new();
        l.load_bytes("daily.cvd", &file).unwrap();
        let db = l.finish();
        assert_eq!(db.hashes.len(), 1);
        assert_eq!(db.hashes.get(0).unwrap().name, "Official.Eicar");
        assert_eq!(db.containers[0].name, "Zip.Any");
        assert_eq!(db.report.ignored, 1);
        assert!(db.report.errors.is_empty(), "{:?}", db.report.errors);
        let top = &db.report.files[0];
        assert_eq!(top.file, "daily.cvd");
        assert_eq!(top.version, Some(27000));
        assert_eq!(top.declared_sigs, Some(3));
        assert_eq!(top.flevel, Some(90));
        assert_eq!(top.md5_ok, Some(true));
        assert!(!top.signature_verified);
        assert!(
            db.report
                .files
                .iter()
                .any(|f| f.file == "daily.cvd/daily.info" && f.version == Some(42))
        );
        assert!(
            db.report
                .unsupported
                .iter()
                .any(|u| u.file == "daily.cvd/daily.cfg")
        );

        // A damaged .cvd: refused, reported at line 0.
        let mut bad = file.clone();
        let n = bad.len();
        bad[n - 30] ^= 0xff;
        let db = load_raw("daily.cvd", &bad);
        assert!(db.hashes.is_empty());
        assert!(issue("daily.cvd", 0)(&db.report.errors[0]));
        assert_eq!(db.report.files[0].md5_ok, Some(false));
        let mut l = Loader::new().strict(true);
        assert!(matches!(
            l.load_bytes("daily.cvd", &bad),
            Err(LoadError::Line(_))
        ));

        // A .cld: plain tar, MD5 not checked.
        let cld = cvd::tests::cvd(&t, 27001, Some(&"0".repeat(32)));
        let db = load_raw("daily.cld", &cld);
        assert_eq!(db.hashes.get(0).unwrap().name, "Official.Eicar");
        assert_eq!(db.report.files[0].md5_ok, None);

        // A member that does not match the .info.
        let mut all2 = all.clone();
        all2[1] = ("daily.hdb", b"different\n");
        let cld = cvd::tests::cvd(&tar(&all2), 1, None);
        let db = load_raw("x.cld", &cld);
        assert!(
            db.report
                .errors
                .iter()
                .any(|e| e.file == "x.cld/daily.info" && e.reason.contains("daily.hdb"))
        );
        assert!(
            db.report
                .errors
                .iter()
                .any(|e| e.file == "x.cld/daily.hdb" && e.line == 1)
        );

        // Not a database at all.
        let db = load_raw("junk.cvd", &[b'x'; 600]);
        assert!(issue("junk.cvd", 0)(&db.report.errors[0]));
    }

    fn load_raw(name: &str, bytes: &[u8]) -> Database {
        let mut l = Loader::new();
        l.load_bytes(name, bytes).unwrap();
        l.finish()
    }

    #[test]
    fn standalone_info() {
        let db = load_raw("main.info", &info_for(&[("main.hdb", b"x")]));
        assert_eq!(db.report.files[0].version, Some(42));
        assert_eq!(db.report.loaded["info"], 1);
    }

    #[test]
    fn directories_load_sorted() {
        let dir = std::env::temp_dir().join(format!("libfilter-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.hdb")).unwrap();
        std::fs::write(dir.join("b.hdb"), format!("{EICAR_MD5}:68:B\n")).unwrap();
        std::fs::write(dir.join("a.HDB"), format!("{EICAR_MD5}:68:A\n")).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a db").unwrap();
        std::fs::write(dir.join("z.ign2"), "B\n").unwrap();
        let old = cvd::tests::cvd(
            &tar(&[("o.hdb", format!("{EICAR_MD5}:68:Old\n").as_bytes())]),
            5,
            Some(""),
        );
        let new = cvd::tests::cvd(
            &tar(&[("o.hdb", format!("{EICAR_MD5}:68:New\n").as_bytes())]),
            6,
            Some(""),
        );
        std::fs::write(dir.join("daily.cld"), &old).unwrap();
        std::fs::write(
            dir.join("daily.cvd"),
            cvd::tests::cvd(&cvd::tests::gzip(&new[512..]), 6, None),
        )
        .unwrap();
        let mut l = Loader::new();
        l.load_path(&dir).unwrap();
        let db = l.finish();
        let names: Vec<&str> = db.hashes.iter().map(|h| h.name).collect();
        assert_eq!(names, ["A.UNOFFICIAL", "New"]);
        assert_eq!(db.report.ignored, 1);
        assert!(db.report.unsupported.is_empty());
        // A single file, by path.
        let mut l = Loader::new();
        l.load_path(&dir.join("b.hdb")).unwrap();
        assert_eq!(l.finish().report.files[0].file, "b.hdb");
        let mut l = Loader::new();
        assert!(matches!(
            l.load_path(&dir.join("missing.hdb")),
            Err(LoadError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expressions_through_the_contract() {
        let e = Expr::parse("(0|1)>1,2").unwrap();
        assert!(e.eval(&[1, 1]));
        assert!(!e.eval(&[2, 0]));
        assert!(Expr::parse("0&").unwrap_err().contains("ends early"));
    }

    /// `cargo test --release --lib sig::db::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn speed() {
        let mut text = String::with_capacity(70 << 20);
        for i in 0..1_000_000u32 {
            use std::fmt::Write;
            let _ = writeln!(text, "{i:032x}:{}:Test.Sig-{i}", 1000 + i);
        }
        let t = std::time::Instant::now();
        let mut l = Loader::new();
        l.load_bytes("big.hdb", text.as_bytes()).unwrap();
        let db = l.finish();
        let took = t.elapsed();
        assert_eq!(db.hashes.len(), 1_000_000);
        println!("1M hdb lines ({} MB) in {took:?}", text.len() >> 20);
    }
}
