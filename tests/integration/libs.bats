#!/usr/bin/env bats
# Which shared libraries a process of isola maps: only what its command uses
# (libcrypto, libcurl, libarchive and libseccomp are dlopen'd on first use, and
# the seccomp cache needs no digest;
# libcap is linked, 48 KiB resident of which 8 KiB private: not worth a dlopen).

load helpers

setup() {
	setup_bundle libs
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

@test "libs: isola run of a container without seccomp maps no libseccomp or libcrypto" {
	bundle_jq "$B" '.process.args = ["sleep", "100"] | del(.linux.seccomp)'
	"$ISOLA" --root "$R" run -b "$B" "$ID" >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 10 '[ "$("$ISOLA" --root "$R" state "$ID" 2>/dev/null | jq -r .status)" = running ]'
	cp "/proc/$pid/maps" "$TMP/maps"
	"$ISOLA" --root "$R" kill "$ID" KILL
	wait "$pid" || true
	grep -q libc.so "$TMP/maps"
	run grep -E 'libseccomp|libcrypto|libcurl|libarchive' "$TMP/maps"
	[ "$status" -eq 1 ]
}

@test "libs: a container with linux.seccomp still gets its filter (libseccomp loaded on demand)" {
	bundle_jq "$B" '.process.args = ["sh", "-c", "grep ^Seccomp: /proc/self/status"]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mknod"], "action": "SCMP_ACT_ERRNO"}]}'
	run "$ISOLA" --root "$R" run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Seccomp:"*2* ]]
}

@test "libs: a container with a filter maps no libcrypto (the seccomp cache checks its entry's text, no digest)" {
	bundle_jq "$B" '.process.args = ["sleep", "100"]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mknod"], "action": "SCMP_ACT_ERRNO"}]}'
	"$ISOLA" --root "$R" run -b "$B" "$ID" >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 10 '[ "$("$ISOLA" --root "$R" state "$ID" 2>/dev/null | jq -r .status)" = running ]'
	cp "/proc/$pid/maps" "$TMP/maps"
	"$ISOLA" --root "$R" kill "$ID" KILL
	wait "$pid" || true
	grep -q libc.so "$TMP/maps"
	run grep libcrypto "$TMP/maps"
	[ "$status" -eq 1 ]
	# one cache entry, named by a 64-bit FNV-1a of its text
	run ls "$R/.seccomp-cache"
	[[ "$output" =~ ^[0-9a-f]{16}\.bpf$ ]]
}
