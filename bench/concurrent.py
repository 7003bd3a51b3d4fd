#!/usr/bin/env python3
"""Start latency under concurrency: K copies of each command started at once.

  concurrent.py [--record FILE AREA MEASURE] ROUNDS K[,K...] -n NAME COMMAND [-n NAME COMMAND ...]

For each K and each round, the subjects take turns (rotating who goes first); a turn
starts K instances of that subject's command together and times each instance from
its spawn to its exit.  "{i}" in COMMAND becomes the instance number (for unique
container ids).  Prints "NAME K median_ms max_ms" per subject and K; with --record,
adds every instance's latency (ms) to FILE (bench/record.py's schema) with x = K.
A failing instance makes the whole run fail.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record  # noqa: E402


def turn(argv_tmpl, k):
    procs = []
    for i in range(k):
        argv = [a.replace("{i}", str(i)) for a in argv_tmpl]
        procs.append((time.perf_counter(), subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)))
    lat = []
    for t0, p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"exit {p.returncode}: {shlex.join(p.args)}")
        lat.append(1000 * (time.perf_counter() - t0))
    return lat


def main(argv):
    rec = None
    if argv[:1] == ["--record"]:
        rec, argv = argv[1:4], argv[4:]
    if len(argv) < 4 or len(argv[2:]) % 3:
        print(__doc__, file=sys.stderr)
        return 2
    rounds, ks = int(argv[0]), [int(k) for k in argv[1].split(",")]
    subjects = []
    for j in range(2, len(argv), 3):
        if argv[j] != "-n":
            print(__doc__, file=sys.stderr)
            return 2
        subjects.append((argv[j + 1], shlex.split(argv[j + 2])))
    if rounds < 1 or min(ks) < 1 or max(ks) > 64:
        print("concurrent.py: ROUNDS >= 1, 1 <= K <= 64", file=sys.stderr)
        return 2
    for k in ks:
        lat = {name: [] for name, _ in subjects}
        for r in range(rounds):
            s = r % len(subjects)
            for name, tmpl in subjects[s:] + subjects[:s]:
                try:
                    lat[name] += turn(tmpl, k)
                except RuntimeError as e:
                    print(f"concurrent.py: {name}: {e}", file=sys.stderr)
                    return 1
        for name, _ in subjects:
            print(f"{name} {k} {statistics.median(lat[name]):.2f} {max(lat[name]):.2f}")
            if rec:
                record.add(rec[0], rec[1], rec[2], "ms", name, lat[name], x=k)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
