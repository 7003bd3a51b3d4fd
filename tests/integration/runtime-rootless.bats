#!/usr/bin/env bats
# Rootless: `isola spec --rootless` and `isola run` as an unprivileged user
# (nobody, through setpriv): a user namespace with the caller's id as root,
# state under $XDG_RUNTIME_DIR/isola, no cgroup when none may be made, the
# CVE-2019-5736 re-exec from a sealed memfd copy of the binary.

load helpers
load rootless-helpers

setup() {
	require_cmd setpriv
	id nobody >/dev/null 2>&1 || skip "SKIP: no user nobody"
	setup_bundle rootless
	# nobody must reach the bundle and the binary; everything stays under TMP.
	rootless_setup
	chown nobody "$TMP/xdg" "$B"
	rm "$B/config.json"
	chmod -R a+rX "$B"
	ID=isola-it-rl-$$-$BATS_TEST_NUMBER
}

teardown() {
	as_nobody "$TMP/isola" delete --force "$ID" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$TMP/xdg" "$@"
}

@test "rootless: spec --rootless then run as nobody; state in XDG_RUNTIME_DIR, nothing root-owned left" {
	find "$B" -user root | sort >"$TMP/root-owned.before"
	as_nobody "$TMP/isola" spec --rootless --bundle "$B"
	uid=$(id -u nobody)
	[ "$(jq -r '.linux.uidMappings[0].hostID' "$B/config.json")" = "$uid" ]
	jq '.process.terminal = false | .process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map"]' \
		"$B/config.json" >"$TMP/c" && cat "$TMP/c" >"$B/config.json"
	run as_nobody "$TMP/isola" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[[ "${lines[1]}" == *" $uid "* ]]
	# Detached: state under $XDG_RUNTIME_DIR/isola, owned by nobody.
	jq '.process.args = ["sleep", "100"]' "$B/config.json" >"$TMP/c" && cat "$TMP/c" >"$B/config.json"
	as_nobody "$TMP/isola" run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	[ -d "$TMP/xdg/isola/$ID" ]
	[ "$(as_nobody "$TMP/isola" state "$ID" | jq -r .status)" = running ]
	run as_nobody "$TMP/isola" exec "$ID" id -u
	[ "$output" = 0 ]
	as_nobody "$TMP/isola" delete --force "$ID"
	[ -z "$(ls -A "$TMP/xdg/isola")" ]
	[ -z "$(find "$TMP/xdg" -user root)" ]
	find "$B" -user root | sort | diff "$TMP/root-owned.before" -
}

@test "rootless: a config that asks for cgroup limits it cannot have fails clearly" {
	as_nobody "$TMP/isola" spec --rootless --bundle "$B"
	jq '.process.terminal = false | .process.args = ["true"] | .linux.resources.pids = {"limit": 10}' \
		"$B/config.json" >"$TMP/c" && cat "$TMP/c" >"$B/config.json"
	run as_nobody "$TMP/isola" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *cgroup* ]]
	[ -z "$(ls -A "$TMP/xdg/isola" 2>/dev/null)" ]
}

@test "rootless: exec before start is refused in one line (the init is not dumpable), works after start" {
	as_nobody "$TMP/isola" spec --rootless --bundle "$B"
	jq '.process.terminal = false | .process.args = ["sleep", "100"]' \
		"$B/config.json" >"$TMP/c" && cat "$TMP/c" >"$B/config.json"
	as_nobody "$TMP/isola" create -b "$B" "$ID" 3>&-
	run as_nobody "$TMP/isola" exec "$ID" id -u
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"\`$ID\` has not started"*"/ns/"* ]]
	# Nothing ran: the init is still the only process of its session.
	pid=$(as_nobody "$TMP/isola" state "$ID" | jq -r .pid)
	[ -z "$(pgrep -P "$pid")" ]
	as_nobody "$TMP/isola" start "$ID"
	run as_nobody "$TMP/isola" exec "$ID" id -u
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}
