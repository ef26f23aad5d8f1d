//! SpamAssassin's ImageInfo tests: how many GIF, PNG and JPEG images a
//! message carries, how many pixels they cover, and how much text comes
//! with them.
//!
//! Image spam of the mid-2000s put its pitch in a picture, with a few
//! lines of random text to confuse the text tests. The stock rules look
//! for one large GIF or PNG and little text beside it:
//!
//! ```text
//! body  __GIF_ATTACH_1      eval:image_count('gif','1','1')
//! body  __GIF_AREA_180K     eval:pixel_coverage('gif','180000','475000')
//! body  __DC_IMG_TEXT_RATIO eval:image_to_text_ratio('all', '0.000', '0.008')
//! meta  DC_GIF_UNO_LARGO    ( __GIF_ATTACH_1 && __GIF_AREA_180K )
//! ```
//!
//! As in SpamAssassin, an image is a leaf whose type is image/gif,
//! image/png or image/jpeg (or image/jpg) sent base64. Each such part
//! counts, and its size is read from its first bytes: the logical screen
//! of a GIF, the IHDR chunk of a PNG, the first start-of-frame marker of a
//! JPEG. The type `all` sums the three. The size readers keep the
//! plugin's habits, so the answers agree: a PNG's chunks are looked for
//! every eight bytes, and a JPEG's markers are followed until the start of
//! the scan.
//!
//! * `image_count(TYPE, MIN[, MAX])`: the number of images, in `[MIN, MAX]`.
//! * `pixel_coverage(TYPE, MIN[, MAX])`: their pixels, in `[MIN, MAX]`.
//! * `image_to_text_ratio(TYPE, MIN, MAX)`: characters of body text (the
//!   raw text for a `rawbody` rule) per pixel, in `[MIN, MAX)`.
//! * `image_size_exact(TYPE, HEIGHT, WIDTH)`, `image_size_range(TYPE,
//!   MINH, MINW[, MAXH, MAXW])`: an image of that size.
//! * `image_named(NAME)`, `image_name_regex(REGEX)`: an image whose size
//!   could be read has that file name.
//!
//! ```
//! use filter::spam::evals::image_size;
//!
//! let mut gif = b"GIF89a".to_vec();
//! gif.extend_from_slice(&[0x20, 0x03, 0x58, 0x02, 0xf7, 0, 0]); // 800 x 600
//! assert_eq!(image_size("gif", &gif), Some((600, 800)));
//! assert_eq!(image_size("png", &gif), None);
//! ```

use super::header::arg_f;
use super::mime::{part_header, sa_parts};
use super::{Args, EvalCtx};
use crate::decode::Encoding;
use crate::defect::Defects;
use crate::mime::{Message, PartKind};

/// The image types, in the order of the counters.
const TYPES: [&str; 3] = ["gif", "png", "jpeg"];

/// What ImageInfo's `_get_images` works out for a message.
#[derive(Debug, Default)]
pub(crate) struct Images {
    /// Per type: the base64 parts of that type.
    count: [u64; 3],
    /// Per type: the pixels of those whose size could be read.
    area: [f64; 3],
    /// Type, height and width of the images whose sizes could be read,
    /// each distinct one once.
    sizes: Vec<(usize, u64, u64)>,
    /// The file names of those images.
    names: Vec<String>,
}

/// `TYPE` as the tests read it: `Some(None)` for `all`, `Some(Some(i))`
/// for one of [`TYPES`]; `None` for any other, which never hits.
fn type_of(t: &str) -> Option<Option<usize>> {
    match t {
        "all" => Some(None),
        _ => TYPES.iter().position(|&k| k == t).map(Some),
    }
}

