//! Attachment-policy heuristics.
//!
//! Signatures name malware someone has already seen. Most mail-borne
//! malware, though, announces itself by its shape before anyone has a
//! signature for it: a program attached to a message, a name chosen to
//! hide that it is one (`invoice.pdf.exe`, a right-to-left override
//! that turns `annexe.doc` into something else), a "photo" that is really
//! a zip, a zip with a script in it. Mail gateways have blocked these by
//! policy for decades; this module is that policy, with each rule a
//! switch in [`Policy`] and a fixed detection name:
//!
//! | switch | name | trips on |
//! |---|---|---|
//! | `executable` | [`EXECUTABLE`] | content that is a program by its magic bytes: PE, DOS, ELF, Mach-O, scripts, shell links, Java classes |
//! | `extension` | [`DANGEROUS_EXTENSION`] | a name ending in one of [`DANGEROUS_EXTENSIONS`] |
//! | `double_extension` | [`DOUBLE_EXTENSION`] | a dangerous extension behind a decoy one (`report.doc.pif`), behind a run of spaces, followed by dots or spaces Windows strips, or any name holding a bidirectional override (U+202E and kin) |
//! | `type_mismatch` | [`TYPE_MISMATCH`] | a declared type that promises harmless content (image, audio, video, text, PDF, Office) over content that is a program, or an archive where only a document could be |
//! | `executable_in_archive` | [`EXECUTABLE_IN_ARCHIVE`] | a program (by magic or extension) inside an archive |
//! | `encrypted` | [`Policy::encrypted_name`] | an encrypted container ([`ENCRYPTED_ZIP`] is ClamAV's name) |
//!
//! The type-mismatch rule is tuned for few false positives: only declared
//! types with a clear promise count (`application/octet-stream` and every
//! `application/x-*` promise nothing), scripts never count (a shell script
//! sent as `text/plain` is honest), and Office types only object to
//! programs, since OOXML files are zips and are often declared with the
//! old binary-Office types. The test suite holds it to at most 1% of the
//! attachments in the SpamAssassin ham corpus.
//!
//! Names are compared case-insensitively, after the last `/` or `\`.

use crate::container::Kind;
use crate::sniff::FileType;

/// Executable content by magic bytes.
pub const EXECUTABLE: &str = "Heuristics.Policy.Executable";
/// A dangerous file-name extension.
pub const DANGEROUS_EXTENSION: &str = "Heuristics.Policy.DangerousExtension";
/// A dangerous extension disguised (decoy extension, padding, bidi).
pub const DOUBLE_EXTENSION: &str = "Heuristics.Policy.DoubleExtension";
/// Declared media type promising harmless content over a program/archive.
pub const TYPE_MISMATCH: &str = "Heuristics.Policy.TypeMismatch";
/// A program inside an archive.
pub const EXECUTABLE_IN_ARCHIVE: &str = "Heuristics.Policy.ExecutableInArchive";
/// An encrypted zip (ClamAV's name).
pub const ENCRYPTED_ZIP: &str = "Heuristics.Encrypted.Zip";
/// An encrypted gzip (not produced by standard gzip; for completeness).
pub const ENCRYPTED_GZIP: &str = "Heuristics.Encrypted.Gzip";
/// An encrypted bzip2 (for completeness).
pub const ENCRYPTED_BZIP2: &str = "Heuristics.Encrypted.Bzip2";
/// An encrypted tar (for completeness).
pub const ENCRYPTED_TAR: &str = "Heuristics.Encrypted.Tar";
/// An encrypted TNEF stream (for completeness).
pub const ENCRYPTED_TNEF: &str = "Heuristics.Encrypted.Tnef";

/// Extensions Windows (or a common runtime on it) will execute, open as
/// code, or mount, when the user double-clicks: Outlook's blocked list
/// less the entries that mostly hit data files, plus disk images used to
/// dodge mark-of-the-web. Sorted, lowercase, without the dot.
pub const DANGEROUS_EXTENSIONS: &[&str] = &[
    "ade",
    "adp",
    "app",
    "application",
    "appref-ms",
    "bas",
    "bat",
    "chm",
    "cmd",
    "com",
    "cpl",
    "crt",
    "diagcab",
    "exe",
    "gadget",
    "hlp",
    "hta",
    "img",
    "inf",
    "ins",
    "iso",
    "isp",
    "jar",
    "jnlp",
    "js",
    "jse",
    "lnk",
    "mde",
    "msc",
    "msh",
    "msh1",
    "msh1xml",
    "msh2",
    "msh2xml",
    "mshxml",
    "msi",
    "msp",
    "mst",
    "msu",
    "pif",
    "ps1",
    "ps1xml",
    "ps2",
    "ps2xml",
    "psc1",
    "psc2",
    "reg",
    "scf",
    "scr",
    "sct",
    "settingcontent-ms",
    "shb",
    "shs",
    "url",
    "vb",
    "vbe",
    "vbs",
    "vhd",
    "vhdx",
    "ws",
    "wsc",
    "wsf",
    "wsh",
    "xbap",
    "xll",
];

