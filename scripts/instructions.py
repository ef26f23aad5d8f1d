#!/usr/bin/env python3
"""Instructions per message of a stock-rules scan, counted by callgrind.

    scripts/instructions.py [--every N] [--rules DIR ...]

Wall-clock time on a shared machine moves by several percent between
identical runs, more than most single changes to the rule engine save.
Instruction counts do not move. This runs `filterscan scan --json` with
the stock SpamAssassin rules under valgrind's callgrind, counting only
inside `Scanner::scan_batch` (not loading the rules: `scan_many`, which
calls it, is inlined in release builds), on every Nth message
of ../shared/corpus/spamassassin/labels.tsv (default 15: 404 messages),
once over the sample and once over the sample twice in one process:

  * "first pass": instructions per message of the first run, where the
    regexes' lazy DFAs still build their states;
  * "warm": instructions per message of the second pass (the difference
    of the two runs), the steady state of a long-running scanner.

Needs valgrind, and a release build (FILTERSCAN=path, default
target/release/filterscan). The two runs go in parallel and take about
a minute. The figures are comparable only between builds on the same
machine, rules and sample.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "corpus", "spamassassin"))
STOCK = ["/etc/spamassassin", "/usr/share/spamassassin"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=15)
    ap.add_argument("--rules", action="append")
    a = ap.parse_args()
    exe = os.environ.get("FILTERSCAN", os.path.join(HERE, "..", "target", "release", "filterscan"))
    with open(os.path.join(CORPUS, "labels.tsv")) as f:
        paths = [os.path.join(CORPUS, line.rstrip("\n").split("\t")[1]) for line in f]
    sample = paths[:: max(1, a.every)]
    rules = [x for d in (a.rules or STOCK) for x in ("--rules", d)]
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, files in (("once", sample), ("twice", sample + sample)):
            out = os.path.join(tmp, name)
            cmd = [
                "valgrind", "--tool=callgrind", "--toggle-collect=filter::engine::Scanner::scan_batch*",
                f"--callgrind-out-file={out}", exe, "scan", "--json", *rules, *files,
            ]
            runs[name] = (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name, (out, p) in runs.items():
            p.wait()
            with open(out) as f:
                m = re.search(r"^totals: (\d+)", f.read(), re.M)
            if not m or m.group(1) == "0":
                sys.exit(f"callgrind counted nothing in the {name} run (is scan_batch inlined?)")
            totals[name] = int(m.group(1))
    n = len(sample)
    print(f"{n} messages (every {a.every}th), rules: {' '.join(a.rules or STOCK)}")
    print(f"first pass: {totals['once'] / n / 1000:,.1f} K instructions per message")
    print(f"warm:       {(totals['twice'] - totals['once']) / n / 1000:,.1f} K instructions per message")


if __name__ == "__main__":
    main()
