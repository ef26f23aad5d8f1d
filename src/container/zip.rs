//! PKZIP.
//!
//! A zip file says what it holds twice: each member has a local header in
//! front of its data, and the central directory at the end lists every
//! member again with its sizes and the offset of its local header. Unzip
//! tools trust the central directory, so we do too: it is where a member's
//! compressed size is reliable even when the local header defers it to a
//! data descriptor, and it is the list the recipient's tool will show.
//!
//! When the end-of-central-directory record is missing (a truncated
//! download, a zip cut by a size limit upstream) or the directory it points
//! at is not there, we fall back to walking local headers from the front,
//! the way `jar` and streaming readers do, and mark the container
//! [`Outcome::corrupt`]. Data-descriptor members are then delimited by
//! inflating them (deflate knows where it ends) or, for stored members, by
//! the next zip signature.
//!
//! Details:
//!
//! - Methods: stored (0) and deflate (8) are expanded. Any other method is
//!   visited with empty data and counted in [`Outcome::unsupported`].
//! - Encrypted members (general-purpose flag bit 0, which AES members set
//!   too) are visited with empty data and `encrypted: true`, and
//!   [`Outcome::encrypted`] is set.
//! - ZIP64: the ZIP64 end-of-directory record and the ZIP64 extra field are
//!   read, so sizes and offsets past 4 GiB are taken as written.
//! - Data prepended to the archive (self-extractors, a zip glued to an
//!   image) shifts every offset; we detect the shift from the directory's
//!   true position and correct for it.
//! - Overlapping members, the trick behind non-recursive zip bombs, set
//!   [`Outcome::overlapping`]; a member whose bytes overlap an earlier one
//!   (in file order) is neither expanded nor visited.
//! - A CRC-32 mismatch on a fully expanded member sets `corrupt`.
//! - Names are the stored bytes (CP437 or UTF-8; the scanner decides).

use memchr::memmem;

use super::{Bounds, Budget, Codec, End, LimitHit, Member, Outcome, expand, u16le, u32le, u64le};

const LOCAL: &[u8; 4] = b"PK\x03\x04";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const EOCD: &[u8; 4] = b"PK\x05\x06";
const EOCD64: &[u8; 4] = b"PK\x06\x06";
const LOCATOR64: &[u8; 4] = b"PK\x06\x07";
const DESCRIPTOR: &[u8; 4] = b"PK\x07\x08";

const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;

const STORED: u16 = 0;
const DEFLATE: u16 = 8;

/// One member as a header describes it.
#[derive(Debug, Clone, Copy)]
struct Entry<'d> {
    name: &'d [u8],
    flags: u16,
    method: u16,
    crc: u32,
    csize: u64,
    size: u64,
    /// Offset of the local header (prefix shift applied).
    local: u64,
}

/// Reads the ZIP64 extra field (id 1) in `extra`, replacing whichever of
/// the three values were saturated, in the order the format fixes.
fn zip64_extra(extra: &[u8], size: &mut u64, csize: &mut u64, local: Option<&mut u64>) {
    let mut pos = 0;
    while let (Some(id), Some(len)) = (u16le(extra, pos), u16le(extra, pos + 2)) {
        let body = pos + 4;
        let end = body + len as usize;
        if end > extra.len() {
            return;
        }
        if id == 1 {
            let mut at = body;
            let mut next = |v: &mut u64| {
                if *v == 0xFFFF_FFFF
                    && at + 8 <= end
                    && let Some(x) = u64le(extra, at)
                {
                    *v = x;
                    at += 8;
                }
            };
            next(size);
            next(csize);
            if let Some(l) = local {
                next(l);
            }
            return;
        }
        pos = end;
    }
}

/// Finds the end-of-central-directory record: the last `PK\5\6` in the
/// final 64 KiB + 22 bytes whose comment length fits the file.
fn find_eocd(data: &[u8]) -> Option<usize> {
    let from = data.len().saturating_sub(0xFFFF + 22);
    let tail = &data[from..];
    let mut end = tail.len();
    while let Some(i) = memmem::rfind(&tail[..end], EOCD) {
        let at = from + i;
        if let Some(clen) = u16le(data, at + 20)
            && at + 22 + clen as usize <= data.len()
        {
            return Some(at);
        }
        end = i;
    }
    None
}

