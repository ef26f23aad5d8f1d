//! Containers mail carries: zip, gzip, bzip2, tar and TNEF.
//!
//! CONTRACT (owned by the containers helper; keep these signatures).

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
    let _ = (kind, data, bounds, scratch, visit);
    Outcome::default()
}
