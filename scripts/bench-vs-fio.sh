#!/usr/bin/env bash
# bench-vs-fio.sh: runs the same write jobs in fio and in writepath, alternating the two tools,
# and reports how writepath compares (IOPS, CPU per I/O, p50 latency) against its targets.
#
# Case (b) also runs fio pinned to one CPU (--cpus_allowed), printed as a reference beside the
# target: tmpfs writes go to a kernel io-wq worker, and writepath puts the job and its worker on
# one CPU at shallow depth (iowq_colocate=auto), which fio only does when pinned. Case (c) runs
# fio a third time with --iodepth_batch_submit=8 (writepath submits all free slots in one call;
# fio by default one I/O per call, and on a virtual disk a submission can cost a VM exit).
#
# It is a report, not a gate: it exits 0 whatever the ratios are, and 1 only when a tool fails
# to run (or its output cannot be read). Beside the raw CSV it writes the summary as Markdown
# (bench-vs-fio-STAMP.md in RESULTS_DIR) with its provenance: CPU model, kernel, both tools'
# versions, the commands, and the load average at start and end (timings taken on a loaded
# machine are flagged as such). The per-I/O counts that explain the ratios, which hold whatever
# the load, come from scripts/engine-breakdown.sh.
#
# Environment:
#   PAIRS=5        fio/writepath pairs per case (at least 1; 5 or more for a real comparison)
#   RUNTIME=5      seconds per run (--runtime, --time_based)
#   CASES="a b c l p"  which cases to run: (a) (b) (c) io_uring as below; (l) libaio randwrite 4k
#                  QD32 tmpfs and (p) psync randwrite 4k tmpfs, each against fio's same engine
#   WARMUP=1       seconds of an unrecorded run of each tool before a case's pairs (0: none);
#                  it also lays out the files, so no recorded run pays for that
#   WRITEPATH=...  the writepath binary (default: .build/release/writepath, built with
#                  `swift build -c release` when missing)
#   SHM_DIR=/dev/shm   folder of the memory-backed cases (a) and (b)
#   DISK_DIR=/var/tmp  folder of the disk case (c)
#   RESULTS_DIR=results  where the raw per-run CSV and the Markdown summary go
#
# Example: PAIRS=7 RUNTIME=10 scripts/bench-vs-fio.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PAIRS=${PAIRS:-5}
RUNTIME=${RUNTIME:-5}
CASES=${CASES:-a b c l p}
WARMUP=${WARMUP:-1}
SHM_DIR=${SHM_DIR:-/dev/shm}
DISK_DIR=${DISK_DIR:-/var/tmp}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/results}

die() { echo "bench-vs-fio: $*" >&2; exit 1; }

