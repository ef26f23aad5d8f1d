//! `.cvd`/`.cld` archives and `.info` files.
//!
//! A `.cvd` is a 512-byte text header, padded with spaces —
//! `ClamAV-VDB:build time:version:signatures:flevel:md5:dsig:builder:stime`
//! — followed by a gzip-compressed tar of database files. The MD5 in the
//! header covers everything after the header; the `dsig` field is an RSA
//! signature of that MD5 made with Talos's key, which we do not verify
//! ([`super::DbInfo::signature_verified`] is always false).
//!
//! A `.cld` is what freshclam leaves after applying incremental updates:
//! the same header (copied from the `.cvd` it started from) followed by a
//! tar that is *not* compressed. Because the header is copied, its MD5 no
//! longer describes the data and ClamAV does not check it; neither do we
//! (`md5_ok` is `None` for a `.cld`). We accept either body in either file
//! by looking for the gzip magic, as ClamAV's reader does.
//!
//! The `.info` member lists every other member with its size and SHA-256
//! (`name:size:sha256`), headed by a copy of the header line and followed
//! by a `DSIG:` line. We parse its header into the file's [`super::DbInfo`]
//! and check each listed member's size and SHA-256, reporting a mismatch.

use std::io::Read;

use md5::{Digest, Md5};

use crate::container::{Bounds, Kind};

/// Largest tar we expand a `.cvd` to (the official `main.cvd` expands to a
/// few hundred MB).
const MAX_UNPACKED: u64 = 2 << 30;

/// Header length.
pub(super) const HEADER: usize = 512;

/// The header fields we keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Header {
    pub build_time: String,
    pub version: u32,
    pub sigs: u64,
    pub flevel: u32,
    pub md5: String,
}

/// Parses a header line (`ClamAV-VDB:…`, trailing padding ignored).
pub(super) fn header(text: &[u8]) -> Result<Header, String> {
    let text = std::str::from_utf8(text).map_err(|_| "header is not text".to_string())?;
    let text = text.trim_end_matches([' ', '\0', '\n', '\r']);
    let f: Vec<&str> = text.split(':').collect();
    if f.first() != Some(&"ClamAV-VDB") {
        return Err("not a ClamAV database (no ClamAV-VDB header)".into());
    }
    if f.len() < 8 {
        return Err(format!("header has {} fields, expected 9", f.len()));
    }
    let num = |i: usize, what: &str| -> Result<u64, String> {
        f[i].trim()
            .parse::<u64>()
            .map_err(|_| format!("bad {what} {:?} in header", f[i]))
    };
    Ok(Header {
        build_time: f[1].to_string(),
        version: u32::try_from(num(2, "version")?).map_err(|_| "version too large")?,
        sigs: num(3, "signature count")?,
        flevel: u32::try_from(num(4, "flevel")?).map_err(|_| "flevel too large")?,
        md5: f[5].to_ascii_lowercase(),
    })
}

/// What unpacking found.
pub(super) struct Unpacked {
    pub header: Header,
    /// `Some` for a `.cvd`; `None` for a `.cld`.
    pub md5_ok: Option<bool>,
    /// The tar, decompressed.
    pub tar: Vec<u8>,
    /// Problems after which the members were still read.
    pub problems: Vec<String>,
}

/// Checks and unpacks a `.cvd`/`.cld`. `Err` when nothing can be loaded.
pub(super) fn unpack(bytes: &[u8], is_cld: bool) -> Result<Unpacked, (Option<Header>, String)> {
    if bytes.len() < HEADER {
        return Err((None, "shorter than the 512-byte header".into()));
    }
    let header = header(&bytes[..HEADER]).map_err(|e| (None, e))?;
    let body = &bytes[HEADER..];
    let md5_ok = if is_cld {
        None
    } else {
        let got = Md5::digest(body);
        let mut hex = String::with_capacity(32);
        for b in got {
            hex.push_str(&format!("{b:02x}"));
        }
        Some(hex == header.md5)
    };
    if md5_ok == Some(false) {
        // ClamAV refuses such a file outright; so do we.
        return Err((
            Some(header),
            "MD5 in the header does not match the archive".into(),
        ));
    }
    let mut tar = Vec::new();
    let mut problems = Vec::new();
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut dec = flate2::read::GzDecoder::new(body).take(MAX_UNPACKED + 1);
        if let Err(e) = dec.read_to_end(&mut tar) {
            // Keep what was decoded: the tar reader takes what it can.
            problems.push(format!("gzip: {e}"));
        }
        if tar.len() as u64 > MAX_UNPACKED {
            return Err((Some(header), format!("expands past {MAX_UNPACKED} bytes")));
        }
    } else {
        tar.extend_from_slice(body);
    }
    Ok(Unpacked {
        header,
        md5_ok,
        tar,
        problems,
    })
}

