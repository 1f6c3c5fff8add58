#!/usr/bin/env python3
"""bench/bench.py -- runs the workloads against each allocator and writes the report.

Called by bench/run.sh after the build; see that script for the options.  For every round, every
workload runs once under every allocator, in an order that rotates from round to round, so that
a burst of load from another process on this shared machine hits all allocators alike; the
report gives the median wall time of the rounds and each allocator's time as a ratio to glibc's
from the same rounds.  Threaded workloads run at each thread count of --threads, and once more
pinned to one core (taskset -c 0): a lock that collapses when its threads really run at once
shows as a time on all cores above the time on one.  Peak RSS is the workload's own VmHWM (ru_maxrss from wait4 where /proc is missing).  Single-
threaded workloads are also run once more under callgrind for an instruction count, which does
not depend on the load of the machine.
"""
import argparse
import datetime
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# name -> (library to preload or None, Debian package it comes from)
ALLOCATORS = [
    ("glibc", None, "libc6"),
    ("dlmalloc", os.path.join(BUILD, "dlmalloc", "libdlmalloc.so"), None),
    # The same drop-in without its thread cache: what the cache (malloc.c section 16) buys.
    ("dlmalloc-nocache", os.path.join(BUILD, "dlmalloc-nocache", "libdlmalloc.so"), None),
    ("jemalloc", os.path.join(LIBDIR, "libjemalloc.so.2"), "libjemalloc2"),
    ("mimalloc", os.path.join(LIBDIR, "libmimalloc.so.2"), "libmimalloc2.0"),
    ("tcmalloc", os.path.join(LIBDIR, "libtcmalloc_minimal.so.4"), "libtcmalloc-minimal4"),
]
SINGLE = ["churn", "realloc_grow", "large", "frag", "aligned", "calloc_heavy", "glibc_simple"]
# A program that only starts, mallocs once and ends: its peak RSS is each allocator's fixed
# cost, shown as the first row of the RSS table and in no time table or geometric mean.
STARTUP = "startup"
MULTI = ["larson", "prodcons", "relay", "shbench", "alloc_test", "xmalloc", "rptest", "queue"]
PINNED = "@cpu0"  # suffix of a case run under taskset -c 0


def make_cases(workloads, thread_counts, pinned):
    """What one round runs: case name -> (workload, thread count or None, pinned to one core).
    A single-threaded case is named after its workload, a threaded one "<workload>/<threads>",
    and its pinned twin has PINNED appended."""
    cases = {}
    for w in workloads:
        if w in SINGLE or w == STARTUP:
            cases[w] = (w, None, False)
            continue
        for t in thread_counts:
            cases["%s/%d" % (w, t)] = (w, t, False)
            if pinned:
                cases["%s/%d%s" % (w, t, PINNED)] = (w, t, True)
    return cases


def case_label(case):
    """How a case is named in the report: "larson (2 threads)", "larson (2 threads, pinned)"."""
    w, _, t = case.partition("/")
    if not t:
        return w
    return "%s (%s threads%s)" % (w, t.replace(PINNED, ""), ", pinned" if t.endswith(PINNED) else "")


