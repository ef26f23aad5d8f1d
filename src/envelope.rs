//! The SMTP envelope, and how it reaches rules that read only the message.
//!
//! A milter knows things the message does not say: the client's address and
//! reverse DNS name, what it said in HELO, the envelope sender and
//! recipients. The spam rules read only the message, so the scan is given
//! these facts the way spamass-milter and amavis give them to SpamAssassin:
//! as header fields written in front of the message before it is scanned.
//!
//! - `Received: from HELO (RDNS [IP])` followed by `by localhost (libfilter)
//!   with SMTP`, the line the MTA itself would add (Postfix shows milters
//!   its own `Received:` line, so a scan that sees one looks at what a
//!   delivered message will carry). Unknown parts are written `unknown`, as
//!   Postfix writes them. The line has no date, so that a scan of the same
//!   message gives the same report every time.
//! - `X-Envelope-From: <MAIL FROM>`, which SpamAssassin reads as the envelope
//!   sender.
//! - `X-Envelope-To: <RCPT>, <RCPT>`, folded.
//!
//! Nothing here touches the caller's message: [`Envelope::prelude`] returns
//! the lines, and [`Envelope::prepend`] a new buffer with them in front.
//! Values come from the network, so every control character (CR and LF
//! above all) is replaced with a space: a HELO cannot inject header fields.
//!
//! The connection facts also feed the origin checks directly:
//! [`Envelope::origin_checks`] runs them on the client's address, HELO and
//! reverse name alone, before DATA.
//!
//! ```
//! use filter::envelope::Envelope;
//!
//! let env = Envelope {
//!     client_ip: Some("192.0.2.7".into()),
//!     helo: Some("mail.example.net".into()),
//!     rdns: None,
//!     mail_from: Some("alice@example.net".into()),
//!     rcpt_to: vec!["bob@example.com".into()],
//! };
//! let msg = b"Subject: hi\n\nhello\n";
//! let scanned = env.prepend(msg);
//! assert!(scanned.starts_with(b"Received: from mail.example.net (unknown [192.0.2.7])\n"));
//! assert!(scanned.ends_with(msg));
//! ```

use std::fmt::Write as _;

/// What the SMTP conversation said about one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The client's IP address, as text (`192.0.2.7`, `2001:db8::1`).
    pub client_ip: Option<String>,
    /// The name the client gave in HELO or EHLO.
    pub helo: Option<String>,
    /// The client's reverse DNS name, if it has a (verified) one.
    pub rdns: Option<String>,
    /// The envelope sender (MAIL FROM), without the angle brackets; empty
    /// for the null sender.
    pub mail_from: Option<String>,
    /// The envelope recipients (RCPT TO), without angle brackets.
    pub rcpt_to: Vec<String>,
}

impl Envelope {
    /// Whether nothing is known: the prelude is empty.
    pub fn is_empty(&self) -> bool {
        self.client_ip.is_none()
            && self.helo.is_none()
            && self.rdns.is_none()
            && self.mail_from.is_none()
            && self.rcpt_to.is_empty()
    }

    /// The header lines to write in front of the message, each ended with
    /// `\r\n` when `crlf`, else `\n`. Empty when [`Envelope::is_empty`].
    pub fn prelude(&self, crlf: bool) -> String {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if self.client_ip.is_some() || self.helo.is_some() || self.rdns.is_some() {
            let _ = write!(
                out,
                "Received: from {} ({} [{}]){eol}\tby localhost (libfilter) with SMTP{eol}",
                word(self.helo.as_deref()),
                word(self.rdns.as_deref()),
                word(self.client_ip.as_deref()),
            );
        }
        if let Some(from) = &self.mail_from {
            let _ = write!(out, "X-Envelope-From: <{}>{eol}", clean(from));
        }
        if !self.rcpt_to.is_empty() {
            out.push_str("X-Envelope-To:");
            for (i, r) in self.rcpt_to.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(eol);
                    out.push('\t');
                } else {
                    out.push(' ');
                }
                let _ = write!(out, "<{}>", clean(r));
            }
            out.push_str(eol);
        }
        out
    }

    /// The origin checks on what the SMTP conversation told: the client's
    /// address, HELO and reverse name, with the recipients' domains (for
    /// a HELO that claims them). A pure function of the envelope and
    /// `cfg`, so an MTA can run it at connect or RCPT time, before DATA;
    /// the same checks hit when the message is scanned with
    /// [`Envelope::prepend`]'s `Received:` line in front.
    ///
    /// ```
    /// use filter::envelope::Envelope;
    /// use filter::spam::origin::{Check, OriginConfig};
    ///
    /// let env = Envelope {
    ///     client_ip: Some("203.0.113.7".into()),
    ///     helo: Some("[203.0.113.7]".into()),
    ///     rdns: Some("dsl-203-0-113-7.example.net".into()),
    ///     ..Envelope::default()
    /// };
    /// let checks = env.origin_checks(&OriginConfig::default());
    /// assert!(checks.contains(Check::DynamicDirect));
    /// ```
    pub fn origin_checks(
        &self,
        cfg: &crate::spam::origin::OriginConfig,
    ) -> crate::spam::origin::Checks {
        let domains: Vec<String> = self
            .rcpt_to
            .iter()
            .filter_map(|r| r.rsplit_once('@'))
            .map(|(_, d)| {
                crate::spam::origin::checks::domain_of(d.trim_end_matches('>')).to_ascii_lowercase()
            })
            .collect();
        crate::spam::origin::envelope_checks(
            self.client_ip.as_deref(),
            self.helo.as_deref(),
            self.rdns.as_deref(),
            &domains,
            cfg,
        )
    }

    /// A copy of `message` with the prelude in front, its line ends
    /// following the message's first line. With an empty envelope the copy
    /// is the message itself.
    pub fn prepend(&self, message: &[u8]) -> Vec<u8> {
        let prelude = self.prelude(uses_crlf(message));
        let mut out = Vec::with_capacity(prelude.len() + message.len());
        out.extend_from_slice(prelude.as_bytes());
        out.extend_from_slice(message);
        out
    }
}

