#!/usr/bin/env bats
# CI hygiene: under CI (CI=true) a test whose prerequisite this repository
# builds or installs fails instead of skipping (ci_skip in helpers.bash), so a
# missing guest build or a stale scripts/deps list cannot turn CI green.

load helpers

setup() {
	isola_tmp
}

teardown() {
	isola_cleanup_tmp
}

# inner NAME BODY: a one-test bats file beside links to the real helpers (the
# keyword is printed, or this file's own preprocessor would take it).
inner() {
	ln -sf "$BATS_TEST_DIRNAME"/*.bash "$TMP/"
	printf 'load clients-helpers\n@%s "inner" {\n\t%s\n}\n' test "$2" >"$TMP/$1.bats"
}

@test "ci_skip skips outside CI and fails under CI=true" {
	inner guest '[ -f "$TMP/nope.elf" ] || ci_skip "nope.elf not built"'
	CI= run bats --tap "$TMP/guest.bats"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 1 inner # skip SKIP: nope.elf not built"* ]]
	CI=true run bats --tap "$TMP/guest.bats"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok 1 inner"* ]]
	[[ "$output" == *"FAIL (CI=true, so not skipped): nope.elf not built"* ]]
}

@test "require_isola_cmd and require_cmd fail under CI=true" {
	inner cmd 'require_isola_cmd no-such-command-$$'
	CI= run bats --tap "$TMP/cmd.bats"
	[ "$status" -eq 0 ]
	[[ "$output" == *"# skip SKIP: isola has no 'no-such-command-"* ]]
	CI=true run bats --tap "$TMP/cmd.bats"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok 1 inner"* ]]
	inner tool 'require_cmd no-such-tool-$$'
	CI=true run bats --tap "$TMP/tool.bats"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no-such-tool-"*"not installed"* ]]
}

@test "the test guests' require_guest fails under CI=true when guests are missing" {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "SKIP: /dev/kvm not usable"
	mkdir "$TMP/noguests"
	CI=true ISOLA_GUEST_DIR="$TMP/noguests" run bats --tap -f 'guest hello: exits with its code' \
		"$BATS_TEST_DIRNAME/vm-guests.bats"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok "* ]]
	[[ "$output" != *"# skip SKIP: $TMP/noguests"* ]]
}

@test "scripts/check/deps.sh passes, and names a command or package missing from the lists" {
	run "$ISOLA_TOP/scripts/check/deps.sh"
	[ "$status" -eq 0 ]
	# Without clients.txt: podman's pod test needs catatonit, and ctr
	# (containerd's client) loses its package.
	mkdir "$TMP/deps"
	cp "$ISOLA_TOP"/scripts/deps/*.txt "$TMP/deps/"
	rm "$TMP/deps/clients.txt"
	DEPS_DIR="$TMP/deps" run "$ISOLA_TOP/scripts/check/deps.sh"
	[ "$status" -ne 0 ]
	[[ "$output" == *"needs package catatonit"* ]]
	[[ "$output" == *"'ctr' (used in tests/integration/clients-containerd.bats) comes from package containerd, which"* ]]
}
