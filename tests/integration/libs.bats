#!/usr/bin/env bats
# Which shared libraries a process of isola maps: only what its command uses
# (libcrypto, libcurl, libarchive and libseccomp are dlopen'd on first use, and
# the seccomp cache needs no digest;
# jansson and libcap are linked from their static archives).  `isola` itself is
# static-pie (src/cli/dynamic.c): the runtime and the VMM map no shared object at
# all, and the commands that load libraries run in isola-dl, its dynamic twin.

load helpers
load vm-helpers

# shared_objects MAPS: the shared objects a maps file shows, by base name, sorted.
shared_objects() {
	awk '$6 ~ /\.so/ {n = $6; sub(/.*\//, "", n); print n}' "$1" | sort -u
}

setup() {
	setup_bundle libs
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

# run_maps: `isola run` of a container without seccomp; its runtime's maps in $TMP/maps.
run_maps() {
	bundle_jq "$B" '.process.args = ["sleep", "100"] | del(.linux.seccomp)'
	"$ISOLA" --root "$R" run -b "$B" "$ID" >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 10 '[ "$("$ISOLA" --root "$R" state "$ID" 2>/dev/null | jq -r .status)" = running ]'
	cp "/proc/$pid/maps" "$TMP/maps"
	"$ISOLA" --root "$R" kill "$ID" KILL
	wait "$pid" || true
}

@test "libs: isola run of a container without seccomp maps no libseccomp or libcrypto" {
	run_maps
	[ -s "$TMP/maps" ]
	run grep -E 'libseccomp|libcrypto|libcurl|libarchive' "$TMP/maps"
	[ "$status" -eq 1 ]
}

@test "libs: isola run maps no shared object (static isola)" {
	run_maps
	run shared_objects "$TMP/maps"
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "libs: isola vm run maps no shared object (static isola)" {
	require_kvm
	vm_guest "$TMP/spin.elf" "$(vm_putc H)$(vm_putc $'\n')$VM_HANG"
	"$ISOLA" vm run --memory 16M --kernel "$TMP/spin.elf" >"$TMP/out" 2>&1 &
	local pid=$!
	wait_until 10 'grep -q H "$TMP/out"'
	cp "/proc/$pid/maps" "$TMP/maps"
	kill -TERM "$pid"
	wait "$pid" || true
	run shared_objects "$TMP/maps"
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "libs: a VMM with an API socket runs in isola-dl (a keyed migration loads libcrypto)" {
	require_kvm
	vm_guest "$TMP/spin.elf" "$(vm_putc H)$(vm_putc $'\n')$VM_HANG"
	"$ISOLA" vm run --memory 16M --kernel "$TMP/spin.elf" --api-sock "$TMP/api.sock" \
		>"$TMP/out" 2>&1 &
	local pid=$!
	wait_until 10 'grep -q H "$TMP/out"'
	local exe
	exe=$(readlink "/proc/$pid/exe")
	cp "/proc/$pid/maps" "$TMP/maps"
	kill -TERM "$pid"
	wait "$pid" || true
	[[ "$exe" == */isola-dl ]]
	[ -s "$TMP/maps" ]
}

@test "libs: the static isola runs a container's seccomp filter with libseccomp linked in" {
	bundle_jq "$B" '.process.args = ["sleep", "100"]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mknod"], "action": "SCMP_ACT_ERRNO"}]}'
	"$ISOLA" --root "$R" run -b "$B" "$ID" >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 10 '[ "$("$ISOLA" --root "$R" state "$ID" 2>/dev/null | jq -r .status)" = running ]'
	cp "/proc/$pid/maps" "$TMP/maps"
	local cpid
	cpid=$("$ISOLA" --root "$R" state "$ID" | jq -r .pid)
	grep -q '^Seccomp:.*2' "/proc/$cpid/status"
	"$ISOLA" --root "$R" kill "$ID" KILL
	wait "$pid" || true
	run shared_objects "$TMP/maps"
	[ "$status" -eq 0 ] && [ -z "$output" ]
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
	[ -s "$TMP/maps" ]
	run grep libcrypto "$TMP/maps"
	[ "$status" -eq 1 ]
	# one cache entry, named by a 64-bit FNV-1a of its text
	run ls "$R/.seccomp-cache"
	[[ "$output" =~ ^[0-9a-f]{16}\.bpf$ ]]
}
