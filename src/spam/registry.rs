//! Registry boundaries: where a host name stops being the registrant's
//! and becomes the registry's.
//!
//! `www.example.co.uk` was registered as `example.co.uk`: `co.uk` is a
//! suffix under which anyone may register, like `com`. Several tests care
//! about the registered domain rather than the whole host name: whether
//! an envelope sender's domain is the domain of the relay that handed the
//! message over (`check_mailfrom_matches_rcvd`), which name a link's host
//! is listed under in a URI block list ([`crate::spam::dns`]), what a
//! header rule's `:domain` modifier reads.
//!
//! SpamAssassin reads the suffixes from its rule files: `util_rb_2tld
//! co.uk com.au ...` and `util_rb_3tld demon.co.uk ...` (about 650 lines
//! of 20_aux_tlds.cf), emptied by `clear_util_rb`. [`Registry`] reads the
//! same directives and cuts a name the way SpamAssassin's `split_domain`
//! does, including its rules for the United States' locality domains
//! (`ci.boston.ma.us`, `pvt.k12.ca.us`). Without any of those directives,
//! as with the embedded default rules, a short list of the suffixes most
//! common in mail stands in ([`Registry::builtin`]). A rule set's list
//! reaches all three places that cut names, so they agree with each
//! other and with SpamAssassin.
//!
//! ```
//! use filter::spam::registry::Registry;
//!
//! let (r, bad) = Registry::from_settings([("util_rb_2tld", "co.uk com.au")]);
//! assert!(bad.is_empty());
//! assert_eq!(r.split_domain("WWW.Example.co.uk"), ("www".into(), "example.co.uk".into()));
//! assert_eq!(r.trim_domain("mail.example.com"), "example.com");
//! assert_eq!(r.trim_domain("fire-dept.ci.los-angeles.ca.us"), "fire-dept.ci.los-angeles.ca.us");
//! ```

use std::collections::HashSet;

/// The two-label suffixes most common in mail, used when the rule files
/// name none.
const COMMON_2TLD: &[&str] = &[
    "ac.jp", "ac.uk", "co.id", "co.il", "co.in", "co.jp", "co.kr", "co.nz", "co.th", "co.uk",
    "co.za", "com.ar", "com.au", "com.br", "com.cn", "com.hk", "com.mx", "com.my", "com.pl",
    "com.ru", "com.sg", "com.tr", "com.tw", "com.ua", "gov.uk", "ne.jp", "net.au", "net.cn",
    "or.jp", "org.au", "org.uk",
];

/// The two-letter codes of the United States' states and territories,
/// the second level of `.us` locality names.
const US_STATES: &[&str] = &[
    "ak", "al", "ar", "az", "ca", "co", "ct", "dc", "de", "fl", "ga", "gu", "hi", "ia", "id", "il",
    "in", "ks", "ky", "la", "ma", "md", "me", "mi", "mn", "mo", "ms", "mt", "nc", "nd", "ne", "nh",
    "nj", "nm", "nv", "ny", "oh", "ok", "or", "pa", "pr", "ri", "sc", "sd", "tn", "tx", "ut", "va",
    "vi", "vt", "wa", "wi", "wv", "wy",
];

/// The suffixes under which names are registered.
#[derive(Debug, Clone)]
pub struct Registry {
    two: HashSet<String>,
    three: HashSet<String>,
}

impl Default for Registry {
    /// The short built-in list.
    fn default() -> Registry {
        Registry {
            two: COMMON_2TLD.iter().map(|s| s.to_string()).collect(),
            three: HashSet::new(),
        }
    }
}

