#!/usr/bin/env bats
# Rootless images: `pull`, `image import`, `run IMAGE`, `rm` and `rmi` as a normal
# user, with a store in ~/.local/share/isola.  A user with an /etc/subuid range
# (made for the test, removed after) unpacks as root of a user namespace mapping
# that range, so a layer's ids land on disk as subordinate ids and appear
# unchanged in the container; `nobody` (no range) keeps every file its own and
# the ids in user.containers.override_stat.  Device nodes are left out with a
# note; whiteouts, opaque directories, setuid files and hard links work.
load image-helpers
load rootless-helpers
bats_require_minimum_version 1.5.0

setup_file() { img_setup_file; }
teardown_file() { img_teardown_file; }

setup() {
	img_setup
	unset ISOLA_STORE ISOLA_RUNTIME
	require_cmd runuser
	require_cmd useradd
	require_cmd setpriv
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	rootless_setup
	# Layer 1: ids 1000:50, a setuid file, a hard link, a device node, dirs for layer 2.
	img_tar "$TMP/l1.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox \
		D:home:0755:0:0 D:home/u:0700:1000:50 p:home/u/f:0640:1000:50 \
		p:suid:4755:1000:50 h:link:home/u/f c:node d:gone f:gone/a:1 d:opq f:opq/old:1
	# Layer 2: a whiteout and an opaque directory.
	img_tar "$TMP/l2.tar" f:.wh.gone: d:opq f:opq/.wh..wh..opq: f:opq/new:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l1.tar" "$TMP/l2.tar" >/dev/null
	chmod -R a+rX "$TMP/layout"
	ID=isola-it-rli-$$-$BATS_TEST_NUMBER
}

teardown() {
	[ ! -f "$TMP/srv.pid" ] || hostile_stop
	if [ -n "${U:-}" ]; then
		as_user "$TMP/isola" rm -f "$ID" >/dev/null 2>&1 || true
		rootless_user_remove
	fi
	isola_cleanup_tmp
}

make_user() {
	rootless_user rl
	read -r _ SUBUID _ < <(grep "^$U:" /etc/subuid | tr : ' ')
	read -r _ SUBGID _ < <(grep "^$U:" /etc/subgid | tr : ' ')
	S=$UH/.local/share/isola
}

# empty DIR...: no entries below any of them.
empty() {
	[ -z "$(find "$@" -mindepth 1 -print -quit)" ]
}

as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$TMP/xdg" XDG_DATA_HOME="$TMP/data" "$@"
}

@test "rootless image: pull as a user with subordinate ids; ids kept, run, rm, rmi remove everything" {
	make_user
	img_push "$TMP/layout" latest t/rl:1
	run as_user "$TMP/isola" pull -q "$REG/t/rl:1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"note: 1 device node in the image left out"* ]]
	# On disk: the layer's 1000:50 is the user's subordinate id 999:49 of the range.
	f=$(find "$S/layers" -path '*/home/u/f')
	[ "$(stat -c %u:%g "$f")" = "$((SUBUID + 999)):$((SUBGID + 49))" ]
	[ -z "$(find "$S" -user root)" ]
	# In the container: the image's ids, modes, links; no device; whiteouts applied.
	run as_user "$TMP/isola" run --rm "$REG/t/rl:1" sh -c \
		'busybox stat -c "%u:%g %a %h" /home/u/f /suid; busybox stat -c %i /link /home/u/f
		 busybox ls / /opq; busybox touch /home/u/new; busybox chown 1000:50 /home/u/new'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1000:50 640 2" ]
	[ "${lines[1]}" = "1000:50 4755 1" ]
	[ "${lines[2]}" = "${lines[3]}" ]
	[[ "$output" != *node* && "$output" != *gone* && "$output" != *old* ]]
	[[ "$output" == *new* ]]
	# A detached container writes as 1000:50; rm removes its upper dir through the namespace.
	as_user "$TMP/isola" run -d --name "$ID" "$REG/t/rl:1" \
		sh -c 'echo x >/home/u/g; busybox chown 1000:50 /home/u/g'
	wait_until 10 '[ "$(stat -c %u "$S/containers/$ID/upper/home/u/g" 2>/dev/null)" = $((SUBUID + 999)) ]'
	as_user "$TMP/isola" rm -f "$ID"
	[ ! -e "$S/containers/$ID" ]
	as_user "$TMP/isola" rmi "$REG/t/rl:1"
	empty "$S/layers" "$S/blobs/sha256" "$S/containers"
	[ -z "$(find "$S" ! -user "$U")" ]
	[ -z "$(find "$TMP/xdg" -user root)" ]
}

