#!/usr/bin/env bash
# virtio-blk throughput, isola vs QEMU microvm, same guest (guest/virtio-blk.elf
# in bench mode: N sequential writes then N sequential reads, timed in the guest
# with the TSC), same raw image on the same file system, page cache warm.
# Prints MB/s and IOPS per VMM and request size (best of 3 runs), and the
# isola/QEMU throughput ratio.  Then vsock round-trip latency: a host process
# on the Unix socket sends 64-byte messages that guest/virtio-vsock.elf
# (`listen=52 echo`) echoes back, one at a time.  QEMU has no vsock in user
# space (its vhost-vsock device needs /dev/vhost-vsock, absent here), so that
# row is isola only.  Each row also gets KVM exits per request, counted with
# `perf stat -e kvm:kvm_mmio -e kvm:kvm_userspace_exit` over a long and a
# short run (the difference divided by the extra requests, so boot does not
# count); "-" when perf or the tracepoints are missing.  The guest times with the TSC at the frequency
# it believes (4 GHz when CPUID does not say); we rescale to the host's TSC
# rate from /proc/cpuinfo, which only matters for the absolute numbers.
# BENCH_OUT: bench/lib.sh (the best-of-3 MB/s and the vsock median are recorded).
#
#   bench/virtio.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
isola=$build/src/cli/isola
guest=$build/guest/virtio-blk.elf
vsock_guest=$build/guest/virtio-vsock.elf
[ -x "$isola" ] && [ -f "$guest" ] && [ -f "$vsock_guest" ] ||
	{ echo "build first: ninja -C $build" >&2; exit 1; }
# shellcheck source=lib.sh
. bench/lib.sh
tmp=$(mktemp -d /tmp/isola-bench-virtio.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
img=$tmp/disk.img
truncate -s 256M "$img"

run_isola() { # count size
	$wrap "$isola" vm run --memory 64M --kernel "$guest" --disk "$img" \
		--cmdline "bench=$1 size=$2" 2>&1 || true
}
wrap=

# "M U": MMIO exits and exits to user space of one run of `cmd...` under perf.
count_exits() { # cmd...
	perf stat -x, -e kvm:kvm_mmio -e kvm:kvm_userspace_exit -o "$tmp/perf" "$@" \
		>/dev/null 2>&1 || true
	awk -F, '/kvm:kvm_mmio/ { m = $1 } /kvm:kvm_userspace_exit/ { u = $1 }
		END { if (m != "" && u != "") print m, u }' "$tmp/perf"
}

# Exits per request: runs of `$1 LONG ...` and `$1 SHORT ...`, `per` requests per unit.
exits_per_req() { # fn long short per args...
	local fn=$1 long=$2 short=$3 per=$4 a b
	shift 4
	command -v perf >/dev/null || { echo "- -"; return; }
	a=$(wrap="perf_wrap" "$fn" "$long" "$@" >/dev/null; cat "$tmp/exits")
	b=$(wrap="perf_wrap" "$fn" "$short" "$@" >/dev/null; cat "$tmp/exits")
	[ -n "$a" ] && [ -n "$b" ] || { echo "- -"; return; }
	set -- $a $b
	awk -v m1=$1 -v u1=$2 -v m2=$3 -v u2=$4 -v n=$(((long - short) * per)) \
		'BEGIN { printf "%.2f %.2f\n", (m1 - m2) / n, (u1 - u2) / n }'
}

# Runs the VMM command under perf, records its exit counts in $tmp/exits.
perf_wrap() {
	count_exits "$@" >"$tmp/exits"
}

# QEMU microvm's 24 virtio-mmio transports (it does not announce them to PVH guests).
transports() {
	for i in $(seq 0 23); do
		printf 'virtio_mmio.device=512@0x%x:%d ' $((0xfeb00000 + i * 512)) $((12 + i))
	done
}

run_qemu() { # count size
	$wrap qemu-system-x86_64 -M microvm,rtc=off -enable-kvm -m 64 -nodefaults -no-user-config \
		-nographic -serial stdio -global virtio-mmio.force-legacy=false \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$guest" \
		-drive "file=$img,format=raw,if=none,id=d0,cache=writeback,aio=threads" \
		-device virtio-blk-device,drive=d0 -append "$(transports)bench=$1 size=$2" \
		2>/dev/null || true
}

host_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)

# "bench N x S bytes: write W us, read R us (tsc K kHz)" -> "W R" in host microseconds
parse() {
	sed -n 's/.*write \([0-9]*\) us, read \([0-9]*\) us (tsc \([0-9]*\) kHz).*/\1 \2 \3/p' |
		awk -v h="$host_khz" '{ printf "%d %d\n", $1 * $3 / h, $2 * $3 / h }'
}

