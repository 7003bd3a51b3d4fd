#!/usr/bin/env python3
"""VMs per second: how many times a command (a VM that boots a hello guest and exits)
completes per second, back to back and in 2 streams at once, for several commands in
the same run.

  vm-rate.py [-r ROUNDS] [-k PER_ROUND] [-i] [--json FILE] NAME 'COMMAND' [NAME 'COMMAND' ...]

Round r runs every command's batch in turn (the first one rotating, as bench/paired.py
does), so load from other users of the machine falls on all of them alike: a batch is
PER_ROUND runs back to back, then PER_ROUND runs as 2 streams of PER_ROUND/2.  Each
batch gives one sample of VMs/s (runs / wall time) and of CPU time per run (the
children's user + system time from getrusage, so the CPU a run costs whatever the
waits).  Commands are split with shlex and run without a shell, output to /dev/null;
a failing run makes the whole benchmark fail, unless -i (QEMU's debug-exit status is
never 0).  Prints one line per command:
NAME, median VMs/s back to back, median VMs/s 2 at a time, median CPU ms per run;
--json writes every sample ({NAME: {"seq": [...], "par2": [...], "cpu_ms": [...]}}).
"""
import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import threading
import time


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


IGNORE_FAILURE = False


def run_one(cmd):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0 and not IGNORE_FAILURE:
        sys.exit(f"vm-rate.py: {shlex.join(cmd)} exited {r.returncode}")


def batch(cmd, n, streams):
    """Runs per second and CPU ms per run of n runs in `streams` parallel streams."""
    def stream(k):
        for _ in range(k):
            run_one(cmd)

    cpu0, t0 = children_cpu(), time.monotonic()
    threads = [threading.Thread(target=stream, args=(n // streams,)) for _ in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.monotonic() - t0, children_cpu() - cpu0
    done = n // streams * streams
    return done / wall, cpu * 1e3 / done


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("-r", "--rounds", type=int, default=5)
    ap.add_argument("-k", "--per-round", type=int, default=20)
    ap.add_argument("-i", "--ignore-failure", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("pairs", nargs="+")
    o = ap.parse_args()
    global IGNORE_FAILURE
    IGNORE_FAILURE = o.ignore_failure
    if len(o.pairs) % 2 or o.per_round < 2:
        ap.error("NAME 'COMMAND' pairs, and at least 2 runs per round")
    subjects = [(o.pairs[i], shlex.split(o.pairs[i + 1])) for i in range(0, len(o.pairs), 2)]
    for _, cmd in subjects:  # warm the page cache and fail early
        run_one(cmd)
    samples = {name: {"seq": [], "par2": [], "cpu_ms": []} for name, _ in subjects}
    for r in range(o.rounds):
        order = subjects[r % len(subjects):] + subjects[:r % len(subjects)]
        for name, cmd in order:
            s = samples[name]
            rate, cpu = batch(cmd, o.per_round, 1)
            s["seq"].append(round(rate, 2))
            s["cpu_ms"].append(round(cpu, 3))
            rate, cpu = batch(cmd, o.per_round, 2)
            s["par2"].append(round(rate, 2))
            s["cpu_ms"].append(round(cpu, 3))
    for name, _ in subjects:
        s = samples[name]
        print(name, *("%.1f" % statistics.median(s[k]) for k in ("seq", "par2")),
              "%.2f" % statistics.median(s["cpu_ms"]))
    if o.json:
        with open(o.json, "w") as f:
            json.dump(samples, f)


if __name__ == "__main__":
    main()
