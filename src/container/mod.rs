//! Containers mail carries: zip, gzip, bzip2, tar and TNEF.
//!
//! Mail rarely carries a bare executable any more; it carries a zip with
//! one inside, a `.tar.gz` of a kit, or Outlook's `winmail.dat` wrapping an
//! ordinary attachment in TNEF. The scanner has to look inside, and it has
//! to do so without letting the container decide how much work that is.
//!
//! [`open`] walks one container and calls `visit` once per member with the
//! member's expanded bytes. Stored bytes (a stored zip member, a TNEF
//! attachment, a tar member) are borrowed straight from the input; anything
//! that has to be inflated is written into the caller's `scratch` buffer,
//! which is cleared for each member and reused, so one walk holds at most
//! one expanded member in memory.
//!
//! Every bound in [`Bounds`] is enforced on the bytes actually produced, not
//! on the sizes the container declares — a zip header may say anything:
//!
//! - `max_member_size`: a member is cut there and [`LimitHit::MemberSize`]
//!   is recorded; the walk goes on with the next member.
//! - `max_total`: the member that reaches it is cut, [`LimitHit::Total`] is
//!   recorded and the walk stops.
//! - `max_members`: the walk stops before the member past it
//!   ([`LimitHit::Members`]).
//! - `max_ratio`: a member that has expanded past 1 MiB to more than
//!   `max_ratio` times its compressed size is a compression bomb; the walk
//!   stops ([`LimitHit::Ratio`]). What was inflated so far is still visited.
//!
//! Decompression is streamed in small chunks, so the work spent on a member
//! is proportional to what it is allowed to produce, and the whole walk is
//! linear in the input plus the output the bounds allow. Damage never
//! panics and never hides what came before it: members before the damage
//! are visited and [`Outcome::corrupt`] is set.
//!
//! Each format lives in its own private submodule: zip (central directory
//! first, local headers as a fallback; stored and deflate), gzip
//! (concatenated members, one output), bzip2 (one stream or several
//! joined), tar and TNEF. Their module docs say what each accepts and what
//! it counts as damage.

mod bzip2;
mod gzip;
mod tar;
mod tnef;
mod zip;

use crate::sniff::FileType;

/// A container format we open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// PKZIP (stored and deflate).
    Zip,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
    /// POSIX/GNU tar.
    Tar,
    /// TNEF (`winmail.dat`).
    Tnef,
}

impl Kind {
    /// The container kind of a sniffed file type, if we open it.
    pub fn of(file_type: FileType) -> Option<Kind> {
        match file_type {
            FileType::Zip => Some(Kind::Zip),
            FileType::Gzip => Some(Kind::Gzip),
            FileType::Bzip2 => Some(Kind::Bzip2),
            FileType::Tar => Some(Kind::Tar),
            FileType::Tnef => Some(Kind::Tnef),
            _ => None,
        }
    }

    /// ClamAV's name for the type (`CL_TYPE_ZIP`, …), as `.cdb` and `.ldb`
    /// `Container:` fields spell it.
    pub fn clamav_name(self) -> &'static str {
        match self {
            Kind::Zip => "CL_TYPE_ZIP",
            Kind::Gzip => "CL_TYPE_GZ",
            Kind::Bzip2 => "CL_TYPE_BZ",
            Kind::Tar => "CL_TYPE_POSIX_TAR",
            Kind::Tnef => "CL_TYPE_TNEF",
        }
    }
}

/// How much one container may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most members visited.
    pub max_members: usize,
    /// Most bytes one member may expand to.
    pub max_member_size: u64,
    /// Most bytes all members together may expand to.
    pub max_total: u64,
    /// Largest expanded/compressed ratio allowed for a member that expands
    /// past 1 MiB.
    pub max_ratio: u64,
}

impl Bounds {
    /// Bounds taken from [`crate::Limits`].
    pub fn from_limits(limits: &crate::Limits) -> Bounds {
        Bounds {
            max_members: limits.max_members,
            max_member_size: limits.max_decoded_part as u64,
            max_total: limits.max_decoded_total as u64,
            max_ratio: limits.max_ratio,
        }
    }
}

/// One member, as the container describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'n> {
    /// Name as stored (bytes; may be empty).
    pub name: &'n [u8],
    /// 1-based position in the container.
    pub position: usize,
    /// Stored (compressed) size.
    pub compressed_size: u64,
    /// Declared expanded size.
    pub size: u64,
    /// Encrypted: `visit` gets empty data.
    pub encrypted: bool,
}

