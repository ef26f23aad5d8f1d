//! The spam verdict: score, rules hit, action and the headers to add.
//!
//! A message is spam when its score reaches `required_score`, as in
//! SpamAssassin. What the MTA should do about it is a separate question,
//! answered the way rspamd answers it: a ladder of thresholds on the same
//! score. [`Actions`] holds them; each is optional, and the highest one the
//! score reaches wins. By default there is no greylist step, headers are
//! added from `required_score` up, and mail is rejected from 15 points, as
//! in rspamd's stock configuration.
//!
//! The headers are those SpamAssassin adds with `report_safe 0`:
//! `X-Spam-Flag: YES` on spam, `X-Spam-Status` on every message, and
//! `X-Spam-Report` (the content analysis table) on spam, folded at 79
//! columns as SpamAssassin folds them.
//!
//! ```
//! use filter::spam::verdict::{Action, Actions, Symbol, Verdict};
//!
//! let v = Verdict::new(
//!     vec![Symbol { name: "MISSING_DATE".into(), score: 1.4, description: "Missing Date: header".into(), count: 1.0, area: "" }],
//!     5.0,
//!     &Actions::default(),
//! );
//! assert!(!v.is_spam);
//! assert_eq!(v.action, Action::Accept);
//! assert!(v.headers()[0].1.starts_with("No, score=1.4 required=5.0 tests=MISSING_DATE"));
//! ```

use std::fmt::Write as _;

/// What the MTA should do with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Deliver as is.
    Accept,
    /// Ask the sender to retry later.
    Greylist,
    /// Deliver with the spam headers.
    AddHeader,
    /// Refuse.
    Reject,
}

impl Action {
    /// The name rspamd gives it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "no action",
            Action::Greylist => "greylist",
            Action::AddHeader => "add header",
            Action::Reject => "reject",
        }
    }
}

/// Score thresholds for each action; `None` switches the step off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Actions {
    /// Greylist from this score.
    pub greylist: Option<f64>,
    /// Add headers from this score; `None` means `required_score`.
    pub add_header: Option<f64>,
    /// Reject from this score.
    pub reject: Option<f64>,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            greylist: None,
            add_header: None,
            reject: Some(15.0),
        }
    }
}

/// One rule that hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// Rule name.
    pub name: String,
    /// Score it added (its score times its hits for `tflags multiple`).
    pub score: f64,
    /// The rule's description.
    pub description: String,
    /// Hits (or a meta's value).
    pub count: f64,
    /// SpamAssassin's area prefix in reports: `BODY: `, `URI: `, ...
    pub area: &'static str,
}

/// The spam verdict for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Total score.
    pub score: f64,
    /// `required_score`.
    pub required: f64,
    /// `score >= required`.
    pub is_spam: bool,
    /// What to do.
    pub action: Action,
    /// Rules hit, sorted by name.
    pub symbols: Vec<Symbol>,
    /// Some Perl-only regex could not run for lack of budget: the score may
    /// be low.
    pub budget_exhausted: bool,
    /// The Bayes classifier's probability that the message is spam, when
    /// the engine has a model.
    pub bayes: Option<f64>,
    /// DNS blocklist work still to do (an engine with network tests): see
    /// [`Verdict::queries`]; `None` once resolved.
    pub dns: Option<crate::spam::rules::DnsPending>,
}

impl Verdict {
    /// A verdict from the rules hit, sorted by name.
    pub fn new(mut symbols: Vec<Symbol>, required: f64, actions: &Actions) -> Verdict {
        symbols.sort_by(|a, b| a.name.cmp(&b.name));
        // Sum as SpamAssassin does, then round away float noise.
        // (`+ 0.0` turns the empty sum's -0.0 into 0.0.)
        let score = (symbols.iter().map(|s| s.score).sum::<f64>() * 1000.0).round() / 1000.0 + 0.0;
        let at = |t: Option<f64>| t.is_some_and(|t| score >= t);
        let action = if at(actions.reject) {
            Action::Reject
        } else if at(Some(actions.add_header.unwrap_or(required))) {
            Action::AddHeader
        } else if at(actions.greylist) {
            Action::Greylist
        } else {
            Action::Accept
        };
        Verdict {
            score,
            required,
            is_spam: score >= required,
            action,
            symbols,
            budget_exhausted: false,
            bayes: None,
            dns: None,
        }
    }

    /// The DNS names (A records) to look up before
    /// [`Scanner::resolve`](crate::Scanner::resolve) finishes the
    /// verdict; empty when there is nothing to ask.
    pub fn queries(&self) -> &[crate::spam::dns::Query] {
        self.dns.as_ref().map_or(&[], |d| d.queries.as_slice())
    }

