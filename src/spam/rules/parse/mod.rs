//! The `.cf` parser: SpamAssassin 4.0.1 rule and configuration files read
//! into a [`Config`], line by line, as `Mail::SpamAssassin::Conf::Parser`
//! reads them.
//!
//! # Lines
//!
//! There is no line continuation. On each line, everything from the first `#`
//! that is not preceded by a backslash is a comment; then `\#` becomes `#`
//! (so a pattern that needs `#` writes `\#`), and leading and trailing
//! whitespace goes. A line is a directive (lower-cased, `-` read as `_`) and
//! its value. `lang xx ...` lines carry translations and are not loaded; they
//! are listed in [`Config::skipped`] under `lang`.
//!
//! # Conditionals
//!
//! `if EXPR`, `ifplugin NAME`, `else` and `endif` nest. Expressions are
//! evaluated as SpamAssassin 4.0.1 evaluates them: `version` is `4.000001`,
//! `perl_version` `5.036000` (Debian 12's), `local_tests_only` `0`,
//! `plugin(P)` is true when `P` is loaded, and `can(M::f)` / `has(M::f)` are
//! true for the `feature_*` methods of `Mail::SpamAssassin::Conf` and, while
//! plugin `P` is loaded, for the `has_*` methods of `Mail::SpamAssassin::
//! Plugin::P` (the tables are [`CONF_FEATURES`] and [`PLUGIN_HAS`]);
//! `compat_NAME` is true after `enable_compat NAME`. An `if`
//! block left open at the end of a file is closed there, with a note in
//! `skipped`.
//!
//! # Plugins
//!
//! [`Parser::new`] starts with exactly the plugins Debian's
//! `/etc/spamassassin/*.pre` files load ([`DEBIAN_PLUGINS`]); `loadplugin` and
//! `tryplugin` lines add any plugin SpamAssassin 4.0.1 ships
//! ([`KNOWN_PLUGINS`]). A plugin's directives are known only while it is
//! loaded, as in SpamAssassin; otherwise they are skipped with that reason.
//!
//! # Rules
//!
//! `header`, `body`, `rawbody`, `full`, `uri`, `meta` and (with the MIMEHeader
//! plugin) `mimeheader` define rules; `eval:` tests are read for `header`
//! (also `rbleval:`), `body`, `rawbody` and `full` (SpamAssassin refuses
//! `uri NAME eval:...`). Rule names match `[_A-Za-z][_A-Za-z0-9]*` and are at
//! most 100 characters long. A name defined again replaces the earlier rule in
//! place, unless the new definition is refused. `askdns NAME ...` (AskDNS) is
//! kept as an eval rule `askdns(query, type[, subtest])`, and `reuse NAME`
//! defines, when `NAME` is not yet a rule, a placeholder eval rule `reuse()`
//! that never hits outside SpamAssassin's mass-check.
//!
//! At [`Parser::finish`], ReplaceTags substitutes `<TAG>`s in the rules named
//! by `replace_rules`, and every rule without a `score` gets SpamAssassin's
//! default: 1.0, or 0.01 for `T_` rules, negated for `tflags nice`.
//!
//! ```
//! use filter::spam::rules::ast::Test;
//! use filter::spam::rules::parse::Parser;
//!
//! let mut p = Parser::new();
//! p.parse_str(
//!     "local.cf",
//!     "body LOTS_OF_MONEY /\\bmillion (?:dollars|USD)\\b/i  # a comment\n\
//!      score LOTS_OF_MONEY 2.5\n\
//!      ifplugin Mail::SpamAssassin::Plugin::NotLoaded\n\
//!      body NEVER /x/\n\
//!      endif\n",
//! );
//! let cfg = p.finish();
//! assert_eq!(cfg.rules.len(), 1);
//! assert!(matches!(&cfg.rules[0].test, Test::Regex { re, .. } if re.flags == "i"));
//! assert_eq!(cfg.scores["LOTS_OF_MONEY"], [2.5; 4]);
//! ```

mod directives;
mod expr;
mod perlre;
mod replace;

use super::ast::{Config, HeaderMods, HeaderTarget, Rule, Skipped, Target, Test, Tflags};
use expr::{Tok, Value};
use replace::ReplaceTags;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The version SpamAssassin compares `if (version ...)` against.
pub const SA_VERSION: f64 = 4.000001;
/// `$]` of Debian 12's Perl, for `perl_version`.
pub const PERL_VERSION: f64 = 5.036;
/// `require_version` accepts this (or the uninstalled `@@VERSION@@`).
const SA_VERSION_STR: &str = "4.000001";

/// The plugins Debian's `/etc/spamassassin/*.pre` files load (SpamAssassin
/// 4.0.1, Debian 12), short names under `Mail::SpamAssassin::Plugin::`.
pub const DEBIAN_PLUGINS: &[&str] = &[
    "AskDNS",
    "AutoLearnThreshold",
    "Bayes",
    "BodyEval",
    "Check",
    "DKIM",
    "DMARC",
    "DNSEval",
    "FreeMail",
    "HTMLEval",
    "HTTPSMismatch",
    "HashBL",
    "HeaderEval",
    "ImageInfo",
    "MIMEEval",
    "MIMEHeader",
    "Pyzor",
    "Razor2",
    "RelayEval",
    "ReplaceTags",
    "Rule2XSBody",
    "SPF",
    "SpamCop",
    "URIDNSBL",
    "URIDetail",
    "URIEval",
    "VBounce",
    "WLBLEval",
    "WelcomeListSubject",
];

