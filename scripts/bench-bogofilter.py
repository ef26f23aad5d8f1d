#!/usr/bin/env python3
"""Side-by-side online spam-filter run: libfilter's classifier and bogofilter.

    scripts/bench-bogofilter.py [--seed S] [--limit N] [--svg FILE]
                                [--bogofilter PROG] [--no-libfilter]

Runs the TREC spam track's online protocol -- each message is classified,
then learned with its true label, before the next one arrives -- on the
messages listed in ../shared/corpus/spamassassin/labels.tsv, in the order
of a fixed shuffle (`random.Random(SEED).shuffle`, seed 1 unless --seed;
--limit N keeps the first N after the shuffle), for both filters:

  * libfilter: `filterscan eval --labels SHUFFLED.tsv --no-shuffle --scores
    OURS.tsv`, where SHUFFLED.tsv is the shuffled list written to a
    temporary directory, so both filters see the same messages in the same
    order; its output is echoed, its scores read back from OURS.tsv;
  * bogofilter, one process per message and per step, on a fresh database
    in the temporary directory:
        bogofilter -C -d DIR -t --terse-format='%1.1c %0.16f' -I FILE
    to classify (verdict letter S/H/U and the spamicity), then
        bogofilter -C -d DIR -s -I FILE      (spam)   or   -n  (ham)
    to learn the true label.  -C ignores configuration files, so the
    compiled-in defaults apply (spam_cutoff 0.99, ham_cutoff 0.45: three
    states).  The terse format is -T's with 16 decimals: -T itself prints
    the spamicity with 6 significant digits, so every spam above 0.999999
    would tie at "1".  The database is created empty (`bogoutil -l`)
    before the first message, which therefore scores robx (0.52).
    After the run, bulk mode (`-b`, file names on stdin) classifies every
    message once more with the trained database, for throughput only.

Figures, computed by the same code below for both filters from their
(score, label) lists:

  * (1-ROCA)%: the percentage of (spam, ham) pairs in which the spam
    scores below the ham, ties counting half (sorted, O(n log n));
  * spam missed at 0.1% ham lost: hams sorted by score, highest first;
    the threshold is the score of hams[k] (0-based), k = floor(0.001 *
    hams), so that at most k hams score above it; spam scoring <= the
    threshold is missed (the rule of libfilter's roc.rs);
  * ham lost / spam missed at each filter's default threshold: libfilter
    calls spam a score above 0.5; bogofilter calls spam its S verdict
    (spamicity >= spam_cutoff) and everything else -- H and unsure (U) --
    not spam, so an unsure spam counts as missed and an unsure ham as
    kept; the numbers of unsure messages are printed;
  * throughput in messages per second per core: libfilter's own figures
    (`classification:` and `learning:` lines, in-process time of the
    tokenizer plus classifier or learner, one thread, timed per message
    during the online run; and `bulk classification:`, one more pass over
    all messages with the trained model and no learning, in the thread's
    CPU time, the counterpart of bogofilter's bulk figure); for bogofilter, the
    user + sys CPU time of its child processes (getrusage RUSAGE_CHILDREN,
    so other load on the machine does not change it), separately for the
    classification and the learning calls.  Those include a process start
    and a database open per message; the bulk figure (one process for all
    messages, after training, no learning) shows the filter without them.

--svg FILE writes both ROC curves to one SVG: ham misclassification % (x)
against spam misclassification % (y), both on log scales from 0.01% to
100%, as the TREC spam track plotted them.

Needs Debian's bogofilter (`apt-get install bogofilter`; bogoutil comes
with it), and builds filterscan in release mode unless FILTERSCAN names a
binary (CARGO_TARGET_DIR is honoured).  Temporary files go to a temporary
directory; nothing is written to the corpus or the repository.
"""

import argparse
import math
import os
import random
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "spamassassin")

# Terse output of -T, with the spamicity to 16 decimals instead of 6
# significant digits.
TERSE = ["-t", "--terse-format=%1.1c %0.16f"]


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------------------
# Figures, the same for both filters. `scored` is a list of (score, is_spam).


