#!/usr/bin/env bash
# Starts the Docker engine when it is not running (Debian's docker.io). Prints why when it cannot.
# Exit 0 when `docker info` answers, 1 otherwise.
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: dockerd is not installed (scripts/install-deps.sh containers installs docker.io)" >&2
    exit 1
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker >/dev/null 2>&1 || true
fi
if ! docker info >/dev/null 2>&1; then
    log=/var/log/writepath-dockerd.log
    echo "start-dockerd: starting dockerd (log: $log)" >&2
    # A dockerd started here is writepath's own: it registers gVisor's runsc (the gvisor layer's
    # via: docker) with runsc's --network=none, from a config file of writepath's own. Without that
    # flag runsc failed here setting up the container's network ("creating interfaces from net
    # namespace"); the engine needs no network. /etc/docker/daemon.json is never edited: when it
    # exists it stays in charge (runsc is then registered only if it names it).
    args=()
    runsc=$(command -v runsc || true)
    if [[ -n "$runsc" && ! -e /etc/docker/daemon.json ]]; then
        conf=/var/lib/writepath/dockerd.json
        mkdir -p /var/lib/writepath
        printf '{"runtimes": {"runsc": {"path": "%s", "runtimeArgs": ["--network=none"]}}}\n' "$runsc" >"$conf"
        args+=(--config-file "$conf")
    fi
    nohup dockerd "${args[@]}" >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 0.5
done
echo "start-dockerd: dockerd did not come up in 30 s; see /var/log/writepath-dockerd.log:" >&2
tail -n 5 /var/log/writepath-dockerd.log >&2 2>/dev/null || true
exit 1
