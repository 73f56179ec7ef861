#!/usr/bin/env bash
# Checks that this machine has what every layer needs: the commands each layer runs, and, with
# ldd, that every binary a layer copies into an image (the engine into containers and guests,
# the Xen rig's toolstack and device model) or runs here finds all its shared libraries. Then
# `writepath layers`, with the reasons. Prints one line per thing missing and, for a library,
# the package that provides it (dpkg -S, or the Xen tree's per-package lists), or "nothing
# missing". Exit status: 0 when nothing is missing, 1 otherwise.
#   scripts/check-layer-deps.sh [WRITEPATH]     WRITEPATH: the binary to check and ask (default:
#                                               .build/release/writepath, else .build/debug/writepath)
# scripts/fresh-machine-check.sh runs it inside a fresh Debian 12 root after the install scripts.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

writepath=${1:-}
if [[ -z "$writepath" ]]; then
    for c in .build/release/writepath .build/debug/writepath; do [[ -x "$c" ]] && writepath=$c && break; done
fi
lacks=()
lack() { lacks+=("$1"); }

# The package providing library $1: dpkg -S on this machine, else the Xen tree's file lists ($2).
provider() {
    local so=$1 lists=${2:-} p
    if [[ -n "$lists" && -d "$lists" ]]; then
        p=$(grep -l "/$so\$" "$lists"/*.list 2>/dev/null | head -1)
        [[ -n "$p" ]] && { echo "package $(basename "$p" .list) (in the unpacked Xen tree's lists)"; return; }
    fi
    p=$(dpkg -S "*/$so" 2>/dev/null | head -1 | cut -d: -f1)
    [[ -n "$p" ]] && { echo "package $p (installed, not on the loader's path)"; return; }
    echo "not in any installed package"
}

# ldd of binary $2 for layer $1, with library folders $3 (LD_LIBRARY_PATH) and the tree's lists $4.
check_ldd() {
    local layer=$1 bin=$2 libpath=${3:-} lists=${4:-} out so
    [[ -e "$bin" ]] || { lack "$layer: $bin is missing"; return; }
    out=$(LC_ALL=C LD_LIBRARY_PATH="$libpath" ldd "$bin" 2>&1)
    [[ "$out" == *"not a dynamic executable"* || "$out" == *"statically linked"* ]] && return
    while read -r so; do
        [[ -n "$so" ]] && lack "$layer: $bin needs $so: $(provider "$so" "$lists")"
    done < <(sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' <<<"$out")
}

# Commands $2... that layer $1 runs, each checked with ldd too; $fix says what installs them.
check_commands() {
    local layer=$1 fix=$2 c path
    shift 2
    for c in "$@"; do
        if path=$(command -v "$c"); then check_ldd "$layer" "$(readlink -f "$path")"; else lack "$layer: command $c is missing ($fix)"; fi
    done
}

# Build: what `swift build` needs beside the toolchain.
check_commands build "a Swift toolchain at /opt/swift, scripts/install-deps.sh build" swift gcc pkg-config git
pkg-config --exists liburing 2>/dev/null || lack "build: liburing's pkg-config file is missing (liburing-dev: scripts/install-deps.sh build)"
[[ -e /usr/include/libaio.h ]] || lack "build: /usr/include/libaio.h is missing (libaio-dev: scripts/install-deps.sh build)"

# host and fio comparisons; the engine itself, which containers and guests get with its libraries.
check_commands host "scripts/install-deps.sh build" fio
if [[ -n "$writepath" ]]; then
    check_ldd "engine (host, copied into containers and guests)" "$writepath"
else
    lack "engine: no writepath binary to check (swift build -c release --static-swift-stdlib)"
fi

# Containers: docker-* and oci-runc (runc, crun); the image is the engine and its libraries.
check_commands docker "scripts/install-deps.sh containers" docker dockerd containerd tar sha256sum
check_commands oci-runc "scripts/install-deps.sh containers" runc crun
# gvisor, nspawn, podman (rootful and rootless), lxc.
check_commands runtimes "scripts/install-deps.sh runtimes" runsc systemd-nspawn podman newuidmap newgidmap fuse-overlayfs lxc-execute

# Guests: QEMU, and what the guest image is made of (kernel, modules, static busybox, cpio, zstd).
check_commands qemu "scripts/install-deps.sh guests" qemu-system-x86_64 qemu-img cpio zstd strip modprobe
check_commands qemu-nbd "scripts/install-deps.sh guests" qemu-nbd nbdkit
check_commands qemu-vhost-user-blk "scripts/install-deps.sh guests" qemu-storage-daemon
check_commands qemu-iscsi "scripts/install-deps.sh guests" tgtd tgtadm
[[ -e /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so ]] ||
    lack "qemu-iscsi: QEMU's iSCSI driver block-iscsi.so is missing (qemu-block-extra: scripts/install-deps.sh guests)"
kernel=$(compgen -G '/boot/vmlinuz-*' | sort -V | tail -1)
if [[ -z "$kernel" ]]; then
    lack "qemu: no Debian kernel in /boot (linux-image-amd64: scripts/install-deps.sh guests)"
else
    version=${kernel#/boot/vmlinuz-}
    for m in virtio_pci virtio_blk virtio_scsi sd_mod ata_piix ahci nvme xen-blkfront xen-blkback xen-evtchn xen-gntdev; do
        modprobe -S "$version" --show-depends "$m" >/dev/null 2>&1 || lack "qemu/xen: kernel module $m of $version not found (modprobe)"
    done
fi
busybox=$(command -v busybox || true)
if [[ -z "$busybox" ]]; then
    lack "qemu: busybox is missing (busybox-static: scripts/install-deps.sh guests)"
elif ldd "$busybox" 2>&1 | grep -q '=>'; then
    lack "qemu: $busybox is not static (busybox-static: scripts/install-deps.sh guests)"
fi
[[ -e /usr/share/qemu/linuxboot_dma.bin ]] || lack "xen-hvm: /usr/share/qemu/linuxboot_dma.bin is missing (qemu-system-data)"

# Xen: the unpacked tree's binaries the rigs copy, with the tree's libraries first (as XenRig).
check_commands xen "dpkg, apt" dpkg-deb apt-get
tree=$(compgen -G '/var/tmp/writepath-xen/packages/*/root' | sort -V | tail -1)
if [[ -z "$tree" ]]; then
    lack "xen: no unpacked Xen tree in /var/tmp/writepath-xen/packages (scripts/fetch-xen.sh)"
else
    libpath="$tree/usr/lib/x86_64-linux-gnu:$tree/lib/x86_64-linux-gnu"
    lists="$(dirname "$tree")/files"
    for b in "$tree"/usr/lib/xen-4.17/bin/{xl,xenstored,xenconsoled,xen-init-dom0,libxl-save-helper} \
        "$tree/usr/bin/xenstore" "$tree/usr/libexec/xen-qemu-system-i386"; do
        check_ldd xen "$b" "$libpath" "$lists"
    done
    ls "$tree"/boot/xen-4.17*.gz >/dev/null 2>&1 || lack "xen: the hypervisor (boot/xen-4.17*.gz) is not in $tree"
fi

# Reports: the browser test.
if command -v chromium >/dev/null; then
    check_ldd reports /usr/lib/chromium/chromium
else
    lack "reports: chromium is missing (scripts/install-deps.sh reports)"
fi

# What writepath itself says. Inside fresh-machine-check.sh no dockerd runs (it is not started
# there), so the docker layers' "not running" is expected and not counted.
if [[ -n "$writepath" ]]; then
    echo "check-layer-deps: $writepath layers"
    layers=$("$writepath" layers 2>&1)
    status=$?
    grep -E '^[a-z0-9(),=._-]+ +(available|unavailable)' <<<"$layers" | sed 's/^/  /'
    ((status == 0)) || lack "writepath layers exited $status: $(tail -3 <<<"$layers")"
    while read -r line; do
        [[ -z "$line" ]] && continue
        name=${line%% *}
        if [[ "${WRITEPATH_NO_DOCKERD:-}" == 1 && "$name" == docker-* && "$line" == *"not running"* ]]; then continue; fi
        lack "layer $name is unavailable: ${line#*unavailable  }"
    done < <(grep -E '^[a-z0-9(),=._-]+ +unavailable' <<<"$layers")
fi

if ((${#lacks[@]})); then
    echo "check-layer-deps: missing (${#lacks[@]}):"
    printf '  %s\n' "${lacks[@]}"
    exit 1
fi
echo "check-layer-deps: nothing missing"
