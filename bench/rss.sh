#!/usr/bin/env bash
# rss.sh [path/to/isola]: peak RSS (GNU time %M, KiB: the maximum over the command's process
# tree) of `isola run` of a busybox bundle running /bin/true, without and with podman's
# seccomp profile, against crun, and of `isola vm run` of the hello guest against QEMU
# microvm; commands alternate round by round (RUNS rounds, default 7).  Prints each value,
# the medians and the ratios.  SMAPS=DIR also keeps, for one run of each isola command,
# every process's smaps at its peak (bench/smaps-peak.c) and prints the resident KiB per
# mapping of the process with the highest peak (docs/performance.md, "Peak RSS").
# Root; needs crun, jq, busybox, GNU time; qemu-system-x86 and /dev/kvm for the VM rows.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
RUNS=${RUNS:-7}
hello=$(dirname "$ISOLA")/../../guest/hello.elf

if [ "${ISOLA_BENCH_INNER:-}" != 1 ]; then
	for c in crun jq busybox /usr/bin/time; do
		command -v $c >/dev/null || { echo "rss.sh: $c not installed" >&2; exit 1; }
	done
	export ISOLA RUNS SMAPS ISOLA_BENCH_INNER=1
	# crun refuses hybrid cgroups: a private mount namespace without the v2 mount.
	exec unshare -m --propagation private sh -c \
		'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$ISOLA"' "$0"
fi

tmp=$(mktemp -d /tmp/isola-rss.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
b=$tmp/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp" "$tmp/ri" "$tmp/rc"
cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
ln -s busybox "$b/rootfs/bin/true"
"$ISOLA" spec --bundle "$b" >/dev/null 2>&1 || (cd "$b" && "$ISOLA" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .root.readonly = true
	| del(.process.capabilities.ambient)' "$b/config.json" >"$tmp/c.json" && mv "$tmp/c.json" "$b/config.json"
s=$tmp/sec prof=/usr/share/containers/seccomp.json
if [ -f "$prof" ]; then
	mkdir -p "$s" && cp -a "$b/rootfs" "$s/"
	jq --slurpfile p "$prof" '.linux.seccomp = ($p[0] | {defaultAction, defaultErrnoRet,
		architectures: ["SCMP_ARCH_X86_64"],
		syscalls: [.syscalls[] | select((.excludes.caps // []) | length == 0)
			| select((.includes.caps // []) | length == 0)
			| select((.includes.arches // ["amd64"]) | index("amd64"))
			| {names, action} + (if .errnoRet then {errnoRet} else {} end)
			  + (if (.args // []) != [] then {args} else {} end)]}
		| with_entries(select(.value != null)))' "$b/config.json" >"$s/config.json"
fi

declare -A cmd=(
	[run/isola]="$ISOLA --root $tmp/ri run -b $b rss-$$"
	[run/crun]="crun --root $tmp/rc run -b $b rss-$$")
rows=(run)
if [ -d "$s" ]; then
	cmd[seccomp/isola]="$ISOLA --root $tmp/ri run -b $s rss-s-$$"
	cmd[seccomp/crun]="crun --root $tmp/rc run -b $s rss-s-$$"
	rows+=(seccomp)
fi
if [ -c /dev/kvm ] && [ -f "$hello" ] && command -v qemu-system-x86_64 >/dev/null; then
	cmd[vm/isola]="$ISOLA vm run --memory 64M --kernel $hello"
	cmd[vm/qemu]="qemu-system-x86_64 -M microvm -enable-kvm -m 64 -nodefaults -no-user-config
		-nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $hello"
	rows+=(vm)
fi

declare -A val peer=([run]=crun [seccomp]=crun [vm]=qemu)
for ((i = 0; i < RUNS; i++)); do
	for k in "${!cmd[@]}"; do
		# shellcheck disable=SC2086 # the commands are word lists
		v=$(/usr/bin/time -f %M ${cmd[$k]} 2>&1 >/dev/null </dev/null | tail -1 || true)
		val[$k]+="$v "
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
printf '%-8s %-6s %8s  %s\n' measure who median "all (KiB)"
for r in "${rows[@]}"; do
	for k in "$r/isola" "$r/${peer[$r]}"; do
		printf '%-8s %-6s %8s  %s\n' "$r" "${k#*/}" "$(median <<<"${val[$k]}")" "${val[$k]}"
	done
	p=${peer[$r]}
	awk -v a="$(median <<<"${val[$r/isola]}")" -v b="$(median <<<"${val[$r/$p]}")" -v r="$r" \
		-v p="$p" 'BEGIN {printf "%-8s ratio  %.2fx %s\n", r, a / b, p}'
done

[ -n "${SMAPS:-}" ] || exit 0
cc -O2 -o "$tmp/smaps-peak" "$top/bench/smaps-peak.c"
for r in "${rows[@]}"; do
	mkdir -p "$SMAPS/$r"
	# shellcheck disable=SC2086
	"$tmp/smaps-peak" "$SMAPS/$r" ${cmd[$r/isola]} >/dev/null 2>&1 </dev/null || true
	f=$(grep -H VmHWM "$SMAPS/$r"/* | sort -k2 -n | tail -1 | cut -d: -f1)
	echo "== $r: highest peak $(grep -h -e ^Name -e ^VmHWM "$f" | tr -s '\t ' ' ' | tr '\n' ' ')($f)"
	awk '/^[0-9a-f]+-[0-9a-f]+ /{n = $6 == "" ? "[anon]" : $6} /^Rss:/{r[n] += $2}
		END {for (n in r) if (r[n]) printf "%8d KiB %s\n", r[n], n}' "$f" | sort -rn
done
