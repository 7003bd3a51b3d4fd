#!/usr/bin/env python3
"""Where `isola run --rm -p` spends its time, from `perf script` output of the scheduler's
sched_process_{exec,fork,exit} tracepoints (recorded system-wide, so nothing of the run is
slowed by tracing), one file per run:

  net-phases.py RUN.txt...

For each CNI plugin execution under the run (ADD in order, then DEL), its median wall time
and the ip(6)tables executions it made; then the gaps: before the first plugin (start-up,
bundle), between ADD and DEL (DNS responder, /etc files, the container itself), and after
the last plugin (DNS responder exit, bundle removal).  host-local counts as part of bridge.
"""
import collections
import re
import statistics
import sys

PLUGINS = ('bridge', 'host-local', 'portmap', 'firewall', 'tuning', 'loopback')
EV = re.compile(r'\s(\d+)\s+\[\d+\]\s+(\d+\.\d+): sched:sched_process_(\w+): (.*)')


def parse(fn):
    ev = []
    for line in open(fn):
        m = EV.search(line)
        if m:
            ev.append((float(m[2]), int(m[1]), m[3], m[4]))
    parent, name, start, end = {}, {}, {}, {}
    for t, pid, kind, rest in ev:
        if kind == 'fork':
            parent[int(re.search(r'child_pid=(\d+)', rest)[1])] = pid
        elif kind == 'exec':
            name[pid] = re.search(r'filename=(\S+)', rest)[1].split('/')[-1]
            start[pid] = t
        elif kind == 'exit':
            p = pid  # a thread, or a child that did not exec: its exec'd ancestor
            while p is not None and p not in start:
                p = parent.get(p)
            if p is not None:
                end[p] = max(end.get(p, 0), t)
    root = next(p for t, p, k, r in ev if k == 'exec' and r.split()[0].endswith('/isola'))

    def ancestors(pid):
        out, p = [], parent.get(pid)
        while p is not None:
            out.append(p)
            p = parent.get(p)
        return out

    rows, seen = [], collections.Counter()
    ipt, iptms = collections.Counter(), collections.Counter()
    for pid in sorted(start, key=lambda p: start[p]):
        if pid not in end or root not in ancestors(pid) + [pid]:
            continue
        plug = [a for a in ancestors(pid) if name.get(a) in PLUGINS and a in start]
        if name[pid] in PLUGINS and not plug:
            seen[name[pid]] += 1
            rows.append((f"{'ADD' if seen[name[pid]] == 1 else 'DEL'} {name[pid]}", pid))
        if name[pid] in ('iptables', 'ip6tables') and plug:
            ipt[plug[-1]] += 1
            iptms[plug[-1]] += (end[pid] - start[pid]) * 1000
    res = {k: ((end[p] - start[p]) * 1000, ipt[p], iptms[p]) for k, p in rows}
    if rows:
        p = [pid for _, pid in rows]
        mid = len(p) // 2
        res['before ADD'] = ((start[p[0]] - start[root]) * 1000, 0, 0)
        res['ADD..DEL'] = ((start[p[mid]] - end[p[mid - 1]]) * 1000, 0, 0)
        res['after DEL'] = ((end[root] - end[p[-1]]) * 1000, 0, 0)
    res['total'] = ((end[root] - start[root]) * 1000, 0, 0)
    return res


def main():
    runs = [parse(f) for f in sys.argv[1:]]
    keys = list(runs[0])
    print(f"{'phase':14} {'median ms':>9} {'ip(6)tables execs':>18} {'ms in them':>10}")
    for k in keys:
        v = [r[k] for r in runs if k in r]
        print(f"{k:14} {statistics.median(x[0] for x in v):9.1f} "
              f"{statistics.median(x[1] for x in v):18.0f} "
              f"{statistics.median(x[2] for x in v):10.1f}")


if __name__ == '__main__':
    main()
