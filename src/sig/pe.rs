//! Just enough of PE (and ELF/Mach-O) to resolve entry-point and section
//! offsets and hash PE sections.
//!
//! ClamAV signatures can be anchored to an executable's structure: `EP+n`
//! means "n bytes after the entry point", `Sx+n` "n bytes into section x",
//! `SL+n` the last section, and `.mdb` signatures hash whole PE sections.
//! All of these are *file* offsets, so the entry point, which every format
//! stores as a virtual address (or an address relative to the image), has
//! to be mapped back through the section or segment that contains it.
//!
//! [`parse`] reads three formats:
//!
//! - **PE** (32 and 32+): `e_lfanew` → `PE\0\0` → COFF header → optional
//!   header (`AddressOfEntryPoint`) → section table. The entry point maps
//!   through the section whose virtual range holds it; an entry point
//!   inside the headers maps one to one, as the loader maps them. The
//!   values are taken as written (no file-alignment rounding).
//!   More than 96 sections — the Windows loader's own limit — is refused.
//! - **ELF** (32/64-bit, either byte order): `e_entry` maps through the
//!   `PT_LOAD` segment that holds it; sections come from the section
//!   header table (`SHT_NOBITS` sections have no file bytes).
//! - **Mach-O** thin files (32/64-bit, either byte order): the entry point
//!   is `LC_MAIN`'s `entryoff` (already a file offset) or the program
//!   counter in `LC_UNIXTHREAD`'s register state (x86, x86-64, ARM, ARM64,
//!   PowerPC), mapped through the segment that holds it; sections come
//!   from the segment commands (zero-fill sections have no file bytes).
//!   Universal (fat) files are not read.
//!
//! Every count and offset is checked against the file, and the work is
//! bounded by the header sizes. The result never points outside the file:
//! an entry point that maps past the end is dropped, and a section's raw
//! range is clipped to the file (kept, so section numbers stay right).
//! ELF and Mach-O files keep their first 96 sections.

/// Most sections kept (and, for PE, accepted).
pub const MAX_SECTIONS: usize = 96;

/// One section, in file terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    /// File offset of the section's raw data.
    pub raw_offset: u64,
    /// Size of the raw data in the file.
    pub raw_size: u64,
    /// Relative virtual address.
    pub rva: u64,
    /// Virtual size.
    pub virtual_size: u64,
}

/// Entry point and sections of an executable; empty for other files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// File offset of the entry point.
    pub entry_point: Option<u64>,
    /// Sections in header order.
    pub sections: Vec<Section>,
}

/// Reads the layout of a PE, ELF or Mach-O file; `None` for anything else
/// or for a header that does not hold together. Bounded by the header sizes.
pub fn parse(data: &[u8]) -> Option<Layout> {
    let mut layout = if data.starts_with(b"MZ") || data.starts_with(b"ZM") {
        pe(data)?
    } else if data.starts_with(b"\x7fELF") {
        elf(data)?
    } else {
        macho(data)?
    };
    let len = data.len() as u64;
    if layout.entry_point.is_some_and(|e| e >= len) {
        layout.entry_point = None;
    }
    for s in &mut layout.sections {
        s.raw_offset = s.raw_offset.min(len);
        s.raw_size = s.raw_size.min(len - s.raw_offset);
    }
    Some(layout)
}

/// A bounds-checked reader in one byte order.
#[derive(Clone, Copy)]
struct Bytes<'d> {
    data: &'d [u8],
    big: bool,
}

