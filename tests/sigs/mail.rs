//! Builders for mail samples: transfer encodings, archives and nested
//! messages, all written here so the tests need no fixture files. Shared by
//! `tests/sig_mail.rs` and `tests/clamscan.rs`.

#![allow(dead_code)]

use std::io::Write;

/// The bytes the test signature looks for. The `=` and the non-ASCII bytes
/// make every transfer encoding change it, so it is found only after
/// decoding.
pub const MARKER: &[u8] = b"lf-marker\xe9\xff=sig-0042";

/// A `.ndb` line finding [`MARKER`] anywhere.
pub fn marker_ndb() -> String {
    format!("Test.Mail.Marker:0:*:{}\n", hex(MARKER))
}

/// Name clamscan and we print for [`marker_ndb`].
pub const MARKER_NAME: &str = "Test.Mail.Marker.UNOFFICIAL";

/// An attachment body carrying the marker.
pub fn payload() -> Vec<u8> {
    let mut v = b"binary-ish attachment \x00\x01\x02 starts\r\n".to_vec();
    v.extend_from_slice(MARKER);
    v.extend_from_slice(b"\r\nand ends here \x80\x81\r\n");
    v
}

/// The EICAR test file, assembled at run time.
pub fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-",
        "ANTIVIRUS-TEST-",
        "FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Base64 with 76-column CRLF lines.
pub fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    filter::decode::base64::encode(data, &mut out);
    out
}

/// Quoted-printable: every byte outside printable ASCII, and `=`, as
/// `=XX`; CRLF kept as line breaks; soft breaks before 76 columns.
pub fn qp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut col = 0;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
            col = 0;
            i += 2;
            continue;
        }
        let enc: Vec<u8> = if (33..=126).contains(&b) && b != b'=' || b == b' ' {
            vec![b]
        } else {
            format!("={b:02X}").into_bytes()
        };
        if col + enc.len() > 72 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        col += enc.len();
        out.extend_from_slice(&enc);
        i += 1;
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// uuencode, `begin 644 NAME` … `end`.
pub fn uuencode(name: &str, data: &[u8]) -> Vec<u8> {
    let enc = |c: u8| if c == 0 { b'`' } else { c + 32 };
    let mut out = format!("begin 644 {name}\r\n").into_bytes();
    for line in data.chunks(45) {
        out.push(enc(line.len() as u8));
        for c in line.chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            out.push(enc(b[0] >> 2));
            out.push(enc((b[0] & 3) << 4 | b[1] >> 4));
            out.push(enc((b[1] & 15) << 2 | b[2] >> 6));
            out.push(enc(b[2] & 63));
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"`\r\nend\r\n");
    out
}

