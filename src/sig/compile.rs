//! A loaded [`Database`] compiled into [`Signatures`]: sorted hash tables, one
//! [`Matcher`] for every body and subsignature, and the logical signatures
//! that read its hits.

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use super::db::{
    ANY_SIZE, BodySig, ByteCompare, ContainerSig, Database, HashList, LoadReport, LogicalSig,
    Names, Row, SubSig,
};
use super::matcher::{MatchState, Matcher, MatcherBuilder, PatternId};
use super::pattern::{Base, Offset};
use super::pe::Layout;
use crate::sniff::FileType;

/// What kind of buffer is being matched, which decides the ClamAV target
/// types that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A file, attachment or container member as it is (targets 0 and the
    /// one of its sniffed type).
    Raw(FileType),
    /// A whole mail message as received (targets 0 and 4).
    Mail,
    /// Normalised HTML (targets 0 and 3: clamscan matches its
    /// any-file signatures against the normalised form too).
    Html,
    /// Normalised text (targets 0 and 7).
    Text,
}

impl View {
    /// Whether a signature for ClamAV target type `target` applies.
    pub fn accepts(self, target: u8) -> bool {
        match self {
            View::Raw(t) => match target {
                0 => true,
                1 => t == FileType::Pe,
                2 => t == FileType::Ole2,
                5 => matches!(t, FileType::Png | FileType::Jpeg | FileType::Gif),
                6 => t == FileType::Elf,
                9 => t == FileType::MachO,
                10 => t == FileType::Pdf,
                12 => t == FileType::JavaClass,
                _ => false,
            },
            View::Mail => matches!(target, 0 | 4),
            View::Html => matches!(target, 0 | 3),
            View::Text => matches!(target, 0 | 7),
        }
    }
}

/// What the caller knows about the buffer besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Which targets apply.
    pub view: View,
    /// The ClamAV type of the innermost container holding the buffer
    /// (`CL_TYPE_ZIP`, `CL_TYPE_MAIL`, …), for `.ldb` `Container:`.
    pub container: Option<&'a str>,
    /// Entry point and sections, for `EP`/`Sx`/`SL`/`SE` offsets.
    pub layout: &'a Layout,
}

/// Sorted rows of one digest kind.
#[derive(Debug, Default)]
struct Table<const N: usize> {
    rows: Vec<Row<N>>,
    /// The rows' sizes, sorted and distinct ([`ANY_SIZE`] last): a buffer
    /// of a size not here is not hashed at all, as in ClamAV, whose hash
    /// signatures are keyed by size.
    sizes: Vec<u64>,
}

impl<const N: usize> Table<N> {
    fn seal(&mut self) {
        // Digests are random: their first eight bytes nearly always decide,
        // and compare as one integer.
        let key = |r: &Row<N>| {
            let mut k = [0u8; 8];
            k.copy_from_slice(&r.digest[..8]);
            u64::from_be_bytes(k)
        };
        self.rows
            .sort_unstable_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.cmp(b)));
        self.rows
            .dedup_by(|a, b| a.digest == b.digest && a.size == b.size);
        self.rows.shrink_to_fit();
        self.sizes = self.rows.iter().map(|r| r.size).collect();
        self.sizes.sort_unstable();
        self.sizes.dedup();
    }

    /// Whether some row may match a buffer of `size` bytes.
    fn may_hold(&self, size: u64) -> bool {
        self.sizes.last() == Some(&ANY_SIZE) || self.sizes.binary_search(&size).is_ok()
    }
}

impl<const N: usize> Table<N> {
    /// The name of the first row for `digest` whose size is `size` or any.
    fn find(&self, digest: &[u8; N], size: u64) -> Option<u32> {
        let start = self.rows.partition_point(|r| r.digest < *digest);
        self.rows[start..]
            .iter()
            .take_while(|r| r.digest == *digest)
            .find(|r| r.size == size || r.size == ANY_SIZE)
            .map(|r| r.name)
    }
}

