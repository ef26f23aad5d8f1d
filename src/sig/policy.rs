//! Attachment-policy heuristics.
//!
//! CONTRACT (owned by the containers helper; keep these signatures).

use crate::sniff::FileType;

/// Which heuristics are on. `Policy::default()` turns all of them on;
/// `Policy::off()` none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Executable content by magic bytes (PE, ELF, Mach-O, scripts).
    pub executable: bool,
    /// Dangerous file-name extensions.
    pub extension: bool,
    /// Double extensions such as `report.doc.pif`.
    pub double_extension: bool,
    /// Declared type that disagrees with the sniffed type.
    pub type_mismatch: bool,
    /// Executables inside archives.
    pub executable_in_archive: bool,
    /// Encrypted archives.
    pub encrypted: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            executable: true,
            extension: true,
            double_extension: true,
            type_mismatch: true,
            executable_in_archive: true,
            encrypted: true,
        }
    }
}

impl Policy {
    /// Every heuristic off.
    pub fn off() -> Policy {
        Policy {
            executable: false,
            extension: false,
            double_extension: false,
            type_mismatch: false,
            executable_in_archive: false,
            encrypted: false,
        }
    }
}

/// What the policy looks at for one attachment or container member.
#[derive(Debug, Clone, Copy)]
pub struct Attachment<'a> {
    /// File name, decoded, if any.
    pub name: Option<&'a str>,
    /// Declared media type (`type/subtype`, lowercase), if any.
    pub declared: Option<&'a str>,
    /// Sniffed type of the content.
    pub sniffed: FileType,
    /// Whether it sits inside an archive.
    pub in_archive: bool,
}

impl Policy {
    /// Pushes the name of every heuristic `a` trips onto `out`.
    pub fn check(&self, a: &Attachment<'_>, out: &mut Vec<&'static str>) {
        let _ = (a, out);
    }

    /// The detection name for an encrypted container of `kind`, if
    /// `encrypted` is on.
    pub fn encrypted_name(&self, kind: crate::container::Kind) -> Option<&'static str> {
        let _ = kind;
        None
    }
}
