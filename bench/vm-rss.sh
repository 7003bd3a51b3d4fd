#!/usr/bin/env bash
# vm-rss.sh CMD...: start a VMM whose guest prints and then spins, wait for
# its first output byte, read /proc/PID/smaps_rollup (Rss and private pages),
# stop it with SIGTERM and print "rss_kib private_kib maxrss_kib" (maxrss from
# GNU time over the whole life).
set -euo pipefail
out=$(mktemp) tout=$(mktemp)
/usr/bin/time -f '%M' -o "$tout" "$@" >"$out" 2>/dev/null &
tpid=$!
for _ in $(seq 500); do [ -s "$out" ] && break; sleep 0.01; done
pid=$(pgrep -P "$tpid" | head -1)
read -r rss priv < <(awk '/^Rss:/{r=$2} /^Private_(Clean|Dirty):/{p+=$2} END{print r, p}' \
	/proc/"$pid"/smaps_rollup)
kill -TERM "$pid"
wait "$tpid" 2>/dev/null || true
echo "$rss $priv $(tail -1 "$tout")"
rm -f "$out" "$tout"