impl Images {
    fn of(msg: &Message<'_>) -> Images {
        let mut images = Images::default();
        let mut data = Vec::new();
        for (_, p) in sa_parts(msg) {
            if p.kind != PartKind::Leaf {
                continue;
            }
            let ty = p.content_type();
            let Some(kind) = ty.strip_prefix("image/").and_then(|s| match s {
                "gif" => Some(0),
                "png" => Some(1),
                "jpeg" | "jpg" => Some(2),
                _ => None,
            }) else {
                continue;
            };
            if part_header(msg, p, "content-transfer-encoding") != "base64" {
                continue;
            }
            images.count[kind] += 1;
            if let Some((h, w)) = base64_image_size(TYPES[kind], msg.body(p), &mut data) {
                images.area[kind] += (h * w) as f64;
                images.sizes.push((kind, h, w));
                if let Some(name) = msg.filename(p).filter(|n| !n.is_empty()) {
                    images.names.push(name.into_owned());
                }
            }
        }
        // Distinct sizes: the tests ask whether any image has one.
        images.sizes.sort_unstable();
        images.sizes.dedup();
        images
    }

    fn count(&self, t: Option<usize>) -> u64 {
        t.map_or(self.count.iter().sum(), |i| self.count[i])
    }

    fn area(&self, t: Option<usize>) -> f64 {
        t.map_or(self.area.iter().sum(), |i| self.area[i])
    }

    /// The sizes (height, width) of type `t` (every type for `None`).
    fn sizes(&self, t: Option<usize>) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.sizes
            .iter()
            .filter(move |s| t.is_none_or(|i| s.0 == i))
            .map(|s| (s.1, s.2))
    }
}

/// The height and width of an image of type `gif`, `png` or `jpeg` whose
/// bytes start `data`, read as SpamAssassin's ImageInfo reads them; `None`
/// when they cannot be read or one is zero.
pub fn image_size(kind: &str, data: &[u8]) -> Option<(u64, u64)> {
    read_size(kind, data, true).unwrap_or(None)
}

/// The answer depends on bytes past the end of a prefix.
#[derive(Debug, PartialEq, Eq)]
struct More;

