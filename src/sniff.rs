//! File-type sniffing: what a part *is*, whatever its header says.
//!
//! A Content-Type and a file name are claims made by the sender. Malware
//! lies in both: an `invoice.pdf` that is a Windows executable, a
//! `text/plain` part that is an HTML page with a script, a `.txt` that is a
//! shortcut. So the scanner looks at the bytes themselves and compares. This
//! module does that first look, from magic numbers and a few cheap
//! heuristics, and answers with one [`FileType`].
//!
//! ```
//! use filter::sniff::{sniff, FileType};
//!
//! assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), FileType::Pdf);
//! assert_eq!(sniff(b"PK\x03\x04\x14\x00\x00\x00"), FileType::Zip);
//! assert_eq!(sniff(b"  <!DOCTYPE html><p>hi"), FileType::Html);
//! assert_eq!(sniff(b"Hello, world.\r\n"), FileType::Text);
//! assert!(sniff(b"#!/bin/sh\necho hi\n").is_executable());
//! assert!(sniff(b"\x1f\x8b\x08\x00").is_archive());
//! ```
//!
//! # How it decides
//!
//! Checks run from the most to the least specific, and the first that
//! matches wins:
//!
//! 1. Magic numbers at offset 0 (executables, archives, documents, images).
//!    Where a magic is shared, the bytes after it decide: `0xCAFEBABE`
//!    starts both Java class files and universal Mach-O binaries, and, as
//!    `file(1)` does, a big-endian count of at most 20 at offset 4 means
//!    Mach-O architectures while more than 30 is a Java class version;
//!    anything between is [`FileType::Unknown`].
//! 2. `ustar` at offset 257 (tar).
//! 3. `%PDF-` anywhere in the first 1 KiB, because PDF readers accept junk
//!    before the header and malware uses that to dodge offset-0 checks.
//! 4. Text: a `#!` line, a few cheap script markers (`@echo off` for
//!    batch files, `<?php`, `<job`/`<package` for Windows Script Files),
//!    then HTML (after an optional BOM and whitespace, one of the tags
//!    browsers sniff for: `<!doctype html`, `<html`, `<head`, `<body`,
//!    `<script`, `<iframe`, … case-insensitively), then plain text.
//!
//! There is deliberately no guessing of VBScript, JScript or PowerShell
//! from their contents: such heuristics are expensive to get right and easy
//! to dodge, and those files are caught by name and by the signature engine
//! instead.
//!
//! Two details follow what real programs accept rather than the specs:
//! RTF is `{\rt`, because Microsoft Word checks only those four bytes, and
//! PE files are recognised by the `PE\0\0` signature wherever `e_lfanew`
//! points, since the Windows loader does not care how far that is (within
//! [`PE_HEADER_LIMIT`]). An `MZ` file without a reachable PE signature is
//! still an executable, [`FileType::MsDos`].
//!
//! # How much it reads
//!
//! `sniff` never reads more than the first [`PREFIX_LEN`] (4 KiB) bytes,
//! with one exception: for an `MZ` file it reads the four bytes at
//! `e_lfanew` when that offset is below [`PE_HEADER_LIMIT`] (64 KiB). The
//! cost is therefore constant whatever the size of the part, and changing
//! anything past those bounds never changes the answer. Text statistics and
//! the HTML and PDF searches look only at the first 1 KiB.

/// `sniff` reads at most this many leading bytes (except for the PE
/// signature, see [`PE_HEADER_LIMIT`]).
pub const PREFIX_LEN: usize = 4096;

/// For an `MZ` file, the `PE\0\0` signature is looked for at `e_lfanew`
/// only when `e_lfanew` is below this bound. Real linkers put it within the
/// first KiB; the bound only stops a hostile header from sending us far.
pub const PE_HEADER_LIMIT: usize = 64 * 1024;

/// How far text heuristics look (PDF header, HTML tags, text statistics).
const TEXT_WINDOW: usize = 1024;

