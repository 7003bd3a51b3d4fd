#!/usr/bin/env bash
# Live migration over TCP on 127.0.0.1: total time and downtime for an idle
# guest (guest/counter, 256 MiB) and a memory-dirtying one (guest/dirtier
# rewriting 128 MiB of its 256 MiB without pause), isola next to QEMU
# -M microvm running the same PVH guests (`-incoming tcp:`, QMP `migrate`).
# isola's figures are the source VMM's own (CLOCK_MONOTONIC): total = connect
# to the destination's STARTED, downtime = vCPUs paused to STARTED received
# (protocol 3: the stream is AES-256-GCM sealed with a pre-shared key).
# QEMU's are what QMP query-migrate reports (max-bandwidth raised to 4 GiB/s,
# other parameters default: downtime-limit 300 ms).
# "busy disk": guest/virtio-blk writing and re-reading rounds of 16 sectors
# without pause on a raw image both sides open (shared storage on one host;
# isola: vm receive --disk-remap, QEMU: the same -drive on -incoming).
# "disk + NIC": a VM with a disk and a NIC, idle (guest/counter, the devices
# attached and unused) and busy (guest/virtio-net seq=N, stop-and-wait frames
# with a peer, tests/integration/net-seq-peer.py, on each side's TAP; isola's
# destination attaches its own TAP with --net-remap, QEMU's -incoming gets the
# other TAP).  Needs /dev/net/tun; skipped without it.
# Each case runs RUNS times (default 3); the table lists every run.
# MIG_DIRTY lists the dirtier's MiB rewritten per pass (default 128; the downtime
# against dirty rate plot takes several).  BENCH_OUT: bench/lib.sh.
# Usage: bench/migrate.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
isola=$build/src/cli/isola
guests=$build/guest
runs=${RUNS:-3}
[ -x "$isola" ] && [ -f "$guests/counter.elf" ] && [ -f "$guests/dirtier.elf" ] ||
	{ echo "build first: $isola, $guests/{counter,dirtier}.elf" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-mig.XXXXXX)
tap_a=ibma$$ tap_b=ibmb$$
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; ip link del $tap_a 2>/dev/null
ip link del $tap_b 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
peers=$tmp/peers
mkdir "$peers"

export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

# rec SUBJECT CASE TOTAL_MS DOWNTIME_MS (python, in the heredocs): record one run.
rec_py='
def rec(subject, case, total, down):
    import os, sys
    if not os.environ.get("BENCH_OUT"):
        return
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import record
    f = os.environ["BENCH_OUT"] + "/migrate.json"
    if "+ NIC" in case:
        what = ("idle" if case.startswith("idle") else "busy NIC") + ", disk + NIC 256 MiB guest"
        record.add(f, "migrate", "total, " + what, "ms", subject, [total])
        record.add(f, "migrate", "downtime, " + what, "ms", subject, [down])
    elif case.startswith("busy disk"):
        record.add(f, "migrate", "total, busy disk 256 MiB guest", "ms", subject, [total])
        record.add(f, "migrate", "downtime, busy disk 256 MiB guest", "ms", subject, [down])
    elif case.startswith("idle"):
        record.add(f, "migrate", "total, idle 256 MiB guest", "ms", subject, [total])
        record.add(f, "migrate", "downtime, idle 256 MiB guest", "ms", subject, [down])
    else:
        x = int(case.split()[1])
        record.add(f, "migrate", "total, by MiB dirtied", "ms", subject, [total], x=x)
        record.add(f, "migrate", "downtime, by MiB dirtied", "ms", subject, [down], x=x)
'
export rec_py

port() { echo $((30000 + RANDOM % 20000)); }

