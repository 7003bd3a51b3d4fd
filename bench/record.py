#!/usr/bin/env python3
"""Add samples to a benchmark results file in isola's own schema (bench/README.md).

  record.py FILE AREA MEASURE UNIT SUBJECT VALUE... [--x X] [--better lower|higher]

The file holds one area:
  {"schema": "isola-bench/1", "area": AREA,
   "measures": [{"measure": "...", "unit": "ms", "better": "lower", "x": 256,
                 "samples": {"isola": [1.2, 1.3], "qemu": [50.1]}}]}
A measure is keyed by (measure, x): "x" is present only for scaling series (the
value on the plot's x axis, e.g. guest MiB).  Values are numbers; "-" or an empty
string is skipped (a failed run), so a script can pass what it parsed.  Also
importable: record.add(path, area, measure, unit, subject, values, x=None).
"""
import argparse
import json
import math
import os
import sys

SCHEMA = "isola-bench/1"


def add(path, area, measure, unit, subject, values, x=None, better="lower"):
    vals = []
    for v in values:
        if v in ("-", "", None):
            continue
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"{measure}: {subject}: not a finite number: {v!r}")
        vals.append(f)
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
        if doc.get("schema") != SCHEMA or doc.get("area") != area:
            raise ValueError(f"{path}: not an {SCHEMA} file of area {area}")
    else:
        doc = {"schema": SCHEMA, "area": area, "measures": []}
    for m in doc["measures"]:
        if m["measure"] == measure and m.get("x") == x:
            break
    else:
        m = {"measure": measure, "unit": unit, "better": better, "samples": {}}
        if x is not None:
            m["x"] = x
        doc["measures"].append(m)
    m["samples"].setdefault(subject, []).extend(vals)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("file")
    ap.add_argument("area")
    ap.add_argument("measure")
    ap.add_argument("unit")
    ap.add_argument("subject")
    ap.add_argument("values", nargs="*")
    ap.add_argument("--x", type=float)
    ap.add_argument("--better", choices=("lower", "higher"), default="lower")
    a = ap.parse_intermixed_args(argv)
    x = a.x
    if x is not None and x.is_integer():
        x = int(x)
    try:
        add(a.file, a.area, a.measure, a.unit, a.subject, a.values, x, a.better)
    except (ValueError, OSError, json.JSONDecodeError) as e:
        print(f"record.py: {a.file}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