/// Calls `f` with each regular file of a tar (name, data borrowed from
/// `tar_bytes`); returns what went wrong with the archive, if anything.
pub(super) fn each_member(tar_bytes: &[u8], f: &mut dyn FnMut(&[u8], &[u8])) -> Option<String> {
    let bounds = Bounds {
        max_members: 100_000,
        max_member_size: MAX_UNPACKED,
        max_total: MAX_UNPACKED,
        max_ratio: u64::MAX,
    };
    let mut scratch = Vec::new();
    let outcome = crate::container::open(
        Kind::Tar,
        tar_bytes,
        &bounds,
        &mut scratch,
        &mut |m, data| f(m.name, data),
    );
    if outcome.corrupt {
        Some("tar archive is damaged or truncated".to_string())
    } else {
        outcome
            .limit
            .map(|l| format!("tar archive hit a bound ({l:?})"))
    }
}

/// One `name:size:sha256` line of an `.info` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InfoEntry {
    pub name: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Parses an `.info` file: its header (if it has one) and entries, with
/// errors by line.
pub(super) fn info(text: &str) -> (Option<Header>, Vec<InfoEntry>, Vec<(usize, String)>) {
    let mut head = None;
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("ClamAV-VDB:") {
            match header(line.as_bytes()) {
                Ok(h) => head = Some(h),
                Err(e) => errors.push((i + 1, e)),
            }
            continue;
        }
        if line.starts_with("DSIG:") || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        let parsed = match f.as_slice() {
            [name, size, hash] => size
                .parse::<u64>()
                .ok()
                .zip(super::hash::digest(hash).ok())
                .filter(|(_, (k, _))| *k == super::HashKind::Sha256)
                .map(|(size, (_, sha256))| InfoEntry {
                    name: name.to_string(),
                    size,
                    sha256,
                }),
            _ => None,
        };
        match parsed {
            Some(e) => entries.push(e),
            None => errors.push((i + 1, "expected name:size:sha256".to_string())),
        }
    }
    (head, entries, errors)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal ustar writer for tests.
    pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            h[108..115].copy_from_slice(b"0000000");
            h[116..123].copy_from_slice(b"0000000");
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[136..147].copy_from_slice(b"00000000000");
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A `.cvd`: header + body, with the body's real MD5 unless `md5` is
    /// given.
    pub fn cvd(body: &[u8], version: u32, md5: Option<&str>) -> Vec<u8> {
        let real: String = Md5::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let md5 = md5.map_or(real, str::to_string);
        let mut h = format!(
            "ClamAV-VDB:28 Nov 2026 08-00 +0000:{version}:3:90:{md5}:DSIGxyz:tester:1795852800"
        )
        .into_bytes();
        h.resize(512, b' ');
        h.extend_from_slice(body);
        h
    }

    #[test]
    fn header_fields() {
        let h = header(b"ClamAV-VDB:16 Sep 2023 08-32 -0400:27032:2046:90:0123456789ABCDEF0123456789abcdef:sig:raynman:1694867571    ").unwrap();
        assert_eq!(h.version, 27032);
        assert_eq!(h.sigs, 2046);
        assert_eq!(h.flevel, 90);
        assert_eq!(h.build_time, "16 Sep 2023 08-32 -0400");
        assert_eq!(h.md5, "0123456789abcdef0123456789abcdef");
        assert!(header(b"NotClamAV:1:2").is_err());
        assert!(header(b"ClamAV-VDB:x:y:1:2:3:4:5").is_err());
        assert!(header(b"ClamAV-VDB:x:1").is_err());
    }

    #[test]
    fn unpack_checks_md5() {
        let t = tar(&[("a.ndb", b"X:0:*:41\n")]);
        let body = gzip(&t);
        let u = unpack(&cvd(&body, 7, None), false).unwrap();
        assert_eq!(u.md5_ok, Some(true));
        assert_eq!(u.tar, t);
        assert_eq!(u.header.version, 7);
        let bad = cvd(&body, 7, Some("00000000000000000000000000000000"));
        let (h, why) = unpack(&bad, false).err().unwrap();
        assert_eq!(h.unwrap().version, 7);
        assert!(why.contains("MD5"));
        // A .cld: plain tar, MD5 not checked.
        let u = unpack(&cvd(&t, 8, Some("00000000000000000000000000000000")), true).unwrap();
        assert_eq!(u.md5_ok, None);
        assert_eq!(u.tar, t);
        let mut list = Vec::new();
        let problem = each_member(&u.tar, &mut |n, d| list.push((n.to_vec(), d.to_vec())));
        assert!(problem.is_none());
        assert_eq!(list, vec![(b"a.ndb".to_vec(), b"X:0:*:41\n".to_vec())]);
        assert!(unpack(b"short", false).is_err());
    }

    #[test]
    fn info_lines() {
        let text = format!(
            "ClamAV-VDB:x:5:1:90:{}:s:b:1\na.hdb:10:{}\nbad line\nDSIG:abc\n",
            "0".repeat(32),
            "ab".repeat(32)
        );
        let (h, e, errs) = info(&text);
        assert_eq!(h.unwrap().version, 5);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "a.hdb");
        assert_eq!(e[0].size, 10);
        assert_eq!(errs, vec![(3, "expected name:size:sha256".to_string())]);
    }
}
