#!/usr/bin/env python3
"""Side-by-side spam run: libfilter and SpamAssassin on the same messages.

    scripts/bench-spamassassin.py [--limit N] [--repeat N] [--spamd] [--sa-cache FILE]
    scripts/bench-spamassassin.py --paired K [--limit N] [--spamd]

Runs, on the messages listed in ../shared/corpus/spamassassin/labels.tsv
(in that order; --limit N takes the first N of a fixed shuffle):

  * libfilter with its embedded default rules (`filterscan scan --json`);
  * libfilter with the stock SpamAssassin rules (`--rules /etc/spamassassin
    --rules /usr/share/spamassassin`);
  * SpamAssassin itself, one process that loads the rules once and checks
    every message (tests/spam/sa_check.pl: local tests only, no Bayes) --
    the work one spamd child does;
  * with --spamd, also spamd with one child, fed by spamc one message at a
    time (slower: it adds a connection and a spamc process per message),
    its CPU time read from /proc as with --paired --spamd below.

For each it prints spam caught and ham flagged at each engine's
required_score, and messages per second per core of CPU time (user + sys
of the child processes, so the figure does not depend on other load).
That figure includes the one-time work of loading the rules; the
"steady" column leaves it out: the same engine run on the first message
alone gives the load time, and (N - 1) / (CPU time - load time) is the
rate of a process that starts, loads its rules and checks N messages.
The "warm" column is the rate of one that has been running for a while,
as spamd children and a milter do. Each half of the messages is checked
after the other half, in one process, and takes the difference between
that run and the run on the other half alone; so every message is
checked once by an engine that has seen many messages but never that
one. libfilter's regexes build their automata's states lazily, as texts
need them, so its first messages cost more than its later ones;
SpamAssassin compiles its Perl regexes when it loads the rules.
SpamAssassin's results can be cached with --sa-cache (its runs take
minutes: the warm column runs it twice over).
With --repeat N each libfilter run (and each load-time run) is made N
times and the least CPU time kept: on a shared machine identical runs can
differ by a third, and the fastest run is the one least disturbed.

Last, it compares the scored rules each engine hit on each message
(stock rules): how many hits both have, how many only SpamAssassin has
(its network, Bayes and plugin rules among them) and how many only
libfilter has.

With --paired K it only measures speed, the fairest way this machine
allows: its speed drifts by a third within minutes, and one SpamAssassin
run over the corpus takes six. Each engine runs as one long-lived
process, as a spamd child or a milter does, fed file names on its
standard input (`filterscan scan --files-from -`, `sa_check.pl` without
arguments). They start one after the other, each checking the first
message alone before the next starts, so their loads do not overlap: the
CPU time of that first message is the engine's load. The other messages
are cut into K slices, and the engines check each slice in turn, so they
see the machine at the same moments. The messages are shuffled first
(with a fixed seed), so that the slices are alike. CPU time is read from
/proc/PID/stat before and after each slice. Rates are per core of CPU
time: "msg/s/cpu" counts the load once, as one process checking all the
messages; "steady" leaves it out; "warm" counts only the second half of
the slices, when libfilter's lazy automata hold the states they need
(SpamAssassin compiles its regexes as it loads).

With --paired K --spamd, spamd and spamc are a third engine, measured
the same way: spamd with one child that never retires
(--max-conn-per-child), asked by one spamc per message, as a mail server
asks it. Its CPU time is spamd's, parent and child, read from /proc while
they run, plus that of the spamc processes; its load is what spamd used
to start (it loads the rules before it forks the child) and to answer the
first message. This is the comparison issue 4 names; the one-process
SpamAssassin above is the same Perl without the protocol, a stricter bar.

Needs Debian's spamassassin (and spamc for --spamd), and builds filterscan
in release mode unless FILTERSCAN names a binary.
"""

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "spamassassin")
SA_CHECK = ["perl", os.path.join(ROOT, "tests", "spam", "sa_check.pl")]


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_timed(cmd, **kw):
    before = cpu_of_children()
    t0 = time.time()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, **kw)
    return out, cpu_of_children() - before, time.time() - t0


