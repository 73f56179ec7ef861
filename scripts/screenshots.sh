#!/usr/bin/env bash
# Screenshots of a report folder as a reader sees it, taken with headless Chromium and written
# into the folder: report.png (report.html at a desktop's 1280 px), report-phone.png (at a
# phone's 390 px), both 2400 px tall (the first screens), and summary.png (summary.md as a GitHub
# job summary, scripts/summary-html.sh, at 1280 x 1400 px).
#   scripts/screenshots.sh FOLDER          a folder with report.html and summary.md
#   scripts/screenshots.sh --newest DIR    the newest such folder directly under DIR (make demo's run)
# Needs chromium and cmark-gfm (scripts/install-deps.sh reports).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --newest && $# -eq 2 ]]; then
    folder=$(find "$2" -mindepth 2 -maxdepth 2 -name report.html -printf '%T@ %h\n' 2>/dev/null | sort -n | tail -1 | cut -d' ' -f2-)
    [[ -n $folder ]] || { echo "screenshots: no folder under $2 holds report.html" >&2; exit 2; }
elif [[ $# -eq 1 ]]; then
    folder=${1%/}
else
    echo "usage: scripts/screenshots.sh FOLDER | --newest DIR" >&2
    exit 2
fi
for f in report.html summary.md; do
    [[ -f $folder/$f ]] || { echo "screenshots: $folder has no $f; run writepath report on it first" >&2; exit 2; }
done
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $chromium ]] || { echo "screenshots: chromium is missing (scripts/install-deps.sh reports)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/writepath-screenshots.XXXXXX")
trap 'rm -rf "$work"' EXIT
scripts/summary-html.sh "$folder/summary.md" >"$work/summary.html"
absolute=$(cd "$folder" && pwd)

# shoot PAGE WIDTH HEIGHT OUT: one screenshot (px), its own profile; fails when Chromium writes no PNG.
shoot() {
    rm -f "$4"
    "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
        --user-data-dir="$work/profile" --window-size="$2,$3" --screenshot="$4" "file://$1" >"$work/chromium.log" 2>&1 || true
    [[ -s $4 ]] || { echo "screenshots: chromium wrote no $4:" >&2; tail -5 "$work/chromium.log" >&2; exit 1; }
    echo "screenshot: $4"
}
shoot "$absolute/report.html" 1280 2400 "$absolute/report.png"
shoot "$absolute/report.html" 390 2400 "$absolute/report-phone.png"
shoot "$work/summary.html" 1280 1400 "$absolute/summary.png"
