#!/usr/bin/env bats
# Container networking for `isola run IMAGE` through Debian's CNI plugins: a network of
# this file's own (bridge isl-n<pid>, a free private /24), published ports, two containers
# on one network, resolv.conf, and nothing left behind (veths, netns, iptables rules,
# IPAM leases), also after a crash between ADD and DEL.  Every listener is on 127.0.0.1
# or on this file's bridge; no traffic leaves the host.
load image-helpers
load net-helpers
bats_require_minimum_version 1.5.0

setup() {
	net_requires
	isola_tmp
	export ISOLA_STORE=$TMP/store
	unset ISOLA_NETWORK
	NET=n$$
	BR=isl-$NET
	SUBNET=$(net_free_subnet) || skip "SKIP: no free 10.213.x.0/24"
	GW=${SUBNET%.0/24}.1
	net_image
	"$ISOLA" network create "$NET" --subnet "$SUBNET" >/dev/null
}

teardown() {
	[ -f "$TMP/srv.pid" ] && hostile_stop
	# A lock or port holder of a test that failed before it let go (flock's sleep too).
	if [ -n "${holder:-}" ]; then
		pkill -P "$holder" 2>/dev/null
		kill "$holder" 2>/dev/null
	fi
	net_teardown
}

# Poll until curl gets the page (bounded).
curl_page() {
	for _ in $(seq 100); do
		out=$(curl -s --max-time 2 "http://$1/") && [ -n "$out" ] && { echo "$out"; return 0; }
		sleep 0.1
	done
	return 1
}

@test "net: run -d -p HOST:80 httpd, curl from the host gets the page; rm -f leaves nothing" {
	port=$(free_port)
	ID=it-web-$$
	run "$ISOLA" run -d --name "$ID" --network "$NET" -p "127.0.0.1:$port:80" "$IMG" \
		httpd -f -p 80 -h /www
	[ "$status" -eq 0 ]
	run curl_page "127.0.0.1:$port"
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-isola ]
	[ -n "$(ls "/sys/class/net/$BR/brif")" ]
	[ -n "$(iptables-save | grep "$ID")" ]
	run "$ISOLA" rm -f "$ID"
	[ "$status" -eq 0 ]
	refute_leaks "$ID"
}

@test "net: the default network publishes on every address (-p HOST:CTR)" {
	port=$(free_port)
	ID=it-def-$$
	# The default network is shared by every store; this test only reads its own port.
	run "$ISOLA" run -d --name "$ID" -p "$port:80" "$IMG" httpd -f -p 80 -h /www
	[ "$status" -eq 0 ]
	run curl_page "127.0.0.1:$port"
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-isola ]
	"$ISOLA" rm -f "$ID"
	[ -z "$(ls "$ISOLA_STORE/net/state")" ]
	[ -z "$(iptables-save | grep "$ID")" ]
}

@test "net: two containers on one network reach each other by IP and by name" {
	run "$ISOLA" run -d --name "it-a-$$" --network "$NET" "$IMG" sleep 60
	[ "$status" -eq 0 ]
	ip_a=$(jq -r .ip "$ISOLA_STORE/net/state/it-a-$$.json")
	[[ "$ip_a" == "${SUBNET%.0/24}".* ]]
	# busybox ping opens a raw socket only: CAP_NET_RAW, out of the default set, is added
	# (the next test pings without it).
	run "$ISOLA" run --rm --name "it-b-$$" --hostname bee --network "$NET" --cap-add NET_RAW \
		"$IMG" sh -c "ping -c1 -W5 $ip_a && ping -c1 -W5 it-a-$$ && hostname && cat /etc/hostname"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = bee ]
	[ "${lines[-2]}" = bee ]
	"$ISOLA" rm -f "it-a-$$"
	refute_leaks
}

