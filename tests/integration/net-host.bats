#!/usr/bin/env bats
# `isola network create/rm/prune` and the host's own interfaces: an --interface-name that
# is an interface already is refused; rm and prune delete only a bridge isola made and
# leave anything else (not a bridge, a bridge of someone else) as it was.  No container
# runs here.  Every interface the tests make or change is their own (veths and bridges
# named nh*<pid> or isl-h*<pid>), deleted in teardown; `lo` is only named to be refused.
load helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "SKIP: needs root (interfaces)"
	require_cmd ip
	require_cmd jq
	isola_tmp
	export ISOLA_STORE=$TMP/store
	P=$(($$ % 100000))
	IFS_MADE=()
}

teardown() {
	local i
	# The networks are files in the store, gone with it (no `network rm`: a binary
	# without the fix would set the interface it names down).
	for i in "${IFS_MADE[@]}"; do
		ip link del "$i" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

# mkif NAME veth|bridge: an interface of the test's own, up (veth: with its peer NAMEp).
mkif() {
	if [ "$2" = veth ]; then
		ip link add "$1" type veth peer name "$1p"
	else
		ip link add "$1" type bridge
	fi
	IFS_MADE+=("$1")
	ip link set "$1" up
}

is_up() {
	(($(cat "/sys/class/net/$1/flags") & 1))
}

@test "net-host: --interface-name of an existing interface (veth, bridge, lo) is refused in one line" {
	mkif "nhv$P" veth
	mkif "nhb$P" bridge
	for ifn in "nhv$P" "nhb$P" lo; do
		run "$ISOLA" network create "hx$P" --subnet 10.218.61.0/24 --interface-name "$ifn"
		echo "$ifn: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *--interface-name*"\`$ifn\`"* ]]
		[ ! -e "$ISOLA_STORE/networks/hx$P.conflist" ]
	done
	is_up "nhv$P"
	is_up "nhb$P"
	# The default name isl-NAME too (another store's network of the same name).
	mkif "isl-hy$P" bridge
	run "$ISOLA" network create "hy$P" --subnet 10.218.62.0/24
	[ "$status" -ne 0 ]
	[[ "$output" == *"--interface-name: interface \`isl-hy$P\` exists"* ]]
}

@test "net-host: rm and prune leave an interface that is no bridge, or a bridge isola did not make, alone" {
	# Interfaces that appear under a network's name after create (or a store of an older
	# isola, which took any name): the network goes, the interface stays as it was.
	"$ISOLA" network create "ha$P" --subnet 10.218.63.0/24 --interface-name "nhv$P" >/dev/null
	"$ISOLA" network create "hb$P" --subnet 10.218.64.0/24 --interface-name "nhb$P" >/dev/null
	"$ISOLA" network create "hc$P" --subnet 10.218.65.0/24 --interface-name "nhw$P" >/dev/null
	mkif "nhv$P" veth
	mkif "nhb$P" bridge
	mkif "nhw$P" veth
	f=$ISOLA_STORE/networks/hb$P.conflist
	jq 'del(.isola)' "$f" >"$f.new" && mv "$f.new" "$f"
	run "$ISOLA" network rm "ha$P"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: network \`ha$P\`: interface \`nhv$P\` is not a bridge; left alone"* ]]
	[ ! -e "$ISOLA_STORE/networks/ha$P.conflist" ]
	is_up "nhv$P"
	run "$ISOLA" network prune
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"interface \`nhb$P\` is a bridge isola did not make; left alone"* ]]
	[[ "$output" == *"interface \`nhw$P\` is not a bridge; left alone"* ]]
	[ -z "$("$ISOLA" network ls --format json | jq -r '.[].name')" ]
	is_up "nhb$P"
	is_up "nhw$P"
	run "$ISOLA" network prune
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "net-host: rm and prune still delete the bridges isola made (isl-NAME, --interface-name)" {
	# The bridge plugin makes the bridge on the first ADD; `ip link add` stands for it.
	"$ISOLA" network create "hd$P" --subnet 10.218.66.0/24 >/dev/null
	"$ISOLA" network create "he$P" --subnet 10.218.67.0/24 --interface-name "nhe$P" >/dev/null
	"$ISOLA" network create "hg$P" --subnet 10.218.68.0/24 >/dev/null
	mkif "isl-hd$P" bridge
	mkif "nhe$P" bridge
	mkif "isl-hg$P" bridge
	# A network of an older isola (no marker) with isola's own name for its bridge.
	f=$ISOLA_STORE/networks/hg$P.conflist
	jq 'del(.isola)' "$f" >"$f.new" && mv "$f.new" "$f"
	run "$ISOLA" network rm "hd$P"
	[ "$status" -eq 0 ]
	[ "$output" = "hd$P" ]
	[ ! -e "/sys/class/net/isl-hd$P" ]
	run "$ISOLA" network prune
	[ "$status" -eq 0 ]
	[[ "$output" != *warning* ]]
	[ ! -e "/sys/class/net/nhe$P" ]
	[ ! -e "/sys/class/net/isl-hg$P" ]
}

@test "net-host: --subnet in a special-purpose range is refused in one line naming --subnet" {
	for s in 127.0.0.0/8 0.0.0.0/8 169.254.0.0/16 224.0.0.0/8 239.1.0.0/16 240.0.0.0/8 \
		255.255.255.0/24 ::/8 ::/120 ::ffff:0:0/96 fe80::/64 ff00::/8 ff02::/16; do
		run "$ISOLA" network create "hs$P" --subnet "$s"
		echo "$s: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--subnet $s: overlaps"* ]]
		[ ! -e "$ISOLA_STORE/networks/hs$P.conflist" ]
	done
}

@test "net-host: --subnet overlapping an address or a route of the host is refused, naming it" {
	# A veth of the test's own stands for the LAN: its address and a route through it.
	mkif "nhs$P" veth
	ip addr add 10.218.70.1/24 dev "nhs$P"
	ip route add 10.218.80.0/22 dev "nhs$P"
	v6=
	if [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ]; then
		ip -6 addr add fd00:218:70::1/64 dev "nhs$P" nodad
		ip -6 route add fd00:218:80::/48 dev "nhs$P"
		v6="fd00:218:70::/64=address fd00:218:80:1::/64=route fd00:218::/32=address"
	fi
	for c in 10.218.70.0/24=address 10.218.70.128/25=address 10.218.0.0/16=address \
		10.218.81.0/24=route 10.218.82.0/23=route $v6; do
		s=${c%=*}
		run "$ISOLA" network create "ho$P" --subnet "$s"
		echo "$s: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--subnet $s: overlaps the host's ${c#*=} "*"nhs$P"* ]]
		[ ! -e "$ISOLA_STORE/networks/ho$P.conflist" ]
	done
	# Beside them, and once the route is gone, the subnet is free.
	run "$ISOLA" network create "ho$P" --subnet 10.218.84.0/24
	[ "$status" -eq 0 ]
	ip route del 10.218.80.0/22 dev "nhs$P"
	run "$ISOLA" network create "hp$P" --subnet 10.218.81.0/24
	[ "$status" -eq 0 ]
}

@test "net-host: --subnet with a space or a leading zero in its prefix is refused and writes nothing" {
	for s in "10.218.90.0/ 24" "10.218.90.0/024" "10.218.90.0/24 " "fd00:218:90::/ 64"; do
		run "$ISOLA" network create "hz$P" --subnet "$s"
		echo "$s: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--subnet \`$s\`"* ]]
		[ ! -e "$ISOLA_STORE/networks/hz$P.conflist" ]
	done
}

@test "net-host: the default network's name takes only its own bridge and subnet, and its bridge no other network" {
	# isola0 is every store's bridge and exempt from the interface checks: another subnet
	# on it would be a second network on a shared bridge.
	for bad in "--subnet 10.218.66.0/24 --interface-name isola0" "--subnet 10.218.66.0/24" \
		"--subnet 10.90.0.0/16 --interface-name hd$P" "--subnet 10.90.0.0/16 --subnet fd00:218:66::/64"; do
		run "$ISOLA" network create isola $bad
		echo "$bad: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"network name \`isola\` is the default network's"* ]]
		[ ! -e "$ISOLA_STORE/networks/isola.conflist" ]
	done
	# Nor is the bridge another network's, even before it exists.
	run "$ISOLA" network create "hd$P" --subnet 10.218.67.0/24 --interface-name isola0
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--interface-name isola0: the default network's bridge"* ]]
	[ ! -e "$ISOLA_STORE/networks/hd$P.conflist" ]
}

@test "net-host: network creates at the same moment take turns: one of two clashing ones is made" {
	# Same subnet and different names, then the same name: the checks and the write of
	# each create are one step under a lock, so one of the two fails.
	for i in $(seq 12); do
		if [ "$i" -le 8 ]; then
			a="hr$P-$i-a" b="hr$P-$i-b" sa="10.218.$((100 + i)).0/24" sb=$sa
		else
			a="hr$P-$i" b=$a sa="10.218.$((100 + i)).0/24" sb="10.218.$((120 + i)).0/24"
		fi
		("$ISOLA" network create "$a" --subnet "$sa" >/dev/null 2>&1 && echo a >>"$TMP/won.$i") &
		("$ISOLA" network create "$b" --subnet "$sb" >/dev/null 2>&1 && echo b >>"$TMP/won.$i") &
		wait
		echo "round $i: $(cat "$TMP/won.$i" 2>/dev/null | tr '\n' ' ')"
		[ "$(wc -l <"$TMP/won.$i")" -eq 1 ]
		[ "$(ls "$ISOLA_STORE/networks" | grep -c "^hr$P-$i[-.]")" -eq 1 ]
	done
}

@test "network prune: a symlink planted as a netns file never unmounts what it points to" {
	require_cmd unshare
	mkdir -p "$ISOLA_STORE/net/ns" "$ISOLA_STORE/net/state" "$TMP/victim"
	echo '{"id": "evil", "network": "none-such", "conflist": {"cniVersion": "1.0.0",
		"name": "x", "plugins": [{"type": "nop"}]}, "runtimeConfig": {}, "result": null}' \
		>"$ISOLA_STORE/net/state/evil.json"
	ln -s "$TMP/victim" "$ISOLA_STORE/net/ns/evil"
	# A plugin whose DEL succeeds whatever the namespace is (DEL must be idempotent).
	mkdir "$TMP/cni"
	printf '#!/bin/sh\nexit 0\n' >"$TMP/cni/nop"
	chmod +x "$TMP/cni/nop"
	# In a mount namespace of the test's own: the victim is a tmpfs there.
	run unshare -m --propagation private sh -c '
		mount -t tmpfs victim "$1/victim" && touch "$1/victim/here"
		ISOLA_CNI_PATH="$1/cni" "$2" network prune >/dev/null 2>"$1/prune.err"
		[ -e "$1/victim/here" ] && echo still-mounted || echo unmounted' sh "$TMP" "$ISOLA"
	echo "$output"; cat "$TMP/prune.err"
	[ "$output" = still-mounted ]
	[ ! -e "$ISOLA_STORE/net/state/evil.json" ]
}