/// Every plugin module SpamAssassin 4.0.1 ships (short names), which
/// `loadplugin`/`tryplugin` can load.
pub const KNOWN_PLUGINS: &[&str] = &[
    "ASN",
    "AWL",
    "AccessDB",
    "AntiVirus",
    "AskDNS",
    "AuthRes",
    "AutoLearnThreshold",
    "Bayes",
    "BodyEval",
    "BodyRuleBaseExtractor",
    "Check",
    "DCC",
    "DKIM",
    "DMARC",
    "DNSEval",
    "DecodeShortURLs",
    "ExtractText",
    "FreeMail",
    "FromNameSpoof",
    "HTMLEval",
    "HTTPSMismatch",
    "HashBL",
    "HeaderEval",
    "ImageInfo",
    "MIMEEval",
    "MIMEHeader",
    "OLEVBMacro",
    "OneLineBodyRuleType",
    "P595Body",
    "PDFInfo",
    "PhishTag",
    "Phishing",
    "Pyzor",
    "Razor2",
    "RelayCountry",
    "RelayEval",
    "ReplaceTags",
    "ResourceLimits",
    "Reuse",
    "Rule2XSBody",
    "SPF",
    "Shortcircuit",
    "SpamCop",
    "TextCat",
    "TxRep",
    "URIDNSBL",
    "URIDetail",
    "URIEval",
    "URILocalBL",
    "VBounce",
    "WLBLEval",
    "WelcomeListSubject",
];

/// `Mail::SpamAssassin::Conf` methods that `if can(...)` finds, with the
/// value each returns in SpamAssassin 4.0.1 on Perl 5.36 (all true).
pub const CONF_FEATURES: &[&str] = &[
    "feature_bayes_auto_learn_on_error",
    "feature_bayes_stopwords",
    "feature_blocklist_welcomelist",
    "feature_bug6558_free",
    "feature_capture_rules",
    "feature_compile_regexp",
    "feature_dns_block_rule",
    "feature_dns_local_ports_permit_avoid",
    "feature_dns_query_restriction",
    "feature_edns",
    "feature_geodb",
    "feature_get_host",
    "feature_header_address_parser",
    "feature_header_first_last",
    "feature_header_match_many",
    "feature_local_tests_only",
    "feature_meta_rules_matching",
    "feature_originating_ip_headers",
    "feature_registryboundaries",
    "feature_subjprefix",
    "feature_uri_host_listed",
    "feature_welcomelist_blocklist",
    "feature_yesno_takes_args",
    "has_tflags_nolog",
    "has_tflags_nosubject",
    "perl_min_version_5010000",
];

/// `(plugin, method)`: the `has_*` methods of each plugin (all return 1),
/// found by `can`/`has` only while the plugin is loaded.
pub const PLUGIN_HAS: &[(&str, &str)] = &[
    ("ASN", "has_asn_geodb"),
    ("ASN", "has_asn_lookup_ipv6"),
    ("ASN", "has_check_asn"),
    ("ASN", "has_check_asn_tag"),
    ("AskDNS", "has_tag_header"),
    ("BodyEval", "has_check_body_length"),
    ("BodyEval", "has_plaintext_body_sig_ratio"),
    ("DKIM", "has_arc"),
    ("DNSEval", "has_tflags_domains_only"),
    ("DNSEval", "has_tflags_ips_only"),
    ("DecodeShortURLs", "has_autoclean"),
    ("DecodeShortURLs", "has_clear"),
    ("DecodeShortURLs", "has_get"),
    ("DecodeShortURLs", "has_max_redirections"),
    ("DecodeShortURLs", "has_short_url"),
    ("DecodeShortURLs", "has_short_url_code"),
    ("DecodeShortURLs", "has_short_url_redir"),
    ("DecodeShortURLs", "has_timeout"),
    ("DecodeShortURLs", "has_user_agent"),
    ("HashBL", "has_hashbl_attachments"),
    ("HashBL", "has_hashbl_bodyre"),
    ("HashBL", "has_hashbl_bodyre_num"),
    ("HashBL", "has_hashbl_email_domain"),
    ("HashBL", "has_hashbl_email_domain_alias"),
    ("HashBL", "has_hashbl_email_regex"),
    ("HashBL", "has_hashbl_email_welcomelist"),
    ("HashBL", "has_hashbl_email_whitelist"),
    ("HashBL", "has_hashbl_emails"),
    ("HashBL", "has_hashbl_ignore"),
    ("HashBL", "has_hashbl_sha256"),
    ("HashBL", "has_hashbl_tag"),
    ("HashBL", "has_hashbl_uris"),
    ("MIMEEval", "has_check_abundant_unicode_ratio"),
    ("MIMEEval", "has_check_for_ascii_text_illegal"),
    ("MIMEEval", "has_check_qp_ratio"),
    ("MIMEHeader", "has_all_header"),
    ("MIMEHeader", "has_capture_rules"),
    ("MIMEHeader", "has_tflags_concat"),
    ("MIMEHeader", "has_tflags_multiple"),
    ("MIMEHeader", "has_tflags_range"),
    ("OLEVBMacro", "has_olemacro_mhtml_uri"),
    ("OLEVBMacro", "has_olemacro_redirect_uri"),
    ("OLEVBMacro", "has_olertfobject"),
    ("Pyzor", "has_fork"),
    ("Pyzor", "has_perl"),
    ("Razor2", "has_fork"),
    ("SPF", "has_check_for_spf_errors"),
    ("SPF", "has_check_spf_skipped_noenvfrom"),
    ("URIDNSBL", "has_subtest_for_ranges"),
    ("URIDNSBL", "has_tflags_domains_only"),
    ("URIDNSBL", "has_tflags_notrim"),
    ("URIDNSBL", "has_uridnsbl_a_ns"),
    ("URIDNSBL", "has_uridnsbl_for_a"),
    ("URIDNSBL", "has_uridnsbl_skip_mailto"),
    ("URIDetail", "has_host_key"),
];

const PLUGIN_PREFIX: &str = "Mail::SpamAssassin::Plugin::";
/// How deep `include`s may nest (SpamAssassin has no limit; cycles would
/// never end).
const MAX_INCLUDE_DEPTH: u32 = 16;

