//! TNEF, the `winmail.dat` Outlook sends to clients it thinks are Outlook.
//!
//! A TNEF stream is a 4-byte signature (`0x223E9F78`), a 2-byte key and
//! then a flat run of attributes. Each attribute is a level byte (1 for
//! the message, 2 for an attachment), a 32-bit id whose high half is the
//! value type, a 32-bit length, the value, and a 16-bit checksum: the sum
//! of the value's bytes modulo 65536.
//!
//! Attachments are not nested; they are delimited. `attAttachRendData`
//! starts a new attachment and the attributes after it describe it:
//! `attAttachTitle` is its (8.3-era) name, `attAttachData` its bytes, and
//! `attAttachment` a block of MAPI properties, among them
//! `PR_ATTACH_LONG_FILENAME`, the name Outlook shows. We prefer that long
//! name (8-bit or UTF-16, the latter re-encoded as UTF-8) and fall back to
//! the title. Each attachment with data or a name is one member, its bytes
//! borrowed from the stream.
//!
//! A checksum mismatch marks the stream [`Outcome::corrupt`] but the walk
//! goes on (the value's length is still trusted); a length running past
//! the end stops it, after the attachment in progress is visited with
//! what there is.

use super::{Bounds, Budget, Member, Outcome, u16le, u32le};

/// The stream signature.
pub(crate) const SIGNATURE: u32 = 0x223E_9F78;

const LEVEL_ATTACHMENT: u8 = 2;
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_REND_DATA: u16 = 0x9002;
const ATT_ATTACHMENT: u16 = 0x9005;

const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
const PT_OBJECT: u16 = 0x000D;
const MV_FLAG: u16 = 0x1000;

/// The attachment being assembled.
#[derive(Default)]
struct Pending<'d> {
    title: Option<&'d [u8]>,
    long_name: Option<Vec<u8>>,
    data: Option<&'d [u8]>,
}

/// Strips trailing NULs (TNEF strings are NUL-terminated).
fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    &b[..end]
}

/// Walks a TNEF stream.
pub(crate) fn walk(
    data: &[u8],
    bounds: &Bounds,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    let mut budget = Budget::new(bounds);
    if u32le(data, 0) != Some(SIGNATURE) || data.len() < 6 {
        budget.out.corrupt = true;
        return budget.out;
    }
    let mut pos = 6usize;
    let mut cur = Pending::default();
    while pos < data.len() {
        let header = (data.get(pos), u32le(data, pos + 1), u32le(data, pos + 5));
        let (Some(&level), Some(id), Some(len)) = header else {
            budget.out.corrupt = true;
            break;
        };
        let start = pos + 9;
        let Some(value) = data.get(start..start.saturating_add(len as usize)) else {
            budget.out.corrupt = true;
            break;
        };
        let Some(sum) = u16le(data, start + value.len()) else {
            budget.out.corrupt = true;
            break;
        };
        let want = value
            .iter()
            .fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        if want != sum {
            budget.out.corrupt = true;
        }
        pos = start + value.len() + 2;
        if level != LEVEL_ATTACHMENT {
            continue;
        }
        match id as u16 {
            // A new attachment: visit the one before it (flush).
            ATT_ATTACH_REND_DATA if flush(&mut cur, &mut budget, visit) => return budget.out,
            ATT_ATTACH_TITLE => cur.title = Some(trim_nul(value)),
            ATT_ATTACH_DATA => cur.data = Some(value),
            ATT_ATTACHMENT => {
                if let Some(n) = long_filename(value) {
                    cur.long_name = Some(n);
                }
            }
            _ => {}
        }
    }
    flush(&mut cur, &mut budget, visit);
    budget.out
}

/// Visits the pending attachment, if it has anything; true when the walk
/// must stop.
fn flush(
    cur: &mut Pending<'_>,
    budget: &mut Budget<'_>,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> bool {
    let p = std::mem::take(cur);
    if p.data.is_none() && p.title.is_none() && p.long_name.is_none() {
        return false;
    }
    let Some(position) = budget.next_position() else {
        return true;
    };
    let raw = p.data.unwrap_or(&[]);
    let (bytes, stop) = budget.take(raw);
    let name: &[u8] = match &p.long_name {
        Some(n) if !n.is_empty() => n,
        _ => p.title.unwrap_or(&[]),
    };
    let m = Member {
        name,
        position,
        compressed_size: raw.len() as u64,
        size: raw.len() as u64,
        encrypted: false,
    };
    visit(&m, bytes);
    stop
}

