#!/usr/bin/env bash
# Installs what writepath needs on a Debian machine: only what is missing.
#   scripts/install-deps.sh [GROUP ...]     groups: build (default), containers, runtimes, guests, reports, fleet, bench, check, all
#     build       liburing, libaio, libblkid, fio: to build and run the engine and compare it with fio;
#                 ntfs-3g, exfatprogs: the signature tests make real NTFS and exFAT filesystems
#     containers  docker.io, runc and crun: the docker-* and oci-runc layers (runtime=runc or crun)
#     runtimes    runsc (gVisor), systemd-container (systemd-nspawn), podman with crun, lxc: the gvisor, nspawn, podman, lxc layers;
#                 uidmap (newuidmap) and fuse-overlayfs: podman rootless: true
#     guests      QEMU, a Debian guest kernel and busybox: the qemu-* layers; qemu-system-common (virtiofsd,
#                 qemu-storage-daemon), util-linux (fincore), nbdkit, tgt and QEMU's iSCSI driver (qemu-block-extra):
#                 qemu-virtiofs, qemu-9p, qemu-nbd, qemu-vhost-user-blk, qemu-iscsi
#                 (the xen-* layers also need Debian's Xen packages: scripts/fetch-xen.sh unpacks them, never installs)
#     reports     chromium, cmark-gfm: report.html in a real browser, the screenshots (scripts/screenshots.sh);
#                 python3-pandas, python3-prometheus-client: the tests that read results-long.csv with the
#                 docs' pandas snippet and parse writepath.prom with Prometheus' own parser (Debian's python3)
#     fleet       ansible-core, openssh-server, openssh-client, iproute2: `writepath fleet` and its test (sshd per network namespace)
#     bench       valgrind, linux-perf, binutils: `make bench`'s instruction guard and scripts/engine-breakdown.sh
#     check       debootstrap: scripts/fresh-machine-check.sh builds a fresh Debian 12 root with it;
#                 and shellcheck: checks scripts/ and the guest scripts under Sources/WritePathRunner/Resources
# Swift itself must already be installed (this machine kind has it at /opt/swift).
set -euo pipefail

groups=("${@:-build}")
# One line per group: a package a group needs is named once, here. `all` is every group but bench.
group_packages() {
    case "$1" in
        build) echo liburing-dev libaio-dev libblkid-dev fio util-linux pkg-config time ntfs-3g exfatprogs e2fsprogs ;;
        containers) echo docker.io runc crun tar ;;
        runtimes) echo runsc systemd-container podman crun lxc uidmap fuse-overlayfs ;;
        guests)
            echo qemu-system-x86 qemu-system-common qemu-utils qemu-block-extra nbdkit tgt linux-image-amd64 busybox-static cpio kmod \
                zstd util-linux
            ;;
        reports) echo chromium cmark-gfm python3-pandas python3-prometheus-client ;;
        fleet) echo ansible-core openssh-server openssh-client iproute2 ;;
        bench) echo valgrind linux-perf binutils ;;
        check) echo debootstrap shellcheck ;;
        *) return 1 ;;
    esac
}
all_groups=(build containers runtimes guests reports fleet check)
packages=()
for g in "${groups[@]}"; do
    if [[ $g == all ]]; then
        for a in "${all_groups[@]}"; do
            read -r -a more <<<"$(group_packages "$a")"
            packages+=("${more[@]}")
        done
    elif list=$(group_packages "$g"); then
        read -r -a more <<<"$list"
        packages+=("${more[@]}")
    else
        echo "install-deps: unknown group '$g'; expected build, containers, runtimes, guests, reports, fleet, bench, check or all" >&2
        exit 2
    fi
done
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "install-deps: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "install-deps: swift (6.0 or newer) is not installed; install a Swift toolchain first" >&2
    fi
    exit 1
fi