@test "net: no CAP_NET_RAW by default (no raw socket, no busybox ping); ping_group_range 0 0 lets root ping the gateway and a neighbour; --cap-add NET_RAW gives it back" {
	net_probe_image
	run "$ISOLA" run -d --name "it-a-$$" --network "$NET" "$IMG" sleep 60
	[ "$status" -eq 0 ]
	ip_a=$(jq -r .ip "$ISOLA_STORE/net/state/it-a-$$.json")
	run "$ISOLA" run --rm --network "$NET" "$PIMG" sh -c \
		"id -u; cat /proc/sys/net/ipv4/ping_group_range; icmp-probe raw; ping -c1 -W2 $GW;
		 icmp-probe ping $GW && icmp-probe ping $ip_a"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = $'0\t0' ]
	[ "${lines[2]}" = "fail raw socket: Operation not permitted" ]
	[[ "$output" == *"ping: permission denied"* ]]
	[ "${lines[-2]}" = "ok reply from $GW" ]
	[ "${lines[-1]}" = "ok reply from $ip_a" ]
	run "$ISOLA" run --rm --network "$NET" --cap-add NET_RAW "$PIMG" sh -c \
		"icmp-probe raw && ping -c1 -W5 $ip_a"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ok raw socket" ]
	# --network host: the host's namespace, whose sysctl is not ours to change.
	run "$ISOLA" run --rm --network host "$PIMG" cat /proc/sys/net/ipv4/ping_group_range
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat /proc/sys/net/ipv4/ping_group_range)" ]
	"$ISOLA" rm -f "it-a-$$"
	refute_leaks
}

@test "net: a container resolves through the resolv.conf it was given (--dns, --add-host)" {
	# A sleeper brings the bridge (and the gateway address) up; the responder listens there.
	# The network's own responder has the gateway: this one gets a second address.
	"$ISOLA" run -d --name "it-s-$$" --network "$NET" "$IMG" sleep 60 >/dev/null
	ALT=${SUBNET%.0/24}.254
	ip addr add "$ALT/32" dev "$BR"
	python3 - "$ALT" "$TMP/dns.ready" >"$TMP/dns.log" 2>&1 <<-'EOP' &
	import socket, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	try:
	    s.bind((sys.argv[1], 53))
	except OSError as e:
	    open(sys.argv[2], "w").write("busy"); sys.exit(0)
	open(sys.argv[2], "w").write("ok")
	s.settimeout(30)
	while True:
	    q, a = s.recvfrom(512)
	    qd_end = 12
	    while q[qd_end] != 0:
	        qd_end += q[qd_end] + 1
	    qd_end += 5
	    qtype = q[qd_end - 4:qd_end - 2]
	    hdr = q[:2] + b"\x81\x80" + q[4:6] + (b"\x00\x01" if qtype == b"\x00\x01" else b"\x00\x00") + b"\x00\x00\x00\x00"
	    ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 213, 99, 7]) if qtype == b"\x00\x01" else b""
	    s.sendto(hdr + q[12:qd_end] + ans, a)
	EOP
	DNS_PID=$!
	for _ in $(seq 50); do [ -s "$TMP/dns.ready" ] && break; sleep 0.1; done
	[ "$(cat "$TMP/dns.ready")" = ok ] || skip "SKIP: port 53 on $ALT is taken"
	run "$ISOLA" run --rm --network "$NET" --dns "$ALT" --add-host db.local:10.213.98.9 "$IMG" \
		sh -c 'cat /etc/resolv.conf; nslookup web.isola.test; cat /etc/hosts'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "nameserver $ALT" ]
	[[ "$output" == *"10.213.99.7"* ]]
	[[ "$output" == *"10.213.98.9	db.local"* ]]
}

@test "net: a host port already in use is a clear error and leaves nothing" {
	port=$(free_port)
	python3 -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1',$port)); s.listen(); open(sys.argv[1],'w').write('1'); time.sleep(30)" "$TMP/held" &
	holder=$!
	for _ in $(seq 50); do [ -s "$TMP/held" ] && break; sleep 0.1; done
	run "$ISOLA" run --rm --network "$NET" -p "$port:80" "$IMG" true
	kill "$holder"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"port $port/tcp is not free"* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	refute_leaks
	# A port another container publishes is taken too.
	"$ISOLA" run -d --name "it-p-$$" --network "$NET" -p "$port:80" "$IMG" sleep 60 >/dev/null
	run "$ISOLA" run --rm --network "$NET" -p "$port:80" "$IMG" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"already published by container \`it-p-$$\`"* ]]
	"$ISOLA" rm -f "it-p-$$" >/dev/null
	refute_leaks
}