/// MD5, SHA1 and SHA256 tables.
#[derive(Debug, Default)]
struct Hashes {
    md5: Table<16>,
    sha1: Table<20>,
    sha256: Table<32>,
}

impl Hashes {
    /// Takes a list's rows (its names stay with the caller), adding
    /// `base` to every name id.
    fn from_list(list: &mut HashList, base: u32) -> Hashes {
        let mut h = Hashes {
            md5: Table {
                rows: std::mem::take(&mut list.md5),
                ..Table::default()
            },
            sha1: Table {
                rows: std::mem::take(&mut list.sha1),
                ..Table::default()
            },
            sha256: Table {
                rows: std::mem::take(&mut list.sha256),
                ..Table::default()
            },
        };
        if base != 0 {
            h.md5.rows.iter_mut().for_each(|r| r.name += base);
            h.sha1.rows.iter_mut().for_each(|r| r.name += base);
            h.sha256.rows.iter_mut().for_each(|r| r.name += base);
        }
        h.seal();
        h
    }

    fn seal(&mut self) {
        self.md5.seal();
        self.sha1.seal();
        self.sha256.seal();
    }

    fn len(&self) -> usize {
        self.md5.rows.len() + self.sha1.rows.len() + self.sha256.rows.len()
    }

    /// Looks `data` up, computing only the digests some row needs.
    fn find(&self, data: &[u8], digests: &mut Digests) -> Option<u32> {
        let size = data.len() as u64;
        if self.md5.may_hold(size)
            && let Some(n) = self.md5.find(digests.md5(data), size)
        {
            return Some(n);
        }
        if self.sha1.may_hold(size)
            && let Some(n) = self.sha1.find(digests.sha1(data), size)
        {
            return Some(n);
        }
        if self.sha256.may_hold(size)
            && let Some(n) = self.sha256.find(digests.sha256(data), size)
        {
            return Some(n);
        }
        None
    }
}

/// Digests of one buffer, each computed at most once.
#[derive(Debug, Default)]
pub struct Digests {
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
}

impl Digests {
    fn md5(&mut self, data: &[u8]) -> &[u8; 16] {
        self.md5.get_or_insert_with(|| Md5::digest(data).into())
    }
    fn sha1(&mut self, data: &[u8]) -> &[u8; 20] {
        self.sha1.get_or_insert_with(|| Sha1::digest(data).into())
    }
    fn sha256(&mut self, data: &[u8]) -> &[u8; 32] {
        self.sha256
            .get_or_insert_with(|| Sha256::digest(data).into())
    }
}

/// Who owns a matcher pattern.
#[derive(Debug, Clone, Copy)]
enum Owner {
    /// `.ndb` signature `i`.
    Body(u32),
    /// A subsignature of `.ldb` signature `i`.
    Sub(u32),
}

/// A logical signature with its subsignatures' pattern ids.
#[derive(Debug)]
struct Logical {
    sig: LogicalSig,
    /// Pattern id of each body subsignature (`None` for PCRE, byte compare,
    /// unsupported).
    ids: Vec<Option<PatternId>>,
}

/// Per-scanner scratch for [`Signatures::scan`].
#[derive(Default)]
pub struct Scratch {
    state: MatchState,
    touched: Vec<u32>,
    seen: Vec<bool>,
    counts: Vec<u32>,
}

impl Scratch {
    /// Fresh scratch.
    pub fn new() -> Scratch {
        Scratch::default()
    }
}

/// Every signature, compiled. Immutable and `Send + Sync`.
pub struct Signatures {
    names: Names,
    hashes: Hashes,
    sections: Hashes,
    allow: Hashes,
    matcher: Matcher,
    owners: Vec<Owner>,
    bodies: Vec<(u32, u8)>,
    logical: Vec<Logical>,
    /// Logical signatures with no body subsignature: evaluated on every
    /// buffer of their target.
    unanchored: Vec<u32>,
    containers: Vec<ContainerSig>,
    report: LoadReport,
}

