#!/usr/bin/env bash
# bench-allocations.sh: the allocation guard of `make bench`. Runs the Benchmarks package's
# guard-allocations-* benchmarks (whole runs of 16,384 and 262,144 I/Os with the null engine,
# 4,096 and 65,536 with io_uring on tmpfs) and checks their malloc counts (package-benchmark's
# malloc interposer, p90) against Benchmarks/Thresholds/, within the tolerance the benchmarks
# declare (64 for null; max(I/Os / 4, 4,096) for io_uring, whose runs span seconds of interval
# bookkeeping). An allocation per I/O adds the run's I/O count; one per 1,000 I/Os still 262 to
# the null run. Exits 1 above a threshold.
#
#   UPDATE=1   rewrites the threshold files from this machine's figures (review the diff)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UPDATE=${UPDATE:-0}
SWIFT=${SWIFT:-swift}
cd "$ROOT/Benchmarks"

if [[ $UPDATE == 1 ]]; then
    exec "$SWIFT" package --allow-writing-to-package-directory benchmark thresholds update \
        --filter 'guard-allocations-.*' --path "$ROOT/Benchmarks/Thresholds" --no-progress
fi

log=$(mktemp "${TMPDIR:-/tmp}/bench-allocations.XXXXXX")
trap 'rm -f -- "$log"' EXIT
set +e
"$SWIFT" package benchmark thresholds check --filter 'guard-allocations-.*' --path "$ROOT/Benchmarks/Thresholds" \
    --no-progress 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if (( rc == 0 )); then
    echo "bench-allocations: every guard is within its threshold"
    exit 0
fi
# package-benchmark fails a check that comes out better than the thresholds too: that is no
# regression, only a threshold to tighten.
if grep -q 'BETTER than the defined thresholds' "$log" && ! grep -q 'WORSE than the defined thresholds' "$log"; then
    echo "bench-allocations: fewer allocations than the thresholds; tighten them with UPDATE=1 $0"
    exit 0
fi
echo "bench-allocations: above Benchmarks/Thresholds/ (or the benchmarks failed to run); see above" >&2
exit 1