@test "net: isola killed between ADD and DEL: rm -f and network prune undo what the state says" {
	port=$(free_port)
	"$ISOLA" run --name "it-k1-$$" --network "$NET" -p "$port:80" "$IMG" sleep 60 &
	pid=$!
	# ADD is over once the state records the address (a loaded machine takes seconds).
	wait_until 120 '[ "$(jq -r .ip "$ISOLA_STORE/net/state/it-k1-$$.json" 2>/dev/null || echo null)" != null ]'
	kill -9 "$pid"
	wait "$pid" || true
	[ -n "$(iptables-save | grep "it-k1-$$")" ]
	run "$ISOLA" rm -f "it-k1-$$"
	[ "$status" -eq 0 ]
	refute_leaks "it-k1-$$"

	# The same, then the container dies on its own: prune cleans it.
	"$ISOLA" run --name "it-k2-$$" --network "$NET" -p "$port:80" "$IMG" sleep 60 &
	pid=$!
	wait_until 120 '[ "$("$ISOLA" --root "$ISOLA_STORE/run" state "it-k2-$$" 2>/dev/null | jq -r .status)" = running ]'
	kill -9 "$pid"
	wait "$pid" || true
	"$ISOLA" --root "$ISOLA_STORE/run" kill "it-k2-$$" KILL
	for _ in $(seq 100); do
		[ "$("$ISOLA" --root "$ISOLA_STORE/run" state "it-k2-$$" 2>/dev/null | jq -r .status)" != running ] && break
		sleep 0.1
	done
	# While a process holds the container's lock (an attach in progress), prune leaves it.
	flock -o -s "$ISOLA_STORE/net/state/it-k2-$$.lock" sleep 60 &
	holder=$!
	ino=$(stat -c %i "$ISOLA_STORE/net/state/it-k2-$$.lock")
	wait_until 50 'grep -q ":$ino " /proc/locks'
	run "$ISOLA" network prune
	[ "$status" -eq 0 ]
	[ -e "$ISOLA_STORE/net/state/it-k2-$$.json" ]
	[ -n "$(ls "$ISOLA_STORE/net/ns")" ]
	pkill -P "$holder" sleep # flock exits with its command, and lets go
	wait "$holder" || true
	run "$ISOLA" network prune
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/net/ns")" ]
	[ -z "$(iptables-save | grep "it-k2-$$")" ]
	"$ISOLA" rm -f "it-k2-$$"
	refute_leaks "it-k2-$$"
}

# A CNI plugin runs as a grandchild of $1 (run -> its ADD child -> the plugin).
plugin_running() {
	local c
	for c in $(pgrep -P "$1"); do
		pgrep -P "$c" -f "/usr/lib/cni/|$TMP/cni/" >/dev/null && return 0
	done
	return 1
}

# $TMP/cni: each of Debian's plugins behind a wrapper that waits 0.3 s first, so that a
# run is always caught while a plugin runs (a whole ADD can fall between two polls).
# /bin/sleep: a plugin's PATH may be isola's tools directory alone.
slow_plugins() {
	local p
	mkdir -p "$TMP/cni"
	for p in /usr/lib/cni/*; do
		printf '#!/bin/sh\n/bin/sleep 0.3\nexec %s "$@"\n' "$p" >"$TMP/cni/${p##*/}"
		chmod 755 "$TMP/cni/${p##*/}"
	done
	export ISOLA_CNI_PATH=$TMP/cni
}

# The run's ADD runs in a child of its own, which goes on when the run is killed:
# rm -f must wait for it, or its DEL runs first and the rules ADD makes after stay
# (a stale DNAT for the host port, pointing at an address handed out again later).
@test "net: rm -f of a run killed during its ADD waits for the ADD, then undoes all of it" {
	port=$(free_port)
	slow_plugins
	for i in 1 2 3; do
		n="it-k3-$$-$i"
		"$ISOLA" run -d --name "$n" --network "$NET" -p "127.0.0.1:$port:80" "$IMG" sleep 60 \
			>/dev/null 2>&1 &
		pid=$!
		# Killed while one of its plugins runs (a grandchild: run -> ADD child -> plugin).
		# Should the wait time out, the run must not go on past the teardown (it
		# would make its container in a store that is gone, and leave its cgroup).
		wait_until 120 plugin_running "$pid" || { kill -9 "$pid"; wait "$pid"; false; }
		kill -9 "$pid"
		wait "$pid" || true
		run "$ISOLA" rm -f "$n"
		echo "$output"
		[ "$status" -eq 0 ]
		refute_leaks "$n"
	done
}

