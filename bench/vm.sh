#!/usr/bin/env bash
# isola vs QEMU microvm on the same PVH hello guest, in the same run:
# wall time to exit (hyperfine; isola with the default in-kernel irqchip and
# with --irqchip split), time to the first serial byte, RSS (total and
# private, while the guest spins after printing), creation rate back-to-back
# and 2 at a time, and the KVM ioctl floor costs of this host.
# Usage: bench/vm.sh [path/to/isola]   (medians; results also in bench/results/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
runs=${RUNS:-30}
work=$(mktemp -d /tmp/isola-bench-vm.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
mkdir -p "$here/results"
for c in hyperfine qemu-system-x86_64 python3 /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "bench/vm.sh: $c is missing" >&2; exit 1; }
done

# The guest: the guests engineer's hello.elf when built, else an equivalent
# hand-assembled one (print "Hi", debug-exit 0).
. "$top/tests/integration/vm-helpers.bash"
guest=${GUEST:-}
for g in "$top/build/guest/hello.elf" "$(dirname "$ISOLA")/../../guest/hello.elf"; do
	[ -z "$guest" ] && [ -f "$g" ] && guest=$g
done
[ -n "$guest" ] || { guest=$work/hello.elf; vm_hello "$guest" 0; }
vm_guest "$work/spin.elf" "$(vm_putc H)$(vm_putc i)$(vm_putc $'\n')$VM_HANG"

qemu=(qemu-system-x86_64 -M microvm -enable-kvm -m 64 -nodefaults -no-user-config -nographic
	-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04)
isola=("$ISOLA" vm run --memory 64M)
split=("$ISOLA" vm run --memory 64M --irqchip split)

echo "guest: $guest"
echo "== wall time to exit ($runs runs each, alternating)"
hyperfine -N -i -w 3 -r "$runs" --export-json "$work/h.json" \
	"${isola[*]} --kernel $guest" "${qemu[*]} -kernel $guest" "${split[*]} --kernel $guest" \
	>/dev/null 2>&1
read -r t_isola t_qemu t_split < <(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))["results"]
print(*("%.2f" % (x["median"] * 1e3) for x in r))' "$work/h.json")

echo "== time to first serial byte"
read -r fb_isola _ < <(python3 "$here/vm-first-byte.py" "$runs" "${isola[@]}" --kernel "$guest")
read -r fb_split _ < <(python3 "$here/vm-first-byte.py" "$runs" "${split[@]}" --kernel "$guest")
read -r fb_qemu _ < <(python3 "$here/vm-first-byte.py" "$runs" "${qemu[@]}" -kernel "$guest" 2>/dev/null)

echo "== memory (guest spinning after its output)"
read -r rss_isola priv_isola max_isola < <("$here/vm-rss.sh" "${isola[@]}" --kernel "$work/spin.elf")
read -r rss_qemu priv_qemu max_qemu < <("$here/vm-rss.sh" "${qemu[@]}" -kernel "$work/spin.elf")
# Peak RSS of a whole hello run (max of 5), and the floors: the same binary
# doing nothing (--version) and a dynamically linked /bin/true.
peak() {
	local m=0 k
	for _ in 1 2 3 4 5; do
		k=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1)
		[ "$k" -gt "$m" ] && m=$k
	done
	echo "$m"
}
hello_isola=$(peak "${isola[@]}" --kernel "$guest")
hello_qemu=$(peak "${qemu[@]}" -kernel "$guest")
version_isola=$(peak "$ISOLA" --version)
true_floor=$(peak /bin/true)

echo "== creation rate"
rate() { # $1 = parallel streams, rest = command; 60 VMs in all
	local par=$1 per=$((60 / $1)) t0 t1
	shift
	t0=$(date +%s.%N)
	for _ in $(seq "$par"); do
		(for _ in $(seq "$per"); do "$@" >/dev/null 2>&1 || true; done) &
	done
	wait
	t1=$(date +%s.%N)
	python3 -c "print(f'{60 / ($t1 - $t0):.1f}')"
}
r1_isola=$(rate 1 "${isola[@]}" --kernel "$guest")
r2_isola=$(rate 2 "${isola[@]}" --kernel "$guest")
r1_split=$(rate 1 "${split[@]}" --kernel "$guest")
r2_split=$(rate 2 "${split[@]}" --kernel "$guest")
r1_qemu=$(rate 1 "${qemu[@]}" -kernel "$guest")
r2_qemu=$(rate 2 "${qemu[@]}" -kernel "$guest")

echo "== KVM floor costs"
cc -O2 -o "$work/vm-ioctl" "$here/vm-ioctl.c"
"$work/vm-ioctl" | tee "$work/ioctl.txt"
echo "== how the VM fd is dropped at exit (bench/vm-teardown.c)"
cc -O2 -o "$work/vm-teardown" "$here/vm-teardown.c"
"$work/vm-teardown" | tee "$work/teardown.txt"

ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
{
	echo "| metric (median) | isola | QEMU microvm | isola / QEMU |"
	echo "|---|---|---|---|"
	echo "| wall time to exit (ms) | $t_isola | $t_qemu | $(ratio "$t_isola" "$t_qemu") |"
	echo "| time to first serial byte (ms) | $fb_isola | $fb_qemu | $(ratio "$fb_isola" "$fb_qemu") |"
	echo "| RSS while running (KiB) | $rss_isola | $rss_qemu | $(ratio "$rss_isola" "$rss_qemu") |"
	echo "| private memory while running (KiB) | $priv_isola | $priv_qemu | $(ratio "$priv_isola" "$priv_qemu") |"
	echo "| peak RSS, whole life (KiB) | $max_isola | $max_qemu | $(ratio "$max_isola" "$max_qemu") |"
	echo "| peak RSS of a hello run, max of 5 (KiB) | $hello_isola | $hello_qemu | $(ratio "$hello_isola" "$hello_qemu") |"
	echo "| peak RSS: isola --version / /bin/true (KiB) | $version_isola / $true_floor | – | – |"
	echo "| VMs/s back-to-back | $r1_isola | $r1_qemu | $(ratio "$r1_isola" "$r1_qemu") |"
	echo "| VMs/s 2 at a time | $r2_isola | $r2_qemu | $(ratio "$r2_isola" "$r2_qemu") |"
	echo "| --irqchip split: wall time to exit (ms) | $t_split | $t_qemu | $(ratio "$t_split" "$t_qemu") |"
	echo "| --irqchip split: time to first serial byte (ms) | $fb_split | $fb_qemu | $(ratio "$fb_split" "$fb_qemu") |"
	echo "| --irqchip split: VMs/s back-to-back | $r1_split | $r1_qemu | $(ratio "$r1_split" "$r1_qemu") |"
	echo "| --irqchip split: VMs/s 2 at a time | $r2_split | $r2_qemu | $(ratio "$r2_split" "$r2_qemu") |"
	echo
	echo "KVM floor costs on this host (bench/vm-ioctl.c, medians):"
	echo
	sed 's/^/    /' "$work/ioctl.txt"
	echo
	echo "Parent's wait for a child that built a VM and exits, by how it drops the VM fd"
	echo "(bench/vm-teardown.c; isola uses scm-cycle):"
	echo
	sed 's/^/    /' "$work/teardown.txt"
} | tee "$here/results/vm-$(date -u +%Y%m%dT%H%M%SZ).md"