def one_minus_roca_percent(scored):
    """Percentage of (spam, ham) pairs with spam < ham, ties counting half."""
    spam = sum(1 for _, s in scored if s)
    ham = len(scored) - spam
    if not spam or not ham:
        return float("nan")
    v = sorted(scored, key=lambda x: x[0])
    bad = 0.0
    hams_below = 0
    i = 0
    while i < len(v):
        j, s, h = i, 0, 0
        while j < len(v) and v[j][0] == v[i][0]:
            if v[j][1]:
                s += 1
            else:
                h += 1
            j += 1
        hams_above = ham - hams_below - h
        bad += s * (hams_above + h / 2.0)
        hams_below += h
        i = j
    return 100.0 * bad / (spam * ham)


def spam_missed_at_ham_rate(scored, ham_percent=0.1):
    """Spam missed (%) at the lowest threshold losing at most ham_percent of ham."""
    hams = sorted((x for x, s in scored if not s), reverse=True)
    spams = [x for x, s in scored if s]
    if not hams or not spams:
        return float("nan")
    k = int(ham_percent / 100.0 * len(hams))
    threshold = hams[min(k, len(hams) - 1)]
    return 100.0 * sum(1 for x in spams if x <= threshold) / len(spams)


def rates(verdicts):
    """(ham lost %, spam missed %) of (called spam, is spam) pairs."""
    ham = [c for c, s in verdicts if not s]
    spam = [c for c, s in verdicts if s]
    pct = lambda a, b: 100.0 * a / b if b else float("nan")
    return pct(sum(ham), len(ham)), pct(sum(1 for c in spam if not c), len(spam))


def roc_curve(scored):
    """(ham misclassification %, spam misclassification %) at every threshold."""
    v = sorted(scored, key=lambda x: -x[0])
    spam = max(1, sum(1 for _, s in v if s))
    ham = max(1, len(v) - sum(1 for _, s in v if s))
    out = [(0.0, 100.0)]
    lost = caught = 0
    i = 0
    while i < len(v):
        j = i
        while j < len(v) and v[j][0] == v[i][0]:
            if v[j][1]:
                caught += 1
            else:
                lost += 1
            j += 1
        out.append((100.0 * lost / ham, 100.0 * (spam - caught) / spam))
        i = j
    return out


def roc_svg(curves):
    """curves: [(name, colour, [(x%, y%)])] -> SVG text, log scales 0.01..100%."""
    w = h = 480.0
    m = 60.0

    def pos(pct, length):
        v = math.log10(min(100.0, max(0.01, pct)))  # -2 ..= 2
        return (v + 2.0) / 4.0 * length

    s = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * m:g}" height="{h + 2 * m:g}"'
        ' font-family="sans-serif" font-size="12">',
        f'<rect x="{m:g}" y="{m:g}" width="{w:g}" height="{h:g}" fill="white" stroke="black"/>',
    ]
    for i, label in enumerate(["0.01", "0.1", "1", "10", "100"]):
        d = i / 4.0
        x, y = m + d * w, m + h - d * h
        s.append(
            f'<line x1="{x:g}" y1="{m:g}" x2="{x:g}" y2="{m + h:g}" stroke="#ddd"/>'
            f'<text x="{x:g}" y="{m + h + 16:g}" text-anchor="middle">{label}</text>'
        )
        s.append(
            f'<line x1="{m:g}" y1="{y:g}" x2="{m + w:g}" y2="{y:g}" stroke="#ddd"/>'
            f'<text x="{m - 6:g}" y="{y + 4:g}" text-anchor="end">{label}</text>'
        )
    s.append(
        f'<text x="{m + w / 2:g}" y="{m + h + 40:g}" text-anchor="middle">'
        "ham misclassification (%)</text>"
    )
    s.append(
        f'<text x="16" y="{m + h / 2:g}" text-anchor="middle" transform="rotate(-90 16 {m + h / 2:g})">'
        "spam misclassification (%)</text>"
    )
    s.append(
        f'<text x="{m + w / 2:g}" y="{m - 20:g}" text-anchor="middle">'
        "ROC, online protocol (log scales)</text>"
    )
    for n, (name, colour, curve) in enumerate(curves):
        pts = " ".join(f"{m + pos(x, w):.2f},{m + h - pos(y, h):.2f}" for x, y in curve)
        s.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        ly = m + h - 40 + 18 * n
        s.append(
            f'<line x1="{m + w - 150:g}" y1="{ly:g}" x2="{m + w - 125:g}" y2="{ly:g}"'
            f' stroke="{colour}" stroke-width="2"/>'
            f'<text x="{m + w - 118:g}" y="{ly + 4:g}">{name}</text>'
        )
    s.append("</svg>")
    return "\n".join(s) + "\n"


