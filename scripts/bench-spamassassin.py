#!/usr/bin/env python3
"""Side-by-side spam run: libfilter and SpamAssassin on the same messages.

    scripts/bench-spamassassin.py [--limit N] [--repeat N] [--spamd] [--sa-cache FILE]

Runs, on the messages listed in ../shared/corpus/spamassassin/labels.tsv
(in that order; --limit N takes the first N of a fixed shuffle):

  * libfilter with its embedded default rules (`filterscan scan --json`);
  * libfilter with the stock SpamAssassin rules (`--rules /etc/spamassassin
    --rules /usr/share/spamassassin`);
  * SpamAssassin itself, one process that loads the rules once and checks
    every message (tests/spam/sa_check.pl: local tests only, no Bayes) --
    the work one spamd child does;
  * with --spamd, also spamd with one child, fed by spamc one message at a
    time (slower: it adds a connection and a fork per message).

For each it prints spam caught and ham flagged at each engine's
required_score, and messages per second per core of CPU time (user + sys
of the child processes, so the figure does not depend on other load).
That figure includes the one-time work of loading the rules; the
"steady" column leaves it out: the same engine run on the first message
alone gives the load time, and (N - 1) / (CPU time - load time) is the
rate of a long-running process such as spamd or a milter.
SpamAssassin's results can be cached with --sa-cache (it takes minutes).
With --repeat N each libfilter run (and each load-time run) is made N
times and the least CPU time kept: on a shared machine identical runs can
differ by a third, and the fastest run is the one least disturbed.

Needs Debian's spamassassin (and spamc for --spamd), and builds filterscan
in release mode unless FILTERSCAN names a binary.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "spamassassin")


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_timed(cmd, **kw):
    before = cpu_of_children()
    t0 = time.time()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, **kw)
    return out, cpu_of_children() - before, time.time() - t0


def figures(name, verdicts, labels, cpu, wall, load=None):
    spam = [p for p, l in labels if l == "spam"]
    ham = [p for p, l in labels if l == "ham"]
    caught = sum(1 for p in spam if verdicts.get(p))
    flagged = sum(1 for p in ham if verdicts.get(p))
    n = len(labels)
    steady = (n - 1) / max(cpu - load, 1e-9) if load is not None and n > 1 else None
    print(
        f"{name:<34} {100.0 * caught / max(1, len(spam)):7.2f}% {100.0 * flagged / max(1, len(ham)):7.2f}%"
        f" {n / max(cpu, 1e-9):10.1f} {'-' if steady is None else f'{steady:.1f}':>10} {wall:8.1f}"
    )
    return n / max(cpu, 1e-9), steady


def load_cpu(cmd, repeat=1):
    """CPU time of `cmd` run on one message: the engine's start-up."""
    return min(run_timed(cmd)[1] for _ in range(repeat))


def filterscan_binary():
    exe = os.environ.get("FILTERSCAN")
    if exe:
        return exe
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "filterscan"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "filterscan")


def ours(exe, files, extra, repeat=1):
    out, cpu, wall = run_timed([exe, "scan", "--json", *extra, *files])
    for _ in range(repeat - 1):
        _, c, w = run_timed([exe, "scan", "--json", *extra, *files])
        cpu, wall = min(cpu, c), min(wall, w)
    verdicts = {}
    for line in out.stdout.decode("utf-8", "replace").splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if "path" in v:
            # Corpus files start with an mbox "From " line, so filterscan
            # reports them as one-message mboxes: `path#1`.
            path = v["path"].split("#")[0]
            spam = v.get("spam") or {}
            verdicts[path] = verdicts.get(path, False) or bool(spam.get("is_spam"))
    if not verdicts:
        sys.exit("filterscan produced no verdicts: " + out.stderr.decode()[:500])
    return verdicts, cpu, wall


def spamassassin(files, cache):
    if cache and os.path.exists(cache):
        with open(cache) as f:
            rows = [l.rstrip("\n").split("\t") for l in f]
        meta = rows.pop(0)
        cpu, wall = float(meta[1]), float(meta[2])
    else:
        out, cpu, wall = run_timed(["perl", os.path.join(ROOT, "tests/spam/sa_check.pl"), *files])
        rows = [l.split("\t") for l in out.stdout.decode("utf-8", "replace").splitlines()]
        if cache:
            with open(cache, "w") as f:
                f.write(f"#cpu\t{cpu}\t{wall}\n")
                f.writelines("\t".join(r) + "\n" for r in rows)
    return {r[0]: float(r[1]) >= 5.0 for r in rows if len(r) >= 2}, cpu, wall


def spamd(files):
    port = "17830"
    d = subprocess.Popen(
        ["spamd", "-L", "--max-children=1", "--min-children=1", "-i", "127.0.0.1", "-p", port,
         "-u", "nobody", "-x", "--cf=use_bayes 0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["spamc", "-p", port, "-c"], input=b"\n", stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode in (0, 1):
                break
            time.sleep(0.3)
        verdicts = {}
        t0 = time.time()
        for f in files:
            with open(f, "rb") as fh:
                r = subprocess.run(["spamc", "-p", port, "-c"], stdin=fh, stdout=subprocess.PIPE)
            verdicts[f] = r.returncode == 1
        wall = time.time() - t0
        # spamd's CPU time is not ours to read once it exits; wall time
        # with one child on an otherwise idle machine is the figure.
        return verdicts, wall, wall
    finally:
        d.terminate()
        d.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--spamd", action="store_true")
    ap.add_argument("--sa-cache")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()

    labels = []
    with open(os.path.join(CORPUS, "labels.tsv")) as f:
        for line in f:
            l, p = line.rstrip("\n").split("\t")
            labels.append((os.path.normpath(os.path.join(CORPUS, p)), l))
    if a.limit:
        random.Random(2004).shuffle(labels)
        labels = labels[: a.limit]
    files = [p for p, _ in labels]

    exe = filterscan_binary()
    print(f"{len(files)} messages ({sum(1 for _, l in labels if l == 'spam')} spam)")
    print(f"{'engine':<34} {'spam':>8} {'ham FP':>8} {'msg/s/cpu':>10} {'steady':>10} {'wall s':>8}")
    r = max(1, a.repeat)
    v, cpu, wall = ours(exe, files, [], r)
    load = load_cpu([exe, "scan", "--json", files[0]], r)
    figures("libfilter, default rules", v, labels, cpu, wall, load)
    stock = ["--rules", "/etc/spamassassin", "--rules", "/usr/share/spamassassin"]
    v, cpu, wall = ours(exe, files, stock, r)
    load = load_cpu([exe, "scan", "--json", *stock, files[0]], r)
    ours_rate, ours_steady = figures("libfilter, stock SA rules", v, labels, cpu, wall, load)
    v, cpu, wall = spamassassin(files, a.sa_cache)
    sa_load = load_cpu(["perl", os.path.join(ROOT, "tests/spam/sa_check.pl"), files[0]])
    sa_rate, sa_steady = figures("SpamAssassin 4 (one process)", v, labels, cpu, wall, sa_load)
    if a.spamd:
        v, cpu, wall = spamd(files)
        figures("spamd + spamc (1 child, wall)", v, labels, cpu, wall)
    print(f"libfilter / SpamAssassin, stock rules, per core: {ours_rate / sa_rate:.0f}x"
          f" (steady: {ours_steady / sa_steady:.0f}x)")


if __name__ == "__main__":
    main()
