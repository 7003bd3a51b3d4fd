#!/usr/bin/env bash
# End-to-end run of one image: `isola run --rm IMAGE true` (isola's store, overlay
# rootfs, isola's own runtime) against `podman run --rm --network none IMAGE true`
# with crun and with runc (podman's own overlay storage).  Same busybox image for all
# (the default image, built by scripts/make-default-image.sh and loaded into podman
# from `isola image save`).  Runs in one private mount namespace without
# /sys/fs/cgroup/unified, since crun refuses hybrid cgroups.  isola's run has no
# network namespace set-up either way (`--network none`: a private empty netns, like
# podman's --network none; bench/run-image-net.sh measures bridge networking).
#
#   bench/image-run.sh [RUNS]      (ISOLA=path/to/isola; root; python3, podman, crun, runc)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-${RUNS:-20}}
ISOLA=${ISOLA:-$top/build/src/cli/isola}

if [ "${ISOLA_BENCH_INNER:-}" != 1 ]; then
	for c in python3 podman crun runc jq busybox; do
		command -v $c >/dev/null || { echo "image-run.sh: $c not installed" >&2; exit 1; }
	done
	export ISOLA RUNS ISOLA_BENCH_INNER=1
	exec unshare -m --propagation private sh -c \
		'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0"' "$0"
fi

tmp=$(mktemp -d /tmp/isola-bench-run.XXXXXX)
pm() {
	podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp" \
		--storage-driver overlay --cgroup-manager cgroupfs "$@"
}
cleanup() {
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm system reset --force >/dev/null 2>&1 || true
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/podman/root" "$tmp/podman/run" "$tmp/podman/tmp"
cat >"$tmp/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$tmp/podman/events.log"
CONF
export CONTAINERS_CONF=$tmp/containers.conf CONTAINERS_STORAGE_CONF=$tmp/storage.conf
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
	"$tmp/podman/root" "$tmp/podman/run" >"$CONTAINERS_STORAGE_CONF"
export ISOLA_STORE=$tmp/store
unset ISOLA_RUNTIME

img=localhost/isola-default:latest
"$top/scripts/make-default-image.sh" --store "$ISOLA_STORE" --isola "$ISOLA" >/dev/null
"$ISOLA" image save --format oci-archive -o "$tmp/img.tar" "$img"
pm load -q -i "$tmp/img.tar" >/dev/null
pm tag "$(pm images -q | head -n1)" "$img" 2>/dev/null || true

# Each must work before it is timed.
"$ISOLA" run --rm --network none "$img" true
pm run --rm --runtime crun "$img" true
pm run --rm --runtime runc "$img" true

python3 "$top/bench/paired.py" -w 3 -r "$RUNS" --export-json "$tmp/h.json" \
	-n isola "$ISOLA run --rm --network none $img true" \
	-n "podman+crun" "podman --root $tmp/podman/root --runroot $tmp/podman/run --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs run --rm --runtime crun $img true" \
	-n "podman+runc" "podman --root $tmp/podman/root --runroot $tmp/podman/run --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs run --rm --runtime runc $img true" \
	>/dev/null
# shellcheck source=lib.sh
. "$top/bench/lib.sh"
bench_keep image-run "run --rm IMAGE true" "$tmp/h.json"
jq -r '.results[] | "\(.command) \(.median * 1000) \(.stddev * 1000)"' "$tmp/h.json" |
	awk '{m[NR]=$2; n[NR]=$1; s[NR]=$3}
	     END { printf "run --rm IMAGE true, median of '"$RUNS"' runs\n";
		   for (i = 1; i <= NR; i++) printf "  %-12s %8.1f ms (sd %.1f)\n", n[i], m[i], s[i];
		   printf "  ratio isola / podman+crun: %.2f   isola / podman+runc: %.2f\n", m[1]/m[2], m[1]/m[3] }'
