#!/usr/bin/env bats
# What a container on a bridge network must not get from published ports: the host's
# 127.0.0.1 (portmap's route_localnet, CVE-2020-8558), the DNS queries other containers
# send to their gateway (port 53), a port another run is publishing at the same moment.
# The route_localnet test runs in a network namespace of its own, as if it were the host,
# so its listener and rules go with it.
load image-helpers
load net-helpers
bats_require_minimum_version 1.5.0

setup() {
	net_requires
	require_cmd python3
	isola_tmp
	export ISOLA_STORE=$TMP/store
	unset ISOLA_NETWORK
	NET=g$$
	BR=isl-$NET
	SUBNET=$(net_free_subnet $(($$ + 3))) || skip "SKIP: no free 10.213.x.0/24"
	GW=${SUBNET%.0/24}.1
	net_image
	"$ISOLA" network create "$NET" --subnet "$SUBNET" >/dev/null
}

teardown() {
	net_teardown
}

@test "net-guard: a container cannot reach the host's 127.0.0.1 once -p set route_localnet" {
	port=$(free_port)
	store=$(realpath "$ISOLA_STORE")
	cat >"$TMP/localnet.sh" <<-EOF
		set -e
		trap '"$ISOLA" rm -f w-$$ a-$$ >/dev/null 2>&1 || true' EXIT
		ip link set lo up
		python3 -c '
		import socket, sys
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.bind(("127.0.0.1", 19999))
		s.settimeout(4)
		open(sys.argv[1], "w").close()
		try:
		    open(sys.argv[1], "w").write(s.recv(100).decode())
		except socket.timeout:
		    pass
		' "$TMP/got" &
		"$ISOLA" run -d --name w-$$ --network "$NET" -p "127.0.0.1:$port:80" "$IMG" \
			httpd -f -p 80 -h /www >/dev/null
		echo "route_localnet: \$(cat /proc/sys/net/ipv4/conf/$BR/route_localnet)"
		for _ in \$(seq 100); do
			out=\$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [ -n "\$out" ] && break
			sleep 0.1
		done
		echo "page: \$out"
		# Forging the frame takes CAP_NET_RAW, out of the default set since podman 4's:
		# the guard must hold for a container that was given it.  (The frame is sent by
		# the host's python in that container's netns, which is what the container
		# could do with it.)
		"$ISOLA" run -d --name a-$$ --network "$NET" --cap-add NET_RAW "$IMG" sleep 60 >/dev/null
		ip=\$(jq -r .ip "$store/net/state/a-$$.json")
		mac=\$(ip -o link show $BR | sed -n 's|.* link/ether \\([0-9a-f:]*\\) .*|\\1|p')
		while [ ! -e "$TMP/got" ]; do sleep 0.05; done
		nsenter --net="$store/net/ns/a-$$" python3 "$BATS_TEST_DIRNAME/net-raw-udp.py" \
			eth0 "\$mac" "\$ip" 127.0.0.1 19999 reached-the-host
		wait
		echo "got: \$(cat "$TMP/got")"
		echo "guard: \$(iptables -w -S INPUT | grep -c 'isola: no 127/8')"
	EOF
	run unshare -n bash "$TMP/localnet.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "route_localnet: 1" ]
	[ "${lines[1]}" = "page: hello-from-isola" ] # publishing on 127.0.0.1 still works
	[ "${lines[2]}" = "got: " ]
	[ "${lines[3]}" = "guard: 1" ]
}

@test "net-guard: -p of host port 53 on every address or a bridge's is refused; 127.0.0.1 is not" {
	for spec in 53:53/udp 0.0.0.0:53:53 "$GW:53:53/udp"; do
		if [ "$spec" = "$GW:53:53/udp" ]; then
			"$ISOLA" run -d --name gw-$$ --network "$NET" "$IMG" sleep 60 >/dev/null # the bridge has $GW
		fi
		run "$ISOLA" run --rm --name p53-$$ --network "$NET" -p "$spec" "$IMG" true
		echo "$spec: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"port 53 on "*"DNS queries"* ]]
		[ ! -e "$ISOLA_STORE/net/state/p53-$$.json" ]
		[ -z "$(iptables-save | grep "p53-$$")" ]
	done
	"$ISOLA" rm -f gw-$$ >/dev/null
	run "$ISOLA" run --rm --name p53-$$ --network "$NET" -p 127.0.0.1:53:53/udp "$IMG" true
	[ "$status" -eq 0 ]
	refute_leaks "p53-$$"
}

@test "net-guard: two runs publishing one host port at once: exactly one gets it, every round" {
	port=$(free_port)
	for round in 1 2 3 4 5 6; do
		"$ISOLA" run -d --name r1-$$ --network "$NET" -p "$port:80" "$IMG" sleep 60 \
			>"$TMP/o1" 2>&1 &
		"$ISOLA" run -d --name r2-$$ --network "$NET" -p "$port:80" "$IMG" sleep 60 \
			>"$TMP/o2" 2>&1 &
		wait
		n=$(ls "$ISOLA_STORE/net/state/" | grep -c "^r[12]-$$.json$" || true)
		dnat=$(iptables-save -t nat | grep -c -- "--dport $port .*DNAT" || true)
		echo "round $round: states $n, DNAT rules $dnat: $(cat "$TMP/o1" "$TMP/o2" | tr '\n' ' ')"
		"$ISOLA" rm -f r1-$$ r2-$$ >/dev/null 2>&1 || true
		[ "$n" -eq 1 ]
		[ "$dnat" -eq 1 ]
		grep -q "already published by container" "$TMP/o1" "$TMP/o2"
	done
	refute_leaks "r[12]-$$"
}