[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "PAIRS must be a whole number of at least 1 (got '$PAIRS')"
[[ $RUNTIME =~ ^[1-9][0-9]*$ ]] || die "RUNTIME must be a whole number of seconds, at least 1 (got '$RUNTIME')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds (got '$WARMUP')"
for c in $CASES; do
    [[ $c =~ ^[abclp]$ ]] || die "CASES holds '$c'; expected some of: a b c l p"
done

command -v fio >/dev/null 2>&1 || die "fio not found in PATH; scripts/install-deps.sh installs it (Debian package fio)"
command -v python3 >/dev/null 2>&1 || die "python3 not found in PATH; it parses both tools' JSON (Debian package python3)"

if [[ -n ${WRITEPATH:-} ]]; then
    [[ -x $WRITEPATH ]] || die "WRITEPATH=$WRITEPATH is not an executable file"
else
    WRITEPATH=$ROOT/.build/release/writepath
    if [[ ! -x $WRITEPATH ]]; then
        echo "bench-vs-fio: $WRITEPATH is missing; building it (swift build -c release)" >&2
        (cd "$ROOT" && swift build -c release --product writepath) || die "swift build -c release failed"
        [[ -x $WRITEPATH ]] || die "the build finished but $WRITEPATH is still missing"
    fi
fi

for d in "$SHM_DIR" "$DISK_DIR"; do
    [[ -d $d && -w $d ]] || die "$d is not a writable folder (set SHM_DIR / DISK_DIR)"
done

# Case (c) uses 1 GiB per tool when the disk has room for both files and a margin, else 256 MiB.
avail=$(df -B1 --output=avail "$DISK_DIR" | tail -n 1 | tr -d ' ')
if [[ $avail =~ ^[0-9]+$ ]] && (( avail > 4 * 1024 * 1024 * 1024 )); then
    DISK_SIZE=1g
else
    DISK_SIZE=256m
    if [[ $avail =~ ^[0-9]+$ ]] && (( avail < 768 * 1024 * 1024 )) && [[ " $CASES " == *" c "* ]]; then
        die "$DISK_DIR has only $((avail / 1024 / 1024)) MiB free; case (c) needs 512 MiB for its two files (set DISK_DIR or CASES)"
    fi
fi

tag="bench-vs-fio.$$"
SHM_FIO=$SHM_DIR/$tag.fio.dat
SHM_WP=$SHM_DIR/$tag.writepath.dat
DISK_FIO=$DISK_DIR/$tag.fio.dat
DISK_WP=$DISK_DIR/$tag.writepath.dat
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-fio.XXXXXX")
cleanup() {
    rm -f -- "$SHM_FIO" "$SHM_WP" "$DISK_FIO" "$DISK_WP"
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV=$RESULTS_DIR/bench-vs-fio-$STAMP.csv
MD=$RESULTS_DIR/bench-vs-fio-$STAMP.md

export PAIRS RUNTIME CASES WARMUP WRITEPATH DISK_SIZE SHM_FIO SHM_WP DISK_FIO DISK_WP WORK CSV MD

python3 - <<'PY'
import csv, json, os, platform, statistics, subprocess, sys, time

E = os.environ
PAIRS, RUNTIME, WARMUP = int(E["PAIRS"]), int(E["RUNTIME"]), int(E["WARMUP"])
WP, WORK, CSV_PATH = E["WRITEPATH"], E["WORK"], E["CSV"]

CASES = {
    "a": dict(title="randwrite 4k iodepth 32 on tmpfs (engine-bound)", rw="randwrite", bs="4k", depth=32,
              size="256m", files=(E["SHM_FIO"], E["SHM_WP"]),
              fio_extra=["--iodepth_batch_submit=8", "--iodepth_batch_complete_min=8"],
              targets=[("iops", ">=", 1.15), ("cpu", "<=", 0.85)]),
    "b": dict(title="randwrite 4k iodepth 1 on tmpfs", rw="randwrite", bs="4k", depth=1,
              size="256m", files=(E["SHM_FIO"], E["SHM_WP"]), fio_extra=[],
              targets=[("p50", "<=", 1.00)],
              # tmpfs writes go to an io-wq worker; writepath puts the job and its worker on one
              # CPU at this depth (iowq_colocate=auto). fio gets the same by pinning its job:
              # shown beside the target, so that the ratio is not mistaken for engine overhead.
              reference=("fio --cpus_allowed=%d" % min(os.sched_getaffinity(0)),
                         ["--cpus_allowed=%d" % min(os.sched_getaffinity(0))])),
    "c": dict(title="write 128k iodepth 8 on the root filesystem (%s)" % os.path.dirname(E["DISK_FIO"]),
              rw="write", bs="128k", depth=8, size=E["DISK_SIZE"], files=(E["DISK_FIO"], E["DISK_WP"]),
              fio_extra=[], targets=[("iops", "in", (0.90, 1.10)), ("p50", "<=", 1.05)],
              # writepath submits every free slot in one io_uring_enter; fio submits one I/O per
              # call unless told to batch. On a virtual disk each submission can cost a doorbell
              # (a VM exit), so fio batched the same way is shown beside the target.
              reference=("fio --iodepth_batch_submit=8", ["--iodepth_batch_submit=8"])),
    "l": dict(title="randwrite 4k iodepth 32 on tmpfs, libaio", engine="libaio", rw="randwrite", bs="4k", depth=32,
              size="256m", files=(E["SHM_FIO"], E["SHM_WP"]), fio_extra=[],
              targets=[("iops", ">=", 1.00), ("cpu", "<=", 1.00)]),
    "p": dict(title="randwrite 4k on tmpfs, psync", engine="psync", rw="randwrite", bs="4k", depth=1,
              size="256m", files=(E["SHM_FIO"], E["SHM_WP"]), fio_extra=[],
              targets=[("iops", ">=", 1.00), ("cpu", "<=", 1.00)]),
}
SELECTED = E["CASES"].split()
METRIC_NAMES = {"iops": "IOPS ratio", "cpu": "CPU/IO ratio (threads)", "p50": "p50 latency ratio"}


def commands(case, runtime):
    c = CASES[case]
    engine = c.get("engine", "io_uring")
    common = ["--name=bench", "--ioengine=" + engine, "--rw=" + c["rw"], "--bs=" + c["bs"],
              "--iodepth=%d" % c["depth"], "--size=" + c["size"], "--runtime=%d" % runtime, "--time_based",
              "--direct=1", "--output-format=json"]
    registered = ["--fixedbufs", "--registerfiles"] if engine == "io_uring" else []
    fio = ["fio"] + common + ["--filename=" + c["files"][0]] + registered + c["fio_extra"] + ["--lat_percentiles=1"]
    wp = [WP, "run"] + common + ["--filename=" + c["files"][1], "--quiet", "--overwrite"]
    return fio, wp


class ToolFailed(Exception):
    pass


def run(cmd, label):
    """Runs cmd; returns (stdout text, wall s, user s, sys s) with the child's own rusage (wait4)."""
    out_path = os.path.join(WORK, "out.txt")
    err_path = os.path.join(WORK, "err.txt")
    t0 = time.monotonic()
    with open(out_path, "wb") as o, open(err_path, "wb") as e:
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        except OSError as x:
            raise ToolFailed("%s could not start: %s" % (label, x))
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    out = open(out_path, encoding="utf-8", errors="replace").read()
    err = open(err_path, encoding="utf-8", errors="replace").read()
    if p.returncode != 0:
        raise ToolFailed("%s exited with %d\n  command: %s\n  stderr: %s" % (
            label, p.returncode, " ".join(cmd), err.strip()[-2000:] or "(empty)"))
    return out, wall, ru.ru_utime, ru.ru_stime, err


def load_json(text, label, err):
    i = text.find("{")  # fio may print notes before its JSON
    try:
        return json.loads(text[i:]) if i >= 0 else json.loads(text)
    except ValueError as x:
        raise ToolFailed("%s printed no readable JSON (%s)\n  stdout: %s\n  stderr: %s" % (
            label, x, text.strip()[:500] or "(empty)", err.strip()[-1000:] or "(empty)"))


def parse_fio(text, err):
    d = load_json(text, "fio", err)
    try:
        j = d["jobs"][0]
        if j.get("error", 0):
            raise ToolFailed("fio reported error %s for the job\n  stderr: %s" % (j["error"], err.strip()[-1000:]))
        w = j["write"]
        ios = w["total_ios"]
        if ios <= 0:
            raise ToolFailed("fio completed no write")
        return dict(iops=w["iops"], ios=ios, runtime_s=w["runtime"] / 1000.0,
                    cpu_ns=(j["usr_cpu"] + j["sys_cpu"]) / 100.0 * (w["runtime"] / 1000.0) / ios * 1e9,
                    p50_ns=float(w["lat_ns"]["percentile"]["50.000000"]),
                    clat_p50_ns=float(w["clat_ns"]["percentile"]["50.000000"]),
                    own_process_cpu_ns="")
    except (KeyError, IndexError, TypeError) as x:
        raise ToolFailed("fio's JSON lacks %s (is --lat_percentiles=1 supported by this fio?)" % x)


def parse_wp(text, err):
    d = load_json(text, "writepath", err)
    try:
        r = d["runs"][0]
        if r["status"] != "ok":
            raise ToolFailed("writepath run status %s: %s" % (r["status"], r.get("error")))
        w = r["write"]
        if w["ios"] <= 0:
            raise ToolFailed("writepath completed no write")
        return dict(iops=w["iops"], ios=w["ios"], runtime_s=w["runtime_s"], cpu_ns=r["cpu"]["cpu_ns_per_io"],
                    p50_ns=float(w["lat_ns"]["p50"]), clat_p50_ns="",
                    own_process_cpu_ns=r["cpu"]["process_cpu_ns_per_io"])
    except (KeyError, IndexError, TypeError) as x:
        raise ToolFailed("writepath's JSON lacks %s" % x)


def measure(tool, cmd):
    out, wall, user, system, err = run(cmd, tool)
    m = (parse_fio if tool == "fio" else parse_wp)(out, err)
    m.update(wall_s=wall, user_s=user, sys_s=system, proc_cpu_ns=(user + system) / m["ios"] * 1e9)
    return m


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_num(v, unit):
    if v != v:
        return "-"
    if unit == "iops":
        return "{:,.0f}".format(v)
    if unit == "us":
        return "{:,.2f}".format(v / 1000.0)
    return "{:,.0f}".format(v)


def verdict(kind, op, want, ratio):
    if ratio != ratio:
        return "-", "n/a"
    if op == ">=":
        return ">= %.2f" % want, "yes" if ratio >= want else "NO"
    if op == "<=":
        return "<= %.2f" % want, "yes" if ratio <= want else "NO"
    lo, hi = want
    return "%.2f..%.2f" % (lo, hi), "yes" if lo <= ratio <= hi else "NO"


def version(cmd):
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except (OSError, ValueError):
        return [float("nan")] * 3


LOAD_START = loadavg()
PROVENANCE = "%s vs %s; kernel %s; %s x %d cores" % (
    version(["fio", "--version"]), "writepath " + version([WP, "--version"]), platform.release(), cpu_model(), os.cpu_count())
STARTED = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
print("bench-vs-fio: " + PROVENANCE)
print("started %s; load average at start %.2f %.2f %.2f (1, 5, 15 min)" % ((STARTED,) + tuple(LOAD_START)))
print("%d pair(s) per case, %d s per run, alternating fio then writepath; %s" % (
    PAIRS, RUNTIME, "an unrecorded %d s warm-up run of each tool first" % WARMUP if WARMUP else "no warm-up"))
print("""
Definitions (ratio = writepath / fio, the median over pairs of each pair's ratio; medians per tool beside it):
  IOPS             fio jobs[0].write.iops; writepath runs[0].write.iops
  CPU/IO threads   fio (usr_cpu+sys_cpu)/100 * write.runtime(ms)/1000 / write.total_ios (the job thread,
                   as fio reports it); writepath runs[0].cpu.cpu_ns_per_io (job threads, RUSAGE_THREAD)
  CPU/IO process   the whole process for both: (user+sys) from wait4() rusage of the child, over its whole
                   life (setup included), / completed write I/Os. io_uring punts tmpfs writes to kernel
                   io-wq worker threads of the process; the thread figure misses their CPU, this one does not
  p50 latency      writepath runs[0].write.lat_ns.p50 (submission to completion) vs fio's total latency
                   jobs[0].write.lat_ns.percentile["50.000000"] (needs --lat_percentiles=1, given to fio);
                   fio's clat p50 (completion latency only) is printed for reference
Commands (the file names differ per tool; the files are deleted at the end):""")
for case in SELECTED:
    fio, wp = commands(case, RUNTIME)
    print("  (%s) %s\n      %s" % (case, " ".join(fio), " ".join(wp)))
print()

fields = ["case", "pair", "order", "tool", "iops", "ios", "runtime_s", "thread_cpu_ns_per_io", "process_cpu_ns_per_io",
          "writepath_measured_process_cpu_ns_per_io", "p50_lat_ns", "fio_p50_clat_ns", "user_s", "sys_s", "wall_s"]
csv_file = open(CSV_PATH, "w", newline="")
writer = csv.writer(csv_file)
writer.writerow(fields)
summary = []
exit_code = 0
try:
    for case in SELECTED:
        c = CASES[case]
        fio_cmd, wp_cmd = commands(case, RUNTIME)
        print("== (%s) %s: %d pair(s) x %d s" % (case, c["title"], PAIRS, RUNTIME), flush=True)
        if WARMUP:
            wf, ww = commands(case, WARMUP)
            measure("fio", wf)
            measure("writepath", ww)
        runs = {"fio": [], "writepath": [], "reference": []}
        order = 0
        ref = c.get("reference")
        tools = [("fio", fio_cmd), ("writepath", wp_cmd)]
        if ref:
            tools.append(("reference", fio_cmd[:-1] + ref[1] + fio_cmd[-1:]))
        for pair in range(1, PAIRS + 1):
            for tool, cmd in tools:
                order += 1
                m = measure("fio" if tool == "reference" else tool, cmd)
                runs[tool].append(m)
                writer.writerow([case, pair, order, ref[0] if tool == "reference" else tool, "%.1f" % m["iops"], m["ios"], "%.3f" % m["runtime_s"],
                                 "%.1f" % m["cpu_ns"], "%.1f" % m["proc_cpu_ns"],
                                 "" if m["own_process_cpu_ns"] == "" else "%.1f" % m["own_process_cpu_ns"],
                                 "%.0f" % m["p50_ns"], "" if m["clat_p50_ns"] == "" else "%.0f" % m["clat_p50_ns"],
                                 "%.3f" % m["user_s"], "%.3f" % m["sys_s"], "%.3f" % m["wall_s"]])
                csv_file.flush()
            f, w = runs["fio"][-1], runs["writepath"][-1]
            print("   pair %d: IOPS fio %s wp %s (%.2f) | CPU/IO thr %s/%s ns (%.2f) proc %s/%s ns (%.2f) | p50 %s/%s us (%.2f)" % (
                pair, fmt_num(f["iops"], "iops"), fmt_num(w["iops"], "iops"), w["iops"] / f["iops"],
                fmt_num(f["cpu_ns"], "ns"), fmt_num(w["cpu_ns"], "ns"), w["cpu_ns"] / f["cpu_ns"],
                fmt_num(f["proc_cpu_ns"], "ns"), fmt_num(w["proc_cpu_ns"], "ns"), w["proc_cpu_ns"] / f["proc_cpu_ns"],
                fmt_num(f["p50_ns"], "us"), fmt_num(w["p50_ns"], "us"), w["p50_ns"] / f["p50_ns"]), flush=True)

        def ratios(key):
            return [w[key] / f[key] for f, w in zip(runs["fio"], runs["writepath"]) if f[key] > 0]

        rows = [("iops", "IOPS", "iops"), ("cpu", "CPU/IO threads (ns)", "ns"), ("proc", "CPU/IO process (ns)", "ns"),
                ("p50", "p50 latency (us)", "us")]
        keys = {"iops": "iops", "cpu": "cpu_ns", "proc": "proc_cpu_ns", "p50": "p50_ns"}
        targets = {k: (op, v) for k, op, v in c["targets"]}
        result = {"case": case}
        print("   %-22s %14s %14s %9s %13s %-12s %s" % ("", "fio median", "wp median", "ratio", "ratio range", "target", "met"))
        for k, label, unit in rows:
            rs = ratios(keys[k])
            r = med(rs)
            result[k] = r
            if k == "iops":
                result["iops_range"] = "%.2f..%.2f" % (min(rs), max(rs))
            tgt, met = ("", "") if k not in targets else verdict(k, targets[k][0], targets[k][1], r)
            if k in targets:
                result.setdefault("met", []).append((k, tgt, met))
            print("   %-22s %14s %14s %9.3f %13s %-12s %s" % (
                label, fmt_num(med([m[keys[k]] for m in runs["fio"]]), unit),
                fmt_num(med([m[keys[k]] for m in runs["writepath"]]), unit), r,
                "%.2f..%.2f" % (min(rs), max(rs)), tgt, met))
        print("   %-22s %14s %14s" % ("fio clat p50 (us)", fmt_num(med([m["clat_p50_ns"] for m in runs["fio"]]), "us"), ""))
        if ref and runs["reference"]:
            rr = runs["reference"]
            print("   reference, not a target: %s: IOPS %s, p50 %s us; writepath/it: IOPS %.3f, p50 %.3f" % (
                ref[0], fmt_num(med([m["iops"] for m in rr]), "iops"), fmt_num(med([m["p50_ns"] for m in rr]), "us"),
                med([w["iops"] / r["iops"] for r, w in zip(rr, runs["writepath"])]),
                med([w["p50_ns"] / r["p50_ns"] for r, w in zip(rr, runs["writepath"])])))
        print(flush=True)
        summary.append(result)
except ToolFailed as x:
    print("\nbench-vs-fio: a tool failed to run: %s" % x, file=sys.stderr)
    exit_code = 1
except KeyboardInterrupt:
    print("\nbench-vs-fio: interrupted", file=sys.stderr)
    exit_code = 130
finally:
    csv_file.close()

LOAD_END = loadavg()
# More runnable threads than half the CPUs, from other work than these runs (one tool at a time
# keeps about one busy), makes every timing here a measure of the neighbours too.
loaded = max(LOAD_START[0], LOAD_END[0]) > max(1.5, 0.5 * os.cpu_count() + 1)
load_note = "load average at start %.2f, at end %.2f on %d CPUs%s" % (
    LOAD_START[0], LOAD_END[0], os.cpu_count(),
    ": MEASURED ON A LOADED MACHINE, the timings include the other work; re-run on a quiet one" if loaded else "")
print("\n" + load_note)
if summary:
    print("Summary (ratio = writepath/fio, median over pairs)")
    print("  %-4s %8s %12s %12s %8s  %s" % ("case", "IOPS", "CPU/IO thr", "CPU/IO proc", "p50", "targets"))
    for r in summary:
        t = "; ".join("%s %.3f (target %s): %s" % (METRIC_NAMES[k], r[k], tgt, "met" if met == "yes" else "NOT met")
                      for k, tgt, met in r.get("met", []))
        print("  (%s)  %8.3f %12.3f %12.3f %8.3f  %s" % (r["case"], r["iops"], r["cpu"], r["proc"], r["p50"], t))
    if PAIRS < 5:
        print("  note: only %d pair(s); use PAIRS=5 or more for numbers to act on" % PAIRS)
    with open(E["MD"], "w") as md:
        md.write("bench-vs-fio, %s: %s\n\n" % (STARTED, PROVENANCE))
        md.write("%d pair(s) per case, %d s per run, alternating fio then writepath; %s.\n\n" % (PAIRS, RUNTIME, load_note))
        md.write("| case | IOPS | CPU/IO threads | CPU/IO process | p50 | targets |\n|---|---|---|---|---|---|\n")
        for r in summary:
            t = "; ".join("%s %s: %s" % (METRIC_NAMES[k], tgt, "met" if met == "yes" else "NOT met")
                          for k, tgt, met in r.get("met", []))
            md.write("| (%s) %s | %.2f (%s) | %.2f | %.2f | %.2f | %s |\n" % (
                r["case"], CASES[r["case"]]["title"], r["iops"], r["iops_range"], r["cpu"], r["proc"], r["p50"], t))
        md.write("\nRatios are writepath / fio, medians over pairs (IOPS: min..max over pairs). Commands:\n\n")
        for case in [r["case"] for r in summary]:
            fio, wp = commands(case, RUNTIME)
            md.write("- (%s) `%s`\n  `%s`\n" % (case, " ".join(fio), " ".join([os.path.basename(wp[0])] + wp[1:])))
        md.write("\nRaw per-run numbers: %s\n" % os.path.basename(CSV_PATH))
    print("Markdown summary: %s" % E["MD"])
print("raw per-run numbers: %s" % CSV_PATH)
sys.exit(exit_code)
PY