/// Which bound stopped the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// `max_members`.
    Members,
    /// `max_member_size`.
    MemberSize,
    /// `max_total`.
    Total,
    /// `max_ratio` (a compression bomb).
    Ratio,
}

/// What opening a container found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Members visited.
    pub members: usize,
    /// Bytes expanded in all.
    pub expanded: u64,
    /// Some member was encrypted.
    pub encrypted: bool,
    /// The first bound hit, if any; the walk stopped or truncated there.
    pub limit: Option<LimitHit>,
    /// The container was damaged or truncated; members before the damage
    /// were still visited.
    pub corrupt: bool,
    /// Members stored with a compression method we do not expand (zip
    /// methods other than stored and deflate: deflate64, bzip2-in-zip,
    /// LZMA, …). They are visited with empty data, like encrypted ones,
    /// so that their names and sizes still reach `.cdb` signatures.
    pub unsupported: usize,
    /// Two zip members share compressed bytes — the trick behind
    /// non-recursive zip bombs, and never produced by an honest writer.
    /// A member whose data overlaps one already expanded is not expanded
    /// again (nor visited), so each compressed byte is inflated at most once.
    pub overlapping: bool,
}

/// Opens `data` as `kind`, calling `visit` for each member with its
/// expanded bytes (borrowed from `data` where stored, else from `scratch`).
pub fn open(
    kind: Kind,
    data: &[u8],
    bounds: &Bounds,
    scratch: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    match kind {
        Kind::Zip => zip::walk(data, bounds, scratch, visit),
        Kind::Gzip => gzip::walk(data, bounds, scratch, visit),
        Kind::Bzip2 => bzip2::walk(data, bounds, scratch, visit),
        Kind::Tar => tar::walk(data, bounds, visit),
        Kind::Tnef => tnef::walk(data, bounds, visit),
    }
}

/// A member expanding past this many bytes is subject to `max_ratio`.
const RATIO_FLOOR: u64 = 1 << 20;

/// Output chunk for one decompressor call: small enough that a bound is
/// never overshot by much work, large enough to keep calls cheap.
const CHUNK: usize = 64 << 10;

/// Book-keeping shared by the walkers: counts members and bytes and
/// records the first bound hit.
pub(crate) struct Budget<'b> {
    bounds: &'b Bounds,
    out: Outcome,
}

impl<'b> Budget<'b> {
    fn new(bounds: &'b Bounds) -> Self {
        Budget {
            bounds,
            out: Outcome::default(),
        }
    }

    /// Records `hit` unless an earlier bound was already recorded.
    fn hit(&mut self, hit: LimitHit) {
        if self.out.limit.is_none() {
            self.out.limit = Some(hit);
        }
    }

    /// Claims the next member's position; `None` (and the `Members` bound
    /// recorded) when the container already gave all it may.
    fn next_position(&mut self) -> Option<usize> {
        if self.out.members >= self.bounds.max_members {
            self.hit(LimitHit::Members);
            return None;
        }
        self.out.members += 1;
        Some(self.out.members)
    }

    /// Most bytes the next member may expand to.
    fn cap(&self) -> u64 {
        self.bounds
            .max_member_size
            .min(self.bounds.max_total.saturating_sub(self.out.expanded))
    }

    /// The bound to record when a member is cut at [`Budget::cap`].
    fn cap_hit(&self) -> LimitHit {
        if self.bounds.max_member_size < self.bounds.max_total.saturating_sub(self.out.expanded) {
            LimitHit::MemberSize
        } else {
            LimitHit::Total
        }
    }

    /// Accounts for a stored member of `bytes`: cuts it at the cap and
    /// says whether the walk must stop.
    fn take<'d>(&mut self, bytes: &'d [u8]) -> (&'d [u8], bool) {
        let cap = self.cap();
        if bytes.len() as u64 > cap {
            let hit = self.cap_hit();
            self.hit(hit);
            self.out.expanded += cap;
            (&bytes[..cap as usize], hit == LimitHit::Total)
        } else {
            self.out.expanded += bytes.len() as u64;
            (bytes, false)
        }
    }

    /// Whether the walk must stop because of a bound already recorded
    /// (every bound but `MemberSize` ends the walk).
    fn stopped(&self) -> bool {
        matches!(
            self.out.limit,
            Some(LimitHit::Members | LimitHit::Total | LimitHit::Ratio)
        )
    }
}

