#!/usr/bin/env bash
# Live migration over TCP on 127.0.0.1: total time and downtime for an idle
# guest (guest/counter, 256 MiB) and a memory-dirtying one (guest/dirtier
# rewriting 128 MiB of its 256 MiB without pause), isola next to QEMU
# -M microvm running the same PVH guests (`-incoming tcp:`, HMP `migrate`).
# isola's figures are the source VMM's own (CLOCK_MONOTONIC): total = connect
# to the destination's OK, downtime = vCPUs paused to the OK received.
# QEMU's are what `info migrate` reports (max-bandwidth raised to 4 GiB/s,
# other parameters default: downtime-limit 300 ms).
# Each case runs RUNS times (default 3); the table lists every run.
# Usage: bench/migrate.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
isola=$build/src/cli/isola
guests=$build/guest
runs=${RUNS:-3}
[ -x "$isola" ] && [ -f "$guests/counter.elf" ] && [ -f "$guests/dirtier.elf" ] ||
	{ echo "build first: $isola, $guests/{counter,dirtier}.elf" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-mig.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT

port() { echo $((30000 + RANDOM % 20000)); }

# isola_case NAME GUEST CMDLINE WAIT_PATTERN
isola_case() {
	local name=$1 guest=$2 cmdline=$3 pattern=$4 p src dst out
	for _ in $(seq "$runs"); do
		rm -f "$tmp"/*
		p=$(port)
		"$isola" vm receive --listen "tcp:127.0.0.1:$p" --console "$tmp/out2" &
		dst=$!
		"$isola" vm run --kernel "$guests/$guest.elf" --cmdline "$cmdline" --memory 256M \
			--console "$tmp/out1" --api-sock "$tmp/api.sock" &
		src=$!
		until [ -f "$tmp/out1" ] && tr -d "\r" <"$tmp/out1" | grep -q "$pattern"; do sleep 0.05; done
		out=$("$isola" vm migrate --api-sock "$tmp/api.sock" --to "tcp:127.0.0.1:$p")
		wait $src
		kill $dst
		wait $dst || true
		python3 -c 'import json, sys
j = json.loads(sys.argv[2])
print("| isola | %s | %.1f | %.2f | %d | %.1f |" % (sys.argv[1], j["total_ms"],
      j["downtime_ms"], j["rounds"], j["bytes"] / 2**20))' "$name" "$out"
	done
}

# qemu_case NAME GUEST CMDLINE WAIT_PATTERN
qemu_case() {
	for _ in $(seq "$runs"); do
		rm -f "$tmp"/*
		timeout 120 python3 - "$guests/$2.elf" "$3" "$4" "$tmp" "$(port)" "$1" <<'PY'
import os, re, socket, subprocess, sys, time
guest, cmdline, pattern, tmp, port, name = sys.argv[1:7]
base = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-nodefaults", "-no-user-config",
        "-nographic", "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-kernel", guest, "-append", cmdline, "-m", "256"]

def monitor(path):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            time.sleep(0.001)
    def cmd(c=None):
        if c is not None:
            s.sendall((c + "\n").encode())
        buf = ""
        while not buf.rstrip().endswith("(qemu)"):
            buf += s.recv(65536).decode(errors="replace")
        return buf
    cmd()
    return cmd

dst = subprocess.Popen(base + ["-serial", f"file:{tmp}/qout2", "-incoming", f"tcp:127.0.0.1:{port}",
                               "-monitor", f"unix:{tmp}/mon2,server,nowait"],
                       stderr=subprocess.DEVNULL)
src = subprocess.Popen(base + ["-serial", f"file:{tmp}/qout1", "-monitor",
                               f"unix:{tmp}/mon1,server,nowait"], stderr=subprocess.DEVNULL)
cmd = monitor(f"{tmp}/mon1")
monitor(f"{tmp}/mon2")
while not (os.path.exists(f"{tmp}/qout1") and
           re.search(pattern, open(f"{tmp}/qout1", errors="replace").read(), re.M)):
    time.sleep(0.05)
cmd("migrate_set_parameter max-bandwidth 4G")
cmd(f"migrate -d tcp:127.0.0.1:{port}")
while True:
    info = cmd("info migrate")
    if re.search(r"Migration status: (completed|failed|cancelled)", info):
        break
    time.sleep(0.005)
total = re.search(r"total time: (\d+) ms", info)
down = re.search(r"downtime: (\d+) ms", info)
sent = re.search(r"transferred ram: (\d+) kbytes", info)
rounds = re.search(r"dirty sync count: (\d+)", info)
src.kill(); dst.kill(); src.wait(); dst.wait()
if not total or not down:
    print(f"| QEMU | {name} | failed: {info.strip().splitlines()[0]} | | | |")
else:
    print("| QEMU | %s | %s | %s | %s | %.1f |" % (name, total.group(1), down.group(1),
          rounds.group(1) if rounds else "?", int(sent.group(1)) / 1024 if sent else 0))
PY
	done
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "| VMM | guest (256 MiB) | total ms | downtime ms | dirty rounds | MiB sent |"
echo "|---|---|---|---|---|---|"
isola_case "idle (counter)" counter "every=20000000" "^counter: 3$"
isola_case "dirtier, 128 MiB" dirtier "mib=128" "^dirtier: 3$"
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64: QEMU skipped"; exit 0; }
qemu_case "idle (counter)" counter "every=20000000" "^counter: 3\r?$"
qemu_case "dirtier, 128 MiB" dirtier "mib=128" "^dirtier: 3\r?$"
