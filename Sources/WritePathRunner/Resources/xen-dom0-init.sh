#!/bin/busybox sh
# shellcheck shell=dash
# dom0's init in writepath's nested Xen rig (XenRig.swift builds the initramfs). Kernel command
# line: wp.disk= (dom0's disk for the domU), wp.mode=pv|pvh|hvm, wp.backend=phy|loop, wp.loop_mb=
# (the loop file's MiB), wp.mem= (domU MiB), wp.vcpus=, wp.domu= (base64 of the domU's command
# line), module parameters as module.key=value. To the host on COM2 (ttyS1), line by line:
# WRITEPATH-DOM0-UP uptime xen_version, WRITEPATH-DOMU-CREATED uptime, WRITEPATH-XENSTORE
# key=value ... (what blkfront and blkback negotiated), the domU's WRITEPATH-BOOTED and result
# envelope unchanged (GuestProtocol.swift), WRITEPATH-ERROR why on failure, and
# WRITEPATH-DOM0-DONE; then it powers off (QEMU exits).
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mkdir -p /dev/pts
/bin/busybox mount -t devpts devpts /dev/pts
/bin/busybox --install -s /bin
PATH=/bin:/usr/bin:$(echo /usr/lib/xen-*/bin)
export PATH
arg() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" /proc/cmdline | head -n 1; }
C=/dev/ttyS1
stty -F $C raw -echo 115200 2>/dev/null
say() { echo "$*" > $C; }
log() { echo "wp-dom0: $*"; }
fail() { log "$*"; say "WRITEPATH-ERROR $*"; sync; poweroff -f; }
while read -r m; do
    n=$(echo "${m%.ko}" | tr - _)
    # shellcheck disable=SC2046 # each module.key=value word is one insmod argument
    insmod "/lib/modules/$m" $(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$n\.//p") || log "insmod $m failed"
done < /modules.order
mount -t xenfs xenfs /proc/xen || fail "xenfs did not mount: dom0 is not running on Xen"
mkdir -p /var/run/xen /var/run/xenstored /var/lib/xenstored /var/lib/xen /var/log/xen/console /var/lock
xenstored --pid-file=/var/run/xenstored.pid || fail "xenstored did not start"
xen-init-dom0 > /tmp/init-dom0.log 2>&1 || fail "xen-init-dom0 failed: $(tail -n 2 /tmp/init-dom0.log | tr '\n' ' ')"
xenconsoled --log=guest --log-dir=/var/log/xen/console || fail "xenconsoled did not start"
say "WRITEPATH-DOM0-UP $(cut -d' ' -f1 /proc/uptime) $(xl info | sed -n 's/^xen_version *: *//p')"
DISK=$(arg wp.disk)
i=0
while [ ! -b "$DISK" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
# shellcheck disable=SC2012 # /sys/block holds kernel device names only
[ -b "$DISK" ] || fail "no disk $DISK in dom0; block devices: $(ls /sys/block | tr '\n' ' ')"
TARGET=$DISK
if [ "$(arg wp.backend)" = loop ]; then
    mke2fs -q "$DISK" || fail "mke2fs $DISK failed"
    mkdir -p /mnt
    mount -t ext2 "$DISK" /mnt || fail "mount $DISK failed"
    mb=$(arg wp.loop_mb)
    dd if=/dev/zero of=/mnt/disk.img bs=1M count="$mb" 2>/dev/null || fail "writing the $mb MiB loop file failed"
    TARGET=$(losetup -f) || fail "losetup -f found no free loop device"
    losetup "$TARGET" /mnt/disk.img || fail "losetup failed"
fi
cat > /etc/xen/domu.cfg <<CFG
name = "wp"
type = "$(arg wp.mode)"
kernel = "/domu/vmlinuz"
ramdisk = "/domu/initramfs.zst"
extra = "$(arg wp.domu | base64 -d)"
memory = $(arg wp.mem)
vcpus = $(arg wp.vcpus)
disk = [ "phy:$TARGET,xvda,w" ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
CFG
if [ "$(arg wp.mode)" = hvm ]; then
    printf 'vnc = 0\nvga = "none"\nserial = "none"\n' >> /etc/xen/domu.cfg
fi
LOG=/var/log/xen/console/guest-wp.log
xl create /etc/xen/domu.cfg > /tmp/xl.out 2>&1 || { cat /tmp/xl.out; fail "xl create failed: $(grep -i error /tmp/xl.out | tail -n 2 | tr '\n' ' ')"; }
say "WRITEPATH-DOMU-CREATED $(cut -d' ' -f1 /proc/uptime)"
xs() { xenstore-read "$1" 2>/dev/null || echo -; }
booted=0
while :; do
    if [ $booted = 0 ] && grep -q '^WRITEPATH-BOOTED' $LOG 2>/dev/null; then
        d=$(xl domid wp)
        B=/local/domain/0/backend/vbd/$d/51712
        F=/local/domain/$d/device/vbd/51712
        say "WRITEPATH-XENSTORE backend_max_queues=$(xs "$B"/multi-queue-max-queues) queues=$(xs "$F"/multi-queue-num-queues) backend_max_ring_page_order=$(xs "$B"/max-ring-page-order) ring_page_order=$(xs "$F"/ring-page-order) backend_max_indirect_segments=$(xs "$B"/feature-max-indirect-segments) backend_persistent=$(xs "$B"/feature-persistent) frontend_persistent=$(xs "$F"/feature-persistent) physical_device=$(xs "$B"/physical-device)"
        grep '^WRITEPATH-BOOTED' $LOG | head -n 1 | tr -d '\r' > $C
        booted=1
    fi
    if grep -q '^WRITEPATH-RESULT-END' $LOG 2>/dev/null; then
        tr -d '\r' < $LOG | sed -n '/^WRITEPATH-STDERR/,/^WRITEPATH-RESULT-END/p' > $C
        break
    fi
    if grep -q '^WRITEPATH-ERROR' $LOG 2>/dev/null; then
        grep '^WRITEPATH-ERROR' $LOG | head -n 1 | tr -d '\r' > $C
        break
    fi
    if ! xl domid wp > /dev/null 2>&1; then
        sleep 1
        grep -q '^WRITEPATH-RESULT-END' $LOG 2>/dev/null && continue
        echo "---- the domU's console, last lines ----"
        tail -n 12 $LOG | tr -d '\r' | sed 's/^/domU| /'
        fail "the domU ended without a result (it crashed or powered off); its console: $(tail -n 3 $LOG | tr -d '\r' | tr '\n' '|')"
    fi
    sleep 0.2
done
say "WRITEPATH-DOM0-DONE"
sync
xl destroy wp > /dev/null 2>&1
poweroff -f
