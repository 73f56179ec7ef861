#!/usr/bin/env bash
# What would a new machine of this kind lack? Builds a minimal Debian 12 (bookworm) root with
# debootstrap, gives it only what a new machine has (the Swift toolchain at /opt/swift and the
# Swift package copies at /opt/swift-packages, bound in read-only; gcc, g++, make, git, python3
# and the toolchain's own libraries, installed in the root), copies this repository in, runs the
# install scripts inside (scripts/install-deps.sh all, scripts/fetch-xen.sh), builds writepath
# there (debug; WRITEPATH_FRESH_BUILD=0 skips it and checks the host's .build/release/writepath
# instead) and runs scripts/check-layer-deps.sh: ldd of every binary each layer copies or runs,
# and `writepath layers` with the reasons. Prints what a new machine would lack, or "nothing
# missing". No dockerd or QEMU is started inside.
#
# Everything happens under /var/tmp/writepath-fresh: base/ (the debootstrap root, cached) and
# root/ (a fresh copy per run). Bind mounts are undone by a trap, whatever happens.
#   scripts/fresh-machine-check.sh            needs root; `scripts/install-deps.sh check` installs debootstrap
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
top=/var/tmp/writepath-fresh
base=$top/base
root=$top/root

[[ $(id -u) == 0 ]] || { echo "fresh-machine-check: needs root (debootstrap, chroot, bind mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null || scripts/install-deps.sh check
# The mirror this machine's apt uses (deb822 `URIs:` or a one-line `deb` entry), else Debian's.
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*debian\/*\)$/\1/p' | head -1)
[[ -n "$mirror" ]] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
[[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian

mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
    mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bind() { # bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mounted+=("$2")
    [[ "${3:-}" == ro ]] && mount -o remount,bind,ro "$2"
    return 0
}
# Never remove the root while anything is mounted below it.
if grep -q " $top/" /proc/self/mountinfo; then
    echo "fresh-machine-check: something is still mounted under $top; umount it first:" >&2
    grep " $top/" /proc/self/mountinfo | awk '{print "  " $5}' >&2
    exit 1
fi

if [[ ! -e "$base/.writepath-complete" ]]; then
    echo "fresh-machine-check: debootstrap --variant=minbase bookworm from $mirror into $base"
    rm -rf "$base.partial"
    mkdir -p "$top"
    debootstrap --variant=minbase bookworm "$base.partial" "$mirror" > "$top/debootstrap.log" 2>&1 \
        || { tail -5 "$top/debootstrap.log" >&2; exit 1; }
    rm -rf "$base"
    mv "$base.partial" "$base"
    touch "$base/.writepath-complete"
fi
echo "fresh-machine-check: a fresh copy of the Debian 12 root in $root"
rm -rf "$root"
cp -a "$base" "$root"

# What a new machine of this kind has besides Debian (the env notes): the toolchain and the
# package copies, read-only; git set to read github.com from those copies, Package.resolved ignored.
bind /opt/swift "$root/opt/swift" ro
bind /opt/swift-packages "$root/opt/swift-packages" ro
printf '[url "/opt/swift-packages/"]\n\tinsteadOf = https://github.com/\n\tinsteadOf = git@github.com:\n[core]\n\texcludesfile = /etc/gitignore\n' \
    > "$root/etc/gitconfig"
echo Package.resolved > "$root/etc/gitignore"
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
bind /dev "$root/dev"
# Downloaded .debs are kept between runs (a fresh root each time, the same packages).
bind_cache() { mkdir -p "$top/apt-archives/partial"; bind "$top/apt-archives" "$root/var/cache/apt/archives"; }
bind_cache
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The same apt sources as this machine (bookworm, -updates, -security), in place of debootstrap's one line.
if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/"
    rm -f "$root/etc/apt/sources.list"
fi
# Packages' scripts must not start services in the chroot (dockerd, containerd): policy-rc.d says no.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# The repository's files (tracked, and new ones not ignored); no .build.
mkdir -p "$root/work/writepath"
git ls-files -z --cached --others --exclude-standard | tar -C "$repo" --null -T - -cf - | tar -C "$root/work/writepath" -xf -
if [[ "${WRITEPATH_FRESH_BUILD:-1}" == 0 && -x "$repo/.build/release/writepath" ]]; then
    mkdir -p "$root/work/writepath/.build/release"
    cp "$repo/.build/release/writepath" "$root/work/writepath/.build/release/writepath"
fi

inside() { chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb PATH=/opt/swift/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
log=$top/inside.log
: > "$log"
step() { # step NAME COMMAND...: runs in the root, output to the log; a failure is reported, not fatal
    echo "fresh-machine-check: $1"
    if ! inside /bin/bash -c "$2" >> "$log" 2>&1; then
        failed+=("$1 failed (last lines of $log:)")
        failed+=("$(tail -6 "$log" | sed 's/^/    /')")
    fi
}
failed=()
# A new machine: gcc, g++, make, git, python3, and what the Swift toolchain itself links
# (swift.org's list for Debian 12), as the machine notes say such a machine has.
step "what a new machine of this kind has (gcc g++ make git python3, the toolchain's libraries)" \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates gcc g++ make git python3 \
     binutils libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev libsqlite3-0 libstdc++-12-dev \
     libxml2-dev libncurses-dev libz3-dev pkg-config tzdata zlib1g-dev uuid-dev >/dev/null && swift --version"
step "scripts/install-deps.sh all" "cd /work/writepath && scripts/install-deps.sh all"
step "scripts/fetch-xen.sh" "cd /work/writepath && scripts/fetch-xen.sh"
engine=/work/writepath/.build/release/writepath
if [[ "${WRITEPATH_FRESH_BUILD:-1}" != 0 ]]; then
    step "swift build (debug) inside the root" \
        "cd /work/writepath && scripts/stamp-commit.sh && swift build --product writepath 2>&1 | tail -3"
    engine=/work/writepath/.build/debug/writepath
fi

echo "fresh-machine-check: scripts/check-layer-deps.sh $engine (no dockerd runs here: docker's 'not running' is expected)"
set +e
report=$(inside /bin/bash -c "cd /work/writepath && WRITEPATH_NO_DOCKERD=1 scripts/check-layer-deps.sh $engine" 2>&1)
set -e
# shellcheck disable=SC2001  # indents every line of the report; ${report//...} cannot anchor at each line start
echo "$report" | sed 's/^/  /'
echo
if ((${#failed[@]})); then
    echo "fresh-machine-check: steps that failed:"
    printf '  %s\n' "${failed[@]}"
fi
if ((${#failed[@]} == 0)) && [[ "$report" == *"check-layer-deps: nothing missing"* ]]; then
    echo "fresh-machine-check: nothing missing"
else
    echo "fresh-machine-check: a new machine would lack what is listed above"
    exit 1
fi