/// Reads the central directory: up to `want` entries (more are not
/// needed), and whether the directory was damaged part-way. `None` when
/// there is no usable directory at all.
fn central(data: &[u8], want: usize) -> Option<(Vec<Entry<'_>>, bool)> {
    let eocd = find_eocd(data)?;
    let mut count = u64::from(u16le(data, eocd + 10)?);
    let mut cd_size = u64::from(u32le(data, eocd + 12)?);
    let mut cd_off = u64::from(u32le(data, eocd + 16)?);
    // Where the directory really ends: just before the (ZIP64) end record.
    let mut dir_end = eocd as u64;
    if (count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF)
        && eocd >= 20
        && data[eocd - 20..].starts_with(LOCATOR64)
        && let Some(rec) = u64le(data, eocd - 20 + 8)
        && let Ok(rec_at) = usize::try_from(rec)
        && data.get(rec_at..).is_some_and(|d| d.starts_with(EOCD64))
    {
        count = u64le(data, rec_at + 32)?;
        cd_size = u64le(data, rec_at + 40)?;
        cd_off = u64le(data, rec_at + 48)?;
        dir_end = rec_at as u64;
    }
    let at = |off: u64| {
        usize::try_from(off)
            .ok()
            .and_then(|o| data.get(o..))
            .is_some_and(|d| d.starts_with(CENTRAL))
    };
    // Prefix shift: the directory sits where its size says, not where
    // its offset says, when something was prepended.
    let shift = if at(cd_off) {
        0
    } else {
        let real = dir_end.checked_sub(cd_size)?;
        if real > cd_off && at(real) {
            real - cd_off
        } else if count == 0 && cd_size == 0 {
            return Some((Vec::new(), false));
        } else {
            return None;
        }
    };
    let mut pos = (cd_off + shift) as usize;
    let mut out = Vec::new();
    let mut damaged = false;
    while out.len() < want {
        // The count may have wrapped (more than 65535 members without
        // ZIP64), so entries are read while the signature is there.
        if !data[pos..].starts_with(CENTRAL) {
            damaged = (out.len() as u64) < count;
            break;
        }
        let fixed = || -> Option<(Entry<'_>, usize)> {
            let flags = u16le(data, pos + 8)?;
            let method = u16le(data, pos + 10)?;
            let crc = u32le(data, pos + 16)?;
            let mut csize = u64::from(u32le(data, pos + 20)?);
            let mut size = u64::from(u32le(data, pos + 24)?);
            let nlen = u16le(data, pos + 28)? as usize;
            let xlen = u16le(data, pos + 30)? as usize;
            let clen = u16le(data, pos + 32)? as usize;
            let mut local = u64::from(u32le(data, pos + 42)?);
            let name = data.get(pos + 46..pos + 46 + nlen)?;
            let extra = data.get(pos + 46 + nlen..pos + 46 + nlen + xlen)?;
            zip64_extra(extra, &mut size, &mut csize, Some(&mut local));
            let next = pos + 46 + nlen + xlen + clen;
            if next > data.len() {
                return None;
            }
            let e = Entry {
                name,
                flags,
                method,
                crc,
                csize,
                size,
                local: local.checked_add(shift)?,
            };
            Some((e, next))
        };
        match fixed() {
            Some((e, next)) => {
                out.push(e);
                pos = next;
            }
            None => {
                damaged = true;
                break;
            }
        }
    }
    if out.is_empty() && count > 0 {
        return None;
    }
    Some((out, damaged))
}

/// Where a member's data starts, from its local header at `e.local`.
fn data_start(data: &[u8], local: u64) -> Option<usize> {
    let at = usize::try_from(local).ok()?;
    if !data.get(at..)?.starts_with(LOCAL) {
        return None;
    }
    let nlen = u16le(data, at + 26)? as usize;
    let xlen = u16le(data, at + 28)? as usize;
    let start = at + 30 + nlen + xlen;
    (start <= data.len()).then_some(start)
}

/// What to do after a member.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// The walk's state.
struct Walker<'a, 'v> {
    budget: Budget<'a>,
    scratch: &'a mut Vec<u8>,
    visit: &'v mut dyn FnMut(&Member<'_>, &[u8]),
}