/// [`image_size`] of an image whose first bytes are `data`: all of it when
/// `complete`, and otherwise a prefix, where [`More`] says that the answer
/// depends on what follows. An answer given for a prefix is the answer for
/// every image that starts with it: each reader asks for more whenever the
/// full-image reading would look past the prefix.
fn read_size(kind: &str, data: &[u8], complete: bool) -> Result<Option<(u64, u64)>, More> {
    // Bytes up to `end` are there, or the image has no more.
    let need = |end: usize| {
        if complete || end <= data.len() {
            Ok(())
        } else {
            Err(More)
        }
    };
    let be16 = |i: usize| -> Option<u64> {
        Some(u64::from(u16::from_be_bytes(
            data.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    let be32 = |i: usize| -> Option<u64> {
        Some(u64::from(u32::from_be_bytes(
            data.get(i..i + 4)?.try_into().ok()?,
        )))
    };
    let size = match kind {
        "gif" => {
            need(10)?;
            if !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
                return Ok(None);
            }
            let le16 = |i: usize| -> Option<u64> {
                Some(u64::from(u16::from_le_bytes(
                    data.get(i..i + 2)?.try_into().ok()?,
                )))
            };
            le16(8).zip(le16(6))
        }
        "png" => {
            need(8)?;
            if !data.starts_with(b"\x89PNG\r\n\x1a\n") {
                return Ok(None);
            }
            // The plugin reads a chunk header every eight bytes and does
            // not skip a chunk's data: IHDR is the first chunk.
            let mut found = None;
            let mut pos = 8;
            while !complete || pos < data.len() {
                // A header and IHDR's two sizes.
                need(pos + 16)?;
                let Some(ty) = data.get(pos + 4..(pos + 8).min(data.len())) else {
                    return Ok(None);
                };
                if ty == b"IEND" {
                    break;
                }
                if ty == b"IHDR" && be32(pos) == Some(13) {
                    found = be32(pos + 12).zip(be32(pos + 8));
                    if found.is_none() {
                        return Ok(None);
                    }
                    break;
                }
                pos += 8;
            }
            found
        }
        "jpeg" => {
            need(2)?;
            if !data.starts_with(b"\xff\xd8") {
                return Ok(None);
            }
            let mut pos = 2;
            let mut found = None;
            loop {
                need(pos + 4)?;
                let (Some(&0xff), Some(&mark), Some(len)) =
                    (data.get(pos), data.get(pos + 1), be16(pos + 2))
                else {
                    break;
                };
                if mark == 0xda || mark == 0xd9 || len < 2 {
                    break;
                }
                pos += 4;
                // The whole segment: a frame's sizes are in it, and the
                // next marker follows it.
                need(pos + len as usize - 2)?;
                let start = pos.min(data.len());
                let block = start..(pos + len as usize - 2).min(data.len()).max(start);
                let frame = matches!(mark, 0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf);
                if frame {
                    let b = &data[block];
                    let at = |i: usize| -> u64 {
                        b.get(i..i + 2)
                            .map_or(0, |s| u64::from(u16::from_be_bytes([s[0], s[1]])))
                    };
                    found = Some((at(1), at(3)));
                    break;
                }
                pos = block.end;
            }
            found
        }
        _ => None,
    };
    Ok(size.filter(|&(h, w)| h != 0 && w != 0))
}

/// The first decoded bytes tried for an image's size: a GIF's and a PNG's
/// are in the first 30, a JPEG's after its application segments.
const FIRST_PREFIX: usize = 256;

/// [`image_size`] of the base64 image `body`, decoding into `data` only
/// as much of it as the answer needs: a prefix, four times longer each
/// time the reader asks for more. A multi-megabyte photo costs a few
/// hundred bytes of decoding, not the whole image.
fn base64_image_size(kind: &str, body: &[u8], data: &mut Vec<u8>) -> Option<(u64, u64)> {
    let mut want = FIRST_PREFIX;
    loop {
        data.clear();
        let d = crate::decode::decode(Encoding::Base64, body, data, want);
        let complete = !d.contains(Defects::DECODED_SIZE_LIMIT);
        match read_size(kind, data, complete) {
            Ok(size) => return size,
            // An incomplete decoding filled `want` bytes, so this grows.
            Err(More) => want = want.saturating_mul(4),
        }
    }
}

impl EvalCtx<'_, '_> {
    fn images(&self) -> &Images {
        self.memo.images.get_or_init(|| Images::of(self.msg))
    }
}

/// ImageInfo's `result_check`: `value` in `[min, max]`, and not equal to
/// `max` when `open` (an absent `max` is no bound).
fn in_range(value: f64, min: f64, max: Option<f64>, open: bool) -> bool {
    value >= min && max.is_none_or(|m| value < m || (!open && value == m))
}

/// `image_count(TYPE, MIN[, MAX])`.
pub fn image_count(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(t), Some(min)) = (args.first().and_then(|t| type_of(t)), arg_f(args, 1)) else {
        return false;
    };
    in_range(ctx.images().count(t) as f64, min, arg_f(args, 2), false)
}

/// `pixel_coverage(TYPE, MIN[, MAX])`.
pub fn pixel_coverage(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(t), Some(min)) = (args.first().and_then(|t| type_of(t)), arg_f(args, 1)) else {
        return false;
    };
    in_range(ctx.images().area(t), min, arg_f(args, 2), false)
}

/// `image_to_text_ratio(TYPE, MIN, MAX)`: characters of text per pixel.
pub fn image_to_text_ratio(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(t), Some(min), Some(max)) = (
        args.first().and_then(|t| type_of(t)),
        arg_f(args, 1),
        arg_f(args, 2),
    ) else {
        return false;
    };
    let area = ctx.images().area(t);
    if area <= 0.0 {
        return false;
    }
    let text = if args.is_rawbody() {
        &ctx.features.rawbody
    } else {
        &ctx.features.body
    };
    let len: usize = text.iter_sa().map(|(_, n)| n).sum();
    len > 0 && in_range(len as f64 / area, min, Some(max), true)
}

