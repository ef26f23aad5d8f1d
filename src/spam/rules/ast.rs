//! What a set of SpamAssassin `.cf` files says, before compiling.
//!
//! [`parse`](super::parse) fills a [`Config`] from any number of files, in
//! order; later definitions override earlier ones as they do in
//! SpamAssassin (a rule redefined with the same name replaces the earlier
//! definition; `score`, `describe`, `tflags` and `priority` set per name,
//! last one wins).

use std::collections::HashMap;

/// A Perl regex as written in a rule: `m{...}i`, `/.../`, etc., split into
/// the pattern (delimiters removed, escaped delimiters unescaped where Perl
/// would) and the flags (`i`, `s`, `m`, `x`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerlRe {
    /// The pattern between the delimiters.
    pub pattern: String,
    /// The flags after the closing delimiter.
    pub flags: String,
}

/// Which header(s) a header rule reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderTarget {
    /// One named header (`Subject`), or several joined with `|` in the rule
    /// (`From|To`): all the names, as written. SpamAssassin's
    /// pseudo-headers `X-Spam-Relays-*` and `ALL-TRUSTED`, `ALL-INTERNAL`,
    /// `ALL-UNTRUSTED`, `ALL-EXTERNAL` are names too, made when the rules
    /// read them.
    Named(Vec<String>),
    /// `ALL`: the whole header block.
    All,
    /// `ToCc`: To and Cc together.
    ToCc,
    /// `EnvelopeFrom`.
    EnvelopeFrom,
    /// `MESSAGEID`: Message-Id and the other message-id headers.
    MessageId,
}

/// `:raw`, `:addr`, `:name` and the others that may follow a header name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderMods {
    /// `:raw`: undecoded, unfolded value.
    pub raw: bool,
    /// `:addr`: the first address only.
    pub addr: bool,
    /// `:name`: the first display name only.
    pub name: bool,
    /// `:host`: the host name of the first address (SA 4 `feature_get_host`).
    pub host: bool,
    /// `:domain`: the registrable domain of `:host`.
    pub domain: bool,
    /// `:ip`: the host resolved to an IP address (needs DNS; SA 4).
    pub ip: bool,
    /// `:revip`: `:ip` reversed, as for a DNSBL query (SA 4).
    pub revip: bool,
    /// `:first`: only the first (topmost) instance of the header (SA 4).
    pub first: bool,
    /// `:last`: only the last (bottom) instance of the header (SA 4).
    pub last: bool,
}

/// What kind of text a rule or an eval reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `header`
    Header,
    /// `body`
    Body,
    /// `rawbody`
    Rawbody,
    /// `full`
    Full,
    /// `uri`
    Uri,
    /// `mimeheader`
    Mimeheader,
}

/// One rule's test.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `header NAME Header =~ /re/` or `!~`; `[if-unset: STRING]` kept.
    Header {
        /// Which header.
        target: HeaderTarget,
        /// Modifiers after the name.
        mods: HeaderMods,
        /// `!~` rather than `=~`.
        negate: bool,
        /// The regex.
        re: PerlRe,
        /// `[if-unset: ...]`: the text used when the header is absent.
        if_unset: Option<String>,
    },
    /// `header NAME exists:Header`.
    Exists(String),
    /// `body`, `rawbody`, `full` and `uri` regex rules.
    Regex {
        /// body, rawbody, full or uri.
        target: Target,
        /// The regex.
        re: PerlRe,
    },
    /// `mimeheader NAME Header =~ /re/` (`:raw` allowed).
    Mimeheader {
        /// The header name.
        name: String,
        /// `:raw`.
        raw: bool,
        /// `!~`.
        negate: bool,
        /// The regex.
        re: PerlRe,
    },
    /// `meta NAME expression`, kept as written.
    Meta(String),
    /// `header|body|... NAME eval:function(args)`.
    Eval {
        /// The rule type it was declared with.
        target: Target,
        /// The function name.
        function: String,
        /// The arguments, quotes removed.
        args: Vec<String>,
    },
}

/// `tflags` of one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tflags {
    /// `nice`: a negative-scoring rule; default score -1.
    pub nice: bool,
    /// `net`: a network test.
    pub net: bool,
    /// `learn`: a Bayes test.
    pub learn: bool,
    /// `userconf`.
    pub userconf: bool,
    /// `noautolearn`.
    pub noautolearn: bool,
    /// `multiple`: count every match.
    pub multiple: bool,
    /// `maxhits=N` (implies multiple).
    pub maxhits: Option<u32>,
    /// `nosubject`: a body rule that does not see the Subject line that
    /// SpamAssassin otherwise puts first in the rendered body.
    pub nosubject: bool,
    /// `a` / `autolearn_force`, `publish`, `nopublish`, ... seen but unused.
    pub other: u32,
}

/// One rule definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The rule name.
    pub name: String,
    /// What it tests.
    pub test: Test,
    /// Where it was defined: file and 1-based line.
    pub file: String,
    /// Line number.
    pub line: u32,
}

/// A line that was not loaded, or a directive we do not act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// The directive (first word).
    pub directive: String,
    /// Why: "unknown directive", "bad regex delimiters", ...
    pub reason: String,
}

/// Everything a set of `.cf` files says.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Rules in definition order (a redefinition replaces in place).
    pub rules: Vec<Rule>,
    /// `score NAME s0 [s1 s2 s3]`: one value is used for all four sets.
    pub scores: HashMap<String, [f64; 4]>,
    /// `describe NAME text` (language-prefixed `lang xx describe` skipped).
    pub describes: HashMap<String, String>,
    /// `tflags NAME ...`.
    pub tflags: HashMap<String, Tflags>,
    /// `priority NAME n`.
    pub priorities: HashMap<String, i32>,
    /// `required_score` (also `required_hits`); 5.0 when never set.
    pub required_score: f64,
    /// Directives recognised and stored without acting on them
    /// (`report`, `add_header`, `use_bayes`, ...): directive and value, in
    /// order.
    pub settings: Vec<(String, String)>,
    /// What was not loaded, and why.
    pub skipped: Vec<Skipped>,
    /// Plugins loaded when parsing ended (full Perl package names such as
    /// `Mail::SpamAssassin::Plugin::Bayes`), sorted.
    pub plugins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: Vec::new(),
            scores: HashMap::new(),
            describes: HashMap::new(),
            tflags: HashMap::new(),
            priorities: HashMap::new(),
            required_score: 5.0,
            settings: Vec::new(),
            skipped: Vec::new(),
            plugins: Vec::new(),
        }
    }
}