# ---------------------------------------------------------------------------
# The corpus.


def read_labels():
    """[(label, path as in labels.tsv)] in the file's order."""
    out = []
    with open(os.path.join(CORPUS, "labels.tsv")) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            label, path = line.split("\t", 1)
            if label not in ("spam", "ham"):
                sys.exit(f"labels.tsv:{n}: label {label!r}")
            out.append((label, path))
    return out


def split_path(path):
    """'file#N' -> (file, N); 'file' -> (file, 1)."""
    m = re.fullmatch(r"(.*)#(\d+)", path)
    return (m.group(1), int(m.group(2))) if m else (path, 1)


def nth_mbox_message(data, n):
    """The n-th (1-based) message of an mbox, with its From line."""
    starts = [0] if data.startswith(b"From ") else []
    starts += [m.start() + 1 for m in re.finditer(rb"\n(?=From )", data) if m.start() > 0]
    if n > len(starts):
        sys.exit(f"mbox has {len(starts)} messages, wanted #{n}")
    end = starts[n] if n < len(starts) else len(data)
    return data[starts[n - 1] : end]


def message_files(labels, tmp):
    """A readable file per message for bogofilter: the corpus file itself,
    or for `path#N` with N > 1 the N-th message copied to the temp dir."""
    files = []
    for i, (_, path) in enumerate(labels):
        f, n = split_path(path)
        if n == 1:
            files.append(f)
        else:
            with open(f, "rb") as fh:
                msg = nth_mbox_message(fh.read(), n)
            out = os.path.join(tmp, f"msg-{i}.eml")
            with open(out, "wb") as fh:
                fh.write(msg)
            files.append(out)
    return files


# ---------------------------------------------------------------------------
# The filters.


def filterscan_binary():
    exe = os.environ.get("FILTERSCAN")
    if exe:
        return exe
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "filterscan"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "filterscan")


def run_libfilter(exe, shuffled, labels, tmp):
    """(scores, classify msg/s, learn msg/s) from `filterscan eval`."""
    scores_file = os.path.join(tmp, "ours.tsv")
    cmd = [exe, "eval", "--labels", shuffled, "--no-shuffle", "--scores", scores_file]
    print("$ " + shlex.join(cmd))
    before = cpu_of_children()
    t0 = time.time()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    wall = time.time() - t0
    cpu = cpu_of_children() - before
    text = out.stdout.decode("utf-8", "replace")
    for line in text.splitlines():
        print("    " + line)
    if out.returncode != 0:
        sys.exit(f"filterscan eval failed ({out.returncode}): {out.stderr.decode()[:1000]}")
    print(f"    (whole process: {cpu:.2f} s CPU, {wall:.2f} s wall, reading the corpus included)")

    def rate(key):
        m = re.search(rf"^{key}:\s*([0-9.]+)\s*msg/s", text, re.M)
        return float(m.group(1)) if m else float("nan")

    scored = []
    with open(scores_file) as f:
        for n, line in enumerate(f):
            score, label, path = line.rstrip("\n").split("\t", 2)
            if n >= len(labels) or (label, path) != labels[n]:
                sys.exit(f"{scores_file}:{n + 1}: {label} {path} is not message {n + 1} of the protocol")
            scored.append((float(score), label == "spam"))
    if len(scored) != len(labels):
        sys.exit(f"filterscan scored {len(scored)} messages, not {len(labels)}")
    return scored, rate("classification"), rate("learning"), rate("bulk classification")


def bogofilter_config(prog):
    """spam_cutoff and ham_cutoff as `bogofilter -C -Q` reports them."""
    out = subprocess.run([prog, "-C", "-Q"], stdout=subprocess.PIPE, check=True).stdout.decode()
    cut = {}
    for key in ("spam_cutoff", "ham_cutoff"):
        m = re.search(rf"^{key}\s*=\s*([0-9.]+)", out, re.M)
        cut[key] = float(m.group(1)) if m else float("nan")
    return cut