/// What a part's bytes look like. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// Zero bytes.
    Empty,
    /// Nothing recognised.
    Unknown,
    /// Mostly printable text (UTF-8 or an 8-bit charset) with no NUL.
    Text,
    /// An HTML document (browsers would render it as such).
    Html,
    /// A script: `#!` line, batch file, PHP or Windows Script File.
    Script,
    /// A Windows PE executable or DLL (`MZ` with a `PE\0\0` header).
    Pe,
    /// An `MZ` (or `ZM`) executable without a reachable PE header.
    MsDos,
    /// An ELF executable, shared object or core file.
    Elf,
    /// A Mach-O binary, thin (32/64-bit, either byte order) or universal.
    MachO,
    /// A Windows shell link (`.lnk` shortcut).
    Lnk,
    /// A compiled Java class.
    JavaClass,
    /// A ZIP archive (also OOXML, ODF, JAR, APK).
    Zip,
    /// A RAR archive, version 4 or 5.
    Rar,
    /// A 7-Zip archive.
    SevenZip,
    /// gzip-compressed data.
    Gzip,
    /// bzip2-compressed data.
    Bzip2,
    /// xz-compressed data.
    Xz,
    /// A POSIX or GNU tar archive.
    Tar,
    /// A Microsoft Cabinet archive.
    Cab,
    /// An OLE2 compound file (legacy Office documents, MSI, Outlook .msg).
    Ole2,
    /// A PDF document.
    Pdf,
    /// An RTF document.
    Rtf,
    /// A TNEF stream (`winmail.dat`).
    Tnef,
    /// A PNG image.
    Png,
    /// A JPEG image.
    Jpeg,
    /// A GIF image.
    Gif,
}

impl FileType {
    /// Every file type, in declaration order.
    pub const ALL: &'static [FileType] = &[
        FileType::Empty,
        FileType::Unknown,
        FileType::Text,
        FileType::Html,
        FileType::Script,
        FileType::Pe,
        FileType::MsDos,
        FileType::Elf,
        FileType::MachO,
        FileType::Lnk,
        FileType::JavaClass,
        FileType::Zip,
        FileType::Rar,
        FileType::SevenZip,
        FileType::Gzip,
        FileType::Bzip2,
        FileType::Xz,
        FileType::Tar,
        FileType::Cab,
        FileType::Ole2,
        FileType::Pdf,
        FileType::Rtf,
        FileType::Tnef,
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
    ];

    /// A short lower-case name, stable for logs, rules and the C ABI.
    pub fn name(self) -> &'static str {
        match self {
            FileType::Empty => "empty",
            FileType::Unknown => "unknown",
            FileType::Text => "text",
            FileType::Html => "html",
            FileType::Script => "script",
            FileType::Pe => "pe",
            FileType::MsDos => "msdos",
            FileType::Elf => "elf",
            FileType::MachO => "macho",
            FileType::Lnk => "lnk",
            FileType::JavaClass => "java-class",
            FileType::Zip => "zip",
            FileType::Rar => "rar",
            FileType::SevenZip => "7z",
            FileType::Gzip => "gzip",
            FileType::Bzip2 => "bzip2",
            FileType::Xz => "xz",
            FileType::Tar => "tar",
            FileType::Cab => "cab",
            FileType::Ole2 => "ole2",
            FileType::Pdf => "pdf",
            FileType::Rtf => "rtf",
            FileType::Tnef => "tnef",
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Gif => "gif",
        }
    }

    /// The type called `name` (as returned by [`FileType::name`]).
    pub fn from_name(name: &str) -> Option<FileType> {
        FileType::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// True for things that run when opened: native executables of every
    /// platform, scripts, shortcuts and Java classes.
    pub fn is_executable(self) -> bool {
        matches!(
            self,
            FileType::Pe
                | FileType::MsDos
                | FileType::Elf
                | FileType::MachO
                | FileType::Script
                | FileType::Lnk
                | FileType::JavaClass
        )
    }

    /// True for archives and compressed streams, whose contents a scanner
    /// should look inside.
    pub fn is_archive(self) -> bool {
        matches!(
            self,
            FileType::Zip
                | FileType::Rar
                | FileType::SevenZip
                | FileType::Gzip
                | FileType::Bzip2
                | FileType::Xz
                | FileType::Tar
                | FileType::Cab
        )
    }

    /// True for archives and for the other formats that carry embedded
    /// files: OLE2 compound files and TNEF.
    pub fn is_container(self) -> bool {
        self.is_archive() || matches!(self, FileType::Ole2 | FileType::Tnef)
    }
}