impl std::fmt::Debug for Signatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signatures")
            .field("signatures", &self.len())
            .finish()
    }
}

impl Signatures {
    /// Compiles a loaded database.
    pub fn compile(db: Database) -> Signatures {
        let Database {
            mut hashes,
            mut section_hashes,
            mut allow,
            bodies,
            logical,
            containers,
            report,
        } = db;
        // The hash names become the table of every name; the section
        // hashes' names follow them, then the bodies'.
        let h = Hashes::from_list(&mut hashes, 0);
        let mut names: Names = std::mem::take(&mut hashes.names);
        drop(hashes);
        let sec = Hashes::from_list(&mut section_hashes, names.len() as u32);
        let sec_names = std::mem::take(&mut section_hashes.names);
        for i in 0..sec_names.len() as u32 {
            names.push(sec_names.get(i), false);
        }
        drop(sec_names);
        // Allow-list names are never reported.
        let al = Hashes::from_list(&mut allow, 0);
        drop(allow);
        // Room for every body name at once: growing the text by doubling
        // would copy it again and again.
        names.reserve(
            bodies.iter().map(|b| b.name.len()).sum::<usize>()
                + logical.iter().map(|l| l.name.len()).sum::<usize>(),
            bodies.len() + logical.len(),
        );
        let mut name = |s: String| names.push(&s, false);

        let mut mb = MatcherBuilder::new();
        mb.reserve(bodies.len());
        let mut owners = Vec::new();
        let mut body_meta = Vec::with_capacity(bodies.len());
        for BodySig {
            name: n,
            target,
            offset,
            pattern,
        } in bodies
        {
            let i = body_meta.len() as u32;
            body_meta.push((name(n), target));
            mb.add(pattern, offset);
            owners.push(Owner::Body(i));
        }
        let mut logicals = Vec::with_capacity(logical.len());
        let mut unanchored = Vec::new();
        for sig in logical {
            let i = logicals.len() as u32;
            let mut ids = Vec::with_capacity(sig.subsigs.len());
            for sub in &sig.subsigs {
                match sub {
                    SubSig::Body { offset, pattern } => {
                        ids.push(Some(mb.add(pattern.clone(), *offset)));
                        owners.push(Owner::Sub(i));
                    }
                    _ => ids.push(None),
                }
            }
            if ids.iter().all(Option::is_none) {
                unanchored.push(i);
            }
            logicals.push(Logical { sig, ids });
        }
        names.shrink_to_fit();
        Signatures {
            names,
            hashes: h,
            sections: sec,
            allow: al,
            matcher: mb.build(),
            owners,
            bodies: body_meta,
            logical: logicals,
            unanchored,
            containers,
            report,
        }
    }

