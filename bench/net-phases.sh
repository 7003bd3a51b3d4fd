#!/usr/bin/env bash
# Where the time of `isola run --rm -p 127.0.0.1:PORT:80 IMAGE true` goes, phase by phase:
# each CNI plugin's ADD and DEL (with its iptables executions), the gaps between them.
# Recorded with perf's scheduler tracepoints (exec, fork, exit; system-wide), which do not
# slow the run down as strace does.  Own store, own network (a free private /24); removed
# after, ip_forward restored.
#
#   bench/net-phases.sh [RUNS]      (ISOLA=path/to/isola; root; perf, python3, jq)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-${RUNS:-8}}
ISOLA=${ISOLA:-$top/build/src/cli/isola}
for c in perf python3 iptables; do
	command -v $c >/dev/null || { echo "net-phases.sh: $c not installed" >&2; exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { echo "net-phases.sh: containernetworking-plugins not installed" >&2; exit 1; }

tmp=$(mktemp -d /tmp/isola-bench-netph.XXXXXX)
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
net=np$$
cleanup() {
	"$ISOLA" network rm "$net" >/dev/null 2>&1 || true
	ip link del "isl-$net" 2>/dev/null || true
	echo "$fwd" >/proc/sys/net/ipv4/ip_forward
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
export ISOLA_STORE=$tmp/store
unset ISOLA_RUNTIME ISOLA_NETWORK
subnet=
for i in $(seq 0 199); do
	x=$(((i + $$) % 200 + 20))
	ip -4 route | grep -q "^10\.216\.$x\." && continue
	subnet=10.216.$x.0/24
	break
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
img=localhost/isola-default:latest
"$top/scripts/make-default-image.sh" --store "$ISOLA_STORE" --isola "$ISOLA" >/dev/null
"$ISOLA" network create "$net" --subnet "$subnet" >/dev/null
"$ISOLA" run --rm --network "$net" -p "127.0.0.1:$port:80" "$img" true # warm-up
for i in $(seq "$RUNS"); do
	perf record -q -o "$tmp/p.data" -e sched:sched_process_exec -e sched:sched_process_exit \
		-e sched:sched_process_fork -a -- \
		"$ISOLA" run --rm --network "$net" -p "127.0.0.1:$port:80" "$img" true
	perf script -i "$tmp/p.data" >"$tmp/run$i.txt" 2>/dev/null
done
echo "run --rm -p 127.0.0.1:PORT:80 IMAGE true on network $net, median of $RUNS runs" \
	"(load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 "$top/bench/net-phases.py" "$tmp"/run*.txt