/// Sniffs the type of `data` from its first bytes. See the module docs for
/// the rules and for how much of `data` is read.
pub fn sniff(data: &[u8]) -> FileType {
    if data.is_empty() {
        return FileType::Empty;
    }
    if let Some(t) = sniff_magic(data) {
        return t;
    }
    let prefix = &data[..data.len().min(PREFIX_LEN)];
    if prefix.get(257..262) == Some(b"ustar") {
        return FileType::Tar;
    }
    let window = &prefix[..prefix.len().min(TEXT_WINDOW)];
    if memchr::memmem::find(&prefix[..prefix.len().min(TEXT_WINDOW + 4)], b"%PDF-")
        .is_some_and(|i| i < TEXT_WINDOW)
    {
        return FileType::Pdf;
    }
    sniff_text(prefix, window)
}

/// Magic numbers at offset 0.
fn sniff_magic(d: &[u8]) -> Option<FileType> {
    const LNK: &[u8] =
        b"\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46";
    let starts = |m: &[u8]| d.starts_with(m);
    let t = if starts(b"MZ") {
        sniff_mz(d)
    } else if starts(b"ZM") {
        // DOS accepts the swapped signature; Windows does not load it as PE.
        FileType::MsDos
    } else if starts(b"\x7fELF") {
        FileType::Elf
    } else if starts(b"\xfe\xed\xfa\xce")
        || starts(b"\xfe\xed\xfa\xcf")
        || starts(b"\xce\xfa\xed\xfe")
        || starts(b"\xcf\xfa\xed\xfe")
        || starts(b"\xca\xfe\xba\xbf")
    {
        FileType::MachO
    } else if starts(b"\xca\xfe\xba\xbe") {
        // Universal Mach-O and Java class share this magic. The next four
        // bytes are the architecture count (small) or the class file's
        // minor and major version (major >= 45), as `file(1)` tells them.
        match be32(d, 4).unwrap_or(0) {
            1..=20 => FileType::MachO,
            31.. => FileType::JavaClass,
            // The magic matched but nothing else decides.
            _ => FileType::Unknown,
        }
    } else if starts(LNK) {
        FileType::Lnk
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        FileType::Zip
    } else if starts(b"Rar!\x1a\x07\x00") || starts(b"Rar!\x1a\x07\x01\x00") {
        FileType::Rar
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        FileType::SevenZip
    } else if starts(b"\x1f\x8b\x08") {
        FileType::Gzip
    } else if starts(b"BZh") && d.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        FileType::Bzip2
    } else if starts(b"\xfd7zXZ\x00") {
        FileType::Xz
    } else if starts(b"MSCF\x00\x00\x00\x00") {
        FileType::Cab
    } else if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        FileType::Ole2
    } else if starts(b"%PDF-") {
        FileType::Pdf
    } else if starts(b"{\\rt") {
        FileType::Rtf
    } else if starts(b"\x78\x9f\x3e\x22") {
        FileType::Tnef
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        FileType::Png
    } else if starts(b"\xff\xd8\xff") {
        FileType::Jpeg
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        FileType::Gif
    } else {
        return None;
    };
    Some(t)
}

/// An `MZ` file: PE when `e_lfanew` leads to `PE\0\0`, DOS otherwise.
fn sniff_mz(d: &[u8]) -> FileType {
    let Some(off) = le32(d, 0x3c) else {
        return FileType::MsDos;
    };
    let off = off as usize;
    if off < PE_HEADER_LIMIT && d.get(off..off + 4) == Some(b"PE\x00\x00") {
        FileType::Pe
    } else {
        FileType::MsDos
    }
}

