#!/usr/bin/env bash
# `run` of a busybox container under podman's default seccomp profile:
# isola (BPF cache warm and cold) against crun, N runs each, mean wall time.
# crun refuses this host's hybrid cgroups, so it runs in a mount namespace
# where /sys/fs/cgroup/unified is unmounted (see docs/peers.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${ISOLA:-$top/build/src/cli/isola}
N=${N:-20}
PROFILE=/usr/share/containers/seccomp.json
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ -f "$PROFILE" ] || { echo "SKIP: $PROFILE missing" >&2; exit 0; }
command -v crun >/dev/null || { echo "SKIP: crun missing" >&2; exit 0; }

TMP=$(mktemp -d /tmp/isola-bench.XXXXXX)
trap 'rm -rf --one-file-system "$TMP"' EXIT
BATS_TEST_DIRNAME=$top/tests/integration
export ISOLA
source "$top/tests/integration/helpers.bash"
skip() { echo "$*" >&2; exit 0; }
B=$TMP/b
make_busybox_bundle "$B" >/dev/null
jq '{defaultAction, defaultErrnoRet,
     architectures: [.archMap[] | select(.architecture == "SCMP_ARCH_X86_64")
		     | .architecture, .subArchitectures[]],
     syscalls: [.syscalls[] | select((.includes.caps // []) == []
		and ((.includes.arches // []) == [] or (.includes.arches | index("amd64"))))
		| del(.includes, .excludes, .comment)]}' "$PROFILE" >"$TMP/profile.json"
bundle_jq "$B" ".linux.seccomp = $(cat "$TMP/profile.json") | .process.args = [\"true\"]
	| .linux.cgroupsPath = \"/isola-bench-$$\""

now() { date +%s%N; }
bench() { # bench NAME CMD...: mean ms over N runs
	local name=$1 t0 t1
	shift
	"$@" >/dev/null 2>&1 # warm-up (fills the BPF cache for isola)
	t0=$(now)
	for i in $(seq "$N"); do "$@" >/dev/null; done
	t1=$(now)
	echo "$name $(( (t1 - t0) / N / 1000 ))"
}

cold_isola() {
	rm -rf /run/isola/seccomp-cache
	"$ISOLA" --root "$TMP/ir" run -b "$B" "bench-$$"
}

cd "$B"
iw=$(bench isola-warm "$ISOLA" --root "$TMP/ir" run -b "$B" "bench-$$" | cut -d' ' -f2)
ic=$(bench isola-cold cold_isola | cut -d' ' -f2)
cr=$(unshare -m --propagation private bash -c "umount /sys/fs/cgroup/unified;
	$(declare -f now bench); N=$N; bench crun crun --cgroup-manager=cgroupfs --root '$TMP/cr' run -b '$B' 'bench-$$'" |
	cut -d' ' -f2)
echo "runs: $N each; mean wall time per run (µs)"
echo "isola (BPF cache warm): $iw"
echo "isola (cache cold):     $ic"
echo "crun $(crun --version | head -1 | awk '{print $3}'):            $cr"
awk -v a="$iw" -v b="$cr" 'BEGIN { printf "ratio isola-warm / crun: %.2f\n", a / b }'
