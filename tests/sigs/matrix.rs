//! Reads `tests/sigs/matrix.txt` (format described at its top) and builds
//! its databases and samples. Shared by `tests/sig_matrix.rs` and
//! `tests/clamscan.rs`.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// One sample and the verdict clamscan gives it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Detection name, or `None` for `OK`.
    pub expect: Option<String>,
    /// The sample spec as written.
    pub spec: String,
    /// Line in matrix.txt.
    pub line: usize,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One case: database files and samples.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// (file name, contents with placeholders expanded).
    pub dbs: Vec<(String, String)>,
    pub samples: Vec<Sample>,
}

pub const MATRIX: &str = include_str!("matrix.txt");

/// Parses the matrix.
pub fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in MATRIX.lines().enumerate() {
        let ln = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("case ") {
            cases.push(Case {
                name: name.trim().to_string(),
                dbs: Vec::new(),
                samples: Vec::new(),
            });
            continue;
        }
        let case = cases
            .last_mut()
            .unwrap_or_else(|| panic!("line {ln}: no case"));
        if let Some(db) = line.strip_prefix("db ") {
            case.dbs.push((db.trim().to_string(), String::new()));
        } else if let Some(l) = line.strip_prefix("+ ") {
            let db = case.dbs.last_mut().expect("db line before db");
            db.1.push_str(l);
            db.1.push('\n');
        } else if let Some(rest) = line.strip_prefix("sample ") {
            let (exp, spec) = rest.split_once(' ').expect("sample EXPECT SPEC");
            case.samples.push(Sample {
                expect: (exp != "OK").then(|| exp.to_string()),
                spec: spec.to_string(),
                line: ln,
                bytes: build(spec),
            });
        } else {
            panic!("matrix.txt line {ln}: cannot parse {line:?}");
        }
    }
    for c in &mut cases {
        let first = c.samples[0].bytes.clone();
        for db in &mut c.dbs {
            db.1 =
                db.1.replace("{md5}", &hex(&Md5::digest(&first)))
                    .replace("{sha1}", &hex(&Sha1::digest(&first)))
                    .replace("{sha256}", &hex(&Sha256::digest(&first)))
                    .replace("{size}", &first.len().to_string());
        }
    }
    cases
}

impl Case {
    /// Writes the case's database files into `dir`.
    pub fn write_dbs(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in &self.dbs {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `\n \r \t \s \\ \xNN`.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b's' => out.push(b' '),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 4;
                    continue;
                }
                c => panic!("bad escape \\{}", c as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Builds a sample from its spec.
pub fn build(spec: &str) -> Vec<u8> {
    let (kind, rest) = spec.split_once(':').expect("KIND:DATA");
    match kind {
        "text" => unescape(rest),
        "hex" => unhex(rest),
        "pe" => tiny_pe(&unhex(rest)),
        "zip" => {
            let members: Vec<(String, Vec<u8>)> = rest
                .split('|')
                .map(|m| {
                    let (n, d) = m.split_once('=').expect("NAME=DATA");
                    (n.to_string(), unescape(d))
                })
                .collect();
            zip_stored(&members)
        }
        _ => panic!("unknown sample kind {kind}"),
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A minimal PE32: headers in 0x200 bytes, one `.text` section at file
/// offset 0x200 (RVA 0x1000, the entry point) holding `code`.
pub fn tiny_pe(code: &[u8]) -> Vec<u8> {
    assert!(code.len() <= 0x200);
    let mut h = vec![0u8; 0x400];
    h[0..2].copy_from_slice(b"MZ");
    put32(&mut h, 0x3c, 0x40);
    h[0x40..0x44].copy_from_slice(b"PE\0\0");
    // COFF: i386, 1 section, optional header 0xe0, executable | 32-bit.
    put16(&mut h, 0x44, 0x14c);
    put16(&mut h, 0x46, 1);
    put16(&mut h, 0x54, 0xe0);
    put16(&mut h, 0x56, 0x0102);
    let o = 0x58;
    put16(&mut h, o, 0x10b);
    h[o + 2] = 1;
    put32(&mut h, o + 4, 0x200); // SizeOfCode
    put32(&mut h, o + 16, 0x1000); // AddressOfEntryPoint
    put32(&mut h, o + 20, 0x1000); // BaseOfCode
    put32(&mut h, o + 24, 0x1000); // BaseOfData
    put32(&mut h, o + 28, 0x40_0000); // ImageBase
    put32(&mut h, o + 32, 0x1000); // SectionAlignment
    put32(&mut h, o + 36, 0x200); // FileAlignment
    put16(&mut h, o + 40, 4);
    put16(&mut h, o + 48, 4);
    put32(&mut h, o + 56, 0x2000); // SizeOfImage
    put32(&mut h, o + 60, 0x200); // SizeOfHeaders
    put16(&mut h, o + 68, 2); // GUI
    put32(&mut h, o + 72, 0x10_0000);
    put32(&mut h, o + 76, 0x1000);
    put32(&mut h, o + 80, 0x10_0000);
    put32(&mut h, o + 84, 0x1000);
    put32(&mut h, o + 92, 16); // NumberOfRvaAndSizes
    let s = o + 0xe0;
    h[s..s + 8].copy_from_slice(b".text\0\0\0");
    put32(&mut h, s + 8, 0x200); // VirtualSize
    put32(&mut h, s + 12, 0x1000); // VirtualAddress
    put32(&mut h, s + 16, 0x200); // SizeOfRawData
    put32(&mut h, s + 20, 0x200); // PointerToRawData
    put32(&mut h, s + 36, 0x6000_0020);
    h[0x200..0x200 + code.len()].copy_from_slice(code);
    h
}

/// CRC-32 (IEEE), bitwise.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A zip archive whose members are all stored (method 0).
pub fn zip_stored(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let members: Vec<_> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice(), false, false))
        .collect();
    zip(&members)
}

/// Raw deflate of `data`.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A zip: each member (name, data, deflate?, encrypted flag?).
pub fn zip(members: &[(&str, &[u8], bool, bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, deflated, encrypted) in members {
        let crc = crc32(data);
        let body = if *deflated {
            deflate(data)
        } else {
            data.to_vec()
        };
        let method: u16 = if *deflated { 8 } else { 0 };
        let flags: u16 = if *encrypted { 1 } else { 0 };
        let off = out.len() as u32;
        let mut fields = Vec::new();
        fields.extend_from_slice(&20u16.to_le_bytes());
        fields.extend_from_slice(&flags.to_le_bytes());
        fields.extend_from_slice(&method.to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes());
        fields.extend_from_slice(&0x21u16.to_le_bytes());
        fields.extend_from_slice(&crc.to_le_bytes());
        fields.extend_from_slice(&(body.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(name.len() as u16).to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&fields);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&fields);
        central.extend_from_slice(&[0u8; 10]);
        central.extend_from_slice(&off.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let n = members.len() as u16;
    let cd = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}