/// Extensions of harmless-looking documents and media that a disguised
/// name puts before the real one. Sorted.
const DECOY_EXTENSIONS: &[&str] = &[
    "avi", "bmp", "csv", "doc", "docx", "gif", "htm", "html", "jpeg", "jpg", "mov", "mp3", "mp4",
    "odt", "pdf", "png", "ppt", "pptx", "rar", "rtf", "tif", "tiff", "txt", "wav", "xls", "xlsx",
    "xml", "zip",
];

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

/// A program by its magic bytes (scripts included).
fn is_executable(t: FileType) -> bool {
    matches!(
        t,
        FileType::Pe
            | FileType::MsDos
            | FileType::Elf
            | FileType::MachO
            | FileType::Script
            | FileType::Lnk
            | FileType::JavaClass
    )
}

/// A compiled program (what a declared type can never honestly hide).
fn is_binary_program(t: FileType) -> bool {
    is_executable(t) && t != FileType::Script
}

/// Bidirectional overrides and isolates that reorder how a name displays.
fn has_bidi(name: &str) -> bool {
    name.chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// What a name says about itself.
struct NameFacts {
    /// The real (final) extension is dangerous.
    dangerous: bool,
    /// And it is disguised.
    disguised: bool,
}

fn name_facts(name: &str) -> NameFacts {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    // Windows strips trailing dots and spaces: "a.exe. . " is "a.exe".
    let trimmed = base.trim_end_matches(['.', ' ']);
    let stripped = trimmed.len() != base.len();
    let lower = trimmed.to_lowercase();
    let Some((stem, ext)) = lower.rsplit_once('.') else {
        return NameFacts {
            dangerous: false,
            disguised: has_bidi(base),
        };
    };
    let dangerous = DANGEROUS_EXTENSIONS.binary_search(&ext).is_ok();
    let mut disguised = has_bidi(base);
    if dangerous && !stem.is_empty() {
        let padded = stem.ends_with("   ") || stem.ends_with("\u{a0}\u{a0}\u{a0}");
        let decoy = stem
            .rsplit_once('.')
            .map(|(_, prev)| prev.trim_end())
            .is_some_and(|prev| DECOY_EXTENSIONS.binary_search(&prev).is_ok());
        disguised |= padded || decoy || stripped;
    }
    NameFacts {
        dangerous,
        disguised,
    }
}

/// Whether `declared` promises content that `sniffed` is not.
fn mismatch(declared: &str, sniffed: FileType) -> bool {
    let (top, sub) = declared.split_once('/').unwrap_or((declared, ""));
    let program = is_binary_program(sniffed);
    let archive = sniffed.is_archive();
    match top {
        "image" | "audio" | "video" => program || archive,
        "text" => program || archive,
        "application" => match sub {
            "pdf" => program || archive,
            "msword" | "rtf" | "vnd.ms-excel" | "vnd.ms-powerpoint" => program,
            s if s.starts_with("vnd.openxmlformats-officedocument.")
                || s.starts_with("vnd.oasis.opendocument.") =>
            {
                program
            }
            _ => false,
        },
        _ => false,
    }
}

impl Policy {
    /// Pushes the name of every heuristic `a` trips onto `out`.
    pub fn check(&self, a: &Attachment<'_>, out: &mut Vec<&'static str>) {
        let facts = a.name.map(name_facts);
        let dangerous_name = facts.as_ref().is_some_and(|f| f.dangerous);
        let executable = is_executable(a.sniffed);
        if self.executable && executable {
            out.push(EXECUTABLE);
        }
        if self.extension && dangerous_name {
            out.push(DANGEROUS_EXTENSION);
        }
        if self.double_extension && facts.as_ref().is_some_and(|f| f.disguised) {
            out.push(DOUBLE_EXTENSION);
        }
        if self.type_mismatch
            && let Some(d) = a.declared
            && mismatch(d, a.sniffed)
        {
            out.push(TYPE_MISMATCH);
        }
        if self.executable_in_archive && a.in_archive && (executable || dangerous_name) {
            out.push(EXECUTABLE_IN_ARCHIVE);
        }
    }

    /// The detection name for an encrypted container of `kind`, if
    /// `encrypted` is on.
    pub fn encrypted_name(&self, kind: Kind) -> Option<&'static str> {
        if !self.encrypted {
            return None;
        }
        Some(match kind {
            Kind::Zip => ENCRYPTED_ZIP,
            Kind::Gzip => ENCRYPTED_GZIP,
            Kind::Bzip2 => ENCRYPTED_BZIP2,
            Kind::Tar => ENCRYPTED_TAR,
            Kind::Tnef => ENCRYPTED_TNEF,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted() {
        assert!(DANGEROUS_EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
        assert!(DECOY_EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
    }

    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        FileType,
        bool,
        &'static [&'static str],
    );

    const TABLE: &[Row] = &[
        (
            Some("photo.jpg"),
            Some("image/jpeg"),
            FileType::Jpeg,
            false,
            &[],
        ),
        (
            Some("notes.txt"),
            Some("text/plain"),
            FileType::Text,
            false,
            &[],
        ),
        (
            Some("data.bin"),
            Some("application/octet-stream"),
            FileType::Pe,
            false,
            &[EXECUTABLE],
        ),
        (
            Some("setup.exe"),
            Some("application/octet-stream"),
            FileType::Pe,
            false,
            &[EXECUTABLE, DANGEROUS_EXTENSION],
        ),
        (
            Some("SETUP.EXE"),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION],
        ),
        (
            Some("report.doc.pif"),
            None,
            FileType::MsDos,
            false,
            &[EXECUTABLE, DANGEROUS_EXTENSION, DOUBLE_EXTENSION],
        ),
        (
            Some("invoice.pdf      .exe"),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION, DOUBLE_EXTENSION],
        ),
        (
            Some("invoice      .scr"),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION, DOUBLE_EXTENSION],
        ),
        (
            Some("invoice.exe. . ."),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION, DOUBLE_EXTENSION],
        ),
        (
            Some("photo\u{202E}gpj.exe"),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION, DOUBLE_EXTENSION],
        ),
        (
            Some("an\u{202E}txt.doc"),
            None,
            FileType::Unknown,
            false,
            &[DOUBLE_EXTENSION],
        ),
        (
            Some("archive.tar.gz"),
            Some("application/x-gzip"),
            FileType::Gzip,
            false,
            &[],
        ),
        (
            Some("jquery.min.js"),
            Some("application/javascript"),
            FileType::Text,
            false,
            &[DANGEROUS_EXTENSION],
        ),
        (
            Some("setup.v1.2.exe"),
            None,
            FileType::Pe,
            false,
            &[EXECUTABLE, DANGEROUS_EXTENSION],
        ),
        (
            Some("cat.png"),
            Some("image/png"),
            FileType::Pe,
            false,
            &[EXECUTABLE, TYPE_MISMATCH],
        ),
        (
            Some("cat.png"),
            Some("image/png"),
            FileType::Zip,
            false,
            &[TYPE_MISMATCH],
        ),
        (
            Some("a.pdf"),
            Some("application/pdf"),
            FileType::Rar,
            false,
            &[TYPE_MISMATCH],
        ),
        (
            Some("a.doc"),
            Some("application/msword"),
            FileType::Zip,
            false,
            &[],
        ),
        (
            Some("a.doc"),
            Some("application/msword"),
            FileType::Pe,
            false,
            &[EXECUTABLE, TYPE_MISMATCH],
        ),
        (
            Some("x.xlsx"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            FileType::Zip,
            false,
            &[],
        ),
        (
            Some("run.sh"),
            Some("text/plain"),
            FileType::Script,
            false,
            &[EXECUTABLE],
        ),
        (None, Some("application/zip"), FileType::Zip, false, &[]),
        (
            None,
            Some("application/x-msdownload"),
            FileType::Pe,
            false,
            &[EXECUTABLE],
        ),
        (
            Some("tool.exe"),
            None,
            FileType::Pe,
            true,
            &[EXECUTABLE, DANGEROUS_EXTENSION, EXECUTABLE_IN_ARCHIVE],
        ),
        (Some("readme.txt"), None, FileType::Text, true, &[]),
        (
            Some("x.vbs"),
            None,
            FileType::Text,
            true,
            &[DANGEROUS_EXTENSION, EXECUTABLE_IN_ARCHIVE],
        ),
        (
            Some("dir/sub\\Evil.Lnk"),
            None,
            FileType::Lnk,
            true,
            &[EXECUTABLE, DANGEROUS_EXTENSION, EXECUTABLE_IN_ARCHIVE],
        ),
        (
            None,
            None,
            FileType::Elf,
            true,
            &[EXECUTABLE, EXECUTABLE_IN_ARCHIVE],
        ),
        (
            Some(".exe"),
            None,
            FileType::Unknown,
            false,
            &[DANGEROUS_EXTENSION],
        ),
        (Some("noext"), None, FileType::Unknown, false, &[]),
    ];

    fn run(p: &Policy, row: &Row) -> Vec<&'static str> {
        let a = Attachment {
            name: row.0,
            declared: row.1,
            sniffed: row.2,
            in_archive: row.3,
        };
        let mut out = Vec::new();
        p.check(&a, &mut out);
        out
    }

    #[test]
    fn table() {
        for row in TABLE {
            assert_eq!(run(&Policy::default(), row), row.4, "{:?}", row.0);
            assert!(run(&Policy::off(), row).is_empty());
        }
    }

    #[test]
    fn each_switch_removes_its_name() {
        type Switch = (fn(&mut Policy), &'static str);
        let switches: [Switch; 5] = [
            (|p| p.executable = false, EXECUTABLE),
            (|p| p.extension = false, DANGEROUS_EXTENSION),
            (|p| p.double_extension = false, DOUBLE_EXTENSION),
            (|p| p.type_mismatch = false, TYPE_MISMATCH),
            (|p| p.executable_in_archive = false, EXECUTABLE_IN_ARCHIVE),
        ];
        for (off, name) in switches {
            let mut p = Policy::default();
            off(&mut p);
            for row in TABLE {
                let want: Vec<&str> = row.4.iter().copied().filter(|n| *n != name).collect();
                assert_eq!(run(&p, row), want, "{name} off, {:?}", row.0);
            }
        }
    }

    #[test]
    fn encrypted_names() {
        assert_eq!(
            Policy::default().encrypted_name(Kind::Zip),
            Some(ENCRYPTED_ZIP)
        );
        assert_eq!(
            Policy::default().encrypted_name(Kind::Tnef),
            Some(ENCRYPTED_TNEF)
        );
        let p = Policy {
            encrypted: false,
            ..Policy::default()
        };
        assert_eq!(p.encrypted_name(Kind::Zip), None);
    }

    /// TypeMismatch on the SpamAssassin ham corpus: at most 1% of
    /// attachments (parts with a file name).
    #[test]
    fn type_mismatch_is_rare_on_ham() {
        use crate::mime::{Decoder, Message, PartKind};
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin");
        let Ok(labels) = std::fs::read_to_string(root.join("labels.tsv")) else {
            eprintln!("skipping: no corpus at {}", root.display());
            return;
        };
        let policy = Policy {
            type_mismatch: true,
            ..Policy::off()
        };
        let limits = crate::Limits::default();
        let (mut attachments, mut tripped) = (0usize, Vec::new());
        // For information: what the whole default policy says about ham.
        let mut any = Vec::new();
        let mut buf = Vec::new();
        for line in labels.lines() {
            let Some(("ham", path)) = line.split_once('\t') else {
                continue;
            };
            let Ok(raw) = std::fs::read(root.join(path)) else {
                continue;
            };
            let msg = Message::parse(&raw);
            let mut dec = Decoder::new(&limits);
            for part in msg.parts() {
                if part.kind != PartKind::Leaf {
                    continue;
                }
                let Some(name) = msg.filename(part) else {
                    continue;
                };
                attachments += 1;
                dec.decode(&msg, part, &mut buf);
                let ct = part.content_type();
                let a = Attachment {
                    name: Some(&name),
                    declared: Some(&ct),
                    sniffed: crate::sniff::sniff(&buf),
                    in_archive: false,
                };
                let mut out = Vec::new();
                policy.check(&a, &mut out);
                if !out.is_empty() {
                    tripped.push(format!("{path}: {name} {ct} {:?}", a.sniffed));
                }
                out.clear();
                Policy::default().check(&a, &mut out);
                if !out.is_empty() {
                    any.push(format!("{path}: {name} {ct} {:?} {out:?}", a.sniffed));
                }
            }
        }
        eprintln!(
            "ham attachments: {attachments}, type mismatches: {}",
            tripped.len()
        );
        for t in &tripped {
            eprintln!("  {t}");
        }
        eprintln!(
            "ham attachments tripping any default heuristic: {}",
            any.len()
        );
        for t in &any {
            eprintln!("  {t}");
        }
        assert!(tripped.len() * 100 <= attachments, "{tripped:?}");
    }
}
