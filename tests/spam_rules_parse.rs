//! Conformance table for the SpamAssassin `.cf` parser, and a parse of the
//! stock rule set when it is installed.

use filter::spam::rules::ast::{Config, HeaderMods, HeaderTarget, PerlRe, Target, Test, Tflags};
use filter::spam::rules::parse::Parser;
use std::collections::BTreeMap;
use std::path::Path;

fn parse(text: &str) -> Config {
    let mut p = Parser::new();
    p.parse_str("/tmp/t.cf", text);
    p.finish()
}

fn re(pattern: &str, flags: &str) -> PerlRe {
    PerlRe {
        pattern: pattern.into(),
        flags: flags.into(),
    }
}

fn test_of(c: &Config, name: &str) -> Option<Test> {
    c.rules
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.test.clone())
}

fn names(c: &Config) -> Vec<&str> {
    c.rules.iter().map(|r| r.name.as_str()).collect()
}

fn header(
    target: HeaderTarget,
    mods: HeaderMods,
    negate: bool,
    r: PerlRe,
    unset: Option<&str>,
) -> Test {
    Test::Header {
        target,
        mods,
        negate,
        re: r,
        if_unset: unset.map(str::to_string),
    }
}

fn named(n: &str) -> HeaderTarget {
    HeaderTarget::Named(vec![n.into()])
}

