#!/usr/bin/env bats
# A signal sent right after `start` (docs/runtime.md, "A signal sent right
# after `start`"): it reaches the user's program, whose default action then
# applies until it sets a handler: ignored as PID 1 of a PID namespace,
# fatal otherwise.  A handler set before readiness sees it.

load helpers

setup() {
	setup_bundle sig
	bundle_jq "$B" '.root.readonly = false'
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

# A shell loop that counts its rounds in /tmp/n (no trap).
LOOP='i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done'

rounds() { cat "$B/rootfs/tmp/n" 2>/dev/null || echo 0; }

@test "TERM to a PID 1 shell with no trap is dropped: the shell keeps running" {
	args sh -c "$LOOP"
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	# start returned: the shell is the container's process already.
	pid=$(isola state "$ID" | jq -r .pid)
	[ "$(cat /proc/$pid/comm)" = sh ]
	isola kill "$ID" TERM
	n=$(rounds)
	wait_until 10 '[ "$(rounds)" -gt $((n + 2)) ]'
	[ "$(ct_status "$R" "$ID")" = running ]
}

@test "TERM to a shell that is not PID 1 and has no trap: the default action kills it" {
	args sh -c "$LOOP"
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "pid"))'
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	pid=$(isola state "$ID" | jq -r .pid)
	isola kill "$ID" TERM
	wait_until 10 pid_dead "$pid"
	wait_until 10 '[ "$(ct_status "$R" "$ID")" = stopped ]'
}

@test "a trap set before the program says it is ready sees the TERM" {
	args sh -c 'trap "echo got > /tmp/got; exit 7" TERM; echo > /tmp/ready
		while :; do sleep 0.05; done'
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola start "$ID"
	wait_until 10 '[ -e "$B/rootfs/tmp/ready" ]'
	isola kill "$ID" TERM
	wait_until 10 '[ "$(ct_status "$R" "$ID")" = stopped ]'
	[ "$(cat "$B/rootfs/tmp/got")" = got ]
}

@test "kill ID 0 sends nothing and says whether the container runs, as runc's" {
	args sleep 100
	isola create -b "$B" "$ID" >/dev/null 2>&1 3>&-
	isola kill "$ID" 0
	isola start "$ID"
	isola kill "$ID" 0
	isola kill --all "$ID" 0
	[ "$(ct_status "$R" "$ID")" = running ]
	isola kill "$ID" KILL
	wait_until 10 '[ "$(ct_status "$R" "$ID")" = stopped ]'
	run isola kill "$ID" 0
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not running"* ]]
	# Only a bare 0: other non-signals are still refused.
	for bad in -1 00x SIG0 65 ""; do
		run isola kill "$ID" "$bad"
		[ "$status" -ne 0 ]
		[[ "$output" == *"unknown signal"* ]]
	done
}
