#!/usr/bin/env bash
# l1-boot.sh [RUNS [VMMS]]: boot a stock Debian kernel (the generic amd64 bzImage)
# with a busybox initramfs in isola and in QEMU (-M microvm and -M q35,
# -enable-kvm -cpu host), inside the emulated L1 of tests/l1/run.sh (the only
# place this host can run a Linux kernel under KVM).  Paired runs in rotating
# order; prints the medians of: launch to the initramfs's first userspace line,
# launch to VMM exit (guest `reboot -f`), and the VMM's peak RSS (VmHWM) at
# the userspace line, then isola's ratios against each QEMU.
# Everything runs under TCG: absolute numbers are far slower than hardware;
# only the ratios mean anything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
vmms=${2:-isola,microvm,q35} # comma-separated
out=$(mktemp -d /tmp/isola-l1-bench.XXXXXX)
trap 'rm -rf --one-file-system "$out"' EXIT

L1_MODE=bench L1_RUNS=$runs L1_OUT=$out L1_APPEND="l1vmms=$vmms" L1_TIMEOUT=${L1_TIMEOUT:-2400} \
	"$top/tests/l1/run.sh" >"$out/run" 2>&1 || {
	cat "$out/run"
	exit 1
}
grep '^#' "$out/run" | grep -v L1-DONE || true

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
col() { awk -v v="$1" -v c="$2" '$1 == "BENCH" && $2 == v && $c != "-" {print $c}' "$out/run" | median; }

printf '%-8s %18s %14s %12s\n' vmm to_userspace_ms to_exit_ms hwm_mib
for v in ${vmms//,/ }; do
	hwm=$(col "$v" 6)
	[ "$hwm" != - ] && hwm=$((hwm / 1024))
	printf '%-8s %18s %14s %12s\n' "$v" "$(col "$v" 4)" "$(col "$v" 5)" "$hwm"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }
for q in ${vmms//,/ }; do
	[ "$q" = isola ] && continue
	echo "isola/$q: to_userspace $(ratio "$(col isola 4)" "$(col $q 4)")x," \
		"to_exit $(ratio "$(col isola 5)" "$(col $q 5)")x," \
		"hwm $(ratio "$(col isola 6)" "$(col $q 6)")x"
done