    /// How many signatures are loaded (allow-list entries not counted).
    pub fn len(&self) -> usize {
        self.hashes.len()
            + self.sections.len()
            + self.bodies.len()
            + self.logical.len()
            + self.containers.len()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What loading found.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// The container signatures, for the scanner to test member metadata.
    pub fn containers(&self) -> &[ContainerSig] {
        &self.containers
    }

    /// Whether `data`'s hash is on an allow-list (`.fp`/`.sfp`).
    pub fn allowed(&self, data: &[u8], digests: &mut Digests) -> bool {
        self.allow.find(data, digests).is_some()
    }

    /// The name of the hash signature matching `data`, if any.
    pub fn hash(&self, data: &[u8], digests: &mut Digests) -> Option<&str> {
        self.hashes.find(data, digests).map(|n| self.names.get(n))
    }

    /// The name of the section-hash signature matching one of `layout`'s
    /// sections of `data`, if any.
    pub fn section_hash(&self, data: &[u8], layout: &Layout) -> Option<&str> {
        if self.sections.len() == 0 {
            return None;
        }
        for s in &layout.sections {
            let start = s.raw_offset as usize;
            let Some(end) = start.checked_add(s.raw_size as usize) else {
                continue;
            };
            let Some(bytes) = data.get(start..end) else {
                continue;
            };
            let mut d = Digests::default();
            if let Some(n) = self.sections.find(bytes, &mut d) {
                return Some(self.names.get(n));
            }
        }
        None
    }

    /// Matches bodies and logical signatures against `data`, pushing the
    /// names that match onto `out`. Returns whether the matcher stopped on
    /// its work bound (the buffer was then not fully searched).
    pub fn scan<'s>(
        &'s self,
        data: &[u8],
        ctx: &Context<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<&'s str>,
    ) -> bool {
        let Scratch {
            state,
            touched,
            seen,
            counts,
        } = scratch;
        self.matcher.scan(data, ctx.layout, state);
        touched.clear();
        if seen.len() < self.logical.len() {
            seen.resize(self.logical.len(), false);
        }
        for &id in state.hits() {
            match self.owners[id as usize] {
                Owner::Body(i) => {
                    let (name, target) = self.bodies[i as usize];
                    if ctx.view.accepts(target) {
                        out.push(self.names.get(name));
                    }
                }
                Owner::Sub(sig) => {
                    if !seen[sig as usize] {
                        seen[sig as usize] = true;
                        touched.push(sig);
                    }
                }
            }
        }
        for &sig in touched.iter().chain(&self.unanchored) {
            seen[sig as usize] = false;
            let l = &self.logical[sig as usize];
            if self.logical_matches(l, data, ctx, state, counts) {
                out.push(&l.sig.name);
            }
        }
        state.truncated()
    }

    fn logical_matches(
        &self,
        l: &Logical,
        data: &[u8],
        ctx: &Context<'_>,
        state: &MatchState,
        counts: &mut Vec<u32>,
    ) -> bool {
        let tb = &l.sig.target;
        if !ctx.view.accepts(tb.target.unwrap_or(0)) {
            return false;
        }
        if let Some((lo, hi)) = tb.file_size
            && !(lo..=hi).contains(&(data.len() as u64))
        {
            return false;
        }
        if let Some(c) = &tb.container
            && ctx.container != Some(c.as_str())
        {
            return false;
        }
        counts.clear();
        counts.extend(l.ids.iter().map(|id| id.map_or(0, |id| state.count(id))));
        // Byte compares read around their trigger's matches; PCREs run last,
        // once their trigger holds on everything else.
        for (k, sub) in l.sig.subsigs.iter().enumerate() {
            if let SubSig::ByteCompare(bc) = sub
                && let Some(Some(of)) = l.ids.get(bc.of)
            {
                counts[k] = state
                    .offsets(*of)
                    .iter()
                    .any(|&o| byte_compare(bc, data, o)) as u32;
            }
        }
        for (k, sub) in l.sig.subsigs.iter().enumerate() {
            if let SubSig::Pcre {
                trigger,
                regex,
                offset,
            } = sub
                && trigger.eval(counts)
            {
                counts[k] = pcre_count(regex, offset, data, ctx.layout);
            }
        }
        l.sig.expr.eval(counts)
    }
}

/// Runs a PCRE subsignature: how many matches start where `offset` allows
/// (at most 16; one is enough for the expression in all but `=N`/`>N`).
fn pcre_count(regex: &regex::bytes::Regex, offset: &Offset, data: &[u8], layout: &Layout) -> u32 {
    match *offset {
        Offset::Any => regex.find_iter(data).take(16).count() as u32,
        Offset::At { base, delta, shift } => {
            let Some(at) = resolve(base, delta, data.len(), layout) else {
                return 0;
            };
            let Some(hi) = at.checked_add(shift) else {
                return 0;
            };
            if at > data.len() as u64 {
                return 0;
            }
            regex
                .find_iter(&data[at as usize..])
                .take_while(|m| at + (m.start() as u64) <= hi)
                .take(16)
                .count() as u32
        }
    }
}