impl Bytes<'_> {
    fn arr<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        let b = self.data.get(at..at.checked_add(N)?)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        if self.big {
            a.reverse();
        }
        Some(a)
    }
    fn u16(&self, at: u64) -> Option<u16> {
        self.arr(at).map(u16::from_le_bytes)
    }
    fn u32(&self, at: u64) -> Option<u32> {
        self.arr(at).map(u32::from_le_bytes)
    }
    fn u64(&self, at: u64) -> Option<u64> {
        self.arr(at).map(u64::from_le_bytes)
    }
    /// A 32- or 64-bit word.
    fn word(&self, at: u64, wide: bool) -> Option<u64> {
        if wide {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
}

/// Maps `addr` through `(vaddr, file_size, file_offset)` ranges.
fn map(addr: u64, ranges: &[(u64, u64, u64)]) -> Option<u64> {
    ranges.iter().find_map(|&(va, size, off)| {
        let d = addr.checked_sub(va)?;
        (d < size).then(|| off.checked_add(d)).flatten()
    })
}

fn pe(data: &[u8]) -> Option<Layout> {
    let r = Bytes { data, big: false };
    let nt = u64::from(r.u32(0x3C)?);
    if r.u32(nt)? != u32::from_le_bytes(*b"PE\0\0") {
        return None;
    }
    let coff = nt + 4;
    let nsections = usize::from(r.u16(coff + 2)?);
    let opt_size = u64::from(r.u16(coff + 16)?);
    let opt = coff + 20;
    if nsections > MAX_SECTIONS {
        return None;
    }
    let magic = r.u16(opt)?;
    if magic != 0x10B && magic != 0x20B {
        return None;
    }
    let ep = u64::from(r.u32(opt + 16)?);
    // SizeOfHeaders sits at the same offset in PE32 and PE32+.
    let headers = r.u32(opt + 60).map_or(0, u64::from);
    let table = opt + opt_size;
    let mut sections = Vec::with_capacity(nsections);
    for i in 0..nsections as u64 {
        let at = table + 40 * i;
        let virtual_size = u64::from(r.u32(at + 8)?);
        let rva = u64::from(r.u32(at + 12)?);
        let raw_size = u64::from(r.u32(at + 16)?);
        let raw_offset = u64::from(r.u32(at + 20)?);
        sections.push(Section {
            raw_offset,
            raw_size,
            rva,
            virtual_size,
        });
    }
    let ranges: Vec<(u64, u64, u64)> = sections
        .iter()
        .map(|s| (s.rva, s.raw_size, s.raw_offset))
        .collect();
    let entry_point = map(ep, &ranges).or_else(|| {
        let in_section = sections
            .iter()
            .any(|s| ep >= s.rva && ep - s.rva < s.virtual_size.max(s.raw_size));
        (!in_section && ep < headers.max(1).min(data.len() as u64)).then_some(ep)
    });
    Some(Layout {
        entry_point,
        sections,
    })
}

fn elf(data: &[u8]) -> Option<Layout> {
    let wide = match data.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match data.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let r = Bytes { data, big };
    let (entry, phoff, shoff, at16) = if wide {
        (r.u64(24)?, r.u64(32)?, r.u64(40)?, 52)
    } else {
        (
            u64::from(r.u32(24)?),
            u64::from(r.u32(28)?),
            u64::from(r.u32(32)?),
            40,
        )
    };
    let phentsize = u64::from(r.u16(at16 + 2)?);
    let phnum = u64::from(r.u16(at16 + 4)?);
    let shentsize = u64::from(r.u16(at16 + 6)?);
    let shnum = u64::from(r.u16(at16 + 8)?);
    let (ph_min, sh_min) = if wide { (56, 64) } else { (32, 40) };

    let mut loads = Vec::new();
    if phnum > 0 && phentsize >= ph_min {
        for i in 0..phnum {
            let at = phoff.checked_add(phentsize * i)?;
            let Some(ty) = r.u32(at) else { break };
            if ty != 1 {
                continue;
            }
            let seg = if wide {
                (r.u64(at + 16), r.u64(at + 32), r.u64(at + 8))
            } else {
                (
                    r.u32(at + 8).map(u64::from),
                    r.u32(at + 16).map(u64::from),
                    r.u32(at + 4).map(u64::from),
                )
            };
            if let (Some(va), Some(size), Some(off)) = seg {
                loads.push((va, size, off));
            }
        }
    }
    let mut sections = Vec::new();
    if shnum > 0 && shentsize >= sh_min {
        for i in 0..shnum.min(MAX_SECTIONS as u64) {
            let Some(at) = shoff.checked_add(shentsize * i) else {
                break;
            };
            let s = if wide {
                (
                    r.u32(at + 4),
                    r.u64(at + 16),
                    r.u64(at + 24),
                    r.u64(at + 32),
                )
            } else {
                (
                    r.u32(at + 4),
                    r.u32(at + 12).map(u64::from),
                    r.u32(at + 16).map(u64::from),
                    r.u32(at + 20).map(u64::from),
                )
            };
            let (Some(ty), Some(addr), Some(off), Some(size)) = s else {
                break;
            };
            sections.push(Section {
                raw_offset: off,
                raw_size: if ty == 8 { 0 } else { size },
                rva: addr,
                virtual_size: size,
            });
        }
    }
    Some(Layout {
        entry_point: map(entry, &loads),
        sections,
    })
}

const LC_SEGMENT: u32 = 0x1;
const LC_UNIXTHREAD: u32 = 0x5;
const LC_SEGMENT_64: u32 = 0x19;
const LC_MAIN: u32 = 0x8000_0028;

fn macho(data: &[u8]) -> Option<Layout> {
    let magic = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let (wide, big) = match magic {
        0xFEED_FACE => (false, false),
        0xFEED_FACF => (true, false),
        0xCEFA_EDFE => (false, true),
        0xCFFA_EDFE => (true, true),
        _ => return None,
    };
    let r = Bytes { data, big };
    let cputype = r.u32(4)?;
    let ncmds = r.u32(16)?;
    let sizeofcmds = u64::from(r.u32(20)?);
    let first = if wide { 32u64 } else { 28 };
    let end = first.checked_add(sizeofcmds)?.min(data.len() as u64);
    let mut segments = Vec::new();
    let mut sections = Vec::new();
    let mut main = None;
    let mut pc = None;
    let mut at = first;
    for _ in 0..ncmds {
        let (Some(cmd), Some(size)) = (r.u32(at), r.u32(at + 4)) else {
            break;
        };
        let size = u64::from(size);
        if size < 8 || at + size > end {
            break;
        }
        match cmd {
            LC_SEGMENT | LC_SEGMENT_64 => {
                let w = cmd == LC_SEGMENT_64;
                let n = if w { 8 } else { 4 };
                let vmaddr = r.word(at + 24, w)?;
                let fileoff = r.word(at + 24 + 2 * n, w)?;
                let filesize = r.word(at + 24 + 3 * n, w)?;
                segments.push((vmaddr, filesize, fileoff));
                let nsects = u64::from(r.u32(at + 24 + 4 * n + 8)?);
                let (hdr, each) = if w { (72, 80) } else { (56, 68) };
                for i in 0..nsects {
                    if sections.len() >= MAX_SECTIONS {
                        break;
                    }
                    let s = at + hdr + each * i;
                    if s + each > at + size {
                        break;
                    }
                    let addr = r.word(s + 32, w)?;
                    let sz = r.word(s + 32 + n, w)?;
                    let off = u64::from(r.u32(s + 32 + 2 * n)?);
                    let flags = r.u32(s + 32 + 2 * n + 16)?;
                    let zerofill = matches!(flags & 0xFF, 0x01 | 0x0C | 0x12);
                    sections.push(Section {
                        raw_offset: off,
                        raw_size: if zerofill { 0 } else { sz },
                        rva: addr,
                        virtual_size: sz,
                    });
                }
            }
            LC_MAIN => main = r.u64(at + 8),
            LC_UNIXTHREAD => {
                // Offset of the program counter in the register state.
                let state = at + 16;
                pc = match cputype {
                    7 => r.u32(state + 40).map(u64::from),      // i386: eip
                    0x0100_0007 => r.u64(state + 16 * 8),       // x86-64: rip
                    12 => r.u32(state + 15 * 4).map(u64::from), // ARM: pc
                    0x0100_000C => r.u64(state + 32 * 8),       // ARM64: pc
                    18 => r.u32(state).map(u64::from),          // PPC: srr0
                    0x0100_0012 => r.u64(state),                // PPC64: srr0
                    _ => None,
                };
            }
            _ => {}
        }
        at += size;
    }
    let entry_point = main.or_else(|| map(pc?, &segments));
    Some(Layout {
        entry_point,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A PE32 (or PE32+) with two sections: .text at RVA 0x1000 (file
    /// 0x400, 0x200 bytes) and .data at RVA 0x2000 (file 0x600, 0x200).
    fn pe_file(plus: bool, ep: u32) -> Vec<u8> {
        let mut b = vec![0u8; 0x800];
        b[..2].copy_from_slice(b"MZ");
        put32(&mut b, 0x3C, 0x80);
        b[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        put16(&mut b, coff, 0x14C);
        put16(&mut b, coff + 2, 2);
        let opt_size = if plus { 0xF0 } else { 0xE0 };
        put16(&mut b, coff + 16, opt_size);
        let opt = coff + 20;
        put16(&mut b, opt, if plus { 0x20B } else { 0x10B });
        put32(&mut b, opt + 16, ep);
        put32(&mut b, opt + 60, 0x400);
        let table = opt + opt_size as usize;
        for (i, (rva, raw)) in [(0x1000u32, 0x400u32), (0x2000, 0x600)].iter().enumerate() {
            let s = table + 40 * i;
            put32(&mut b, s + 8, 0x180);
            put32(&mut b, s + 12, *rva);
            put32(&mut b, s + 16, 0x200);
            put32(&mut b, s + 20, *raw);
        }
        b
    }

    #[test]
    fn pe32_and_pe32_plus() {
        for plus in [false, true] {
            let l = parse(&pe_file(plus, 0x1010)).unwrap();
            assert_eq!(l.entry_point, Some(0x410));
            assert_eq!(l.sections.len(), 2);
            assert_eq!(
                l.sections[1],
                Section {
                    raw_offset: 0x600,
                    raw_size: 0x200,
                    rva: 0x2000,
                    virtual_size: 0x180
                }
            );
            let l = parse(&pe_file(plus, 0x2004)).unwrap();
            assert_eq!(l.entry_point, Some(0x604));
        }
    }

    #[test]
    fn pe_entry_in_headers_or_nowhere() {
        assert_eq!(
            parse(&pe_file(false, 0x40)).unwrap().entry_point,
            Some(0x40)
        );
        // In .text's virtual range but past its raw data.
        assert_eq!(parse(&pe_file(false, 0x1F00)).unwrap().entry_point, None);
        assert_eq!(parse(&pe_file(false, 0x9000)).unwrap().entry_point, None);
    }

    #[test]
    fn pe_truncated_sections_are_clipped() {
        let mut f = pe_file(false, 0x1010);
        f.truncate(0x700);
        let l = parse(&f).unwrap();
        assert_eq!(l.sections[1].raw_size, 0x100);
        f.truncate(0x300);
        let l = parse(&f).unwrap();
        assert_eq!(l.entry_point, None);
        assert!(
            l.sections
                .iter()
                .all(|s| s.raw_offset + s.raw_size <= 0x300)
        );
    }

    #[test]
    fn pe_refuses_nonsense() {
        let mut f = pe_file(false, 0x1010);
        put16(&mut f, 0x86, 97);
        assert_eq!(parse(&f), None);
        let mut f = pe_file(false, 0x1010);
        f[0x80] = b'X';
        assert_eq!(parse(&f), None);
        let mut f = pe_file(false, 0x1010);
        put32(&mut f, 0x3C, 0xFFFF_FFF0);
        assert_eq!(parse(&f), None);
        assert_eq!(parse(b"MZ"), None);
        assert_eq!(parse(b"plain text"), None);
    }

    /// An ELF with one PT_LOAD (vaddr 0x400000, file 0, 0x200 bytes) and
    /// three sections (null, .text, .bss).
    fn elf_file(wide: bool, big: bool, entry: u64) -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = if wide { 2 } else { 1 };
        b[5] = if big { 2 } else { 1 };
        let w = |b: &mut Vec<u8>, at: usize, v: u64, n: usize| {
            let bytes = v.to_le_bytes();
            let mut x = bytes[..n].to_vec();
            if big {
                x.reverse();
            }
            b[at..at + n].copy_from_slice(&x);
        };
        let (word, at16) = if wide { (8, 52) } else { (4, 40) };
        w(&mut b, 24, entry, word);
        w(&mut b, 24 + word, 0x100, word); // phoff
        w(&mut b, 24 + 2 * word, 0x200, word); // shoff
        w(&mut b, at16 + 2, if wide { 56 } else { 32 }, 2);
        w(&mut b, at16 + 4, 1, 2);
        w(&mut b, at16 + 6, if wide { 64 } else { 40 }, 2);
        w(&mut b, at16 + 8, 3, 2);
        // PT_LOAD
        w(&mut b, 0x100, 1, 4);
        if wide {
            w(&mut b, 0x108, 0, 8);
            w(&mut b, 0x110, 0x400000, 8);
            w(&mut b, 0x120, 0x200, 8);
        } else {
            w(&mut b, 0x104, 0, 4);
            w(&mut b, 0x108, 0x400000, 4);
            w(&mut b, 0x110, 0x200, 4);
        }
        let shsize = if wide { 64 } else { 40 };
        for (i, (ty, addr, off, size)) in [
            (0u32, 0u64, 0u64, 0u64),
            (1, 0x400080, 0x80, 0x40),
            (8, 0x600000, 0x1c0, 0x1000),
        ]
        .iter()
        .enumerate()
        {
            let s = 0x200 + shsize * i;
            w(&mut b, s + 4, u64::from(*ty), 4);
            if wide {
                w(&mut b, s + 16, *addr, 8);
                w(&mut b, s + 24, *off, 8);
                w(&mut b, s + 32, *size, 8);
            } else {
                w(&mut b, s + 12, *addr, 4);
                w(&mut b, s + 16, *off, 4);
                w(&mut b, s + 20, *size, 4);
            }
        }
        b
    }

    #[test]
    fn elf_all_classes_and_orders() {
        for wide in [false, true] {
            for big in [false, true] {
                let l = parse(&elf_file(wide, big, 0x400090)).unwrap();
                assert_eq!(l.entry_point, Some(0x90), "wide {wide} big {big}");
                assert_eq!(l.sections.len(), 3);
                assert_eq!(
                    l.sections[1],
                    Section {
                        raw_offset: 0x80,
                        raw_size: 0x40,
                        rva: 0x400080,
                        virtual_size: 0x40
                    }
                );
                assert_eq!(l.sections[2].raw_size, 0, "NOBITS");
                let l = parse(&elf_file(wide, big, 0x500000)).unwrap();
                assert_eq!(l.entry_point, None);
            }
        }
    }

    /// A 64-bit little-endian Mach-O with one __TEXT segment holding one
    /// __text section, and either LC_MAIN or LC_UNIXTHREAD.
    fn macho_file(main: bool) -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        put32(&mut b, 0, 0xFEED_FACF);
        put32(&mut b, 4, 0x0100_0007);
        put32(&mut b, 16, 2);
        let seg = 32;
        let segsize = 72 + 80;
        put32(&mut b, seg, LC_SEGMENT_64);
        put32(&mut b, seg + 4, segsize);
        b[seg + 24..seg + 32].copy_from_slice(&0x1_0000_0000u64.to_le_bytes());
        b[seg + 40..seg + 48].copy_from_slice(&0u64.to_le_bytes());
        b[seg + 48..seg + 56].copy_from_slice(&0x400u64.to_le_bytes());
        put32(&mut b, seg + 64, 1);
        let s = seg + 72;
        b[s + 32..s + 40].copy_from_slice(&0x1_0000_0200u64.to_le_bytes());
        b[s + 40..s + 48].copy_from_slice(&0x100u64.to_le_bytes());
        put32(&mut b, s + 48, 0x200);
        let cmd = seg + segsize as usize;
        if main {
            put32(&mut b, cmd, LC_MAIN);
            put32(&mut b, cmd + 4, 24);
            b[cmd + 8..cmd + 16].copy_from_slice(&0x210u64.to_le_bytes());
            put32(&mut b, 20, segsize + 24);
        } else {
            let size = 16 + 21 * 8;
            put32(&mut b, cmd, LC_UNIXTHREAD);
            put32(&mut b, cmd + 4, size);
            put32(&mut b, cmd + 8, 4);
            put32(&mut b, cmd + 12, 42);
            b[cmd + 16 + 128..cmd + 16 + 136].copy_from_slice(&0x1_0000_0220u64.to_le_bytes());
            put32(&mut b, 20, segsize + size);
        }
        b
    }

    #[test]
    fn macho_main_and_unixthread() {
        let l = parse(&macho_file(true)).unwrap();
        assert_eq!(l.entry_point, Some(0x210));
        assert_eq!(
            l.sections,
            [Section {
                raw_offset: 0x200,
                raw_size: 0x100,
                rva: 0x1_0000_0200,
                virtual_size: 0x100
            }]
        );
        let l = parse(&macho_file(false)).unwrap();
        assert_eq!(l.entry_point, Some(0x220));
    }

    #[test]
    fn truncations_never_panic_and_stay_inside() {
        let files = [
            pe_file(false, 0x1010),
            pe_file(true, 0x2010),
            elf_file(true, false, 0x400090),
            elf_file(false, true, 0x400090),
            macho_file(true),
            macho_file(false),
        ];
        for f in &files {
            for cut in 0..f.len() {
                let d = &f[..cut];
                if let Some(l) = parse(d) {
                    assert!(l.entry_point.is_none_or(|e| e < cut as u64));
                    for s in &l.sections {
                        assert!(s.raw_offset + s.raw_size <= cut as u64);
                    }
                }
            }
        }
    }
}