/// `image_size_exact(TYPE, HEIGHT, WIDTH)`.
pub fn image_size_exact(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(t), Some(h), Some(w)) = (
        args.first().and_then(|t| type_of(t)),
        args.get(1),
        args.get(2),
    ) else {
        return false;
    };
    // SpamAssassin compares the text `HEIGHTxWIDTH`.
    ctx.images()
        .sizes(t)
        .any(|(ih, iw)| ih.to_string() == *h && iw.to_string() == *w)
}

/// `image_size_range(TYPE, MINH, MINW[, MAXH, MAXW])`.
pub fn image_size_range(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(t), Some(min_h), Some(min_w)) = (
        args.first().and_then(|t| type_of(t)),
        arg_f(args, 1),
        arg_f(args, 2),
    ) else {
        return false;
    };
    let (max_h, max_w) = (arg_f(args, 3), arg_f(args, 4));
    ctx.images().sizes(t).any(|(h, w)| {
        let (h, w) = (h as f64, w as f64);
        h >= min_h && w >= min_w && max_h.is_none_or(|m| h <= m) && max_w.is_none_or(|m| w <= m)
    })
}

/// `image_named(NAME)`.
pub fn image_named(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    args.first()
        .is_some_and(|n| ctx.images().names.iter().any(|x| x == n))
}

