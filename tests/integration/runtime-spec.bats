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
	isola_cleanup_tmp
}

isola() {
	"$ISOLA" --root "$R" "$@"
}

args() { # args CMD...: set process.args
	bundle_jq "$B" ".process.args = $(jq -nc '$ARGS.positional' --args -- "$@")"
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
