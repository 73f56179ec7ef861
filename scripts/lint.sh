#!/usr/bin/env bash
# The lint step of `make test` (and `make lint`): three checks, one line per finding, a summary,
# exit 1 on any finding (2 when a checker is missing).
#   1. swift format lint --strict on Sources and Tests (the rules and lineLength in .swift-format);
#   2. no line of Sources/ or Tests/ *.swift longer than 140 characters: swift format cannot break
#      string literals and comments, so it does not report them (characters, as .swift-format
#      counts them: UTF-8 continuation bytes are not counted);
#   3. shellcheck on scripts/*.sh, .ci/run and the guest scripts in Sources/WritePathRunner/Resources.
#   scripts/lint.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

swift=${SWIFT:-swift}
max=140
for tool in "$swift" shellcheck; do
    command -v "$tool" >/dev/null || { echo "lint: $tool is missing (scripts/install-deps.sh build check)" >&2; exit 2; }
done

mapfile -t swift_files < <(find Sources Tests -name '*.swift' | sort)
mapfile -t shell_files < <(printf '%s\n' scripts/*.sh .ci/run Sources/WritePathRunner/Resources/*.sh)

# swift format lint prints "path:line:col: warning: [Rule] message", one line per finding.
format_out=$("$swift" format lint --strict --recursive Sources Tests 2>&1)
format_rc=$?
format_count=$(printf '%s' "$format_out" | grep -c . || true)
if ((format_rc != 0 && format_count == 0)); then
    echo "lint: swift format lint exited $format_rc without a finding" >&2
    exit 2
fi
[[ -n "$format_out" ]] && printf '%s\n' "$format_out"

long_out=$(LC_ALL=C awk -v max="$max" '
    { n = length($0) - gsub(/[\200-\277]/, "&") }
    n > max { printf "%s:%d: line is %d characters, more than %d\n", FILENAME, FNR, n, max }' "${swift_files[@]}")
long_count=$(printf '%s' "$long_out" | grep -c . || true)
[[ -n "$long_out" ]] && printf '%s\n' "$long_out"

shell_out=$(shellcheck --format=gcc "${shell_files[@]}" 2>&1)
shell_count=$(printf '%s' "$shell_out" | grep -c . || true)
[[ -n "$shell_out" ]] && printf '%s\n' "$shell_out"

total=$((format_count + long_count + shell_count))
echo "lint: $total findings: swift format $format_count, lines over $max characters $long_count, shellcheck $shell_count" \
    "(${#swift_files[@]} Swift files, ${#shell_files[@]} shell scripts)"
((total == 0))
