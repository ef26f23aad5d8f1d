//! Possessive runs that would give nothing back anyway.
//!
//! A possessive quantifier (`[^\n">]++`) or an atomic group around one
//! repeated class (`(?>\s{0,50})`) keeps every byte it took: the rest of
//! the pattern is tried only where the run ends. A greedy run tries there
//! first as well, and gives bytes back only when the rest fails. But where
//! whatever follows the run must consume a byte first, and that byte can
//! never be one of the run's, every place inside the run is a place where
//! the rest fails at once: giving bytes back cannot help, and the greedy
//! run finds exactly the matches, the same spans and captures, that the
//! possessive one finds. SpamAssassin writes such runs often; the
//! `__PDS_TO_EQ_FROM_NAME_1` header rule ends
//! `(\1)([^\n\w<]++<)?((?!\1)[^\n">]++)>?\n`, where `<` follows the first
//! run and `>` or `\n` the second.
//!
//! Made plain, the run no longer needs the backtracking engine: a pattern
//! with nothing else Perl-only runs natively, and one with backreferences
//! becomes a shape the [`split`](super::split) engine knows.
//!
//! What may follow a run is worked out from the whole pattern: the bytes
//! each way on can consume first (look-around and position tests consume
//! none). Where the pattern may end, any byte may follow, since the text
//! goes on: a run that may end the pattern is left as it is (`a++\B`
//! fails on `aa!` where `a+\B` gives an `a` back), and so is a run inside
//! a look-around or an atomic group. Groups capture the same spans either
//! way.
//!
//! ```
//! use filter::spam::regex::{perl, possessive};
//!
//! let (node, _) = perl::parse(br"<[^>]++>", "").unwrap();
//! let (greedy, _) = perl::parse(br"<[^>]+>", "").unwrap();
//! assert_eq!(possessive::plain_runs(&node), greedy);
//! // `a` may follow a run of `a`: giving one back can matter.
//! let (node, _) = perl::parse(br"a++a", "").unwrap();
//! assert_eq!(possessive::plain_runs(&node), node);
//! ```

use super::perl::{ByteSet, Node};

/// `node` with every possessive run that cannot give anything back made
/// greedy (see the module documentation).
pub fn plain_runs(node: &Node) -> Node {
    // After the pattern, the text goes on with any byte.
    walk(node, ByteSet::FULL)
}

/// Whether `node` has a possessive run or an atomic group, which
/// [`plain_runs`] may change: most patterns have none, and need not be
/// walked and copied.
pub fn has_runs(node: &Node) -> bool {
    node.any(&mut |n| {
        matches!(
            n,
            Node::Atomic(_)
                | Node::Repeat {
                    possessive: true,
                    ..
                }
        )
    })
}

/// `node`, where `follow` holds every byte that what comes after it may
/// consume first.
fn walk(node: &Node, follow: ByteSet) -> Node {
    match node {
        Node::Concat(v) => {
            let mut out = vec![Node::Empty; v.len()];
            let mut after = follow;
            for (i, n) in v.iter().enumerate().rev() {
                out[i] = walk(n, after);
                after = before(n, after);
            }
            Node::Concat(out)
        }
        Node::Alt(v) => Node::Alt(v.iter().map(|n| walk(n, follow)).collect()),
        // A plain run matches the same spans, so what a group captures
        // does not change.
        Node::Group(cap, n) => Node::Group(*cap, Box::new(walk(n, follow))),
        Node::Repeat {
            possessive: true, ..
        } => plain_run(node, follow).unwrap_or_else(|| node.clone()),
        Node::Repeat {
            node: body,
            max,
            possessive: false,
            ..
        } => {
            // After one pass through the body: another pass, or what
            // follows the repeat.
            let inner = if *max == Some(1) {
                follow
            } else {
                let mut f = body.first_bytes().0;
                f.union(&follow);
                f
            };
            node.map_children(|b| walk(b, inner))
        }
        Node::Atomic(inner) if matches!(**inner, Node::Repeat { greedy: true, .. }) => {
            plain_run(inner, follow).unwrap_or_else(|| node.clone())
        }
        // Inside a look-around or an atomic group what follows is not
        // worked out here: left as it is.
        _ => node.clone(),
    }
}

/// `run` (a repeat of one class) as a plain greedy repeat, when no byte
/// of its class can start what follows.
fn plain_run(run: &Node, follow: ByteSet) -> Option<Node> {
    let Node::Repeat { node, min, max, .. } = run else {
        return None;
    };
    class_of(node)?.is_disjoint(&follow).then(|| Node::Repeat {
        node: node.clone(),
        min: *min,
        max: *max,
        greedy: true,
        possessive: false,
    })
}

/// The class a run repeats, through non-capturing groups.
fn class_of(node: &Node) -> Option<ByteSet> {
    match node {
        Node::Class(c) => Some(*c),
        Node::Group(false, n) => class_of(n),
        Node::Concat(v) if v.len() == 1 => class_of(&v[0]),
        _ => None,
    }
}

/// What may come after whatever precedes `node`, given what follows it.
fn before(node: &Node, after: ByteSet) -> ByteSet {
    let (mut f, nullable) = node.first_bytes();
    if nullable {
        f.union(&after);
    }
    f
}
