#!/usr/bin/env python3
"""Median time from spawn to the first byte on the VMM's stdout (the guest's
first serial byte), and to exit, over N runs of each command; with several
commands (separated by ":::") the runs alternate, the first command rotating.
Prints "first_ms exit_ms" (medians), one line per command.
Usage: vm-first-byte.py [--samples FILE] N CMD... [::: CMD...]...
--samples writes every run's times as JSON [{"first_ms": [...], "exit_ms": [...]}, ...]."""
import json, os, statistics, subprocess, sys, time

samples = None
if sys.argv[1:2] == ["--samples"]:
    samples = sys.argv[2]
    del sys.argv[1:3]
n, cmds = int(sys.argv[1]), [[]]
for a in sys.argv[2:]:
    if a == ":::":
        cmds.append([])
    else:
        cmds[-1].append(a)
first = [[] for _ in cmds]
total = [[] for _ in cmds]
for r in range(n):
    for i in [(r + j) % len(cmds) for j in range(len(cmds))]:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmds[i], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.read(p.stdout.fileno(), 1)
        first[i].append(time.perf_counter() - t0)
        p.stdout.read()
        p.wait()
        total[i].append(time.perf_counter() - t0)
if samples:
    with open(samples, "w") as f:
        json.dump([{"first_ms": [t * 1e3 for t in fi], "exit_ms": [t * 1e3 for t in ti]}
                   for fi, ti in zip(first, total)], f)
for fi, ti in zip(first, total):
    print(f"{statistics.median(fi) * 1e3:.2f} {statistics.median(ti) * 1e3:.2f}")