impl Walker<'_, '_> {
    /// Expands and visits one member whose compressed bytes start `comp`
    /// (`comp` may run past the member when its size is unknown: deflate
    /// finds its own end). `ratio_base` is the compressed size for the
    /// ratio check. Returns the flow, the input consumed (meaningful for
    /// deflate) and whether the member's data ended cleanly.
    fn member(&mut self, e: &Entry<'_>, comp: &[u8], ratio_base: u64) -> (Flow, usize, bool) {
        let Some(position) = self.budget.next_position() else {
            return (Flow::Stop, 0, false);
        };
        let mut m = Member {
            name: e.name,
            position,
            compressed_size: e.csize,
            size: e.size,
            encrypted: false,
        };
        if e.flags & FLAG_ENCRYPTED != 0 {
            m.encrypted = true;
            self.budget.out.encrypted = true;
            (self.visit)(&m, &[]);
            return (Flow::Go, comp.len(), true);
        }
        match e.method {
            STORED => {
                let (bytes, stop) = self.budget.take(comp);
                if bytes.len() == comp.len() {
                    let mut c = flate2::Crc::new();
                    c.update(bytes);
                    if c.sum() != e.crc {
                        self.budget.out.corrupt = true;
                    }
                }
                (self.visit)(&m, bytes);
                let flow = if stop { Flow::Stop } else { Flow::Go };
                (flow, comp.len(), true)
            }
            DEFLATE => {
                self.scratch.clear();
                let cap = self.budget.cap();
                let mut codec = Codec::deflate();
                let (used, end) = expand(
                    &mut codec,
                    comp,
                    ratio_base,
                    self.scratch,
                    cap,
                    &self.budget,
                );
                self.budget.out.expanded += self.scratch.len() as u64;
                let mut flow = Flow::Go;
                let mut clean = false;
                match end {
                    End::Complete => {
                        clean = true;
                        let mut c = flate2::Crc::new();
                        c.update(self.scratch);
                        if c.sum() != e.crc {
                            self.budget.out.corrupt = true;
                        }
                    }
                    End::Damaged => self.budget.out.corrupt = true,
                    End::Limit(hit) => {
                        self.budget.hit(hit);
                        if hit != LimitHit::MemberSize {
                            flow = Flow::Stop;
                        }
                    }
                }
                (self.visit)(&m, self.scratch);
                (flow, used, clean)
            }
            _ => {
                self.budget.out.unsupported += 1;
                (self.visit)(&m, &[]);
                (Flow::Go, comp.len(), true)
            }
        }
    }

    /// Walks the entries the central directory listed.
    fn walk_central(&mut self, data: &[u8], entries: &[Entry<'_>]) {
        // Spans (local header to end of data) in file order, to find
        // members sharing bytes.
        let mut spans: Vec<(u64, u64, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let start = data_start(data, e.local).map_or(e.local, |s| s as u64);
                (e.local, start.saturating_add(e.csize), i)
            })
            .collect();
        spans.sort_unstable();
        let mut skip = vec![false; entries.len()];
        let mut reach = 0u64;
        for (k, &(start, end, i)) in spans.iter().enumerate() {
            if k > 0 && start < reach {
                skip[i] = true;
                self.budget.out.overlapping = true;
            }
            reach = reach.max(end);
        }
        for (i, e) in entries.iter().enumerate() {
            if skip[i] {
                continue;
            }
            if self.budget.stopped() {
                break;
            }
            let Some(start) = data_start(data, e.local) else {
                self.budget.out.corrupt = true;
                continue;
            };
            let end = usize::try_from(e.csize)
                .ok()
                .and_then(|c| start.checked_add(c))
                .unwrap_or(usize::MAX);
            if end > data.len() {
                self.budget.out.corrupt = true;
            }
            let comp = &data[start..end.min(data.len())];
            if self.member(e, comp, comp.len() as u64).0 == Flow::Stop {
                break;
            }
        }
    }

