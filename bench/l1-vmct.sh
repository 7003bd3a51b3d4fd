#!/usr/bin/env bash
# l1-vmct.sh [RUNS [KINDS]]: the start-up of a container in a micro-VM, inside
# the emulated L1 of tests/l1/run.sh (tests/l1/l1-vmct-bench.sh): `isola run
# --vm --rm IMAGE true` (vm: a warm start; cold: ISOLA_VM_COLD=1, a boot)
# against `isola run --rm IMAGE true` (plain); vmnet and plainnet: the same two
# on the bridge network (--network bridge; vmnet restores the template with a
# NIC), coldnet: vmnet with ISOLA_VM_COLD=1; vmvol and coldvol: `run --vm --rm -v
# DIR:/data` warm (the template with a share) and cold; det and detcold: `run --vm -d --rm`
# until it returns (the process started; warm and cold); oci, ocicold: the OCI
# mode's `isola-vm run --bundle` (create, start, exit; warm and cold) and
# ociplain, the same bundle as a plain container; and
# the same kernel + agent initramfs + root disk booted by `isola vm run`
# (isola) and by QEMU -M microvm,pcie=on -enable-kvm (qemu), paired runs in
# rotating order.  Prints the median wall time of each and the ratios.
# Everything runs under TCG: only the ratios mean anything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
kinds=${2:-vm,plain,isola,qemu} # comma-separated
out=$(mktemp -d /tmp/isola-l1-vmct.XXXXXX)
trap 'rm -rf --one-file-system "$out"' EXIT

L1_MODE=vmct-bench L1_RUNS=$runs L1_OUT=$out L1_APPEND="l1kinds=$kinds" \
	L1_TIMEOUT=${L1_TIMEOUT:-3000} "$top/tests/l1/run.sh" >"$out/run" 2>&1 || {
	cat "$out/run"
	exit 1
}
grep '^#' "$out/run" | grep -v L1-DONE || true

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
col() { awk -v k="$1" '$1 == "BENCH" && $2 == k && $5 == 0 {print $4}' "$out/run" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }

# Every run's time, for the spread (TCG under a shared machine is noisy).
for k in ${kinds//,/ }; do
	echo "# $k ms: $(awk -v k="$k" '$1 == "BENCH" && $2 == k && $5 == 0 {printf "%s ", $4}' "$out/run")"
done
printf '%-6s %10s %6s\n' kind median_ms ok
for k in ${kinds//,/ }; do
	printf '%-6s %10s %6s\n' "$k" "$(col "$k")" \
		"$(awk -v k="$k" '$1 == "BENCH" && $2 == k && $5 == 0' "$out/run" | wc -l)/$runs"
done
echo "vm/plain (the price of the VM boundary, warm start): $(ratio "$(col vm)" "$(col plain)")x"
echo "cold/plain (the same, a cold boot): $(ratio "$(col cold)" "$(col plain)")x"
echo "vm/cold (warm start against cold boot): $(ratio "$(col vm)" "$(col cold)")x"
echo "vmnet/plainnet (the VM boundary on the bridge network, warm start): $(ratio "$(col vmnet)" "$(col plainnet)")x"
echo "coldnet/plainnet (the same, a cold boot): $(ratio "$(col coldnet)" "$(col plainnet)")x"
echo "vmnet/coldnet (warm start against cold boot, with a NIC): $(ratio "$(col vmnet)" "$(col coldnet)")x"
echo "vmnet/vm (a NIC on the bridge network, warm: CNI ADD/DEL, TAP, tc, eth0): $(ratio "$(col vmnet)" "$(col vm)")x"
echo "plainnet/plain (the same network for a plain container): $(ratio "$(col plainnet)" "$(col plain)")x"
echo "vmvol/plain (a volume, warm: the template with a share): $(ratio "$(col vmvol)" "$(col plain)")x"
echo "vmvol/coldvol (warm start against cold boot, with a volume): $(ratio "$(col vmvol)" "$(col coldvol)")x"
echo "vmvol/vm (a volume on the warm path: fuse, virtiofs, the mount): $(ratio "$(col vmvol)" "$(col vm)")x"
echo "isola/qemu (same kernel, agent, disk; VM boot to exit): $(ratio "$(col isola)" "$(col qemu)")x"
echo "cold/qemu (run --vm with a cold boot, end to end, vs QEMU's boot alone): $(ratio "$(col cold)" "$(col qemu)")x"
echo "det/plain (run --vm -d until started, warm): $(ratio "$(col det)" "$(col plain)")x"
echo "detcold/plain (the same, a cold boot): $(ratio "$(col detcold)" "$(col plain)")x"
echo "oci/ociplain (isola-vm run vs isola run of one bundle, warm): $(ratio "$(col oci)" "$(col ociplain)")x"
echo "ocicold/ociplain (the same, a cold boot): $(ratio "$(col ocicold)" "$(col ociplain)")x"
echo "ocicold/qemu (the OCI mode cold, end to end, vs QEMU's boot alone): $(ratio "$(col ocicold)" "$(col qemu)")x"
echo "vm/qemu (run --vm end to end vs QEMU's boot alone): $(ratio "$(col vm)" "$(col qemu)")x"