/// Reads `.cf` (and `.pre`) files into a [`Config`].
#[derive(Debug)]
pub struct Parser {
    config: Config,
    /// Rule name → index in `config.rules`.
    index: HashMap<String, usize>,
    /// Loaded plugins, full package names.
    plugins: BTreeSet<String>,
    replace: ReplaceTags,
    /// `enable_compat` flags: `can(Mail::SpamAssassin::Conf::compat_NAME)`.
    compat: BTreeSet<String>,
    depth: u32,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// One open `if`/`ifplugin`.
#[derive(Debug)]
struct Frame {
    kind: &'static str,
    /// The skip state before this block.
    skip_before: bool,
    line: u32,
}

/// Per-file state: SpamAssassin resets it at every file's end.
#[derive(Debug, Default)]
struct FileState {
    stack: Vec<Frame>,
    skip: bool,
}

impl Parser {
    /// A parser as SpamAssassin 4.0.1 is after reading Debian's
    /// `/etc/spamassassin/*.pre`: the plugins of [`DEBIAN_PLUGINS`] loaded
    /// and `enable_compat welcomelist_blocklist` (from `init.pre`) set.
    pub fn new() -> Parser {
        let mut p = Parser::with_plugins(DEBIAN_PLUGINS.iter().copied());
        p.compat.insert("welcomelist_blocklist".into());
        p
    }

    /// A parser with exactly these plugins loaded, short names (`Bayes`) or
    /// full package names (`Mail::SpamAssassin::Plugin::Bayes`), and no
    /// `enable_compat` flag: what SpamAssassin is before any `.pre` file.
    pub fn with_plugins<'a>(plugins: impl IntoIterator<Item = &'a str>) -> Parser {
        let mut p = Parser {
            config: Config::default(),
            index: HashMap::new(),
            plugins: BTreeSet::new(),
            replace: ReplaceTags::default(),
            compat: BTreeSet::new(),
            depth: 0,
        };
        for name in plugins {
            p.load_plugin(name);
        }
        p
    }

    /// Loads a plugin (short or full name) as `loadplugin` would, whether or
    /// not SpamAssassin ships it.
    pub fn load_plugin(&mut self, name: &str) {
        let full = full_plugin_name(name);
        self.plugins.insert(full);
    }

    /// Whether a plugin (short or full name) is loaded.
    pub fn plugin_loaded(&self, name: &str) -> bool {
        self.plugins.contains(&full_plugin_name(name))
    }

    /// Parses one file's text; `file` names it in [`Skipped`] entries and
    /// resolves relative `include`s against its directory.
    pub fn parse_str(&mut self, file: &str, text: &str) {
        let mut st = FileState::default();
        for (i, line) in text.split('\n').enumerate() {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.line(file, n, line, &mut st);
        }
        for f in st.stack {
            self.skip(
                file,
                f.line,
                f.kind,
                format!("unclosed '{}' closed at end of file", f.kind),
            );
        }
    }

    /// Parses a file's bytes: bytes that are not UTF-8 (Latin-1 text in some
    /// stock files) become `\xHH` escapes, which is what they mean inside a
    /// pattern, the only place the rules use them.
    pub fn parse_bytes(&mut self, file: &str, bytes: &[u8]) {
        let text = decode(bytes);
        self.parse_str(file, &text);
    }

    /// Parses a file, or every `*.pre` then `*.cf` file of a directory in
    /// name order, as SpamAssassin reads a rules directory.
    pub fn parse_path(&mut self, path: &Path) -> std::io::Result<()> {
        if path.is_dir() {
            let mut pre = Vec::new();
            let mut cf = Vec::new();
            for entry in std::fs::read_dir(path)? {
                let p = entry?.path();
                if !p.is_file() {
                    continue;
                }
                match p.extension().and_then(|e| e.to_str()) {
                    Some("pre") => pre.push(p),
                    Some("cf") => cf.push(p),
                    _ => {}
                }
            }
            pre.sort();
            cf.sort();
            for p in pre.into_iter().chain(cf) {
                self.parse_file(&p)?;
            }
            Ok(())
        } else {
            self.parse_file(path)
        }
    }

    fn parse_file(&mut self, path: &Path) -> std::io::Result<()> {
        let bytes = std::fs::read(path)?;
        self.parse_bytes(&path.to_string_lossy(), &bytes);
        Ok(())
    }

    /// The configuration read so far, with ReplaceTags applied and default
    /// scores filled in.
    pub fn finish(mut self) -> Config {
        self.apply_replace_tags();
        for rule in &self.config.rules {
            if self.config.scores.contains_key(&rule.name) {
                continue;
            }
            let mut s = if rule.name.starts_with("T_") {
                0.01
            } else {
                1.0
            };
            if self.config.tflags.get(&rule.name).is_some_and(|t| t.nice) {
                s = -s;
            }
            self.config.scores.insert(rule.name.clone(), [s; 4]);
        }
        self.config.plugins = self.plugins.iter().cloned().collect();
        self.config
    }

    fn apply_replace_tags(&mut self) {
        let rules = std::mem::take(&mut self.replace.rules);
        for name in &rules {
            let Some(&i) = self.index.get(name) else {
                continue;
            };
            match &mut self.config.rules[i].test {
                Test::Header { re, .. } | Test::Regex { re, .. } => {
                    re.pattern = self.replace.apply(&re.pattern);
                }
                _ => {}
            }
        }
        self.replace.rules = rules;
    }

    fn skip(&mut self, file: &str, line: u32, directive: &str, reason: impl Into<String>) {
        self.config.skipped.push(Skipped {
            file: file.to_string(),
            line,
            directive: directive.to_string(),
            reason: reason.into(),
        });
    }