def run_bogofilter(prog, files, labels, tmp):
    db = os.path.join(tmp, "bogofilter")
    os.mkdir(db)
    # An empty word list, so that the first message is classified (robx)
    # rather than refused for want of a database.
    with open(os.devnull, "rb") as null:
        subprocess.run(["bogoutil", "-l", os.path.join(db, "wordlist.db")], stdin=null, check=True)
    base = [prog, "-C", "-d", db]
    scored, verdicts = [], []
    cpu_classify = cpu_learn = 0.0
    t0 = time.time()
    for i, (f, (label, _)) in enumerate(zip(files, labels)):
        before = cpu_of_children()
        r = subprocess.run(base + TERSE + ["-I", f], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        mid = cpu_of_children()
        # Exit codes: 0 spam, 1 ham, 2 unsure, 3 error.
        if r.returncode not in (0, 1, 2):
            sys.exit(f"bogofilter failed on {f} ({r.returncode}): {r.stderr.decode()[:500]}")
        parts = r.stdout.decode().split()
        if len(parts) != 2 or parts[0] not in ("S", "H", "U"):
            sys.exit(f"bogofilter: unexpected output on {f}: {r.stdout!r}")
        scored.append((float(parts[1]), label == "spam"))
        verdicts.append(parts[0])
        flag = "-s" if label == "spam" else "-n"
        r = subprocess.run(base + [flag, "-I", f], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        after = cpu_of_children()
        if r.returncode != 0:
            sys.exit(f"bogofilter {flag} failed on {f} ({r.returncode}): {r.stderr.decode()[:500]}")
        cpu_classify += mid - before
        cpu_learn += after - mid
        if (i + 1) % 1000 == 0:
            print(f"    bogofilter: {i + 1}/{len(files)} messages, {time.time() - t0:.0f} s", file=sys.stderr)
    wall = time.time() - t0

    # Bulk: one process classifies every message, the database trained.
    before = cpu_of_children()
    r = subprocess.run(base + ["-b"] + TERSE, input="".join(f + "\n" for f in files).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cpu_bulk = cpu_of_children() - before
    bulk_lines = [l for l in r.stdout.decode().splitlines() if l.strip()]
    if r.returncode not in (0, 1, 2) or len(bulk_lines) != len(files):
        sys.exit(f"bogofilter -b: exit {r.returncode}, {len(bulk_lines)} lines for {len(files)} files:"
                 f" {r.stderr.decode()[:500]}")
    n = len(files)
    return {
        "scored": scored,
        "verdicts": verdicts,
        "classify": n / max(cpu_classify, 1e-9),
        "learn": n / max(cpu_learn, 1e-9),
        "bulk": n / max(cpu_bulk, 1e-9),
        "cpu_classify": cpu_classify,
        "cpu_learn": cpu_learn,
        "cpu_bulk": cpu_bulk,
        "wall": wall,
    }


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description="libfilter vs bogofilter, TREC online protocol")
    ap.add_argument("--seed", type=int, default=1, help="seed of the shuffle (default 1)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N messages after the shuffle")
    ap.add_argument("--svg", metavar="FILE", help="write both ROC curves to FILE")
    ap.add_argument("--bogofilter", default="bogofilter", metavar="PROG", help="the bogofilter binary")
    ap.add_argument("--no-libfilter", action="store_true", help="run bogofilter only")
    a = ap.parse_args()

    lines = read_labels()
    random.Random(a.seed).shuffle(lines)
    if a.limit:
        lines = lines[: a.limit]
    # Absolute paths, normalised, with the #N suffix kept.
    labels = [(l, os.path.normpath(os.path.join(os.path.abspath(CORPUS), p))) for l, p in lines]
    spam = sum(1 for l, _ in labels if l == "spam")

    version = subprocess.run([a.bogofilter, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=True).stdout.decode().splitlines()[0].strip()
    cut = bogofilter_config(a.bogofilter)
    exe = None if a.no_libfilter else filterscan_binary()

    print(f"{len(labels)} messages ({spam} spam, {len(labels) - spam} ham) from {os.path.normpath(CORPUS)},"
          f" shuffled with random.Random({a.seed})")
    with tempfile.TemporaryDirectory(prefix="bench-bogofilter-") as tmp:
        shuffled = os.path.join(tmp, "shuffled.tsv")
        with open(shuffled, "w") as f:
            f.writelines(f"{l}\t{p}\n" for l, p in labels)
        files = message_files(labels, tmp)

        ours = None
        if exe:
            print("\nlibfilter:")
            ours = run_libfilter(exe, shuffled, labels, tmp)

        print(f"\n{version}: one process to classify and one to learn, per message"
              f" (spam_cutoff {cut['spam_cutoff']:g}, ham_cutoff {cut['ham_cutoff']:g})")
        bogo = run_bogofilter(a.bogofilter, files, labels, tmp)

    # Figures.
    bs, bv = bogo["scored"], bogo["verdicts"]
    mismatch = sum(1 for (x, _), v in zip(bs, bv) if (v == "S") != (x >= cut["spam_cutoff"]))
    unsure_ham = sum(1 for (_, s), v in zip(bs, bv) if v == "U" and not s)
    unsure_spam = sum(1 for (_, s), v in zip(bs, bv) if v == "U" and s)
    print(f"    {bogo['wall']:.1f} s wall; CPU {bogo['cpu_classify']:.1f} s classifying,"
          f" {bogo['cpu_learn']:.1f} s learning, {bogo['cpu_bulk']:.1f} s bulk")
    print(f"    unsure (U) verdicts: {unsure_ham} ham, {unsure_spam} spam -- counted as not spam"
          " (an unsure ham is kept, an unsure spam is missed)")
    if mismatch:
        print(f"    warning: {mismatch} verdicts disagree with spamicity >= spam_cutoff")

    b_ham, b_spam = rates([(v == "S", s) for (_, s), v in zip(bs, bv)])
    rows = []

    def fmt(x, spec):
        return "-" if x is None or x != x else format(x, spec)

    def pct(x):
        return "-" if x is None or x != x else f"{x:.2f}%"

    def row(name, ours_val, bogo_val):
        rows.append(f"{name:<36}{ours_val:>12}    {bogo_val}")

    o_scored = ours[0] if ours else None
    o_rates = rates([(x > 0.5, s) for x, s in o_scored]) if ours else (None, None)
    row("(1-ROCA)%", fmt(one_minus_roca_percent(o_scored) if ours else None, ".4f"),
        fmt(one_minus_roca_percent(bs), ".4f"))
    row("spam missed at 0.1% ham lost", pct(spam_missed_at_ham_rate(o_scored) if ours else None),
        pct(spam_missed_at_ham_rate(bs)))
    row("ham lost at default threshold", pct(o_rates[0]), pct(b_ham))
    row("spam missed at default threshold", pct(o_rates[1]), pct(b_spam))
    row("classify msg/s per core",
        f"{fmt(ours[1], '.0f')} / {fmt(ours[3], '.0f')} bulk" if ours else "-",
        f"{bogo['classify']:.0f} (one process per message) / {bogo['bulk']:.0f} bulk")
    row("learn msg/s per core", fmt(ours[2] if ours else None, ".0f"),
        f"{bogo['learn']:.0f} (one process per message)")

    print()
    print(f"{'figure':<36}{'libfilter':>12}    bogofilter")
    for r in rows:
        print(r)
    print()
    print("default threshold: libfilter score > 0.5; bogofilter verdict S"
          f" (spamicity >= {cut['spam_cutoff']:g}), U and H not spam.")
    print("msg/s per core: libfilter, its in-process tokenize + classify / learn time"
          " ('bulk': one more pass with the trained model, no learning, thread CPU time);"
          " bogofilter, user + sys CPU of its processes, one process per message"
          " (start-up and database open included); 'bulk' is one `bogofilter -b` over all"
          " messages after training (bulk classification msg/s per core, after training,"
          " no learning).")

    if a.svg:
        curves = []
        if ours:
            curves.append(("libfilter", "#1f77b4", roc_curve(o_scored)))
        curves.append(("bogofilter", "#d62728", roc_curve(bs)))
        with open(a.svg, "w") as f:
            f.write(roc_svg(curves))
        print(f"ROC curves: {a.svg}")

    cmd = [os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:]
    env = f"FILTERSCAN={shlex.quote(os.environ['FILTERSCAN'])} " if os.environ.get("FILTERSCAN") else ""
    target = (f"CARGO_TARGET_DIR={shlex.quote(os.environ['CARGO_TARGET_DIR'])} "
              if not env and os.environ.get("CARGO_TARGET_DIR") else "")
    print(f"reproduce (from {ROOT}): {env}{target}{shlex.join(cmd)}")


if __name__ == "__main__":
    main()
