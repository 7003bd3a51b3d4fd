#!/usr/bin/env bash
# l1-boot.sh [RUNS [VMMS]]: boot a stock Debian kernel (the generic amd64 bzImage)
# with a busybox initramfs in isola and in QEMU (-M microvm and -M q35,
# -enable-kvm -cpu host), inside the emulated L1 of tests/l1/run.sh (the only
# place this host can run a Linux kernel under KVM; its watchdog wakes a stalled
# L1 with a key press and boots a wedged one again from the first paired run
# not done).  Paired
# runs in rotating order (tests/l1/l1-bench.sh); prints the medians of: launch
# to the initramfs's first userspace line, launch to VMM exit after the
# guest's `poweroff -f`, the VMM's peak RSS (VmHWM) and its RSS outside guest
# RAM at the userspace line, and the restore of a booted guest to its first
# tick; then isola's ratios against each QEMU.  Only runs that every VMM
# finished count (a run cut by a wedge is done again whole).
# VMMS may include isola-guest: isola with --kernel-unpack guest (the guest's own
# decompressor, as before isola unpacked bzImages itself).  L1_PROFILE=1 first
# boots each VMM once with printk.time=1 and prints where the time went
# (tests/l1/l1-bench.sh profile()).
# Everything runs under TCG: absolute numbers are far slower than hardware;
# only the ratios mean anything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
vmms=${2:-isola,microvm,q35} # comma-separated
out=$(mktemp -d /tmp/isola-l1-bench.XXXXXX)
trap 'rm -rf --one-file-system "$out"' EXIT

# A step in L1 (a boot, a save, a restore) prints a line within 400 s.
L1_MODE=bench L1_RUNS=$runs L1_OUT=$out L1_APPEND="l1vmms=$vmms l1profile=${L1_PROFILE:-0}" L1_TIMEOUT=${L1_TIMEOUT:-5400} \
	L1_SILENCE=${L1_SILENCE:-900} "$top/tests/l1/run.sh" >"$out/run" 2>&1 || {
	cat "$out/run"
	exit 1
}
grep '^#' "$out/run" | grep -v L1-DONE || true

# The last line of each (vmm, run) in the runs marked done (a retried boot
# repeats the run it was in the middle of).
awk '/^# paired run [0-9]+ done$/ {done[$4] = 1}
	$1 == "BENCH" {last[$2 " " $3] = $0}
	END {for (k in last) {split(k, a, " "); if (a[2] in done) print last[k]}}' "$out/run" >"$out/bench"

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
col() { awk -v v="$1" -v c="$2" '$2 == v && $c != "-" {print $c}' "$out/bench" | median; }
mib() { awk -v k="$1" 'BEGIN {if (k == "-") print "-"; else printf "%.1f", k / 1024}'; }

echo "$(cut -d' ' -f3 "$out/bench" | sort -u | wc -l) paired runs"
printf '%-8s %15s %14s %8s %8s %11s\n' vmm to_userspace_ms to_poweroff_ms hwm_mib own_mib restore_ms
for v in ${vmms//,/ }; do
	printf '%-8s %15s %14s %8s %8s %11s\n' "$v" "$(col "$v" 4)" "$(col "$v" 5)" \
		"$(mib "$(col "$v" 6)")" "$(mib "$(col "$v" 7)")" "$(col "$v" 8)"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }
for q in ${vmms//,/ }; do
	[ "$q" = isola ] && continue
	echo "isola/$q: to_userspace $(ratio "$(col isola 4)" "$(col "$q" 4)")x," \
		"to_poweroff $(ratio "$(col isola 5)" "$(col "$q" 5)")x," \
		"hwm $(ratio "$(col isola 6)" "$(col "$q" 6)")x," \
		"own RSS $(ratio "$(col isola 7)" "$(col "$q" 7)")x," \
		"restore $(ratio "$(col isola 8)" "$(col "$q" 8)")x"
done
