#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer and AddressSanitizer, each in its own build folder
# (.build-tsan, .build-asan), and fails when either finds anything.
#
#   SANITIZERS="thread address"   which ones (default both)
#   SANITIZE_FILTER=REGEX         tests to skip (swift test --skip). Default: the suites that
#                                 boot guests (QEMU, Xen): their I/O happens in the guest, which no
#                                 sanitizer sees, and they take many minutes under one (QEMU under
#                                 TSan: 8 minutes here, against 1 for the Docker and runc suites).
#                                 SANITIZE_FILTER= (empty) runs everything.
#
# Every finding is an error: TSan and ASan reports make the run fail (halt_on_error), so a data
# race or a memory error never passes as a warning in a long log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
SANITIZERS="${SANITIZERS:-thread address}"
FILTER="${SANITIZE_FILTER-QemuLayerTests|Xen}"
skip=()
[ -n "$FILTER" ] && skip=(--skip "$FILTER")

export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
# detect_leaks=0: the Swift runtime's metadata caches and libdispatch's threads live for the
# process's life and LeakSanitizer reports them; this run is about memory errors.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1 detect_leaks=0 detect_stack_use_after_return=1}"

status=0
for s in $SANITIZERS; do
    case "$s" in
        thread) dir=.build-tsan ;;
        address) dir=.build-asan ;;
        *) echo "sanitize: unknown sanitizer '$s'; expected thread or address" >&2; exit 2 ;;
    esac
    echo "sanitize: $s: building in $dir"
    swift build --build-tests --sanitize="$s" --scratch-path "$dir"
    echo "sanitize: $s: swift test ${skip[*]:-}"
    log="$dir/sanitize-$s.log"
    set +e
    # --no-parallel: a sanitizer slows code 2-20x; suites running side by side on a small machine
    # then miss the timing that some tests (rate-limited repetitions) rely on.
    swift test --skip-build --no-parallel --sanitize="$s" --scratch-path "$dir" "${skip[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    if grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY: (Thread|Address)Sanitizer" "$log"; then
        echo "sanitize: $s: reports found (see $log)"
        rc=1
    fi
    echo "sanitize: $s: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)")"
    [ "$rc" -eq 0 ] || status=1
done
exit "$status"
