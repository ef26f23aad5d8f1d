//! URIs found in text and HTML, normalised the way SpamAssassin does it.
//!
//! SpamAssassin's `uri` rules do not read URIs as they were written. Every
//! URI found is passed through a canonicaliser that adds *variants*: the
//! form with `%`-escapes of printable characters decoded, with the port
//! dropped when it is the default one, with `user@` removed from the host,
//! with a dotted-octal or integer IP written as a dotted quad, with the
//! target of an `http://redirector/?u=http://target` added as a URI of
//! its own... A rule then matches any of them. [`canonicalize`] produces
//! that list for one URI.
//!
//! URIs come from two places. HTML attributes are taken by
//! [`super::html`] and resolved against `<base href>` with [`target_uri`].
//! Plain text is searched by [`TextUris`], which finds what Thunderbird or
//! Outlook would make clickable: anything starting with a scheme or with
//! `www.`/`ftp.`, e-mail addresses (which become `mailto:`), and bare host
//! names that end in a real top-level domain (`example.com/path`). A text
//! URI is kept only when one of its variants names a valid host (a known
//! top-level domain, or an IP address); an HTML URI is kept as it is.
//!
//! The search is a hand-written scanner, not a regex: SpamAssassin's
//! pattern needs look-behind, and each position must cost O(1) for the scan
//! to stay linear on hostile lines. Tables of "next delimiter" positions are
//! filled once per line, right to left.
//!
//! ```
//! use filter::spam::uri::{canonicalize, TextUris};
//!
//! let mut v = canonicalize("http://www.Example.com:80/%7Efoo");
//! v.sort();
//! assert_eq!(v, ["http://www.Example.com/~foo", "http://www.Example.com:80/%7Efoo",
//!                "http://www.Example.com:80/~foo"]);
//!
//! let mut t = TextUris::default();
//! let mut found = Vec::new();
//! t.scan(b"see www.example.com, or mail bob@example.org.", &mut found);
//! assert_eq!(found, ["http://www.example.com", "mailto:bob@example.org"]);
//! ```
//!
//! Differences from SpamAssassin: `redirector_pattern` rules from the
//! configuration are not applied (the built-in "a URL inside a URL" check
//! is), and host names with non-ASCII characters are not converted to their
//! `xn--` form.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The longest URI kept; longer ones are cut.
pub const MAX_URI_LENGTH: usize = 8192;

fn tld_set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| TLDS.split_ascii_whitespace().collect())
}

/// True when `label` (any case) is a top-level domain.
pub fn is_tld(label: &str) -> bool {
    if label.bytes().any(|b| b.is_ascii_uppercase()) {
        tld_set().contains(label.to_ascii_lowercase().as_str())
    } else {
        tld_set().contains(label)
    }
}

/// True when `dom` ends in a known top-level domain after at least one dot
/// (SpamAssassin's `is_domain_valid`).
pub fn is_domain_valid(dom: &str) -> bool {
    if dom.chars().any(char::is_whitespace) {
        return false;
    }
    match dom.rfind('.') {
        Some(i) if i + 1 < dom.len() => is_tld(&dom[i + 1..]),
        _ => false,
    }
}

/// A syntactically valid host name: 2+ labels of 1-63 of `[a-z0-9_-]`, no
/// `-` at either end, no `_` in the last two labels (`is_fqdn_valid`).
pub fn is_fqdn_valid(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    if h.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = h.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let n = labels.len();
    labels.iter().enumerate().all(|(i, l)| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && (i + 2 < n || !l.contains('_'))
    })
}

fn is_ip(h: &str) -> bool {
    h.parse::<std::net::Ipv4Addr>().is_ok() || h.parse::<std::net::Ipv6Addr>().is_ok()
}

/// True when a canonical URI names a host SpamAssassin would look up: a
/// valid domain with a known TLD, or an IP address (`uri_to_domain`).
pub fn has_domain(uri: &str) -> bool {
    host_of(uri).is_some()
}

/// The host, lower case, by which SpamAssassin looks a canonical URI up
/// (`uri_to_domain`'s unstripped host): a valid domain with a known TLD,
/// or an IP address; `None` for any other (and for `javascript:`, `cid:`
/// and `file:` URIs).
///
/// ```
/// use filter::spam::uri::host_of;
/// assert_eq!(host_of("http://user@WWW.Example.com:80/a?b").as_deref(), Some("www.example.com"));
/// assert_eq!(host_of("mailto:a@example.org?subject=x").as_deref(), Some("example.org"));
/// assert_eq!(host_of("http://192.0.2.1/").as_deref(), Some("192.0.2.1"));
/// assert_eq!(host_of("http://example.notatld/"), None);
/// ```
pub fn host_of(uri: &str) -> Option<String> {
    let host = host_span(uri)?.to_ascii_lowercase();
    is_lookup_host(&host).then_some(host)
}

/// Whether a lower-case host is one SpamAssassin looks links up by: an
/// IP address, or a valid domain with a known TLD.
pub fn is_lookup_host(host: &str) -> bool {
    is_ip(host) || is_fqdn_valid(host) && is_domain_valid(host)
}

