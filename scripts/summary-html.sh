#!/usr/bin/env bash
# Prints summary.md as a GitHub job summary shows it, as one HTML page on stdout: the Markdown
# rendered by cmark-gfm (GitHub's own CommonMark fork) with its table extension and raw HTML
# kept (the <details> blocks), inside a box styled as GitHub's Markdown (system font, 14 px text,
# bordered tables with alternating rows, at most 1012 px wide as a job summary).
#   scripts/summary-html.sh FOLDER/summary.md > summary.html
# Needs cmark-gfm (scripts/install-deps.sh reports).
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: scripts/summary-html.sh SUMMARY.md (a file that exists)" >&2; exit 2; }
command -v cmark-gfm >/dev/null || { echo "summary-html: cmark-gfm is missing (scripts/install-deps.sh reports)" >&2; exit 2; }
body=$(cmark-gfm --unsafe --extension table --extension autolink --extension strikethrough "$1")
cat <<HTML
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>writepath summary (job summary view)</title>
<style>
body { margin: 0; background: #f6f8fa; color: #1f2328;
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.job { max-width: 1012px; margin: 24px auto; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
.job > header { padding: 12px 16px; border-bottom: 1px solid #d1d9e0; font-weight: 600; }
.markdown-body { padding: 16px 32px 24px; }
.markdown-body h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 24px 0 16px; }
.markdown-body h3 { font-size: 1.25em; margin: 24px 0 16px; }
.markdown-body table { border-collapse: collapse; margin: 0 0 16px; display: block; width: max-content; max-width: 100%; overflow: auto; }
.markdown-body th, .markdown-body td { border: 1px solid #d1d9e0; padding: 6px 13px; }
.markdown-body th { font-weight: 600; }
.markdown-body tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body details { margin: 0 0 16px; }
.markdown-body summary { cursor: pointer; }
.markdown-body code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%; }
</style></head>
<body><div class="job"><header>writepath summary</header><article class="markdown-body">
$body
</article></div></body></html>
HTML