# A run stopped while its container is made (here: during its ADD) finishes the step,
# undoes all of it and dies of the signal.  env: a shell's `&` ignores INT for its job.
@test "net: run --rm stopped by TERM or INT during its ADD dies of it and leaves nothing" {
	port=$(free_port)
	slow_plugins
	for sig in TERM INT; do
		n="it-stop-$$-$sig"
		env --default-signal=INT "$ISOLA" run --rm --name "$n" --network "$NET" \
			-p "127.0.0.1:$port:80" "$IMG" true >"$TMP/out" 2>&1 &
		pid=$!
		wait_until 120 plugin_running "$pid" || { kill -9 "$pid"; wait "$pid"; false; }
		kill -"$sig" "$pid"
		st=0
		wait "$pid" || st=$?
		echo "$sig: $st: $(cat "$TMP/out")"
		[ "$st" -eq $((128 + $(kill -l "$sig"))) ]
		[ ! -e "$ISOLA_STORE/containers/$n" ]
		refute_leaks "$n"
	done
}

# The pull of a stopped run ends at once (the registry drips a byte every 2 s, for
# minutes), and the ADD that runs beside it is undone.
@test "net: run stopped by TERM while it pulls ends the pull and undoes its ADD" {
	hostile_start drip
	n="it-pull-$$"
	"$ISOLA" run --rm --name "$n" --network "$NET" "$HREG/t/a:latest" true >"$TMP/out" 2>&1 &
	pid=$!
	wait_until 100 "grep -q '/blobs/' '$TMP/srv.log'" || { cat "$TMP/out"; kill -9 "$pid"; false; }
	sleep 0.5 # some of the drip arrives: the pull has a partial in the store
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	echo "$st: $(cat "$TMP/out")"
	[ "$st" -eq 143 ]
	[[ "$(cat "$TMP/out")" == *interrupted* ]]
	[ ! -e "$ISOLA_STORE/containers/$n" ]
	[ -z "$(ls "$ISOLA_STORE/tmp" 2>/dev/null)" ]
	refute_leaks "$n"
}

# network rm checks "in use" from the containers' state; a run reads the conflist
# before it saves its state.  The run holds the network (a shared flock of its
# conflist) in between, and rm holds it exclusively across its check and removal.
@test "net: network rm waits for an ADD that read the network; racing a run leaves no bridge behind" {
	flock -o -s "$ISOLA_STORE/networks/$NET.conflist" sleep 60 &
	holder=$!
	ino=$(stat -c %i "$ISOLA_STORE/networks/$NET.conflist")
	wait_until 50 'grep -q ":$ino " /proc/locks'
	run timeout 2 "$ISOLA" network rm "$NET"
	[ "$status" -eq 124 ]
	[ -e "$ISOLA_STORE/networks/$NET.conflist" ]
	pkill -P "$holder" sleep
	wait "$holder" || true
	"$ISOLA" network rm "$NET" >/dev/null
	i=0
	for delay in 0 0.005 0.01 0.02 0.03 0.05; do
		i=$((i + 1))
		net="r$$-$i"
		"$ISOLA" network create "$net" --subnet "$SUBNET" >/dev/null
		"$ISOLA" run -d --name "it-nr-$$-$i" --network "$net" "$IMG" sleep 60 >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		rm_st=0
		"$ISOLA" network rm "$net" >/dev/null 2>&1 || rm_st=$?
		wait "$pid" || true
		"$ISOLA" rm -f "it-nr-$$-$i" >/dev/null 2>&1 || true
		"$ISOLA" network rm "$net" >/dev/null 2>&1 || true
		echo "round $i: network rm $rm_st"
		# Whichever won, nothing of the network is left once both are gone.
		[ ! -e "/sys/class/net/isl-$net" ]
		[ ! -e "$ISOLA_STORE/networks/$net.conflist" ]
	done
}

