#!/usr/bin/env bats
# runc's exec on a VM container of the OCI mode (isola-vm exec;
# docs/vm-containers.md), on this host: no guest boots here (the real VM is in
# tests/l1, vmoci-exec), so a state dir as create leaves it (state.json,
# vm.json, vm.started) names a stand-in monitor (sleep) and a socket dir where
# a fake VMM + agent (vm-oci-exec-fake.py agent) answers the exec session and
# echoes the process config it got.  vm-oci-exec-fake.py engine plays conmon:
# a subreaper that takes the console, resizes it and reaps the exec monitor.
load helpers
bats_require_minimum_version 1.5.0

FAKE_PY=$BATS_TEST_DIRNAME/vm-oci-exec-fake.py

setup() {
	isola_tmp
	require_cmd python3
	require_cmd jq
	ID=vmociexec-$$
	R=$TMP/root
	B=$TMP/bundle
	VMDIR=$TMP/vmdir
	mkdir -p "$R/$ID" "$B" "$VMDIR"
	cat >"$B/config.json" <<-'EOF'
	{"ociVersion": "1.0.2", "process": {"args": ["sleep", "1000"], "terminal": false,
	 "env": ["PATH=/bin", "HOME=/root", "KEEP=1"], "cwd": "/srv",
	 "user": {"uid": 1000, "gid": 100}}, "root": {"path": "rootfs"}}
	EOF
	sleep 1000 &
	MON=$!
	local start
	start=$(sed 's/.*) //' "/proc/$MON/stat" | cut -d' ' -f20)
	jq -n --arg id "$ID" --arg b "$B" --argjson pid "$MON" --argjson st "$start" \
		'{ociVersion: "1.0.2", id: $id, pid: $pid, startTime: $st, bundle: $b,
		  rootfs: ($b + "/rootfs"), created: "2026-01-01T00:00:00Z", owner: ""}' \
		>"$R/$ID/state.json"
	jq -n --arg d "$VMDIR" --argjson pid "$MON" --argjson st "$start" \
		'{monitor: $pid, monitorStart: $st, vmm: 0, vmmStart: 0, dir: $d}' >"$R/$ID/vm.json"
	: >"$R/$ID/vm.started"
}

teardown() {
	[ -n "${FAKE:-}" ] && kill "$FAKE" 2>/dev/null
	kill "$MON" 2>/dev/null
	isola_cleanup_tmp
}

# fake STATUS [wait]: the fake agent, in the background, once it listens.
fake() {
	python3 "$FAKE_PY" agent "$VMDIR/v.sock" "$1" "$TMP/ready" ${2:+"$2"} 2>"$TMP/fake.err" &
	FAKE=$!
	wait_until 10 "[ -e '$TMP/ready' ]"
}

@test "vm-oci-exec: foreground exec: the container's env, cwd and user, --env/--cwd/--user, the exit code, the pid file" {
	fake 42
	run "$ISOLA" --root "$R" exec --pid-file "$TMP/pid" "$ID" sh -c 'echo hi'
	echo "$output"
	[ "$status" = 42 ]
	[ "${lines[0]}" = "arg=sh" ]
	[ "${lines[2]}" = "arg=echo hi" ]
	[[ "$output" == *$'env=PATH=/bin\nenv=HOME=/root\nenv=KEEP=1\ncwd=/srv\nuid=1000\ngid=100\ntty=0'* ]]
	[ -s "$TMP/pid" ]
	wait "$FAKE"
	rm -f "$VMDIR/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" --root "$R" exec -e HOME=/h -e NEW=x=y --cwd /tmp --user 5:6 "$ID" true
	echo "$output"
	[ "$status" = 0 ]
	# HOME keeps its place with --env's value; NEW is added at the end.
	[[ "$output" == *$'env=PATH=/bin\nenv=HOME=/h\nenv=KEEP=1\nenv=NEW=x=y\ncwd=/tmp\nuid=5\ngid=6\n'* ]]
	wait "$FAKE"
}

@test "vm-oci-exec: --process FILE gives args, env, cwd and user" {
	fake 3
	cat >"$TMP/process.json" <<-'EOF'
	{"args": ["/bin/top", "-b"], "env": ["A=1"], "cwd": "/w", "user": {"uid": 7, "gid": 8},
	 "terminal": false}
	EOF
	run "$ISOLA" --root "$R" exec --process "$TMP/process.json" "$ID"
	echo "$output"
	[ "$status" = 3 ]
	[[ "$output" == *$'arg=/bin/top\narg=-b\nenv=A=1\ncwd=/w\nuid=7\ngid=8\ntty=0'* ]]
	wait "$FAKE"
}

@test "vm-oci-exec: no process.capabilities is no capability, as for a plain container; --cap adds one" {
	[ "$(jq '.process | has("capabilities")' "$B/config.json")" = false ]
	fake 0
	run "$ISOLA" --root "$R" exec "$ID" true
	echo "$output"
	[ "$status" = 0 ]
	grep -qx 'caps=0 0 0 0 0' <<<"$output"
	wait "$FAKE"
	rm -f "$VMDIR/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" --root "$R" exec --cap CAP_KILL "$ID" true
	grep -qx 'caps=20 20 0 20 20' <<<"$output"
	wait "$FAKE"
}

