#!/usr/bin/env bash
# isola vs runc on the cgroup commands, on this host's layout as it is
# (hybrid here: crun refuses hybrid hosts, and crun has no `events`):
#   update with flags, update -r FILE (what containerd sends), events --stats,
#   ps --format json (what containerd's shim runs), pause + resume.
# One running busybox container per runtime with memory/cpu/pids limits;
# hyperfine -N medians and the isola/runc ratio.  `startup` (--version) is
# each binary's exec + dynamic-link cost, included in every other row.
# Usage: bench/cgroup.sh [path/to/isola]   (root; needs hyperfine, runc, jq, busybox)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${1:-${ISOLA:-$top/build/src/cli/isola}}
RUNS=${RUNS:-30}

for c in hyperfine runc jq busybox bc; do
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

bench() { # name args [untimed args before each run] (%S = state root, %I = container id)
	local name=$1 r cmd prep
	for r in "${order[@]}"; do
		cmd=$(subst "$r" "$2")
		prep=()
		[ -z "${3:-}" ] || prep=(--prepare "sh -c '$(subst "$r" "$3") || true'")
		echo "== $name $r: $cmd" >&2
		hyperfine -N -w 3 -r "$RUNS" "${prep[@]}" --export-json "$tmp/$name-$r.json" "$cmd" >/dev/null
		res[$name-$r]=$(jq '.results[0].median * 1000' "$tmp/$name-$r.json")
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