def figures(name, verdicts, labels, cpu, wall, load=None, warm_time=None):
    """Prints one row; returns the whole, steady and warm rates (None
    where not measured). `warm_time` is what `warm_cpu` returns."""
    spam = [p for p, l in labels if l == "spam"]
    ham = [p for p, l in labels if l == "ham"]
    caught = sum(1 for p in spam if verdicts.get(p))
    flagged = sum(1 for p in ham if verdicts.get(p))
    n = len(labels)
    # On a few messages the differences are noise and can be <= 0: no
    # rate then.
    steady = (n - 1) / (cpu - load) if load is not None and n > 1 and cpu > load else None
    warm = n / warm_time if warm_time is not None and warm_time > 0 else None
    show = lambda r: "-" if r is None else f"{r:.1f}"
    print(
        f"{name:<34} {100.0 * caught / max(1, len(spam)):7.2f}% {100.0 * flagged / max(1, len(ham)):7.2f}%"
        f" {n / max(cpu, 1e-9):10.1f} {show(steady):>10} {show(warm):>10} {wall:8.1f}"
    )
    return n / max(cpu, 1e-9), steady, warm


def warm_cpu(cmd, files, cpu, repeat=1):
    """CPU time of checking `files` with warm engines: with A and B the two
    halves of `files` and T the CPU time of `cmd` on a list, T(B A) - T(B)
    + T(A B) - T(A), where `cpu` is T(A B), the run on `files`."""
    a, b = files[: len(files) // 2], files[len(files) // 2 :]
    after = least_cpu([*cmd, *b, *a], repeat)
    return after - least_cpu([*cmd, *b], repeat) + cpu - least_cpu([*cmd, *a], repeat)


def least_cpu(cmd, repeat=1):
    """The least CPU time of `repeat` runs of `cmd`."""
    return min(run_timed(cmd)[1] for _ in range(repeat))


def filterscan_binary():
    exe = os.environ.get("FILTERSCAN")
    if exe:
        return exe
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "filterscan"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "filterscan")


def ours(exe, files, extra, repeat=1, hits=None):
    """Verdicts, CPU and wall time of libfilter on `files`; with `hits`, a
    dict, also the scored rules each message hit."""
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
            if hits is not None:
                hits.setdefault(path, set()).update(r["name"] for r in spam.get("symbols", []))
    if not verdicts:
        sys.exit("filterscan produced no verdicts: " + out.stderr.decode()[:500])
    return verdicts, cpu, wall


def spamassassin(files, cache, hits):
    """Verdicts, CPU and wall time of SpamAssassin on `files`, and its
    `warm_cpu`; fills `hits` with the scored rules each message hit."""
    # The cache names the messages it holds by a digest of their paths: a
    # cache of other messages (another --limit) is run again.
    digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
    rows = []
    if cache and os.path.exists(cache):
        with open(cache) as f:
            rows = [l.rstrip("\n").split("\t") for l in f]
    if rows and rows[0][4:5] == [digest]:
        cpu, wall, warm = (float(x) for x in rows.pop(0)[1:4])
    else:
        out, cpu, wall = run_timed([*SA_CHECK, *files])
        rows = [l.split("\t") for l in out.stdout.decode("utf-8", "replace").splitlines()]
        warm = warm_cpu(SA_CHECK, files, cpu)
        if cache:
            with open(cache, "w") as f:
                f.write(f"#cpu\t{cpu}\t{wall}\t{warm}\t{digest}\n")
                f.writelines("\t".join(r) + "\n" for r in rows)
    for r in rows:
        if len(r) >= 3:
            # SpamAssassin's TESTS tag reads "none" when nothing hit.
            hits[r[0]] = {t for t in r[2].split(",") if t and t != "none"}
    return {r[0]: float(r[1]) >= 5.0 for r in rows if len(r) >= 2}, cpu, wall, warm


def agreement(ours, theirs):
    """(both, SpamAssassin only, libfilter only): scored rule hits over
    the messages both engines checked."""
    both = sa_only = us_only = 0
    for path, sa in theirs.items():
        us = ours.get(path, set())
        both += len(sa & us)
        sa_only += len(sa - us)
        us_only += len(us - sa)
    return both, sa_only, us_only


