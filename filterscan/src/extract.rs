//! Writing decoded parts into a directory, safely.
//!
//! File names come from the message, so they are hostile: they may hold
//! `../`, absolute paths, drive letters, NULs, control or bidirectional
//! override characters, or be thousands of bytes long. None of that may
//! ever reach the file system. Every name written is
//! `msg<N>-<part>-<sanitised name>` and is a single plain path component.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Longest sanitised name, in bytes (ASCII only, so also in characters).
pub const MAX_NAME: usize = 100;

/// Keeps `[A-Za-z0-9._-]`, replaces every other character with `_`,
/// collapses runs of dots, strips leading dots and caps the length at
/// [`MAX_NAME`] bytes (keeping a short extension when it has to cut).
/// Returns an empty string when nothing usable is left.
pub fn sanitise(name: &str) -> String {
    let mut s = String::with_capacity(name.len().min(4 * MAX_NAME));
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '_'
        };
        if c == '.' && s.ends_with('.') {
            continue;
        }
        s.push(c);
    }
    let s = s.trim_start_matches('.');
    if s.len() <= MAX_NAME {
        return s.to_string();
    }
    match s.rfind('.') {
        Some(dot) if s.len() - dot <= 11 && dot > 0 => {
            let ext = &s[dot..];
            format!("{}{}", &s[..MAX_NAME - ext.len()], ext)
        }
        _ => s[..MAX_NAME].to_string(),
    }
}

/// A file extension for a part without a name, from its sniffed type.
/// Executables and anything unrecognised get `bin`, so that nothing
/// extracted runs when double-clicked.
pub fn extension_for(sniffed: &str) -> &'static str {
    match sniffed {
        "text" => "txt",
        "html" => "html",
        "pdf" => "pdf",
        "zip" => "zip",
        "rar" => "rar",
        "7z" => "7z",
        "gzip" => "gz",
        "bzip2" => "bz2",
        "xz" => "xz",
        "tar" => "tar",
        "rtf" => "rtf",
        "png" => "png",
        "jpeg" => "jpg",
        "gif" => "gif",
        _ => "bin",
    }
}

/// Writes `data` as part `part` of message `msg` into `dir`, never
/// overwriting a file (a counter is added until the name is free).
/// Returns the path written.
pub fn write_part(
    dir: &Path,
    msg: usize,
    part: usize,
    filename: Option<&str>,
    sniffed: &str,
    data: &[u8],
) -> io::Result<PathBuf> {
    let clean = filename.map(sanitise).unwrap_or_default();
    let (stem, ext) = if clean.is_empty() {
        ("part".to_string(), format!(".{}", extension_for(sniffed)))
    } else {
        match clean.rfind('.') {
            Some(dot) if dot > 0 => (clean[..dot].to_string(), clean[dot..].to_string()),
            _ => (clean, String::new()),
        }
    };
    for n in 0u32..100_000 {
        let counter = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let name = format!("msg{msg}-{part}-{stem}{counter}{ext}");
        let path = dir.join(checked(&name)?);
        // create_new is O_EXCL: it fails on any existing entry, symbolic
        // links included, so it never follows one out of `dir`.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(data)?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name",
    ))
}

/// Makes sure `name` is one plain path component (belt and braces: the
/// sanitiser already guarantees it).
fn checked(name: &str) -> io::Result<&str> {
    let mut comps = Path::new(name).components();
    let ok = matches!(comps.next(), Some(Component::Normal(_)))
        && comps.next().is_none()
        && !name.contains(['/', '\\', '\0', ':']);
    if ok {
        Ok(name)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "unsafe file name",
        ))
    }
}

/// Creates the extraction directory (and its parents).
pub fn prepare(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names() {
        assert_eq!(sanitise("../../etc/passwd"), "_._etc_passwd");
        assert_eq!(sanitise("/abs"), "_abs");
        assert_eq!(sanitise("C:\\x"), "C__x");
        assert_eq!(sanitise(".."), "");
        assert_eq!(sanitise("..."), "");
        assert_eq!(sanitise(".hidden"), "hidden");
        assert_eq!(sanitise("a\0b"), "a_b");
        assert_eq!(sanitise("evil\u{202e}fdp.exe"), "evil_fdp.exe");
        assert_eq!(sanitise("report.pdf"), "report.pdf");
        let long = "x".repeat(500) + ".pdf";
        let s = sanitise(&long);
        assert_eq!(s.len(), MAX_NAME);
        assert!(s.ends_with(".pdf"));
        assert_eq!(sanitise(&"é".repeat(300)).len(), MAX_NAME);
    }

    #[test]
    fn checked_rejects_separators() {
        assert!(checked("a/b").is_err());
        assert!(checked("..").is_err());
        assert!(checked("/x").is_err());
        assert!(checked("msg1-1-a.b").is_ok());
    }
}
