#!/usr/bin/env bash
# engine-breakdown.sh: where each I/O's work goes, for writepath and for fio under the same job,
# counted (not timed), so that the figures hold whatever the machine's load.
#
# For each case and tool it runs the job twice, with N1 and N2 I/Os (no time limit: the job ends
# when it has written its region once), and prints per-I/O figures as (count(N2) - count(N1)) /
# (N2 - N1), so that setup and teardown cancel:
#   syscalls/IO        raw_syscalls:sys_enter, every thread of the process (io-wq workers too)
#   enter/IO           syscalls:sys_enter_io_uring_enter (io_uring), io_submit+io_getevents
#                      (libaio), pwrite64 (psync)
#   sqe/IO             io_uring:io_uring_submit_req
#   punt/IO            io_uring:io_uring_queue_async_work: handed to a kernel io-wq worker
#   wait/IO            io_uring:io_uring_cqring_wait: the submitter slept for completions
#   taskrun/IO         io_uring:io_uring_local_work_run + io_uring_task_work_run
#   cs/IO              context switches (all threads); wake/IO sched:sched_waking
#   instr/IO           user-space instructions, valgrind --tool=callgrind (the kernel's share is
#                      not in it), with N1c and N2c I/Os: for fio the whole process (its binary has
#                      no symbols to pick its loop by; the job runs as a thread, --thread), for
#                      writepath its job loop as scripts/bench-instructions.sh counts it
# Counts come from `perf stat` on tracepoints and software events, which need no hardware
# counters (root, or kernel.perf_event_paranoid <= -1).
#
# Environment:
#   CASES="a b c l p"  a: randwrite 4k QD32 tmpfs, io_uring, fio with batch 8/8 (as bench-vs-fio)
#                      b: randwrite 4k QD1 tmpfs, io_uring
#                      c: write 128k QD8 on DISK_DIR, io_uring, the file written once before
#                      d: randwrite 4k QD8 tmpfs, io_uring (the depth crosscheck's rand-4k-qd8 uses)
#                      l: randwrite 4k QD32 tmpfs, libaio; p: randwrite 4k QD1 tmpfs, psync
#   CALLGRIND=1        0 skips the instruction counts (valgrind is slow)
#   WRITEPATH=...      the writepath binary (default .build/release/writepath)
#   SHM_DIR=/dev/shm DISK_DIR=/var/tmp
#   OUT=FILE           also write the table as Markdown to FILE
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CASES=${CASES:-a b c l p}
CALLGRIND=${CALLGRIND:-1}
SHM_DIR=${SHM_DIR:-/dev/shm}
DISK_DIR=${DISK_DIR:-/var/tmp}
WRITEPATH=${WRITEPATH:-$ROOT/.build/release/writepath}
OUT=${OUT:-}

die() { echo "engine-breakdown: $*" >&2; exit 1; }
for c in $CASES; do [[ $c =~ ^[abcdlp]$ ]] || die "CASES holds '$c'; expected some of: a b c d l p"; done
[[ $CALLGRIND == 0 || $CALLGRIND == 1 ]] || die "CALLGRIND must be 0 or 1 (got '$CALLGRIND')"
[[ -x $WRITEPATH ]] || die "$WRITEPATH is missing; build it (swift build -c release --product writepath) or set WRITEPATH"
command -v fio >/dev/null || die "fio not found in PATH (Debian package fio)"
command -v perf >/dev/null || die "perf not found in PATH (Debian package linux-perf)"
if [[ $CALLGRIND == 1 ]]; then
    command -v valgrind >/dev/null || die "valgrind not found (Debian package valgrind), or CALLGRIND=0"
    command -v objcopy >/dev/null || die "objcopy not found (Debian package binutils), or CALLGRIND=0"
fi
perf stat -e io_uring:io_uring_submit_req true >/dev/null 2>&1 \
    || die "perf cannot count the io_uring tracepoints here (needs root or kernel.perf_event_paranoid=-1, and tracefs)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/engine-breakdown.XXXXXX")
