#!/usr/bin/env bats
# Where the OCI runtime spec (1.1) says exactly what must happen: when `start`
# returns, which state hooks see, which namespaces are inherited, the device
# cgroup, mount propagation, and fields that are refused rather than ignored.

load helpers

setup() {
	setup_bundle rs
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	[ -z "${SIB:-}" ] || rmdir /sys/fs/cgroup/memory/"$SIB" 2>/dev/null || true
	isola_cleanup_tmp
}

hook() { # hook SCRIPT: a hook object running /bin/sh -c SCRIPT
	jq -nc --arg s "$1" '{"path":"/bin/sh","args":["sh","-c",$s]}'
}

@test "start returns once the process runs; poststart sees it running" {
	args sleep 100
	bundle_jq "$B" ".hooks = {
		\"startContainer\": [$(hook 'sleep 0.5')],
		\"poststart\": [$(hook "cat /proc/\$(jq -r .pid)/comm > $TMP/post")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	pid=$(isola state "$ID" | jq -r .pid)
	isola start "$ID"
	[ "$(cat /proc/$pid/comm)" = sleep ]
	[ "$(cat "$TMP/post")" = sleep ]
	[ "$(isola state "$ID" | jq -r .status)" = running ]
}

@test "start fails with the reason when a startContainer hook fails" {
	args sleep 100
	bundle_jq "$B" ".hooks = {\"startContainer\": [$(hook 'exit 3')],
		\"poststart\": [$(hook "touch $TMP/post")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	run isola start "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *startContainer* ]]
	[ ! -e "$TMP/post" ]
}

@test "prestart and createRuntime hooks see status created" {
	args sleep 100
	bundle_jq "$B" ".hooks = {
		\"prestart\": [$(hook "jq -r .status >> $TMP/st")],
		\"createRuntime\": [$(hook "jq -r .status >> $TMP/st")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	[ "$(cat "$TMP/st" | tr '\n' ' ')" = "created created " ]
}

# The command that runs a hook holds the container's lock: state and list do not wait
# for it (runc's take none), so a hook that asks is answered, "creating" before the init.
@test "a hook asking for the state (state, list) is answered, not held by the command that runs it" {
	args sleep 100
	q="timeout 5 $ISOLA --root $R"
	ask="$q state $ID | jq -r .status >> $TMP/st; $q list -q | grep -cx $ID >> $TMP/st"
	bundle_jq "$B" ".hooks = {\"createRuntime\": [$(hook "$ask")],
		\"poststart\": [$(hook "$ask")], \"poststop\": [$(hook "$ask")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	isola delete --force "$ID"
	[ "$(tr '\n' ' ' <"$TMP/st")" = "creating 1 running 1 stopped 1 " ]
}

@test "a poststart hook can kill its container: kill does not wait for the start that runs it" {
	args sleep 100
	bundle_jq "$B" ".hooks = {\"poststart\": [$(hook "timeout 5 $ISOLA --root $R kill $ID KILL && echo killed > $TMP/k")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	[ "$(cat "$TMP/k")" = killed ]
	wait_until 10 '[ "$(isola state "$ID" | jq -r .status)" = stopped ]'
}

@test "a poststart hook can kill --all its container; a paused one stays paused under kill --all" {
	args sh -c 'sleep 100 & sleep 100'
	bundle_jq "$B" ".hooks = {\"poststart\": [$(hook "timeout 5 $ISOLA --root $R kill --all $ID KILL && echo killed > $TMP/k")]}"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	[ "$(cat "$TMP/k")" = killed ]
	wait_until 10 '[ "$(isola state "$ID" | jq -r .status)" = stopped ]'
	isola delete "$ID"
	# The freezer's own lock, made with the container: kill --all waits while another
	# command freezes or thaws (here a stand-in holds it), and pause's freeze stays.
	bundle_jq "$B" 'del(.hooks)'
	isola run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	lock=$R/$ID/freezer.lock
	[ -f "$lock" ]
	flock "$lock" sleep 3 &
	holder=$!
	wait_until 5 "grep -q ':$(stat -c %i "$lock") ' /proc/locks"
	run timeout 1 "$ISOLA" --root "$R" kill --all "$ID" CONT
	[ "$status" -eq 124 ]
	wait "$holder"
	isola kill --all "$ID" CONT
	isola pause "$ID"
	isola kill --all "$ID" CONT
	[ "$(isola state "$ID" | jq -r .status)" = paused ]
	isola resume "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = running ]
	run isola resume "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is running, not paused"* ]]
}

@test "hooks in the runtime's namespaces start in the bundle, wherever the caller is (as runc)" {
	args sleep 100
	w="pwd -P >> $TMP/cwd"
	bundle_jq "$B" ".hooks = {\"prestart\": [$(hook "$w")], \"createRuntime\": [$(hook "$w")],
		\"poststart\": [$(hook "$w")], \"poststop\": [$(hook "$w")]}"
	mkdir "$TMP/elsewhere"
	cd "$TMP/elsewhere"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	isola delete -f "$ID"
	real=$(cd "$B" && pwd -P)
	cat "$TMP/cwd"
	[ "$(sort -u "$TMP/cwd")" = "$real" ]
	[ "$(wc -l <"$TMP/cwd")" -eq 4 ]
}