/// Whether the first line of `message` ends with CRLF (a message with no
/// line end at all counts as CRLF, the wire form).
pub fn uses_crlf(message: &[u8]) -> bool {
    match memchr::memchr(b'\n', message) {
        Some(i) => i > 0 && message[i - 1] == b'\r',
        None => true,
    }
}

/// `s` with control characters replaced by spaces and trimmed.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// One token of the `Received:` line: cleaned, with inner spaces and the
/// brackets and parentheses that delimit the line's parts taken out;
/// `unknown` when missing or empty.
fn word(s: Option<&str>) -> String {
    let w: String = clean(s.unwrap_or(""))
        .chars()
        .filter(|c| !matches!(c, ' ' | '(' | ')' | '[' | ']'))
        .collect();
    if w.is_empty() {
        "unknown".to_string()
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Envelope {
        Envelope {
            client_ip: Some("192.0.2.7".into()),
            helo: Some("mx.example.net".into()),
            rdns: Some("mail.example.net".into()),
            mail_from: Some("alice@example.net".into()),
            rcpt_to: vec!["bob@example.com".into(), "carol@example.com".into()],
        }
    }

    #[test]
    fn empty_envelope_changes_nothing() {
        let e = Envelope::default();
        assert!(e.is_empty());
        assert_eq!(e.prelude(true), "");
        assert_eq!(
            e.prepend(b"Subject: x\r\n\r\nbody"),
            b"Subject: x\r\n\r\nbody"
        );
    }

    #[test]
    fn full_envelope_crlf() {
        assert_eq!(
            full().prelude(true),
            "Received: from mx.example.net (mail.example.net [192.0.2.7])\r\n\
             \tby localhost (libfilter) with SMTP\r\n\
             X-Envelope-From: <alice@example.net>\r\n\
             X-Envelope-To: <bob@example.com>,\r\n\t<carol@example.com>\r\n"
        );
    }

    #[test]
    fn line_ends_follow_the_message() {
        let lf = full().prepend(b"Subject: x\n\nbody\n");
        assert!(!lf.contains(&b'\r'));
        let crlf = full().prepend(b"Subject: x\r\n\r\nbody\r\n");
        let s = String::from_utf8(crlf).unwrap();
        assert_eq!(s.matches('\n').count(), s.matches("\r\n").count());
        assert!(uses_crlf(b"no line end"));
        assert!(!uses_crlf(b"\nx"));
    }

    #[test]
    fn unknown_parts_and_null_sender() {
        let e = Envelope {
            client_ip: Some("2001:db8::1".into()),
            mail_from: Some(String::new()),
            ..Envelope::default()
        };
        assert_eq!(
            e.prelude(false),
            "Received: from unknown (unknown [2001:db8::1])\n\
             \tby localhost (libfilter) with SMTP\n\
             X-Envelope-From: <>\n"
        );
        let only_rcpt = Envelope {
            rcpt_to: vec!["x@y".into()],
            ..Envelope::default()
        };
        assert_eq!(only_rcpt.prelude(false), "X-Envelope-To: <x@y>\n");
    }

    #[test]
    fn no_header_injection() {
        let e = Envelope {
            helo: Some("evil\r\nX-Spam-Flag: NO (x) [y]".into()),
            mail_from: Some("a@b\r\nSubject: injected".into()),
            ..Envelope::default()
        };
        let p = e.prelude(true);
        // Only the line ends the prelude writes itself.
        assert_eq!(p.matches("\r\n").count(), 3, "{p:?}");
        assert!(!p.contains("\r\nX-Spam-Flag"));
        assert!(!p.contains("\r\nSubject"));
        assert!(p.starts_with("Received: from evilX-Spam-Flag:NOxy (unknown [unknown])"));
    }
}
