#!/usr/bin/env bash
# isola vs QEMU microvm on the same PVH hello guest, in the same run:
# wall time to exit (paired, alternating runs: bench/paired.py; isola with the
# default in-kernel irqchip and with --irqchip split), time to the first serial
# byte, RSS (total and private, while the guest spins after printing), creation
# rate back-to-back and 2 at a time (bench/vm-rate.py: alternating rounds, with
# the CPU time per VM and the process floors /bin/true and isola --version), time
# to the first byte against guest memory
# size (VM_MEMS MiB, default 64 256 1024 4096; "none" skips), and the KVM ioctl
# floor costs of this host.
# Usage: bench/vm.sh [path/to/isola]   (medians; results also in bench/results/;
# RUNS (30), VM_MEMS, RATE_ROUNDS (5), RATE_PER_ROUND (20); BENCH_OUT: bench/lib.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
runs=${RUNS:-30}
work=$(mktemp -d /tmp/isola-bench-vm.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
mkdir -p "$here/results"
. "$here/lib.sh"
for c in qemu-system-x86_64 python3 /usr/bin/time; do
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
python3 "$here/paired.py" -i -w 3 -r "$runs" --export-json "$work/h.json" \
	-n isola "${isola[*]} --kernel $guest" -n qemu "${qemu[*]} -kernel $guest" \
	-n isola-split "${split[*]} --kernel $guest"
bench_keep vm "time to exit" "$work/h.json"
read -r t_isola t_qemu t_split < <(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))["results"]
print(*("%.2f" % (x["median"] * 1e3) for x in r))' "$work/h.json")

echo "== time to first serial byte"
{ read -r fb_isola _; read -r fb_split _; read -r fb_qemu _; } < <(python3 "$here/vm-first-byte.py" \
	--samples "$work/fb.json" "$runs" "${isola[@]}" --kernel "$guest" ::: "${split[@]}" \
	--kernel "$guest" ::: "${qemu[@]}" -kernel "$guest" 2>/dev/null)
i=0
for v in isola isola-split qemu; do
	mapfile -t s < <(jq ".[$i].first_ms[]" "$work/fb.json")
	bench_record vm "time to first serial byte" ms "$v" "${s[@]}"
	i=$((i + 1))
done

echo "== memory (guest spinning after its output)"
read -r rss_isola priv_isola max_isola < <("$here/vm-rss.sh" "${isola[@]}" --kernel "$work/spin.elf")
read -r rss_qemu priv_qemu max_qemu < <("$here/vm-rss.sh" "${qemu[@]}" -kernel "$work/spin.elf")
for v in isola qemu; do
	eval "bench_record vm 'RSS while running' KiB $v \$rss_$v"
	eval "bench_record vm 'private memory while running' KiB $v \$priv_$v"
	eval "bench_record vm 'peak RSS, whole life' KiB $v \$max_$v"
done
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
bench_record vm 'peak RSS of a hello run' KiB isola "$hello_isola"
bench_record vm 'peak RSS of a hello run' KiB qemu "$hello_qemu"

echo "== creation rate (bench/vm-rate.py: alternating rounds, back to back and 2 at a time)"
# The floors in the same run: a process that does nothing (/bin/true) and isola's
# exec + dynamic linking alone (--version).
python3 "$here/vm-rate.py" -i -r "${RATE_ROUNDS:-5}" -k "${RATE_PER_ROUND:-20}" \
	--json "$work/rate.json" isola "${isola[*]} --kernel $guest" \
	isola-split "${split[*]} --kernel $guest" qemu "${qemu[*]} -kernel $guest" \
	true /bin/true isola-version "$ISOLA --version" | tee "$work/rate.txt"
read -r _ r1_isola r2_isola cpu_isola < <(grep '^isola ' "$work/rate.txt")
read -r _ r1_split r2_split cpu_split < <(grep '^isola-split ' "$work/rate.txt")
read -r _ r1_qemu r2_qemu cpu_qemu < <(grep '^qemu ' "$work/rate.txt")
read -r _ r1_true r2_true cpu_true < <(grep '^true ' "$work/rate.txt")
read -r _ r1_version r2_version cpu_version < <(grep '^isola-version ' "$work/rate.txt")
for v in isola isola-split qemu; do
	mapfile -t s1 < <(jq ".\"$v\".seq[]" "$work/rate.json")
	mapfile -t s2 < <(jq ".\"$v\".par2[]" "$work/rate.json")
	mapfile -t c < <(jq ".\"$v\".cpu_ms[]" "$work/rate.json")
	bench_record vm 'VMs/s back-to-back' VMs/s "$v" --better higher "${s1[@]}"
	bench_record vm 'VMs/s 2 at a time' VMs/s "$v" --better higher "${s2[@]}"
	bench_record vm 'CPU time per VM' ms "$v" "${c[@]}"
done

VM_MEMS=${VM_MEMS:-64 256 1024 4096}
if [ "$VM_MEMS" != none ]; then
	echo "== time to first serial byte against guest memory (MiB: $VM_MEMS)"
	for m in $VM_MEMS; do
		# "${qemu[@]/#64/$m}": QEMU's command with its "-m 64" made "-m $m"
		python3 "$here/vm-first-byte.py" --samples "$work/fbm.json" "$(((runs + 2) / 3))" \
			"$ISOLA" vm run --memory "${m}M" --irqchip split --kernel "$guest" ::: \
			"${qemu[@]/#64/$m}" -kernel "$guest" 2>/dev/null |
			awk -v m="$m" '{ v[NR] = $1 } END { printf "  %5d MiB: isola (split) %.2f ms, QEMU %.2f ms\n", m, v[1], v[2] }'
		i=0
		for v in isola-split qemu; do
			mapfile -t s < <(jq ".[$i].first_ms[]" "$work/fbm.json")
			bench_record vm "time to first serial byte, by guest MiB" ms "$v" --x "$m" "${s[@]}"
			i=$((i + 1))
		done
	done
fi

echo "== KVM floor costs"
cc -O2 -o "$work/vm-ioctl" "$here/vm-ioctl.c"
"$work/vm-ioctl" | tee "$work/ioctl.txt"
echo "== how the VM fd is dropped at exit (bench/vm-teardown.c)"
cc -O2 -o "$work/vm-teardown" "$here/vm-teardown.c"
"$work/vm-teardown" "$((runs > 101 ? 101 : runs))" | tee "$work/teardown.txt"
echo "== the VMM's confinement: install, and a filtered ioctl (bench/vm-confine.c)"
bdir=$(cd "$(dirname "$ISOLA")/../.." && pwd)
cc -O2 -I"$top/src/vmm" -I"$top/src/lib" -o "$work/vm-confine" "$here/vm-confine.c" \
	"$bdir/src/vmm/libisola-vmm.a" "$bdir/src/lib/libisola-caps-sys.a" \
	"$bdir/src/lib/libisola-base.a" -lpthread
"$work/vm-confine" | tee "$work/confine.txt"

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
	echo "| CPU ms per VM (user + system) | $cpu_isola | $cpu_qemu | $(ratio "$cpu_isola" "$cpu_qemu") |"
	echo "| --irqchip split: CPU ms per VM | $cpu_split | $cpu_qemu | $(ratio "$cpu_split" "$cpu_qemu") |"
	echo "| floor, same run: /bin/true per s (1 / 2 at a time), CPU ms | $r1_true / $r2_true, $cpu_true | – | – |"
	echo "| floor, same run: isola --version per s (1 / 2 at a time), CPU ms | $r1_version / $r2_version, $cpu_version | – | – |"
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