@test "linux.devices may be made whatever the device rules say; opening one is for the rules (as runc)" {
	caps='["CAP_MKNOD"]'
	args sh -c 'mknod /tmp/f c 10 229 && echo made; exec 3</dev/fuse && echo opened'
	bundle_jq "$B" ".root.readonly = false
		| .linux.devices = [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]
		| .linux.resources.devices = [{\"allow\": false, \"access\": \"rwm\"}]
		| .process.capabilities.bounding += $caps | .process.capabilities.effective += $caps
		| .process.capabilities.permitted += $caps"
	run isola run -b "$B" "$ID"
	echo "$output"
	# The init made /dev/fuse, the container can mknod one too, and no rule lets it open.
	[[ "$output" == *made*"/dev/fuse: Operation not permitted"* ]]
	isola delete -f "$ID" 2>/dev/null || true
	# An "r" rule: opened for reading, not for writing (isola allowed rwm here before).
	args sh -c 'exec 3</dev/fuse && echo read-ok; exec 4>/dev/fuse && echo write-ok'
	bundle_jq "$B" '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[[ "$output" == *read-ok*"can't create /dev/fuse: Operation not permitted"* ]]
	[[ "$output" != *write-ok* ]]
}

# runc starts from deny-all whatever the config says; isola kept `a *:* rwm`
# for a config without linux.resources.devices (a review helper's finding).
@test "without linux.resources.devices (or resources), only the default devices open: deny-all first (as runc)" {
	[ -e /dev/loop0 ] || skip "SKIP: no /dev/loop0 on this host"
	caps='["CAP_MKNOD"]'
	args sh -c 'mknod /dev/l0 b 7 0 && echo made; dd if=/dev/l0 of=/dev/null count=1 2>&1 && echo OPENED;
		echo x >/dev/null && echo null-ok'
	for drop in 'del(.linux.resources.devices)' 'del(.linux.resources)' '.linux.resources.devices = null'; do
		bundle_jq "$B" ".process.capabilities.bounding += $caps | .process.capabilities.effective += $caps
			| .process.capabilities.permitted += $caps | $drop"
		run isola run -b "$B" "$ID"
		echo "$drop: $output"
		[[ "$output" == *made* ]]
		[[ "$output" == *"'/dev/l0': Operation not permitted"* ]]
		[[ "$output" != *OPENED* ]]
		[[ "$output" == *null-ok* ]]
		isola delete -f "$ID" 2>/dev/null || true
	done
}

# The v1 kernel reads "a r" as "a" (rwm) and its deny takes back only an allow
# of the same numbers; the spec's rules are last-match-wins (a review helper).
@test "cgroup v1 device rules: an 'a' rule with some access is not all access; a deny inside a wider allow is refused" {
	[ -d /sys/fs/cgroup/devices ] || skip "SKIP: no cgroup v1 devices hierarchy on this host"
	[ -e /dev/loop0 ] || skip "SKIP: no /dev/loop0 on this host"
	caps='["CAP_MKNOD"]'
	args sh -c 'mknod /dev/l0 b 7 0; dd if=/dev/l0 of=/dev/null count=1 2>/dev/null && echo READ;
		dd if=/dev/zero of=/dev/l0 count=0 2>/dev/null && echo WRITE; cat /sys/fs/cgroup/devices/devices.list'
	cp "$B/config.json" "$TMP/config.orig"
	bundle_jq "$B" ".process.capabilities.bounding += $caps | .process.capabilities.effective += $caps
		| .process.capabilities.permitted += $caps
		| .mounts |= map(select(.destination != \"/sys/fs/cgroup\"))
		| .mounts += [{destination: \"/sys/fs/cgroup\", type: \"cgroup\", source: \"cgroup\", options: [\"ro\"]}]"
	cp "$B/config.json" "$TMP/config.caps"
	bundle_jq "$B" '.linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "a", access: "rm"}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *READ* ]]
	[[ "$output" != *WRITE* ]]
	[[ "$output" != *"a *:* rwm"* ]]
	isola delete -f "$ID" 2>/dev/null || true
	cp "$TMP/config.caps" "$B/config.json"
	bundle_jq "$B" '.linux.resources.devices = [{allow: false, access: "rwm"},
		{allow: true, type: "b", access: "rwm"}, {allow: false, type: "b", major: 7, minor: 0, access: "rwm"}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.devices[2]: on cgroup v1 a deny takes back only an allow of the same type and numbers, and devices[1] would stay allowed"* ]]
	run isola state "$ID"
	[ "$status" -ne 0 ]
	# The other way round: a wider deny leaves the narrower allow in the kernel.
	for rules in '[{allow: true, type: "b", major: 7, minor: 0, access: "rw"}, {allow: false, type: "b", access: "rwm"}]' \
		'[{allow: true, type: "b", major: 7, access: "rw"}, {allow: false, type: "b", minor: 0, access: "r"}]' \
		'[{allow: true, type: "b", major: 7, minor: 0, access: "rw"}, {allow: false, type: "a", access: "r"}]'; do
		cp "$TMP/config.caps" "$B/config.json"
		bundle_jq "$B" ".linux.resources.devices = [{allow: false, access: \"rwm\"}] + $rules"
		run isola run -b "$B" "$ID"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"linux.resources.devices[2]: on cgroup v1 a deny takes back only"*"devices[1] would stay allowed"* ]]
	done
	# The same numbers: the kernel takes the access back, so it goes through.
	cp "$TMP/config.caps" "$B/config.json"
	bundle_jq "$B" '.linux.resources.devices = [{allow: false, access: "rwm"},
		{allow: true, type: "b", major: 7, minor: 0, access: "rwm"}, {allow: false, type: "b", major: 7, minor: 0, access: "w"}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *READ* ]]
	[[ "$output" != *WRITE* ]]
}

# A privileged config lists every host device; each one got an `m` rule of its
# own, and 512 and more failed create with "more than 512 rules".
@test "600 linux.devices entries: create works (no rule per device)" {
	args sh -c 'ls /dev/x599 && echo x >/dev/x599 && echo ok'
	bundle_jq "$B" '.linux.resources.devices = [{allow: true, access: "rwm"}]
		| .linux.devices = [range(0; 600) | {path: "/dev/x\(.)", type: "c", major: 1, minor: 3,
			fileMode: 438, uid: 0, gid: 0}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *ok ]]
}

# A review helper planted a 1:3 node on the bundle's disk with "/dev/../xb",
# and a /dev symlinked into a volume (mounted after /dev's tmpfs) took the
# default nodes, links and unlinks into the host's directory.
@test "linux.devices: a path with . or .. is refused; a rootfs whose /dev is a symlink makes nothing through it" {
	args true
	for p in /dev/../xb /dev/./x /dev/x/.. /dev/; do
		bundle_jq "$B" ".linux.devices = [{path: \"$p\", type: \"c\", major: 1, minor: 3}]"
		# To a file: a create that works leaves an init holding its stdio.
		st=0
		isola create -b "$B" "$ID" 2>"$TMP/err" >/dev/null || st=$?
		cat "$TMP/err"
		[ "$st" -ne 0 ]
		grep -q "linux.devices\[0\].path" "$TMP/err"
		[ "$(wc -l <"$TMP/err")" = 1 ]
		[ ! -e "$B/rootfs/xb" ]
		[ ! -e "$R/$ID" ]
	done
	mkdir "$TMP/hostvol" "$B/rootfs/vol"
	touch "$TMP/hostvol/null"
	rm -rf --one-file-system "$B/rootfs/dev"
	ln -s vol "$B/rootfs/dev"
	bundle_jq "$B" "del(.linux.devices) | .mounts += [{destination: \"/vol\", type: \"bind\",
		source: \"$TMP/hostvol\", options: [\"rbind\"]}]"
	st=0
	isola run -b "$B" "$ID" 2>"$TMP/err" >/dev/null || st=$?
	cat "$TMP/err"
	[ "$st" -ne 0 ]
	grep -q "the rootfs's /dev is a symbolic link" "$TMP/err"
	[ "$(ls "$TMP/hostvol")" = null ]
	[ -f "$TMP/hostvol/null" ]
	[ ! -e "$R/$ID" ]
}

# The caller's umask (podman's, a shell's 022 or 077) must not cut a device's
# mode: /dev/null 0644 is a /dev/null only root can write to.
@test "devices get their mode whatever the caller's umask: /dev/null 0666, fileMode as given" {
	args sh -c 'stat -c "%n %a" /dev/null /dev/zero /dev/tty /dev/mynull /dev/mine'
	bundle_jq "$B" '.linux.devices = [
		{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 8630},
		{"path": "/dev/mine", "type": "c", "major": 1, "minor": 5, "fileMode": 8624}]'
	run sh -c 'umask 077; exec "$0" --root "$1" run -b "$2" "$3"' "$ISOLA" "$R" "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null 666" ]
	[ "${lines[1]}" = "/dev/zero 666" ]
	[ "${lines[2]}" = "/dev/tty 666" ]
	[ "${lines[3]}" = "/dev/mynull 666" ]
	[ "${lines[4]}" = "/dev/mine 660" ]
}