def preload_env(preload):
    """The environment to run a workload in, with `preload` (or nothing) as LD_PRELOAD."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    return env


def run_measured(argv, preload):
    """Run one workload: (seconds, peak RSS in KiB from wait4, stdout, stderr, exit status)."""
    env = preload_env(preload)
    out_path = os.path.join(BUILD, "out.txt")
    err_path = os.path.join(BUILD, "err.txt")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path) as f:
        stderr = f.read()
    return seconds, usage.ru_maxrss, stdout, stderr, proc.returncode


def instructions(argv, preload):
    """Instructions executed by the whole program under callgrind, or None."""
    env = preload_env(preload)
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        return None
    return int(m.group(1))


def checksum(stdout):
    m = re.search(r"checksum=(\d+)", stdout)
    return m.group(1) if m else None


def geomean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def machine_description():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    libc = " ".join(platform.libc_ver())
    try:
        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        cc = "?"
    load = " ".join("%.2f" % x for x in os.getloadavg())
    versions = []
    for name, _, package in ALLOCATORS:
        if package:
            v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                               capture_output=True, text=True).stdout.strip()
            versions.append("%s %s" % (name, v or "?"))
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return [
        "CPU: %s, %d cores (shared with other jobs: load average %s at start)" % (cpu, os.cpu_count(), load),
        "System: %s %s, %s, compiler %s" % (platform.system(), platform.release(), libc, cc),
        "Allocators: %s; dlmalloc = bench/build/dlmalloc/libdlmalloc.so at commit %s, "
        "dlmalloc-nocache = the same built with -DDLMALLOC_DROPIN_THREAD_CACHE=OFF"
        % (", ".join(versions), commit or "?"),
    ]


def write_chart(names, data, chart, stamp):
    """Two clustered bar charts from the data file (workload, time ratios, RSS ratios)."""
    n = len(names)
    with open(data) as f:
        rows = len(f.read().splitlines()) - 1  # workloads, after the header line
    time_bars = ", ".join("'{data}' using {col}{xtic} title '{name}'".format(
        data=data, col=2 + i, xtic=":xtic(1)" if i == 0 else "", name=name)
        for i, name in enumerate(names))
    rss_bars = ", ".join("'{data}' using {col}{xtic} title '{name}'".format(
        data=data, col=2 + n + i, xtic=":xtic(1)" if i == 0 else "", name=name)
        for i, name in enumerate(names))
    script = """