@test "rootless image: run stopped by TERM while its child pulls: the pull ends too, nothing left" {
	make_user
	hostile_start drip
	as_user "$TMP/isola" run --rm --name "$ID" "$HREG/t/a:latest" true >"$TMP/out" 2>&1 &
	wait_until 100 "grep -q '/blobs/' '$TMP/srv.log'" || { cat "$TMP/out"; false; }
	sleep 0.5 # some of the drip arrives: the pull has a partial in the store
	# The parent alone (the oldest isola of the user): its child in the store's user
	# namespace does the pull.  The drip would feed that pull for two minutes.
	# isola-dl where the image commands are split off (static_core), isola otherwise.
	pid=$(pgrep -o -u "$U" -x 'isola|isola-dl')
	kill -TERM "$pid"
	wait_until 15 "! pgrep -u '$U' -x 'isola|isola-dl' >/dev/null" || {
		cat "$TMP/out"
		pkill -KILL -u "$U" -x 'isola|isola-dl'
		false
	}
	st=0
	wait $! || st=$?
	echo "$st: $(cat "$TMP/out")"
	[ "$st" -eq 143 ]
	[[ "$(cat "$TMP/out")" == *interrupted* ]]
	[ ! -e "$S/containers/$ID" ]
	empty "$S/tmp"
}

@test "rootless image: a layer owner beyond the user's subordinate range is refused, nothing left" {
	make_user
	read -r _ _ count < <(grep "^$U:" /etc/subuid | tr : ' ')
	img_tar "$TMP/big.tar" d:bin F:bin/busybox:/bin/busybox "p:far:0644:$((count + 5)):0"
	img_layout "$TMP/far" latest amd64 "$TMP/big.tar" >/dev/null
	chmod -R a+rX "$TMP/far"
	run as_user "$TMP/isola" image import "$TMP/far" localhost/far:1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"far"*"owner $((count + 5)):0 is outside"*"/etc/subuid"* ]]
	empty "$S/layers" "$S/tmp"
}

@test "rootless image: 64 layers, more than one page of overlay options: the runtime mounts them all" {
	make_user
	local i tars=()
	img_tar "$TMP/m1.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox f:bottom:b f:gone:g
	tars+=("$TMP/m1.tar")
	for ((i = 2; i < 64; i++)); do
		img_tar "$TMP/m$i.tar" d:mid "f:mid/$i:$i"
		tars+=("$TMP/m$i.tar")
	done
	img_tar "$TMP/m64.tar" f:top:t f:.wh.gone:
	tars+=("$TMP/m64.tar")
	img_layout "$TMP/many" latest amd64 "${tars[@]}" >/dev/null
	chmod -R a+rX "$TMP/many"
	as_user "$TMP/isola" image import "$TMP/many" localhost/many:1 >/dev/null
	run as_user "$TMP/isola" run --name "$ID" localhost/many:1 sh -c \
		'busybox cat /bottom /mid/2 /mid/63 /top; busybox ls /mid | busybox wc -l; busybox ls /gone'
	echo "$output"
	[ "$status" -ne 0 ]
	# Files of the bottom, two middle and the top layer (no newlines: "b" "2" "63" "t"),
	# then the 62 middle ones.
	[ "${lines[0]}" = b263t62 ]
	# The top layer's whiteout hides the bottom's file.
	[[ "${lines[1]}" == *"/gone"*"No such file"* ]]
	# The overlay is config.json's first mount, with 64 lower directories in one option.
	jq -e '.mounts[0].destination == "/" and (.mounts[0].options | join(",") | length > 4096)
		and (.mounts[0].options[0] | split(":") | length == 64)' "$S/containers/$ID/config.json"
	as_user "$TMP/isola" rm -f "$ID"
	as_user "$TMP/isola" rmi localhost/many:1
	empty "$S/layers" "$S/containers"
}

