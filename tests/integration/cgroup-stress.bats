#!/usr/bin/env bats
# 200 containers created, started and deleted, two at a time, with the
# default cgroupsPath (/isola/<id>, so deletes race to remove the shared
# parent): afterwards no cgroup, mount or state of this test may be left.

load helpers

setup() {
	PREFIX=isola-it-stress-$$ # first: the teardown's find needs it, also after a skip
	isola_tmp
	B=$TMP/b
	R=$TMP/root
	make_busybox_bundle "$B"
	bundle_jq "$B" 'del(.linux.cgroupsPath) | .process.args = ["true"]
		| .linux.resources = {pids: {limit: 16}, memory: {limit: 33554432}}'
}

teardown() {
	local d
	for d in "${R:-/nonexistent}"/*/; do
		[ -d "$d" ] || continue
		"$ISOLA" --root "$R" delete --force "$(basename "$d")" >/dev/null 2>&1 || true
	done
	[ -z "${PREFIX:-}" ] ||
		find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$PREFIX-*" -delete 2>/dev/null || true
	isola_cleanup_tmp
}

# What this test may leave behind: its cgroups, mounts that mention its
# temp dir, and its state directories.
snapshot() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$PREFIX-*" | sort
	grep -F "$TMP" /proc/self/mountinfo | awk '{ print $5 }' | sort
	ls -A "$R" 2>/dev/null
}

@test "stress: 200 containers created, started and deleted 2 at a time leave nothing behind" {
	mkdir -p "$R"
	snapshot >"$TMP/before"
	start=$(date +%s%N)
	seq 200 | xargs -P2 -I{} sh -c '
		id=$0-{}
		"$1" --root "$2" create -b "$3" "$id" </dev/null >/dev/null 2>"$4/err-{}" &&
		"$1" --root "$2" start "$id" 2>>"$4/err-{}" &&
		"$1" --root "$2" delete --force "$id" 2>>"$4/err-{}" || echo "FAIL $id"
	' "$PREFIX" "$ISOLA" "$R" "$B" "$TMP" >"$TMP/fails"
	end=$(date +%s%N)
	echo "200 containers in $(((end - start) / 1000000)) ms"
	cat "$TMP/fails" "$TMP"/err-* | head -20
	[ ! -s "$TMP/fails" ]
	snapshot >"$TMP/after"
	diff "$TMP/before" "$TMP/after"
	[ -z "$(ls -A "$R")" ]
}
