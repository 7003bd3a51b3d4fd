#!/usr/bin/env bash
# isola vs runc on the cgroup commands, on this host's layout as it is
# (hybrid here: crun refuses hybrid hosts, and crun has no `events`):
#   update with flags, update -r FILE (what containerd sends), events --stats,
#   ps --format json (what containerd's shim runs), pause + resume.
# One running busybox container per runtime with memory/cpu/pids limits;
# medians of paired, alternating runs (bench/paired.py) and the isola/runc ratio.  `startup` (--version) is
# each binary's exec + dynamic-link cost, included in every other row.
# Usage: bench/cgroup.sh [path/to/isola]   (root; needs python3, runc, jq, busybox)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
RUNS=${RUNS:-30}

for c in python3 runc jq busybox bc; do
	command -v $c >/dev/null || { echo "cgroup.sh: $c not installed" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/isola-bench-cg.XXXXXX)
declare -A bin=([isola]=$ISOLA [runc]=$(command -v runc))
order=(isola runc)
cleanup() {
	for r in "${order[@]}"; do
		"${bin[$r]}" --root "$tmp/root-$r" delete -f "isola-bench-cg-$r" >/dev/null 2>&1 || true
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

b=$tmp/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
ln -s busybox "$b/rootfs/bin/sleep"
(cd "$b" && runc spec)
jq '.process.terminal = false | .process.args = ["sleep", "100000"] | .root.readonly = true
	| del(.process.capabilities.ambient)
	| .linux.resources.memory = {limit: 134217728}
	| .linux.resources.cpu = {quota: 50000, period: 100000}
	| .linux.resources.pids = {limit: 200}' "$b/config.json" >"$b/c.json"
mv "$b/c.json" "$b/config.json"
echo '{"memory":{"limit":100663296},"cpu":{"shares":512,"quota":40000,"period":100000},"pids":{"limit":150}}' \
	>"$tmp/res.json"

for r in "${order[@]}"; do
	mkdir -p "$tmp/root-$r"
	jq ".linux.cgroupsPath = \"/isola-bench-cg-$r\"" "$b/config.json" >"$tmp/config-$r.json"
	mkdir -p "$tmp/b-$r" && cp -a "$b/rootfs" "$tmp/b-$r/"
	cp "$tmp/config-$r.json" "$tmp/b-$r/config.json"
	"${bin[$r]}" --root "$tmp/root-$r" run -d -b "$tmp/b-$r" "isola-bench-cg-$r" \
		</dev/null >/dev/null 2>&1
done

declare -A res
subst() { # runtime template
	local cmd="${bin[$1]} $2"
	cmd=${cmd//%S/$tmp/root-$1}
	echo "${cmd//%I/isola-bench-cg-$1}"
}

# shellcheck source=lib.sh
. "$top/bench/lib.sh"

# bench NAME ARGS [UNTIMED ARGS BEFORE EACH RUN]: both runtimes alternating, run by run
# (bench/paired.py); %S = state root, %I = container id.
bench() {
	local name=$1 r i=0 args=()
	for r in "${order[@]}"; do
		args+=(-n "$r")
		[ -z "${3:-}" ] || args+=(-p "$(subst "$r" "$3") || true")
		args+=("$(subst "$r" "$2")")
	done
	echo "== $name" >&2
	python3 "$top/bench/paired.py" -w 3 -r "$RUNS" --export-json "$tmp/$name.json" "${args[@]}"
	bench_keep cgroup "$name" "$tmp/$name.json"
	for r in "${order[@]}"; do
		res[$name-$r]=$(jq ".results[$i].median * 1000" "$tmp/$name.json")
		i=$((i + 1))
	done
}

bench startup "--version"
bench update-flags "--root %S update --memory 96m --cpu-quota 30000 --pids-limit 120 %I"
bench update-r "--root %S update -r $tmp/res.json %I"
bench events-stats "--root %S events --stats %I"
bench ps-json "--root %S ps --format json %I"
bench pause "--root %S pause %I" "--root %S resume %I"
bench resume "--root %S resume %I" "--root %S pause %I"

printf '%-14s %10s %10s %12s\n' "median ms" isola runc "isola/runc"
for t in startup update-flags update-r events-stats ps-json pause resume; do
	printf '%-14s %10.2f %10.2f %12.2f\n' "$t" "${res[$t-isola]}" "${res[$t-runc]}" \
		"$(echo "${res[$t-isola]} / ${res[$t-runc]}" | bc -l)"
done
