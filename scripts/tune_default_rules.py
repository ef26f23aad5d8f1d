#!/usr/bin/env python3
"""Tune the scores of libfilter's default spam rules (src/spam/default.cf).

What it does
------------
1. Checks every message of the SpamAssassin public corpus
   (../shared/corpus/spamassassin, labels in labels.tsv) with the real
   SpamAssassin 4.0.1 running *only* our rules: local tests only, no Bayes,
   no auto-welcomelist, no user preferences, and only the plugins whose eval
   functions the rules call. The rules are checked with every score set to
   its prior (see below), so that no rule is switched off by a zero score.
   The rules hit per message (TESTS and SUBTESTS) are cached in
   /tmp/lf_tune/hits-<hash of default.cf at its priors>.tsv, so re-running
   after editing only this script or the scores does not re-run
   SpamAssassin. Perl's warnings from RelayEval about unparsed Received
   headers are harmless.
2. Splits the corpus into a training and a test half by a fixed rule: the
   MD5 of SPLIT_SEED + the message's path relative to the corpus; an even
   first byte puts it in the training half. No randomness is involved
   anywhere else, so the result is deterministic.
3. Fits the scores on the training half only: weighted logistic regression
   on (score - 5.0) / T by projected gradient descent (Adam), with an L2
   pull towards each rule's prior (the `# prior NAME VALUE` line in
   default.cf) so that rules the corpus says little about (current scams the
   2002-2003 corpus does not contain) keep about their hand-set score.
   Scores are clamped to [MIN_POS, MAX_POS] for rules with a positive prior
   and to [MIN_NEG, -MIN_POS] for the few with a negative prior (signs of
   ham, marked `tflags nice`). Ham is weighted more than spam, to keep
   false positives rare: the weight is the smallest of HAM_WEIGHTS for which a
   2-fold cross-validation inside the training half (folds again by hash)
   flags at most TARGET_FP of the held-out ham; the final fit then uses
   the whole training half. The test half is only reported on.
4. Prints the figures on both halves (spam caught %, ham flagged %), the
   rules by hit counts, and rewrites the `score` lines of default.cf (the
   rules and priors themselves are left alone).

How to run
----------
    python3 scripts/tune_default_rules.py            # check (cached) + fit + write
    python3 scripts/tune_default_rules.py --dry-run  # fit and print, do not write
    python3 scripts/tune_default_rules.py --jobs 2   # SpamAssassin processes

It needs SpamAssassin 4.0.1 (Debian's `spamassassin` package; Perl modules
under /usr/share/perl5/Mail/SpamAssassin) and Python 3.8+, nothing else.
Checking the whole corpus takes a few minutes; it runs under `nice`.

The seed: SPLIT_SEED below ("libfilter-default-rules-1").
"""

import argparse
import hashlib
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CF = os.path.join(ROOT, "src", "spam", "default.cf")
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus", "spamassassin"))
CACHE = "/tmp/lf_tune"
TLDS = "/usr/share/spamassassin/20_aux_tlds.cf"

SPLIT_SEED = "libfilter-default-rules-1"
REQUIRED = 5.0
TARGET_FP = 0.005       # ham flagged in cross-validation on the training half
HAM_WEIGHTS = [4, 6, 8, 10, 13, 16, 20, 25, 32]  # candidate ham weights, smallest first
MAX_POS = 4.0           # no single rule flags a message alone
MIN_POS = 0.001         # a zero score would switch a rule off in SpamAssassin
MIN_NEG = -1.5          # signs of ham are cheap to fake: keep them small
TEMPERATURE = 1.0
PRIOR_WEIGHT = 0.1      # L2 pull towards the prior, per rule
ITERATIONS = 1500

PLUGINS = ["Check", "HeaderEval", "MIMEEval", "BodyEval", "HTMLEval", "RelayEval"]

PERL = r"""
use strict;
use warnings;
use Mail::SpamAssassin;
my ($rules, $site) = (shift @ARGV, shift @ARGV);
my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1,
    dont_copy_prefs => 1,
    userprefs_filename => '/dev/null',
    rules_filename => $rules,
    site_rules_filename => $site,
    post_config_text => "use_bayes 0\nuse_auto_whitelist 0\nuse_txrep 0\n",
});
$sa->init(1);
while (my $path = <STDIN>) {
    chomp $path;
    open(my $fh, '<', $path) or do { print STDERR "$path: $!\n"; next };
    binmode $fh;
    local $/;
    my $text = <$fh>;
    close $fh;
    my $msg = $sa->parse($text);
    my $pms = $sa->check($msg);
    printf "%s\t%.3f\t%s\t%s\n", $path, $pms->get_score(),
        $pms->get_tag('TESTS'), $pms->get_tag('SUBTESTS');
    $pms->finish;
    $msg->finish;
}
"""