/// yEnc, single part.
pub fn yenc(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("=ybegin line=128 size={} name={name}\r\n", data.len()).into_bytes();
    let mut col = 0;
    for &b in data {
        let c = b.wrapping_add(42);
        if matches!(c, 0 | b'\n' | b'\r' | b'=') {
            out.push(b'=');
            out.push(c.wrapping_add(64));
            col += 2;
        } else {
            out.push(c);
            col += 1;
        }
        if col >= 128 {
            out.extend_from_slice(b"\r\n");
            col = 0;
        }
    }
    out.extend_from_slice(format!("\r\n=yend size={}\r\n", data.len()).as_bytes());
    out
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// BinHex 4.0 of a file with only a data fork.
pub fn binhex(name: &str, data: &[u8]) -> Vec<u8> {
    let mut raw = vec![name.len() as u8];
    raw.extend_from_slice(name.as_bytes());
    raw.push(0);
    raw.extend_from_slice(b"BINAmacf");
    raw.extend_from_slice(&[0, 0]);
    raw.extend_from_slice(&(data.len() as u32).to_be_bytes());
    raw.extend_from_slice(&0u32.to_be_bytes());
    let hcrc = crc16_xmodem(&raw);
    raw.extend_from_slice(&hcrc.to_be_bytes());
    raw.extend_from_slice(data);
    raw.extend_from_slice(&crc16_xmodem(data).to_be_bytes());
    raw.extend_from_slice(&0u16.to_be_bytes());
    // Run-length escape: a literal 0x90 is 0x90 0x00.
    let mut rle = Vec::new();
    for &b in &raw {
        rle.push(b);
        if b == 0x90 {
            rle.push(0);
        }
    }
    const A: &[u8; 64] = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
    let mut chars = vec![b':'];
    for c in rle.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        let k = match c.len() {
            1 => 2,
            2 => 3,
            _ => 4,
        };
        for i in 0..k {
            chars.push(A[(n >> (18 - 6 * i) & 63) as usize]);
        }
    }
    chars.push(b':');
    let mut out = b"(This file must be converted with BinHex 4.0)\r\n\r\n".to_vec();
    for line in chars.chunks(64) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A ustar archive of regular files.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0001750\0");
        h[116..124].copy_from_slice(b"0001750\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"14712345670\0");
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

pub use super::matrix::zip;

const HEAD: &str = "From: sender@example.com\r\nTo: rcpt@example.net\r\n\
Date: Mon, 3 Jun 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n";

/// A multipart/mixed message: a text part, then one attachment with the
/// given type, encoding and already-encoded body.
pub fn with_attachment(
    subject: &str,
    ctype: &str,
    cte: Option<&str>,
    filename: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Subject: {subject}\r\nContent-Type: multipart/mixed; boundary=\"=-b0undary\"\r\n\r\n\
--=-b0undary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attachment.\r\n\r\n\
--=-b0undary\r\nContent-Type: {ctype}; name=\"{filename}\"\r\n\
Content-Disposition: attachment; filename=\"{filename}\"\r\n"
    )
    .into_bytes();
    if let Some(cte) = cte {
        m.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
    }
    m.extend_from_slice(b"\r\n");
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n--=-b0undary--\r\n");
    m
}

/// A single-part text/plain message whose body is `body` (uuencode, yEnc
/// and BinHex travel inside plain text).
pub fn plain(subject: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Subject: {subject}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello,\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\nBye.\r\n");
    m
}

/// A message carrying `inner` as a message/rfc822 part, optionally
/// base64-encoded.
pub fn forward(inner: &[u8], b64: bool) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Subject: Fwd: forwarded\r\nContent-Type: multipart/mixed; boundary=\"fw-1\"\r\n\r\n\
--fw-1\r\nContent-Type: text/plain\r\n\r\nForwarded message below.\r\n\r\n\
--fw-1\r\nContent-Type: message/rfc822\r\n"
    )
    .into_bytes();
    if b64 {
        m.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        m.extend_from_slice(&base64(inner));
    } else {
        m.extend_from_slice(b"\r\n");
        m.extend_from_slice(inner);
    }
    m.extend_from_slice(b"\r\n--fw-1--\r\n");
    m
}

/// Every way the tests wrap `content` in a message: (case name, message).
pub fn wrappings(content: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let zip_b64 = base64(&zip(&[
        ("readme.txt", b"nothing here\r\n", true, false),
        ("data.bin", content, true, false),
    ]));
    let tar = tar(&[("dir/readme.txt", b"nothing\n"), ("dir/data.bin", content)]);
    let inner = with_attachment(
        "inner",
        "application/octet-stream",
        Some("base64"),
        "data.bin",
        &base64(content),
    );
    vec![
        (
            "base64",
            with_attachment(
                "b64",
                "application/octet-stream",
                Some("base64"),
                "data.bin",
                &base64(content),
            ),
        ),
        (
            "quoted-printable",
            with_attachment(
                "qp",
                "application/octet-stream",
                Some("quoted-printable"),
                "data.bin",
                &qp(content),
            ),
        ),
        ("uuencode", plain("uu", &uuencode("data.bin", content))),
        ("yenc", plain("yenc", &yenc("data.bin", content))),
        ("binhex", plain("binhex", &binhex("data.bin", content))),
        (
            "zip-in-base64",
            with_attachment(
                "zip",
                "application/zip",
                Some("base64"),
                "files.zip",
                &zip_b64,
            ),
        ),
        (
            "gzip-in-base64",
            with_attachment(
                "gz",
                "application/gzip",
                Some("base64"),
                "data.bin.gz",
                &base64(&gzip(content)),
            ),
        ),
        (
            "tar-in-base64",
            with_attachment(
                "tar",
                "application/x-tar",
                Some("base64"),
                "files.tar",
                &base64(&tar),
            ),
        ),
        (
            "tar-gz-in-base64",
            with_attachment(
                "tgz",
                "application/gzip",
                Some("base64"),
                "files.tgz",
                &base64(&gzip(&tar)),
            ),
        ),
        ("rfc822", forward(&inner, false)),
        ("rfc822-base64", forward(&inner, true)),
        ("rfc822-twice", forward(&forward(&inner, true), false)),
    ]
}
