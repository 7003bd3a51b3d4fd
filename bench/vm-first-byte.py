#!/usr/bin/env python3
"""Median time from spawn to the first byte on the VMM's stdout (the guest's
first serial byte), and to exit, over N runs.  Usage: vm-first-byte.py N CMD..."""
import os, statistics, subprocess, sys, time

n, cmd = int(sys.argv[1]), sys.argv[2:]
first, total = [], []
for _ in range(n):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.read(p.stdout.fileno(), 1)
    first.append(time.perf_counter() - t0)
    p.stdout.read()
    p.wait()
    total.append(time.perf_counter() - t0)
print(f"{statistics.median(first) * 1e3:.2f} {statistics.median(total) * 1e3:.2f}")