@test "create refuses a capability outside the runtime's bounding set, naming it" {
	require_cmd setpriv
	caps='["CAP_SYS_PTRACE"]'
	args true
	bundle_jq "$B" ".process.capabilities.bounding += $caps
		| .process.capabilities.effective += $caps | .process.capabilities.permitted += $caps"
	run setpriv --bounding-set -sys_ptrace "$ISOLA" --root "$R" create -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.capabilities.effective: cap_sys_ptrace is not in this host's capability bounding set"* ]]
	[ -z "$(ls -A "$R" 2>/dev/null)" ]
	# Only in the bounding list: nothing to apply, so it is accepted (as runc).
	bundle_jq "$B" ".process.capabilities = {\"bounding\": $caps}"
	run setpriv --bounding-set -sys_ptrace "$ISOLA" --root "$R" run -b "$B" "$ID"
	[ "$status" -eq 0 ]
}

# ns_run SCRIPT: run SCRIPT (bash) in a private mount namespace of its own.
ns_run() {
	require_cmd unshare
	unshare -m bash -c "$1"
}

@test "rshared volume is a peer of the host's mount: mounts propagate both ways" {
	caps='["CAP_SYS_ADMIN"]'
	mkdir -p "$TMP/vol"
	args sh -c 'grep " /vol " /proc/self/mountinfo > /vol/line
		mkdir -p /vol/in && mount -t tmpfs inner /vol/in && touch /vol/in/made
		for i in $(seq 100); do [ -e /vol/host/made ] && break; sleep 0.1; done
		[ -e /vol/host/made ] && touch /vol/in/seen; sleep 100'
	bundle_jq "$B" ".mounts += [{\"destination\": \"/vol\", \"type\": \"bind\",
			\"source\": \"$TMP/vol\", \"options\": [\"rbind\", \"rshared\"]}]
		| .linux.rootfsPropagation = \"rshared\"
		| .process.capabilities.bounding += $caps | .process.capabilities.effective += $caps
		| .process.capabilities.permitted += $caps"
	run ns_run "set -e
		mount -t tmpfs vol '$TMP/vol' && mount --make-shared '$TMP/vol'
		grep ' $TMP/vol ' /proc/self/mountinfo > '$TMP/host-line'
		'$ISOLA' --root '$R' run -d -b '$B' '$ID' > '$TMP/out' 2>&1 3>&-
		for i in \$(seq 100); do [ -e '$TMP/vol/in/made' ] && break; sleep 0.1; done
		mkdir '$TMP/vol/host' && mount -t tmpfs host '$TMP/vol/host' && touch '$TMP/vol/host/made'
		for i in \$(seq 100); do [ -e '$TMP/vol/in/seen' ] && break; sleep 0.1; done
		ls '$TMP/vol/in' > '$TMP/seen'; cp '$TMP/vol/line' '$TMP/ct-line' || true; cat '$TMP/out'
		'$ISOLA' --root '$R' delete --force '$ID'
		umount -R '$TMP/vol'"
	echo "$output"
	[ "$status" -eq 0 ]
	host=$(grep -o 'shared:[0-9]*' "$TMP/host-line")
	[ -n "$host" ]
	echo "host: $host; container: $(cat "$TMP/ct-line")"
	grep -q " $host " "$TMP/ct-line"
	grep -q "made" "$TMP/seen"
	grep -q "seen" "$TMP/seen"
}

@test "every rootfsPropagation value works; unbindable is applied to the new root" {
	args awk '$5 == "/"' /proc/self/mountinfo
	for p in private rprivate slave rslave shared rshared unbindable runbindable; do
		bundle_jq "$B" ".linux.rootfsPropagation = \"$p\""
		run isola run -b "$B" "$ID-$p"
		[ "$status" -eq 0 ] || { echo "$p: $output"; false; }
		case $p in
		*unbindable) [[ "$output" == *unbindable* ]] ;;
		*shared) [[ "$output" == *shared:* ]] ;;
		esac
	done
}