    /// Walks local headers from the front (no usable central directory).
    fn walk_local(&mut self, data: &[u8]) {
        let mut pos = match memmem::find(data, LOCAL) {
            Some(p) => p,
            None => return,
        };
        loop {
            let Some(e) = local_entry(data, pos) else {
                self.budget.out.corrupt = true;
                return;
            };
            let start = data_start(data, pos as u64).unwrap_or(data.len());
            let known = e.flags & FLAG_DESCRIPTOR == 0 || e.csize != 0;
            let deflated = e.method == DEFLATE && e.flags & FLAG_ENCRYPTED == 0;
            let next_from;
            if known {
                let end = usize::try_from(e.csize)
                    .ok()
                    .and_then(|c| start.checked_add(c))
                    .unwrap_or(usize::MAX);
                if end > data.len() {
                    self.budget.out.corrupt = true;
                }
                let end = end.min(data.len());
                let comp = &data[start..end];
                if self.member(&e, comp, comp.len() as u64).0 == Flow::Stop {
                    return;
                }
                next_from = end;
            } else if deflated {
                let rest = &data[start..];
                let (flow, used, _) = self.member(&e, rest, rest.len() as u64);
                if flow == Flow::Stop {
                    return;
                }
                // Even a damaged stream is skipped as far as it was read,
                // so no byte is inflated twice.
                next_from = start + used;
            } else {
                // Stored (or encrypted, or another method) with its size
                // deferred: the data runs to the next zip signature.
                let end = next_signature(data, start).unwrap_or(data.len());
                let mut e = e;
                e.csize = (end - start) as u64;
                if self.member(&e, &data[start..end], e.csize).0 == Flow::Stop {
                    return;
                }
                next_from = end;
            }
            match memmem::find(&data[next_from..], LOCAL) {
                Some(p) => pos = next_from + p,
                None => return,
            }
            if self.budget.stopped() {
                return;
            }
        }
    }
}

/// The first `PK\3\4`, `PK\1\2` or `PK\7\8` at or after `from`.
fn next_signature(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = memmem::find(&data[at..], b"PK") {
        let p = at + i;
        match data.get(p..p + 4) {
            Some(sig) if sig == LOCAL || sig == CENTRAL || sig == DESCRIPTOR => return Some(p),
            Some(_) => at = p + 1,
            None => return None,
        }
    }
    None
}

/// Reads the local header at `pos`.
fn local_entry(data: &[u8], pos: usize) -> Option<Entry<'_>> {
    if !data.get(pos..)?.starts_with(LOCAL) {
        return None;
    }
    let flags = u16le(data, pos + 6)?;
    let method = u16le(data, pos + 8)?;
    let crc = u32le(data, pos + 14)?;
    let mut csize = u64::from(u32le(data, pos + 18)?);
    let mut size = u64::from(u32le(data, pos + 22)?);
    let nlen = u16le(data, pos + 26)? as usize;
    let xlen = u16le(data, pos + 28)? as usize;
    let name = data.get(pos + 30..pos + 30 + nlen)?;
    let extra = data.get(pos + 30 + nlen..pos + 30 + nlen + xlen)?;
    zip64_extra(extra, &mut size, &mut csize, None);
    Some(Entry {
        name,
        flags,
        method,
        crc,
        csize,
        size,
        local: pos as u64,
    })
}