@test "vm-oci-exec: --cap joins the bounding, effective, permitted and ambient sets; --no-new-privs" {
	# CAP_KILL (5) from the config, CAP_NET_ADMIN (12) and CAP_CHOWN (0) from --cap.
	jq '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"],
		permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"]}' "$B/config.json" >"$TMP/c.json"
	mv "$TMP/c.json" "$B/config.json"
	fake 0
	run "$ISOLA" --root "$R" exec --cap CAP_NET_ADMIN -c cap_chown --no-new-privs "$ID" true
	echo "$output"
	[ "$status" = 0 ]
	# bounding effective inheritable permitted ambient, in hex.
	grep -qx 'caps=1021 1021 20 1021 1001' <<<"$output"
	grep -qx 'nnp=1' <<<"$output"
	wait "$FAKE"
	# Without --no-new-privs and with the config's sets alone.
	rm -f "$VMDIR/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" --root "$R" exec "$ID" true
	grep -qx 'caps=20 20 20 20 0' <<<"$output"
	[[ "$output" != *nnp=* ]]
	wait "$FAKE"
}

@test "vm-oci-exec: --detach --pid-file: the exec monitor holds the session, relays a signal, exits with the status" {
	fake 0 wait
	run python3 "$FAKE_PY" engine --signal 15 --pid-file "$TMP/pid" -- \
		"$ISOLA" --root "$R" exec --detach --pid-file "$TMP/pid" "$ID" sleep 100
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"exec=0"* ]]
	# The pid is the monitor's (not ours): it relayed SIGTERM as a SIGNAL frame
	# and exited with the process's 128 + 15, which the subreaper reaped.
	[[ "$output" == *"monitor=143"* ]]
	[ -s "$TMP/pid" ]
	wait "$FAKE"
	pid_dead "$(cat "$TMP/pid")"
}

@test "vm-oci-exec: a terminal: the pty master goes to --console-socket, a resize reaches the guest as WINCH" {
	fake 5 wait
	run python3 "$FAKE_PY" engine --console "$TMP/console.sock" -- \
		"$ISOLA" --root "$R" exec --detach --tty --console-socket "$TMP/console.sock" \
		--pid-file "$TMP/pid" "$ID" sh
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"console=/dev/ptmx"* ]]
	[[ "$output" == *"exec=0"* ]]
	[[ "$output" == *"tty=1"* ]]
	[[ "$output" == *"winch=40 100"* ]]
	[[ "$output" == *"monitor=5"* ]]
	wait "$FAKE"
}

@test "vm-oci-exec: runc's terminal rules, bad input and unsupported options: one line, no session, nothing left" {
	fake 0
	echo '{"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "terminal": true}' \
		>"$TMP/tty.json"
	echo '{"args": [], "cwd": "/"}' >"$TMP/noargs.json"
	echo '{"args": ["sh"], "cwd": "rel", "user": {"uid": 0, "gid": 0}}' >"$TMP/rel.json"
	for o in "--detach --tty" "--detach --process $TMP/tty.json" \
		"--console-socket $TMP/c.sock" "--process $TMP/noargs.json" \
		"--process $TMP/rel.json" "--process $TMP/none.json" "--cap CAP_NOSUCH" "--cap SYS_ADMIN" \
		"--preserve-fds 1" "--user root" "--env NOEQUALS" "--cwd rel"; do
		# shellcheck disable=SC2086
		run "$ISOLA" --root "$R" exec $o --pid-file "$TMP/pid" "$ID" true
		echo "$o: $output"
		[ "$status" != 0 ]
		[ "${#lines[@]}" = 1 ]
		[ ! -e "$TMP/pid" ]
	done
	run "$ISOLA" --root "$R" exec --detach --tty "$ID" true
	[[ "$output" == *"cannot allocate tty if runc will detach without setting console socket"* ]]
	run "$ISOLA" --root "$R" exec --process "$TMP/rel.json" "$ID"
	[[ "$output" == *"rel.json"*"process.cwd"* ]]
	run "$ISOLA" --root "$R" exec --cap CAP_NOSUCH "$ID" true
	[[ "$output" == *"--cap \`CAP_NOSUCH\`: not a capability"* ]]
	# The fake still waits for its one session: nobody connected.
	kill -0 "$FAKE"
	[ "$(pgrep -c -f "exec.*$ID")" = 0 ]
}

@test "vm-oci-exec: a stopped container or a VM that does not answer: an error, exit 1, no monitor left" {
	run "$ISOLA" --root "$R" exec --detach --pid-file "$TMP/pid" "$ID" true
	echo "$output"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"$VMDIR/v.sock"* ]]
	[ ! -e "$TMP/pid" ]
	[ "$(pgrep -c -f "exec.*$ID")" = 0 ]
	: >"$R/$ID/vm.exit"
	run "$ISOLA" --root "$R" exec "$ID" true
	[ "$status" = 1 ]
	[[ "$output" == *"cannot exec in a stopped container"* ]]
}