/// The file offset `base + delta`, if it exists in this file.
fn resolve(base: Base, delta: i64, len: usize, layout: &Layout) -> Option<u64> {
    let origin = match base {
        Base::Start => 0,
        Base::Eof => len as u64,
        Base::EntryPoint => layout.entry_point?,
        Base::Section(k) => layout.sections.get(k as usize)?.raw_offset,
        Base::LastSection => layout.sections.last()?.raw_offset,
        Base::SectionEntire(k) => layout.sections.get(k as usize)?.raw_offset,
        Base::VersionInfo => return None,
    };
    origin.checked_add_signed(delta)
}

/// Evaluates a byte-compare subsignature at one match of its trigger.
fn byte_compare(bc: &ByteCompare, data: &[u8], trigger_start: u64) -> bool {
    let Some(at) = trigger_start.checked_add_signed(bc.delta) else {
        return false;
    };
    let Some(avail) = (data.len() as u64).checked_sub(at) else {
        return false;
    };
    let at = at as usize;
    let opts = bc.options.as_bytes();
    let base = opts.first().copied().unwrap_or(b'h');
    let little = opts.contains(&b'l');
    let exact = opts.contains(&b'e') || base == b'i';
    let n = if (avail as usize) < bc.len {
        if exact {
            return false;
        }
        avail as usize
    } else {
        bc.len
    };
    let bytes = &data[at..at + n];
    let value = match base {
        b'i' => {
            if !matches!(n, 1 | 2 | 4 | 8) {
                return false;
            }
            let mut v = 0u64;
            if little {
                for &b in bytes.iter().rev() {
                    v = v << 8 | b as u64;
                }
            } else {
                for &b in bytes {
                    v = v << 8 | b as u64;
                }
            }
            v
        }
        _ => {
            let radix = match base {
                b'd' => 10,
                b'h' => 16,
                _ if bytes.starts_with(b"0x") || bytes.starts_with(b"0X") => 16,
                _ => 10,
            };
            let digits = if base == b'a' && radix == 16 {
                &bytes[2..]
            } else {
                bytes
            };
            // Read the leading digits; with `e` every byte must be one.
            let len = digits
                .iter()
                .take_while(|b| (**b as char).is_digit(radix))
                .count();
            if len == 0 || (exact && len != digits.len()) {
                return false;
            }
            let mut text: Vec<u8> = digits[..len].to_vec();
            if little && radix == 16 {
                // Little-endian hex: byte pairs reversed.
                if text.len() % 2 == 1 {
                    text.insert(0, b'0');
                }
                let mut swapped = Vec::with_capacity(text.len());
                for pair in text.chunks(2).rev() {
                    swapped.extend_from_slice(pair);
                }
                text = swapped;
            }
            let Ok(s) = std::str::from_utf8(&text) else {
                return false;
            };
            match u64::from_str_radix(s, radix) {
                Ok(v) => v,
                Err(_) => return false,
            }
        }
    };
    bc.comparisons.iter().all(|&(op, want)| match op {
        '<' => value < want,
        '>' => value > want,
        '=' => value == want,
        _ => false,
    })
}

