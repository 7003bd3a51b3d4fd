#!/usr/bin/env bash
# Snapshot create time, file sizes and restore time for 256 MiB and 1 GiB
# guest/counter VMs (printing a line every 100k ring-3 iterations), paused
# through the API, then snapshotted with PUT /snapshot/create.
# Restore time is measured to the first guest instruction's visible effect:
# the first serial line the restored counter prints.
# Then the same guest under QEMU -M microvm: `stop`, `migrate "exec:cat > F"`
# timed until `info migrate` says completed, and `-incoming "exec:cat F"`
# timed to the migration's completion and to the first serial byte after `cont`.
# Usage: bench/snapshot.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
isola=$build/src/cli/isola
counter=$build/guest/counter.elf
[ -x "$isola" ] && [ -f "$counter" ] || { echo "build first: $isola, $counter" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-snap.XXXXXX)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
pid=

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }

for mem in 256M 1G; do
	rm -f "$tmp"/*
	"$isola" vm run --kernel "$counter" --memory "$mem" --cmdline "every=100000" \
		--console "$tmp/out" --api-sock "$tmp/api.sock" &
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
	t2=$(now)
	"$isola" vm restore --state "$tmp/st" --mem "$tmp/mem" --console "$tmp/out2" &
	pid=$!
	until [ -s "$tmp/out2" ]; do sleep 0.001; done
	t3=$(now)
	kill $pid; wait $pid || true; pid=
	printf '%-5s create %7s ms  state %6d B  mem %5d MiB apparent, %6d KiB on disk' \
		"$mem" "$(ms "$t0" "$t1")" "$(stat -c %s "$tmp/st")" \
		$(($(stat -c %s "$tmp/mem") >> 20)) "$(du -k "$tmp/mem" | cut -f1)"
	printf '  restore->first serial byte %7s ms\n' "$(ms "$t2" "$t3")"
done

command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64: QEMU part skipped"; exit 0; }
for mem in 256 1024; do
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
print(f"QEMU {mem}M: migrate to file {1000 * (t1 - t0):.1f} ms, file {os.path.getsize(snap)} B; "
      f"incoming loaded {1000 * (t3 - t2):.1f} ms, first serial byte after cont {1000 * (t4 - t2):.1f} ms")
PY
done