# No mounts at all: what a container without its own mount namespace may ask for.
no_mounts() {
	bundle_jq "$B" '.mounts = [] | .linux.maskedPaths = [] | .linux.readonlyPaths = []
		| .root.readonly = false | del(.linux.sysctl) | del(.linux.devices)'
}

@test "no mount namespace listed: the container shares the caller's mounts" {
	no_mounts
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "mount"))'
	args sh -c 'readlink /proc/self/ns/mnt; cat /tmp/marker'
	run ns_run "set -e
		mount -t proc proc '$B/rootfs/proc'
		mount -t tmpfs t '$B/rootfs/tmp' && echo from-caller > '$B/rootfs/tmp/marker'
		readlink /proc/self/ns/mnt
		'$ISOLA' --root '$R' run -b '$B' '$ID' 3>&-
		umount '$B/rootfs/tmp' '$B/rootfs/proc'"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${lines[1]}" ]
	[ "${lines[2]}" = from-caller ]
	# What needs mounts is refused up front, naming the field.
	bundle_jq "$B" '.linux.maskedPaths = ["/proc/kcore"]'
	run isola create -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.maskedPaths: needs a new mount namespace"* ]]
	[ -z "$(ls -A "$R" 2>/dev/null)" ]
}

@test "a mount namespace joined by path" {
	no_mounts
	args sh -c 'readlink /proc/self/ns/mnt; cat /tmp/marker'
	# The namespace is held by a live process and named as /proc/PID/ns/mnt,
	# not bound to a file: on this host's 6.18 kernel, `unshare --mount=FILE`
	# failed 4 times in 15 with EINVAL from the bind (the kernel's mount
	# namespace loop check, which compares namespace ids).
	run ns_run "set -e
		unshare --mount --propagation private sh -c \"mount -t proc proc '$B/rootfs/proc'
			mount -t tmpfs t '$B/rootfs/tmp'; echo in-joined > '$B/rootfs/tmp/marker'
			readlink /proc/self/ns/mnt > '$TMP/nsid.tmp'; mv '$TMP/nsid.tmp' '$TMP/nsid'
			exec sleep 1000\" &
		holder=\$!
		for i in \$(seq 200); do [ -e '$TMP/nsid' ] && break; sleep 0.05; done
		cat '$TMP/nsid'
		jq --arg p /proc/\$holder/ns/mnt '.linux.namespaces |= map(if .type == \"mount\" then .path = \$p else . end)' \\
			'$B/config.json' > '$B/c.new'
		mv '$B/c.new' '$B/config.json'
		rc=0; '$ISOLA' --root '$R' run -b '$B' '$ID' 3>&- || rc=\$?
		kill \$holder; wait \$holder || :
		exit \$rc"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${lines[1]}" ]
	[ "${lines[2]}" = in-joined ]
	[ ! -e "$B/rootfs/tmp/marker" ]
}

# The init chroot()ed into the rootfs; exec must go there too, not stay in
# the mount namespace's root (the host's, or the joined namespace's).
@test "exec into a container without a mount namespace of its own lands in its root" {
	no_mounts
	args sleep 1000
	echo in-rootfs > "$B/rootfs/marker"
	for how in none joined; do
		if [ $how = none ]; then
			bundle_jq "$B" '.linux.namespaces |= map(select(.type != "mount"))'
		else
			bundle_jq "$B" '.linux.namespaces += [{"type": "mount"}]'
		fi
		run ns_run "set -e
			mount -t proc proc '$B/rootfs/proc'
			if [ $how = joined ]; then
				unshare --mount --propagation private sleep 1000 &
				holder=\$!
				for i in \$(seq 200); do
					[ \"\$(readlink /proc/\$holder/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ] && break
					sleep 0.05
				done
				jq --arg p /proc/\$holder/ns/mnt '.linux.namespaces |= map(if .type == \"mount\" then .path = \$p else . end)' \\
					'$B/config.json' > '$B/c.new'
				mv '$B/c.new' '$B/config.json'
			fi
			'$ISOLA' --root '$R' run -d -b '$B' '$ID' 3>&- </dev/null >/dev/null 2>&1
			rc=0
			'$ISOLA' --root '$R' exec '$ID' cat /marker || rc=\$?
			'$ISOLA' --root '$R' exec '$ID' sh -c 'ls / | wc -l' || rc=\$?
			'$ISOLA' --root '$R' delete -f '$ID'
			[ $how = none ] || { kill \$holder; wait \$holder || :; }
			umount '$B/rootfs/proc'
			exit \$rc"
		echo "$how: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = in-rootfs ]
		[ "${lines[1]}" = "$(ls "$B/rootfs" | wc -l)" ]
	done
}

@test "unimplemented fields are refused when set, naming the field; empty ones pass" {
	args true
	for f in '.process.apparmorProfile = "p"' '.process.selinuxLabel = "system_u:r:x"' \
		'.linux.mountLabel = "system_u:object_r:x"' '.linux.intelRdt = {"closID": "x"}' \
		'.process.scheduler = {"policy": "SCHED_FIFO"}' '.linux.netDevices = {"eth9": {}}' \
		'.linux.memoryPolicy = {"mode": "MPOL_BIND"}' '.process.execCPUAffinity = {"initial": "0"}'; do
		cp "$B/config.json" "$TMP/orig.json"
		bundle_jq "$B" "$f"
		run isola create -b "$B" "$ID"
		cp "$TMP/orig.json" "$B/config.json"
		[ "$status" -ne 0 ] || { echo "accepted: $f"; false; }
		name=${f%% =*}
		[[ "$output" == *"${name#.}: not supported by isola"* ]] || { echo "$f: $output"; false; }
		[ -z "$(ls -A "$R" 2>/dev/null)" ]
	done
	bundle_jq "$B" '.process.apparmorProfile = "" | .process.selinuxLabel = "" | .linux.mountLabel = ""'
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
}

@test "process.ioPriority is applied" {
	args sh -c 'ionice -p $$'
	bundle_jq "$B" '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *idle* ]]
	bundle_jq "$B" '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 9}'
	run isola run -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ioPriority.priority: 9"* ]]
}

@test "features lists the kernel's capabilities and no security module it lacks" {
	run isola features
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.linux.capabilities | index("CAP_SYS_ADMIN")'
	echo "$output" | jq -e '.linux.capabilities | length > 30'
	echo "$output" | jq -e '.linux.apparmor.enabled == false and .linux.selinux.enabled == false'
}

@test "mounts: a mount on / (an overlay) covers the rootfs, and the mounts after it go into it" {
	mv "$B/rootfs" "$TMP/lower"
	mkdir "$B/rootfs" "$TMP/upper" "$TMP/work"
	jq --arg o "lowerdir=$TMP/lower,upperdir=$TMP/upper,workdir=$TMP/work" \
		'.mounts = [{"destination": "/", "type": "overlay", "source": "overlay",
			"options": ($o | split(","))}] + .mounts | .root.readonly = false' "$B/config.json" >"$TMP/c.json"
	mv "$TMP/c.json" "$B/config.json"
	args sh -c 'cat /proc/self/stat >/dev/null && echo proc-ok; echo x >/new'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = proc-ok ]
	[ -f "$TMP/upper/new" ]
	[ ! -e "$TMP/lower/new" ]
	[ -z "$(ls -A "$B/rootfs")" ]
}

