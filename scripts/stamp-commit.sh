#!/usr/bin/env bash
# Writes the git commit of this tree (with -dirty when it has changes) into
# Sources/CWritePathShims/git_commit.h, which every result's provenance reports. The file is
# rewritten only when the commit changes, so an unchanged tree does not rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [[ "$commit" != unknown ]] && [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    commit="$commit-dirty"
fi
header=Sources/CWritePathShims/git_commit.h
line="#define WP_GIT_COMMIT \"$commit\""
if [[ ! -f "$header" ]] || [[ "$(cat "$header")" != "$line" ]]; then
    echo "$line" > "$header"
fi
