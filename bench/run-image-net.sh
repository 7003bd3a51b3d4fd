#!/usr/bin/env bash
# `isola run --rm -p PORT:80 IMAGE true` with bridge networking (CNI: bridge, host-local,
# portmap; firewall where the host's FORWARD chain may drop, src/net/plan.c) against `podman run --rm -p PORT:80 IMAGE true` on a CNI bridge
# network of its own (podman 4 with Debian's containernetworking-plugins), with crun and
# runc; same busybox image, same run, alternating (bench/paired.py).  Each side gets its own private /24
# network and bridge; published ports are on 127.0.0.1 only.  Runs in one private mount
# namespace without /sys/fs/cgroup/unified, since crun refuses hybrid cgroups.
#
#   bench/run-image-net.sh [RUNS]      (ISOLA=path/to/isola; root; python3, podman, crun, runc)
#
# ISOLA_BASE=path/to/an/older/isola adds it to the same paired run (A/B between revisions;
# same store and network, one run at a time) and prints isola / isola-base.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-${RUNS:-20}}
ISOLA=${ISOLA:-$top/build/src/cli/isola}

if [ "${ISOLA_BENCH_INNER:-}" != 1 ]; then
	for c in python3 podman crun runc jq busybox iptables; do
		command -v $c >/dev/null || { echo "run-image-net.sh: $c not installed" >&2; exit 1; }
	done
	[ -x /usr/lib/cni/bridge ] || { echo "run-image-net.sh: containernetworking-plugins not installed" >&2; exit 1; }
	export ISOLA RUNS ISOLA_BENCH_INNER=1 ISOLA_BASE=${ISOLA_BASE:-}
	exec unshare -m --propagation private sh -c \
		'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0"' "$0"
fi

tmp=$(mktemp -d /tmp/isola-bench-net.XXXXXX)
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
inet=bn$$
pnet=pn$$
pm() {
	podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" --tmpdir "$tmp/podman/tmp" \
		--network-config-dir "$tmp/podman/net" --storage-driver overlay \
		--cgroup-manager cgroupfs "$@"
}
cleanup() {
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm network rm -f "$pnet" >/dev/null 2>&1 || true
	pm system reset --force >/dev/null 2>&1 || true
	"$ISOLA" network rm "$inet" >/dev/null 2>&1 || true
	# Under set -e a failing last command here would end the trap before the
	# ip_forward restore and the rm: the bridges are usually gone already.
	[ -z "${pbr:-}" ] || ip link del "$pbr" 2>/dev/null || true
	ip link del "isl-$inet" 2>/dev/null || true
	echo "$fwd" >/proc/sys/net/ipv4/ip_forward
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/podman/root" "$tmp/podman/run" "$tmp/podman/tmp" "$tmp/podman/net"
cat >"$tmp/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = "$tmp/podman/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$tmp/podman/events.log"
CONF
export CONTAINERS_CONF=$tmp/containers.conf CONTAINERS_STORAGE_CONF=$tmp/storage.conf
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
	"$tmp/podman/root" "$tmp/podman/run" >"$CONTAINERS_STORAGE_CONF"
export ISOLA_STORE=$tmp/store
unset ISOLA_RUNTIME ISOLA_NETWORK

# Two free private /24s.
subnets=()
for i in $(seq 0 199); do
	x=$(((i + $$) % 200 + 20))
	ip -4 route | grep -q "^10\.214\.$x\." && continue
	subnets+=("10.214.$x.0/24")
	[ ${#subnets[@]} -eq 2 ] && break
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

img=localhost/isola-default:latest
"$top/scripts/make-default-image.sh" --store "$ISOLA_STORE" --isola "$ISOLA" >/dev/null
"$ISOLA" image save --format oci-archive -o "$tmp/img.tar" "$img"
pm load -q -i "$tmp/img.tar" >/dev/null
pm tag "$(pm images -q | head -n1)" "$img" 2>/dev/null || true
"$ISOLA" network create "$inet" --subnet "${subnets[0]}" >/dev/null
pm network create --subnet "${subnets[1]}" "$pnet" >/dev/null
pbr=$(pm network inspect "$pnet" | jq -r '.[0].network_interface // empty')

# Each must work before it is timed.
"$ISOLA" run --rm --network "$inet" -p "127.0.0.1:$port:80" "$img" true
pm run --rm --runtime crun --network "$pnet" -p "127.0.0.1:$port:80" "$img" true
pm run --rm --runtime runc --network "$pnet" -p "127.0.0.1:$port:80" "$img" true

base=()
if [ -n "${ISOLA_BASE:-}" ]; then
	"$ISOLA_BASE" run --rm --network "$inet" -p "127.0.0.1:$port:80" "$img" true
	base=(-n isola-base "$ISOLA_BASE run --rm --network $inet -p 127.0.0.1:$port:80 $img true")
fi

P="podman --root $tmp/podman/root --runroot $tmp/podman/run --tmpdir $tmp/podman/tmp --network-config-dir $tmp/podman/net --storage-driver overlay --cgroup-manager cgroupfs run --rm"
python3 "$top/bench/paired.py" -w 3 -r "$RUNS" --export-json "$tmp/h.json" \
	-n isola "$ISOLA run --rm --network $inet -p 127.0.0.1:$port:80 $img true" \
	-n "podman+crun" "$P --runtime crun --network $pnet -p 127.0.0.1:$port:80 $img true" \
	-n "podman+runc" "$P --runtime runc --network $pnet -p 127.0.0.1:$port:80 $img true" \
	"${base[@]}" >/dev/null
# shellcheck source=lib.sh
. "$top/bench/lib.sh"
bench_keep run-image-net "run --rm -p PORT:80 IMAGE true" "$tmp/h.json"
jq -r '.results[] | "\(.command) \(.median * 1000) \(.stddev * 1000)"' "$tmp/h.json" |
	awk '{m[NR]=$2; n[NR]=$1; s[NR]=$3}
	     END { printf "run --rm -p PORT:80 IMAGE true (bridge network), median of '"$RUNS"' runs\n";
		   for (i = 1; i <= NR; i++) printf "  %-12s %8.1f ms (sd %.1f)\n", n[i], m[i], s[i];
		   printf "  ratio isola / podman+crun: %.2f   isola / podman+runc: %.2f\n", m[1]/m[2], m[1]/m[3];
		   if (NR > 3) printf "  ratio isola-base / podman+crun: %.2f   isola / isola-base: %.2f\n", m[4]/m[2], m[1]/m[4] }'