/// Walks a zip archive.
pub(crate) fn walk(
    data: &[u8],
    bounds: &Bounds,
    scratch: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    let mut w = Walker {
        budget: Budget::new(bounds),
        scratch,
        visit,
    };
    // One entry past the member bound, so that the bound is recorded
    // only when a member is really left out.
    let want = bounds.max_members.saturating_add(1);
    match central(data, want) {
        Some((entries, damaged)) => {
            if damaged {
                w.budget.out.corrupt = true;
            }
            w.walk_central(data, &entries);
        }
        None => {
            w.budget.out.corrupt = true;
            w.walk_local(data);
        }
    }
    w.budget.out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use proptest::prelude::*;
    use std::io::Write;

    /// How the test writer stores one member.
    #[derive(Clone)]
    struct Spec {
        name: Vec<u8>,
        body: Vec<u8>,
        method: u16,
        encrypted: bool,
        descriptor: bool,
    }

    fn spec(name: &str, body: &[u8], method: u16) -> Spec {
        Spec {
            name: name.as_bytes().to_vec(),
            body: body.to_vec(),
            method,
            encrypted: false,
            descriptor: false,
        }
    }

    fn crc(b: &[u8]) -> u32 {
        let mut c = flate2::Crc::new();
        c.update(b);
        c.sum()
    }

    /// A small zip writer: local headers, data, optional descriptors,
    /// optional central directory, `prefix` bytes in front.
    fn write_zip(specs: &[Spec], central: bool, prefix: &[u8]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        let mut cd = Vec::new();
        for s in specs {
            let comp = match s.method {
                8 => {
                    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
                    e.write_all(&s.body).unwrap();
                    e.finish().unwrap()
                }
                _ => s.body.clone(),
            };
            let flags = u16::from(s.encrypted) | if s.descriptor { 8 } else { 0 };
            let (hc, hs, hu) = if s.descriptor {
                (0, 0, 0)
            } else {
                (crc(&s.body), comp.len() as u32, s.body.len() as u32)
            };
            let local = (out.len() - prefix.len()) as u32;
            out.extend(LOCAL);
            out.extend(20u16.to_le_bytes());
            out.extend(flags.to_le_bytes());
            out.extend(s.method.to_le_bytes());
            out.extend([0u8; 4]);
            out.extend(hc.to_le_bytes());
            out.extend(hs.to_le_bytes());
            out.extend(hu.to_le_bytes());
            out.extend((s.name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(&s.name);
            out.extend(&comp);
            if s.descriptor {
                out.extend(DESCRIPTOR);
                out.extend(crc(&s.body).to_le_bytes());
                out.extend((comp.len() as u32).to_le_bytes());
                out.extend((s.body.len() as u32).to_le_bytes());
            }
            cd.extend(CENTRAL);
            cd.extend(20u16.to_le_bytes());
            cd.extend(20u16.to_le_bytes());
            cd.extend(flags.to_le_bytes());
            cd.extend(s.method.to_le_bytes());
            cd.extend([0u8; 4]);
            cd.extend(crc(&s.body).to_le_bytes());
            cd.extend((comp.len() as u32).to_le_bytes());
            cd.extend((s.body.len() as u32).to_le_bytes());
            cd.extend((s.name.len() as u16).to_le_bytes());
            cd.extend([0u8; 12]);
            cd.extend(local.to_le_bytes());
            cd.extend(&s.name);
        }
        if central {
            let cd_off = (out.len() - prefix.len()) as u32;
            out.extend(&cd);
            out.extend(EOCD);
            out.extend([0u8; 4]);
            out.extend((specs.len() as u16).to_le_bytes());
            out.extend((specs.len() as u16).to_le_bytes());
            out.extend((cd.len() as u32).to_le_bytes());
            out.extend(cd_off.to_le_bytes());
            out.extend(0u16.to_le_bytes());
        }
        out
    }

    fn sample() -> Vec<Spec> {
        vec![
            spec("readme.txt", b"plain stored text", 0),
            spec("dir/", b"", 0),
            spec("payload.exe", &b"MZ deflated payload ".repeat(50), 8),
        ]
    }

    fn check_sample(got: &[(Vec<u8>, usize, bool, Vec<u8>)]) {
        let s = sample();
        assert_eq!(got.len(), 3);
        for (i, (g, s)) in got.iter().zip(&s).enumerate() {
            assert_eq!(g.0, s.name);
            assert_eq!(g.1, i + 1);
            assert!(!g.2);
            assert_eq!(g.3, s.body);
        }
    }

    #[test]
    fn round_trip_central() {
        let data = write_zip(&sample(), true, b"");
        let (got, out) = collect(Kind::Zip, &data, &roomy());
        check_sample(&got);
        assert!(!out.corrupt && !out.encrypted && !out.overlapping);
        assert_eq!(out.members, 3);
        assert_eq!(out.expanded, 17 + 1000);
        assert_eq!(out.limit, None);
    }

    #[test]
    fn round_trip_with_prefix() {
        let data = write_zip(&sample(), true, b"MZ self-extractor stub here");
        let (got, out) = collect(Kind::Zip, &data, &roomy());
        check_sample(&got);
        assert!(!out.corrupt);
    }

    #[test]
    fn local_headers_when_no_directory() {
        let data = write_zip(&sample(), false, b"");
        let (got, out) = collect(Kind::Zip, &data, &roomy());
        check_sample(&got);
        assert!(out.corrupt);
    }

    #[test]
    fn data_descriptors() {
        let mut specs = sample();
        for s in &mut specs {
            s.descriptor = true;
        }
        for central in [true, false] {
            let data = write_zip(&specs, central, b"");
            let (got, out) = collect(Kind::Zip, &data, &roomy());
            check_sample(&got);
            assert_eq!(out.corrupt, !central);
        }
    }

    #[test]
    fn encrypted_and_unsupported() {
        let mut specs = sample();
        specs[0].encrypted = true;
        specs[1].method = 12; // bzip2-in-zip
        specs[1].body = b"whatever".to_vec();
        let data = write_zip(&specs, true, b"");
        let (got, out) = collect(Kind::Zip, &data, &roomy());
        assert_eq!(got.len(), 3);
        assert!(got[0].2 && got[0].3.is_empty());
        assert!(!got[1].2 && got[1].3.is_empty());
        assert_eq!(got[2].3, specs[2].body);
        assert!(out.encrypted);
        assert_eq!(out.unsupported, 1);
    }

    #[test]
    fn corrupted_member_is_flagged() {
        let data = write_zip(&sample(), true, b"");
        let mut bad = data.clone();
        // Flip a byte of the stored member's data: CRC mismatch.
        let at = memmem::find(&bad, b"plain").unwrap();
        bad[at] ^= 0x20;
        let (got, out) = collect(Kind::Zip, &bad, &roomy());
        assert_eq!(got.len(), 3);
        assert!(out.corrupt);
    }

    #[test]
    fn every_truncation_is_safe() {
        let data = write_zip(&sample(), true, b"");
        for cut in 0..data.len() {
            let (got, out) = collect(Kind::Zip, &data[..cut], &roomy());
            assert!(out.corrupt || got.is_empty(), "cut {cut}");
            for (g, s) in got.iter().zip(sample()) {
                assert!(s.body.starts_with(&g.3), "cut {cut}");
            }
        }
    }

    #[test]
    fn members_bound() {
        let specs: Vec<Spec> = (0..10).map(|i| spec(&format!("f{i}"), b"x", 0)).collect();
        let data = write_zip(&specs, true, b"");
        let b = Bounds {
            max_members: 4,
            ..roomy()
        };
        let (got, out) = collect(Kind::Zip, &data, &b);
        assert_eq!(got.len(), 4);
        assert_eq!(out.limit, Some(LimitHit::Members));
        let b = Bounds {
            max_members: 10,
            ..roomy()
        };
        let (got, out) = collect(Kind::Zip, &data, &b);
        assert_eq!(got.len(), 10);
        assert_eq!(out.limit, None);
    }

    #[test]
    fn member_size_and_total_bounds() {
        let specs = vec![
            spec("a", &[1u8; 5000], 0),
            spec("b", &[2u8; 5000], 8),
            spec("c", &[3u8; 5000], 8),
        ];
        let data = write_zip(&specs, true, b"");
        let b = Bounds {
            max_member_size: 1000,
            ..roomy()
        };
        let (got, out) = collect(Kind::Zip, &data, &b);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|g| g.3.len() == 1000));
        assert_eq!(out.limit, Some(LimitHit::MemberSize));
        assert_eq!(out.expanded, 3000);
        let b = Bounds {
            max_total: 7000,
            ..roomy()
        };
        let (got, out) = collect(Kind::Zip, &data, &b);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].3.len(), 2000);
        assert_eq!(out.limit, Some(LimitHit::Total));
        assert_eq!(out.expanded, 7000);
    }

    #[test]
    fn ratio_bound_fifty_mib_of_zeros() {
        let specs = vec![
            spec("zeros.bin", &vec![0u8; 50 << 20], 8),
            spec("after", b"x", 0),
        ];
        let data = write_zip(&specs, true, b"");
        let (got, out) = collect(
            Kind::Zip,
            &data,
            &Bounds::from_limits(&crate::Limits::default()),
        );
        assert_eq!(out.limit, Some(LimitHit::Ratio));
        assert_eq!(got.len(), 1);
        assert!(got[0].3.len() < 50 << 20);
    }

    #[test]
    fn overlapping_members() {
        // Two directory entries pointing at the same local header.
        let data = write_zip(&[spec("a", b"shared", 0)], true, b"");
        let cd = memmem::find(&data, CENTRAL).unwrap();
        let eocd = memmem::find(&data, EOCD).unwrap();
        let entry = data[cd..eocd].to_vec();
        let mut z = data[..eocd].to_vec();
        z.extend(&entry);
        z.extend(EOCD);
        z.extend([0u8; 4]);
        z.extend(2u16.to_le_bytes());
        z.extend(2u16.to_le_bytes());
        z.extend((2 * entry.len() as u32).to_le_bytes());
        z.extend((cd as u32).to_le_bytes());
        z.extend(0u16.to_le_bytes());
        let (got, out) = collect(Kind::Zip, &z, &roomy());
        assert!(out.overlapping);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn zip64_extra_is_read() {
        let mut size = 0xFFFF_FFFFu64;
        let mut csize = 0xFFFF_FFFFu64;
        let mut local = 7u64;
        let mut extra = vec![1, 0, 16, 0];
        extra.extend(5_000_000_000u64.to_le_bytes());
        extra.extend(4_000_000_000u64.to_le_bytes());
        zip64_extra(&extra, &mut size, &mut csize, Some(&mut local));
        assert_eq!((size, csize, local), (5_000_000_000, 4_000_000_000, 7));
    }

    #[test]
    fn garbage_never_panics() {
        for data in [
            &b""[..],
            b"PK",
            b"PK\x03\x04",
            b"PK\x05\x06",
            b"PK\x01\x02xxxxPK\x05\x06",
        ] {
            let _ = collect(Kind::Zip, data, &roomy());
        }
    }

    /// Written by Python's `zipfile` to a non-seekable stream: deflate
    /// members with data descriptors and zero sizes in the local headers.
    const PYTHON_STREAMED: &[&str] = &[
        "504b0304140008000800000021000000000000000000000000000f000000646f",
        "63732f726561646d652e7478742b2e294a4dcc4d4d51005229b9a95cc524f201",
        "504b07082d9b91901300000040000000504b0304140008000800000021000000",
        "000000000000000000000700000072756e2e62617473484dcec857c84f4be3e5",
        "0200504b0708e030bd8a0d0000000b000000504b010214031400080008000000",
        "21002d9b919013000000400000000f0000000000000000000000800100000000",
        "646f63732f726561646d652e747874504b0102140314000800080000002100e0",
        "30bd8a0d0000000b00000007000000000000000000000080015000000072756e",
        "2e626174504b0506000000000200020072000000920000000000",
    ];

    fn unhex(parts: &[&str]) -> Vec<u8> {
        let h: String = parts.concat();
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn real_streamed_zip() {
        let data = unhex(PYTHON_STREAMED);
        let want: [(&[u8], Vec<u8>); 2] = [
            (b"docs/readme.txt", b"streamed readme\n".repeat(4)),
            (b"run.bat", b"@echo off\r\n".to_vec()),
        ];
        // Through the directory, and through local headers alone.
        let cd = memmem::find(&data, CENTRAL).unwrap();
        for (d, corrupt) in [(&data[..], false), (&data[..cd], true)] {
            let (got, out) = collect(Kind::Zip, d, &roomy());
            assert_eq!(out.corrupt, corrupt);
            assert_eq!(got.len(), 2);
            for (g, (name, body)) in got.iter().zip(&want) {
                assert_eq!(&g.0[..], *name);
                assert_eq!(&g.3, body);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_members_round_trip(
            members in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 0..300), any::<bool>(), any::<bool>()),
                0..6,
            ),
            cut in any::<prop::sample::Index>(),
        ) {
            let specs: Vec<Spec> = members
                .iter()
                .enumerate()
                .map(|(i, (body, deflate, descriptor))| Spec {
                    name: format!("m{i}").into_bytes(),
                    body: body.clone(),
                    method: if *deflate { 8 } else { 0 },
                    encrypted: false,
                    descriptor: *descriptor,
                })
                .collect();
            let data = write_zip(&specs, true, b"");
            let (got, out) = collect(Kind::Zip, &data, &roomy());
            prop_assert!(!out.corrupt);
            prop_assert_eq!(got.len(), specs.len());
            for (g, s) in got.iter().zip(&specs) {
                prop_assert_eq!(&g.0, &s.name);
                prop_assert_eq!(&g.3, &s.body);
            }
            let cut = cut.index(data.len() + 1);
            let _ = collect(Kind::Zip, &data[..cut], &roomy());
        }
    }
}