    fn line(&mut self, file: &str, n: u32, raw: &str, st: &mut FileState) {
        let mut line: Cow<'_, str> = Cow::Borrowed(raw);
        if line.contains('#') {
            let cut = comment_start(&line);
            let kept = &line[..cut];
            line = Cow::Owned(kept.replace("\\#", "#"));
        }
        let line = trim_perl(&line);
        if line.is_empty() {
            return;
        }
        let (key_raw, value) = split_word(line);
        if key_raw == "lang" && !value.is_empty() && value.contains(is_perl_space) {
            // `lang xx ...`: loaded only for that locale; we load none.
            if !st.skip {
                let (lang, rest) = split_word(value);
                let (dir, _) = split_word(rest);
                self.skip(
                    file,
                    n,
                    "lang",
                    format!("translation for '{lang}' ({dir}) not loaded"),
                );
            }
            return;
        }
        let key = key_raw.to_ascii_lowercase().replace('-', "_");
        let key = key.as_str();

        match key {
            "endif" => {
                if !value.is_empty() {
                    return self.skip(file, n, key, "'endif' must be standalone");
                }
                match st.stack.pop() {
                    Some(f) => st.skip = f.skip_before,
                    None => self.skip(file, n, key, "missing starting 'if' for 'endif'"),
                }
                return;
            }
            "ifplugin" | "if" => {
                if value.is_empty() {
                    return self.skip(file, n, key, format!("missing '{key}' condition"));
                }
                let expr = if key == "ifplugin" {
                    format!("plugin ({value})")
                } else {
                    value.to_string()
                };
                let kind = if key == "if" { "if" } else { "ifplugin" };
                match self.conditional(&expr) {
                    Ok(truth) => {
                        st.stack.push(Frame {
                            kind,
                            skip_before: st.skip,
                            line: n,
                        });
                        if !truth {
                            st.skip = true;
                        }
                    }
                    Err(CondError::Unparseable(reason)) => {
                        // SpamAssassin warns and pushes nothing, so the
                        // block's lines are read and its `endif` pops an
                        // outer block.
                        self.skip(file, n, key, reason);
                    }
                    Err(CondError::Eval) => {
                        if !st.skip {
                            self.skip(file, n, key, "error evaluating condition; block skipped");
                        }
                        st.stack.push(Frame {
                            kind,
                            skip_before: st.skip,
                            line: n,
                        });
                        st.skip = true;
                    }
                }
                return;
            }
            "else" => {
                if !value.is_empty() {
                    return self.skip(file, n, key, "'else' must be standalone");
                }
                if st.stack.is_empty() {
                    return self.skip(file, n, key, "'else' missing starting if");
                }
                st.skip = if st.stack.iter().any(|f| f.skip_before) {
                    true
                } else {
                    !st.skip
                };
                return;
            }
            "file" => {
                // SpamAssassin's own file markers; not meant for rule files.
                if !st.skip {
                    self.skip(file, n, key, "internal 'file' marker not supported");
                }
                return;
            }
            _ => {}
        }
        if st.skip {
            return;
        }
        if key == "include" {
            return self.include(file, n, value);
        }
        if key == "require_version" {
            if value.is_empty() {
                return self.skip(file, n, key, "missing 'require_version' value");
            }
            if value != "@@VERSION@@" && value != SA_VERSION_STR {
                self.skip(
                    file,
                    n,
                    key,
                    format!("requires version {value}; rest of file skipped"),
                );
                st.skip = true;
            }
            return;
        }
        self.directive(file, n, key, value);
    }

