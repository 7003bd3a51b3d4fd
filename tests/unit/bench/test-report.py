#!/usr/bin/python3
"""bench/report on the fixture results in tests/data/bench/run-loaded (TAP output):
the tables, ratios, targets and the loaded-machine flag; the SVGs; the hand-written
text kept around the generated section; bad input refused with a one-line error that
names the file, leaving the page as it was."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REPORT = os.path.join(TOP, "bench", "report")
FIXTURE = os.path.join(TOP, "tests", "data", "bench", "run-loaded")
n = 0
failed = 0


def ok(cond, what):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {what}")
    failed += not cond


def report(page, svg, results):
    return subprocess.run(["/usr/bin/python3", REPORT, "--page", page, "--svg-dir", svg, results],
                          capture_output=True, text=True)


def row(page_text, start):
    return next((line for line in page_text.splitlines() if line.startswith(start)), "")


def main():
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print("1..0 # SKIP python3-matplotlib is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="isola-test-report.")
    try:
        page, svg = os.path.join(tmp, "performance.md"), os.path.join(tmp, "perf")
        hand = "# Performance\n\nHand-written intro.\n\n"
        tail = "\n## Analysis\n\nHand-written analysis.\n"
        with open(page, "w") as f:
            f.write(hand + "<!-- BEGIN bench/report: generated, do not edit by hand -->\nOLD\n"
                    "<!-- END bench/report -->\n" + tail)
        os.makedirs(svg)
        open(os.path.join(svg, "stale.svg"), "w").close()
        r = report(page, svg, FIXTURE)
        ok(r.returncode == 0, f"report renders the fixture ({r.stderr.strip()})")
        text = open(page).read()
        ok(text.startswith(hand) and text.endswith(tail) and "\nOLD\n" not in text,
           "only the marked section is replaced")
        ok("**Loaded machine**: the load average reached 3.2 on 2 cores" in text,
           "the loaded run is flagged")
        ok("### Runtime vs crun and runc (`bench/runtime.sh`) — loaded" in text and
           "### VMM vs QEMU microvm (`bench/vm.sh`)\n" in text, "the loaded area is flagged, the quiet one not")
        r1 = row(text, "| run | ms |")
        ok("11.0 (10.0–13.0), n=5" in r1 and "0.50× crun, 0.25× runc" in r1 and "| ≤ 0.7× crun | yes |" in r1,
           f"runtime run row: median, min-max, ratios, target met: {r1}")
        r2 = row(text, "| peak RSS of run |")
        ok("1.03× crun" in r2 and r2.endswith("| ≤ 2048 KiB | no |"), f"absolute target missed: {r2}")
        r3 = row(text, "| runs under a 256 KiB memory limit |")
        ok("| runs | runs | fails | – | runs | yes |" in r3, f"pass/fail measure: {r3}")
        r4 = row(text, "| VMs/s back-to-back |")
        ok("isola-split 14.71× qemu" in r4 and "isola-split: ≥ 100 VMs/s | yes" in r4,
           f"higher-is-better measure and a subject's target: {r4}")
        ok("| runtime | run | 11.0 ms | crun 22.0 ms | 0.50× | ≤ 0.7× crun | yes |" in text,
           "summary row against the target")
        ok("Areas that failed in this run" in text and "`cgroup`" in text, "failed area is named")
        want = {"runtime-ratios.svg", "runtime-boxes.svg", "vm-ratios.svg", "vm-boxes.svg",
                "runtime-run-bin-true-k-started-at-once.svg"}
        have = set(os.listdir(svg))
        ok(have == want, f"SVGs written, stale one removed: {sorted(have)}")
        good = True
        for name in have:
            root = ET.parse(os.path.join(svg, name)).getroot()
            good &= root.tag.endswith("svg")
            good &= f"](perf/{name})" in text
        ok(good, "every SVG parses and is linked from the page")

        # Bad input: a truncated results file.
        bad = os.path.join(tmp, "bad")
        shutil.copytree(FIXTURE, bad)
        with open(os.path.join(bad, "vm.json"), "w") as f:
            f.write('{"schema": "isola-bench/1", "area": "vm", "measures": [')
        before = open(page).read()
        r = report(page, svg, bad)
        ok(r.returncode != 0 and r.stderr.count("\n") == 1 and "vm.json" in r.stderr,
           f"truncated JSON: one-line error naming the file: {r.stderr.strip()}")
        ok(open(page).read() == before, "the page is left as it was")
        with open(os.path.join(bad, "vm.json"), "w") as f:
            json.dump({"schema": "isola-bench/1", "area": "vm", "measures": [
                {"measure": "m", "unit": "ms", "samples": {"isola": [1, "NaN"]}}]}, f)
        r = report(page, svg, bad)
        ok(r.returncode != 0 and "vm.json: measures[0].samples.isola" in r.stderr,
           f"a non-number sample is refused: {r.stderr.strip()}")
        r = report(page, svg, os.path.join(tmp, "nothing"))
        ok(r.returncode != 0 and "no machine.json" in r.stderr, "a directory that is not a run")
    finally:
        shutil.rmtree(tmp)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
