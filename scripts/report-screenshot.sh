#!/usr/bin/env bash
# The threat report in a browser: scan a slice of the SpamAssassin corpus
# with `filterscan scan --json`, make the HTML report with `filterscan
# report --html`, take a screenshot with headless Chromium (Debian's
# chromium package, installed when missing; run as root), and check that
# the picture has the page's size and is not blank.
#
#   bash scripts/report-screenshot.sh [OUT_DIR]
#
# Needs ../shared/corpus/spamassassin beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
CORPUS=../shared/corpus/spamassassin

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium
fi

cargo build --release -q -p filterscan
FS=${CARGO_TARGET_DIR:-target}/release/filterscan

# Every 10th message: ~600 messages across the corpus's whole period.
awk -F'\t' 'NR % 10 == 0 { print "'"$CORPUS"'/" $2 }' "$CORPUS/labels.tsv" > "$OUT/list"
# filterscan exits 1 when it finds spam, which xargs reports as 123; what
# counts is that every message got its line.
xargs "$FS" scan --json < "$OUT/list" > "$OUT/scan.jsonl" || true
want=$(wc -l < "$OUT/list")
got=$(grep -vc '^{"summary"' "$OUT/scan.jsonl" || true)
if [ "$got" -ne "$want" ]; then
    echo "scan --json wrote $got lines for $want messages"
    exit 1
fi
"$FS" report --html "$OUT/report.html" "$OUT/scan.jsonl" > "$OUT/report.txt"
head -n 8 "$OUT/report.txt"
total=$(sed -n 's/^Messages scanned: //p' "$OUT/report.txt" | tr -d ,)
if [ "$total" != "$want" ]; then
    echo "the report counts ${total:-nothing}, not $want"
    exit 1
fi

# Exactly these flags: as root on this network Chromium needs no sandbox,
# no GPU, no first-run, update or sync traffic, and a fresh profile.
rm -f "$OUT/report.png"
profile=$(mktemp -d)
status=0
timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --screenshot="$OUT/report.png" \
    --window-size=1200,1600 "file://$(realpath "$OUT/report.html")" \
    >"$OUT/chromium.log" 2>&1 || status=$?
rm -rf "$profile"
if [ ! -s "$OUT/report.png" ]; then
    echo "no screenshot (chromium exit status $status):"
    tail -n 40 "$OUT/chromium.log"
    exit 1
fi
file "$OUT/report.png" 2>/dev/null || true

python3 - "$OUT/report.png" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert (w, h) == (1200, 1600), f"size {w}x{h}"
assert depth == 8 and ctype in (2, 6), f"depth {depth} colour type {ctype}"
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp + 1
colours, dark, red = set(), 0, 0
prev = bytearray(w * bpp)
for y in range(h):
    f = raw[y * stride]
    line = bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 4 == 0:
        for x in range(0, w, 4):
            r, g, bl = line[x * bpp:x * bpp + 3]
            colours.add((r, g, bl))
            dark += r + g + bl < 200
            red += r > 150 and g < 100 and bl < 100
print(f"screenshot {w}x{h}: {len(colours)} colours, {dark} dark samples (text), {red} red samples (spam bars)")
assert len(colours) > 20, "blank page"
assert dark > 100, "no text"
assert red > 50, "no spam chart"
PY
echo "ok: $OUT/report.png"
