//! Optional starts a yes/no question need not read.
//!
//! Most rules only ask whether a text holds a match: a rule without
//! `tflags multiple` hits once or not at all. For that question a pattern
//! that starts with an optional part, `X? Y`, is the same question as `Y`.
//! A match of the whole holds a match of `Y` where `X` ends; and a match
//! of `Y` is one of the whole, with `X` matching nothing just before it.
//! (An optional part at the end would do as well, but costs nothing: the
//! search stops at the first place a match is certain.) The part must be able
//! to match nothing *anywhere*, so it may not hold a position test or a
//! look-around (`\b?` is no such part: `\b` matches nothing only where it
//! holds). Nor may it hold a backreference, or a capture group in a
//! pattern with backreferences (the rest's `\2` would name another
//! group), an atomic group or a possessive run (`(?>a*)ab` never matches
//! `aab`, where `ab` does).
//!
//! SpamAssassin's form-filling rules start with `<FF_YOUR>`, an optional
//! `copy of your current complete...`, up to three adjectives long, and
//! many rules start with an optional run such as `\s*`. Without it the
//! regex is smaller, its attempts start at the words that matter, and the
//! prefilter's windows are those of the part that is left. On the stock
//! rules that is 1% fewer instructions on a first pass over the corpus
//! and none once the lazy DFAs are warm; the count-gated form rules,
//! answered one attempt at a time (see [`starts`](super::starts)), cost
//! what they cost before.
//!
//! Counts are another question: `(?:very\s)?good` counts `very good` once,
//! and so does `good`, but where matches may overlap the two could count
//! differently. So only the rules asked yes or no are trimmed.
//!
//! ```
//! use filter::spam::regex::{perl, trim};
//!
//! let (node, _) = perl::parse(br"(?:your\s)?(?:full\s)*name:\s*", "").unwrap();
//! let (rest, _) = perl::parse(br"name:\s*", "").unwrap();
//! assert_eq!(trim::start(&node), Some(rest));
//! // `\b` is a test, not an optional part: it stays.
//! let (node, _) = perl::parse(br"\bname", "").unwrap();
//! assert_eq!(trim::start(&node), None);
//! ```

use super::perl::Node;

/// `node` without the optional parts it starts with (see the module
/// documentation), or `None` when it has none to leave out. A pattern made
/// only of such parts is left as it is.
///
/// The parts are looked for through non-capturing groups and into the
/// first pass of a repeat, which is unrolled for that:
/// `(?:(?:your\s)?name:\s*){3}` is asked as `name:\s*(?:(?:your\s)?name:\s*){2}`.
pub fn start(node: &Node) -> Option<Node> {
    trimmed(node, node.max_backref() > 0)
}

/// [`start`]; with `backrefs`, parts that hold capture groups stay (the
/// rest's `\2` would name another group without them, or with a copy).
fn trimmed(node: &Node, backrefs: bool) -> Option<Node> {
    match node {
        Node::Concat(v) => {
            let first = v.iter().position(|n| !optional(n, backrefs))?;
            let inner = trimmed(&v[first], backrefs);
            if first == 0 && inner.is_none() {
                return None;
            }
            let mut rest = match inner {
                Some(Node::Concat(parts)) => parts,
                Some(one) => vec![one],
                None => vec![v[first].clone()],
            };
            rest.extend_from_slice(&v[first + 1..]);
            Some(if rest.len() == 1 {
                rest.pop().unwrap_or(Node::Empty)
            } else {
                Node::Concat(rest)
            })
        }
        Node::Group(false, inner) => {
            trimmed(inner, backrefs).map(|t| Node::Group(false, Box::new(t)))
        }
        Node::Repeat {
            node: body,
            min,
            max,
            greedy,
            possessive: false,
        } if *min >= 1 && !(backrefs && body.any(&mut |m| matches!(m, Node::Group(true, _)))) => {
            let pass = trimmed(body, backrefs)?;
            if *max == Some(1) {
                return Some(pass);
            }
            let others = Node::Repeat {
                node: body.clone(),
                min: min - 1,
                max: max.map(|m| m - 1),
                greedy: *greedy,
                possessive: false,
            };
            Some(Node::Concat(vec![pass, others]))
        }
        _ => None,
    }
}

/// Whether `n` can match nothing at any place of any text, and leaving it
/// out changes nothing else about the pattern.
fn optional(n: &Node, backrefs: bool) -> bool {
    n.first_bytes().1
        && !n.any(&mut |m| match m {
            Node::Assert(_)
            | Node::Look(..)
            | Node::Backref(..)
            | Node::Keep
            | Node::Atomic(_)
            | Node::Repeat {
                possessive: true, ..
            } => true,
            Node::Group(capture, _) => *capture && backrefs,
            _ => false,
        })
}
