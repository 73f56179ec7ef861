#!/usr/bin/env bash
# Makes "hosts" on this machine for trying `writepath fleet` offline: each a network namespace
# reached through a veth pair, with its own UTS namespace (its own host name) and its own sshd
# (Debian's openssh-server) on its own address. They share this machine's filesystem; each gets
# its own scratch folder. Needs root, ip (iproute2), unshare (util-linux), sshd, ssh-keygen.
#
#   scripts/fleet-local-hosts.sh up DIR NAME...    makes DIR (must not exist) and one host per NAME;
#                                                  writes DIR/inventory.ini (key, known_hosts: all in DIR)
#   scripts/fleet-local-hosts.sh down DIR          stops the sshds, deletes the namespaces and veths,
#                                                  removes DIR (only what `up` recorded as made)
#
# Nothing outside DIR is touched but the namespaces and veths (recorded in DIR/made) and
# /run/sshd, sshd's privilege-separation folder, made (and recorded) only when missing.
set -euo pipefail

die() { echo "fleet-local-hosts: $*" >&2; exit 2; }

up() {
    local dir=$1; shift
    (($# > 0)) || die "up: give the folder and at least one host name"
    [[ $dir == /* ]] || die "up: the folder must be an absolute path, got '$dir'"
    [[ ! -e $dir ]] || die "up: '$dir' exists; give a new folder"
    ((EUID == 0)) || die "up: needs root (network namespaces)"
    for tool in ip unshare ssh ssh-keygen /usr/sbin/sshd; do
        command -v "$tool" >/dev/null 2>&1 || die "up: $tool is missing (scripts/install-deps.sh fleet)"
    done
    mkdir -p "$dir"
    : >"$dir/made"
    trap 'echo "fleet-local-hosts: up failed; undoing" >&2; down "$dir"' ERR
    if [[ ! -d /run/sshd ]]; then
        mkdir -m 0755 /run/sshd
        echo "dir /run/sshd" >>"$dir/made"
    fi
    ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" -C writepath-fleet
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519" -C writepath-fleet-host
    cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
    # A /16 no address here is in, and a tag unique to this rig for the namespace and veth names.
    local tag net
    tag=$(printf '%04x' $((RANDOM % 65536)))
    for net in $(seq 200 250) none; do
        [[ $net == none ]] && die "up: no free 10.N.0.0/16 for the veths (N = 200..250)"
        ip -4 addr show | grep -q " 10\.$net\." || break
    done
    {
        echo "[fleet]"
    } >"$dir/inventory.ini"
    local i=0 name
    for name in "$@"; do
        i=$((i + 1))
        [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || die "up: '$name' is not a host name"
        local ns="wpf$tag-$i" outer="wpf${tag}h$i" inner="wpf${tag}g$i"
        local host_ip="10.$net.$i.1" guest_ip="10.$net.$i.2" h="$dir/$name"
        mkdir -p "$h/scratch-root"
        ip netns add "$ns"
        echo "netns $ns" >>"$dir/made"
        ip link add "$outer" type veth peer name "$inner"
        echo "link $outer" >>"$dir/made"
        ip link set "$inner" netns "$ns"
        ip addr add "$host_ip/30" dev "$outer"
        ip link set "$outer" up
        ip -n "$ns" addr add "$guest_ip/30" dev "$inner"
        ip -n "$ns" link set "$inner" up
        ip -n "$ns" link set lo up
        cat >"$h/sshd_config" <<CFG
ListenAddress $guest_ip
Port 22
HostKey $dir/host_ed25519
AuthorizedKeysFile $dir/authorized_keys
PidFile $h/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
        # The sshd's own host name: it and every command it runs see NAME (uname, HostInfo).
        setsid ip netns exec "$ns" unshare --uts sh -c "hostname '$name' && exec /usr/sbin/sshd -D -e -f '$h/sshd_config'" \
            >"$h/sshd.log" 2>&1 </dev/null &
        echo "pid $!" >>"$dir/made"
        echo "$name ansible_host=$guest_ip writepath_scratch=$h/scratch" >>"$dir/inventory.ini"
    done
    cat >>"$dir/inventory.ini" <<INV

[all:vars]
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
ansible_remote_tmp=$dir/remote-tmp
ansible_ssh_private_key_file=$dir/id_ed25519
ansible_ssh_common_args='-o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=no -o ConnectTimeout=5'
INV
    # Wait until every sshd answers over real SSH.
    local line addr ok
    while read -r line; do
        [[ $line == *ansible_host=* ]] || continue
        addr=${line#*ansible_host=}; addr=${addr%% *}
        ok=0
        for _ in $(seq 1 50); do
            if ssh -n -i "$dir/id_ed25519" -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=no \
                -o BatchMode=yes -o ConnectTimeout=2 "root@$addr" true 2>/dev/null; then ok=1; break; fi
            sleep 0.2
        done
        ((ok)) || { echo "fleet-local-hosts: sshd at $addr does not answer; its log:" >&2; cat "$dir"/*/sshd.log >&2; false; }
    done <"$dir/inventory.ini"
    trap - ERR
    echo "$dir/inventory.ini"
}

down() {
    local dir=$1
    [[ -f $dir/made ]] || die "down: '$dir' was not made by fleet-local-hosts.sh up"
    local kind what
    while read -r kind what; do
        case $kind in
            pid) kill -TERM -- "-$what" 2>/dev/null || kill -TERM "$what" 2>/dev/null || true ;;
            # sshd's per-connection children (Ansible's persistent connections) live on in the namespace.
            netns) ip netns pids "$what" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true ;;
        esac
    done <"$dir/made"
    sleep 0.2
    while read -r kind what; do
        case $kind in
            netns) ip netns del "$what" 2>/dev/null || true ;;
            link) ip link del "$what" 2>/dev/null || true ;;
            dir) rmdir "$what" 2>/dev/null || true ;;
        esac
    done <"$dir/made"
    rm -rf -- "$dir"
}

case ${1:-} in
    up) shift; up "$@" ;;
    down) shift; (($# == 1)) || die "down: give the folder"; down "$1" ;;
    *) die "usage: $0 up DIR NAME... | down DIR" ;;
esac