# isola_case NAME GUEST CMDLINE WAIT_PATTERN [DISK [NET]]: DISK 1 gives it $tmp/disk.img,
# NET 1 a NIC on $tap_a ($tap_b at the destination)
isola_case() {
	local name=$1 guest=$2 cmdline=$3 pattern=$4 p src dst out
	local -a run_args=() recv_args=()
	for _ in $(seq "$runs"); do
		rm -f "$tmp"/* 2>/dev/null || true
		(umask 077 && head -c 32 /dev/urandom >"$tmp/key") # TCP needs a key (AES-GCM per frame)
		if [ "${5:-0}" = 1 ]; then
			truncate -s 1G "$tmp/disk.img"
			run_args=(--disk "$tmp/disk.img")
			recv_args=(--disk-remap "$tmp/disk.img=$tmp/disk.img")
		fi
		if [ "${6:-0}" = 1 ]; then
			run_args+=(--net "tap=$tap_a")
			recv_args+=(--net-remap "$tap_a=$tap_b")
		fi
		p=$(port)
		"$isola" vm receive --listen "tcp:127.0.0.1:$p" --console "$tmp/out2" \
			--key-file "$tmp/key" "${recv_args[@]}" &
		dst=$!
		"$isola" vm run --kernel "$guests/$guest.elf" --cmdline "$cmdline" --memory 256M \
			--console "$tmp/out1" --api-sock "$tmp/api.sock" "${run_args[@]}" &
		src=$!
		until [ -f "$tmp/out1" ] && tr -d "\r" <"$tmp/out1" | grep -q "$pattern"; do sleep 0.05; done
		out=$("$isola" vm migrate --api-sock "$tmp/api.sock" --to "tcp:127.0.0.1:$p" \
			--key-file "$tmp/key")
		wait $src
		kill $dst
		wait $dst || true
		python3 -c 'import json, os, sys
exec(os.environ["rec_py"])
j = json.loads(sys.argv[2])
rec("isola", sys.argv[1], j["total_ms"], j["downtime_ms"])
print("| isola | %s | %.1f | %.2f | %d | %.1f |" % (sys.argv[1], j["total_ms"],
      j["downtime_ms"], j["rounds"], j["bytes"] / 2**20))' "$name" "$out"
	done
}

# qemu_case NAME GUEST CMDLINE WAIT_PATTERN [DISK [NET]]
qemu_case() {
	for _ in $(seq "$runs"); do
		rm -f "$tmp"/* 2>/dev/null || true
		[ "${5:-0}" = 1 ] && truncate -s 1G "$tmp/disk.img"
		timeout 120 python3 - "$guests/$2.elf" "$3" "$4" "$tmp" "$(port)" "$1" "${5:-0}" \
			"${6:-0}" "$tap_a" "$tap_b" <<'PY'
import json, os, re, socket, subprocess, sys, time
guest, cmdline, pattern, tmp, port, name, disk, net, tap_a, tap_b = sys.argv[1:11]
exec(os.environ["rec_py"])
extra, src_net, dst_net = [], [], []
if disk == "1" or net == "1":  # the guest finds virtio-mmio devices on its command line
    cmdline = "".join("virtio_mmio.device=512@0x%x:%d " % (0xfeb00000 + i * 512, 12 + i)
                      for i in range(24)) + cmdline
    extra = ["-global", "virtio-mmio.force-legacy=false"]
if disk == "1":
    extra += ["-drive", f"file={tmp}/disk.img,format=raw,if=none,id=d0",
              "-device", "virtio-blk-device,drive=d0"]
if net == "1":
    nic = lambda tap: ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                       "-device", "virtio-net-device,netdev=n0"]
    src_net, dst_net = nic(tap_a), nic(tap_b)
base = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-nodefaults", "-no-user-config",
        "-nographic", "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-kernel", guest, "-append", cmdline, "-m", "256"] + extra

def qmp(path):
    """A QMP client: cmd(name, **args) returns the "return" value."""
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            time.sleep(0.001)
    f = s.makefile("rw")
    f.readline()  # greeting
    def cmd(name, **args):
        f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r.get("return", r.get("error"))
    cmd("qmp_capabilities")
    return cmd

dst = subprocess.Popen(base + dst_net + ["-serial", f"file:{tmp}/qout2", "-incoming",
                               f"tcp:127.0.0.1:{port}", "-qmp", f"unix:{tmp}/qmp2,server,nowait"],
                       stderr=subprocess.DEVNULL)
src = subprocess.Popen(base + src_net + ["-serial", f"file:{tmp}/qout1", "-qmp",
                                         f"unix:{tmp}/qmp1,server,nowait"], stderr=subprocess.DEVNULL)
cmd = qmp(f"{tmp}/qmp1")
qmp(f"{tmp}/qmp2")
while not (os.path.exists(f"{tmp}/qout1") and
           re.search(pattern, open(f"{tmp}/qout1", errors="replace").read(), re.M)):
    time.sleep(0.05)
cmd("migrate-set-parameters", **{"max-bandwidth": 4 << 30})
cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
while True:
    info = cmd("query-migrate")
    if info.get("status") in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.005)
src.kill(); dst.kill(); src.wait(); dst.wait()
if info["status"] != "completed":
    print(f"| QEMU | {name} | {info['status']} | | | |")
else:
    ram = info.get("ram", {})
    rec("qemu", name, info["total-time"], info["downtime"])
    print("| QEMU | %s | %d | %d | %s | %.1f |" % (name, info["total-time"], info["downtime"],
          ram.get("dirty-sync-count", "?"), ram.get("transferred", 0) / 2**20))
PY
	done
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "| VMM | guest (256 MiB) | total ms | downtime ms | dirty rounds | MiB sent |"
echo "|---|---|---|---|---|---|"
isola_case "idle (counter)" counter "every=20000000" "^counter: 3$"
isola_case "busy disk (virtio-blk)" virtio-blk "rounds=100000 sectors=16" "round 20$" 1
for d in ${MIG_DIRTY:-128}; do
	isola_case "dirtier, $d MiB" dirtier "mib=$d" "^dirtier: 3$"
done
# The NIC cases: two TAPs (one per side) with a seq peer on each.
has_net=0
if [ -c /dev/net/tun ] && [ -f "$guests/virtio-net.elf" ]; then
	for t in $tap_a $tap_b; do
		ip tuntap add dev "$t" mode tap vnet_hdr && ip link set "$t" up
		python3 "$BENCH_DIR/../tests/integration/net-seq-peer.py" "$t" "$peers/$t.log" \
			"$peers/$t.ready" &
	done
	until [ -e "$peers/$tap_a.ready" ] && [ -e "$peers/$tap_b.ready" ]; do sleep 0.05; done
	has_net=1
	isola_case "idle (counter), disk + NIC" counter "every=20000000" "^counter: 3$" 1 1
	isola_case "busy NIC (virtio-net), disk + NIC" virtio-net "seq=10000000" "seq 200$" 1 1
else
	echo "no /dev/net/tun or guest/virtio-net.elf: the disk + NIC cases skipped"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64: QEMU skipped"; exit 0; }
qemu_case "idle (counter)" counter "every=20000000" "^counter: 3\r?$"
qemu_case "busy disk (virtio-blk)" virtio-blk "rounds=100000 sectors=16" "round 20\r?$" 1
for d in ${MIG_DIRTY:-128}; do
	qemu_case "dirtier, $d MiB" dirtier "mib=$d" "^dirtier: 3\r?$"
done
if [ "$has_net" = 1 ]; then
	qemu_case "idle (counter), disk + NIC" counter "every=20000000" "^counter: 3\r?$" 1 1
	qemu_case "busy NIC (virtio-net), disk + NIC" virtio-net "seq=10000000" "seq 200\r?$" 1 1
fi