set terminal svg size 1200,800 dynamic noenhanced font 'sans,11'
set output '{chart}'
set datafile missing '-'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 2
set grid ytics
set key top right horizontal
set xrange [-0.6:{last}.6]
set xtics rotate by 40 right
set bmargin 5
set multiplot layout 2,1 title 'Ratio to glibc (1 = glibc; lower is better; no bar = the workload failed), {stamp}, 2 shared cores'
set ylabel 'time / glibc time'
plot {time_bars}, 1 with lines lt -1 notitle
set ylabel 'peak RSS / glibc peak RSS'
plot {rss_bars}, 1 with lines lt -1 notitle
unset multiplot
""".format(chart=chart, stamp=stamp, time_bars=time_bars, rss_bars=rss_bars, last=rows - 1)
    if shutil.which("gnuplot"):
        subprocess.run(["gnuplot"], input=script, text=True, check=False)
    else:
        print("gnuplot not installed: no chart", file=sys.stderr)


def build_before(rev):
    """Build the drop-in at git revision `rev` (as `make dropin` builds this tree's) and return
    the path of its libdlmalloc.so."""
    src = os.path.join(BUILD, "before-src")
    out = os.path.join(BUILD, "dlmalloc-before")
    repo = os.path.dirname(HERE)
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    archive = subprocess.run(["git", "-C", repo, "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
    subprocess.run(["cmake", "-S", src, "-B", out, "-DDLMALLOC_BUILD_TESTS=OFF",
                    "-DDLMALLOC_BUILD_SAMPLES=OFF", "-DDLMALLOC_BUILD_INTEGRATION_TESTS=OFF",
                    "-DDLMALLOC_INSTALL=OFF"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", out, "--target", "dlmalloc_shared", "-j2"], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(out, "libdlmalloc.so")


def fmt_ratio(r):
    return "-" if r is None else "%.2f" % r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0, help="work per run (1 = default)")
    ap.add_argument("--threads", default="2,4",
                    help="comma-separated thread counts of the threaded workloads")
    ap.add_argument("--no-pinned", action="store_true",
                    help="leave out the runs pinned to one core (taskset -c 0)")
    ap.add_argument("--name", default="",
                    help="suffix of the report's file name: results/<date>-<name>.md")
    ap.add_argument("--icount-scale", type=float, default=0.05,
                    help="work per callgrind run (0 = no instruction counts)")
    ap.add_argument("--only", default="", help="comma-separated workloads (default: all)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--before", default="",
                    help="a git revision: its drop-in runs too (dlmalloc-before), and the report "
                         "compares this tree's with it, side by side in the same rounds")
    args = ap.parse_args()

    workloads = SINGLE + MULTI
    if args.only:
        workloads = [w for w in workloads if w in args.only.split(",")]
    workloads = [STARTUP] + workloads
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    pinned = not args.no_pinned and shutil.which("taskset") is not None
    if not args.no_pinned and not pinned:
        print("taskset not found: no runs pinned to one core", file=sys.stderr)
    cases = make_cases(workloads, thread_counts, pinned)
    # The cases the time, RSS and cache tables show: all but the pinned twins and the start-up.
    shown = [c for c in cases if not c.endswith(PINNED) and c != STARTUP]
    table = list(ALLOCATORS)
    if args.before:
        table.insert(1, ("dlmalloc-before", build_before(args.before), None))
    allocators = [(n, p) for n, p, _ in table if p is None or os.path.exists(p)]
    missing = [n for n, p, _ in table if p is not None and not os.path.exists(p)]
    if missing:
        print("not installed, left out: " + ", ".join(missing), file=sys.stderr)

    # Keyed by (case, allocator) from here on.
    times = {(c, a): [] for c in cases for a, _ in allocators}
    rss = {(c, a): [] for c in cases for a, _ in allocators}
    final_rss = {}
    failed = {}
    sums = {}  # case without its pinning -> allocator -> checksum: all must agree
    for rnd in range(args.rounds):
        for c, (w, t, pin) in cases.items():
            argv = [os.path.join(BUILD, w), str(args.scale)]
            if t is not None:
                argv.append(str(t))
            if pin:
                argv = ["taskset", "-c", "0"] + argv
            order = allocators[rnd % len(allocators):] + allocators[:rnd % len(allocators)]
            for a, preload in order:
                if (c, a) in failed:
                    continue
                sec, maxrss, out, err, rc = run_measured(argv, preload)
                sum_ = checksum(out)
                if rc != 0 or sum_ is None:
                    failed[(c, a)] = (err.strip().splitlines() or ["exit %d" % rc])[-1]
                    continue
                sums.setdefault(c.replace(PINNED, ""), {}).setdefault((c, a), sum_)
                times[(c, a)].append(sec)
                m = re.search(r"peak_rss_kb=(\d+)", out)
                rss[(c, a)].append(int(m.group(1)) if m and int(m.group(1)) > 0 else maxrss)
                m = re.search(r"final_rss_kb=(\d+)", out)
                if m:
                    final_rss.setdefault((c, a), []).append(int(m.group(1)))
        print("round %d/%d done" % (rnd + 1, args.rounds), file=sys.stderr)
    for c, by_run in sums.items():
        expected = by_run.get((c, "glibc"))
        for run, value in by_run.items():
            if expected is not None and value != expected:
                failed[run] = "checksum %s, glibc's %s: the program saw other data" % (value, expected)

    icount = {}
    if args.icount_scale > 0 and shutil.which("valgrind"):
        for w in workloads:
            if w not in SINGLE:
                continue
            argv = [os.path.join(BUILD, w), str(args.icount_scale)]
            for a, preload in allocators:
                if (w, a) not in failed:
                    icount[(w, a)] = instructions(argv, preload)
            for variant in ("static-internal", "static-portable", "static-hooks"):
                exe = os.path.join(BUILD, variant, w)
                if os.path.exists(exe):
                    icount[(w, variant)] = instructions([exe, str(args.icount_scale)], None)
        print("instruction counts done", file=sys.stderr)

    def median(xs):
        return statistics.median(xs) if xs else None

    def ratio(w, a, table, against="glibc"):
        base = median(table[(w, against)])
        mine = median(table[(w, a)])
        return None if base is None or mine is None or base == 0 else mine / base

    names = [a for a, _ in allocators]
    today = datetime.datetime.now(datetime.timezone.utc)
    stamp = today.strftime("%Y-%m-%d")
    os.makedirs(args.out, exist_ok=True)
    lines = ["# Benchmark results, %s UTC" % today.strftime("%Y-%m-%d %H:%M"), ""]
    lines += ["- " + s for s in machine_description()]
    lines += ["- Run: `bench/run.sh %s` -- %d interleaved rounds, scale %g, %s threads for the "
              "threaded workloads%s; instruction counts at scale %g"
              % (" ".join(sys.argv[1:]), args.rounds, args.scale,
                 " and ".join(str(t) for t in thread_counts),
                 ", each also pinned to one core" if pinned else "", args.icount_scale), ""]

    lines += ["## Time, as a ratio to glibc (median of the rounds; lower is better)", ""]
    lines += ["| workload | glibc (s) | " + " | ".join(names[1:]) + " |",
              "|---|---:|" + "---:|" * (len(names) - 1)]
    # Geometric means over the single-threaded cases, all threaded ones, and per thread count.
    kinds = [("single", "geomean, single-threaded"), ("multi", "geomean, threaded")]
    if len(thread_counts) > 1:
        kinds += [(t, "geomean, %d threads" % t) for t in thread_counts]
    geo = {a: {k: [] for k, _ in kinds} for a in names}
    for c in shown:
        base = median(times[(c, "glibc")])
        cells = []
        for a in names[1:]:
            if (c, a) in failed:
                cells.append("fails")
                continue
            r = ratio(c, a, times)
            cells.append(fmt_ratio(r))
            t = cases[c][1]
            geo[a]["single" if t is None else "multi"].append(r)
            if t in geo[a]:
                geo[a][t].append(r)
        lines.append("| %s | %s | %s |" % (case_label(c), "-" if base is None else "%.3f" % base,
                                           " | ".join(cells)))
    for kind, label in kinds:
        lines.append("| **%s** | 1.00 | %s |" % (label, " | ".join(
            fmt_ratio(geomean(geo[a][kind])) for a in names[1:])))
    lines.append("")

    if pinned:
        lines += ["## Threaded workloads: pinned to one core against all cores", "",
                  "Median seconds pinned to one core (`taskset -c 0`) / on all cores, and in "
                  "brackets all cores divided by pinned, from the same rounds.  Above 1, threads "
                  "running at once make the program slower than the same threads taking turns on "
                  "one core: a lock that collapses under contention.", ""]
        lines += ["| workload | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for c in shown:
            if cases[c][1] is None:
                continue
            cells = []
            for a in names:
                one, all_ = median(times[(c + PINNED, a)]), median(times[(c, a)])
                if (c, a) in failed or (c + PINNED, a) in failed or not one or not all_:
                    cells.append("fails")
                else:
                    cells.append("%.3f / %.3f (%.2f)" % (one, all_, all_ / one))
            lines.append("| %s | %s |" % (case_label(c), " | ".join(cells)))
        lines.append("")

    lines += ["## Peak RSS in MiB (median; in brackets the ratio to glibc)", "",
              "The first row is `startup`, a program that parses its arguments, mallocs one "
              "block and ends: each allocator's fixed cost (its own code and data pages, and the "
              "C library's pages it touches to start), which every other row includes.", ""]
    lines += ["| workload | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for c in [STARTUP] + shown:
        cells = []
        for a in names:
            m = median(rss[(c, a)])
            if m is None:
                cells.append("fails" if (c, a) in failed else "-")
            elif a == "glibc":
                cells.append("%.1f" % (m / 1024))
            else:
                cells.append("%.1f (%s)" % (m / 1024, fmt_ratio(ratio(c, a, rss))))
        lines.append("| %s | %s |" % (case_label(c), " | ".join(cells)))
    lines.append("")
    if final_rss:
        lines += ["Resident memory at the end of `frag` (after the mixed phase, most of the heap "
                  "freed and a new population allocated), MiB: " + ", ".join(
                      "%s %.1f" % (a, median(final_rss[("frag", a)]) / 1024)
                      for a in names if ("frag", a) in final_rss), ""]

    def against(other, title):
        """Rows: the drop-in as a ratio to `other`, from the same rounds."""
        if other not in names or "dlmalloc" not in names:
            return []
        out = ["## %s (same rounds; below 1 is better)" % title, "",
               "| workload | time | peak RSS | instructions |", "|---|---:|---:|---:|"]
        geo = {"single": [], "multi": []}
        for c in shown:
            if (c, "dlmalloc") in failed or (c, other) in failed:
                continue
            tr = ratio(c, "dlmalloc", times, other)
            rr = ratio(c, "dlmalloc", rss, other)
            mine, theirs = icount.get((c, "dlmalloc")), icount.get((c, other))
            geo["single" if c in SINGLE else "multi"].append(tr)
            out.append("| %s | %s | %s | %s |" % (
                case_label(c), fmt_ratio(tr), fmt_ratio(rr),
                fmt_ratio(mine / theirs) if mine and theirs else "-"))
        out.append("| **geomean, single-threaded / threaded** | %s / %s | | |" % (
            fmt_ratio(geomean(geo["single"])), fmt_ratio(geomean(geo["multi"]))))
        return out + [""]

    lines += against("dlmalloc-before", "This tree's drop-in as a ratio to the same drop-in at %s"
                     % args.before)
    lines += against("dlmalloc-nocache", "The thread cache: the drop-in with it, as a ratio to "
                     "the same drop-in without it")

    if icount:
        lines += ["## Instructions, single-threaded workloads (callgrind, whole program, "
                  "scale %g; ratio to glibc)" % args.icount_scale, ""]
        lines += ["| workload | glibc (M) | " + " | ".join(names[1:]) +
                  " | static internal (M) | PORTABLE inline lock / internal | PORTABLE hooks / internal |",
                  "|---|---:|" + "---:|" * (len(names) - 1) + "---:|---:|---:|"]
        port_ratios, hook_ratios = [], []
        for w in workloads:
            if w not in SINGLE:
                continue
            base = icount.get((w, "glibc"))
            cells = []
            for a in names[1:]:
                v = icount.get((w, a))
                cells.append("fails" if (w, a) in failed else
                             fmt_ratio(v / base if v and base else None))
            si = icount.get((w, "static-internal"))
            sp, sh = icount.get((w, "static-portable")), icount.get((w, "static-hooks"))
            pr = sp / si if si and sp else None
            hr = sh / si if si and sh else None
            if pr:
                port_ratios.append(pr)
            if hr:
                hook_ratios.append(hr)
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                w, "-" if not base else "%.1f" % (base / 1e6), " | ".join(cells),
                "-" if not si else "%.1f" % (si / 1e6), "-" if pr is None else "%.4f" % pr,
                "-" if hr is None else "%.4f" % hr))
        lines += ["", "PORTABLE builds (malloc.c + ports/posix.c) against the internal-OS build, all "
                  "linked statically into the workload (bench/Makefile), geometric mean: with the "
                  "port's lock compiled in (PORT_LOCK_HEADER, what CMake builds) %s; through the "
                  "lock hooks %s." % ("-" if not port_ratios else "%.4f" % geomean(port_ratios),
                                      "-" if not hook_ratios else "%.4f" % geomean(hook_ratios)), ""]

    if failed:
        lines += ["## Failures", ""]
        for (c, a), why in sorted(failed.items()):
            lines.append("- %s under %s: %s" % (case_label(c), a, why))
        lines.append("")

    base_name = stamp + ("-" + args.name if args.name else "")
    report = os.path.join(args.out, base_name + ".md")
    with open(report, "w") as f:
        f.write("\n".join(lines))

    # Chart: time and peak RSS ratios per workload, one bar per allocator, log scale.
    data = os.path.join(BUILD, "chart.dat")
    with open(data, "w") as f:
        f.write("# workload " + " ".join(names[1:]) + " " + " ".join(n + "_rss" for n in names[1:]) + "\n")
        for c in shown:
            row = [fmt_ratio(ratio(c, a, times)) if (c, a) not in failed else "-" for a in names[1:]]
            row += [fmt_ratio(ratio(c, a, rss)) if (c, a) not in failed else "-" for a in names[1:]]
            f.write(c + " " + " ".join(row) + "\n")
    chart = os.path.join(args.out, base_name + ".svg")
    write_chart(names[1:], data, chart, stamp)
    print("\n".join(lines))
    print("\nwrote %s and %s" % (report, chart))


if __name__ == "__main__":
    main()