@test "net: rm cleans up even when a plugin's DEL fails: every plugin is asked, then netns and state go, with a warning" {
	"$ISOLA" run -d --name "it-df-$$" --network "$NET" "$IMG" sleep 1000 >/dev/null
	st=$ISOLA_STORE/net/state/it-df-$$.json
	# A plugin that cannot be found, first in the chain: asked last by DEL, which fails.
	jq '.conflist.plugins |= [{"type": "isola-no-such-plugin"}] + .' "$st" >"$TMP/st"
	cat "$TMP/st" >"$st"
	run "$ISOLA" stop -t 1 "it-df-$$"
	echo "$output"
	# stop keeps what it could not undo, for rm (or prune) to try again.
	[ -e "$st" ]
	run "$ISOLA" rm "it-df-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"isola-no-such-plugin"*"removed anyway"* ]]
	[ ! -e "$st" ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	# The bridge plugin's DEL ran: no veth, rule, lease or netns is left.
	refute_leaks "it-df-$$"
}

# bridge's DEL undoes its masquerade chain only for the addresses it finds on the
# container's eth0; with the veth gone (a DEL killed after deleting it and run again, or a
# container that deleted it) the chain and its POSTROUTING jump would stay for good.
@test "net: rm -f removes the masquerade chain when the container's veth is already gone" {
	ID=it-mq-$$
	"$ISOLA" run -d --name "$ID" --network "$NET" "$IMG" sleep 1000 >/dev/null
	chain=CNI-$(printf %s "$NET$ID" | sha512sum | cut -c1-24)
	iptables -w -t nat -S "$chain" >/dev/null
	[ -n "$(iptables -w -t nat -S POSTROUTING | grep -- "-j $chain")" ]
	nsenter --net="$ISOLA_STORE/net/ns/$ID" ip link del eth0
	run "$ISOLA" rm -f "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	run iptables -w -t nat -S "$chain"
	[ "$status" -ne 0 ]
	[ -z "$(iptables -w -t nat -S POSTROUTING | grep -- "-j $chain")" ]
	refute_leaks "$ID"
}

@test "net: no leaks after ${ISOLA_NET_LEAK_RUNS:-100} run --rm -p containers" {
	port=$(free_port)
	for i in $(seq "${ISOLA_NET_LEAK_RUNS:-100}"); do
		"$ISOLA" run --rm --name "it-l$i-$$" --network "$NET" -p "$port:80" "$IMG" true
	done
	refute_leaks "it-l[0-9]*-$$"
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

# In a network namespace of its own, as if it were the host: its FORWARD policy is the
# test's to set, and whatever the plugins do there goes with it.
@test "net: a run execs only the plugins it needs (portmap with -p, firewall when FORWARD drops)" {
	port=$(free_port)
	store=$(realpath "$ISOLA_STORE")
	st=$store/net/state
	cat >"$TMP/plan.sh" <<-EOF
		set -e
		trap '"$ISOLA" rm -f p1-$$ p2-$$ p3-$$ >/dev/null 2>&1 || true' EXIT
		ip link set lo up
		types() { jq -c "[.conflist.plugins[].type], .tools" "$st/\$1.json" | tr '\n' ' '; echo; }
		"$ISOLA" run -d --name p1-$$ --network "$NET" "$IMG" sleep 60 >/dev/null
		types p1-$$
		ln -sfn /nonexistent "$store/net/tools4/iptables" # a stale link is made again
		"$ISOLA" run -d --name p2-$$ --network "$NET" -p "127.0.0.1:$port:80" "$IMG" \
			httpd -f -p 80 -h /www >/dev/null
		types p2-$$
		for _ in \$(seq 100); do
			out=\$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [ -n "\$out" ] && break
			sleep 0.1
		done
		echo "page: \$out"
		iptables -w -P FORWARD DROP
		"$ISOLA" run -d --name p3-$$ --network "$NET" -p "127.0.0.1:$((port + 1)):80" "$IMG" \
			sleep 60 >/dev/null
		types p3-$$
		echo "fw: \$(iptables-save | grep -c "p3-$$" || true)"
		"$ISOLA" rm -f p1-$$ p2-$$ p3-$$ >/dev/null
		echo "left: \$(iptables-save | grep -cE "p[123]-$$" || true)"
	EOF
	run unshare -n bash "$TMP/plan.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "[\"bridge\"] \"$store/net/tools4\" " ]
	[ "${lines[1]}" = "[\"bridge\",\"portmap\"] \"$store/net/tools4\" " ]
	[ "${lines[2]}" = "page: hello-from-isola" ]
	[ "${lines[3]}" = '["bridge","portmap","firewall"] null ' ]
	[[ "${lines[4]}" == "fw: "* && "${lines[4]}" != "fw: 0" ]]
	[ "${lines[5]}" = "left: 0" ]
	refute_leaks "p[123]-$$"
}

@test "net: --network ns:PATH joins that namespace, --network none has lo only" {
	require_cmd unshare
	touch "$TMP/ns"
	# The namespace file is mounted in a private mount namespace of the test's own.
	# A joined namespace is someone else's: its ping_group_range is left as it is (the
	# kernel's default, "1 0"); --network none's is made for the container: "0 0".
	run unshare -m --propagation private sh -c 'unshare --net="$1/ns" true &&
		stat -L -c %i "$1/ns" && "$2" run --rm --network "ns:$1/ns" "$3" sh -c \
		"readlink /proc/self/ns/net; cat /proc/sys/net/ipv4/ping_group_range"' \
		sh "$TMP" "$ISOLA" "$IMG"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "net:[${lines[0]}]" ]
	[ "${lines[2]}" = $'1\t0' ]
	run "$ISOLA" run --rm --network none "$IMG" sh -c \
		'cat /proc/net/dev; cat /proc/sys/net/ipv4/ping_group_range'
	[ "$status" -eq 0 ]
	[[ "$output" == *"lo:"* ]]
	[[ "$output" != *"eth0"* ]]
	[ "${lines[-1]}" = $'0\t0' ]
	[ -z "$(ls "$ISOLA_STORE/net/state" 2>/dev/null | grep -v '\.lock$' || true)" ]
}

@test "net: --network container:NAME shares NAME's network and /etc files, with no ADD or DEL of its own" {
	port=$(free_port)
	ID=it-tg-$$
	"$ISOLA" run -d --name "$ID" --network "$NET" -p "127.0.0.1:$port:80" \
		--add-host "db.example:192.0.2.7" "$IMG" httpd -f -p 80 -h /www >/dev/null
	run curl_page "127.0.0.1:$port"
	[ "$output" = hello-from-isola ]
	ip=$(jq -r .ip "$ISOLA_STORE/net/state/$ID.json")
	run "$ISOLA" run --rm --name "it-j-$$" --network "container:$ID" "$IMG" sh -c '
		ip -4 -o addr show eth0; busybox wget -qO- http://127.0.0.1/; echo
		cat /etc/hostname; hostname; grep db.example /etc/hosts; cat /etc/resolv.conf'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *" inet $ip/"* ]]
	[ "${lines[1]}" = hello-from-isola ]
	# Its own UTS namespace and name; NAME's hosts and resolv.conf.
	[ "${lines[2]}" = "it-j-$$" ]
	[ "${lines[3]}" = "it-j-$$" ]
	[[ "${lines[4]}" == 192.0.2.7*db.example* ]]
	[ "$(printf '%s\n' "${lines[@]:5}")" = "$(cat "$ISOLA_STORE/containers/$ID/resolv.conf")" ]
	# The joiner had no network state, and its end left NAME's network as it was.
	[ "$(ls "$ISOLA_STORE/net/state" | grep -v '\.lock$')" = "$ID.json" ]
	run curl_page "127.0.0.1:$port"
	[ "$output" = hello-from-isola ]
	# /etc/hosts and resolv.conf are NAME's to change: read-only in the joiner.
	run "$ISOLA" run --rm --network "container:$ID" "$IMG" sh -c 'echo x >>/etc/hosts'
	[ "$status" -ne 0 ]
	# NAME's stop detaches its network (DEL): a joiner still running keeps lo only.
	"$ISOLA" run -d --name "it-j-$$" --network "container:$ID" "$IMG" sleep 1000 >/dev/null
	"$ISOLA" stop -t 1 "$ID" >/dev/null
	run "$ISOLA" exec "it-j-$$" ip -o link
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *" lo: "* ]]
	run "$ISOLA" rm -f "$ID" "it-j-$$"
	[ "$status" -eq 0 ]
	refute_leaks "$ID"
}

