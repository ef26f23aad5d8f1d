//! SpamAssassin's VBounce tests: is a bounce one of ours?
//!
//! Worms and spam go out with forged senders, and the bounces (and "virus
//! found" notices) come back to whoever was forged: blowback. A bounce of
//! mail the site really sent quotes that mail's Received headers, which
//! name the site's own outgoing relays. `welcomelist_bounce_relays` (or
//! `whitelist_bounce_relays`) lists those relays' names, file-glob
//! patterns allowed, and the stock rules in 20_vbounce.cf read the two
//! tests:
//!
//! * `have_any_bounce_relays()`: the list is not empty (without it, the
//!   bounce rules stay quiet);
//! * `check_welcomelist_bounce_relays()`: a quoted Received header names
//!   a listed relay. SpamAssassin looks in the rendered body's paragraphs
//!   that start `Received:` (after any `>` quoting) for space-delimited
//!   names with a dot inside, then in the raw body at each Received header
//!   with its continuation lines joined, for names delimited by white
//!   space.
//!
//! The scan keeps SpamAssassin's regex habits (each match consumes the
//! delimiter after its name, so of two names one space apart only the
//! first is read), and it reads every byte a bounded number of times: a
//! header of ten thousand continuation lines is read once, not once per
//! line.

use super::{Args, EvalCtx};

const LIST: &str = "welcomelist_bounce_relays";

/// `have_any_bounce_relays()`.
pub fn have_any_bounce_relays(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.cfg.addrs.nonempty(LIST)
}

/// `check_welcomelist_bounce_relays()` (and `check_whitelist_...`).
pub fn check_welcomelist_bounce_relays(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let lists = &ctx.cfg.addrs;
    if !lists.nonempty(LIST) {
        return false;
    }
    let listed = |name: &[u8]| lists.has(LIST, &String::from_utf8_lossy(name));
    let body_hit = ctx
        .features
        .body
        .iter()
        .any(|line| received_line(line) && names(line, |b| b == b' ').any(listed));
    if body_hit {
        return true;
    }
    let raw = ctx.msg.body(ctx.msg.root());
    any_received_block(raw, |block| names_in(block).any(listed))
}

/// Whether `line` starts `Received:` after any `>` and spaces.
fn received_line(line: &[u8]) -> bool {
    let quoted = line.iter().take_while(|&&b| b == b'>' || b == b' ').count();
    let rest = &line[quoted..];
    rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"received:")
}

/// Perl's `\s`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// The names `/D(\S+\.\S+)D/g` captures in `text`, `D` a delimiter byte:
/// runs of non-space bytes with a dot inside them (not first, not last),
/// between two delimiters, the closing one consumed by the match.
fn names(text: &[u8], delim: impl Fn(u8) -> bool) -> impl Iterator<Item = &[u8]> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() {
            if !delim(text[i]) {
                i += 1;
                continue;
            }
            let start = i + 1;
            let end = text[start..]
                .iter()
                .position(|&b| is_space(b))
                .map_or(text.len(), |k| start + k);
            let word = &text[start..end];
            let dotted = word.len() >= 3 && word[1..word.len() - 1].contains(&b'.');
            if dotted && end < text.len() && delim(text[end]) {
                i = end + 1;
                return Some(word);
            }
            // No match starts at this delimiter; the next one that could
            // is the next delimiter byte.
            i += 1;
        }
        None
    })
}

/// [`names`] delimited by any white space.
fn names_in(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    names(text, is_space)
}

/// Whether `f` holds for one of the raw body's Received headers, read
/// from the first line that starts one (after any `>` and spaces): from
/// there on, each line that does not start with white space begins a
/// block and the lines that do are joined to it (with nothing between, as
/// SpamAssassin joins them); the blocks that start `Received:` are given
/// to `f`, one at a time in one buffer, until it says yes. A body without
/// `Received:` anywhere has none.
fn any_received_block(raw: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> bool {
    let has = memchr::memchr_iter(b':', raw)
        .any(|i| i >= 8 && raw[i - 8..i].eq_ignore_ascii_case(b"received"));
    if !has {
        return false;
    }
    let Some(first) = raw.split(|&b| b == b'\n').position(received_line) else {
        return false;
    };
    let mut block: Vec<u8> = Vec::new();
    for line in raw.split(|&b| b == b'\n').skip(first) {
        if block.is_empty() || !line.first().is_some_and(|&b| is_space(b)) {
            if received_line(&block) && f(&block) {
                return true;
            }
            block.clear();
        }
        block.extend_from_slice(line);
    }
    received_line(&block) && f(&block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, delim: u8) -> Vec<String> {
        names(text.as_bytes(), |b| b == delim)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    #[test]
    fn names_as_the_regex_finds_them() {
        assert_eq!(
            all("Received: by dogma.boxhost.net (Postfix) ", b' '),
            ["dogma.boxhost.net"]
        );
        // The match consumes the space after the name.
        assert_eq!(all(" a.b c.d  e.f ", b' '), ["a.b", "e.f"]);
        assert_eq!(all(" .ab a. ab x.y", b' '), Vec::<String>::new());
        assert_eq!(all(" x.y\tz ", b' '), Vec::<String>::new());
        let ws: Vec<&[u8]> = names_in(b"by\tmail.example.com\r\n").collect();
        assert_eq!(ws, [&b"mail.example.com"[..]]);
    }

    fn received_blocks(raw: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        any_received_block(raw, |b| {
            out.push(String::from_utf8_lossy(b).into_owned());
            false
        });
        out
    }

    #[test]
    fn blocks_join_continuations() {
        let raw = b"hello\n  indented\n> Received: from a\n\tby relay.example.org (Postfix)\nX-Other: x.y.z here\n\tmore\nReceived: by b.example.com id 1\n";
        let blocks = received_blocks(raw);
        assert_eq!(
            blocks,
            [
                "> Received: from a\tby relay.example.org (Postfix)",
                "Received: by b.example.com id 1"
            ]
        );
        assert!(received_blocks(b"no headers here\n").is_empty());
        // A first Received line that is indented starts a block too.
        assert_eq!(
            received_blocks(b"x\n  Received: by a.example.com x\n").len(),
            1
        );
    }

    proptest::proptest! {
        /// The scanner against a direct reading of the regex: at each
        /// delimiter, try the longest dotted run; on a match go on after
        /// the closing delimiter, else at the next byte.
        #[test]
        fn names_agree_with_the_naive_reading(text in "[ a.b\t]{0,24}") {
            let t = text.as_bytes();
            let mut want = Vec::new();
            let mut i = 0;
            while i < t.len() {
                let mut done = false;
                if t[i] == b' ' {
                    for end in (i + 2..t.len()).rev() {
                        let w = &t[i + 1..end];
                        if t[end] == b' ' && w.iter().all(|&b| !is_space(b))
                            && w.len() >= 3 && w[1..w.len() - 1].contains(&b'.')
                        {
                            want.push(w.to_vec());
                            i = end + 1;
                            done = true;
                            break;
                        }
                    }
                }
                if !done {
                    i += 1;
                }
            }
            let got: Vec<Vec<u8>> = names(t, |b| b == b' ').map(<[u8]>::to_vec).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