    fn include(&mut self, file: &str, n: u32, value: &str) {
        if value.is_empty() {
            return self.skip(file, n, "include", "missing 'include' value");
        }
        if self.depth >= MAX_INCLUDE_DEPTH {
            return self.skip(file, n, "include", "includes nested too deeply");
        }
        let mut path = PathBuf::from(value);
        if path.is_relative()
            && let Some(dir) = Path::new(file).parent()
        {
            path = dir.join(path);
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                self.depth += 1;
                self.parse_bytes(&path.to_string_lossy(), &bytes);
                self.depth -= 1;
            }
            Err(e) => self.skip(
                file,
                n,
                "include",
                format!("cannot read {}: {e}", path.display()),
            ),
        }
    }

    fn directive(&mut self, file: &str, n: u32, key: &str, value: &str) {
        if let Err(reason) = self.known(key) {
            return self.skip(file, n, key, reason);
        }
        let result = match key {
            "header" | "body" | "rawbody" | "full" | "uri" | "meta" | "mimeheader" => {
                self.rule_directive(file, n, key, value)
            }
            "score" => self.score(value),
            "describe" => match split_word(value) {
                (name, text) if !name.is_empty() && !text.is_empty() => {
                    self.config
                        .describes
                        .insert(name.to_string(), text.to_string());
                    Ok(())
                }
                _ => Err("missing 'describe' value".into()),
            },
            "tflags" => match split_word(value) {
                (name, flags) if !name.is_empty() && !flags.is_empty() => {
                    self.config
                        .tflags
                        .insert(name.to_string(), parse_tflags(flags));
                    Ok(())
                }
                _ => Err("missing 'tflags' value".into()),
            },
            "priority" => self.priority(value),
            "required_score" | "required_hits" => match parse_numeric(value) {
                Some(v) => {
                    self.config.required_score = v;
                    Ok(())
                }
                None if value.is_empty() => Err(format!("missing '{key}' value")),
                None => Err(format!("invalid '{key}' value")),
            },
            "loadplugin" | "tryplugin" => self.loadplugin(key, value),
            "enable_compat" => {
                let ok = (1..=128).contains(&value.len())
                    && value
                        .bytes()
                        .all(|c| c == b'_' || c.is_ascii_alphanumeric());
                if ok {
                    self.compat.insert(value.to_string());
                    self.config
                        .settings
                        .push((key.to_string(), value.to_string()));
                    Ok(())
                } else if value.is_empty() {
                    Err("missing 'enable_compat' value".into())
                } else {
                    Err("invalid 'enable_compat' value".into())
                }
            }
            "reuse" => self.reuse(file, n, value),
            "askdns" => self.askdns(file, n, value),
            "replace_tag" | "replace_pre" | "replace_post" | "replace_inter" => {
                match split_word(value) {
                    (name, v) if !name.is_empty() && !v.is_empty() => {
                        let map = match key {
                            "replace_tag" => &mut self.replace.tags,
                            "replace_pre" => &mut self.replace.pre,
                            "replace_post" => &mut self.replace.post,
                            _ => &mut self.replace.inter,
                        };
                        map.insert(name.to_string(), v.to_string());
                        Ok(())
                    }
                    _ => Err(format!("missing '{key}' value")),
                }
            }
            "replace_rules" => {
                if value.is_empty() {
                    Err("missing 'replace_rules' value".into())
                } else {
                    for r in value.split(is_perl_space).filter(|s| !s.is_empty()) {
                        if !self.replace.rules.iter().any(|x| x == r) {
                            self.replace.rules.push(r.to_string());
                        }
                    }
                    Ok(())
                }
            }
            "replace_start" | "replace_end" => {
                if value.is_empty() {
                    Err(format!("missing '{key}' value"))
                } else {
                    if key == "replace_start" {
                        self.replace.start = value.to_string();
                    } else {
                        self.replace.end = value.to_string();
                    }
                    Ok(())
                }
            }
            _ => {
                self.config
                    .settings
                    .push((key.to_string(), value.to_string()));
                Ok(())
            }
        };
        if let Err(reason) = result {
            self.skip(file, n, key, reason);
        }
    }

    /// Whether SpamAssassin with the current plugins knows `key`.
    fn known(&self, key: &str) -> Result<(), String> {
        if directives::CORE.binary_search(&key).is_ok() {
            return Ok(());
        }
        let owners: Vec<&str> = directives::PLUGIN
            .iter()
            .filter(|(d, _)| *d == key)
            .map(|(_, p)| *p)
            .collect();
        let owners = if owners.is_empty() {
            // Directives that plugins take in their `parse_config` hook.
            let lower = key;
            if lower.len() == "bayes_stopword_xx".len() && lower.starts_with("bayes_stopword_") {
                vec!["Bayes"]
            } else if lower == "extracttext_use" || lower == "extracttext_external" {
                vec!["ExtractText"]
            } else if matches!(
                lower,
                "freemail_domains" | "freemail_welcomelist" | "freemail_whitelist"
            ) {
                vec!["FreeMail"]
            } else if lower.strip_prefix("hashbl_acl_").is_some_and(|s| {
                (1..=32).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric())
            }) {
                vec!["HashBL"]
            } else {
                return Err("unknown directive".into());
            }
        } else {
            owners
        };
        if owners.iter().any(|p| self.plugin_loaded(p)) {
            Ok(())
        } else {
            Err(format!(
                "directive of plugin {} (not loaded)",
                owners.join("/")
            ))
        }
    }

    fn loadplugin(&mut self, key: &str, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return Err(format!("missing '{key}' value"));
        }
        let (package, path) = split_word(value);
        let valid_path = path.is_empty()
            || (!path.contains(is_perl_space) && path.to_ascii_lowercase().ends_with(".pm"));
        if !valid_package(package) || !valid_path {
            return Err(format!("invalid '{key}' value"));
        }
        let package = match package {
            "Mail::SpamAssassin::Plugin::Dmarc" => "Mail::SpamAssassin::Plugin::DMARC",
            "Mail::SpamAssassin::Plugin::WhiteListSubject" => {
                "Mail::SpamAssassin::Plugin::WelcomeListSubject"
            }
            p => p,
        };
        if package == "Mail::SpamAssassin::Plugin::HashCash" {
            return Err("plugin HashCash is deprecated, not loaded".into());
        }
        let shipped = package
            .strip_prefix(PLUGIN_PREFIX)
            .is_some_and(|s| KNOWN_PLUGINS.contains(&s) && path.is_empty());
        if shipped {
            self.plugins.insert(package.to_string());
            Ok(())
        } else {
            Err(format!(
                "plugin {package} is not one SpamAssassin ships; not loaded"
            ))
        }
    }

    fn score(&mut self, value: &str) -> Result<(), String> {
        let mut words = value.split(is_perl_space).filter(|s| !s.is_empty());
        let name = words.next().unwrap_or("");
        let raw: Vec<&str> = words.collect();
        if name.is_empty() || !(raw.len() == 1 || raw.len() == 4) {
            return Err("requires a rule name and 1 or 4 scores".into());
        }
        let mut relative = false;
        let mut vals = Vec::with_capacity(4);
        for s in raw {
            let s = match s.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
                Some(inner) if is_score(inner) => {
                    relative = true;
                    inner
                }
                _ => s,
            };
            if !is_score(s) {
                return Err(format!("non-numeric score '{s}'"));
            }
            vals.push(
                s.parse::<f64>()
                    .map_err(|_| format!("non-numeric score '{s}'"))?,
            );
        }
        let vals = if vals.len() == 4 {
            [vals[0], vals[1], vals[2], vals[3]]
        } else {
            [vals[0]; 4]
        };
        if relative {
            let Some(old) = self.config.scores.get_mut(name) else {
                return Err("relative score without previous setting".into());
            };
            for (o, v) in old.iter_mut().zip(vals) {
                *o += v;
            }
        } else {
            self.config.scores.insert(name.to_string(), vals);
        }
        Ok(())
    }

    fn priority(&mut self, value: &str) -> Result<(), String> {
        let (name, pri) = split_word(value);
        if pri.is_empty() {
            return Err("missing 'priority' value".into());
        }
        if !expr::is_rule_name(name) {
            return Err("invalid 'priority' value".into());
        }
        let digits = pri.strip_prefix('-').unwrap_or(pri);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err("invalid 'priority' value".into());
        }
        let p: i32 = pri
            .parse()
            .map_err(|_| "priority out of range".to_string())?;
        self.config.priorities.insert(name.to_string(), p);
        Ok(())
    }

    fn reuse(&mut self, file: &str, n: u32, value: &str) -> Result<(), String> {
        let (name, _) = split_word(value);
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_alphanumeric()) {
            return Err("invalid 'reuse' value".into());
        }
        if !self.index.contains_key(name) {
            let test = Test::Eval {
                target: Target::Header,
                function: "reuse".into(),
                args: Vec::new(),
            };
            self.add_rule(file, n, name, test)?;
        }
        Ok(())
    }

    fn askdns(&mut self, file: &str, n: u32, value: &str) -> Result<(), String> {
        let words: Vec<&str> = value
            .split(is_perl_space)
            .filter(|s| !s.is_empty())
            .collect();
        if words.len() < 2 {
            return Err("missing 'askdns' value".into());
        }
        let rtype = words.get(2).copied().unwrap_or("A");
        let mut args = vec![words[1].to_string(), rtype.to_string()];
        if words.len() > 3 {
            args.push(words[3..].join(" "));
        }
        let test = Test::Eval {
            target: Target::Header,
            function: "askdns".into(),
            args,
        };
        self.add_rule(file, n, words[0], test)
    }

    fn rule_directive(&mut self, file: &str, n: u32, key: &str, value: &str) -> Result<(), String> {
        let (name, body) = split_word(value);
        if name.is_empty() {
            return Err(format!("invalid '{key}' value"));
        }
        if body.is_empty() {
            return Err(format!("missing '{key}' value"));
        }
        let test = match key {
            "header" => header_test(body)?,
            "meta" => {
                expr::check_meta(body)?;
                Test::Meta(body.to_string())
            }
            "mimeheader" => mimeheader_test(body)?,
            _ => {
                let target = match key {
                    "body" => Target::Body,
                    "rawbody" => Target::Rawbody,
                    "full" => Target::Full,
                    _ => Target::Uri,
                };
                match body.strip_prefix("eval:") {
                    Some(call) if target != Target::Uri => {
                        let (function, args) = parse_eval(call)?;
                        Test::Eval {
                            target,
                            function,
                            args,
                        }
                    }
                    _ => Test::Regex {
                        target,
                        re: perlre::split(body).map_err(|e| format!("invalid regexp: {e}"))?,
                    },
                }
            }
        };
        self.add_rule(file, n, name, test)
    }

    fn add_rule(&mut self, file: &str, line: u32, name: &str, test: Test) -> Result<(), String> {
        if !expr::is_rule_name(name) {
            return Err(format!("invalid rule name '{name}'"));
        }
        if name.len() > 100 {
            return Err(format!("rule name '{name}' is too long"));
        }
        let rule = Rule {
            name: name.to_string(),
            test,
            file: file.to_string(),
            line,
        };
        match self.index.get(name) {
            Some(&i) => self.config.rules[i] = rule,
            None => {
                self.index.insert(name.to_string(), self.config.rules.len());
                self.config.rules.push(rule);
            }
        }
        Ok(())
    }

    /// Evaluates an `if` expression. `Unparseable` when SpamAssassin's token
    /// check refuses it; `Eval` when Perl would fail to run it.
    fn conditional(&self, text: &str) -> Result<bool, CondError> {
        let mut toks = Vec::new();
        for t in expr::lex(text) {
            let tok = match t {
                "(" | ")" | "!" => Tok::Op(t.to_string()),
                "plugin" => Tok::Func("plugin"),
                "can" => Tok::Func("can"),
                "has" => Tok::Func("has"),
                "version" => Tok::Val(Value::Num(SA_VERSION)),
                "perl_version" => Tok::Val(Value::Num(PERL_VERSION)),
                "local_tests_only" => Tok::Val(Value::Num(0.0)),
                _ if is_signed_decimal(t) => Tok::Val(Value::Num(t.parse().unwrap_or(0.0))),
                _ if (1..=5).contains(&t.chars().count())
                    && t.chars().all(|c| !(c == '_' || c.is_alphanumeric())) =>
                {
                    Tok::Op(t.to_string())
                }
                _ if t.len() >= 2
                    && t.chars()
                        .all(|c| c == ':' || c == '_' || c.is_alphanumeric()) =>
                {
                    if !valid_package(t) {
                        return Err(CondError::Unparseable(format!("not allowed value '{t}'")));
                    }
                    let t = match t {
                        "Mail::SpamAssassin::Plugin::Dmarc" => "Mail::SpamAssassin::Plugin::DMARC",
                        "Mail::SpamAssassin::Plugin::WhiteListSubject" => {
                            "Mail::SpamAssassin::Plugin::WelcomeListSubject"
                        }
                        t => t,
                    };
                    Tok::Val(Value::Str(t.to_string()))
                }
                _ => return Err(CondError::Unparseable(format!("unparseable value '{t}'"))),
            };
            toks.push(tok);
        }
        let mut call = |f: &str, arg: &Value| -> Value {
            let Value::Str(s) = arg else {
                return Value::Undef;
            };
            let yes = match f {
                "plugin" => {
                    s == "Mail::SpamAssassin::Plugin::RaciallyCharged" || self.plugins.contains(s)
                }
                _ => self.can(s),
            };
            if yes { Value::Num(1.0) } else { Value::Undef }
        };
        expr::eval(&toks, &mut call)
            .map(|v| v.truthy())
            .map_err(|()| CondError::Eval)
    }

    /// `can(Module::method)` (and `has`): whether the method exists; all
    /// the ones SpamAssassin defines return true.
    fn can(&self, method: &str) -> bool {
        let Some((module, meth)) = method.rsplit_once("::") else {
            return false;
        };
        if meth.is_empty() || meth.contains(':') {
            return false;
        }
        if module == "Mail::SpamAssassin::Conf" {
            return CONF_FEATURES.contains(&meth)
                || meth
                    .strip_prefix("compat_")
                    .is_some_and(|f| self.compat.contains(f));
        }
        match module.strip_prefix(PLUGIN_PREFIX) {
            Some(p) => {
                self.plugins.contains(module)
                    && PLUGIN_HAS.iter().any(|(pp, m)| *pp == p && *m == meth)
            }
            None => false,
        }
    }
}

