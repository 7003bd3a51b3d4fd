#!/usr/bin/env bash
# isola vs crun vs runc on one busybox bundle, all in ONE private mount
# namespace without /sys/fs/cgroup/unified (crun refuses hybrid cgroups).
# Prints medians of paired, alternating runs (bench/paired.py), ratios to crun, each
# runtime's peak RSS, and start latency with 1..16 runs started at once.
# (ambient caps are dropped: runc spec lists ambient caps that are not inheritable,
# which runc skips but isola rejects.)
# Usage: bench/runtime.sh [path/to/isola]   (root; needs python3, crun, runc, jq, busybox)
# RUNS (20), CONCURRENCY (1,2,4,8,16 or none), CONC_ROUNDS (3); BENCH_OUT: bench/lib.sh
# ISOLA_BASE=path/to/older/isola adds that binary to the same alternating runs (A/B).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
RUNS=${RUNS:-20}

if [ "${ISOLA_BENCH_INNER:-}" != 1 ]; then
	for c in python3 crun runc jq busybox; do
		command -v $c >/dev/null || { echo "runtime.sh: $c not installed" >&2; exit 1; }
	done
	export ISOLA RUNS ISOLA_BENCH_INNER=1 ISOLA_BASE
	exec unshare -m --propagation private sh -c \
		'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$ISOLA"' "$0"
fi