    /// `X-Spam-Status`'s value: `Yes, score=7.1 required=5.0 tests=A,B
    /// autolearn=disabled version=libfilter-0.1.0`, folded.
    pub fn status(&self) -> String {
        let tests = if self.symbols.is_empty() {
            "none".to_string()
        } else {
            self.symbols
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let value = format!(
            "{}, score={:.1} required={:.1} tests={} autolearn=disabled version=libfilter-{}",
            if self.is_spam { "Yes" } else { "No" },
            self.score,
            self.required,
            tests,
            env!("CARGO_PKG_VERSION"),
        );
        fold("X-Spam-Status", &value)
    }

    /// The content analysis table SpamAssassin calls `_SUMMARY_`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for s in &self.symbols {
            let per_hit = if s.count > 1.0 {
                s.score / s.count
            } else {
                s.score
            };
            let pts = if per_hit.abs() >= 10.0 {
                format!("{per_hit:4.0}")
            } else {
                format!("{per_hit:4.1}")
            };
            let _ = writeln!(out, "{pts} {:<22} {}{}", s.name, s.area, s.description);
        }
        out
    }

    /// `X-Spam-Report`'s value (multi-line, folded with tabs).
    pub fn report(&self) -> String {
        let mut r = format!(
            "Content analysis details:   ({:.1} points, {:.1} required)\n\n pts rule name              description\n---- ---------------------- --------------------------------------------------\n",
            self.score, self.required
        );
        r.push_str(&self.summary());
        let r = r.trim_end_matches('\n');
        let mut out = String::with_capacity(r.len() + 16);
        // A continuation line of white space only is obsolete syntax
        // (RFC 5322 4.2) that some MTAs mangle: blank lines are left out.
        for (i, line) in r.split('\n').filter(|l| !l.trim().is_empty()).enumerate() {
            if i > 0 {
                out.push_str("\n\t");
            }
            out.push_str(line.trim());
        }
        out
    }

    /// The headers to add: (name, value) pairs, values folded.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::with_capacity(3);
        h.push(("X-Spam-Status".to_string(), self.status()));
        if self.is_spam {
            h.push(("X-Spam-Flag".to_string(), "YES".to_string()));
            h.push(("X-Spam-Report".to_string(), self.report()));
        }
        h
    }
}

/// Folds `name: value` at 79 columns after spaces or commas, continuation
/// lines starting with a tab; returns the value part.
fn fold(name: &str, value: &str) -> String {
    const WIDTH: usize = 79;
    let mut out = String::with_capacity(value.len() + 8);
    let mut col = name.len() + 2;
    let mut rest = value;
    while col + rest.len() > WIDTH {
        // The last break point (after ' ' or ',') that keeps the line short.
        let room = WIDTH.saturating_sub(col);
        let cut = rest
            .char_indices()
            .take_while(|(i, _)| *i < room)
            .filter(|(_, c)| *c == ' ' || *c == ',')
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .or_else(|| rest.find([' ', ',']).map(|i| i + 1));
        let Some(cut) = cut.filter(|&c| c < rest.len()) else {
            break;
        };
        out.push_str(rest[..cut].trim_end());
        out.push_str("\n\t");
        rest = &rest[cut..];
        col = 8;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, score: f64) -> Symbol {
        Symbol {
            name: name.into(),
            score,
            description: format!("{name} description"),
            count: 1.0,
            area: "",
        }
    }

    #[test]
    fn actions_ladder() {
        let a = Actions {
            greylist: Some(4.0),
            add_header: None,
            reject: Some(15.0),
        };
        let at = |s: f64| Verdict::new(vec![sym("X", s)], 5.0, &a).action;
        assert_eq!(at(1.0), Action::Accept);
        assert_eq!(at(4.0), Action::Greylist);
        assert_eq!(at(5.0), Action::AddHeader);
        assert_eq!(at(15.0), Action::Reject);
        let off = Actions {
            greylist: None,
            add_header: Some(8.0),
            reject: None,
        };
        assert_eq!(
            Verdict::new(vec![sym("X", 100.0)], 5.0, &off).action,
            Action::AddHeader
        );
        assert_eq!(
            Verdict::new(vec![sym("X", 6.0)], 5.0, &off).action,
            Action::Accept
        );
    }

    #[test]
    fn headers_fold_like_spamassassin() {
        let syms: Vec<Symbol> = (0..12)
            .map(|i| sym(&format!("RULE_NUMBER_{i:02}"), 0.5))
            .collect();
        let v = Verdict::new(syms, 5.0, &Actions::default());
        assert!(v.is_spam);
        let h = v.headers();
        assert_eq!(h[0].0, "X-Spam-Status");
        assert!(
            h[0].1
                .starts_with("Yes, score=6.0 required=5.0 tests=RULE_NUMBER_00,")
        );
        for (i, line) in h[0].1.split('\n').enumerate() {
            let len = if i == 0 {
                "X-Spam-Status: ".len() + line.len()
            } else {
                line.len() + 7
            };
            assert!(len <= 79, "line {i} too long: {line:?}");
            assert!(i == 0 || line.starts_with('\t'));
        }
        let joined: String = h[0].1.replace("\n\t", "");
        assert!(joined.contains("RULE_NUMBER_05,RULE_NUMBER_06"));
        assert_eq!(h[1], ("X-Spam-Flag".into(), "YES".into()));
        assert!(
            h[2].1.contains("\n\t 0.5 RULE_NUMBER_00") || h[2].1.contains("\n\t0.5 RULE_NUMBER_00")
        );
        assert!(
            h[2].1
                .starts_with("Content analysis details:   (6.0 points, 5.0 required)")
        );
        // No continuation line of white space only.
        assert!(h[2].1.split('\n').all(|l| !l.trim().is_empty()));
    }

    #[test]
    fn ham_gets_status_only() {
        let v = Verdict::new(vec![], 5.0, &Actions::default());
        let h = v.headers();
        assert_eq!(h.len(), 1);
        assert!(h[0].1.starts_with("No, score=0.0 required=5.0 tests=none"));
    }
}
