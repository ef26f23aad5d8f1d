#!/bin/sh
# Compare clamscan and `filterscan scan` on the synthetic database and inputs
# made by scripts/gen_sigdb.py:
#
#     scripts/gen_sigdb.py /tmp/bench
#     scripts/bench-clamscan.sh /tmp/bench
#
# For each tool it runs, under /usr/bin/time -v, a scan of an empty file
# (which measures the database load), of random.bin and of small/, and
# prints wall time, CPU time (user + system), peak RSS and throughput
# (bytes scanned divided by the time beyond the load), then
# filterscan/clamscan ratios. On a busy machine the CPU times are the
# steadier comparison of the two loads: wall time then also counts the
# time spent waiting for a core. It also checks
# that both tools find exactly the planted files listed in expected.txt.
#
# Environment: FILTERSCAN (binary; default: built here with
# `cargo build --release -p filterscan`), CLAMSCAN (default: clamscan).
set -eu

OUT=${1:?usage: $0 OUTDIR (made by scripts/gen_sigdb.py)}
OUT=$(cd "$OUT" && pwd)
[ -d "$OUT/db" ] && [ -f "$OUT/random.bin" ] && [ -d "$OUT/small" ] ||
    { echo "$OUT: run scripts/gen_sigdb.py $OUT first" >&2; exit 2; }
[ -x /usr/bin/time ] ||
    { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 2; }
CLAMSCAN=${CLAMSCAN:-clamscan}
command -v bc >/dev/null || { echo "bc is missing: apt-get install bc" >&2; exit 2; }
command -v "$CLAMSCAN" >/dev/null ||
    { echo "clamscan is missing: apt-get install clamav" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${FILTERSCAN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p filterscan)
    FILTERSCAN=${CARGO_TARGET_DIR:-$ROOT/target}/release/filterscan
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
: > "$TMP/empty"

# Large enough that neither tool skips random.bin as too big.
CLAM_ARGS="--no-summary --max-filesize=400M --max-scansize=400M -d $OUT/db"
FS_ARGS="scan --db $OUT/db"

# run NAME TOOL ARGS... -> sets WALL (s), CPU (s), RSS (KiB); keeps stdout in $TMP/NAME.out
run() {
    name=$1; shift
    /usr/bin/time -v -o "$TMP/$name.time" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" || true
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$TMP/$name.time")
    RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/$name.time")
    CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$TMP/$name.time")
}

random_bytes=$(wc -c < "$OUT/random.bin")
small_bytes=$(cat "$OUT"/small/* | wc -c)

printf '%-10s %-8s %9s %9s %10s %10s\n' tool input wall_s cpu_s rss_MiB MB/s
for tool in clamscan filterscan; do
    if [ $tool = clamscan ]; then cmd="$CLAMSCAN $CLAM_ARGS"; else cmd="$FILTERSCAN $FS_ARGS"; fi
    # shellcheck disable=SC2086
    run ${tool}_load $cmd "$TMP/empty"
    load=$WALL
    eval "${tool}_load=$WALL ${tool}_load_cpu=$CPU ${tool}_load_rss=$RSS"
    printf '%-10s %-8s %9.2f %9.2f %10.1f %10s\n' $tool load "$WALL" "$CPU" "$(echo "$RSS/1024" | bc -l)" -
    for input in random small; do
        if [ $input = random ]; then target="$OUT/random.bin"; bytes=$random_bytes; else target="$OUT/small"; bytes=$small_bytes; fi
        # shellcheck disable=SC2086
        run ${tool}_$input $cmd "$target"
        mbs=$(echo "scan = $WALL - $load; if (scan < 0.01) scan = 0.01; $bytes / 1000000 / scan" | bc -l)
        eval "${tool}_${input}=$mbs ${tool}_${input}_rss=$RSS"
        printf '%-10s %-8s %9.2f %9.2f %10.1f %10.1f\n' $tool $input "$WALL" "$CPU" "$(echo "$RSS/1024" | bc -l)" "$mbs"
    done
    # Planted detections (names only, paths relative to small/).
    sed -n "s#^$OUT/small/\(.*\) FOUND\$#\1 FOUND#p" "$TMP/${tool}_small.out" | sort > "$TMP/${tool}_found"
    if sort "$OUT/expected.txt" | cmp -s - "$TMP/${tool}_found"; then
        echo "$tool: found exactly the $(wc -l < "$OUT/expected.txt") planted files"
    else
        echo "$tool: planted detections differ from expected.txt:"
        sort "$OUT/expected.txt" | diff - "$TMP/${tool}_found" | head -20 || true
    fi
done

echo
echo "ratios (filterscan / clamscan; < 1 is better for time and RSS, > 1 for MB/s):"
echo "  load time:       $(echo "$filterscan_load / $clamscan_load" | bc -l | cut -c1-6)"
echo "  load CPU time:   $(echo "$filterscan_load_cpu / $clamscan_load_cpu" | bc -l | cut -c1-6)"
echo "  load RSS:        $(echo "$filterscan_load_rss / $clamscan_load_rss" | bc -l | cut -c1-6)"
echo "  random MB/s:     $(echo "$filterscan_random / $clamscan_random" | bc -l | cut -c1-6)"
echo "  small MB/s:      $(echo "$filterscan_small / $clamscan_small" | bc -l | cut -c1-6)"
echo "  random peak RSS: $(echo "$filterscan_random_rss / $clamscan_random_rss" | bc -l | cut -c1-6)"