tmp=$(mktemp -d /tmp/isola-bench.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
b=$tmp/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
for a in true sh sleep; do ln -s busybox "$b/rootfs/bin/$a"; done
(cd "$b" && runc spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .root.readonly = true | del(.process.capabilities.ambient)' \
	"$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"

# Seccomp: podman's default profile (containers/common format) to OCI.
prof=/usr/share/containers/seccomp.json
if [ -f "$prof" ]; then
	mkdir -p "$tmp/sec"
	cp -a "$b/rootfs" "$tmp/sec/"
	jq --slurpfile p "$prof" '.linux.seccomp = ($p[0] | {
		defaultAction, defaultErrnoRet,
		architectures: ([.archMap[]? | select(.architecture == "SCMP_ARCH_X86_64")
			| .architecture, .subArchitectures[]?] | unique),
		syscalls: [.syscalls[] | select((.excludes.caps // []) | length == 0)
			| select((.includes.caps // []) | length == 0)
			| select((.includes.arches // ["amd64"]) | index("amd64"))
			| {names, action} + (if .errnoRet then {errnoRet} else {} end)
			  + (if (.args // []) != [] then {args} else {} end)]
		} | with_entries(select(.value != null)))' "$b/config.json" >"$tmp/sec/config.json"
fi

declare -A bin=([isola]=$ISOLA [crun]=$(command -v crun) [runc]=$(command -v runc))
order=(isola crun runc)
if [ -n "${ISOLA_BASE:-}" ]; then
	bin[base]=$ISOLA_BASE
	order+=(base)
fi
for r in "${order[@]}"; do mkdir -p "$tmp/root-$r"; done

# shellcheck source=lib.sh
. "$top/bench/lib.sh"

# bench NAME TEMPLATE: the three runtimes alternating, run by run (bench/paired.py);
# in the template %B is the runtime's binary, %S its state root, %R its name.
bench() {
	local name=$1 tmpl=$2 r cmd i=0 args=()
	for r in "${order[@]}"; do
		cmd=${tmpl//%B/${bin[$r]}}
		cmd=${cmd//%S/$tmp/root-$r}
		args+=(-n "$r" "${cmd//%R/$r}")
	done
	echo "== $name" >&2
	python3 "$top/bench/paired.py" -w 3 -r "$RUNS" --export-json "$tmp/$name.json" "${args[@]}"
	bench_keep runtime "$name" "$tmp/$name.json"
	for r in "${order[@]}"; do
		res[$name-$r]=$(jq ".results[$i].median * 1000" "$tmp/$name.json")
		i=$((i + 1))
	done
}
declare -A res

cd "$b"
bench run "%B --root %S run -b $b bench-%R"
bench lifecycle "sh -c '%B --root %S create -b $b bench-l-%R && %B --root %S start bench-l-%R && %B --root %S delete -f bench-l-%R'"
if [ -d "$tmp/sec" ]; then
	bench seccomp "%B --root %S run -b $tmp/sec bench-s-%R"
fi
# exec into a running container
jq '.process.args = ["sleep", "1000"]' "$b/config.json" >"$tmp/sleep.json"
mkdir -p "$tmp/ex" && cp -a "$b/rootfs" "$tmp/ex/" && cp "$tmp/sleep.json" "$tmp/ex/config.json"
jq '.args = ["/bin/true"] | .terminal = false' "$tmp/sleep.json" >/dev/null
for r in "${order[@]}"; do
	"${bin[$r]}" --root "$tmp/root-$r" run -d -b "$tmp/ex" bench-e-$r >/dev/null 2>&1 </dev/null
done
bench exec "%B --root %S exec bench-e-%R /bin/true"
for r in "${order[@]}"; do
	"${bin[$r]}" --root "$tmp/root-$r" delete -f bench-e-$r >/dev/null 2>&1 || true
done

# Peak RSS of `run` (max over 5 runs, KiB) and the 256 KiB memory limit check.
declare -A rss rss_sec mem
jq '.linux.resources.memory.limit = 262144' "$b/config.json" >"$tmp/mem.json"
mkdir -p "$tmp/mem" && cp -a "$b/rootfs" "$tmp/mem/" && cp "$tmp/mem.json" "$tmp/mem/config.json"
for r in "${order[@]}"; do
	m=0 all=()
	for i in 1 2 3 4 5; do
		k=$(/usr/bin/time -f %M "${bin[$r]}" --root "$tmp/root-$r" run -b "$b" rss-$r 2>&1 >/dev/null | tail -1)
		[ "$k" -gt "$m" ] && m=$k
		all+=("$k")
	done
	rss[$r]=$m
	bench_record runtime "peak RSS of run" KiB "$r" "${all[@]}"
	# The same with podman's seccomp profile (isola: the filter cache hit after warm-up).
	if [ -d "$tmp/sec" ]; then
		m=0 all=()
		for i in 1 2 3 4 5; do
			k=$(/usr/bin/time -f %M "${bin[$r]}" --root "$tmp/root-$r" run -b "$tmp/sec" rss-s-$r 2>&1 >/dev/null | tail -1)
			[ "$k" -gt "$m" ] && m=$k
			all+=("$k")
		done
		rss_sec[$r]=$m
		bench_record runtime "peak RSS of run with seccomp" KiB "$r" "${all[@]}"
	fi
	if "${bin[$r]}" --root "$tmp/root-$r" run -b "$tmp/mem" mem-$r >/dev/null 2>&1; then
		mem[$r]=ok
		bench_record runtime "runs under a 256 KiB memory limit" pass "$r" --better higher 1
	else
		mem[$r]=FAIL
		bench_record runtime "runs under a 256 KiB memory limit" pass "$r" --better higher 0
		"${bin[$r]}" --root "$tmp/root-$r" delete -f mem-$r >/dev/null 2>&1 || true
	fi
done

# Start latency with K runs started at once (K in CONCURRENCY; "none" skips it).
CONCURRENCY=${CONCURRENCY:-1,2,4,8,16}
if [ "$CONCURRENCY" != none ]; then
	echo "== concurrent starts ($CONCURRENCY at once), median and max ms per run" >&2
	args=()
	for r in "${order[@]}"; do
		args+=(-n "$r" "${bin[$r]} --root $tmp/root-$r run -b $b conc-{i}-$r")
	done
	rec=()
	[ -z "${BENCH_OUT:-}" ] || rec=(--record "$BENCH_OUT/runtime.json" runtime "run /bin/true, K started at once")
	python3 "$top/bench/concurrent.py" "${rec[@]}" "${CONC_ROUNDS:-3}" "$CONCURRENCY" "${args[@]}" |
		awk '{ printf "  %-6s K=%-3s median %8.2f ms  max %8.2f ms\n", $1, $2, $3, $4 }'
fi

printf '%-12s %10s %10s %10s %12s %12s\n' "median ms" isola crun runc "isola/crun" "isola/runc"
for t in run lifecycle exec seccomp; do
	[ -n "${res[$t-isola]:-}" ] || continue
	printf '%-12s %10.2f %10.2f %10.2f %12.2f %12.2f\n' "$t" "${res[$t-isola]}" \
		"${res[$t-crun]}" "${res[$t-runc]}" \
		"$(echo "${res[$t-isola]} / ${res[$t-crun]}" | bc -l)" \
		"$(echo "${res[$t-isola]} / ${res[$t-runc]}" | bc -l)"
done
if [ -n "${ISOLA_BASE:-}" ]; then
	printf '%-12s %10s %10s %12s\n' "vs base" isola base "isola/base"
	for t in run lifecycle exec seccomp; do
		[ -n "${res[$t-base]:-}" ] || continue
		printf '%-12s %10.2f %10.2f %12.2f\n' "$t" "${res[$t-isola]}" "${res[$t-base]}" \
			"$(echo "${res[$t-isola]} / ${res[$t-base]}" | bc -l)"
	done
fi
printf '%-12s %10s %10s %10s %10s\n' "peak RSS KiB" "${rss[isola]}" "${rss[crun]}" "${rss[runc]}" \
	"${rss[base]:+base ${rss[base]}}"
[ -z "${rss_sec[isola]:-}" ] ||
	printf '%-12s %10s %10s %10s %10s\n' "RSS seccomp" "${rss_sec[isola]}" "${rss_sec[crun]}" \
		"${rss_sec[runc]}" "${rss_sec[base]:+base ${rss_sec[base]}}"
printf '%-12s %10s %10s %10s\n' "256KiB mem" "${mem[isola]}" "${mem[crun]}" "${mem[runc]}"
