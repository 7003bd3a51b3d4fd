#!/usr/bin/env python3
"""Paired, alternating timing of commands, written in hyperfine's --export-json format.

hyperfine runs all of one command's runs before the next command's, so a burst of load
from another user of the machine lands on one side only.  This runs round r of every
command back to back, rotating which command goes first each round, so every command
sees the same machine.  Like `hyperfine -N`, a command is split into words (shlex) and
run without a shell; its output goes to /dev/null.

  paired.py [-w WARMUP] [-r RUNS] [-i] --export-json FILE
            -n NAME [-p PREPARE] COMMAND [-n NAME [-p PREPARE] COMMAND ...]

PREPARE runs (untimed, through sh -c) before each timed run of the command after it.
-i ignores non-zero exits (hyperfine's -i); otherwise one makes the whole run fail.
The export has hyperfine's keys (results[].command is NAME; mean, stddev, median, min,
max, user, system in seconds; times; exit_codes) plus max_rss_kib per run (getrusage).
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


def parse(argv):
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("-w", "--warmup", type=int, default=3)
    ap.add_argument("-r", "--runs", type=int, default=10)
    ap.add_argument("-i", "--ignore-failure", action="store_true")
    ap.add_argument("--export-json", required=True)
    opts, rest = ap.parse_known_args(argv)
    cmds, i = [], 0
    while i < len(rest):
        if rest[i] != "-n" or i + 1 >= len(rest):
            ap.error(f"expected -n NAME [-p PREPARE] COMMAND at {rest[i]!r}")
        name, prep, i = rest[i + 1], None, i + 2
        if i + 1 < len(rest) and rest[i] == "-p":
            prep, i = rest[i + 1], i + 2
        if i >= len(rest):
            ap.error(f"{name}: no command")
        cmds.append({"name": name, "prep": prep, "argv": shlex.split(rest[i])})
        i += 1
    if not cmds:
        ap.error("no commands")
    if opts.runs < 1 or opts.warmup < 0:
        ap.error("runs must be >= 1, warmup >= 0")
    return opts, cmds


def run_once(c):
    """One timed run: (wall s, user s, system s, max RSS KiB, exit code)."""
    if c["prep"]:
        subprocess.run(["sh", "-c", c["prep"]], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    t0 = time.perf_counter()
    p = subprocess.Popen(c["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, p.returncode


def main(argv):
    opts, cmds = parse(argv)
    for c in cmds:
        c.update(times=[], user=[], system=[], rss=[], codes=[])
        for _ in range(opts.warmup):
            run_once(c)
    for r in range(opts.runs):
        k = r % len(cmds)
        for c in cmds[k:] + cmds[:k]:
            wall, user, system, rss, code = run_once(c)
            if code != 0 and not opts.ignore_failure:
                print(f"paired.py: {c['name']}: exit {code}: {shlex.join(c['argv'])}",
                      file=sys.stderr)
                return 1
            c["times"].append(wall)
            c["user"].append(user)
            c["system"].append(system)
            c["rss"].append(rss)
            c["codes"].append(code)
    results = []
    for c in cmds:
        t = c["times"]
        results.append({
            "command": c["name"],
            "mean": statistics.fmean(t),
            "stddev": statistics.stdev(t) if len(t) > 1 else 0.0,
            "median": statistics.median(t),
            "user": statistics.fmean(c["user"]),
            "system": statistics.fmean(c["system"]),
            "min": min(t),
            "max": max(t),
            "times": t,
            "exit_codes": c["codes"],
            "max_rss_kib": c["rss"],
        })
    tmp = opts.export_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"results": results}, f, indent=1)
    os.replace(tmp, opts.export_json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