/// Finds `PR_ATTACH_LONG_FILENAME` in an `attAttachment` MAPI property
/// block. Gives up quietly (`None`) on anything it does not understand:
/// the title is still there.
fn long_filename(b: &[u8]) -> Option<Vec<u8>> {
    let count = u32le(b, 0)?;
    let mut pos = 4usize;
    for _ in 0..count {
        let ty = u16le(b, pos)?;
        let id = u16le(b, pos + 2)?;
        pos += 4;
        if id >= 0x8000 {
            // Named property: GUID, kind, then an id or a name.
            let kind = u32le(b, pos + 16)?;
            pos += 20;
            if kind == 0 {
                pos += 4;
            } else {
                let n = u32le(b, pos)? as usize;
                pos = pos.checked_add(4 + n.checked_next_multiple_of(4)?)?;
            }
        }
        let base = ty & !MV_FLAG;
        let variable = matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT);
        let values = if ty & MV_FLAG != 0 || variable {
            let n = u32le(b, pos)?;
            pos += 4;
            n
        } else {
            1
        };
        for _ in 0..values {
            if variable {
                let n = u32le(b, pos)? as usize;
                let v = b.get(pos + 4..(pos + 4).checked_add(n)?)?;
                if id == PR_ATTACH_LONG_FILENAME {
                    return match base {
                        PT_STRING8 => Some(trim_nul(v).to_vec()),
                        PT_UNICODE => {
                            let units: Vec<u16> = v
                                .chunks_exact(2)
                                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                                .take_while(|&u| u != 0)
                                .collect();
                            Some(String::from_utf16_lossy(&units).into_bytes())
                        }
                        _ => None,
                    };
                }
                pos = pos.checked_add(4 + n.checked_next_multiple_of(4)?)?;
            } else {
                pos += match base {
                    0x0001..=0x0004 | 0x000A | 0x000B => 4,
                    0x0005..=0x0007 | 0x0014 | 0x0040 => 8,
                    0x0048 => 16,
                    _ => return None,
                };
            }
            if pos > b.len() {
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use super::*;

    fn attr(out: &mut Vec<u8>, level: u8, id: u32, value: &[u8]) {
        out.push(level);
        out.extend(id.to_le_bytes());
        out.extend((value.len() as u32).to_le_bytes());
        out.extend(value);
        let sum = value
            .iter()
            .fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        out.extend(sum.to_le_bytes());
    }

    fn stream() -> Vec<u8> {
        let mut t = SIGNATURE.to_le_bytes().to_vec();
        t.extend(0x1234u16.to_le_bytes());
        attr(&mut t, 1, 0x0008_9006, &[1, 0, 0, 0]); // attTnefVersion-ish
        attr(&mut t, 1, 0x0001_8004, b"Subject\0");
        // Attachment 1: title and data.
        attr(&mut t, 2, 0x0006_9002, &[0u8; 14]);
        attr(&mut t, 2, 0x0001_8010, b"REPORT~1.EXE\0");
        attr(&mut t, 2, 0x0006_800F, b"MZ first attachment");
        // MAPI block with a long Unicode file name.
        let mut mapi = 2u32.to_le_bytes().to_vec();
        mapi.extend(0x0003u16.to_le_bytes()); // PT_LONG
        mapi.extend(0x0E20u16.to_le_bytes());
        mapi.extend(19u32.to_le_bytes());
        mapi.extend(PT_UNICODE.to_le_bytes());
        mapi.extend(PR_ATTACH_LONG_FILENAME.to_le_bytes());
        mapi.extend(1u32.to_le_bytes());
        let name: Vec<u8> = "report quarterly.exe\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        mapi.extend((name.len() as u32).to_le_bytes());
        mapi.extend(&name);
        mapi.resize(mapi.len().next_multiple_of(4), 0);
        attr(&mut t, 2, 0x0006_9005, &mapi);
        // Attachment 2: title only before the data.
        attr(&mut t, 2, 0x0006_9002, &[0u8; 14]);
        attr(&mut t, 2, 0x0001_8010, b"notes.txt\0");
        attr(&mut t, 2, 0x0006_800F, b"second");
        t
    }

    #[test]
    fn attachments_with_names() {
        let (got, out) = collect(Kind::Tnef, &stream(), &roomy());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, b"report quarterly.exe");
        assert_eq!(got[0].3, b"MZ first attachment");
        assert_eq!(got[1].0, b"notes.txt");
        assert_eq!(got[1].3, b"second");
        assert_eq!((got[0].1, got[1].1), (1, 2));
        assert!(!out.corrupt && out.limit.is_none());
        assert_eq!(out.members, 2);
    }

    #[test]
    fn checksum_mismatch_is_corrupt() {
        let mut t = stream();
        let at = memchr::memmem::find(&t, b"second").unwrap();
        t[at] = b'S';
        let (got, out) = collect(Kind::Tnef, &t, &roomy());
        assert!(out.corrupt);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].3, b"Second");
    }

    #[test]
    fn truncation_never_panics() {
        let t = stream();
        for cut in 0..t.len() {
            // A cut on an attribute boundary is a shorter valid stream.
            let (got, _) = collect(Kind::Tnef, &t[..cut], &roomy());
            assert!(got.len() <= 2);
            if let Some(g) = got.first() {
                assert!(b"MZ first attachment".starts_with(&g.3), "cut {cut}");
            }
        }
    }

    #[test]
    fn bounds() {
        let b = Bounds {
            max_members: 1,
            ..roomy()
        };
        let (got, out) = collect(Kind::Tnef, &stream(), &b);
        assert_eq!(got.len(), 1);
        assert_eq!(out.limit, Some(LimitHit::Members));
        let b = Bounds {
            max_member_size: 4,
            ..roomy()
        };
        let (got, out) = collect(Kind::Tnef, &stream(), &b);
        assert_eq!(got[0].3, b"MZ f");
        assert_eq!(out.limit, Some(LimitHit::MemberSize));
        let b = Bounds {
            max_total: 4,
            ..roomy()
        };
        let (got, out) = collect(Kind::Tnef, &stream(), &b);
        assert_eq!(got.len(), 1);
        assert_eq!(out.limit, Some(LimitHit::Total));
    }

    #[test]
    fn not_tnef() {
        let (got, out) = collect(Kind::Tnef, b"hello", &roomy());
        assert!(got.is_empty() && out.corrupt);
    }
}