def cpu_of(pid):
    """User + system CPU time of process `pid` so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ask(proc, paths):
    """Has a `--files-from -` process check `paths`; returns the CPU time it
    took. The names are written from a thread: the process writes its
    answers while it reads them, and either pipe can fill."""
    before = cpu_of(proc.pid)
    names = "".join(p + "\n" for p in paths) + "\n"
    writer = threading.Thread(target=lambda: (proc.stdin.write(names.encode()), proc.stdin.flush()))
    writer.start()
    for line in proc.stdout:
        if line == b"\n":
            break
    else:
        sys.exit(f"process {proc.pid} ended before answering")
    writer.join()
    return cpu_of(proc.pid) - before


class Piped:
    """A `--files-from -` engine: one process, fed file names."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # Loading happens as the first message is checked.
        self.start_cpu = 0.0

    def ask(self, paths):
        return ask(self.proc, paths)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def tree_cpu(pid):
    """User + system CPU time of process `pid`, of its children that have
    ended (reaped), and of its live children, so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        kids = f.read().split()
    return ticks / os.sysconf("SC_CLK_TCK") + sum(cpu_of(int(k)) for k in kids)


class Spamd:
    """spamd with one child that never retires, asked by one spamc per
    message, as a mail server asks it. Its CPU time is spamd's (parent and
    child, read from /proc while they live) plus spamc's (each spamc is
    our child, waited for)."""

    PORT = "17831"

    def __init__(self):
        # spamd loads the rules before it answers: its start-up, and the
        # spamc that pinged it, count as load.
        cpu0 = cpu_of_children()
        self.proc = subprocess.Popen(
            ["spamd", "-L", "--max-children=1", "--min-children=1", "--max-conn-per-child=1000000",
             "-i", "127.0.0.1", "-p", self.PORT, "-u", "nobody", "-x", "--cf=use_bayes 0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if self.proc.poll() is not None:
                sys.exit("spamd did not start")
            if subprocess.run(["spamc", "-p", self.PORT, "-x", "-c"], input=b"\n", stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode in (0, 1):
                self.start_cpu = tree_cpu(self.proc.pid) + cpu_of_children() - cpu0
                return
            time.sleep(0.3)
        sys.exit("spamd did not answer")

    def ask(self, paths, verdicts=None):
        """CPU time of checking `paths`; fills `verdicts` (path -> spam?)
        when given."""
        before = tree_cpu(self.proc.pid) + cpu_of_children()
        for p in paths:
            with open(p, "rb") as fh:
                r = subprocess.run(["spamc", "-p", self.PORT, "-x", "-c"], stdin=fh, stdout=subprocess.DEVNULL)
            if r.returncode not in (0, 1):
                sys.exit(f"spamc failed on {p}")
            if verdicts is not None:
                verdicts[p] = r.returncode == 1
        return tree_cpu(self.proc.pid) + cpu_of_children() - before

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def paired(exe, files, k, with_spamd=False):
    """Speed of the engines, long-lived, slice by slice in turn: see
    --paired."""
    makers = {
        "libfilter, stock SA rules": lambda: Piped([exe, "scan", "--json", "--files-from", "-", *STOCK_RULES]),
        "SpamAssassin 4 (one process)": lambda: Piped(SA_CHECK),
    }
    if with_spamd:
        makers["spamd + spamc (1 child)"] = Spamd
    cmds = list(makers)
    # One after the other: loads that overlap slow each other down.
    procs, load = {}, {}
    try:
        for name, make in makers.items():
            procs[name] = make()
            load[name] = procs[name].start_cpu + procs[name].ask(files[:1])
        rest = files[1:]
        n = len(rest)
        slices = [rest[i * n // k : (i + 1) * n // k] for i in range(k)]
        slices = [s for s in slices if s]
        cpu = {name: [] for name in cmds}
        print(f"{len(files)} messages: the first alone, then {len(slices)} slices, the engines in turn on each")
        print(f"{'slice':>5} {'msgs':>6}" + "".join(f" {name[:24]:>26}" for name in cmds) + "  (msg/s/cpu)")
        for i, part in enumerate(slices):
            names = list(cmds) if i % 2 else list(cmds)[::-1]
            for name in names:
                cpu[name].append(procs[name].ask(part))
            rates = "".join(f" {len(part) / max(cpu[name][-1], 1e-9):26.1f}" for name in cmds)
            print(f"{i + 1:>5} {len(part):>6}{rates}")
    finally:
        for p in procs.values():
            p.close()
    print(f"{'engine':<34} {'msg/s/cpu':>10} {'steady':>10} {'warm':>10} {'load s':>8}")
    rates = {}
    half = len(slices) // 2
    warm_n = sum(len(s) for s in slices[half:])
    for name in cmds:
        work = sum(cpu[name])
        warm_cpu = sum(cpu[name][half:])
        whole = len(files) / max(work + load[name], 1e-9)
        steady = n / work if work > 0 else None
        warm = warm_n / warm_cpu if warm_cpu > 0 else None
        rates[name] = (whole, steady, warm)
        show = lambda r: "-" if r is None else f"{r:.1f}"
        print(f"{name:<34} {whole:10.1f} {show(steady):>10} {show(warm):>10} {load[name]:8.2f}")
    ours_rates = rates[cmds[0]]
    ratio = lambda o, s: f"{o / s:.0f}x" if o and s else "-"
    for name in cmds[1:]:
        theirs = rates[name]
        print(f"libfilter / {name}, stock rules, per core: {ratio(ours_rates[0], theirs[0])}"
              f" (steady: {ratio(ours_rates[1], theirs[1])}, warm: {ratio(ours_rates[2], theirs[2])})")


STOCK_RULES = ["--rules", "/etc/spamassassin", "--rules", "/usr/share/spamassassin"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--spamd", action="store_true")
    ap.add_argument("--sa-cache")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--paired", type=int, default=0)
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
    if a.paired:
        # Shuffled, so that the slices are alike: the corpus's folders
        # differ, and hard_ham costs both engines several times what
        # easy_ham does.
        if not a.limit:
            random.Random(2004).shuffle(files)
        paired(exe, files, a.paired, a.spamd)
        return
    print(f"{len(files)} messages ({sum(1 for _, l in labels if l == 'spam')} spam)")
    print(f"{'engine':<34} {'spam':>8} {'ham FP':>8} {'msg/s/cpu':>10} {'steady':>10} {'warm':>10} {'wall s':>8}")
    r = max(1, a.repeat)
    scan = [exe, "scan", "--json"]
    v, cpu, wall = ours(exe, files, [], r)
    load = least_cpu([*scan, files[0]], r)
    figures("libfilter, default rules", v, labels, cpu, wall, load, warm_cpu(scan, files, cpu, r))
    rules = STOCK_RULES
    stock = [*scan, *rules]
    our_hits = {}
    v, cpu, wall = ours(exe, files, rules, r, our_hits)
    load = least_cpu([*stock, files[0]], r)
    warm = warm_cpu(stock, files, cpu, r)
    ours_rates = figures("libfilter, stock SA rules", v, labels, cpu, wall, load, warm)
    sa_hits = {}
    v, cpu, wall, warm = spamassassin(files, a.sa_cache, sa_hits)
    sa_load = least_cpu([*SA_CHECK, files[0]])
    sa_rates = figures("SpamAssassin 4 (one process)", v, labels, cpu, wall, sa_load, warm)
    if a.spamd:
        d = Spamd()
        try:
            v, t0 = {}, time.time()
            cpu = d.start_cpu + d.ask(files, v)
            figures("spamd + spamc (1 child)", v, labels, cpu, time.time() - t0)
        finally:
            d.close()
    ratio = lambda o, s: f"{o / s:.0f}x" if o and s else "-"
    print(f"libfilter / SpamAssassin, stock rules, per core: {ratio(ours_rates[0], sa_rates[0])}"
          f" (steady: {ratio(ours_rates[1], sa_rates[1])}, warm: {ratio(ours_rates[2], sa_rates[2])})")
    both, sa_only, us_only = agreement(our_hits, sa_hits)
    print(f"scored rule hits, stock rules: {both} both, {sa_only} SpamAssassin only, {us_only} libfilter only")


if __name__ == "__main__":
    main()
