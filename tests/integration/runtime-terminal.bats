#!/usr/bin/env bats
# process.terminal without --console-socket: the runtime allocates the pty,
# relays it both ways, follows the window size and restores the caller's
# terminal (runc's foreground run and exec -t).

load helpers

setup() {
	setup_bundle tty
	require_cmd python3
	bundle_jq "$B" '.process.terminal = true'
}

teardown() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	"$ISOLA" --root "$R" delete --force "$ID-d" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

pty_run() { # pty_run STEPS CMD...: drive CMD on a pty (tests/helpers/pty-run.py)
	printf '%s\n' "$1" >"$TMP/steps"
	shift
	timeout 60 python3 "$ISOLA_TOP/tests/helpers/pty-run.py" "$TMP/steps" -- "$@"
}

@test "run: an interactive shell on the runtime's pty, resized, terminal restored" {
	run pty_run 'expect #
send tty; stty size
expect 20 60
resize 25 70
send stty size
expect 25 70
send exit 3' "$ISOLA" --root "$R" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *"exit=3"* ]]
	[[ "$output" == *"echo-restored=yes"* ]]
	[ -z "$(ls -A "$R" 2>/dev/null)" ]
}

@test "run under script(1): output and exit code come through" {
	require_cmd script
	bundle_jq "$B" '.process.args = ["sh", "-c", "tty; echo out-$((6 * 7)); exit 5"]'
	run script -qec "'$ISOLA' --root '$R' run -b '$B' '$ID'" /dev/null </dev/null
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *"out-42"* ]]
}

# The runtime spec (and runc): with process.terminal, the pty is bound over
# /dev/console; containerd's CRI runs tty: true containers that way.
@test "the init's pty is bound over /dev/console" {
	require_cmd script
	bundle_jq "$B" '.process.args = ["sh", "-c",
		"t=$(tty); echo console=$(stat -c %t:%T /dev/console) tty=$(stat -c %t:%T $t)"]'
	run script -qec "'$ISOLA' --root '$R' run -b '$B' '$ID'" /dev/null </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ console=([0-9a-f]+:[0-9a-f]+)\ tty=([0-9a-f]+:[0-9a-f]+) ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}

@test "exec -it: a shell in a running container on the runtime's pty" {
	bundle_jq "$B" '.process.terminal = false | .process.args = ["sleep", "100"]'
	isola run -d -b "$B" "$ID-d" >/dev/null 2>&1 3>&-
	run pty_run 'expect #
send stty size
expect 20 60
resize 22 66
send stty size
expect 22 66
send exit 4' "$ISOLA" --root "$R" exec -it "$ID-d" sh
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"exit=4"* ]]
	[[ "$output" == *"echo-restored=yes"* ]]
}

@test "detached with a terminal and no --console-socket is a clear error" {
	run isola run -d -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.terminal: needs --console-socket"* ]]
	[ -z "$(ls -A "$R" 2>/dev/null)" ]
	run isola create -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.terminal: needs --console-socket"* ]]
	bundle_jq "$B" '.process.terminal = false | .process.args = ["sleep", "100"]'
	isola run -d -b "$B" "$ID-d" >/dev/null 2>&1 3>&-
	run isola exec -t -d "$ID-d" sh
	[ "$status" -ne 0 ]
	[[ "$output" == *"needs --console-socket"* ]]
}

# The container process's error crosses the sync socket with its errno; the runtime's
# own EPIPE (the process exec'ed and closed its end) must not be taken from it.
@test "exec -t whose --console-socket peer closes at once fails (255), whatever errno the process saw" {
	bundle_jq "$B" '.process.terminal = false | .process.args = ["sleep", "100"]'
	isola run -d -b "$B" "$ID-d" >/dev/null 2>&1 3>&-
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept(); c.close()' "$TMP/cs.sock" "$TMP/cs.ready" &
	SRV=$!
	wait_until 10 test -e "$TMP/cs.ready"
	for d in -d ""; do
		run isola exec -t $d --console-socket "$TMP/cs.sock" --pid-file "$TMP/p$d" "$ID-d" true
		echo "$d: $status $output"
		[ "$status" -eq 255 ]
	done
}