# lowers N: $TMP/lower (the busybox rootfs) at the bottom and N-1 empty
# directories with 60-character names above it; prints lowerdir=top:...:bottom.
lowers() {
	local i d list=$TMP/lower
	mv "$B/rootfs" "$TMP/lower"
	mkdir "$B/rootfs" "$TMP/upper" "$TMP/work" "$TMP/l"
	for ((i = 1; i < $1; i++)); do
		d=$TMP/l/$(printf 'layer-%03d-%053d' "$i" 0)
		mkdir "$d"
		list=$d:$list
	done
	echo "lowerdir=$list"
}

@test "mounts: an overlay on / with 150 lower directories (10 KiB of options, past mount(2)'s page)" {
	lower=$(lowers 149)
	[ "${#lower}" -gt 4096 ]
	echo bottom >"$TMP/lower/bottom"
	echo shadowed >"$TMP/lower/top"
	# The top one's name has a colon and a comma, escaped as overlayfs reads them.
	mkdir "$TMP/l/top:most,dir"
	echo top >"$TMP/l/top:most,dir/top"
	lower="lowerdir=$TMP/l/top\\:most\\,dir:${lower#lowerdir=}"
	jq --arg l "$lower" --arg o "upperdir=$TMP/upper,workdir=$TMP/work" \
		'.mounts = [{"destination": "/", "type": "overlay", "source": "overlay",
			"options": ([$l] + ($o | split(",")) + ["nosuid"])}] + .mounts
		| .root.readonly = false' "$B/config.json" >"$TMP/c.json"
	mv "$TMP/c.json" "$B/config.json"
	args sh -c 'cat /bottom /top; echo x >/new
		awk '"'"'$5 == "/" { print $6 ~ /nosuid/, $(NF - 2) }'"'"' /proc/self/mountinfo'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'bottom\ntop\n1 overlay')" ]
	[ -f "$TMP/upper/new" ]
	[ ! -e "$TMP/lower/new" ]
	[ -z "$(ls -A "$B/rootfs")" ]
}

# tmpfs_mount DEST OPTION...: append a tmpfs mount to the bundle's mounts.
tmpfs_mount() {
	local dest=$1
	shift
	bundle_jq "$B" ".mounts += [{\"destination\": \"$dest\", \"type\": \"tmpfs\",
		\"source\": \"tmpfs\", \"options\": $(jq -nc '$ARGS.positional' --args -- "$@")}]"
}

@test "mounts: tmpcopyup copies the image's tree into the tmpfs: owners, modes, links not followed, holes, hard links, no other mount entered" {
	local d=$B/rootfs/data
	mkdir -p "$d/sub/deeper" "$B/rootfs/data2"
	printf 'content' >"$d/sub/deeper/f"
	chown 1234:5678 "$d/sub/deeper/f"
	chmod 4755 "$d/sub/deeper/f"
	chmod 0711 "$d/sub"
	ln -s /etc/passwd "$d/abs-link"
	ln -s ../../../../../../../etc "$d/rel-link"
	mkfifo "$d/fifo"
	# 64 GiB of hole and 4 KiB of data: copied as written, it would not fit size=1m.
	truncate -s 64G "$d/sparse"
	printf 'tail' | dd of="$d/sparse" bs=1 seek=$((64 << 30)) conv=notrunc status=none
	# 100 links to 64 KiB: one copy and 99 links (100 copies would not fit 1 MiB).
	head -c 65536 /dev/urandom >"$d/sub/linked"
	for ((i = 0; i < 99; i++)); do ln "$d/sub/linked" "$d/l$i"; done
	touch -d '2001-02-03 04:05:06' "$d/sub/deeper/f"
	chmod 0750 "$d"
	# data/mnt: a tmpfs mounted before (mount order), with a bind in it: the
	# copy has its mount point, empty.
	mkdir "$d/mnt"
	tmpfs_mount /data/mnt size=1m
	bundle_jq "$B" '.mounts += [{"destination": "/data/mnt/x", "type": "bind",
		"source": "/etc/hostname", "options": ["bind", "ro"]}]'
	tmpfs_mount /data size=1m tmpcopyup
	tmpfs_mount /data2 size=1m notmpcopyup
	args sh -c 'grep -q " /data tmpfs" /proc/mounts && echo tmpfs
		cat /data/sub/deeper/f; echo
		stat -c "%u:%g %a %Y" /data/sub/deeper/f /data/sub /data
		readlink /data/abs-link; readlink /data/rel-link
		[ -p /data/fifo ] && echo fifo
		ls -A /data/mnt | wc -l
		echo x >/data/new && echo writable
		stat -c %s /data/sparse; tail -c 4 /data/sparse; echo
		stat -c %h /data/sub/linked; cmp /data/l98 /data/sub/linked && echo same'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = tmpfs ]
	[ "${lines[1]}" = content ]
	[ "${lines[2]}" = "1234:5678 4755 $(date -d '2001-02-03 04:05:06' +%s)" ]
	[ "${lines[3]%% *}" = "0:0" ]
	[ "$(echo "${lines[3]}" | cut -d' ' -f2)" = 711 ]
	[ "$(echo "${lines[4]}" | cut -d' ' -f1,2)" = "0:0 750" ]
	[ "${lines[5]}" = /etc/passwd ]
	[ "${lines[6]}" = ../../../../../../../etc ]
	[ "${lines[7]}" = fifo ]
	[ "${lines[8]}" = 0 ]
	[ "${lines[9]}" = writable ]
	[ "${lines[10]}" = $(((64 << 30) + 4)) ]
	[ "${lines[11]}" = tail ]
	[ "${lines[12]}" = 100 ]
	[ "${lines[13]}" = same ]
	# The image's tree is untouched; the write went to the tmpfs.
	[ ! -e "$d/new" ]
	[ "$(cat "$d/sub/deeper/f")" = content ]
}