/// Whether a `.cdb` signature's metadata fields accept a member.
pub fn container_matches(
    sig: &ContainerSig,
    container: &str,
    container_size: u64,
    member: &crate::container::Member<'_>,
) -> bool {
    let within = |r: Option<(u64, u64)>, v: u64| r.is_none_or(|(lo, hi)| (lo..=hi).contains(&v));
    sig.container.as_deref().is_none_or(|c| c == container)
        && within(sig.container_size, container_size)
        && within(sig.size_in_container, member.compressed_size)
        && within(sig.size_real, member.size)
        && sig.encrypted.is_none_or(|e| e == member.encrypted)
        && within(sig.file_pos, member.position as u64)
        && sig
            .name_regex
            .as_ref()
            .is_none_or(|r| r.is_match(member.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bc(options: &str, len: usize, delta: i64, cmp: &[(char, u64)]) -> ByteCompare {
        ByteCompare {
            of: 0,
            delta,
            options: options.into(),
            len,
            comparisons: cmp.to_vec(),
        }
    }

    #[test]
    fn byte_compare_reads_each_number_form() {
        let data = b"SIZE=0x1f4 dec=500 bin=\x01\xf4\x00\x00";
        // hex text after "0x"
        assert!(byte_compare(&bc("a", 5, 5, &[('=', 500)]), data, 0));
        assert!(byte_compare(&bc("d", 3, 15, &[('=', 500)]), data, 0));
        assert!(byte_compare(
            &bc("d", 3, 15, &[('>', 499), ('<', 501)]),
            data,
            0
        ));
        assert!(!byte_compare(&bc("d", 3, 15, &[('>', 500)]), data, 0));
        assert!(byte_compare(&bc("ib", 2, 23, &[('=', 0x01f4)]), data, 0));
        assert!(byte_compare(&bc("il", 2, 23, &[('=', 0xf401)]), data, 0));
        // `e`: not enough bytes left
        assert!(!byte_compare(&bc("ib", 8, 23, &[('>', 0)]), data, 0));
        // before the start of the buffer
        assert!(!byte_compare(&bc("d", 3, -1, &[('>', 0)]), data, 0));
    }

    #[test]
    fn views_accept_their_targets() {
        assert!(View::Raw(FileType::Pe).accepts(1));
        assert!(!View::Raw(FileType::Elf).accepts(1));
        assert!(View::Raw(FileType::Text).accepts(0));
        assert!(!View::Raw(FileType::Text).accepts(7));
        assert!(View::Text.accepts(7) && View::Text.accepts(0) && !View::Text.accepts(3));
        assert!(View::Html.accepts(3) && View::Html.accepts(0) && !View::Html.accepts(7));
        assert!(View::Mail.accepts(4) && View::Mail.accepts(0));
        assert!(!View::Raw(FileType::Text).accepts(4));
    }

    #[test]
    fn big_tables_sort_as_small_ones() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rows = Vec::new();
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut d = [0u8; 16];
            d[..8].copy_from_slice(&x.to_le_bytes());
            // Some shared prefixes and some duplicate digests.
            if i % 7 == 0 {
                d[2..8].fill(0);
            }
            if i % 11 == 0 {
                d = [3; 16];
            }
            rows.push(Row {
                digest: d,
                size: u64::from(i % 3),
                name: i,
            });
        }
        let mut want = rows.clone();
        want.sort_unstable();
        want.dedup_by(|a, b| a.digest == b.digest && a.size == b.size);
        let mut t = Table {
            rows,
            ..Table::default()
        };
        t.seal();
        assert_eq!(t.rows, want);
        assert_eq!(t.sizes, [0, 1, 2]);
        assert!(t.may_hold(2) && !t.may_hold(3));
    }

    /// `cargo test --release --lib sig::compile::tests::seal_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn seal_speed() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rows = Vec::new();
        for i in 0..1_000_000u32 {
            let mut d = [0u8; 16];
            for c in d.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.copy_from_slice(&x.to_le_bytes());
            }
            rows.push(Row {
                digest: d,
                size: u64::from(i),
                name: i,
            });
        }
        let mut t = Table {
            rows,
            ..Table::default()
        };
        let start = std::time::Instant::now();
        t.seal();
        println!("seal 1M md5 rows: {:?}", start.elapsed());
    }

    #[test]
    fn hash_tables_honour_size() {
        let mut t = Hashes::default();
        t.md5.rows.push(Row {
            digest: [1; 16],
            size: 10,
            name: 7,
        });
        t.md5.rows.push(Row {
            digest: [2; 16],
            size: ANY_SIZE,
            name: 8,
        });
        t.seal();
        assert_eq!(t.md5.find(&[1; 16], 10), Some(7));
        assert_eq!(t.md5.find(&[1; 16], 11), None);
        assert_eq!(t.md5.find(&[2; 16], 12345), Some(8));
        assert_eq!(t.md5.find(&[3; 16], 10), None);
        assert!(t.md5.may_hold(99), "a row of any size");
        assert!(!t.sha1.may_hold(10), "no rows");
    }
}