/// `image_name_regex(REGEX)`.
pub fn image_name_regex(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(re) = args.regex(0) else {
        return false;
    };
    ctx.images()
        .names
        .iter()
        .any(|n| re.is_match(n).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    fn jpeg(w: u16, h: u16, app_len: u16) -> Vec<u8> {
        let mut v = vec![0xff, 0xd8, 0xff, 0xe0];
        v.extend_from_slice(&app_len.to_be_bytes());
        v.extend(std::iter::repeat_n(0u8, app_len as usize - 2));
        v.extend_from_slice(&[0xff, 0xc2, 0, 17, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[3; 12]);
        v.extend_from_slice(&[0xff, 0xda, 0, 2]);
        v
    }

    #[test]
    fn sizes_are_read_as_the_plugin_reads_them() {
        assert_eq!(image_size("png", &png(640, 480)), Some((480, 640)));
        assert_eq!(image_size("png", &png(640, 0)), None);
        assert_eq!(image_size("png", &png(640, 480)[..20]), None);
        // A chunk before IHDR whose header is not on the eight-byte
        // stride hides it, as in the plugin.
        let mut odd = b"\x89PNG\r\n\x1a\n\0\0\0\x01sRGB\0".to_vec();
        odd.extend_from_slice(&png(10, 10)[8..]);
        assert_eq!(image_size("png", &odd), None);
        let mut even = b"\x89PNG\r\n\x1a\n\0\0\0\0sRGB".to_vec();
        even.extend_from_slice(&png(10, 20)[8..]);
        assert_eq!(image_size("png", &even), Some((20, 10)));
        assert_eq!(image_size("jpeg", &jpeg(1024, 768, 16)), Some((768, 1024)));
        assert_eq!(image_size("jpeg", &jpeg(1024, 768, 2)), Some((768, 1024)));
        let mut cut = jpeg(1024, 768, 16);
        cut.truncate(24);
        assert_eq!(image_size("jpeg", &cut), None);
        // The scan starts before any frame: no size.
        let mut scan = vec![0xff, 0xd8, 0xff, 0xda, 0, 2];
        scan.extend_from_slice(&jpeg(5, 5, 4)[2..]);
        assert_eq!(image_size("jpeg", &scan), None);
        let mut gif = b"GIF87a\x01\x00\x02\x00".to_vec();
        assert_eq!(image_size("gif", &gif), Some((2, 1)));
        gif[3] = b'9';
        gif[4] = b'0';
        assert_eq!(image_size("gif", &gif), None);
        assert_eq!(image_size("bmp", b"BM"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_safe(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), k in 0usize..3) {
            let mut d = match k {
                0 => b"GIF89a".to_vec(),
                1 => b"\x89PNG\r\n\x1a\n".to_vec(),
                _ => vec![0xff, 0xd8],
            };
            d.extend_from_slice(&data);
            if let Some((h, w)) = image_size(TYPES[k], &d) {
                proptest::prop_assert!(h > 0 && w > 0 && h <= u32::MAX as u64 && w <= u32::MAX as u64);
            }
        }
    }

    fn b64(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::decode::base64::encode(data, &mut out);
        out
    }

    #[test]
    fn a_large_image_is_sized_from_a_prefix() {
        let mut big = png(1200, 900);
        big.resize(1 << 20, 0x5a);
        let mut data = Vec::new();
        assert_eq!(
            base64_image_size("png", &b64(&big), &mut data),
            Some((900, 1200))
        );
        assert!(data.len() <= FIRST_PREFIX, "decoded {} bytes", data.len());
        // A JPEG whose frame follows a 60 KB application segment: the
        // prefix grows until it holds the frame.
        let mut photo = jpeg(4000, 3000, 60_000);
        photo.resize(1 << 20, 0);
        assert_eq!(
            base64_image_size("jpeg", &b64(&photo), &mut data),
            Some((3000, 4000))
        );
        assert!(data.len() < 1 << 18, "decoded {} bytes", data.len());
    }

    /// Every place a JPEG's frame or a PNG's IHDR can fall against the
    /// first two prefix lengths, straddling each of them included.
    #[test]
    fn structures_across_prefix_ends_are_read_whole() {
        let mut data = Vec::new();
        for app in 2..1100 {
            let img = jpeg(640, 480, app);
            assert_eq!(
                base64_image_size("jpeg", &b64(&img), &mut data),
                Some((480, 640)),
                "application segment of {app}"
            );
        }
        for pad in 0..140 {
            let mut img = b"\x89PNG\r\n\x1a\n".to_vec();
            for _ in 0..pad {
                img.extend_from_slice(b"\0\0\0\0tEXt");
            }
            img.extend_from_slice(&png(640, 480)[8..]);
            assert_eq!(
                base64_image_size("png", &b64(&img), &mut data),
                Some((480, 640)),
                "{pad} chunks before IHDR"
            );
        }
    }

    proptest::proptest! {
        /// Reading a prefix answers as reading the whole image does: with
        /// images of every type, real structures cut or padded anywhere,
        /// and bytes of no structure at all.
        #[test]
        fn prefix_reading_agrees_with_whole_reading(
            k in 0usize..3,
            size in (1u16..3000, 1u16..3000),
            app in 2u16..2000,
            cut in 0usize..3000,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            chunk_pad in 0usize..40,
        ) {
            let mut img = match k {
                0 => {
                    let mut g = b"GIF89a".to_vec();
                    g.extend_from_slice(&size.0.to_le_bytes());
                    g.extend_from_slice(&size.1.to_le_bytes());
                    g
                }
                1 => {
                    // Chunks of stride-aligned padding before IHDR.
                    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
                    for _ in 0..chunk_pad {
                        p.extend_from_slice(b"\0\0\0\0tEXt");
                    }
                    p.extend_from_slice(&png(size.0.into(), size.1.into())[8..]);
                    p
                }
                _ => jpeg(size.0, size.1, app),
            };
            img.truncate(cut.max(1));
            img.extend_from_slice(&tail);
            let mut data = Vec::new();
            proptest::prop_assert_eq!(
                base64_image_size(TYPES[k], &b64(&img), &mut data),
                image_size(TYPES[k], &img)
            );
        }
    }

    #[test]
    fn ranges() {
        assert!(in_range(1.0, 1.0, Some(1.0), false));
        assert!(!in_range(1.0, 1.0, Some(1.0), true));
        assert!(in_range(5.0, 2.0, None, false));
        assert!(!in_range(1.0, 2.0, None, false));
        assert_eq!(type_of("all"), Some(None));
        assert_eq!(type_of("jpeg"), Some(Some(2)));
        assert_eq!(type_of("jpg"), None);
    }
}