/// What a case asserts about the parsed [`Config`].
enum Expect {
    /// Rule `name` has this test.
    Rule(&'static str, Test),
    /// No rule of this name exists.
    NoRule(&'static str),
    /// Exactly these rules, in this order.
    Order(&'static [&'static str]),
    /// Scores of a rule.
    Score(&'static str, [f64; 4]),
    /// Describe text.
    Describe(&'static str, &'static str),
    /// No describe text for the rule.
    NoDescribe(&'static str),
    /// tflags of a rule.
    Flags(&'static str, Tflags),
    /// Priority of a rule.
    Priority(&'static str, i32),
    /// required_score.
    Required(f64),
    /// A setting (directive, value) is present.
    Setting(&'static str, &'static str),
    /// A skipped entry with this directive whose reason contains the text,
    /// on this line.
    Skipped(&'static str, &'static str, u32),
    /// Nothing skipped.
    NoSkips,
    /// A plugin (short name) is loaded.
    Plugin(&'static str, bool),
}

struct Case {
    name: &'static str,
    input: &'static str,
    expect: Vec<Expect>,
}

fn check(case: &Case) {
    let c = parse(case.input);
    for e in &case.expect {
        let ctx = format!(
            "case {:?}: rules {:?}\nskipped {:?}\nsettings {:?}",
            case.name,
            c.rules
                .iter()
                .map(|r| (&r.name, &r.test))
                .collect::<Vec<_>>(),
            c.skipped,
            c.settings
        );
        match e {
            Expect::Rule(n, t) => assert_eq!(test_of(&c, n).as_ref(), Some(t), "{ctx}"),
            Expect::NoRule(n) => assert!(test_of(&c, n).is_none(), "{ctx}"),
            Expect::Order(o) => assert_eq!(names(&c), *o, "{ctx}"),
            Expect::Score(n, s) => assert_eq!(c.scores.get(*n), Some(s), "{ctx}"),
            Expect::Describe(n, d) => {
                assert_eq!(c.describes.get(*n).map(String::as_str), Some(*d), "{ctx}")
            }
            Expect::NoDescribe(n) => assert!(!c.describes.contains_key(*n), "{ctx}"),
            Expect::Flags(n, t) => assert_eq!(c.tflags.get(*n), Some(t), "{ctx}"),
            Expect::Priority(n, p) => assert_eq!(c.priorities.get(*n), Some(p), "{ctx}"),
            Expect::Required(r) => assert_eq!(c.required_score, *r, "{ctx}"),
            Expect::Setting(k, v) => {
                assert!(c.settings.iter().any(|(a, b)| a == k && b == v), "{ctx}")
            }
            Expect::Skipped(d, why, line) => assert!(
                c.skipped.iter().any(|s| s.directive == *d
                    && s.reason.contains(why)
                    && s.line == *line
                    && s.file == "/tmp/t.cf"),
                "{ctx}"
            ),
            Expect::NoSkips => assert!(c.skipped.is_empty(), "{ctx}"),
            Expect::Plugin(p, on) => assert_eq!(
                c.plugins
                    .contains(&format!("Mail::SpamAssassin::Plugin::{p}")),
                *on,
                "{ctx}"
            ),
        }
    }
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let d = HeaderMods::default;
    vec![
        // ---- rule types
        Case {
            name: "header =~",
            input: "header SUBJ_X Subject =~ /free/i\n",
            expect: vec![
                Rule(
                    "SUBJ_X",
                    header(named("Subject"), d(), false, re("free", "i"), None),
                ),
                NoSkips,
            ],
        },
        Case {
            name: "header !~",
            input: "header NO_DATE Date !~ /\\d/\n",
            expect: vec![Rule(
                "NO_DATE",
                header(named("Date"), d(), true, re("\\d", ""), None),
            )],
        },
        Case {
            name: "header no spaces round operator",
            input: "header H1 X-Foo=~/bar/\n",
            expect: vec![Rule(
                "H1",
                header(named("X-Foo"), d(), false, re("bar", ""), None),
            )],
        },
        Case {
            name: "header exists",
            input: "header HAS_XM exists:X-Mailer\nheader HAS_XM2 exists:X-Mailer:\n",
            expect: vec![
                Rule("HAS_XM", Test::Exists("X-Mailer".into())),
                Rule("HAS_XM2", Test::Exists("X-Mailer".into())),
            ],
        },
        Case {
            name: "header exists bad name",
            input: "header BADX exists:X Mailer\n",
            expect: vec![
                NoRule("BADX"),
                Skipped("header", "invalid head test header", 1),
            ],
        },
        Case {
            name: "header :raw",
            input: "header H_RAW Subject:raw =~ /=\\?utf-8\\?/i\n",
            expect: vec![Rule(
                "H_RAW",
                header(
                    named("Subject"),
                    HeaderMods { raw: true, ..d() },
                    false,
                    re("=\\?utf-8\\?", "i"),
                    None,
                ),
            )],
        },
        Case {
            name: "header :addr",
            input: "header H_ADDR From:addr =~ /\\@example\\.com$/\n",
            expect: vec![Rule(
                "H_ADDR",
                header(
                    named("From"),
                    HeaderMods { addr: true, ..d() },
                    false,
                    re("\\@example\\.com$", ""),
                    None,
                ),
            )],
        },
        Case {
            name: "header :name",
            input: "header H_NAME From:name =~ /^bob$/\n",
            expect: vec![Rule(
                "H_NAME",
                header(
                    named("From"),
                    HeaderMods { name: true, ..d() },
                    false,
                    re("^bob$", ""),
                    None,
                ),
            )],
        },
        Case {
            name: "header two modifiers and SA4 modifiers",
            input: "header H_2 From:addr:raw =~ /x/\nheader H_HOST From:host =~ /x/\n\
                    header H_DOM From:domain =~ /x/\nheader H_IP X-Src:ip =~ /x/\n\
                    header H_REV X-Src:revip =~ /x/\nheader H_FIRST Received:first =~ /x/\n\
                    header H_LAST Received:last =~ /x/\n",
            expect: vec![
                Rule(
                    "H_2",
                    header(
                        named("From"),
                        HeaderMods {
                            addr: true,
                            raw: true,
                            ..d()
                        },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_HOST",
                    header(
                        named("From"),
                        HeaderMods { host: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_DOM",
                    header(
                        named("From"),
                        HeaderMods {
                            domain: true,
                            ..d()
                        },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_IP",
                    header(
                        named("X-Src"),
                        HeaderMods { ip: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_REV",
                    header(
                        named("X-Src"),
                        HeaderMods { revip: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_FIRST",
                    header(
                        named("Received"),
                        HeaderMods { first: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "H_LAST",
                    header(
                        named("Received"),
                        HeaderMods { last: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                NoSkips,
            ],
        },
        Case {
            name: "header unknown modifier / three modifiers",
            input: "header H_BADMOD From:foo =~ /x/\nheader H_3 From:addr:raw:name =~ /x/\n",
            expect: vec![
                NoRule("H_BADMOD"),
                NoRule("H_3"),
                Skipped("header", "invalid header modifier", 1),
                Skipped("header", "invalid head test", 2),
            ],
        },
        Case {
            name: "pseudo-headers",
            input: "header P_ALL ALL =~ /x/m\nheader P_TOCC ToCc =~ /x/\n\
                    header P_EF EnvelopeFrom =~ /x/\nheader P_MID MESSAGEID =~ /x/\n\
                    header P_ALLRAW ALL:raw =~ /x/\nheader P_AT ALL-TRUSTED =~ /x/\n",
            expect: vec![
                Rule(
                    "P_ALL",
                    header(HeaderTarget::All, d(), false, re("x", "m"), None),
                ),
                Rule(
                    "P_TOCC",
                    header(HeaderTarget::ToCc, d(), false, re("x", ""), None),
                ),
                Rule(
                    "P_EF",
                    header(HeaderTarget::EnvelopeFrom, d(), false, re("x", ""), None),
                ),
                Rule(
                    "P_MID",
                    header(HeaderTarget::MessageId, d(), false, re("x", ""), None),
                ),
                Rule(
                    "P_ALLRAW",
                    header(
                        HeaderTarget::All,
                        HeaderMods { raw: true, ..d() },
                        false,
                        re("x", ""),
                        None,
                    ),
                ),
                Rule(
                    "P_AT",
                    header(named("ALL-TRUSTED"), d(), false, re("x", ""), None),
                ),
            ],
        },
        Case {
            // SpamAssassin 4.0.1's header test takes one name `[\w.-]+`:
            // `From|To` is refused ("invalid head test").
            name: "header alternatives are refused",
            input: "header ALT From|To =~ /x/\n",
            expect: vec![NoRule("ALT"), Skipped("header", "invalid head test", 1)],
        },
        Case {
            name: "if-unset",
            input: "header UNSET X-Foo =~ /^$/ [if-unset: none here]\n",
            expect: vec![Rule(
                "UNSET",
                header(named("X-Foo"), d(), false, re("^$", ""), Some("none here")),
            )],
        },
        Case {
            name: "header eval and rbleval",
            input: "header H_EV eval:check_for_missing_to_header()\n\
                    header RBL_X eval:check_rbl('set-lastexternal', 'zen.example.org.', '127.0.0.2')\n\
                    header RBL_Y rbleval:check_rbl_sub('set', \"127.0.0.3\")\n",
            expect: vec![
                Rule(
                    "H_EV",
                    Test::Eval {
                        target: Target::Header,
                        function: "check_for_missing_to_header".into(),
                        args: vec![],
                    },
                ),
                Rule(
                    "RBL_X",
                    Test::Eval {
                        target: Target::Header,
                        function: "check_rbl".into(),
                        args: vec![
                            "set-lastexternal".into(),
                            "zen.example.org.".into(),
                            "127.0.0.2".into(),
                        ],
                    },
                ),
                Rule(
                    "RBL_Y",
                    Test::Eval {
                        target: Target::Header,
                        function: "check_rbl_sub".into(),
                        args: vec!["set".into(), "127.0.0.3".into()],
                    },
                ),
            ],
        },
        Case {
            name: "body/rawbody/full/uri regex",
            input: "body B1 /cheap pills/i\nrawbody RB1 /<font/i\nfull F1 /^X-Foo/m\nuri U1 /\\.example\\.com\\//\n",
            expect: vec![
                Rule(
                    "B1",
                    Test::Regex {
                        target: Target::Body,
                        re: re("cheap pills", "i"),
                    },
                ),
                Rule(
                    "RB1",
                    Test::Regex {
                        target: Target::Rawbody,
                        re: re("<font", "i"),
                    },
                ),
                Rule(
                    "F1",
                    Test::Regex {
                        target: Target::Full,
                        re: re("^X-Foo", "m"),
                    },
                ),
                Rule(
                    "U1",
                    Test::Regex {
                        target: Target::Uri,
                        re: re("\\.example\\.com/", ""),
                    },
                ),
            ],
        },
        Case {
            name: "body/rawbody/full evals; numeric and bare args",
            input: "body BE eval:check_body_length(500)\nrawbody RE eval:check_stock_info( 3 , 'a b')\n\
                    full FE eval:check_razor2()\n",
            expect: vec![
                Rule(
                    "BE",
                    Test::Eval {
                        target: Target::Body,
                        function: "check_body_length".into(),
                        args: vec!["500".into()],
                    },
                ),
                Rule(
                    "RE",
                    Test::Eval {
                        target: Target::Rawbody,
                        function: "check_stock_info".into(),
                        args: vec!["3".into(), "a b".into()],
                    },
                ),
                Rule(
                    "FE",
                    Test::Eval {
                        target: Target::Full,
                        function: "check_razor2".into(),
                        args: vec![],
                    },
                ),
            ],
        },
        Case {
            name: "uri eval is refused, as in SA 4",
            input: "uri UE eval:check_uri()\n",
            expect: vec![NoRule("UE"), Skipped("uri", "missing regexp delimiters", 1)],
        },
        Case {
            name: "bad eval args",
            input: "body BAD_EV eval:foo(a b)\nbody BAD_EV2 eval:foo(\nbody BAD_EV3 eval:(1)\n",
            expect: vec![
                NoRule("BAD_EV"),
                NoRule("BAD_EV2"),
                NoRule("BAD_EV3"),
                Skipped("body", "syntax error for eval", 1),
                Skipped("body", "invalid eval call", 2),
                Skipped("body", "invalid eval call", 3),
            ],
        },
        Case {
            name: "mimeheader",
            input: "mimeheader MH1 Content-Type =~ /text\\/html/i\nmimeheader MH2 Content-Type:raw !~ m{x}\n\
                    mimeheader MH3 Content-Disposition=~/attachment/\n",
            expect: vec![
                Rule(
                    "MH1",
                    Test::Mimeheader {
                        name: "Content-Type".into(),
                        raw: false,
                        negate: false,
                        re: re("text/html", "i"),
                    },
                ),
                Rule(
                    "MH2",
                    Test::Mimeheader {
                        name: "Content-Type".into(),
                        raw: true,
                        negate: true,
                        re: re("x", ""),
                    },
                ),
                Rule(
                    "MH3",
                    Test::Mimeheader {
                        name: "Content-Disposition".into(),
                        raw: false,
                        negate: false,
                        re: re("attachment", ""),
                    },
                ),
            ],
        },
        Case {
            name: "meta",
            input: "meta M1 (A && !B) || (C + D > 1)\nmeta M2 rules_matching(FOO_*) > 1\nmeta M3 ( )\n",
            expect: vec![
                Rule("M1", Test::Meta("(A && !B) || (C + D > 1)".into())),
                Rule("M2", Test::Meta("rules_matching(FOO_*) > 1".into())),
                Rule("M3", Test::Meta("( )".into())),
                NoSkips,
            ],
        },
        Case {
            name: "bad metas",
            input: "meta BM1 A B\nmeta BM2 A ** 2\nmeta BM3 $x\nmeta BM4 A &&\nmeta BM5 A / B\n",
            expect: vec![
                NoRule("BM1"),
                NoRule("BM2"),
                NoRule("BM3"),
                NoRule("BM4"),
                NoRule("BM5"),
                Skipped("meta", "invalid expression", 1),
                Skipped("meta", "'**'", 2),
                Skipped("meta", "forbidden", 3),
                Skipped("meta", "invalid expression", 4),
                Skipped("meta", "division by zero", 5),
            ],
        },
        // ---- delimiters and flags
        Case {
            name: "delimiters",
            input: "body D1 m{a/b}i\nbody D2 m!a\\!b!\nbody D3 m(a)\nbody D4 m[a]\nbody D5 m<a\\>b>\n\
                    body D6 qr/x/\nbody D7 m,a\\,b,\nbody D8 m|a\\|b|\nbody D9 m{a\\}b}\nbody D10 m\\#a\\#\n",
            expect: vec![
                Rule(
                    "D1",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a/b", "i"),
                    },
                ),
                Rule(
                    "D2",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a!b", ""),
                    },
                ),
                Rule(
                    "D3",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a", ""),
                    },
                ),
                Rule(
                    "D4",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a", ""),
                    },
                ),
                Rule(
                    "D5",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a>b", ""),
                    },
                ),
                Rule(
                    "D6",
                    Test::Regex {
                        target: Target::Body,
                        re: re("x", ""),
                    },
                ),
                Rule(
                    "D7",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a,b", ""),
                    },
                ),
                // `|` is a metacharacter: the escape stays.
                Rule(
                    "D8",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a\\|b", ""),
                    },
                ),
                Rule(
                    "D9",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a\\}b", ""),
                    },
                ),
                // `\#` unescaped at line level, then `m#a#`.
                Rule(
                    "D10",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a", ""),
                    },
                ),
                NoSkips,
            ],
        },
        Case {
            name: "flags",
            input: "body F_ALL /x/imsx\nbody F_AA /x/aa\nbody F_E /x/e\nbody F_G /x/g\nbody F_UP /x/I\n",
            expect: vec![
                Rule(
                    "F_ALL",
                    Test::Regex {
                        target: Target::Body,
                        re: re("x", "imsx"),
                    },
                ),
                Rule(
                    "F_AA",
                    Test::Regex {
                        target: Target::Body,
                        re: re("x", "aa"),
                    },
                ),
                NoRule("F_E"),
                NoRule("F_G"),
                NoRule("F_UP"),
                Skipped("body", "invalid end delimiter", 3),
                Skipped("body", "useless", 4),
                Skipped("body", "invalid end delimiter", 5),
            ],
        },
        Case {
            name: "bad regexes",
            input: "body R1 nodelims\nbody R2 /a/b/\nbody R3 /unterminated\nbody R4 /(?{ 1 })/\nbody R5 m\\x\\\n",
            expect: vec![
                NoRule("R1"),
                NoRule("R2"),
                NoRule("R3"),
                NoRule("R4"),
                NoRule("R5"),
                Skipped("body", "missing regexp delimiters", 1),
                Skipped("body", "unquoted delimiter", 2),
                Skipped("body", "invalid end delimiter", 3),
                Skipped("body", "eval (?{}) found", 4),
                Skipped("body", "backslash delimiter", 5),
            ],
        },
        // ---- comments and whitespace
        Case {
            name: "comments",
            input: "# a comment\n   \n\tbody C1 /a\\#b/ # trailing\nbody C2 /a#b/\n",
            expect: vec![
                Rule(
                    "C1",
                    Test::Regex {
                        target: Target::Body,
                        re: re("a#b", ""),
                    },
                ),
                NoRule("C2"),
                Skipped("body", "invalid end delimiter", 4),
            ],
        },
        Case {
            name: "CRLF line ends",
            input: "body CR1 /x/i\r\nscore CR1 2\r\n",
            expect: vec![
                Rule(
                    "CR1",
                    Test::Regex {
                        target: Target::Body,
                        re: re("x", "i"),
                    },
                ),
                Score("CR1", [2.0; 4]),
            ],
        },
        // ---- directives
        Case {
            name: "score 1 and 4 values, before the rule, relative",
            input: "score S1 2.5\nbody S1 /x/\nscore S4 0 1.5 -2 3\nbody S4 /y/\nscore S1 (1)\n",
            expect: vec![
                Score("S1", [3.5; 4]),
                Score("S4", [0.0, 1.5, -2.0, 3.0]),
                NoSkips,
            ],
        },
        Case {
            name: "bad scores",
            input: "score B1 1 2\nscore B2 abc\nscore B3 (1)\nscore\n",
            expect: vec![
                Skipped("score", "1 or 4 scores", 1),
                Skipped("score", "non-numeric", 2),
                Skipped("score", "relative score", 3),
                Skipped("score", "1 or 4 scores", 4),
            ],
        },
        Case {
            name: "default scores",
            input: "body DS1 /x/\nbody T_DS2 /x/\nbody DS3 /x/\ntflags DS3 nice\nbody T_DS4 /x/\ntflags T_DS4 nice\n",
            expect: vec![
                Score("DS1", [1.0; 4]),
                Score("T_DS2", [0.01; 4]),
                Score("DS3", [-1.0; 4]),
                Score("T_DS4", [-0.01; 4]),
            ],
        },
        Case {
            name: "describe; lang describe skipped",
            input: "describe D1 Talks about money\nlang de describe D1 Spricht von Geld\nlang fr describe D2 Argent\n",
            expect: vec![
                Describe("D1", "Talks about money"),
                NoDescribe("D2"),
                Skipped("lang", "'de'", 2),
                Skipped("lang", "'fr'", 3),
            ],
        },
        Case {
            name: "required_score and required_hits",
            input: "required_hits 6\nrequired_score 4.5\n",
            expect: vec![Required(4.5), NoSkips],
        },
        Case {
            name: "required_score default and bad",
            input: "required_score lots\n",
            expect: vec![Required(5.0), Skipped("required_score", "invalid", 1)],
        },
        Case {
            name: "priority",
            input: "priority P1 -100\npriority P2 abc\npriority 9X 1\n",
            expect: vec![
                Priority("P1", -100),
                Skipped("priority", "invalid", 2),
                Skipped("priority", "invalid", 3),
            ],
        },
        Case {
            name: "tflags",
            input: "tflags T1 multiple maxhits=5 nice net learn userconf noautolearn publish a\ntflags T2 net\ntflags T2 nice\ntflags T3 nosubject\n",
            expect: vec![
                Flags(
                    "T1",
                    Tflags {
                        nice: true,
                        net: true,
                        learn: true,
                        userconf: true,
                        noautolearn: true,
                        multiple: true,
                        maxhits: Some(5),
                        nosubject: false,
                        other: 2,
                    },
                ),
                // Last line wins whole, as SpamAssassin stores the string.
                Flags(
                    "T2",
                    Tflags {
                        nice: true,
                        ..Default::default()
                    },
                ),
                Flags(
                    "T3",
                    Tflags {
                        nosubject: true,
                        ..Default::default()
                    },
                ),
            ],
        },
        Case {
            name: "settings",
            input: "report_safe 0\nadd_header all Level _STARS(*)_\nuse_bayes 1\nwhitelist_from *@example.com\n\
                    util_rb_tld com\nredirector_pattern /foo/i\ntest RULE ok Some text\nReport-Safe 1\n",
            expect: vec![
                Setting("report_safe", "0"),
                Setting("add_header", "all Level _STARS(*)_"),
                Setting("use_bayes", "1"),
                Setting("whitelist_from", "*@example.com"),
                Setting("util_rb_tld", "com"),
                Setting("redirector_pattern", "/foo/i"),
                Setting("test", "RULE ok Some text"),
                // Directive names are case-insensitive; dashes read as `_`.
                Setting("report_safe", "1"),
                NoSkips,
            ],
        },
        Case {
            name: "plugin directives: loaded and not",
            input: "freemail_domains example.com\nbayes_stopword_en a b\nuridnsbl_skip_domain example.com\n\
                    dcc_home /var/dcc\n",
            expect: vec![
                Setting("freemail_domains", "example.com"),
                Setting("bayes_stopword_en", "a b"),
                Setting("uridnsbl_skip_domain", "example.com"),
                Skipped("dcc_home", "plugin DCC (not loaded)", 4),
            ],
        },
        Case {
            name: "unknown directive and bad lines",
            input: "frobnicate 1\nbody\nbody ONLYNAME\nlanguage x\n",
            expect: vec![
                Skipped("frobnicate", "unknown directive", 1),
                Skipped("body", "invalid 'body' value", 2),
                Skipped("body", "missing 'body' value", 3),
                Skipped("language", "unknown directive", 4),
            ],
        },
        Case {
            name: "rule names",
            input: "body 1BAD /x/\nbody BAD-NAME /x/\nbody _OK_1 /x/\n",
            expect: vec![
                Order(&["_OK_1"]),
                Skipped("body", "invalid rule name", 1),
                Skipped("body", "invalid rule name", 2),
            ],
        },
        Case {
            name: "rule name length limit 100",
            input: concat!(
                "body A1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890 /x/\n",
                "body B12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 /x/\n"
            ),
            expect: vec![
                Skipped("body", "too long", 1),
                Order(&[
                    "B12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678",
                ]),
            ],
        },
        Case {
            name: "redefinition replaces in place; refused redefinition keeps old",
            input: "body R1 /a/\nbody R2 /b/\nheader R1 Subject =~ /c/\nbody R2 nodelim\n",
            expect: vec![
                Order(&["R1", "R2"]),
                Rule(
                    "R1",
                    header(named("Subject"), d(), false, re("c", ""), None),
                ),
                Rule(
                    "R2",
                    Test::Regex {
                        target: Target::Body,
                        re: re("b", ""),
                    },
                ),
            ],
        },
        // ---- conditionals
        Case {
            name: "ifplugin loaded / not loaded",
            input: "ifplugin Mail::SpamAssassin::Plugin::Bayes\nbody IP1 /x/\nendif\n\
                    ifplugin Mail::SpamAssassin::Plugin::DCC\nbody IP2 /x/\nendif\n",
            expect: vec![Order(&["IP1"]), NoSkips],
        },
        Case {
            name: "if/else nested",
            input: "if (version >= 3.004000)\n  ifplugin Mail::SpamAssassin::Plugin::DCC\n    body N1 /x/\n  else\n    body N2 /x/\n  endif\nelse\n  body N3 /x/\n  if (version > 1)\n    body N4 /x/\n  else\n    body N5 /x/\n  endif\nendif\nbody N6 /x/\n",
            expect: vec![Order(&["N2", "N6"]), NoSkips],
        },
        Case {
            name: "version tests",
            input: "if (version >= 4.000001)\nbody V1 /x/\nendif\nif (version < 4.000000)\nbody V2 /x/\nendif\n\
                    if !((version >= 3.004000))\nbody V3 /x/\nendif\nif perl_version >= 5.010000\nbody V4 /x/\nendif\n",
            expect: vec![Order(&["V1", "V4"])],
        },
        Case {
            name: "can/has features",
            input: "if can(Mail::SpamAssassin::Conf::feature_bug6558_free)\nbody C1 /x/\nendif\n\
                    if !can(Mail::SpamAssassin::Conf::compat_welcomelist_blocklist)\nbody C2 /x/\nendif\n\
                    if can(Mail::SpamAssassin::Plugin::BodyEval::has_check_body_length)\nbody C3 /x/\nendif\n\
                    if can(Mail::SpamAssassin::Plugin::DecodeShortURLs::has_get)\nbody C4 /x/\nendif\n\
                    if has(Mail::SpamAssassin::Plugin::DKIM::has_arc)\nbody C5 /x/\nendif\n\
                    if can(Mail::SpamAssassin::Conf::feature_nonexistent)\nbody C6 /x/\nendif\n",
            expect: vec![Order(&["C1", "C3", "C5"])],
        },
        Case {
            name: "if !plugin and plugin() forms",
            input: "if !plugin(Mail::SpamAssassin::Plugin::ReplaceTags)\nbody P1 /x/\nendif\n\
                    if plugin(Mail::SpamAssassin::Plugin::MIMEHeader) && !plugin(Mail::SpamAssassin::Plugin::ASN)\nbody P2 /x/\nendif\n",
            expect: vec![Order(&["P2"])],
        },
        Case {
            name: "conditional errors",
            input: "endif\nelse\nif\nendif junk\nif (1\nbody E1 /x/\nendif\nif (1)\nbody E2 /x/\n",
            expect: vec![
                Order(&["E2"]),
                Skipped("endif", "missing starting 'if'", 1),
                Skipped("else", "missing starting if", 2),
                Skipped("if", "missing 'if' condition", 3),
                Skipped("endif", "standalone", 4),
                Skipped("if", "error evaluating condition", 5),
                Skipped("if", "unclosed", 8),
            ],
        },
        Case {
            name: "loadplugin / tryplugin define ifplugin",
            input: "loadplugin Mail::SpamAssassin::Plugin::DCC\ntryplugin Mail::SpamAssassin::Plugin::ASN\n\
                    loadplugin Foo::Bar /x/foo.pm\nifplugin Mail::SpamAssassin::Plugin::DCC\nbody L1 /x/\nendif\n",
            expect: vec![
                Order(&["L1"]),
                Plugin("DCC", true),
                Plugin("ASN", true),
                Skipped("loadplugin", "not one SpamAssassin ships", 3),
            ],
        },
        Case {
            name: "enable_compat defines can(Conf::compat_NAME)",
            input: "if can(Mail::SpamAssassin::Conf::compat_foo)\nbody EC1 /x/\nendif\nenable_compat foo\n\
                    if can(Mail::SpamAssassin::Conf::compat_foo)\nbody EC2 /x/\nendif\nenable_compat bad-flag\n",
            expect: vec![
                Order(&["EC2"]),
                Setting("enable_compat", "foo"),
                Skipped("enable_compat", "invalid", 8),
            ],
        },
        Case {
            name: "Debian's default compat flag",
            input: "if !can(Mail::SpamAssassin::Conf::compat_welcomelist_blocklist)\nbody OLD_NAME /x/\nendif\n",
            expect: vec![NoRule("OLD_NAME")],
        },
        Case {
            name: "require_version",
            input: "require_version @@VERSION@@\nbody RV1 /x/\nrequire_version 3.000000\nbody RV2 /x/\n",
            expect: vec![Order(&["RV1"]), Skipped("require_version", "3.000000", 3)],
        },
        // ---- ReplaceTags
        Case {
            name: "replace_tags",
            input: "replace_tag A (?:a|@)\nreplace_tag B (?:b|8)\nreplace_inter W \\W{0,2}\n\
                    replace_pre P (?:^|\\s)\nreplace_post Q (?:$|\\s)\n\
                    body RT1 /<A><B>c/i\nbody RT2 /<inter W><A><B>/\nbody RT3 /<pre P><A><post Q>/\nbody RT4 /<A>/\n\
                    header RT5 Subject =~ /x<B>/\nreplace_rules RT1 RT2 RT3\nreplace_rules RT5\n",
            expect: vec![
                Rule(
                    "RT1",
                    Test::Regex {
                        target: Target::Body,
                        re: re("(?:a|@)(?:b|8)c", "i"),
                    },
                ),
                Rule(
                    "RT2",
                    Test::Regex {
                        target: Target::Body,
                        re: re("(?:a|@)\\W{0,2}(?:b|8)", ""),
                    },
                ),
                Rule(
                    "RT3",
                    Test::Regex {
                        target: Target::Body,
                        re: re("(?:^|\\s)(?:a|@)(?:$|\\s)", ""),
                    },
                ),
                // Not listed in replace_rules: left alone.
                Rule(
                    "RT4",
                    Test::Regex {
                        target: Target::Body,
                        re: re("<A>", ""),
                    },
                ),
                Rule(
                    "RT5",
                    header(named("Subject"), d(), false, re("x(?:b|8)", ""), None),
                ),
                NoSkips,
            ],
        },
        // ---- askdns, reuse
        Case {
            name: "askdns and reuse",
            input: "askdns AD1 _AUTHORDOMAIN_.example.org. A /^127\\.0\\.0\\.2$/\nreuse RU1\nreuse RU2\nbody RU2 /x/\n",
            expect: vec![
                Rule(
                    "AD1",
                    Test::Eval {
                        target: Target::Header,
                        function: "askdns".into(),
                        args: vec![
                            "_AUTHORDOMAIN_.example.org.".into(),
                            "A".into(),
                            "/^127\\.0\\.0\\.2$/".into(),
                        ],
                    },
                ),
                Rule(
                    "RU1",
                    Test::Eval {
                        target: Target::Header,
                        function: "reuse".into(),
                        args: vec![],
                    },
                ),
                Rule(
                    "RU2",
                    Test::Regex {
                        target: Target::Body,
                        re: re("x", ""),
                    },
                ),
            ],
        },
    ]
}

#[test]
fn conformance_table() {
    let all = cases();
    assert!(all.len() > 40);
    for case in &all {
        check(case);
    }
}

#[test]
fn include_is_relative_to_including_file() {
    let dir = std::env::temp_dir().join(format!("lf-parse-inc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("main.cf"),
        "body M1 /x/\ninclude sub/inc.cf\nbody M3 /z/\ninclude missing.cf\n",
    )
    .unwrap();
    std::fs::write(dir.join("sub/inc.cf"), "body M2 /y/\ninclude deeper.cf\n").unwrap();
    std::fs::write(dir.join("sub/deeper.cf"), "score M2 3\nif (1)\n").unwrap();
    std::fs::write(
        dir.join("a.pre"),
        "loadplugin Mail::SpamAssassin::Plugin::DCC\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.cf"),
        "ifplugin Mail::SpamAssassin::Plugin::DCC\nbody B1 /x/\nendif\n",
    )
    .unwrap();
    std::fs::write(dir.join("self.cf"), "include self.cf\n").unwrap();

    let mut p = Parser::new();
    p.parse_path(&dir.join("main.cf")).unwrap();
    let c = p.finish();
    assert_eq!(names(&c), ["M1", "M2", "M3"]);
    assert_eq!(c.scores["M2"], [3.0; 4]);
    assert!(c.rules[1].file.ends_with("sub/inc.cf"));
    assert!(
        c.skipped
            .iter()
            .any(|s| s.directive == "include" && s.line == 4)
    );
    assert!(
        c.skipped
            .iter()
            .any(|s| s.reason.contains("unclosed") && s.file.ends_with("deeper.cf"))
    );

    // A directory: `.pre` first (so DCC is loaded for b.cf), then `.cf`.
    let mut p = Parser::with_plugins([]);
    p.parse_path(&dir).unwrap();
    let c = p.finish();
    assert!(names(&c).contains(&"B1"), "{:?}", names(&c));
    // self-inclusion stops at the depth limit instead of looping.
    assert!(
        c.skipped
            .iter()
            .any(|s| s.reason.contains("nested too deeply"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn latin1_bytes_become_escapes() {
    let mut p = Parser::new();
    p.parse_bytes("x.cf", b"body L1 /gu[e\xe8\xe9]i/i\n");
    let c = p.finish();
    assert_eq!(
        test_of(&c, "L1"),
        Some(Test::Regex {
            target: Target::Body,
            re: re("gu[e\\xE8\\xE9]i", "i")
        })
    );
}

#[test]
fn never_panics_on_junk() {
    let junk = [
        "\u{0}\u{ffff}",
        "if (((((",
        "meta X (((((((((",
        "body X m",
        "body X m{",
        "header X :",
        "header X a:",
        "mimeheader X =~",
        "mimeheader X a=~",
        "replace_tag",
        "score X (",
        "if can(",
        "if plugin",
        "lang",
        "lang x",
        "header X exists:",
        "body X eval:",
        "body X eval:f(')",
        "askdns",
        "reuse",
        "tflags X maxhits=99999999999",
        "priority X 99999999999",
        "if 1/0",
        "if version ? 1 : 0",
        "meta X ? : ",
        "é body é /é/é",
    ];
    for j in junk {
        let mut p = Parser::new();
        p.parse_str("j.cf", j);
        let _ = p.finish();
    }
}

/// The stock rules (Debian's spamassassin package): plugins from
/// `/etc/spamassassin/*.pre`, then the rules directory.
#[test]
fn stock_rules() {
    let rules = Path::new("/usr/share/spamassassin");
    let site = Path::new("/etc/spamassassin");
    if !rules.join("72_active.cf").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install Debian's spamassassin package"
        );
        eprintln!(
            "note: {} not found; stock-rule test skipped",
            rules.display()
        );
        return;
    }
    let mut p = Parser::with_plugins([]);
    let mut pres: Vec<_> = std::fs::read_dir(site)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    pres.retain(|p| p.extension().is_some_and(|e| e == "pre"));
    pres.sort();
    for pre in &pres {
        p.parse_path(pre).unwrap();
    }
    p.parse_path(rules).unwrap();
    let c = p.finish();

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &c.rules {
        let k = match &r.test {
            Test::Header { .. } | Test::Exists(_) => "header",
            Test::Regex {
                target: Target::Body,
                ..
            } => "body",
            Test::Regex {
                target: Target::Rawbody,
                ..
            } => "rawbody",
            Test::Regex {
                target: Target::Full,
                ..
            } => "full",
            Test::Regex {
                target: Target::Uri,
                ..
            } => "uri",
            Test::Regex { .. } => "other-regex",
            Test::Mimeheader { .. } => "mimeheader",
            Test::Meta(_) => "meta",
            Test::Eval { function, .. } if function == "reuse" => "reuse",
            Test::Eval { function, .. } if function == "askdns" => "askdns",
            Test::Eval { .. } => "eval",
        };
        *kinds.entry(k).or_default() += 1;
    }
    let mut skipped: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in &c.skipped {
        let reason = if s.directive == "lang" {
            "translation not loaded".to_string()
        } else {
            s.reason.clone()
        };
        *skipped.entry((s.directive.clone(), reason)).or_default() += 1;
    }
    println!("rules: {} total; by kind: {kinds:?}", c.rules.len());
    println!(
        "scores: {}, describes: {}, tflags: {}, priorities: {}, settings: {}",
        c.scores.len(),
        c.describes.len(),
        c.tflags.len(),
        c.priorities.len(),
        c.settings.len()
    );
    println!("plugins: {}", c.plugins.len());
    println!("skipped: {}", c.skipped.len());
    for ((d, r), n) in &skipped {
        println!("  {n:5}  {d}: {r}");
    }

    let regex = ["header", "body", "rawbody", "full", "uri", "mimeheader"]
        .iter()
        .map(|k| kinds.get(k).copied().unwrap_or(0))
        .sum::<usize>();
    let get = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert!((2850..=3050).contains(&c.rules.len()), "{}", c.rules.len());
    assert!((1500..=1700).contains(&regex), "{regex}");
    assert!((880..=960).contains(&get("meta")), "{}", get("meta"));
    assert!((300..=420).contains(&get("eval")), "{}", get("eval"));
    assert_eq!(c.plugins.len(), 29);
    assert!(c.rules.iter().any(|r| r.name == "GTUBE"));
    // replace_rules were applied: no listed rule keeps a defined tag.
    let mixed = test_of(&c, "MIXED_ES").expect("MIXED_ES");
    if let Test::Regex { re, .. } = mixed {
        assert!(!re.pattern.contains("<E>"), "{}", re.pattern);
    }
    // Only what we leave out on purpose: translations, plugins that are not
    // loaded, and the stray `endif` comments SA also warns about.
    for s in &c.skipped {
        let deliberate = s.directive == "lang" || s.reason.contains("(not loaded)");
        assert!(deliberate, "unexpected skip: {s:?}");
    }
}

mod soup {
    use super::*;
    use proptest::prelude::*;

    /// Lines built from the pieces rule files are made of, so that most of
    /// them reach deep into the parser.
    fn line() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "header",
            "body",
            "rawbody",
            "full",
            "uri",
            "meta",
            "mimeheader",
            "score",
            "describe",
            "tflags",
            "priority",
            "if",
            "ifplugin",
            "else",
            "endif",
            "lang",
            "replace_tag",
            "replace_rules",
            "replace_inter",
            "reuse",
            "askdns",
            "require_version",
            "R1",
            "R2",
            "T_R3",
            "__R4",
            "Subject",
            "From:addr",
            "ALL",
            "exists:X",
            "=~",
            "!~",
            "/a/i",
            "m{b}",
            "m!c!",
            "/<A>/",
            "eval:f('x',2)",
            "(",
            ")",
            "&&",
            "||",
            "!",
            "#",
            "\\#",
            "[if-unset:",
            "]",
            "1",
            "-2.5",
            "(1)",
            "version",
            ">=",
            "can(",
            "plugin(",
            "Mail::SpamAssassin::Plugin::Bayes",
            "nice",
            "multiple",
            "maxhits=3",
            "A",
        ]);
        prop::collection::vec(words, 0..8).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn invariants_hold_on_any_line_soup(lines in prop::collection::vec(line(), 0..30)) {
            let text = lines.join("\n");
            let mut p = Parser::new();
            p.parse_str("/tmp/p.cf", &text);
            let c = p.finish();
            let mut seen = std::collections::HashSet::new();
            for r in &c.rules {
                prop_assert!(seen.insert(r.name.clone()), "duplicate {}", r.name);
                prop_assert!(c.scores.contains_key(&r.name));
                prop_assert!((r.line as usize) <= lines.len().max(1));
            }
            for s in &c.skipped {
                prop_assert!(s.line >= 1 && (s.line as usize) <= lines.len().max(1));
                prop_assert!(!s.reason.is_empty());
            }
            // Parsing is deterministic.
            let mut p2 = Parser::new();
            p2.parse_str("/tmp/p.cf", &text);
            prop_assert_eq!(p2.finish(), c);
        }
    }
}