@test "mounts: tmpcopyup from an overlay root whose layers are on two file systems copies the lower layer's files" {
	# As a VM guest's root is (ext4 under a tmpfs upper): overlayfs gives the
	# lower files the lower layer's st_dev, not the directories'; the copy
	# tells mounts by statx's mount id and still takes them.
	local o=$TMP/ovl
	mkdir -p "$B/rootfs/data/sub" "$o/up" "$o/root"
	echo lower-file >"$B/rootfs/data/sub/f"
	ln -s sub/f "$B/rootfs/data/link"
	mount -t tmpfs tmpfs "$o/up"
	mkdir "$o/up/u" "$o/up/w"
	mount -t overlay overlay -o "lowerdir=$B/rootfs,upperdir=$o/up/u,workdir=$o/up/w" "$o/root"
	bundle_jq "$B" ".root.path = \"$o/root\""
	tmpfs_mount /data size=1m tmpcopyup
	args sh -c 'cat /data/sub/f; readlink /data/link'
	run isola run -b "$B" "$ID"
	umount "$o/root" "$o/up"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "lower-file
sub/f" ]
}

@test "mounts: a read-only tmpfs is made so after the mounts below it; tmpcopyup of a tree too deep fails naming it, nothing left" {
	mkdir -p "$B/rootfs/ro/keep"
	echo kept >"$B/rootfs/ro/keep/file"
	tmpfs_mount /ro size=1m tmpcopyup ro
	# A bind below a read-only tmpfs needs its mount point made in it first.
	bundle_jq "$B" '.mounts += [{"destination": "/ro/hostname", "type": "bind",
		"source": "/etc/hostname", "options": ["bind", "ro"]}]'
	args sh -c 'cat /ro/keep/file; [ -s /ro/hostname ] && echo bound
		touch /ro/x 2>/dev/null || echo read-only'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "kept
bound
read-only" ]
	# 200 levels: past CT_COPYUP_DEPTH (128).
	local p=$B/rootfs/ro i
	for ((i = 0; i < 200; i++)); do p=$p/d; done
	mkdir -p "$p"
	run isola run -b "$B" "$ID-deep"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"tmpcopyup of \`/ro\`: more than 128 levels at \`/keep"* ||
		"$output" == *"tmpcopyup of \`/ro\`: more than 128 levels at \`/d/d/d"* ]]
	run isola state "$ID-deep"
	[ "$status" -ne 0 ]
	refute grep -q "$B/rootfs" /proc/self/mountinfo
}

@test "mounts: tmpcopyup does not copy a bind mount from the same file system below the destination" {
	# A host directory on the rootfs's own file system (same st_dev), bound
	# read-only below the tmpfs: its files must not become writable copies.
	mkdir -p "$TMP/hostvol" "$B/rootfs/data/vol"
	echo host-volume-file >"$TMP/hostvol/secret"
	[ "$(stat -c %d "$TMP/hostvol")" = "$(stat -c %d "$B/rootfs/data")" ] ||
		skip "SKIP: the temp dir and the bundle are on different file systems"
	echo image >"$B/rootfs/data/kept"
	bundle_jq "$B" ".mounts += [{destination: \"/data/vol\", type: \"bind\",
		source: \"$TMP/hostvol\", options: [\"rbind\", \"ro\"]}]"
	tmpfs_mount /data size=1m tmpcopyup
	args sh -c 'cat /data/kept; ls -A /data/vol | wc -l'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "image
0" ]
}

@test "mounts: a tmpcopyup tmpfs over /sys starts empty instead of copying the kernel's files" {
	tmpfs_mount /sys size=1m tmpcopyup
	args sh -c 'ls -A /sys | wc -l'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}

@test "mounts: tmpcopyup keeps at most 16 MiB of hard-link paths; past that, links are copies" {
	# 4600 files with two links each, under a 3,770-character path: remembering
	# every one would keep 17 MiB of paths in the init (65536 of them: 256 MiB).
	local l i p=/data
	l=$(printf 'd%.0s' {1..250})
	for ((i = 0; i < 15; i++)); do p=$p/$l; done
	mkdir -p "$B/rootfs$p/a" "$B/rootfs$p/b"
	(cd "$B/rootfs$p/a" && touch f{0000..4599} && ln f* ../b/)
	tmpfs_mount /data tmpcopyup
	args sh -c "cd $p && ls a b | grep -c f; stat -c %h a/* b/* | grep -c '^1\$'"
	run isola run -b "$B" "$ID"
	echo "${output:0:200}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 9200 ]
	# The copied ones: both names of each file past the cap, and not all of them.
	[ "${lines[1]}" -gt 0 ] && [ "${lines[1]}" -lt 9200 ]
}

@test "mounts: a read-only tmpcopyup tmpfs on / gets the image's files and the mount points, then is made read-only" {
	bundle_jq "$B" '.mounts = [{destination: "/", type: "tmpfs", source: "tmpfs",
		options: ["ro", "tmpcopyup"]}] + .mounts'
	args sh -c 'touch /x 2>/dev/null || echo read-only
		grep " / / " /proc/self/mountinfo | grep -c " - tmpfs "; [ -d /proc/self ] && echo proc'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "read-only
1
proc" ]
}