/// Why an `if` line was not evaluated.
enum CondError {
    Unparseable(String),
    Eval,
}

/// `Mail::SpamAssassin::Plugin::` + name, unless already qualified.
fn full_plugin_name(name: &str) -> String {
    if name.contains("::") {
        name.to_string()
    } else {
        format!("{PLUGIN_PREFIX}{name}")
    }
}

/// `(?:\w+::){0,10}\w+`.
fn valid_package(s: &str) -> bool {
    let parts: Vec<&str> = s.split("::").collect();
    parts.len() <= 11
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c == '_' || c.is_alphanumeric()))
}

/// Perl's `\s`.
fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn trim_perl(s: &str) -> &str {
    s.trim_matches(is_perl_space)
}

/// First word and the rest after the whitespace that follows it.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(is_perl_space) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(is_perl_space)),
        None => (s, ""),
    }
}

/// Byte offset of the first `#` not preceded by a backslash (or the length).
fn comment_start(s: &str) -> usize {
    let b = s.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b'#' && (i == 0 || b[i - 1] != b'\\'))
        .unwrap_or(b.len())
}

/// `^-?\d+(?:\.\d+)?$`.
fn is_score(s: &str) -> bool {
    expr::is_decimal(s.strip_prefix('-').unwrap_or(s))
}

