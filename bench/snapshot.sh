#!/usr/bin/env bash
# Snapshot create time, file sizes and restore time for 256 MiB and 1 GiB
# guest/counter VMs (printing a line every 100k ring-3 iterations), paused
# through the API, then snapshotted with PUT /snapshot/create.
# Restore time is measured to the first guest instruction's visible effect:
# the first serial byte the restored counter prints, from the exec of
# `isola vm restore` (min and median of 10 runs: the machine is shared), and
# inside the process from the start of the restore to the state loaded just
# before the vCPUs run (its --debug log).
# Then the same guest under QEMU -M microvm: `stop`, `migrate "exec:cat > F"`
# timed until `info migrate` says completed, and `-incoming "exec:cat F"`
# timed to the migration's completion and to the first serial byte after `cont`.
# SNAP_CONFS lists the isola cases as MEM:IRQCHIP (default "256M:kernel 1G:kernel
# 256M:split"), QEMU_MEMS the QEMU sizes in MiB (default "256 1024"), RESTORES the
# restores per case (10).  BENCH_OUT: bench/lib.sh.
# Usage: bench/snapshot.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
isola=$build/src/cli/isola
counter=$build/guest/counter.elf
[ -x "$isola" ] && [ -f "$counter" ] || { echo "build first: $isola, $counter" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-snap.XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
pid=
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
export BENCH_DIR=$here RESTORES=${RESTORES:-10}

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }

# mib() 256M -> 256, 1G -> 1024
mib() { case $1 in *G) echo $((${1%G} * 1024)) ;; *M) echo "${1%M}" ;; *) echo "$1" ;; esac; }

# restore_times DIR SUBJECT MIB: "first byte min/median X/Y ms, in-process min Z ms" over
# RESTORES restores (recorded for SUBJECT at x = MIB when BENCH_OUT is set).
restore_times() {
	python3 - "$isola" "$1" "$2" "$3" <<'PY'
import os, re, subprocess, sys, time
isola, d, subject, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out, first, inproc = f"{d}/out2", [], []
for _ in range(int(os.environ["RESTORES"])):
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.monotonic()
    p = subprocess.Popen([isola, "--debug", "vm", "restore", "--state", f"{d}/st", "--mem",
                          f"{d}/mem", "--console", out], stderr=subprocess.PIPE)
    while not (os.path.exists(out) and os.path.getsize(out) > 0):
        time.sleep(0.0001)  # leave the cores to the VMM
    first.append(1000 * (time.monotonic() - t0))
    p.kill()
    m = re.search(rb"state loaded in \d+ us \((\d+) us since the start\)", p.communicate()[1])
    if m:
        inproc.append(int(m.group(1)) / 1000)
if os.environ.get("BENCH_OUT"):
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import record
    f = os.environ["BENCH_OUT"] + "/snapshot.json"
    record.add(f, "snapshot", "restore to first serial byte, by guest MiB", "ms", subject, first, x=mib)
    record.add(f, "snapshot", "restore in-process to vCPU start, by guest MiB", "ms", subject,
               inproc, x=mib)
first.sort()
inproc.sort()
print(f"->first serial byte min/median {first[0]:.1f}/{first[len(first) // 2]:.1f} ms, "
      f"in-process to vCPU start min/median {inproc[0]:.2f}/{inproc[len(inproc) // 2]:.2f} ms")
PY
}

for conf in ${SNAP_CONFS:-256M:kernel 1G:kernel 256M:split}; do
	mem=${conf%:*}
	rm -f "$tmp"/*
	"$isola" vm run --kernel "$counter" --memory "$mem" --cmdline "every=100000" \
		--irqchip "${conf#*:}" --console "$tmp/out" --api-sock "$tmp/api.sock" &
	pid=$!
	until grep -q "^counter: 100" "$tmp/out" 2>/dev/null; do sleep 0.05; done
	c="curl -s --unix-socket $tmp/api.sock"
	$c -X PATCH -d '{"state":"Paused"}' http://localhost/vm
	t0=$(now)
	$c -X PUT -d "{\"snapshot_path\":\"$tmp/st\",\"mem_file_path\":\"$tmp/mem\"}" \
		http://localhost/snapshot/create
	t1=$(now)
	kill $pid; wait $pid || true; pid=
	n0=$(grep -c "^counter: " "$tmp/out")
	subject=isola
	[ "${conf#*:}" = split ] && subject=isola-split
	bench_record snapshot "create, by guest MiB" ms "$subject" --x "$(mib "$mem")" "$(ms "$t0" "$t1")"
	restore=$(restore_times "$tmp" "$subject" "$(mib "$mem")")
	printf '%-12s create %7s ms  state %6d B  mem %5d MiB apparent, %6d KiB on disk' \
		"$conf" "$(ms "$t0" "$t1")" "$(stat -c %s "$tmp/st")" \
		$(($(stat -c %s "$tmp/mem") >> 20)) "$(du -k "$tmp/mem" | cut -f1)"
	printf '  restore %s\n' "$restore"
done

command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64: QEMU part skipped"; exit 0; }
for mem in ${QEMU_MEMS:-256 1024}; do
	rm -f "$tmp"/*
	timeout 60 python3 - "$counter" "$mem" "$tmp" <<'PY'
import os, socket, subprocess, sys, time
guest, mem, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
base = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-nodefaults", "-no-user-config",
        "-nographic", "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-kernel", guest, "-append", "every=100000", "-m", mem]

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

def first_byte(path):
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        time.sleep(0.0005)

snap = f"{tmp}/qsnap"
p = subprocess.Popen(base + ["-serial", f"file:{tmp}/qout", "-monitor",
                             f"unix:{tmp}/mon,server,nowait"], stderr=subprocess.DEVNULL)
cmd = monitor(f"{tmp}/mon")
first_byte(f"{tmp}/qout")
cmd("migrate_set_parameter max-bandwidth 4G")
cmd("stop")
t0 = time.time()
cmd(f'migrate "exec:cat > {snap}"')
while "Migration status: completed" not in cmd("info migrate"):
    time.sleep(0.001)
t1 = time.time()
p.kill(); p.wait()
t2 = time.time()
p = subprocess.Popen(base + ["-serial", f"file:{tmp}/qout2", "-incoming", f"exec:cat {snap}",
                             "-monitor", f"unix:{tmp}/mon2,server,nowait"],
                     stderr=subprocess.DEVNULL)
cmd = monitor(f"{tmp}/mon2")
while "completed" not in cmd("info migrate"):
    time.sleep(0.001)
t3 = time.time()
cmd("cont")
first_byte(f"{tmp}/qout2")
t4 = time.time()
p.kill(); p.wait()
if os.environ.get("BENCH_OUT"):
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import record
    f, x = os.environ["BENCH_OUT"] + "/snapshot.json", int(mem)
    record.add(f, "snapshot", "create, by guest MiB", "ms", "qemu", [1000 * (t1 - t0)], x=x)
    record.add(f, "snapshot", "restore to first serial byte, by guest MiB", "ms", "qemu",
               [1000 * (t4 - t2)], x=x)
print(f"QEMU {mem}M: migrate to file {1000 * (t1 - t0):.1f} ms, file {os.path.getsize(snap)} B; "
      f"incoming loaded {1000 * (t3 - t2):.1f} ms, first serial byte after cont {1000 * (t4 - t2):.1f} ms")
PY
done