@test "mounts: a destination with a . or .. component is refused naming it (/. is / under another name)" {
	local d
	cp "$B/config.json" "$TMP/config.orig"
	for d in /. /./ /data/.. //./ /a/./b; do
		cp "$TMP/config.orig" "$B/config.json"
		tmpfs_mount "$d" tmpcopyup
		run isola run -b "$B" "$ID"
		echo "$d: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"mounts["*"].destination: \`$d\` must be absolute, without \`.\` or \`..\`"* ]]
	done
	run isola state "$ID"
	[ "$status" -ne 0 ]
}

@test "mounts: only a proc mount may go on /proc, in one line naming the entry" {
	local d
	cp "$B/config.json" "$TMP/config.orig"
	for d in /proc //proc/; do
		cp "$TMP/config.orig" "$B/config.json"
		tmpfs_mount "$d" size=1m
		run isola run -b "$B" "$ID"
		echo "$d: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"mounts["*"].destination: only a proc mount may go on /proc (this is tmpfs)" ]]
	done
	cp "$TMP/config.orig" "$B/config.json"
	bundle_jq "$B" '.mounts += [{"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]}]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[[ "$output" == *"only a proc mount may go on /proc (this is a bind)" ]]
	run isola state "$ID"
	[ "$status" -ne 0 ]
	# A proc mount of its own still goes there (the spec's default has one).
	cp "$TMP/config.orig" "$B/config.json"
	args cat /proc/self/comm
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = cat ]
}

# A review helper's finding: the rule above read the destination's text, and
# the image's symlink /data -> /proc put a bind over the container's /proc,
# whose self/fd links then sent the exec fifo to /dev/null: the process ran at
# create, before start.
@test "mounts: a destination that resolves into /proc (an image's symlink, /proc/1) is refused; lxcfs's file binds are not" {
	ln -s /proc "$B/rootfs/data"
	mkdir -p "$TMP/vol/self/fd" "$TMP/mark"
	for i in $(seq 0 30); do ln -s /dev/null "$TMP/vol/self/fd/$i"; done
	cp "$B/config.json" "$TMP/config.orig"
	args sh -c 'date > /mark/ran; sleep 30'
	V=$TMP/vol M=$TMP/mark bundle_jq "$B" '.mounts += [
		{destination: "/data", type: "bind", source: $ENV.V, options: ["rbind"]},
		{destination: "/mark", type: "bind", source: $ENV.M, options: ["rbind"]}]'
	run isola create -b "$B" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"\`/data\` is in the container's /proc"* ]]
	[ ! -e "$TMP/mark/ran" ]
	run isola state "$ID"
	[ "$status" -ne 0 ]
	for d in /proc/1 /proc/self/fd /data/sys; do
		cp "$TMP/config.orig" "$B/config.json"
		tmpfs_mount "$d" size=1m
		run isola run -b "$B" "$ID"
		echo "$d: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"is in the container's /proc"* ]]
	done
	# A bind of a file over /proc/meminfo (lxcfs) still goes there.
	echo "MemTotal: 1 kB" >"$TMP/meminfo"
	cp "$TMP/config.orig" "$B/config.json"
	F=$TMP/meminfo bundle_jq "$B" '.mounts += [
		{destination: "/proc/meminfo", type: "bind", source: $ENV.F, options: ["bind", "ro"]}]'
	args head -1 /proc/meminfo
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "MemTotal: 1 kB" ]
}

@test "mounts: tmpcopyup leaves out a device node the container may not make (a user namespace)" {
	mkdir -p "$B/rootfs/data"
	mknod "$B/rootfs/data/loop" b 7 0
	mknod "$B/rootfs/data/null" c 1 3
	echo kept >"$B/rootfs/data/file"
	# The devices cgroup lets any node be made (runc's c/b *:* m) but a user
	# namespace does not: mknod is EPERM there.
	bundle_jq "$B" '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 0, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 0, size: 65536}]'
	tmpfs_mount /data size=1m tmpcopyup
	args sh -c 'cat /data/file; [ -e /data/null ] || echo no-null; [ -e /data/loop ] || echo no-loop'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "kept
no-null
no-loop" ]
	# Without one, both are made, as with runc.
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "user"))
		| del(.linux.uidMappings) | del(.linux.gidMappings)'
	args sh -c '[ -c /data/null ] && [ -b /data/loop ] && echo both'
	run isola run -b "$B" "$ID"
	[ "$output" = both ]
}

# The `cgroup` mount on a cgroup v1 or hybrid host (docs/runtime.md): a tmpfs
# with the container's own cgroup of each hierarchy, as runc makes it.
v1_host() {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && skip "SKIP: /sys/fs/cgroup is cgroup2 (pure v2 host)"
	[ -f /sys/fs/cgroup/memory/cgroup.procs ] && [ -f /sys/fs/cgroup/pids/cgroup.procs ] ||
		skip "SKIP: no cgroup v1 memory and pids hierarchies on this host"
}

# cgroup_view NS: limits set, the default ro `cgroup` mount, a cgroup namespace
# or none (NS = with/without); args print what the container sees.
cgroup_view() {
	local ns='map(select(.type != "cgroup"))'
	[ "$1" = with ] && ns="$ns + [{type: \"cgroup\"}]"
	bundle_jq "$B" ".linux.namespaces |= ($ns)
		| .linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 77}
		| .mounts |= map(select(.destination != \"/sys/fs/cgroup\"))
		| .mounts += [{destination: \"/sys/fs/cgroup\", type: \"cgroup\", source: \"cgroup\",
			options: [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}]"
	args sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
		grep -q " /sys/fs/cgroup/unified .* - cgroup2 " /proc/self/mountinfo && echo unified
		[ -f /sys/fs/cgroup/unified/cgroup.procs ] || echo no-unified-procs
		mkdir /sys/fs/cgroup/memory/x 2>/dev/null || echo memory-ro
		touch /sys/fs/cgroup/x 2>/dev/null || echo tmpfs-ro
		grep -qx 1 /sys/fs/cgroup/systemd/cgroup.procs 2>/dev/null && echo systemd-own
		ls /sys/fs/cgroup/memory /sys/fs/cgroup/systemd'
}

# check_cgroup_view SIBLING: the output of cgroup_view's container.
check_cgroup_view() {
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 67108864 ]
	[ "${lines[1]}" = 77 ]
	if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
		[ "${lines[2]}" = unified ]
	else
		[ "${lines[2]}" = no-unified-procs ]
	fi
	[[ "$output" == *memory-ro*tmpfs-ro* ]]
	[[ "$output" == *memory.usage_in_bytes* ]]
	# name=systemd: the container's own cgroup there, holding its pid 1.
	if [ -f /sys/fs/cgroup/systemd/cgroup.procs ] && [ ! -f /sys/fs/cgroup/systemd/cgroup.controllers ]; then
		[[ "$output" == *systemd-own* ]]
	fi
	# Only its own cgroup: no sibling, nothing of the host's systemd tree.
	[[ "$output" != *"$1"* ]]
	[[ "$output" != *"$ID"* ]]
	[[ "$output" != *release_agent* ]]
}

@test "cgroup v1 host: without a cgroup namespace the cgroup mount shows the container's own v1 cgroups" {
	v1_host
	SIB=isola-test-$$-$BATS_TEST_NUMBER
	mkdir /sys/fs/cgroup/memory/"$SIB"
	cgroup_view without
	run isola run -b "$B" "$ID"
	rmdir /sys/fs/cgroup/memory/"$SIB"
	check_cgroup_view "$SIB"
}

@test "cgroup v1 host: with a cgroup namespace the cgroup mount shows the container's own v1 cgroups" {
	v1_host
	SIB=isola-test-$$-$BATS_TEST_NUMBER
	mkdir /sys/fs/cgroup/memory/"$SIB"
	cgroup_view with
	run isola run -b "$B" "$ID"
	rmdir /sys/fs/cgroup/memory/"$SIB"
	check_cgroup_view "$SIB"
}

# A named v1 hierarchy isola places nothing in (elogind's, a user's): the
# container is in its caller's cgroup there, whose siblings are not its to
# see or write.  The test mounts one (the hierarchy outlives the test in the
# kernel, empty, as any named one does) over a private copy of the layout.
@test "cgroup v1 host: a named hierarchy other than name=systemd is an empty directory in the view" {
	v1_host
	cgroup_view without
	bundle_jq "$B" '.mounts |= map(if .destination == "/sys/fs/cgroup"
		then .options |= map(select(. != "ro")) else . end)'
	args sh -c 'ls /sys/fs/cgroup/isolatest; mkdir /sys/fs/cgroup/isolatest/sib/x && echo WROTE'
	mkdir "$TMP/cg"
	run unshare -m --propagation private sh -ec '
		mount --rbind /sys/fs/cgroup "$1"
		mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
		for d in "$1"/*; do
			[ -d "$d" ] && [ ! -L "$d" ] || continue
			mkdir "/sys/fs/cgroup/${d##*/}"
			mount --bind "$d" "/sys/fs/cgroup/${d##*/}"
		done
		mkdir /sys/fs/cgroup/isolatest
		mount -t cgroup -o none,name=isolatest cgroup /sys/fs/cgroup/isolatest
		mkdir -p /sys/fs/cgroup/isolatest/c1/sib
		echo $$ >/sys/fs/cgroup/isolatest/c1/cgroup.procs
		set +e
		"$2" --root "$3" run -b "$4" "$5"
		[ -d /sys/fs/cgroup/isolatest/c1/sib/x ] && echo HOST-WRITTEN
		echo $$ >/sys/fs/cgroup/isolatest/cgroup.procs
		rmdir /sys/fs/cgroup/isolatest/c1/sib/x /sys/fs/cgroup/isolatest/c1/sib \
			/sys/fs/cgroup/isolatest/c1 2>/dev/null
		true' sh "$TMP/cg" "$ISOLA" "$R" "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep -x sib <<<"$output")" ]
	[[ "$output" != *cgroup.procs* ]]
	[[ "$output" != *WROTE* ]]
	[[ "$output" != *HOST-WRITTEN* ]]
}

@test "cgroup v1 host: a rw cgroup mount lets the container make a cgroup under its own" {
	v1_host
	cgroup_view with
	bundle_jq "$B" '.mounts |= map(if .destination == "/sys/fs/cgroup"
		then .options |= map(select(. != "ro")) else . end)'
	args sh -c 'mkdir /sys/fs/cgroup/memory/sub && rmdir /sys/fs/cgroup/memory/sub && echo ok'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

# runc makes a missing process.cwd (as podman does an image's WorkingDir): inside the
# rootfs, through its symlinks as the container sees them, never on the host.
@test "a missing process.cwd is made inside the rootfs, also through an absolute symlink" {
	args sh -c 'pwd; ls -ld .'
	bundle_jq "$B" '.process.cwd = "/a/b/c" | .process.terminal = false'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /a/b/c ]
	[ -d "$B/rootfs/a/b/c" ]
	[ "$(stat -c %a "$B/rootfs/a/b/c")" = 755 ]
	# An absolute link to the host's path of a directory that the rootfs has too: made in
	# the rootfs' one.
	mkdir "$TMP/outside"
	mkdir -p "$B/rootfs/$TMP/outside"
	ln -s "$TMP/outside" "$B/rootfs/lnk"
	bundle_jq "$B" '.process.cwd = "/lnk/x"'
	run isola run -b "$B" "$ID-2"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$TMP/outside/x" ]
	[ ! -e "$TMP/outside/x" ]
	[ -d "$B/rootfs/$TMP/outside/x" ]
	# A link to nowhere in the rootfs: an error naming the field, nothing made outside.
	ln -s /nowhere/at/all "$B/rootfs/dangling"
	bundle_jq "$B" '.process.cwd = "/dangling/y"'
	run isola run -b "$B" "$ID-3"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.cwd \`/dangling/y\`"* ]]
	[ ! -e /nowhere ]
	# /dev is made first: a cwd of /dev/null is the device (not a directory), not a
	# directory in its way.
	bundle_jq "$B" '.process.cwd = "/dev/null"'
	run isola run -b "$B" "$ID-4"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.cwd"*"Not a directory"* ]]
}