/// `[+-]?\d+(?:\.\d+)?`.
fn is_signed_decimal(s: &str) -> bool {
    expr::is_decimal(s.strip_prefix(['+', '-']).unwrap_or(s))
}

/// SpamAssassin's numeric settings: `[+-]?\d+(?:\.\d*)?`.
fn parse_numeric(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    s.trim_end_matches('.').parse().ok()
}

fn parse_tflags(s: &str) -> Tflags {
    let mut t = Tflags::default();
    for f in s.split(is_perl_space).filter(|f| !f.is_empty()) {
        match f {
            "nice" => t.nice = true,
            "net" => t.net = true,
            "learn" => t.learn = true,
            "userconf" => t.userconf = true,
            "noautolearn" => t.noautolearn = true,
            "multiple" => t.multiple = true,
            "nosubject" => t.nosubject = true,
            _ => match f.strip_prefix("maxhits=").and_then(|v| v.parse().ok()) {
                Some(n) => t.maxhits = Some(n),
                None => t.other += 1,
            },
        }
    }
    t
}

/// A header rule's text after the name (SpamAssassin's `add_test` for
/// header tests).
fn header_test(body: &str) -> Result<Test, String> {
    let eval_call = body
        .strip_prefix("rbleval:")
        .or_else(|| body.strip_prefix("eval:"));
    if let Some(call) = eval_call {
        let (function, args) = parse_eval(call)?;
        return Ok(Test::Eval {
            target: Target::Header,
            function,
            args,
        });
    }
    if let Some(h) = body.strip_prefix("exists:") {
        let h = h.strip_suffix(':').unwrap_or(h);
        if h.is_empty() || !h.chars().all(is_header_char) {
            return Err(format!("invalid head test header: {h}"));
        }
        return Ok(Test::Exists(h.to_string()));
    }
    // `([\w.-]+(?::|(?::[a-z]+){1,2})?)\s*([=!]~)\s*(.+)`
    let name_len = body
        .find(|c: char| !is_header_char(c))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    let mut rest = &body[name_len..];
    let mut mods_text = "";
    if let Some(r) = rest.strip_prefix(':') {
        let end = r
            .find(|c: char| !(c.is_ascii_lowercase() || c == ':'))
            .unwrap_or(r.len());
        mods_text = &r[..end];
        rest = &r[end..];
    }
    let mods_list: Vec<&str> = if mods_text.is_empty() {
        Vec::new()
    } else {
        mods_text.split(':').collect()
    };
    if name.is_empty() || mods_list.len() > 2 || mods_list.iter().any(|m| m.is_empty()) {
        return Err(format!("invalid head test: {body}"));
    }
    let mut rest = rest.trim_start_matches(is_perl_space);
    let negate = if let Some(r) = rest.strip_prefix("!~") {
        rest = r;
        true
    } else if let Some(r) = rest.strip_prefix("=~") {
        rest = r;
        false
    } else {
        return Err(format!("invalid head test: {body}"));
    };
    let mut pat = rest.trim_start_matches(is_perl_space);
    if pat.is_empty() {
        return Err(format!("invalid head test: {body}"));
    }
    let mut mods = HeaderMods::default();
    for m in &mods_list {
        match *m {
            "raw" => mods.raw = true,
            "addr" => mods.addr = true,
            "name" => mods.name = true,
            "host" => mods.host = true,
            "domain" => mods.domain = true,
            "ip" => mods.ip = true,
            "revip" => mods.revip = true,
            "first" => mods.first = true,
            "last" => mods.last = true,
            other => return Err(format!("invalid header modifier: {other}")),
        }
    }
    let (p, if_unset) = split_if_unset(pat);
    pat = p;
    let re = perlre::split(pat).map_err(|e| format!("invalid regexp: {e}"))?;
    let target = match name {
        "ALL" => HeaderTarget::All,
        "ToCc" => HeaderTarget::ToCc,
        "EnvelopeFrom" => HeaderTarget::EnvelopeFrom,
        "MESSAGEID" => HeaderTarget::MessageId,
        n => HeaderTarget::Named(vec![n.to_string()]),
    };
    Ok(Test::Header {
        target,
        mods,
        negate,
        re,
        if_unset,
    })
}

/// `\s+\[if-unset:\s+(.+)\]$` taken off the end of a pattern (the leftmost
/// `[if-unset:` that fits; the value runs to the final `]`).
fn split_if_unset(pat: &str) -> (&str, Option<String>) {
    const KEY: &str = "[if-unset:";
    let Some(stripped) = pat.strip_suffix(']') else {
        return (pat, None);
    };
    for (at, _) in stripped.match_indices(KEY) {
        let before = &pat[..at];
        let after = &stripped[at + KEY.len()..];
        let value = after.trim_start_matches(is_perl_space);
        if before.ends_with(is_perl_space) && value.len() < after.len() && !value.is_empty() {
            return (
                before.trim_end_matches(is_perl_space),
                Some(value.to_string()),
            );
        }
    }
    (pat, None)
}