/// Scripts, HTML, plain text, or unknown.
fn sniff_text(prefix: &[u8], window: &[u8]) -> FileType {
    if window.starts_with(b"#!") {
        return FileType::Script;
    }
    // UTF-16 with a byte-order mark: text if the code units look like text.
    if let Some(rest) = window.strip_prefix(b"\xff\xfe") {
        return utf16_text(rest, u16::from_le_bytes);
    }
    if let Some(rest) = window.strip_prefix(b"\xfe\xff") {
        return utf16_text(rest, u16::from_be_bytes);
    }
    let body = window.strip_prefix(b"\xef\xbb\xbf").unwrap_or(window);
    let lead = body.trim_ascii_start();
    // The tag itself may run a little past the window; `prefix` holds it.
    let start = window.len() - lead.len();
    let at_lead = &prefix[start..];
    if lead.is_empty() {
        // Only whitespace (or a BOM) in the window.
        return if looks_like_text(window) {
            FileType::Text
        } else {
            FileType::Unknown
        };
    }
    if starts_with_ci(at_lead, b"@echo off")
        || starts_with_ci(at_lead, b"<?php")
        || starts_with_tag(at_lead, b"<job")
        || starts_with_tag(at_lead, b"<package")
    {
        return FileType::Script;
    }
    if HTML_TAGS.iter().any(|t| starts_with_tag(at_lead, t)) {
        return FileType::Html;
    }
    if !looks_like_text(window) {
        return FileType::Unknown;
    }
    // Text with a strong HTML marker further in (a page after a few lines of
    // junk still renders as a page).
    if contains_tag(window, b"<html")
        || contains_tag(window, b"<!doctype html")
        || contains_tag(window, b"<script")
    {
        return FileType::Html;
    }
    FileType::Text
}

/// Leading tags that make a document HTML, as browsers' content sniffing
/// lists them (each must be followed by whitespace, `>` or `/`).
const HTML_TAGS: &[&[u8]] = &[
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<title",
    b"<style",
    b"<meta",
    b"<table",
    b"<font",
    b"<div",
    b"<h1",
    b"<br",
    b"<p",
    b"<a",
    b"<b",
    b"<!--",
];

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

/// `tag` at the start of `hay`, case-insensitively, then a tag end.
fn starts_with_tag(hay: &[u8], tag: &[u8]) -> bool {
    starts_with_ci(hay, tag)
        && hay
            .get(tag.len())
            .is_some_and(|&b| b == b'>' || b == b'/' || b.is_ascii_whitespace())
}

/// `tag` anywhere in `hay`, as for [`starts_with_tag`].
fn contains_tag(hay: &[u8], tag: &[u8]) -> bool {
    memchr::memchr_iter(b'<', hay).any(|i| starts_with_tag(&hay[i..], tag))
}

/// True for a control byte that text does not contain. Tab, line feed,
/// vertical tab, form feed, carriage return and escape (ISO-2022-JP uses
/// it) are text.
fn is_binary_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f)
}

/// No NUL, and at most one binary control byte in a hundred. Bytes above
/// 0x7F count as text: mail is full of 8-bit charsets besides UTF-8.
fn looks_like_text(w: &[u8]) -> bool {
    if memchr::memchr(0, w).is_some() {
        return false;
    }
    let bad = w.iter().filter(|&&b| is_binary_byte(b)).count();
    bad * 100 <= w.len()
}

