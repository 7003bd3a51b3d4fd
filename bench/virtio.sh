#!/usr/bin/env bash
# virtio-blk throughput, isola vs QEMU microvm, same guest (guest/virtio-blk.elf
# in bench mode: N sequential writes then N sequential reads, timed in the guest
# with the TSC), same raw image on the same file system, page cache warm.
# Prints MB/s and IOPS per VMM and request size (best of 3 runs), and the
# isola/QEMU throughput ratio.  The guest times with the TSC at the frequency
# it believes (4 GHz when CPUID does not say); we rescale to the host's TSC
# rate from /proc/cpuinfo, which only matters for the absolute numbers.
#
#   bench/virtio.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
isola=$build/src/cli/isola
guest=$build/guest/virtio-blk.elf
[ -x "$isola" ] && [ -f "$guest" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-virtio.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
img=$tmp/disk.img
truncate -s 256M "$img"

run_isola() { # count size
	"$isola" vm run --memory 64M --kernel "$guest" --disk "$img" \
		--cmdline "bench=$1 size=$2" 2>&1 || true
}

# QEMU microvm's 24 virtio-mmio transports (it does not announce them to PVH guests).
transports() {
	for i in $(seq 0 23); do
		printf 'virtio_mmio.device=512@0x%x:%d ' $((0xfeb00000 + i * 512)) $((12 + i))
	done
}

run_qemu() { # count size
	qemu-system-x86_64 -M microvm,rtc=off -enable-kvm -m 64 -nodefaults -no-user-config \
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

printf '%-6s %-8s %6s %10s %10s %10s %10s\n' vmm size n "write MB/s" "write IOPS" \
	"read MB/s" "read IOPS"
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
		awk -v vmm=$vmm -v size=$size -v n=$n -v w=$w -v r=$r 'BEGIN {
			printf "%-6s %-8s %6d %10.1f %10.0f %10.1f %10.0f\n", vmm, size, n,
				n * size / w, n * 1e6 / w, n * size / r, n * 1e6 / r }'
	done
	if [ -n "${res[isola-$size]:-}" ] && [ -n "${res[qemu-$size]:-}" ]; then
		set -- ${res[isola-$size]} ${res[qemu-$size]}
		awk -v s=$size -v iw=$1 -v ir=$2 -v qw=$3 -v qr=$4 'BEGIN {
			printf "ratio isola/qemu throughput, %d-byte requests: write %.2f, read %.2f\n\n",
				s, qw / iw, qr / ir }'
	fi
done