/// RFC 5322 field-name characters as SpamAssassin allows them: `[\w.-]`.
fn is_header_char(c: char) -> bool {
    c == '_' || c == '.' || c == '-' || c.is_alphanumeric()
}

/// `mimeheader NAME Header[:raw] =~ /re/ [if-unset: ...]` after the name:
/// `([^:\s]+(?::(?:raw)?)?)\s*([=!]~)\s*(.+)`, including its backtracking.
fn mimeheader_test(body: &str) -> Result<Test, String> {
    let bad = || format!("invalid 'mimeheader' value: {body}");
    let op = |r: &str| -> Option<(bool, String)> {
        let (neg, p) = if let Some(p) = r.strip_prefix("!~") {
            (true, p)
        } else {
            (false, r.strip_prefix("=~")?)
        };
        let p = p.trim_start_matches(is_perl_space);
        (!p.is_empty()).then(|| (neg, p.to_string()))
    };
    let limit = body
        .find(|c: char| c == ':' || is_perl_space(c))
        .unwrap_or(body.len());
    let mut found = None;
    if limit > 0 {
        let after = &body[limit..];
        for (raw, r) in [
            (true, after.strip_prefix(":raw")),
            (false, after.strip_prefix(':')),
            (false, Some(after)),
        ] {
            if let Some((neg, pat)) = r.and_then(|r| op(r.trim_start_matches(is_perl_space))) {
                found = Some((&body[..limit], raw, neg, pat));
                break;
            }
        }
    }
    if found.is_none() {
        for p in (1..limit).rev() {
            if !body.is_char_boundary(p) {
                continue;
            }
            if let Some((neg, pat)) = op(&body[p..]) {
                found = Some((&body[..p], false, neg, pat));
                break;
            }
        }
    }
    let (name, raw, negate, pat) = found.ok_or_else(bad)?;
    let (pat, _if_unset) = split_if_unset(&pat);
    let re = perlre::split(pat).map_err(|e| format!("invalid regexp: {e}"))?;
    Ok(Test::Mimeheader {
        name: name.to_string(),
        raw,
        negate,
        re,
    })
}

/// `name(args)`: `^\w+\(.*\)$`, then SpamAssassin's `pack_eval_args`.
fn parse_eval(call: &str) -> Result<(String, Vec<String>), String> {
    let fname_len = call
        .find(|c: char| !(c == '_' || c.is_alphanumeric()))
        .unwrap_or(call.len());
    let function = &call[..fname_len];
    let Some(inner) = call[fname_len..]
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
    else {
        return Err(format!("invalid eval call: {call}"));
    };
    if function.is_empty() {
        return Err(format!("invalid eval call: {call}"));
    }
    let args =
        pack_eval_args(inner).ok_or_else(|| format!("syntax error for eval function: {call}"))?;
    Ok((function.to_string(), args))
}

/// Quoted strings (quotes removed) or bare `[\d.:A-Za-z-]+`, separated by
/// commas; `None` when something is left over.
fn pack_eval_args(mut s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    if !s.is_empty() && s.chars().all(is_perl_space) {
        return Some(out);
    }
    // After an argument: `\s*(?:,\s*|$)`; returns the rest, or None.
    fn sep(r: &str) -> Option<&str> {
        let r = r.trim_start_matches(is_perl_space);
        if r.is_empty() {
            Some(r)
        } else {
            r.strip_prefix(',')
                .map(|r| r.trim_start_matches(is_perl_space))
        }
    }
    while !s.is_empty() {
        let t = s.trim_start_matches(is_perl_space);
        let q = t.chars().next()?;
        if q == '\'' || q == '"' {
            let body = &t[1..];
            let mut found = None;
            for (i, c) in body.char_indices() {
                if c == q
                    && let Some(rest) = sep(&body[i + 1..])
                {
                    found = Some((body[..i].to_string(), rest));
                    break;
                }
            }
            let (arg, rest) = found?;
            out.push(arg);
            s = rest;
        } else {
            let len = t
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == ':' || c == '-'))
                .unwrap_or(t.len());
            if len == 0 {
                return None;
            }
            let rest = sep(&t[len..])?;
            out.push(t[..len].to_string());
            s = rest;
        }
    }
    Some(out)
}

/// UTF-8 text with every invalid byte written as `\xHH`.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 16);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_args() {
        assert_eq!(pack_eval_args(""), Some(vec![]));
        assert_eq!(pack_eval_args("  "), Some(vec![]));
        assert_eq!(
            pack_eval_args("'a', \"b c\",3.5, x-y"),
            Some(vec!["a".into(), "b c".into(), "3.5".into(), "x-y".into()])
        );
        assert_eq!(
            pack_eval_args("'a'b', 'c'"),
            Some(vec!["a'b".into(), "c".into()])
        );
        assert_eq!(pack_eval_args("a b"), None);
        assert_eq!(pack_eval_args("'a"), None);
    }

    #[test]
    fn comments() {
        assert_eq!(comment_start("a # b"), 2);
        assert_eq!(comment_start("a \\# b"), 6);
        assert_eq!(comment_start("#x"), 0);
    }

    #[test]
    fn decodes_latin1_as_escapes() {
        assert_eq!(decode(b"a\xe9b"), "a\\xE9b");
        assert_eq!(decode("é".as_bytes()), "é");
    }

    #[test]
    fn numeric() {
        assert_eq!(parse_numeric("5"), Some(5.0));
        assert_eq!(parse_numeric("-3.5"), Some(-3.5));
        assert_eq!(parse_numeric("6."), Some(6.0));
        assert_eq!(parse_numeric(".5"), None);
        assert_eq!(parse_numeric("x"), None);
    }
}