/// The same rule for UTF-16 code units after a BOM.
fn utf16_text(rest: &[u8], unit: fn([u8; 2]) -> u16) -> FileType {
    let mut bad = 0usize;
    let mut n = 0usize;
    for c in rest.chunks_exact(2) {
        let u = unit([c[0], c[1]]);
        n += 1;
        if u == 0 {
            return FileType::Unknown;
        }
        if u < 0x80 && is_binary_byte(u as u8) {
            bad += 1;
        }
    }
    if bad * 100 <= n {
        FileType::Text
    } else {
        FileType::Unknown
    }
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal DOS header whose `e_lfanew` is `off`, padded to `len`.
    fn mz(off: u32, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len.max(0x40)];
        v[0] = b'M';
        v[1] = b'Z';
        v[0x3c..0x40].copy_from_slice(&off.to_le_bytes());
        v
    }

    fn with_pe(off: u32) -> Vec<u8> {
        let mut v = mz(off, off as usize + 0x18);
        let o = off as usize;
        v[o..o + 4].copy_from_slice(b"PE\0\0");
        v
    }

    #[test]
    fn empty_and_unknown() {
        assert_eq!(sniff(b""), FileType::Empty);
        assert_eq!(sniff(b"\x00\x01\x02\x03\x04\x05"), FileType::Unknown);
        assert_eq!(sniff(&[0u8; 100]), FileType::Unknown);
    }

    #[test]
    fn pe_and_dos() {
        assert_eq!(sniff(&with_pe(0x80)), FileType::Pe);
        // The signature may be far out, past the usual prefix.
        assert_eq!(sniff(&with_pe(8000)), FileType::Pe);
        // Tiny PE files overlap the headers: e_lfanew = 4.
        let mut tiny = mz(4, 0x40);
        tiny[4..8].copy_from_slice(b"PE\0\0");
        assert_eq!(sniff(&tiny), FileType::Pe);
        // e_lfanew beyond the data, beyond the limit, or at a wrong signature.
        assert_eq!(sniff(&mz(0x80, 0x40)), FileType::MsDos);
        assert_eq!(sniff(&with_pe(PE_HEADER_LIMIT as u32)), FileType::MsDos);
        assert_eq!(sniff(&mz(u32::MAX, 0x40)), FileType::MsDos);
        let mut ne = mz(0x80, 0x100);
        ne[0x80..0x82].copy_from_slice(b"NE");
        assert_eq!(sniff(&ne), FileType::MsDos);
        // Too short to hold e_lfanew at all.
        assert_eq!(sniff(b"MZ"), FileType::MsDos);
        assert_eq!(sniff(b"ZM\x90\x00"), FileType::MsDos);
        assert!(FileType::Pe.is_executable() && FileType::MsDos.is_executable());
    }

    #[test]
    fn elf_and_macho() {
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00"), FileType::Elf);
        for m in [
            &b"\xfe\xed\xfa\xce"[..],
            b"\xfe\xed\xfa\xcf",
            b"\xce\xfa\xed\xfe",
            b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbf\x00\x00\x00\x02",
        ] {
            let mut v = m.to_vec();
            v.extend_from_slice(&[7, 0, 0, 1, 3, 0, 0, 0]);
            assert_eq!(sniff(&v), FileType::MachO, "{m:x?}");
        }
        // Universal binary with two architectures.
        assert_eq!(
            sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x02\x01\x00\x00\x07"),
            FileType::MachO
        );
        assert!(FileType::Elf.is_executable() && FileType::MachO.is_executable());
    }

    #[test]
    fn java_class_versus_fat_macho() {
        // minor 0, major 52 (Java 8).
        assert_eq!(
            sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x1d"),
            FileType::JavaClass
        );
        // minor 3, major 45 (Java 1.1): the u32 is huge.
        assert_eq!(
            sniff(b"\xca\xfe\xba\xbe\x00\x03\x00\x2d"),
            FileType::JavaClass
        );
        // Ambiguous counts and a truncated header stay unknown.
        assert_eq!(
            sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x19"),
            FileType::Unknown
        );
        assert_eq!(
            sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x00"),
            FileType::Unknown
        );
        assert_eq!(sniff(b"\xca\xfe\xba\xbe"), FileType::Unknown);
        assert!(FileType::JavaClass.is_executable());
    }

    #[test]
    fn lnk() {
        let mut v =
            b"\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
                .to_vec();
        v.extend_from_slice(&[0x9b, 0, 0x08, 0]);
        assert_eq!(sniff(&v), FileType::Lnk);
        // Same first byte, wrong CLSID.
        v[19] = 0x47;
        assert_ne!(sniff(&v), FileType::Lnk);
        assert!(FileType::Lnk.is_executable());
    }

    #[test]
    fn archives() {
        let cases: &[(&[u8], FileType)] = &[
            (b"PK\x03\x04\x14\x00\x08\x00", FileType::Zip),
            (b"PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00", FileType::Zip),
            (b"PK\x07\x08PK\x03\x04", FileType::Zip),
            (b"Rar!\x1a\x07\x00\xcf\x90\x73", FileType::Rar),
            (b"Rar!\x1a\x07\x01\x00\x33\x92", FileType::Rar),
            (b"7z\xbc\xaf\x27\x1c\x00\x04", FileType::SevenZip),
            (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", FileType::Gzip),
            (b"BZh91AY&SY", FileType::Bzip2),
            (b"\xfd7zXZ\x00\x00\x04", FileType::Xz),
            (b"MSCF\x00\x00\x00\x00\x50\x01\x00\x00", FileType::Cab),
        ];
        for (data, t) in cases {
            assert_eq!(sniff(data), *t, "{data:x?}");
            assert!(t.is_archive() && t.is_container() && !t.is_executable());
        }
        // Near misses.
        assert_ne!(sniff(b"Rar!\x1a\x07\x02"), FileType::Rar);
        assert_ne!(sniff(b"BZh0"), FileType::Bzip2);
        assert_ne!(sniff(b"\x1f\x8b\x07\x00"), FileType::Gzip);
        assert_ne!(sniff(b"MSCF is a word"), FileType::Cab);
    }

    #[test]
    fn tar_at_257() {
        let mut v = vec![0u8; 512];
        v[..8].copy_from_slice(b"file.txt");
        v[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&v), FileType::Tar);
        v[257..265].copy_from_slice(b"ustar  \0");
        assert_eq!(sniff(&v), FileType::Tar);
        v[257] = b'x';
        assert_eq!(sniff(&v), FileType::Unknown);
    }

    #[test]
    fn documents() {
        assert_eq!(
            sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"),
            FileType::Ole2
        );
        assert!(FileType::Ole2.is_container() && !FileType::Ole2.is_archive());
        assert_eq!(sniff(b"%PDF-1.4\n"), FileType::Pdf);
        assert_eq!(sniff(b"{\\rtf1\\ansi"), FileType::Rtf);
        // Word opens anything that starts `{\rt`.
        assert_eq!(sniff(b"{\\rtx0"), FileType::Rtf);
        assert_eq!(sniff(b"\x78\x9f\x3e\x22\x01\x00"), FileType::Tnef);
        assert!(FileType::Tnef.is_container());
    }

    #[test]
    fn pdf_after_junk() {
        let mut v = vec![b'x'; 1000];
        v.extend_from_slice(b"%PDF-1.5\n");
        assert_eq!(sniff(&v), FileType::Pdf);
        // Binary junk works too.
        let mut v = vec![0u8; 1019];
        v.extend_from_slice(b"%PDF-1.5\n");
        assert_eq!(sniff(&v), FileType::Pdf);
        // Past the first KiB it is not a PDF header.
        let mut v = vec![b'x'; 1024];
        v.extend_from_slice(b"%PDF-1.5\n");
        assert_eq!(sniff(&v), FileType::Text);
    }

    #[test]
    fn images() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),
            FileType::Png
        );
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF"), FileType::Jpeg);
        assert_eq!(sniff(b"GIF89a\x01\x00"), FileType::Gif);
        assert_eq!(sniff(b"GIF87a\x01\x00"), FileType::Gif);
        assert_eq!(sniff(b"GIF88a"), FileType::Text);
    }

    #[test]
    fn html() {
        for s in [
            &b"<!DOCTYPE html>\n<html>"[..],
            b"<html><body>x",
            b"\xef\xbb\xbf\r\n  <HEAD>",
            b"<body onload=x()>",
            b"<script>alert(1)</script>",
            b"<IFRAME src=x>",
            b"<br/>",
            b"<p>hello",
            b"<!-- a comment -->",
        ] {
            assert_eq!(sniff(s), FileType::Html, "{}", String::from_utf8_lossy(s));
        }
        // A tag must end: `<pre>` is not `<p`, `<abbr` is not `<a`.
        assert_eq!(sniff(b"<preformatted"), FileType::Text);
        assert_eq!(sniff(b"<abbr>"), FileType::Text);
        // Whitespace before the tag, up to the 1 KiB window.
        let mut v = vec![b' '; 1000];
        v.extend_from_slice(b"<html>");
        assert_eq!(sniff(&v), FileType::Html);
        // A page after a few lines of text.
        assert_eq!(sniff(b"junk line\r\n<HTML><body>"), FileType::Html);
        assert_eq!(sniff(b"see <p> and <b> tags"), FileType::Text);
        // XML is not HTML.
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><root/>"), FileType::Text);
        assert!(!FileType::Html.is_executable());
    }

    #[test]
    fn scripts() {
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /tmp/x\n"), FileType::Script);
        assert_eq!(sniff(b"#!"), FileType::Script);
        assert_eq!(sniff(b"@ECHO OFF\r\ndel x\r\n"), FileType::Script);
        assert_eq!(sniff(b"\r\n@echo off\r\n"), FileType::Script);
        assert_eq!(sniff(b"<?php echo 1; ?>"), FileType::Script);
        assert_eq!(
            sniff(b"<job id=\"x\"><script language=\"VBScript\">"),
            FileType::Script
        );
        assert_eq!(sniff(b"<package>\n<job>"), FileType::Script);
        // `#!` only counts at offset 0.
        assert_eq!(sniff(b" #!/bin/sh\n"), FileType::Text);
        assert!(FileType::Script.is_executable());
    }

    #[test]
    fn text() {
        assert_eq!(
            sniff(b"Dear customer,\r\n\tplease find attached.\r\n"),
            FileType::Text
        );
        assert_eq!(sniff("Grüße, 日本語\n".as_bytes()), FileType::Text);
        // Latin-1 and ISO-2022-JP are text too.
        assert_eq!(sniff(b"Gr\xfc\xdfe\n"), FileType::Text);
        assert_eq!(sniff(b"\x1b$B$3$s$K$A$O\x1b(B\r\n"), FileType::Text);
        assert_eq!(sniff(b"   \r\n"), FileType::Text);
        assert_eq!(sniff(b"\xef\xbb\xbfhello"), FileType::Text);
        // A NUL or too many control bytes make it binary.
        assert_eq!(sniff(b"hello\0world"), FileType::Unknown);
        assert_eq!(sniff(b"ab\x01\x02\x03\x04cd"), FileType::Unknown);
        // UTF-16 with a BOM.
        assert_eq!(sniff(b"\xff\xfeh\x00i\x00\r\x00\n\x00"), FileType::Text);
        assert_eq!(sniff(b"\xfe\xff\x00h\x00i"), FileType::Text);
        assert_eq!(sniff(b"\xff\xfe\x00\x00\x01\x00"), FileType::Unknown);
    }

    #[test]
    fn names_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &t in FileType::ALL {
            assert!(seen.insert(t.name()), "duplicate name {}", t.name());
            assert_eq!(FileType::from_name(t.name()), Some(t));
        }
        assert_eq!(FileType::from_name("exe"), None);
    }

    /// Known headers, so that the property tests reach the interesting
    /// branches and not only `Unknown`.
    fn header() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"MZ".to_vec()),
            Just(b"PK\x03\x04".to_vec()),
            Just(b"\xca\xfe\xba\xbe\x00\x00".to_vec()),
            Just(b"<html>".to_vec()),
            Just(b"   ".to_vec()),
            Just(b"\xff\xfe".to_vec()),
            Just(b"%PDF-".to_vec()),
            Just(b"#!".to_vec()),
            Just(b"Hello ".to_vec()),
        ]
    }

    fn input() -> impl Strategy<Value = Vec<u8>> {
        sized_input(0..6000)
    }

    fn sized_input(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
        (
            header(),
            prop::collection::vec(any::<u8>(), len),
            any::<bool>(),
        )
            .prop_map(|(mut h, rest, text)| {
                if text {
                    // Mostly printable, so the text rules get exercised.
                    h.extend(rest.iter().map(|b| b' ' + b % 95));
                } else {
                    h.extend_from_slice(&rest);
                }
                h
            })
    }

    proptest! {
        #[test]
        fn never_panics(data in input()) {
            let t = sniff(&data);
            prop_assert!(FileType::ALL.contains(&t));
        }

        #[test]
        fn reads_a_bounded_prefix(
            data in sized_input(PREFIX_LEN..PREFIX_LEN + 2000),
            tail in prop::collection::vec(any::<u8>(), 0..3000),
        ) {
            let t = sniff(&data);
            let mut changed = data.clone();
            changed.truncate(PREFIX_LEN);
            let cut = sniff(&changed);
            changed.extend_from_slice(&tail);
            let other = sniff(&changed);
            if data.starts_with(b"MZ") {
                // Only PE versus DOS may depend on bytes past the prefix.
                for u in [cut, other] {
                    prop_assert!(matches!(u, FileType::Pe | FileType::MsDos));
                }
                prop_assert!(matches!(t, FileType::Pe | FileType::MsDos));
            } else {
                prop_assert_eq!(t, cut);
                prop_assert_eq!(t, other);
            }
        }

        #[test]
        fn pe_reads_nothing_past_its_limit(
            off in 0x40u32..0x2_0000,
            tail in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut v = mz(off, (off as usize).min(PE_HEADER_LIMIT) + 8);
            if (off as usize) < PE_HEADER_LIMIT {
                let o = off as usize;
                v[o..o + 4].copy_from_slice(b"PE\0\0");
            }
            let t = sniff(&v);
            prop_assert_eq!(t, if (off as usize) < PE_HEADER_LIMIT { FileType::Pe } else { FileType::MsDos });
            v.extend_from_slice(&tail);
            prop_assert_eq!(sniff(&v), t);
        }
    }
}
