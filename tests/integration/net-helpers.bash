# Shared by the net*.bats files: prerequisites, a free private /24, the test image.
# shellcheck shell=bash

net_requires() {
	[ -x /usr/lib/cni/bridge ] || skip "SKIP: containernetworking-plugins not installed"
	require_cmd iptables
	require_cmd curl
	iptables -w -L -n >/dev/null 2>&1 || skip "SKIP: iptables does not work here"
}

# A private /24 that no route on the host uses yet.
net_free_subnet() {
	local i x
	for i in $(seq 0 60); do
		x=$(((${1:-$$} + i * 7) % 200 + 20))
		ip -4 route | grep -q "^10\.213\.$x\." && continue
		echo "10.213.$x.0/24"
		return 0
	done
	return 1
}

# A private IPv6 /64 that no route on the host uses yet.
net_free_subnet6() {
	local i x
	for i in $(seq 0 60); do
		x=$(printf %x $(((${1:-$$} + i * 7) % 65000 + 256)))
		ip -6 route | grep -q "^fd00:213:$x:" && continue
		echo "fd00:213:$x::/64"
		return 0
	done
	return 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ip_forward (and IPv6 forwarding) as it was (the bridge plugin sets them), restored by
# net_teardown_file.
net_setup_file() {
	FILE_TMP=$(mktemp -d /tmp/isola-it-net.XXXXXX)
	export FILE_TMP
	cat /proc/sys/net/ipv4/ip_forward >"$FILE_TMP/ip_forward"
	cat /proc/sys/net/ipv6/conf/all/forwarding >"$FILE_TMP/ip6_forward" 2>/dev/null || true
}

net_teardown_file() {
	[ -n "${FILE_TMP:-}" ] || return 0
	[ -f "$FILE_TMP/ip_forward" ] && cat "$FILE_TMP/ip_forward" >/proc/sys/net/ipv4/ip_forward
	[ -s "$FILE_TMP/ip6_forward" ] &&
		cat "$FILE_TMP/ip6_forward" >/proc/sys/net/ipv6/conf/all/forwarding
	rm -rf --one-file-system "$FILE_TMP"
}

# Every file that loads these helpers (net*.bats, vm-net.bats) saves and restores the
# host's forwarding around its tests; a file may still define its own.
setup_file() {
	net_setup_file
}

teardown_file() {
	net_teardown_file
}

# A busybox image with the applets the net tests use: $IMG.
net_image() {
	IMG=localhost/bbnet:latest
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox \
		l:bin/httpd:busybox l:bin/ping:busybox l:bin/ping6:busybox l:bin/ip:busybox l:bin/cat:busybox l:bin/true:busybox \
		l:bin/nslookup:busybox l:bin/sleep:busybox l:bin/hostname:busybox \
		l:bin/readlink:busybox d:etc d:tmp \
		d:www f:www/index.html:hello-from-isola
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" "$IMG" >/dev/null
}

# $IMG (net_image, run first) plus /bin/icmp-probe (tests/helpers/icmp-probe.c, built
# static here): $PIMG.  busybox ping opens raw sockets only; the probe shows what a
# container without CAP_NET_RAW can do.
net_probe_image() {
	PIMG=localhost/bbprobe:latest
	cc -static -O2 -o "$TMP/icmp-probe" "$ISOLA_TOP/tests/helpers/icmp-probe.c" ||
		ci_skip "cc -static failed (no C compiler or static libc)"
	img_tar "$TMP/probe.tar" d:bin F:bin/icmp-probe:"$TMP/icmp-probe"
	img_layout "$TMP/probe-layout" latest amd64 "$TMP/l.tar" "$TMP/probe.tar" >/dev/null
	"$ISOLA" image import "$TMP/probe-layout" "$PIMG" >/dev/null
}

# The DNS responders of this test's store (pgrep only looks).
net_dns_pids() {
	pgrep -f "network dns-serve --store $(realpath "$ISOLA_STORE") " || true
}

net_teardown() {
	local c
	# Only a store of this test's own (a setup that skipped early set none): never the
	# default store's containers and networks.
	if [ -z "${TMP:-}" ] || [[ "${ISOLA_STORE:-}" != "$TMP"/* ]]; then
		isola_cleanup_tmp
		return 0
	fi
	[ -n "${DNS_PID:-}" ] && kill "$DNS_PID" 2>/dev/null
	for c in "$ISOLA_STORE"/containers/*/; do
		[ -d "$c" ] && "$ISOLA" rm -f "$(basename "$c")" >/dev/null 2>&1
	done
	"$ISOLA" network prune >/dev/null 2>&1
	"$ISOLA" network rm "$NET" >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	net_scrub_nat
	isola_cleanup_tmp
}

# A failed test's leftovers in the nat table: each rule whose comment names this file's
# network is deleted, then the CNI chains those rules were in or jumped to.
net_scrub_nat() {
	local line chains c
	[ -n "${NET:-}" ] && command -v iptables-save >/dev/null || return 0
	chains=$(iptables-save -t nat | grep -F "name: \\\"$NET\\\"" | grep -oE 'CNI-[0-9a-f]{24}' | sort -u)
	iptables-save -t nat | grep -F "name: \\\"$NET\\\"" | grep '^-A ' | while read -r line; do
		eval "iptables -w -t nat -D ${line#-A }" 2>/dev/null
	done
	for c in $chains; do
		iptables -w -t nat -F "$c" 2>/dev/null
		iptables -w -t nat -X "$c" 2>/dev/null
	done
	return 0
}

# Nothing of container $1 (or of any, without $1) is left: netns, state, veths on our
# bridge, iptables rules naming it or our network, IPAM leases.
refute_leaks() {
	local left
	[ -z "$(ls "$ISOLA_STORE/net/ns")" ] || { ls -l "$ISOLA_STORE/net/ns" >&2; return 1; }
	left=$(ls "$ISOLA_STORE/net/state" | grep -v "\.lock$" || true)
	[ -z "$left" ] || { echo "state left: $left" >&2; return 1; }
	left=$(ls "/sys/class/net/$BR/brif" 2>/dev/null || true)
	[ -z "$left" ] || { echo "veths left on $BR: $left" >&2; return 1; }
	left=$(iptables-save | grep -E "\"$NET\"|${SUBNET%.0/24}\.|${1:-@@none@@}" || true)
	[ -z "$left" ] || { echo "iptables rules left: $left" >&2; return 1; }
	left=$(ls "$ISOLA_STORE/net/ipam/$NET" 2>/dev/null | grep -Ev "^(lock|last_reserved_ip\.[0-9]+)$" || true)
	[ -z "$left" ] || { echo "IPAM leases left: $left" >&2; return 1; }
	left=$(net_dns_pids)
	[ -z "$left" ] || { echo "DNS responder left: $left" >&2; return 1; }
	img_refute_mounts "$ISOLA_STORE"
}