@test "net: on a bridge network, --uts ns:PATH and container:NAME put that namespace's host name in /etc/hostname and /etc/hosts" {
	"$ISOLA" run -d --name "it-u-$$" --network none "$IMG" sleep 1000 >/dev/null
	tpid=$("$ISOLA" inspect "it-u-$$" | jq -r '.[0].pid')
	for uts in "container:it-u-$$" "ns:/proc/$tpid/ns/uts"; do
		run "$ISOLA" run --rm --name "it-uj-$$" --network "$NET" --uts "$uts" "$IMG" sh -c \
			'hostname; cat /etc/hostname; cat /etc/hosts'
		echo "$uts: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "it-u-$$" ]
		[ "${lines[1]}" = "it-u-$$" ]
		[[ "$output" == *[[:space:]]"it-u-$$ it-uj-$$"* ]]
	done
	"$ISOLA" rm -f "it-u-$$" >/dev/null
	refute_leaks
}

@test "net: a run that fails while its ADD runs beside the bundle (no image, no command) leaves nothing" {
	# The network's ADD starts in a child before the bundle is made: each failure after
	# it must wait for that ADD and undo it.
	run "$ISOLA" run --rm --pull never --network "$NET" -p "127.0.0.1:$((20000 + $$ % 20000)):80" \
		"localhost/nothere$$:latest" true
	echo "$output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"nothere$$"* ]]
	run -127 "$ISOLA" run --rm --network "$NET" -p "127.0.0.1:$((20000 + $$ % 20000)):80" "$IMG" nothere$$
	echo "$output"
	run -127 "$ISOLA" run -d --network "$NET" "$IMG" nothere$$
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	refute_leaks
}

