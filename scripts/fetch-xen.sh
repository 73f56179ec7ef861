#!/usr/bin/env bash
# Fetches Debian's Xen 4.17 packages for the xen-pv / xen-pvh layers' nested rig and unpacks them
# into writepath's cache WITHOUT installing Xen on this machine (apt-get download + dpkg-deb -x).
# writepath does the same at the first Xen run; this script lets CI and users do it ahead of time.
#   scripts/fetch-xen.sh            cache: /var/tmp/writepath-xen/packages/<version>/root
set -euo pipefail

cache=/var/tmp/writepath-xen/packages
packages=(xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
          libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
          libxenhypfs1 libxenmisc4.17 libxenstore4 libxentoolcore1 libxentoollog1)
# For HVM domUs: the device model and its BIOS, not versioned with Xen (apt's candidates).
device_model=(qemu-system-xen seabios)

candidate() { apt-cache policy xen-hypervisor-4.17-amd64 2>/dev/null | sed -n 's/^ *Candidate: *//p'; }
version=$(candidate)
if [[ -z "$version" || "$version" == "(none)" ]]; then
    apt-get update -qq
    version=$(candidate)
fi
if [[ -z "$version" || "$version" == "(none)" ]]; then
    echo "fetch-xen: apt knows no xen-hypervisor-4.17-amd64 (not a Debian 12 machine?)" >&2
    exit 1
fi
dir="$cache/$version"
complete() {
    [[ -e "$dir/complete" ]] || return 1
    local p
    for p in "${packages[@]}" "${device_model[@]}"; do grep -qx "$p" "$dir/complete" || return 1; done
}
# Every shared library the unpacked binaries link must be in the tree or on this machine: ldd
# with the tree's library folders first, as the rig copies them (XenRig.libraries).
unresolved() {
    local root=$1 f
    for f in "$root"/usr/lib/xen-4.17/bin/* "$root"/usr/sbin/xl "$root"/usr/bin/qemu-system-i386; do
        [[ -f "$f" ]] || continue
        LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" ldd "$f" 2>/dev/null \
            | sed -n "s|^[[:space:]]*\([^ ]*\) => not found.*|${f#"$root"}: \1|p"
    done
}
if complete && [[ -z "$(unresolved "$dir/root")" ]]; then
    echo "fetch-xen: Xen $version is unpacked in $dir/root"
    exit 0
fi
work="$cache/.fetch-$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
# apt-get warns that root downloads unsandboxed: expected here, so that line is dropped.
# The dependency closure, not a list: apt's own resolver says what installing these packages
# here would bring (without installing anything); what is not already named is fetched too.
mapfile -t closure < <(apt-get -s install --no-install-recommends "${packages[@]/%/=$version}" "${device_model[@]}" 2>/dev/null \
    | sed -n 's/^Inst \([^ ]*\) .*/\1/p')
extra=()
for p in "${closure[@]}"; do
    [[ " ${packages[*]} ${device_model[*]} " == *" $p "* ]] || extra+=("$p")
done
((${#extra[@]})) && echo "fetch-xen: also fetching their dependencies not installed here: ${extra[*]}"
(cd "$work/debs" && apt-get download -q "${packages[@]/%/=$version}" "${device_model[@]}" "${extra[@]}" 2>&1 >/dev/null | { grep -v unsandboxed >&2 || true; })
want=$((${#packages[@]} + ${#device_model[@]} + ${#extra[@]}))
got=$(find "$work/debs" -name '*.deb' | wc -l)
if ((got != want)); then
    echo "fetch-xen: downloaded $got of $want packages" >&2
    exit 1
fi
# Each package's files, beside the tree (files/<package>.list): `writepath layers` names the
# package a missing library belongs to from them.
mkdir -p "$work/files"
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
    dpkg-deb -c "$deb" | awk '{print $6}' > "$work/files/$(dpkg-deb -f "$deb" Package).list"
done
missing=$(unresolved "$work/root")
if [[ -n "$missing" ]]; then
    echo "fetch-xen: libraries still not found after unpacking (binary: library):" >&2
    echo "$missing" >&2
    exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
mv "$work/root" "$dir/root"
mv "$work/files" "$dir/files"
printf '%s\n' "${packages[@]}" "${device_model[@]}" > "$dir/complete"
echo "fetch-xen: Xen $version unpacked in $dir/root (not installed)"
