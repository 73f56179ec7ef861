#!/bin/busybox sh
# shellcheck shell=dash
# writepath's guest init, for QEMU guests and Xen domUs (GuestImage.swift builds the initramfs).
# Kernel command line: wp.disk=/dev/vda (the test disk: a block device, or an NVMe generic char
# device /dev/ng0n1 for NVMe passthrough) or wp.fs=virtiofs|9p wp.tag=TAG wp.fsopts=OPTIONS
# wp.file=NAME (a file on a shared folder, mounted on /mnt/wp), wp.args=<base64 of the engine's
# command line, one argument per line: /writepath run ... or /fio ...; the init adds
# --filename=<disk or file>),
# wp.probe=1 (only report that the guest booted), wp.channel=/dev/hvc0 (where the result goes;
# default /dev/ttyS1, the second serial port), and module parameters as module.key=value
# (xen_blkfront.max_queues=2), as modprobe would apply them. What goes to the channel is the
# guest protocol of GuestProtocol.swift.
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
R=$(arg wp.channel)
[ -n "$R" ] || R=/dev/ttyS1
stty -F "$R" raw -echo 115200 2>/dev/null
if [ "$(arg wp.probe)" = 1 ]; then
    echo "WRITEPATH-PROBE-OK $(cut -d' ' -f1 /proc/uptime)" > "$R"
    poweroff -f
fi
while read -r m; do
    n=$(echo "${m%.ko}" | tr - _)
    # shellcheck disable=SC2046 # each module.key=value word is one insmod argument
    insmod "/lib/modules/$m" $(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$n\.//p") 2>/dev/null
done < /modules.order
DISK=$(arg wp.disk)
FS=$(arg wp.fs)
if [ -n "$FS" ]; then
    # A shared folder (wp.fs=virtiofs or 9p, wp.tag=<mount tag>, wp.fsopts=<mount options>):
    # the target is the file wp.file the host made in it.
    mkdir -p /mnt/wp
    OPTS=$(arg wp.fsopts)
    if ! mount -t "$FS" ${OPTS:+-o "$OPTS"} "$(arg wp.tag)" /mnt/wp 2> /tmp/mount.txt; then
        echo "WRITEPATH-ERROR mount -t $FS $(arg wp.tag) ${OPTS:+-o $OPTS} failed: $(tr '\n' ' ' < /tmp/mount.txt); modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' '); kernel: $(dmesg | tail -n 3 | tr '\n' ' ')" > "$R"
        poweroff -f
    fi
    DISK=/mnt/wp/$(arg wp.file)
fi
i=0
while [ ! -b "$DISK" ] && [ ! -c "$DISK" ] && [ ! -f "$DISK" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
if [ ! -b "$DISK" ] && [ ! -c "$DISK" ] && [ ! -f "$DISK" ]; then
    # shellcheck disable=SC2012 # /sys/block and /sys/class/nvme-generic hold kernel device names only
    echo "WRITEPATH-ERROR no test disk $DISK after 60 s; block devices: $(ls /sys/block | tr '\n' ' '); NVMe generic devices: $(ls /sys/class/nvme-generic 2>/dev/null | tr '\n' ' '); modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' '); kernel: $(dmesg | tail -n 3 | tr '\n' ' ')" > "$R"
    poweroff -f
fi
echo "WRITEPATH-BOOTED $(cut -d' ' -f1 /proc/uptime)" > "$R"
arg wp.args | base64 -d > /tmp/args
set -f
IFS='
'
# shellcheck disable=SC2046 # one argument per line: split at newlines only, no globbing (set -f)
set -- $(cat /tmp/args)
unset IFS
"$@" "--filename=$DISK" > /tmp/result.json 2> /tmp/stderr.txt
rc=$?
len=$(wc -c < /tmp/result.json)
sum=$(sha256sum /tmp/result.json | cut -d' ' -f1)
echo "WRITEPATH-STDERR $(tail -c 600 /tmp/stderr.txt | base64 | tr -d '\n')" > "$R"
echo "WRITEPATH-RESULT-BEGIN rc=$rc len=$len sha256=$sum" > "$R"
gzip -c /tmp/result.json | base64 > "$R"
echo "WRITEPATH-RESULT-END" > "$R"
sync
# A shared folder is unmounted: what the guest still caches goes to the host before power-off.
[ -n "$FS" ] && umount /mnt/wp
poweroff -f