@test "net: a run of a name in use is refused and leaves that container's network alone" {
	# It used to start the network's ADD, fail on the bundle, and then DEL the
	# running container's veth, lease, rules and netns as its own.
	port=$(free_port)
	ID=it-dup-$$
	run "$ISOLA" run -d --name "$ID" --network "$NET" -p "127.0.0.1:$port:80" "$IMG" \
		httpd -f -p 80 -h /www
	[ "$status" -eq 0 ]
	run curl_page "127.0.0.1:$port"
	[ "$output" = hello-from-isola ]
	rules=$(iptables-save | grep -c "$ID")
	run "$ISOLA" run --rm --name "$ID" --network "$NET" "$IMG" true
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"the container name \`$ID\` is already in use"* ]]
	[ "$(iptables-save | grep -c "$ID")" = "$rules" ]
	run curl_page "127.0.0.1:$port"
	[ "$output" = hello-from-isola ]
	# A -v of the user's own on /etc/hosts (any spelling) wins over the network's file.
	echo "192.0.2.1 mine" >"$TMP/hosts"
	run "$ISOLA" run --rm --network "$NET" -v "$TMP/hosts:/etc//hosts:ro" "$IMG" cat /etc/hosts
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "192.0.2.1 mine" ]
	run "$ISOLA" rm -f "$ID"
	refute_leaks "$ID"
}

@test "net: bad input is one line naming the field, and leaves nothing" {
	for bad in "-p 99999:80" "-p 1.2.3:80:80" "-p 80:80/sctp" "--network ../x" \
		"--network ns:relative" "--add-host nocolon" "--hostname -bad"; do
		# shellcheck disable=SC2086
		run "$ISOLA" run --rm --network "$NET" $bad "$IMG" true
		echo "$bad: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	run "$ISOLA" network create "x$$" --subnet 10.213.0.1/24
	[ "$status" -ne 0 ]
	[[ "$output" == *"--subnet"* ]]
	run "$ISOLA" network create "y$$" --subnet "$SUBNET"
	[[ "$output" == *"overlaps network \`$NET\`"* ]]
	run "$ISOLA" network rm "nonexistent$$"
	[ "$status" -ne 0 ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	refute_leaks
}