# Best (lowest) write and read time of three runs.
best_of_3() { # vmm count size
	for _ in 1 2 3; do run_"$1" "$2" "$3" | parse; done |
		sort -n -k1,1 | awk 'NR == 1 { w = $1 } { r = (NR == 1 || $2 < r) ? $2 : r }
			END { if (NR) print w, r }'
}

printf '%-6s %-8s %6s %10s %10s %10s %10s %11s %11s\n' vmm size n "write MB/s" "write IOPS" \
	"read MB/s" "read IOPS" "mmio/req" "user/req"
declare -A res
for spec in "4096 2000" "1048576 100"; do
	set -- $spec
	size=$1 n=$2
	for vmm in isola qemu; do
		out=$(best_of_3 $vmm "$n" "$size")
		[ -n "$out" ] || { echo "$vmm: bench failed" >&2; continue; }
		set -- $out
		w=$1 r=$2
		res[$vmm-$size]="$w $r"
		bench_record virtio "blk write, $size-byte requests" MB/s $vmm --better higher \
			"$(awk -v n=$n -v s=$size -v t=$w 'BEGIN { printf "%.1f", n * s / t }')"
		bench_record virtio "blk read, $size-byte requests" MB/s $vmm --better higher \
			"$(awk -v n=$n -v s=$size -v t=$r 'BEGIN { printf "%.1f", n * s / t }')"
		# Each bench unit is one write and one read request.
		set -- $(exits_per_req run_$vmm "$n" 10 2 "$size")
		awk -v vmm=$vmm -v size=$size -v n=$n -v w=$w -v r=$r -v em=$1 -v eu=$2 'BEGIN {
			printf "%-6s %-8s %6d %10.1f %10.0f %10.1f %10.0f %11s %11s\n", vmm, size, n,
				n * size / w, n * 1e6 / w, n * size / r, n * 1e6 / r, em, eu }'
	done
	if [ -n "${res[isola-$size]:-}" ] && [ -n "${res[qemu-$size]:-}" ]; then
		set -- ${res[isola-$size]} ${res[qemu-$size]}
		awk -v s=$size -v iw=$1 -v ir=$2 -v qw=$3 -v qr=$4 'BEGIN {
			printf "ratio isola/qemu throughput, %d-byte requests: write %.2f, read %.2f\n\n",
				s, qw / iw, qr / ir }'
	fi
done

# vsock round trips: host UDS <-> guest echo, 64-byte messages.
rtt_client() { # sock count
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
sock, n = sys.argv[1], int(sys.argv[2])
for _ in range(400):  # the VM binds, then listens: retry until it accepts
    try:
        c = socket.socket(socket.AF_UNIX); c.settimeout(10); c.connect(sock); break
    except OSError:
        c.close(); time.sleep(0.025)
c.sendall(b'CONNECT 52\n')
assert c.makefile('rb').readline().startswith(b'OK')
msg, lat = b'x' * 64, []
for _ in range(n):
    t = time.perf_counter_ns()
    c.sendall(msg)
    got = b''
    while len(got) < len(msg):
        got += c.recv(len(msg) - len(got))
    lat.append(time.perf_counter_ns() - t)
c.shutdown(socket.SHUT_WR)
lat.sort()
print('%.1f %.1f %.1f' % (lat[n // 2] / 1e3, lat[n * 99 // 100] / 1e3, sum(lat) / n / 1e3))
PY
}

run_vsock() { # count
	rm -f "$tmp/v.sock"
	$wrap "$isola" vm run --memory 64M --kernel "$vsock_guest" \
		--vsock "cid=7,uds=$tmp/v.sock" --cmdline "listen=52 echo" >"$tmp/vsock.out" 2>&1 &
	local vm=$!
	rtt_client "$tmp/v.sock" "$1"
	wait "$vm" || true
}

echo
printf '%-6s %-26s %6s %11s %11s %11s %11s %11s\n' vmm "vsock 64-byte round trip" n \
	"median us" "p99 us" "mean us" "mmio/req" "user/req"
best=
for _ in 1 2 3; do
	out=$(run_vsock 2000)
	[ -n "$out" ] || continue
	set -- $out
	[ -z "$best" ] || [ "$(awk -v a=$1 -v b=${best%% *} 'BEGIN { print (a < b) }')" = 1 ] &&
		best=$out
done
if [ -n "$best" ]; then
	set -- $best $(exits_per_req run_vsock 2000 10 1)
	bench_record virtio "vsock 64-byte round trip, median" us isola "$1"
	printf '%-6s %-26s %6d %11s %11s %11s %11s %11s\n' isola "host UDS <-> guest echo" 2000 \
		"$1" "$2" "$3" "$4" "$5"
else
	echo "isola: vsock bench failed" >&2
fi
printf '%-6s %-26s %6s %11s\n' qemu "n/a: no user-space vsock" - \
	"(vhost-vsock needs /dev/vhost-vsock)"