tag="engine-breakdown.$$"
cleanup() { rm -f -- "$SHM_DIR/$tag".* "$DISK_DIR/$tag".*; rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export WRITEPATH WORK CASES CALLGRIND SHM_DIR DISK_DIR OUT tag

python3 - <<'PY'
import glob, os, platform, subprocess, sys

E = os.environ
WP, WORK, TAG = E["WRITEPATH"], E["WORK"], E["tag"]
SHM, DISK = E["SHM_DIR"], E["DISK_DIR"]

# (title, engine, rw, bs, depth, folder, fio extra, perf sizes (bytes), callgrind sizes (bytes))
K, M = 1024, 1024 * 1024
CASES = {
    "a": ("(a) randwrite 4k QD32 tmpfs, io_uring", "io_uring", "randwrite", 4 * K, 32, SHM,
          ["--fixedbufs", "--registerfiles", "--iodepth_batch_submit=8", "--iodepth_batch_complete_min=8"],
          (64 * M, 256 * M), (16 * M, 48 * M)),
    "b": ("(b) randwrite 4k QD1 tmpfs, io_uring", "io_uring", "randwrite", 4 * K, 1, SHM,
          ["--fixedbufs", "--registerfiles"], (32 * M, 128 * M), (8 * M, 24 * M)),
    "c": ("(c) write 128k QD8 %s, io_uring" % DISK, "io_uring", "write", 128 * K, 8, DISK,
          ["--fixedbufs", "--registerfiles"], (128 * M, 512 * M), (64 * M, 192 * M)),
    "d": ("(d) randwrite 4k QD8 tmpfs, io_uring", "io_uring", "randwrite", 4 * K, 8, SHM,
          ["--fixedbufs", "--registerfiles"], (64 * M, 256 * M), (16 * M, 48 * M)),
    "l": ("randwrite 4k QD32 tmpfs, libaio", "libaio", "randwrite", 4 * K, 32, SHM, [],
          (64 * M, 256 * M), (16 * M, 48 * M)),
    "p": ("randwrite 4k QD1 tmpfs, psync", "psync", "randwrite", 4 * K, 1, SHM, [],
          (32 * M, 128 * M), (8 * M, 24 * M)),
}
ENTER = {"io_uring": ["syscalls:sys_enter_io_uring_enter"],
         "libaio": ["syscalls:sys_enter_io_submit", "syscalls:sys_enter_io_getevents", "syscalls:sys_enter_io_pgetevents"],
         "psync": ["syscalls:sys_enter_pwrite64"]}
EVENTS = ["raw_syscalls:sys_enter", "io_uring:io_uring_submit_req", "io_uring:io_uring_queue_async_work",
          "io_uring:io_uring_cqring_wait", "io_uring:io_uring_local_work_run", "io_uring:io_uring_task_work_run",
          "context-switches", "sched:sched_waking"]


def commands(case, size, tool, thread=False):
    title, engine, rw, bs, depth, folder, fio_extra, _, _ = CASES[case]
    path = os.path.join(folder, "%s.%s.dat" % (TAG, tool))
    common = ["--name=breakdown", "--ioengine=" + engine, "--rw=" + rw, "--bs=%d" % bs, "--iodepth=%d" % depth,
              "--size=%d" % size, "--direct=1", "--filename=" + path]
    if tool == "fio":
        return ["fio"] + common + fio_extra + ["--output-format=terse"] + (["--thread"] if thread else [])
    return [WP, "run"] + common + ["--quiet", "--overwrite"]


def check(cmd, proc):
    if proc.returncode != 0:
        sys.exit("engine-breakdown: %s exited with %d\n  stderr: %s" % (" ".join(cmd), proc.returncode, proc.stderr[-1500:]))


def perf_counts(cmd, events):
    out = os.path.join(WORK, "perf.csv")
    full = ["perf", "stat", "-x,", "-o", out, "-e", ",".join(events), "--"] + cmd
    p = subprocess.run(full, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    check(full, p)
    counts = {}
    for line in open(out):
        f = line.strip().split(",")
        if len(f) >= 3 and f[0].replace(".", "").isdigit():
            counts[f[2]] = float(f[0])
    return counts


def callgrind_instructions(cmd):
    # valgrind 3.19 cannot read the DWARF 5 of Swift's toolchain: count on a copy without it.
    if cmd[0] == WP:
        bare = os.path.join(WORK, "writepath.nodebug")
        if not os.path.exists(bare):
            subprocess.run(["objcopy", "--strip-debug", WP, bare], check=True)
        # The job loop (JobRunner.run and what it calls) without the once-a-second interval close,
        # as scripts/bench-instructions.sh counts it.
        cmd = ["--collect-atstart=no", "--toggle-collect=*JobRunnerC3runAA0D7OutcomeVyFAA*",
               "--toggle-collect=*DirectionRecorderV13closeInterval*", bare] + cmd[1:]
    for f in glob.glob(os.path.join(WORK, "cg.*")):
        os.unlink(f)
    full = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=" + os.path.join(WORK, "cg.%p")] + cmd
    p = subprocess.run(full, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    check(full, p)
    total = 0
    for f in glob.glob(os.path.join(WORK, "cg.*")):
        for line in open(f):
            if line.startswith("summary:") or line.startswith("totals:"):
                total += int(line.split()[1])
                break
    return total


def prepare(case, tool):
    """Writes the target once (both tools, same state): (c) then overwrites written blocks."""
    _, engine, rw, bs, depth, folder, _, sizes, _ = CASES[case]
    subprocess.run(commands(case, max(sizes), tool), stdin=subprocess.DEVNULL, capture_output=True, check=True)


def per_io(case, tool):
    _, engine, rw, bs, depth, folder, _, sizes, cg_sizes = CASES[case]
    events = EVENTS + ENTER[engine]
    prepare(case, tool)
    c1, c2 = (perf_counts(commands(case, s, tool), events) for s in sizes)
    n = (sizes[1] - sizes[0]) / bs
    row = {e: (c2.get(e, 0) - c1.get(e, 0)) / n for e in events}
    row["enter"] = sum(row[e] for e in ENTER[engine])
    row["taskrun"] = row["io_uring:io_uring_local_work_run"] + row["io_uring:io_uring_task_work_run"]
    if E["CALLGRIND"] == "1":
        i1, i2 = (callgrind_instructions(commands(case, s, tool, thread=True)) for s in cg_sizes)
        row["instr"] = (i2 - i1) / ((cg_sizes[1] - cg_sizes[0]) / bs)
    return row


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:
        return "unknown"


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


COLUMNS = [("syscalls/IO", "raw_syscalls:sys_enter", 2), ("enter/IO", "enter", 3), ("sqe/IO", "io_uring:io_uring_submit_req", 2),
           ("punt/IO", "io_uring:io_uring_queue_async_work", 2), ("wait/IO", "io_uring:io_uring_cqring_wait", 3),
           ("taskrun/IO", "taskrun", 3), ("cs/IO", "context-switches", 2), ("wake/IO", "sched:sched_waking", 2),
           ("instr/IO", "instr", 0)]
load0 = open("/proc/loadavg").read().split()[:3]
head = "engine-breakdown: %s, kernel %s, %s, writepath %s; loadavg at start %s" % (
    cpu_model(), platform.release(), version(["fio", "--version"]), version([WP, "--version"]), " ".join(load0))
cols = [c for c in COLUMNS if c[1] != "instr" or E["CALLGRIND"] == "1"]
lines = ["| case | tool | " + " | ".join(c[0] for c in cols) + " |", "|---|---|" + "---|" * len(cols)]
print(head, flush=True)
for case in E["CASES"].split():
    for tool in ("fio", "writepath"):
        row = per_io(case, tool)
        cells = [("{:,.%df}" % c[2]).format(row[c[1]]) for c in cols]
        lines.append("| %s | %s | %s |" % (CASES[case][0], tool, " | ".join(cells)))
        print(lines[-1], flush=True)
load1 = open("/proc/loadavg").read().split()[:3]
print("loadavg at end %s" % " ".join(load1))
if E["OUT"]:
    with open(E["OUT"], "w") as f:
        f.write(head + "; at end " + " ".join(load1) + "\n\n" + "\n".join(lines) + "\n")
    print("table written to %s" % E["OUT"])
PY