/// A streaming decompressor: raw deflate or bzip2.
pub(crate) enum Codec {
    /// Raw deflate (no zlib header), as zip and gzip carry it.
    Deflate(Box<flate2::Decompress>),
    /// One bzip2 stream.
    Bzip2(Box<::bzip2::Decompress>),
}

impl Codec {
    fn deflate() -> Codec {
        Codec::Deflate(Box::new(flate2::Decompress::new(false)))
    }

    fn bzip2() -> Codec {
        Codec::Bzip2(Box::new(::bzip2::Decompress::new(false)))
    }

    /// One step: `(consumed, produced, stream ended)`, or `Err` on bad data.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize, bool), ()> {
        match self {
            Codec::Deflate(d) => {
                let (i, o) = (d.total_in(), d.total_out());
                let st = d
                    .decompress(input, output, flate2::FlushDecompress::None)
                    .map_err(|_| ())?;
                Ok((
                    (d.total_in() - i) as usize,
                    (d.total_out() - o) as usize,
                    st == flate2::Status::StreamEnd,
                ))
            }
            Codec::Bzip2(d) => {
                let (i, o) = (d.total_in(), d.total_out());
                let st = d.decompress(input, output).map_err(|_| ())?;
                Ok((
                    (d.total_in() - i) as usize,
                    (d.total_out() - o) as usize,
                    st == ::bzip2::Status::StreamEnd,
                ))
            }
        }
    }
}

/// How expanding one stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The stream ended cleanly.
    Complete,
    /// Bad data, or the input ran out before the stream ended.
    Damaged,
    /// A bound cut the output (`MemberSize`/`Total` at the cap, `Ratio`).
    Limit(LimitHit),
}

/// Expands the stream at the start of `input` into `out` (appending), at
/// most `cap` bytes in all in `out`. `compressed` is the member's
/// compressed size for the ratio check. Returns the input consumed and how
/// it ended. The work is bounded by `cap`, the ratio bound and the input.
fn expand(
    codec: &mut Codec,
    input: &[u8],
    compressed: u64,
    out: &mut Vec<u8>,
    cap: u64,
    budget: &Budget<'_>,
) -> (usize, End) {
    let mut pos = 0usize;
    // Decode one byte past the cap, so that a member of exactly `cap`
    // bytes is not taken for a cut one.
    let limit = cap.saturating_add(1);
    loop {
        let have = out.len() as u64;
        let room = (limit - have).min(CHUNK as u64) as usize;
        let start = out.len();
        out.resize(start + room, 0);
        let step = codec.step(&input[pos..], &mut out[start..]);
        let Ok((consumed, produced, ended)) = step else {
            out.truncate(start);
            return (pos, End::Damaged);
        };
        out.truncate(start + produced);
        pos += consumed;
        let have = out.len() as u64;
        if have > cap {
            out.truncate(cap as usize);
            return (pos, End::Limit(budget.cap_hit()));
        }
        if have > RATIO_FLOOR && have / compressed.max(1) > budget.bounds.max_ratio {
            return (pos, End::Limit(LimitHit::Ratio));
        }
        if ended {
            return (pos, End::Complete);
        }
        if consumed == 0 && produced == 0 {
            // No progress: the input ran out (or the decoder is stuck
            // on it).
            return (pos, End::Damaged);
        }
    }
}

/// Little-endian readers over a byte slice, `None` past the end.
pub(crate) fn u16le(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// See [`u16le`].
pub(crate) fn u32le(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// See [`u16le`].
pub(crate) fn u64le(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers the format tests share.

    use super::*;

    /// Generous bounds for round trips.
    pub fn roomy() -> Bounds {
        Bounds {
            max_members: 1000,
            max_member_size: 256 << 20,
            max_total: 1 << 30,
            max_ratio: 1000,
        }
    }

    /// Opens `data` and collects `(name, position, encrypted, bytes)`.
    #[allow(clippy::type_complexity)]
    pub fn collect(
        kind: Kind,
        data: &[u8],
        bounds: &Bounds,
    ) -> (Vec<(Vec<u8>, usize, bool, Vec<u8>)>, Outcome) {
        let mut got = Vec::new();
        let mut scratch = Vec::new();
        let out = open(kind, data, bounds, &mut scratch, &mut |m, b| {
            got.push((m.name.to_vec(), m.position, m.encrypted, b.to_vec()));
        });
        (got, out)
    }
}