@test "rootless image: nobody (no subordinate ids): files stay its own, ids in override_stat; run, rmi" {
	mkdir "$TMP/data"
	chown nobody "$TMP/data" "$TMP/xdg"
	run as_nobody "$TMP/isola" image import "$TMP/layout" localhost/rl:1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"left out"* ]]
	S=$TMP/data/isola
	f=$(find "$S/layers" -path '*/home/u/f')
	[ "$(stat -c %U "$f")" = nobody ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.containers.override_stat").decode())' "$f")" = "1000:50:0640:file" ]
	[ -z "$(find "$S" ! -user nobody)" ]
	run as_nobody "$TMP/isola" run --rm localhost/rl:1 sh -c \
		'busybox stat -c "%u:%g %a" /home/u/f; busybox cat /proc/self/uid_map; busybox ls /
		 echo y >/home/u/y'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0:0 640" ]
	# /proc is mounted inside the overlay the runtime put on "/"; root is nobody.
	[[ "${lines[1]}" =~ ^\ +0\ +$(id -u nobody)\ +1$ ]]
	[[ "$output" != *gone* ]]
	as_nobody "$TMP/isola" rmi localhost/rl:1
	empty "$S/layers" "$S/blobs/sha256" "$S/containers"
	[ -z "$(find "$TMP/data" "$TMP/xdg" ! -user nobody)" ]
}

@test "rootless image: no network of its own by default (ping_group_range 0 0 in its netns), --network host joins the host's, bridge is refused" {
	mkdir "$TMP/data"
	chown nobody "$TMP/data" "$TMP/xdg"
	as_nobody "$TMP/isola" image import "$TMP/layout" localhost/rl:1 >/dev/null 2>&1
	run as_nobody "$TMP/isola" run --rm --network bridge localhost/rl:1 true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bridge network needs root"* ]]
	empty "$TMP/data/isola/containers"
	host=$(as_nobody readlink /proc/self/ns/net)
	run as_nobody "$TMP/isola" run --rm --network host localhost/rl:1 busybox readlink /proc/self/ns/net
	[ "$status" -eq 0 ]
	[ "$output" = "$host" ]
	run as_nobody "$TMP/isola" run --rm localhost/rl:1 busybox readlink /proc/self/ns/net
	[ "$status" -eq 0 ]
	[[ "$output" == net:* && "$output" != "$host" ]]
	# That netns is the container's user namespace's: its root sets ping_group_range "0 0"
	# there (config.json's linux.sysctl, as podman), which --network host leaves alone.
	run as_nobody "$TMP/isola" run --rm localhost/rl:1 busybox cat /proc/sys/net/ipv4/ping_group_range
	[ "$status" -eq 0 ]
	[ "$output" = $'0\t0' ]
	run as_nobody "$TMP/isola" run --rm --network host localhost/rl:1 busybox cat \
		/proc/sys/net/ipv4/ping_group_range
	[ "$status" -eq 0 ]
	# The host's range, seen through the user namespace's gid map (65534 where unmapped).
	[ "$output" != $'0\t0' ]
	# --uts host works (no hostname set); --pid/--ipc host cannot mount /proc or mqueue for
	# the host's namespaces from a user namespace, ns:PATH and container:NAME need privilege:
	# refused.
	run as_nobody "$TMP/isola" run --rm --uts host localhost/rl:1 busybox hostname
	[ "$status" -eq 0 ]
	[ "$output" = "$(hostname)" ]
	for bad in "--pid host" "--ipc host" "--uts ns:/proc/self/ns/uts" "--ipc container:x" \
		"--network container:x"; do
		run as_nobody "$TMP/isola" run --rm $bad localhost/rl:1 true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"not supported rootless"* ]]
	done
	empty "$TMP/data/isola/containers"
}

@test "rootless image: root of a user namespace (unshare -r) unpacks as rootless, opaque dirs as user.overlay.opaque" {
	require_cmd unshare
	run unshare -U -r env ISOLA_STORE="$TMP/ns-store" "$ISOLA" image import "$TMP/layout" localhost/rl:1
	echo "$output"
	[ "$status" -eq 0 ]
	# The opaque directory is layer 2's, the one holding opq/new.
	d=$(dirname "$(find "$TMP/ns-store/layers" -path '*/opq/new')")
	f=$(find "$TMP/ns-store/layers" -path '*/home/u/f')
	python3 - "$d" "$f" <<-'EOP'
	import os, sys
	opq, f = sys.argv[1], sys.argv[2]
	names = os.listxattr(opq)
	assert "user.overlay.opaque" in names and "trusted.overlay.opaque" not in names, names
	assert os.getxattr(f, "user.containers.override_stat") == b"1000:50:0640:file"
	EOP
	# The bundle's overlay honours it (userxattr): layer 1's /opq/old is hidden, so the
	# command is "not found" (127), not "not executable" (126, a mode 644 file).
	run -127 unshare -U -r -m env ISOLA_STORE="$TMP/ns-store" ISOLA_NETWORK=none \
		"$ISOLA" run --rm localhost/rl:1 /opq/old
	echo "$output"
	[ "$status" -eq 127 ]
	[[ "$output" == *"not found"* ]]
}