/// Where the host of a canonical URI is, case kept, before the checks
/// of [`is_lookup_host`]; `None` when [`host_of`] is `None` whatever the
/// host.
pub fn host_span(u: &str) -> Option<&str> {
    let has = |p: &str| u.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if has("javascript:") || has("cid:") || has("file:") {
        return None;
    }
    let host: &str = if has("mailto:") {
        let rest = &u[7..];
        let rest = rest.split('?').next().unwrap_or("");
        if rest.matches('@').count() > 1 {
            return None;
        }
        match rest.rfind('@') {
            Some(i) => &rest[i + 1..],
            None => return None,
        }
    } else {
        let mut r = u;
        let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters > 0 && r.as_bytes().get(letters) == Some(&b':') {
            r = &r[letters + 1..];
            let sl = r.bytes().take(2).take_while(|&b| b == b'/').count();
            r = &r[sl..];
        }
        let r = &r[..r.find(['/', '?', '#']).unwrap_or(r.len())];
        let r = match r.rfind('@') {
            Some(i) => &r[i + 1..],
            None => r,
        };
        match r.rfind(':') {
            Some(i) if r[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &r[..i],
            _ => r,
        }
    };
    // Undecoded printable escapes: the decoded variant is judged instead.
    let hb = host.as_bytes();
    for i in memchr::memchr_iter(b'%', hb) {
        if let (Some(&a), Some(&b)) = (hb.get(i + 1), hb.get(i + 2))
            && matches!(a, b'2'..=b'7')
            && b.is_ascii_hexdigit()
            && !(a == b'2' && b == b'0')
            && !(a == b'7' && b.eq_ignore_ascii_case(&b'f'))
        {
            return None;
        }
    }
    Some(host)
}

/// SpamAssassin's `url_encode` (which decodes): `%XX` escapes of printable
/// characters other than space and DEL are decoded, other escapes kept;
/// raw control, space, non-ASCII, `"`, `%`, `<` and `>` bytes are escaped.
pub fn url_decode_printable(uri: &str) -> String {
    let b = uri.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let (h, l) = (b[i + 1], b[i + 2]);
            let keep = (h == b'2' && l == b'0')
                || (h == b'7' && (l == b'f' || l == b'F'))
                || !matches!(h, b'2'..=b'7');
            if keep {
                out.extend_from_slice(&b[i..i + 3]);
            } else {
                let v = (hex(h) << 4) | hex(l);
                out.push(v);
            }
            i += 3;
            continue;
        }
        let c = b[i];
        if c <= 0x20 || c >= 0x7f || matches!(c, b'"' | b'%' | b'<' | b'>') {
            out.extend_from_slice(format!("%{c:02x}").as_bytes());
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn has_pct_escape(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'%', b).any(|i| {
        b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

/// Decodes `&#NN;` / `&#xHH;` references to printable ASCII and the
/// Unicode full stops to `.`.
fn decode_numeric_refs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let r = &rest[i + 2..];
        let (hexa, digits_start) = match r.as_bytes().first() {
            Some(b'x' | b'X') => (true, 1),
            _ => (false, 0),
        };
        let digits: &str = {
            let d = &r[digits_start..];
            let n = d
                .bytes()
                .take_while(|c| {
                    if hexa {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            &d[..n]
        };
        let end = digits_start + digits.len();
        if !digits.is_empty() && r.as_bytes().get(end) == Some(&b';') {
            let v = u32::from_str_radix(digits.trim_start_matches('0'), if hexa { 16 } else { 10 })
                .unwrap_or(if digits.trim_start_matches('0').is_empty() {
                    0
                } else {
                    u32::MAX
                });
            let dot = matches!(v, 0x2e | 0x3002 | 0xff0e | 0xff61)
                && !(hexa && digits.starts_with('0') && v == 0x2e);
            if (33..=126).contains(&v) && !(hexa && v == 0x7f) {
                out.push(v as u8 as char);
                rest = &r[end + 1..];
                continue;
            } else if dot {
                out.push('.');
                rest = &r[end + 1..];
                continue;
            }
        }
        out.push_str("&#");
        rest = r;
    }
    out.push_str(rest);
    out
}

/// SpamAssassin's `uri_list_canonicalize` for one URI: the URI itself
/// (trimmed) and every variant rules should also see, each once.
/// `#frag`, `?query`, `/path` and one-character URIs come back alone.
pub fn canonicalize(uri: &str) -> Vec<String> {
    canonicalize_flagging(uri, &mut false)
}

/// [`canonicalize`], setting `truncated` when a variant was longer than
/// [`MAX_URI_LENGTH`] and came back cut (SpamAssassin's `uri_truncated`).
pub(crate) fn canonicalize_flagging(uri: &str, truncated: &mut bool) -> Vec<String> {
    let mut uris: Vec<String> = vec![uri.to_string()];
    let mut nuris: Vec<String> = Vec::new();
    let mut k = 0;
    while k < uris.len() && k < 16 {
        let raw: String = uris[k]
            .chars()
            .filter(|&c| c != '\n' && c != '\r')
            .collect();
        let uri = raw.trim().to_string();
        uris[k] = uri.clone();
        k += 1;
        if uri.chars().count() <= 1
            || uri.starts_with(['#', '?', '&'])
            || (uri.starts_with('/') && !uri.starts_with("//"))
        {
            continue;
        }
        let lower_head: String = uri.chars().take(7).collect::<String>().to_ascii_lowercase();
        let before_colon = &uri[..uri.find(':').unwrap_or(uri.len())];
        if lower_head.starts_with("mailto:") || before_colon.contains('@') {
            canon_mail(&uri, &mut nuris);
            continue;
        }
        let mut nuri = uri.replace('\\', "/");
        // http:www.foo -> http://www.foo
        let l = nuri.to_ascii_lowercase();
        for p in ["https:", "http:"] {
            if l.starts_with(p) {
                let rest = &nuri[p.len()..];
                let sl = rest.bytes().take(2).take_while(|&b| b == b'/').count();
                nuri = format!("{}//{}", &nuri[..p.len()], &rest[sl..]);
                break;
            }
        }
        if has_pct_escape(&nuri) {
            nuri = url_decode_printable(&nuri);
        }
        let scheme_len = nuri
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .count();
        if !(scheme_len > 0 && nuri.as_bytes().get(scheme_len) == Some(&b':')) {
            nuri = if nuri.starts_with("ftp.") {
                format!("ftp://{nuri}")
            } else {
                format!("http://{nuri}")
            };
        }
        // http://host?x -> http://host/?x
        if let Some(p) = http_prefix(&nuri) {
            let rest = &nuri[p..];
            let h = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            if h > 0 && matches!(rest.as_bytes().get(h), Some(b'?' | b'#')) {
                nuri = format!("{}/{}", &nuri[..p + h], &rest[h..]);
            }
        }
        nuri = decode_numeric_refs(&nuri);
        if nuri != uri {
            nuris.push(nuri.clone());
        }
        canon_http(&nuri, &mut uris, &mut nuris);
    }
    let mut out: Vec<String> = Vec::new();
    for u in uris.into_iter().chain(nuris) {
        let u = if u.len() > MAX_URI_LENGTH {
            *truncated = true;
            let mut e = MAX_URI_LENGTH;
            while !u.is_char_boundary(e) {
                e -= 1;
            }
            u[..e].to_string()
        } else {
            u
        };
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Length of `http://` or `https://` (any case) at the start.
fn http_prefix(s: &str) -> Option<usize> {
    let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if l.starts_with("http://") {
        Some(7)
    } else if l.starts_with("https://") {
        Some(8)
    } else {
        None
    }
}

fn canon_mail(uri: &str, nuris: &mut Vec<String>) {
    // ^([^@]+@[^?]+)\?
    if let Some(at) = uri.find('@')
        && at > 0
    {
        let after = &uri[at + 1..];
        if let Some(q) = after.find('?')
            && q > 0
        {
            nuris.push(uri[..at + 1 + q].to_string());
        }
        let stop = after.find(['?', '&']).unwrap_or(after.len());
        if stop > 0 && after.as_bytes().get(stop) == Some(&b'&') {
            nuris.push(uri[..at + 1 + stop].to_string());
        }
    }
    if uri.contains("%20") {
        let mut r = uri;
        if r.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
        {
            r = &r[7..];
        }
        while let Some(x) = r.strip_prefix("%20") {
            r = x;
        }
        if let Some(at) = r.find('@')
            && at > 0
        {
            let after = &r[at + 1..];
            let n = after.find(['?', '&', '%']).unwrap_or(after.len());
            if n > 0 {
                nuris.push(format!("mailto:{}", &r[..at + 1 + n]));
            }
        }
    }
    // ^[^?&]*<([^@>]+@[^>]+)>
    let head = &uri[..uri.find(['?', '&']).unwrap_or(uri.len())];
    if let Some(lt) = head.rfind('<') {
        let inner = &uri[lt + 1..];
        if let Some(gt) = inner.find('>') {
            let addr = &inner[..gt];
            if let Some(at) = addr.find('@')
                && at > 0
                && at + 1 < addr.len()
            {
                nuris.push(format!("mailto:{addr}"));
            }
        }
    }
}

fn decode_ulong_to_ip(n: u64) -> String {
    let hex = format!("{n:08x}");
    let b = hex.as_bytes();
    (0..4)
        .map(|i| {
            let h = b.get(2 * i).copied().unwrap_or(b'0');
            let l = b.get(2 * i + 1).copied().unwrap_or(b'0');
            ((self::hex(h) << 4) | self::hex(l)).to_string()
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn canon_http(nuri: &str, uris: &mut Vec<String>, nuris: &mut Vec<String>) {
    let Some(p) = http_prefix(nuri) else {
        return;
    };
    let proto = &nuri[..p];
    let rest_all = &nuri[p..];
    // ([^@/?#]*@)?
    let (auth, after_auth) = {
        let stop = rest_all
            .find(['@', '/', '?', '#'])
            .unwrap_or(rest_all.len());
        if rest_all.as_bytes().get(stop) == Some(&b'@') {
            (&rest_all[..stop + 1], &rest_all[stop + 1..])
        } else {
            ("", rest_all)
        }
    };
    let hend = after_auth
        .find(['/', '?', '#', ':'])
        .unwrap_or(after_auth.len());
    if hend == 0 {
        return;
    }
    let mut host = after_auth[..hend].to_string();
    let rest = &after_auth[hend..];
    let port: String = rest
        .strip_prefix(':')
        .map(|r| {
            r.bytes()
                .take_while(u8::is_ascii_digit)
                .map(char::from)
                .collect()
        })
        .unwrap_or_default();
    let mut rest_noport: Option<String> = None;
    let port = if port.is_empty() {
        if proto == "http://" {
            "80".to_string()
        } else {
            "443".to_string()
        }
    } else {
        let strip = |r: &str, p: &str| -> Option<String> {
            let x = r.strip_prefix(p)?;
            if x.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                None
            } else {
                Some(x.to_string())
            }
        };
        if proto == "http://" {
            if let Some(x) = strip(rest, ":80") {
                nuris.push(format!("{proto}{host}{x}"));
                rest_noport = Some(x);
            }
        } else if let Some(x) = strip(rest, ":443") {
            nuris.push(format!("{proto}{host}{x}"));
            rest_noport = Some(x);
        }
        let _ = rest_noport;
        port
    };
    let nhost = host.to_ascii_lowercase();
    if host.bytes().any(|b| b <= 0x20) {
        host.retain(|c| c as u32 > 0x20);
        nuris.push(format!("{proto}{host}{rest}"));
    }
    // A URL inside the URL.
    let lr = rest.to_ascii_lowercase();
    let mut search = 0;
    let mut tries = 0;
    while let Some(i) = lr[search..].find("http") {
        tries += 1;
        if tries > 64 {
            break;
        }
        let at = search + i;
        let mut j = at + 4;
        if lr.as_bytes().get(j) == Some(&b's') {
            j += 1;
        }
        if lr.as_bytes().get(j) == Some(&b':') {
            j += 1;
            let sl = lr[j..].bytes().take(2).take_while(|&b| b == b'/').count();
            j += sl;
            let end = rest[j..].find(['&', '#']).map_or(rest.len(), |e| j + e);
            if end > j {
                let inner = &rest[at..end];
                if inner.contains('.') && uris.len() < 16 {
                    uris.push(inner.to_string());
                }
                break;
            }
        }
        search = at + 4;
    }
    if let Some(i) = host.find('@') {
        host = host[i + 1..].to_string();
        nuris.push(format!("{proto}{host}{rest}"));
    }
    let trimmed = host
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .len();
    if trimmed < host.len() {
        host.truncate(trimmed);
        nuris.push(format!("{proto}{host}{rest}"));
    }
    let octets: Vec<&str> = host.split('.').collect();
    let num_ok = |o: &str| {
        let l = o.to_ascii_lowercase();
        match l.strip_prefix("0x") {
            Some(h) => !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()),
            None => !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()),
        }
    };
    if octets.len() == 4 && octets.iter().all(|o| num_ok(o)) {
        let mut ip = String::new();
        for (i, o) in octets.iter().enumerate() {
            let mut s = o.to_string();
            let l = s.to_ascii_lowercase();
            if let Some(h) = l.strip_prefix("0x") {
                let h = h.trim_start_matches('0');
                s = u128::from_str_radix(if h.is_empty() { "0" } else { h }, 16)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| "18446744073709551615".into());
            }
            // ^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b -> octal
            let z = s.bytes().take_while(|&b| b == b'0').count();
            if z > 0 {
                let d = &s[z..];
                let max = match d.as_bytes().first() {
                    Some(b'1'..=b'3') => 3,
                    Some(b'4'..=b'7') => 2,
                    _ => 0,
                };
                let n = d
                    .bytes()
                    .take(max)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .count();
                if n > 0
                    && !d
                        .as_bytes()
                        .get(n)
                        .is_some_and(|b| b.is_ascii_alphanumeric())
                {
                    let v = u32::from_str_radix(&d[..n], 8).unwrap_or(0);
                    s = format!("{v}{}", &d[n..]);
                }
            }
            let s = s.trim_start_matches('0');
            ip.push_str(s);
            if i < 3 {
                ip.push('.');
            }
        }
        nuris.push(format!("{proto}{ip}{rest}"));
    } else if host.len() > 2
        && host.as_bytes()[..2].eq_ignore_ascii_case(b"0x")
        && host[2..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        let h = &host[2..];
        let last8 = &h[h.len().saturating_sub(8)..];
        let v = u64::from_str_radix(last8, 16).unwrap_or(0);
        nuris.push(format!("{proto}{}{rest}", decode_ulong_to_ip(v)));
    } else if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit()) {
        let v = host.parse::<u64>().unwrap_or(u64::MAX);
        nuris.push(format!("{proto}{}{rest}", decode_ulong_to_ip(v)));
    } else if proto == "http://" && auth.is_empty() && nhost != "localhost" && port == "80" {
        let bare = nhost.strip_prefix("www.").unwrap_or(&nhost);
        if !bare.is_empty() && !bare.contains('.') && !is_domain_valid(&nhost) {
            nuris.push(format!("{proto}www.{bare}.com{rest}"));
        }
    }
}

/// Resolves `r` against `base` as SpamAssassin's HTML parser does
/// (RFC 2396 section 5.2, a same-scheme `r` taken as relative, and an
/// unschemed `//www.x` given `http:`).
pub fn target_uri(base: &str, r: &str) -> String {
    let rp = parse_uri(r);
    let bp = parse_uri(base);
    let mut rs = rp.scheme;
    if let (Some(a), Some(b)) = (rs, bp.scheme)
        && a == b
    {
        rs = None;
    }
    let (scheme, authority, path, query);
    if let Some(s) = rs {
        scheme = Some(s);
        authority = rp.authority;
        path = remove_dot_segments(rp.path);
        query = rp.query;
    } else {
        if let Some(a) = rp.authority {
            authority = Some(a);
            path = remove_dot_segments(rp.path);
            query = rp.query;
        } else {
            if rp.path.is_empty() {
                path = bp.path.to_string();
                query = rp.query.or(bp.query);
            } else {
                if rp.path.starts_with('/') {
                    path = remove_dot_segments(rp.path);
                } else {
                    path = remove_dot_segments(&merge(bp.authority, bp.path, rp.path));
                }
                query = rp.query;
            }
            authority = bp.authority;
        }
        scheme = bp.scheme;
    }
    let mut out = String::new();
    match scheme {
        Some(s) if !s.is_empty() => {
            out.push_str(s);
            out.push(':');
        }
        _ => {
            if let Some(a) = authority {
                let l = a.to_ascii_lowercase();
                let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
                if let Some(x) = l.strip_prefix("www")
                    && x.as_bytes().get(digits(x)) == Some(&b'.')
                {
                    out.push_str("http:");
                } else if let Some(x) = l.strip_prefix("ftp")
                    && x.as_bytes().get(digits(x)) == Some(&b'.')
                {
                    out.push_str("ftp:");
                }
            }
        }
    }
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = rp.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

struct Parsed<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parse_uri(u: &str) -> Parsed<'_> {
    let mut rest = u;
    let mut scheme = None;
    if let Some(i) = rest.find([':', '/', '?', '#'])
        && i > 0
        && rest.as_bytes()[i] == b':'
    {
        scheme = Some(&rest[..i]);
        rest = &rest[i + 1..];
    }
    let mut authority = None;
    if let Some(r) = rest.strip_prefix("//") {
        let e = r.find(['/', '?', '#']).unwrap_or(r.len());
        authority = Some(&r[..e]);
        rest = &r[e..];
    }
    let e = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = &rest[..e];
    rest = &rest[e..];
    let mut query = None;
    if let Some(r) = rest.strip_prefix('?') {
        let e = r.find('#').unwrap_or(r.len());
        query = Some(&r[..e]);
        rest = &r[e..];
    }
    let fragment = rest
        .strip_prefix('#')
        .map(|f| &f[..f.find('\n').unwrap_or(f.len())]);
    Parsed {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

fn merge(base_auth: Option<&str>, base_path: &str, r: &str) -> String {
    if base_auth.is_some() && base_path.is_empty() {
        return format!("/{r}");
    }
    match base_path.rfind('/') {
        Some(i) => format!("{}{r}", &base_path[..=i]),
        None => r.to_string(),
    }
}

fn remove_dot_segments(input: &str) -> String {
    let mut b = input.as_bytes().to_vec();
    let n = b.len();
    let mut pos = if b.starts_with(b"./") {
        1
    } else if b.starts_with(b"../") {
        2
    } else {
        0
    };
    let mut out: Vec<u8> = Vec::with_capacity(n);
    // Perl's `while ($input)`: an input of "0" is false.
    while pos < n && &b[pos..] != b"0" {
        let t = &b[pos..];
        if t == b"/." || t.starts_with(b"/./") {
            pos += if t.len() == 2 { 1 } else { 2 };
            b[pos] = b'/';
        } else if t == b"/.." || t.starts_with(b"/../") {
            pos += if t.len() == 3 { 2 } else { 3 };
            b[pos] = b'/';
            // s@/?[^/]*$@@
            let cut = out.iter().rposition(|&c| c == b'/').unwrap_or(0);
            out.truncate(cut);
        } else {
            let mut e = pos;
            if b[e] == b'/' {
                e += 1;
            }
            while e < n && b[e] != b'/' {
                e += 1;
            }
            out.extend_from_slice(&b[pos..e]);
            pos = e;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b)
}
const fn cls_end(c: u8) -> bool {
    matches!(
        c,
        b'>' | b'<' | b'"' | b'`' | b'}' | b']' | b'{' | b'[' | b'|' | 0x1b | 0xa0
    ) || is_ws(c)
}
const fn cls_end_email(c: u8) -> bool {
    cls_end(c) || matches!(c, b',' | b'(' | b'\'') || c >= 0x80
}
const fn cls_end_plusat(c: u8) -> bool {
    cls_end_email(c) || c == b'@'
}
const fn cls_start(c: u8) -> bool {
    matches!(
        c,
        b'>' | b'<' | b'"' | b'\'' | b'`' | b',' | b'{' | b'[' | b'(' | b'|' | 0x1b | 0xa0
    ) || is_ws(c)
}
const fn cls_scstart(c: u8) -> bool {
    (c.is_ascii_punctuation() && !matches!(c, b'-' | b'.' | b'_' | b'%'))
        || is_ws(c)
        || c == 0x1b
        || c == 0xa0
}
const fn cls_host(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}
const fn is_w(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Per byte, which of the four scans it stops: bit 0 [`cls_end`], 1
/// [`cls_end_email`], 2 [`cls_end_plusat`], 3 not [`cls_host`].
static STOPS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = cls_end(c) as u8
            | (cls_end_email(c) as u8) << 1
            | (cls_end_plusat(c) as u8) << 2
            | (!cls_host(c) as u8) << 3;
        i += 1;
    }
    t
};

/// Per byte, the classes a URI's start depends on: [`W`] [`is_w`],
/// [`START`] [`cls_start`], [`SCSTART`] [`cls_scstart`], [`ALNUM`].
static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = (is_w(c) as u8 * W)
            | (cls_start(c) as u8 * START)
            | (cls_scstart(c) as u8 * SCSTART)
            | (c.is_ascii_alphanumeric() as u8 * ALNUM);
        i += 1;
    }
    t
};
const W: u8 = 1;
const START: u8 = 2;
const SCSTART: u8 = 4;
const ALNUM: u8 = 8;
/// What stands before the first byte of a line: nothing, which starts a
/// schemeless URI as punctuation does, and is neither a word byte nor one
/// that starts the other kinds.
const LINE_START: u8 = SCSTART;

/// The first position at or after `s` where a match can start, when the
/// next anchor (`.`, `:` or `@`) at or after `s` is at `anchor`: just past
/// the last hard stop before the anchor.
///
/// A scheme, `www.`, `ftp.` or `mailto:` runs into its anchor without a
/// break; a mail address reaches its `@`, and a bare domain its first `.`,
/// through bytes that neither stops. A hard stop stops both (white space,
/// brackets, quotes, commas, bytes above 0x7F), so nothing that starts
/// before one reaches the anchor past it.
fn skip(line: &[u8], s: usize, anchor: usize) -> usize {
    let hard = |c: u8| cls_end_plusat(c) && c != b'@';
    line[s..anchor]
        .iter()
        .rposition(|&c| hard(c))
        .map_or(s, |h| s + h + 1)
}

/// The plain-text URI finder (SpamAssassin's Thunderbird-like pattern).
/// Holds scratch tables so that scanning allocates nothing in the steady
/// state.
#[derive(Debug, Default, Clone)]
pub struct TextUris {
    next_end: Vec<u32>,
    next_email: Vec<u32>,
    next_plusat: Vec<u32>,
    next_nonhost: Vec<u32>,
    spans: Vec<(usize, usize, u8)>,
    seen: HashSet<String>,
}

impl TextUris {
    /// Forgets the URIs seen so far (one message's worth).
    pub fn reset(&mut self) {
        self.seen.clear();
    }

    /// Finds the URIs in one line of rendered text and appends each new
    /// one to `out`, with a scheme added (`http://`, `ftp://` or
    /// `mailto:`), as SpamAssassin hands them to its canonicaliser. A URI
    /// already seen since the last [`TextUris::reset`] is skipped.
    pub fn scan(&mut self, line: &[u8], out: &mut Vec<String>) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        self.spans(line, &mut spans);
        for &(s, e, kind) in &spans {
            self.found(&line[s..e], kind, out);
        }
        self.spans = spans;
    }

    /// The matches in `line`, leftmost first, each as (start, end, kind).
    ///
    /// Every match holds a `.`, `:` or `@` (an anchor), and only positions
    /// near the next anchor can start one: see [`TextUris::skip`]. So the
    /// scan jumps from anchor to anchor and tries only those positions.
    fn spans(&mut self, line: &[u8], spans: &mut Vec<(usize, usize, u8)>) {
        let n = line.len();
        let Some(mut anchor) = memchr::memchr3(b'.', b':', b'@', line) else {
            return;
        };
        let mut s = skip(line, 0, anchor);
        self.fill(line, s);
        while s < n {
            if s > anchor {
                match memchr::memchr3(b'.', b':', b'@', &line[s..]) {
                    Some(i) => anchor = s + i,
                    None => break,
                }
                s = skip(line, s, anchor);
            }
            match self.try_at(line, s) {
                Some((end, kind)) => {
                    spans.push((s, end, kind));
                    s = end;
                }
                None => s += 1,
            }
        }
    }

    /// For each position from `from` on, the next position at or after it
    /// where each scan stops (`n` when none does), in one pass from the
    /// end. Positions before `from` are not filled.
    fn fill(&mut self, line: &[u8], from: usize) {
        let n = line.len();
        let tables = [
            &mut self.next_end,
            &mut self.next_email,
            &mut self.next_plusat,
            &mut self.next_nonhost,
        ];
        for v in tables {
            v.clear();
            v.resize(n + 1, n as u32);
        }
        let mut next = [n as u32; 4];
        for (i, &c) in line.iter().enumerate().skip(from).rev() {
            let stops = STOPS[usize::from(c)];
            if stops != 0 {
                for (b, at) in next.iter_mut().enumerate() {
                    if stops & (1 << b) != 0 {
                        *at = i as u32;
                    }
                }
            }
            self.next_end[i] = next[0];
            self.next_email[i] = next[1];
            self.next_plusat[i] = next[2];
            self.next_nonhost[i] = next[3];
        }
    }

    /// The match starting at `s`, if any: its end and kind (0 scheme,
    /// 1 mail, 2 schemeless).
    fn try_at(&self, l: &[u8], s: usize) -> Option<(usize, u8)> {
        let n = l.len();
        let prev = s
            .checked_sub(1)
            .map_or(LINE_START, |i| CLASSES[usize::from(l[i])]);
        let here = CLASSES[usize::from(l[s])];
        let boundary = (prev & W) != (here & W);
        let guard =
            boundary || prev & START != 0 || (s >= 3 && l[s - 3] == 0x1b && l[s - 2] == b'(');
        if guard {
            if let Some(p) = known_scheme_len(&l[s..]) {
                let e = self.next_end[s + p] as usize;
                if e > s + p && e - (s + p) <= 2048 {
                    return Some((e, 0));
                }
            }
            if l[s..].len() >= 7 && l[s..s + 7].eq_ignore_ascii_case(b"mailto:") {
                let e = self.next_email[s + 7] as usize;
                if e > s + 7 && e - (s + 7) <= 2048 {
                    return Some((e, 1));
                }
            }
            let j = self.next_plusat[s] as usize;
            if j < n && l[j] == b'@' && j > s && j - s <= 251 {
                let e = self.next_email[j + 1] as usize;
                if e > j + 1 && e - (j + 1) <= 251 {
                    return Some((e, 1));
                }
            }
        }
        if prev & SCSTART != 0 && here & ALNUM != 0 {
            let hend = self.next_nonhost[s] as usize;
            let lim = hend.min(s + 253);
            let mut d = lim;
            while d > s + 1 {
                d -= 1;
                if l[d] != b'.' {
                    continue;
                }
                // TLD: [a-z0-9-]+ up to the end of the label.
                let mut k = d + 1;
                while k < n && (l[k].is_ascii_alphanumeric() || l[k] == b'-') {
                    k += 1;
                }
                if k == d + 1 || (k < n && l[k] == b'_') {
                    continue;
                }
                let Ok(tld) = std::str::from_utf8(&l[d + 1..k]) else {
                    continue;
                };
                if !is_tld(tld) {
                    continue;
                }
                if let Some(e) = self.schemeless_tail(l, k) {
                    return Some((e, 2));
                }
            }
        }
        None
    }

    /// After a TLD: `\.?(?::\d{1,5})?(?:/[^end]{1,2048})?` then a
    /// delimiter or the end.
    fn schemeless_tail(&self, l: &[u8], mut c: usize) -> Option<usize> {
        let n = l.len();
        if c < n && l[c] == b'.' {
            c += 1;
        }
        if c < n && l[c] == b':' {
            let d = l[c + 1..]
                .iter()
                .take(6)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if (1..=5).contains(&d) {
                c += 1 + d;
            } else {
                return None;
            }
        }
        if c < n && l[c] == b'/' {
            let e = self.next_end[c + 1] as usize;
            if e > c + 1 && e - (c + 1) <= 2048 {
                c = e;
            } else {
                return None;
            }
        }
        (c == n || cls_end(l[c])).then_some(c)
    }

    fn found(&mut self, raw: &[u8], kind: u8, out: &mut Vec<String>) {
        let mut raw: &[u8] = raw;
        // ) ends the URI when no ( comes before it.
        let open = memchr::memchr(b'(', raw).unwrap_or(raw.len());
        if let Some(close) = memchr::memrchr(b')', &raw[..open]) {
            raw = &raw[..close];
        }
        while let Some((&last, rest)) = raw.split_last() {
            if b"-~!@#^&*()_+=:;'?,.".contains(&last) {
                raw = rest;
            } else {
                break;
            }
        }
        let raw = String::from_utf8_lossy(raw).into_owned();
        if !self.seen.insert(raw.clone()) {
            return;
        }
        if kind == 1 && !raw.contains('@') {
            return;
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("cid:") || lower.starts_with("mid:") {
            return;
        }
        // ^\w+:/{0,2}$
        let w = raw.bytes().take_while(|&b| is_w(b)).count();
        if w > 0
            && raw.as_bytes().get(w) == Some(&b':')
            && raw[w + 1..].len() <= 2
            && raw[w + 1..].bytes().all(|b| b == b'/')
        {
            return;
        }
        let mut uri = raw.clone();
        if !(lower.starts_with("http:")
            || lower.starts_with("https:")
            || lower.starts_with("ftp:")
            || lower.starts_with("mailto:"))
        {
            let digits = |s: &str| s.bytes().take(2).take_while(u8::is_ascii_digit).count();
            let www = lower
                .strip_prefix("www")
                .is_some_and(|x| x.as_bytes().get(digits(x)) == Some(&b'.'));
            if lower.starts_with("ftp.") {
                uri = format!("ftp://{raw}");
            } else if www
                || raw
                    .find('/')
                    .is_some_and(|i| raw[i + 1..].rfind('@').is_some_and(|j| j > 0))
            {
                uri = format!("http://{raw}");
            } else if let Some(at) = raw.find('@') {
                let after = &raw[at + 1..];
                if !after.get(1..).is_some_and(|a| a.contains('.')) {
                    return;
                }
                if raw.contains("&nbsp;") {
                    return;
                }
                let mut r = raw.as_str();
                let lr = r.to_ascii_lowercase();
                for p in ["skype", "email", "e-mail", "-mail", "mail"] {
                    if lr.starts_with(p) && lr[p.len()..].starts_with(':') {
                        r = &r[p.len()..];
                        break;
                    }
                }
                let r = r.trim_start_matches(':');
                uri = format!("mailto:{r}");
            } else {
                if !raw.contains('.') {
                    return;
                }
                uri = format!("http://{raw}");
            }
        }
        if uri
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
        {
            if has_pct_escape(&uri) {
                uri = url_decode_printable(&uri);
            }
            let Some(at) = uri.find('@') else {
                return;
            };
            let host = &uri[at + 1..];
            let mut host = &host[..host.find(['?', '&', '>']).unwrap_or(host.len())];
            while let Some(h) = host.strip_suffix("%20") {
                host = h;
            }
            if !is_domain_valid(&host.to_ascii_lowercase()) {
                return;
            }
        }
        if out.len() < 100_000 {
            out.push(uri);
        }
    }
}

/// `https?://`, `ftp://`, `www\d{0,2}.` or `ftp.` at the start of `s`
/// (any case): its length.
fn known_scheme_len(s: &[u8]) -> Option<usize> {
    let starts = |p: &[u8]| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p);
    for p in [&b"http://"[..], b"https://", b"ftp://", b"ftp."] {
        if starts(p) {
            return Some(p.len());
        }
    }
    if starts(b"www") {
        let d = s[3..]
            .iter()
            .take(2)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if s.get(3 + d) == Some(&b'.') {
            return Some(4 + d);
        }
    }
    None
}

/// The top-level domains IANA lists (ASCII and `xn--` forms), sorted.
const TLDS: &str = "aaa aarp abb abbott abbvie abc able abogado abudhabi ac academy accenture accountant \
accountants aco actor ad ads adult ae aeg aero aetna af afl africa ag agakhan agency ai \
aig airbus airforce airtel akdn al alibaba alipay allfinanz allstate ally alsace alstom \
am amazon americanexpress americanfamily amex amfam amica amsterdam analytics android \
anquan anz ao aol apartments app apple aq aquarelle ar arab aramco archi army arpa art \
arte as asda asia associates at athleta attorney au auction audi audible audio auspost \
author auto autos avianca aw aws ax axa az azure ba baby baidu banamex bananarepublic \
band bank bar barcelona barclaycard barclays barefoot bargains baseball basketball \
bauhaus bayern bb bbc bbt bbva bcg bcn bd be beats beauty beer bentley berlin best \
bestbuy bet bf bg bh bharti bi bible bid bike bing bingo bio biz bj black blackfriday \
blockbuster blog bloomberg blue bm bms bmw bn bnpparibas bo boats boehringer bofa bom \
bond boo book booking bosch bostik boston bot boutique box br bradesco bridgestone \
broadway broker brother brussels bs bt build builders business buy buzz bv bw by bz bzh \
ca cab cafe cal call calvinklein cam camera camp canon capetown capital capitalone car \
caravan cards care career careers cars casa case cash casino cat catering catholic cba \
cbn cbre cc cd center ceo cern cf cfa cfd cg ch chanel channel charity chase chat cheap \
chintai christmas chrome church ci cipriani circle cisco citadel citi citic city ck cl \
claims cleaning click clinic clinique clothing cloud club clubmed cm cn co coach codes \
coffee college cologne com comcast commbank community company compare computer comsec \
condos construction consulting contact contractors cooking cool coop corsica country \
coupon coupons courses cpa cr credit creditcard creditunion cricket crown crs cruise \
cruises cu cuisinella cv cw cx cy cymru cyou cz dabur dad dance data date dating datsun \
day dclk dds de deal dealer deals degree delivery dell deloitte delta democrat dental \
dentist desi design dev dhl diamonds diet digital direct directory discount discover dish \
diy dj dk dm dnp do docs doctor dog domains dot download drive dtv dubai dunlop dupont \
durban dvag dvr dz earth eat ec eco edeka edu education ee eg email emerck energy \
engineer engineering enterprises epson equipment er ericsson erni es esq estate et \
etisalat eu eurovision eus events exchange expert exposed express extraspace fage fail \
fairwinds faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero \
fi fidelity fido film final finance financial fire firestone firmdale fish fishing fit \
fitness fj fk flickr flights flir florist flowers fly fm fo foo food football ford forex \
forsale forum foundation fox fr free fresenius frl frogans frontier ftr fujitsu fun fund \
furniture futbol fyi ga gal gallery gallo gallup game games gap garden gay gb gbiz gd gdn \
ge gea gent genting george gf gg ggee gh gi gift gifts gives giving gl glass gle global \
globo gm gmail gmbh gmo gmx gn godaddy gold goldpoint golf goo goodyear goog google gop \
got gov gp gq gr grainger graphics gratis green gripe grocery group gs gt gu guardian \
gucci guge guide guitars guru gw gy hair hamburg hangout haus hbo hdfc hdfcbank health \
healthcare help helsinki here hermes hiphop hisamitsu hitachi hiv hk hkt hm hn hockey \
holdings holiday homedepot homegoods homes homesense honda horse hospital host hosting \
hot hotels hotmail house how hr hsbc ht hu hughes hyatt hyundai ibm icbc ice icu id ie \
ieee ifm ikano il im imamat imdb immo immobilien in inc industries infiniti info ing ink \
institute insurance insure int international intuit investments io ipiranga iq ir irish \
is ismaili ist istanbul it itau itv jaguar java jcb je jeep jetzt jewelry jio jll jm jmp \
jnj jo jobs joburg jot joy jp jpmorgan jprs juegos juniper kaufen kddi ke kerryhotels \
kerrylogistics kerryproperties kfh kg kh ki kia kids kim kindle kitchen kiwi km kn koeln \
komatsu kosher kp kpmg kpn kr krd kred kuokgroup kw ky kyoto kz la lacaixa lamborghini \
lamer lancaster land landrover lanxess lasalle lat latino latrobe law lawyer lb lc lds \
lease leclerc lefrak legal lego lexus lgbt li lidl life lifeinsurance lifestyle lighting \
like lilly limited limo lincoln link lipsy live living lk llc llp loan loans locker locus \
lol london lotte lotto love lpl lplfinancial lr ls lt ltd ltda lu lundbeck luxe luxury lv \
ly ma madrid maif maison makeup man management mango map market marketing markets \
marriott marshalls mattel mba mc mckinsey md me med media meet melbourne meme memorial \
men menu merckmsd mg mh miami microsoft mil mini mint mit mitsubishi mk ml mlb mls mm mma \
mn mo mobi mobile moda moe moi mom monash money monster mormon mortgage moscow moto \
motorcycles mov movie mp mq mr ms msd mt mtn mtr mu museum music mv mw mx my mz na nab \
nagoya name natura navy nba nc ne nec net netbank netflix network neustar new news next \
nextdirect nexus nf nfl ng ngo nhk ni nico nike nikon ninja nissan nissay nl no nokia \
norton now nowruz nowtv np nr nra nrw ntt nu nyc nz obi observer office okinawa olayan \
olayangroup oldnavy ollo om omega one ong onl online ooo open oracle orange org organic \
origins osaka otsuka ott ovh pa page panasonic paris pars partners parts party pay pccw \
pe pet pf pfizer pg ph pharmacy phd philips phone photo photography photos physio pics \
pictet pictures pid pin ping pink pioneer pizza pk pl place play playstation plumbing \
plus pm pn pnc pohl poker politie porn post pr pramerica praxi press prime pro prod \
productions prof progressive promo properties property protection pru prudential ps pt \
pub pw pwc py qa qpon quebec quest racing radio re read realestate realtor realty recipes \
red redstone redumbrella rehab reise reisen reit reliance ren rent rentals repair report \
republican rest restaurant review reviews rexroth rich richardli ricoh ril rio rip ro \
rocks rodeo rogers room rs rsvp ru rugby ruhr run rw rwe ryukyu sa saarland safe safety \
sakura sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sarl sas save saxo \
sb sbi sbs sc sca scb schaeffler schmidt scholarships school schule schwarz science scot \
sd se search seat secure security seek select sener services seven sew sex sexy sfr sg sh \
shangrila sharp shaw shell shia shiksha shoes shop shopping shouji show si silk sina \
singles site sj sk ski skin sky skype sl sling sm smart smile sn sncf so soccer social \
softbank software sohu solar solutions song sony soy spa space sport spot sr srl ss st \
stada staples star statebank statefarm stc stcgroup stockholm storage store stream studio \
study style su sucks supplies supply support surf surgery suzuki sv swatch swiss sx sy \
sydney systems sz tab taipei talk taobao target tatamotors tatar tattoo tax taxi tc tci \
td tdk team tech technology tel temasek tennis teva tf tg th thd theater theatre tiaa \
tickets tienda tips tires tirol tj tjmaxx tjx tk tkmaxx tl tm tmall tn to today tokyo \
tools top toray toshiba total tours town toyota toys tr trade trading training travel \
travelers travelersinsurance trust trv tt tube tui tunes tushu tv tvs tw tz ua ubank ubs \
ug uk unicom university uno uol ups us uy uz va vacations vana vanguard vc ve vegas \
ventures verisign versicherung vet vg vi viajes video vig viking villas vin vip virgin \
visa vision viva vivo vlaanderen vn vodka volkswagen volvo vote voting voto voyage vu \
wales walmart walter wang wanggou watch watches weather weatherchannel webcam weber \
website wed wedding weibo weir wf whoswho wien wiki williamhill win windows wine winners \
wme wolterskluwer woodside work works world wow ws wtc wtf xbox xerox xfinity xihuan xin \
xn--11b4c3d xn--1ck2e1b xn--1qqw23a xn--2scrj9c xn--30rr7y xn--3bst00m xn--3ds443g \
xn--3e0b707e xn--3hcrj9c xn--3pxu8k xn--42c2d9a xn--45br5cyl xn--45brj9c xn--45q11c \
xn--4dbrk0ce xn--4gbrim xn--54b7fta0cc xn--55qw42g xn--55qx5d xn--5su34j936bgsg \
xn--5tzm5g xn--6frz82g xn--6qq986b3xl xn--80adxhks xn--80ao21a xn--80aqecdr1a \
xn--80asehdb xn--80aswg xn--8y0a063a xn--90a3ac xn--90ae xn--90ais xn--9dbq2a xn--9et52u \
xn--9krt00a xn--b4w605ferd xn--bck1b9a5dre4c xn--c1avg xn--c2br7g xn--cck2b3b \
xn--cckwcxetd xn--cg4bki xn--clchc0ea0b2g2a9gcd xn--czr694b xn--czrs0t xn--czru2d \
xn--d1acj3b xn--d1alf xn--e1a4c xn--eckvdtc9d xn--efvy88h xn--fct429k xn--fhbei \
xn--fiq228c5hs xn--fiq64b xn--fiqs8s xn--fiqz9s xn--fjq720a xn--flw351e xn--fpcrj9c3d \
xn--fzc2c9e2c xn--fzys8d69uvgm xn--g2xx48c xn--gckr3f0f xn--gecrj9c xn--gk3at1e \
xn--h2breg3eve xn--h2brj9c xn--h2brj9c8c xn--hxt814e xn--i1b6b1a6a2e xn--imr513n \
xn--io0a7i xn--j1aef xn--j1amh xn--j6w193g xn--jlq480n2rg xn--jvr189m xn--kcrx77d1x4a \
xn--kprw13d xn--kpry57d xn--kput3i xn--l1acc xn--lgbbat1ad8j xn--mgb9awbf xn--mgba3a3ejt \
xn--mgba3a4f16a xn--mgba7c0bbn0a xn--mgbaakc7dvf xn--mgbaam7a8h xn--mgbab2bd \
xn--mgbah1a3hjkrd xn--mgbai9azgqp6j xn--mgbayh7gpa xn--mgbbh1a xn--mgbbh1a71e \
xn--mgbc0a9azcg xn--mgbca7dzdo xn--mgbcpq6gpa1a xn--mgberp4a5d4ar xn--mgbgu82a \
xn--mgbi4ecexp xn--mgbpl2fh xn--mgbt3dhd xn--mgbtx2b xn--mgbx4cd0ab xn--mix891f \
xn--mk1bu44c xn--mxtq1m xn--ngbc5azd xn--ngbe9e0a xn--ngbrx xn--node xn--nqv7f \
xn--nqv7fs00ema xn--nyqy26a xn--o3cw4h xn--ogbpf8fl xn--otu796d xn--p1acf xn--p1ai \
xn--pgbs0dh xn--pssy2u xn--q7ce6a xn--q9jyb4c xn--qcka1pmc xn--qxa6a xn--qxam xn--rhqv96g \
xn--rovu88b xn--rvc1e0am3e xn--s9brj9c xn--ses554g xn--t60b56a xn--tckwe xn--tiq49xqyj \
xn--unup4y xn--vermgensberater-ctb xn--vermgensberatung-pwb xn--vhquv xn--vuq861b \
xn--w4r85el8fhu5dnra xn--w4rs40l xn--wgbh1c xn--wgbl6a xn--xhq521b xn--xkc2al3hye2a \
xn--xkc2dl3a5ee0h xn--y9a3aq xn--yfro4i67o xn--ygbi2ammx xn--zfr164b xxx xyz yachts yahoo \
yamaxun yandex ye yodobashi yoga yokohama you youtube yt yun za zappos zara zero zip zm \
zone zuerich zw";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-pass tables agree with looking forward from each
        /// position, byte by byte.
        #[test]
        fn fill_agrees_with_a_forward_search(
            line in prop::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(b"a.-_@,( <>\"\n\xa0".to_vec())],
                0..80,
            ),
        ) {
            let mut t = TextUris::default();
            t.fill(&line, 0);
            let n = line.len();
            let next = |f: fn(u8) -> bool, i: usize| (i..n).find(|&j| f(line[j])).unwrap_or(n) as u32;
            for i in 0..=n {
                prop_assert_eq!(t.next_end[i], next(cls_end, i));
                prop_assert_eq!(t.next_email[i], next(cls_end_email, i));
                prop_assert_eq!(t.next_plusat[i], next(cls_end_plusat, i));
                prop_assert_eq!(t.next_nonhost[i], next(|c| !cls_host(c), i));
            }
        }
    }

    /// Every position tried in turn: the scan without [`skip`].
    fn naive_spans(line: &[u8]) -> Vec<(usize, usize, u8)> {
        let mut t = TextUris::default();
        t.fill(line, 0);
        let mut out = Vec::new();
        let mut s = 0;
        while s < line.len() {
            match t.try_at(line, s) {
                Some((e, kind)) => {
                    out.push((s, e, kind));
                    s = e;
                }
                None => s += 1,
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Jumping from anchor to anchor finds what trying every position
        /// finds.
        #[test]
        fn skipping_finds_what_every_position_finds(
            pieces in prop::collection::vec(
                prop::sample::select(vec![
                    &b"http://"[..], b"https://", b"ftp.", b"www.", b"www12.", b"mailto:",
                    b"example.com", b"x.org", b"a.b", b"bob", b"1.2.3.4", b"/path", b":8080",
                    b".", b"@", b":", b"+", b"-", b"_", b"a", b"Z9", b" ", b"\n", b"(", b")",
                    b"<", b">", b",", b"'", b"\"", b"\x1b(", b"\xa0", b"\xc3\xa9", b"..",
                ]),
                0..30,
            ),
        ) {
            let line = pieces.concat();
            let mut t = TextUris::default();
            let mut fast = Vec::new();
            t.spans(&line, &mut fast);
            prop_assert_eq!(fast, naive_spans(&line), "{:?}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn hard_stops_stop_every_kind() {
        for c in 0..=255u8 {
            if cls_end_plusat(c) && c != b'@' {
                assert!(!cls_host(c), "{c:#x}");
            }
        }
    }

    fn scan(s: &str) -> Vec<String> {
        let mut t = TextUris::default();
        let mut v = Vec::new();
        t.scan(s.as_bytes(), &mut v);
        v
    }

    fn canon(s: &str) -> Vec<String> {
        let mut v = canonicalize(s);
        v.sort();
        v
    }

    #[test]
    fn text_finds_schemes_www_mail_and_bare_domains() {
        assert_eq!(
            scan("Click here http://209.61.190.180\n"),
            ["http://209.61.190.180"]
        );
        assert_eq!(scan("(see http://x.com/a)."), ["http://x.com/a"]);
        assert_eq!(
            scan("go to example.com/path now"),
            ["http://example.com/path"]
        );
        assert_eq!(scan("not a uri: example.notatld"), Vec::<String>::new());
        assert_eq!(
            scan("mail: Foo.Bar@example.co.uk!"),
            ["mailto:Foo.Bar@example.co.uk"]
        );
        assert_eq!(scan("vi@gra is no address"), Vec::<String>::new());
        assert_eq!(scan("ftp.example.org"), ["ftp://ftp.example.org"]);
        assert_eq!(scan("www2.x.biz/a?b=c,"), ["http://www2.x.biz/a?b=c"]);
        assert_eq!(scan("x http://"), Vec::<String>::new());
    }

    #[test]
    fn canonical_variants() {
        assert_eq!(
            canon("http:www.foo.biz"),
            ["http://www.foo.biz", "http:www.foo.biz"]
        );
        assert_eq!(
            canon("http://0x7f000001/"),
            ["http://0x7f000001/", "http://127.0.0.1/"]
        );
        assert_eq!(
            canon("http://1113343453/"),
            ["http://1113343453/", "http://66.92.69.221/"]
        );
        assert_eq!(
            canon("http://foobar/x"),
            ["http://foobar/x", "http://www.foobar.com/x"]
        );
        assert_eq!(canon("http://user@evil.com/"), ["http://user@evil.com/"]);
        assert_eq!(
            canon("http://a@b@evil.com/"),
            ["http://a@b@evil.com/", "http://evil.com/"]
        );
        assert_eq!(
            canon("http://10.0.0.1/"),
            ["http://10...1/", "http://10.0.0.1/"]
        );
        assert_eq!(
            canon("http://example.com."),
            ["http://example.com", "http://example.com."]
        );
        assert_eq!(
            canon("x/y.htm"),
            ["http://www.x.com/y.htm", "http://x/y.htm", "x/y.htm"]
        );
        assert_eq!(
            canon("HTTP://Example.ORG?x"),
            ["HTTP://Example.ORG/?x", "HTTP://Example.ORG?x"]
        );
        assert_eq!(
            canon("http://r.example/?u=http://target.example/x&y"),
            [
                "http://r.example/?u=http://target.example/x&y",
                "http://target.example/x"
            ]
        );
        assert_eq!(
            canon("mailto:a@b.com?subject=hi"),
            ["mailto:a@b.com", "mailto:a@b.com?subject=hi"]
        );
        // Skipped, but still returned as they are.
        assert_eq!(canon("#top"), ["#top"]);
        assert_eq!(canon("/img.gif"), ["/img.gif"]);
    }

    #[test]
    fn target_resolution() {
        assert_eq!(
            target_uri("http://a.com/b/c.html", "d/e"),
            "http://a.com/b/d/e"
        );
        assert_eq!(target_uri("http://a.com/b/", "../x"), "http://a.com/x");
        assert_eq!(target_uri("", "//www.x.com/p"), "http://www.x.com/p");
        assert_eq!(target_uri("", "foo.html"), "foo.html");
        assert_eq!(target_uri("http://a.com/b", "http:c"), "http://a.com/c");
        assert_eq!(remove_dot_segments("/a/./b/../c"), "/a/c");
    }

    #[test]
    fn domains() {
        assert!(has_domain("http://www.example.com/x"));
        assert!(has_domain("http://1.2.3.4:8080/"));
        assert!(has_domain("mailto:a@example.org?s=1"));
        assert!(!has_domain("http://localhost/"));
        assert!(!has_domain("http://example.nosuchtld/"));
        assert!(!has_domain("http://ex%61mple.com/"));
    }

    #[test]
    fn non_ascii_hosts_do_not_panic() {
        assert!(canon("http://\u{fffd}yz/").contains(&"http://\u{fffd}yz/".to_string()));
        assert!(canon("http://0\u{e9}/").len() <= 4);
        assert!(!has_domain("http://\u{fffd}.\u{e9}/"));
        let mut t = TextUris::default();
        let mut v = Vec::new();
        t.scan(
            "\u{e9}www.\u{e9}.com \u{fffd}@\u{e9}.com".as_bytes(),
            &mut v,
        );
    }

    #[test]
    fn scanner_is_linear_on_hostile_lines() {
        let long = "a@".repeat(50_000) + &"/b.com".repeat(20_000);
        let mut t = TextUris::default();
        let mut v = Vec::new();
        t.scan(long.as_bytes(), &mut v);
        assert!(v.len() <= long.len());
    }
}