impl Registry {
    /// The lists `util_rb_2tld`, `util_rb_3tld` and `clear_util_rb` make,
    /// applied in order (the built-in list when none of them appears);
    /// other keys are ignored. Also returns, for each value that could not
    /// be read (and is left out), the directive and why.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Registry, Vec<(String, String)>) {
        let mut r: Option<Registry> = None;
        let mut bad = Vec::new();
        for (key, value) in settings {
            let labels = match key {
                "util_rb_2tld" => 2,
                "util_rb_3tld" => 3,
                "clear_util_rb" => {
                    r = Some(Registry {
                        two: HashSet::new(),
                        three: HashSet::new(),
                    });
                    continue;
                }
                _ => continue,
            };
            let words: Vec<&str> = value.split_ascii_whitespace().collect();
            // SpamAssassin takes all of a line or none of it.
            let ok = !words.is_empty()
                && words
                    .iter()
                    .all(|w| w.split('.').count() == labels && w.split('.').all(|l| !l.is_empty()));
            if !ok {
                bad.push((key.to_string(), format!("invalid '{key}' value")));
                continue;
            }
            let r = r.get_or_insert_with(|| Registry {
                two: HashSet::new(),
                three: HashSet::new(),
            });
            let set = if labels == 2 {
                &mut r.two
            } else {
                &mut r.three
            };
            set.extend(words.iter().map(|w| w.to_ascii_lowercase()));
        }
        (r.unwrap_or_default(), bad)
    }

    /// The host part and the registered domain of `name`, as
    /// SpamAssassin's `split_domain` cuts it: lower case, runs of dots
    /// made one, dots at the ends dropped; a name that is itself a
    /// suffix, or has one label, is all domain.
    pub fn split_domain(&self, name: &str) -> (String, String) {
        let mut d = String::with_capacity(name.len());
        for c in name.trim_matches('.').chars() {
            if !(c == '.' && d.ends_with('.')) {
                d.push(c.to_ascii_lowercase());
            }
        }
        if d.is_empty() {
            return (String::new(), String::new());
        }
        let parts: Vec<&str> = d.split('.').collect();
        let mut start = 0;
        while parts.len() - start > 1 {
            let rest = &parts[start..];
            let suffix = match rest.len() {
                2 => self.two.contains(&rest.join(".")),
                3 if rest[2] == "us" => US_STATES.contains(&rest[1]),
                3 => self.three.contains(&rest.join(".")),
                4 => {
                    rest[3] == "us"
                        && ((rest[0] == "pvt" && rest[1] == "k12")
                            || rest[0] == "ci"
                            || rest[0] == "co")
                        && US_STATES.contains(&rest[2])
                }
                _ => false,
            };
            if suffix {
                break;
            }
            start += 1;
        }
        // The label before the suffix belongs to the domain.
        let start = start.saturating_sub(1);
        (parts[..start].join("."), parts[start..].join("."))
    }

    /// The built-in list, shared: what every cut uses when no rule file
    /// gives one (a link's domain for a URI block list, the `:domain`
    /// header modifier, outside a rule set).
    pub fn builtin() -> &'static Registry {
        static BUILTIN: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::default);
        &BUILTIN
    }

    /// The registered domain of `name` ([`Registry::split_domain`]).
    pub fn trim_domain(&self, name: &str) -> String {
        self.split_domain(name).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock_like() -> Registry {
        Registry::from_settings([
            ("util_rb_2tld", "co.uk com.au"),
            ("util_rb_3tld", "demon.co.uk"),
        ])
        .0
    }

    #[test]
    fn split_as_spamassassin_splits() {
        let r = stock_like();
        let s = |n: &str| r.split_domain(n);
        assert_eq!(s("www.foo.com"), ("www".into(), "foo.com".into()));
        assert_eq!(s("foo.com"), ("".into(), "foo.com".into()));
        assert_eq!(s("com"), ("".into(), "com".into()));
        assert_eq!(s("a.b.foo.co.uk"), ("a.b".into(), "foo.co.uk".into()));
        assert_eq!(s("co.uk"), ("".into(), "co.uk".into()));
        assert_eq!(
            s("x.bar.demon.co.uk"),
            ("x".into(), "bar.demon.co.uk".into())
        );
        assert_eq!(s("..Www..Foo.COM."), ("www".into(), "foo.com".into()));
        assert_eq!(
            s("mail.city.boston.ma.us"),
            ("mail".into(), "city.boston.ma.us".into())
        );
        assert_eq!(s("boston.ma.us"), ("".into(), "boston.ma.us".into()));
        assert_eq!(
            s("school.pvt.k12.ca.us"),
            ("".into(), "school.pvt.k12.ca.us".into())
        );
        // Not a state: the plain two-label cut.
        assert_eq!(s("www.foo.zz.us"), ("www.foo".into(), "zz.us".into()));
        assert_eq!(s(""), ("".into(), "".into()));
        assert_eq!(s("..."), ("".into(), "".into()));
    }

    #[test]
    fn directives() {
        let (r, bad) = Registry::from_settings([("util_rb_2tld", "co.uk bad")]);
        assert_eq!(bad.len(), 1);
        // The built-in list: the bad line is not taken.
        assert_eq!(r.trim_domain("a.b.co.uk"), "b.co.uk");
        let (r, _) = Registry::from_settings([("util_rb_2tld", "co.uk"), ("clear_util_rb", "")]);
        assert_eq!(r.trim_domain("a.b.co.uk"), "co.uk");
        let (r, _) = Registry::from_settings([("util_rb_2tld", "co.nz")]);
        assert_eq!(
            r.trim_domain("a.b.co.uk"),
            "co.uk",
            "only what the files list"
        );
        assert_eq!(r.trim_domain("a.b.co.nz"), "b.co.nz");
    }

    proptest::proptest! {
        #[test]
        fn the_parts_make_the_name(labels in proptest::collection::vec("[a-z]{1,3}|co|uk|us|ca|k12|pvt|ci", 0..6)) {
            let r = stock_like();
            let name = labels.join(".");
            let (h, d) = r.split_domain(&name);
            let joined = if h.is_empty() { d.clone() } else { format!("{h}.{d}") };
            proptest::prop_assert_eq!(joined, name);
            if !labels.is_empty() {
                proptest::prop_assert!(d.split('.').count() >= 2.min(labels.len()));
            }
        }
    }
}
