#!/usr/bin/env bash
# bench-instructions.sh: user-space instructions per I/O of writepath's job loop, counted by
# valgrind --tool=callgrind (the same count whatever the machine's load), against the limits in
# Benchmarks/Thresholds/instructions-per-io.tsv. Exits 1 when a case is above its limit.
#
# Each case runs twice, with N1 and N2 I/Os (4 KiB random writes at depth 32, the region once),
# and its figure is (Ir(N2) - Ir(N1)) / (N2 - N1), so the engine's setup and teardown cancel.
# Counted: the job loop, JobRunner.run and everything it calls (the engine, liburing, the
# histogram), but not DirectionRecorder.closeInterval, which runs once a second of wall time and
# so many times more often per I/O under valgrind's slowdown (more so on a loaded machine):
# callgrind counts from entering run (--collect-atstart=no, --toggle-collect) and stops inside
# closeInterval (a second toggle). The main thread's setup and result output are left out too:
# their cost grows with how many distinct latencies the run saw, not with its I/Os.
#
#   null       --ioengine null: the job loop itself (offsets, clock reads, slots, histogram)
#   io_uring   --ioengine io_uring on tmpfs (SHM_DIR): the loop plus liburing's submission and
#              completion path (the kernel's share is not counted)
#
# Environment: WRITEPATH (default .build/release/writepath), SHM_DIR=/dev/shm,
#   THRESHOLDS (default Benchmarks/Thresholds/instructions-per-io.tsv), CASES="null io_uring",
#   UPDATE=1 prints the lines of a threshold file for the figures measured (no check).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WRITEPATH=${WRITEPATH:-$ROOT/.build/release/writepath}
SHM_DIR=${SHM_DIR:-/dev/shm}
THRESHOLDS=${THRESHOLDS:-$ROOT/Benchmarks/Thresholds/instructions-per-io.tsv}
CASES=${CASES:-null io_uring}
UPDATE=${UPDATE:-0}

die() { echo "bench-instructions: $*" >&2; exit 2; }
[[ -x $WRITEPATH ]] || die "$WRITEPATH is missing; build it (make release) or set WRITEPATH"
command -v valgrind >/dev/null || die "valgrind not found; scripts/install-deps.sh bench installs it"
command -v objcopy >/dev/null || die "objcopy not found; scripts/install-deps.sh bench installs it (binutils)"
[[ -f $THRESHOLDS || $UPDATE == 1 ]] || die "$THRESHOLDS is missing (UPDATE=1 prints one)"
[[ -d $SHM_DIR && -w $SHM_DIR ]] || die "SHM_DIR=$SHM_DIR is not a writable folder"
for c in $CASES; do [[ $c == null || $c == io_uring ]] || die "CASES holds '$c'; expected null and/or io_uring"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-instructions.XXXXXX")
TARGET=$SHM_DIR/bench-instructions.$$.dat
trap 'rm -rf -- "$WORK"; rm -f -- "$TARGET"' EXIT
# valgrind 3.19 cannot read the DWARF 5 that Swift's toolchain writes: count on a copy without it.
objcopy --strip-debug "$WRITEPATH" "$WORK/writepath"

# instructions ENGINE IOS: Ir of one run, every thread.
instructions() {
    local engine=$1 ios=$2 direct=1
    [[ $engine == null ]] && direct=0
    rm -f "$WORK"/cg.* "$TARGET"
    if ! valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
        --collect-atstart=no --toggle-collect='*JobRunnerC3runAA0D7OutcomeVyFAA*' \
        --toggle-collect='*DirectionRecorderV13closeInterval*' \
        "$WORK/writepath" run --name=instructions --ioengine="$engine" --rw=randwrite --bs=4k --iodepth=32 \
        --size=$((ios * 4))k --direct=$direct --filename="$TARGET" --quiet --overwrite --output-format=json \
        >"$WORK/out.json" 2>"$WORK/valgrind.txt"; then
        echo "bench-instructions: the $engine run of $ios I/Os failed under valgrind:" >&2
        tail -n 20 "$WORK/valgrind.txt" >&2
        exit 2
    fi
    python3 - "$WORK/out.json" "$ios" <<'PY' || exit 2
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
ios = int(sys.argv[2])
if r["status"] != "ok" or r["write"]["ios"] != ios:
    sys.exit("bench-instructions: the run under valgrind did %s I/Os, status %s: %s" % (r["write"]["ios"], r["status"], r.get("error")))
PY
    awk '/^summary:/ { s += $2 } END { print s }' "$WORK"/cg.*
}

declare -A SIZES=([null]="16384 65536" [io_uring]="4096 12288")
status=0
printf '%-10s %12s %10s %s\n' case "instr/IO" limit verdict
for c in $CASES; do
    read -r n1 n2 <<<"${SIZES[$c]}"
    i1=$(instructions "$c" "$n1")
    i2=$(instructions "$c" "$n2")
    per=$(( (i2 - i1) / (n2 - n1) ))
    if [[ $UPDATE == 1 ]]; then
        printf '%s\t%d\t# measured %d instructions per I/O, %s\n' "$c" $((per + per / 5 + 20)) "$per" "$(date -u +%Y-%m-%d)"
        continue
    fi
    limit=$(awk -v c="$c" '$1 == c { print $2 }' "$THRESHOLDS")
    [[ $limit =~ ^[0-9]+$ ]] || die "$THRESHOLDS has no limit for '$c' (a line: $c<TAB>INSTRUCTIONS)"
    if (( per > limit )); then verdict="ABOVE the limit: the job loop does more work per I/O"; status=1; else verdict=ok; fi
    printf '%-10s %12d %10d %s\n' "$c" "$per" "$limit" "$verdict"
done
if (( status )); then
    echo "bench-instructions: above $THRESHOLDS; if the extra work is meant, raise the limit (UPDATE=1 prints new lines)" >&2
fi
exit $status
