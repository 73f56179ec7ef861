#!/usr/bin/env bash
# Fuzzes writepath's parsers with libFuzzer for a bounded time each:
#   jobfile  FioJobFile.parse (+ Workload.validate)   fio job files
#   matrix   MatrixSpec.parse (+ its YAML round trip)  matrix files
#   result   JSONFormat.parse, then what report and compare do with a parsed document
# The targets (Fuzz/, their own package) are built with -sanitize=fuzzer,address into
# .build-fuzz. Seeds: Fuzz/seeds, Tests/Corpus/bad-input and Tests/Corpus/fuzz-regressions; what
# the fuzzer adds goes to .build-fuzz/corpus (kept between runs), never into the repository.
#
#   FUZZ_SECONDS=60      seconds per target (default 60)
#   FUZZ_TARGETS="jobfile matrix result"   which targets
#   FUZZ_JOBS=1          libFuzzer workers per target (-fork)
#
# Exit 0 when no target crashed; 1 with the crashing inputs listed. A crash is a bug to fix in the
# parser; commit its input to Tests/Corpus/fuzz-regressions/<target>/ (FuzzRegressionTests runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-jobfile matrix result}"
JOBS="${FUZZ_JOBS:-1}"
WORK=.build-fuzz

echo "fuzz: building the targets (-sanitize=fuzzer,address) in $WORK"
# ld.gold cannot link libFuzzer's instrumented objects here; lld can.
(cd Fuzz || exit 1; swift build -c release --scratch-path "../$WORK" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true)
BIN="$WORK/release"

status=0
summary=""
for target in $TARGETS; do
    case "$target" in
        jobfile) exe=FuzzJobFile; seeds=(Fuzz/seeds/jobfile Tests/Corpus/bad-input/jobfiles) ;;
        matrix)  exe=FuzzMatrix;  seeds=(Fuzz/seeds/matrix Tests/Corpus/bad-input/matrix) ;;
        result)  exe=FuzzResult;  seeds=(Tests/Corpus/good Tests/Corpus/bad-input/results) ;;
        *) echo "fuzz: unknown target '$target'; expected jobfile, matrix or result" >&2; exit 2 ;;
    esac
    [ -x "$BIN/$exe" ] || { echo "fuzz: $BIN/$exe was not built" >&2; exit 1; }
    corpus="$WORK/corpus/$target"
    artifacts="$WORK/artifacts/$target"
    regressions="Tests/Corpus/fuzz-regressions/$target"
    mkdir -p "$corpus" "$artifacts" "$regressions"
    log="$WORK/$target.log"
    echo "fuzz: $target for ${SECONDS_EACH}s (log: $log)"
    extra=()
    [ "$JOBS" -gt 1 ] && extra=(-fork="$JOBS" -ignore_crashes=1)
    marker="$WORK/$target.started"
    touch "$marker"
    set +e
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a parser must not need 2 GiB.
    "$BIN/$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -dict="Fuzz/dicts/$target.dict" -artifact_prefix="$artifacts/" \
        "${extra[@]}" \
        "$corpus" "${seeds[@]}" "$regressions" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | awk '{s+=$2} END {print s+0}')
    new=$(find "$artifacts" -type f -newer "$marker")
    found=$(printf "%s" "$new" | grep -c . || true)
    line="$target: exit $rc, $runs inputs in ${SECONDS_EACH}s, corpus $(find "$corpus" -mindepth 1 -maxdepth 1 | wc -l) files, $found crashing inputs"
    summary+="$line"$'\n'
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        status=1
        grep -m3 -E "Fatal error|ERROR: |SUMMARY|deadly signal|Test unit written" "$log" | sed "s/^/  $target: /" || true
        for f in $new; do echo "  $target: reproduce: $BIN/$exe $f"; done
    fi
done
echo
printf "%s" "$summary"
if [ "$status" -ne 0 ]; then
    echo "fuzz: crashes found; fix the parser, then copy each input to Tests/Corpus/fuzz-regressions/<target>/"
fi
exit "$status"
