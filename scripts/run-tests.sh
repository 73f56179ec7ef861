#!/usr/bin/env bash
# Runs `swift test` with the given arguments, keeps its output (tee: shown as it comes and kept
# in .build/test-output.txt), then prints how many tests and suites Swift Testing skipped and
# which, and repeats swift test's closing summary line as the last line. Exits with swift test's
# status. Under CI=true a skip is already a failure (Tests/WritePathTestSupport/Precondition.swift)
# except for its allow-list, so in a CI run the count is of allow-listed skips only.
#   scripts/run-tests.sh [swift test arguments ...]
set -uo pipefail

swift=${SWIFT:-swift}
log=.build/test-output.txt
mkdir -p .build
"$swift" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Swift Testing: `➜ Test "name" skipped: "reason"` (also `Suite`); XCTest: `Test Case '...' skipped`.
skips=$(grep -E '^[^ ]+ (Test|Suite) .* skipped(: |\.|$)|^Test Case .* skipped' "$log" || true)
count=$(printf '%s' "$skips" | grep -c . || true)
echo
echo "run-tests: ${count} skipped$([[ "${CI:-}" == true ]] && echo ' (CI=true: only the allow-listed preconditions may be missing)')"
[[ -n "$skips" ]] && printf '%s\n' "$skips" | sed 's/^/  /'
# The closing summary: Swift Testing's `Test run with N tests ...`, else XCTest's last `Executed`.
summary=$(grep -E '^[^ ]+ Test run with [0-9]+ tests? ' "$log" | tail -1)
[[ -n "$summary" ]] || summary=$(grep -E 'Executed [0-9]+ tests?' "$log" | tail -1)
[[ -n "$summary" ]] || summary="run-tests: swift test printed no summary line (exit status $status)"
echo "$summary"
exit "$status"
