#!/usr/bin/env python3
"""Generate a synthetic ClamAV-format signature database and inputs for
benchmarking libfilter against clamscan (scripts/bench-clamscan.sh).

    scripts/gen_sigdb.py OUTDIR [--ndb N] [--hdb N] [--random-mib N] [--small N]

Writes, from a fixed seed (the same bytes on every run):

    OUTDIR/db/bench.ndb   N body signatures (default 100,000), a quarter each:
                          plain hex of 16-40 random bytes; with `??` and
                          `{n-m}`; with `*`; with alternatives `(aa|bb)`
    OUTDIR/db/bench.hdb   N MD5 signatures (default 1,000,000)
    OUTDIR/random.bin     random bytes (default 100 MiB)
    OUTDIR/small/         N files of 1-64 KiB (default 2,000); every 200th
                          has the first plain body signature planted in it
    OUTDIR/expected.txt   the small files that must be detected

The signatures are random and match nothing real; none is copied from
ClamAV's databases.
"""

import argparse
import hashlib
import os
import random
import sys


def hexs(rng, n):
    return rng.randbytes(n).hex()


def ndb_line(rng, i):
    kind = i % 4
    if kind == 0:
        body = hexs(rng, rng.randint(16, 40))
    elif kind == 1:
        lo = rng.randint(0, 4)
        body = f"{hexs(rng, 8)}??{hexs(rng, 6)}{{{lo}-{lo + rng.randint(1, 8)}}}{hexs(rng, 8)}"
    elif kind == 2:
        body = f"{hexs(rng, 10)}*{hexs(rng, 10)}"
    else:
        alts = "|".join(hexs(rng, 2) for _ in range(rng.randint(2, 4)))
        body = f"{hexs(rng, 8)}({alts}){hexs(rng, 8)}"
    return f"Bench.Ndb.{kind}.{i}:0:*:{body}\n", (bytes.fromhex(body) if kind == 0 else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--ndb", type=int, default=100_000)
    ap.add_argument("--hdb", type=int, default=1_000_000)
    ap.add_argument("--random-mib", type=int, default=100)
    ap.add_argument("--small", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=20240603)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    db = os.path.join(a.outdir, "db")
    small = os.path.join(a.outdir, "small")
    os.makedirs(db, exist_ok=True)
    os.makedirs(small, exist_ok=True)

    planted = None
    with open(os.path.join(db, "bench.ndb"), "w") as f:
        for i in range(a.ndb):
            line, plain = ndb_line(rng, i)
            if planted is None and plain is not None:
                planted = (line.split(":", 1)[0], plain)
            f.write(line)

    with open(os.path.join(db, "bench.hdb"), "w") as f:
        buf = []
        for i in range(a.hdb):
            buf.append(f"{rng.getrandbits(128):032x}:{rng.randint(1, 1 << 20)}:Bench.Hdb.{i}\n")
            if len(buf) == 10_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))

    with open(os.path.join(a.outdir, "random.bin"), "wb") as f:
        for _ in range(a.random_mib):
            f.write(rng.randbytes(1 << 20))

    expected = []
    for i in range(a.small):
        data = bytearray(rng.randbytes(rng.randint(1024, 64 * 1024)))
        name = f"f{i:05d}.bin"
        if i % 200 == 199 and planted:
            at = rng.randint(0, len(data) - len(planted[1]))
            data[at:at + len(planted[1])] = planted[1]
            expected.append(f"{name}: {planted[0]}.UNOFFICIAL FOUND\n")
        with open(os.path.join(small, name), "wb") as f:
            f.write(data)
    with open(os.path.join(a.outdir, "expected.txt"), "w") as f:
        f.writelines(expected)
    print(f"{a.outdir}: {a.ndb} ndb, {a.hdb} hdb, {a.random_mib} MiB random.bin, "
          f"{a.small} small files ({len(expected)} planted)", file=sys.stderr)


if __name__ == "__main__":
    main()
