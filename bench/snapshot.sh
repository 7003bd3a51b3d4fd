#!/usr/bin/env bash
# Snapshot create time, file sizes and restore time for 256 MiB and 1 GiB
# guest/counter VMs (printing a line every 100k ring-3 iterations), paused
# through the API, then snapshotted with PUT /snapshot/create.
# Restore time is measured to the first guest instruction's visible effect:
# the first serial line the restored counter prints.
# Usage: bench/snapshot.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
isola=$build/src/cli/isola
counter=$build/guest/counter.elf
[ -x "$isola" ] && [ -f "$counter" ] || { echo "build first: $isola, $counter" >&2; exit 1; }
tmp=$(mktemp -d /tmp/isola-bench-snap.XXXXXX)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
pid=

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }

for mem in 256M 1G; do
	rm -f "$tmp"/*
	"$isola" vm run --kernel "$counter" --memory "$mem" --cmdline "every=100000" \
		--console "$tmp/out" --api-sock "$tmp/api.sock" &
	pid=$!
	until grep -q "^counter: 100" "$tmp/out" 2>/dev/null; do sleep 0.05; done
	c="curl -s --unix-socket $tmp/api.sock"
	$c -X PATCH -d '{"state":"Paused"}' http://localhost/vm
	t0=$(now)
	$c -X PUT -d "{\"snapshot_path\":\"$tmp/st\",\"mem_file_path\":\"$tmp/mem\"}" \
		http://localhost/snapshot/create
	t1=$(now)
	kill $pid; wait $pid || true; pid=
	n0=$(grep -c "^counter: " "$tmp/out")
	t2=$(now)
	"$isola" vm restore --state "$tmp/st" --mem "$tmp/mem" --console "$tmp/out2" &
	pid=$!
	until [ -s "$tmp/out2" ]; do sleep 0.001; done
	t3=$(now)
	kill $pid; wait $pid || true; pid=
	printf '%-5s create %7s ms  state %6d B  mem %5d MiB apparent, %6d KiB on disk' \
		"$mem" "$(ms "$t0" "$t1")" "$(stat -c %s "$tmp/st")" \
		$(($(stat -c %s "$tmp/mem") >> 20)) "$(du -k "$tmp/mem" | cut -f1)"
	printf '  restore->first serial byte %7s ms\n' "$(ms "$t2" "$t3")"
done