def read_rules(text):
    """(priors, order): the prior of every scored rule, in file order."""
    priors = {}
    for m in re.finditer(r"^# prior (\S+) (-?[\d.]+)\s*$", text, re.M):
        priors[m.group(1)] = float(m.group(2))
    scored = re.findall(r"^score\s+(\S+)\s", text, re.M)
    missing = [r for r in scored if r not in priors and r != "LF_GTUBE"]
    if missing:
        sys.exit("rules without a '# prior' line: " + ", ".join(missing))
    return priors, [r for r in scored if r != "LF_GTUBE"]


def with_scores(text, scores):
    """default.cf with the score lines set from `scores`."""
    def sub(m):
        name = m.group(2)
        if name not in scores:
            return m.group(0)
        return "%s%s%s" % (m.group(1), name, m.group(3)) + fmt(scores[name])
    return re.sub(r"^(score\s+)(\S+)(\s+)\S+[ \t]*$", sub, text, flags=re.M)


def fmt(x):
    s = "%.3f" % x
    return s.rstrip("0").rstrip(".") if "." in s else s


def labelled():
    out = []
    with open(os.path.join(CORPUS, "labels.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            label, rel = line.split("\t", 1)
            out.append((label == "spam", rel))
    return out


def in_train(rel):
    return hashlib.md5((SPLIT_SEED + rel).encode()).digest()[0] % 2 == 0


def check(text, msgs, jobs):
    """{relative path: set of rules hit}, from the cache or SpamAssassin."""
    os.makedirs(CACHE, exist_ok=True)
    # The rules run at their priors, so the scores written back do not
    # change what SpamAssassin is asked: leave them out of the key.
    priors, _ = read_rules(text)
    text = with_scores(text, priors)
    key = hashlib.sha256((text + PERL + " ".join(PLUGINS)).encode()).hexdigest()[:16]
    cache = os.path.join(CACHE, "hits-%s.tsv" % key)
    if not os.path.exists(cache):
        tmp = tempfile.mkdtemp(prefix="lf_tune_")
        rules_dir = os.path.join(tmp, "rules")
        site_dir = os.path.join(tmp, "site")
        os.makedirs(rules_dir)
        os.makedirs(site_dir)
        # Every rule runs at its prior: a zero score switches a rule off.
        with open(os.path.join(rules_dir, "50_libfilter_default.cf"), "w") as f:
            f.write(text)
        # SpamAssassin's list of top-level domains (configuration, not
        # rules): its URI extraction needs it to find bare domain names.
        if os.path.exists(TLDS):
            with open(TLDS) as src, open(os.path.join(rules_dir, "20_aux_tlds.cf"), "w") as f:
                f.write(src.read())
        with open(os.path.join(site_dir, "init.pre"), "w") as f:
            for p in PLUGINS:
                f.write("loadplugin Mail::SpamAssassin::Plugin::%s\n" % p)
        script = os.path.join(tmp, "check.pl")
        with open(script, "w") as f:
            f.write(PERL)
        paths = [os.path.join(CORPUS, rel) for _, rel in msgs]
        chunks = [paths[i::jobs] for i in range(jobs)]
        procs = []
        outs = []
        for i, chunk in enumerate(chunks):
            listing = os.path.join(tmp, "paths%d" % i)
            with open(listing, "w") as f:
                f.write("\n".join(chunk) + "\n")
            out = open(cache + ".part%d" % i, "w")
            inp = open(listing)
            outs.extend([out, inp])
            p = subprocess.Popen(["nice", "perl", script, rules_dir, site_dir],
                                 stdin=inp, stdout=out, text=True)
            procs.append(p)
        for p in procs:
            if p.wait() != 0:
                sys.exit("SpamAssassin failed")
        for o in outs:
            o.close()
        with open(cache + ".tmp", "w") as f:
            for i in range(jobs):
                with open(cache + ".part%d" % i) as part:
                    f.write(part.read())
                os.remove(cache + ".part%d" % i)
        os.rename(cache + ".tmp", cache)
    hits = {}
    prefix = CORPUS + os.sep
    with open(cache) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rel = cols[0][len(prefix):] if cols[0].startswith(prefix) else cols[0]
            names = set()
            for col in cols[2:4]:
                names.update(n for n in col.split(",") if n and n != "none")
            hits[rel] = names
    return hits


def fit(rows, priors, names, ham_weight):
    """Scores from `rows` [(is_spam, count, [rule index])]."""
    n = len(names)
    w = [priors[r] for r in names]
    lo = [MIN_NEG if priors[r] < 0 else MIN_POS for r in names]
    hi = [-MIN_POS if priors[r] < 0 else MAX_POS for r in names]
    m = [0.0] * n
    v = [0.0] * n
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    total = sum(c * (ham_weight if not s else 1.0) for s, c, _ in rows)
    for t in range(1, ITERATIONS + 1):
        g = [PRIOR_WEIGHT * 2 * (w[i] - priors[names[i]]) for i in range(n)]
        for is_spam, count, idx in rows:
            s = sum(w[i] for i in idx)
            z = (s - REQUIRED) / TEMPERATURE
            y = 1.0 if is_spam else -1.0
            # d/ds log(1 + exp(-y z))
            yz = y * z
            if yz > 30:
                d = 0.0
            else:
                d = -y / (1.0 + math.exp(yz)) / TEMPERATURE
            d *= count * (1.0 if is_spam else ham_weight) * 1000.0 / total
            for i in idx:
                g[i] += d
        for i in range(n):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            mh = m[i] / (1 - b1 ** t)
            vh = v[i] / (1 - b2 ** t)
            w[i] -= lr * mh / (math.sqrt(vh) + eps)
            w[i] = min(hi[i], max(lo[i], w[i]))
    return {names[i]: round(w[i], 3) for i in range(n)}


def evaluate(msgs, hits, scores):
    spam = caught = ham = flagged = 0
    for is_spam, rel in msgs:
        s = sum(scores.get(r, 0.0) for r in hits.get(rel, ()))
        if is_spam:
            spam += 1
            caught += s >= REQUIRED
        else:
            ham += 1
            flagged += s >= REQUIRED
    return spam, caught, ham, flagged


def figures(label, msgs, hits, scores):
    spam, caught, ham, flagged = evaluate(msgs, hits, scores)
    print("%-6s spam caught %4d/%4d = %6.2f%%   ham flagged %3d/%4d = %5.2f%%" % (
        label, caught, spam, 100.0 * caught / max(spam, 1),
        flagged, ham, 100.0 * flagged / max(ham, 1)))
    return spam, caught, ham, flagged


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="do not rewrite default.cf")
    ap.add_argument("--jobs", type=int, default=2, help="SpamAssassin processes")
    args = ap.parse_args()

    with open(CF) as f:
        text = f.read()
    priors, names = read_rules(text)
    msgs = labelled()
    hits = check(text, msgs, args.jobs)
    missing = [rel for _, rel in msgs if rel not in hits]
    if missing:
        sys.exit("%d messages not checked, e.g. %s" % (len(missing), missing[0]))

    train = [(s, rel) for s, rel in msgs if in_train(rel)]
    test = [(s, rel) for s, rel in msgs if not in_train(rel)]
    index = {r: i for i, r in enumerate(names)}
    patterns = Counter()
    for s, rel in train:
        idx = tuple(sorted(index[r] for r in hits[rel] if r in index))
        patterns[(s, idx)] += 1
    rows = [(s, c, list(idx)) for (s, idx), c in patterns.items()]

    print("rules: %d scored; training %d, test %d messages (%d hit patterns)" % (
        len(names), len(train), len(test), len(rows)))
    figures("prior", train, hits, priors)

    def rows_of(part):
        patterns = Counter()
        for s, rel in part:
            idx = tuple(sorted(index[r] for r in hits[rel] if r in index))
            patterns[(s, idx)] += 1
        return [(s, c, list(idx)) for (s, idx), c in patterns.items()]

    def fold(rel):
        return hashlib.md5((SPLIT_SEED + "/fold/" + rel).encode()).digest()[0] % 2

    folds = [[m for m in train if fold(m[1]) == k] for k in (0, 1)]
    ham_weight = HAM_WEIGHTS[-1]
    for hw in HAM_WEIGHTS:
        caught = flagged = spam = ham = 0
        for k in (0, 1):
            sc = fit(rows_of(folds[1 - k]), priors, names, hw)
            a, b, c, d = evaluate(folds[k], hits, sc)
            spam, caught, ham, flagged = spam + a, caught + b, ham + c, flagged + d
        print("ham weight %4.1f: cross-validated spam caught %.2f%%, ham flagged %.2f%%" % (
            hw, 100.0 * caught / spam, 100.0 * flagged / ham))
        if flagged <= TARGET_FP * ham:
            ham_weight = hw
            break
    print("ham weight", ham_weight)
    scores = fit(rows, priors, names, ham_weight)

    print()
    figures("train", train, hits, scores)
    figures("test", test, hits, scores)
    figures("all", msgs, hits, scores)

    count = defaultdict(lambda: [0, 0])
    for s, rel in msgs:
        for r in hits[rel]:
            count[r][0 if s else 1] += 1
    print("\n%-26s %8s %6s %6s" % ("rule", "score", "spam", "ham"))
    for r in names:
        print("%-26s %8s %6d %6d  (prior %s)" % (
            r, fmt(scores[r]), count[r][0], count[r][1], fmt(priors[r])))

    if not args.dry_run:
        with open(CF, "w") as f:
            f.write(with_scores(text, scores))
        print("\nwrote", CF)


if __name__ == "__main__":
    main()
