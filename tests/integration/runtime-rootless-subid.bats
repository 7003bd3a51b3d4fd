#!/usr/bin/env bats
# Rootless as a real user (made for the test, removed after): `spec --rootless`
# maps the user's /etc/subuid and /etc/subgid ranges, `run` writes them through
# newuidmap/newgidmap; state in the user's runtime dir, images in
# ~/.local/share/isola.

load helpers
load rootless-helpers

setup() {
	setup_bundle subid
	rootless_setup
	rootless_user test
	chown "$U" "$B"
	rm "$B/config.json"
	chmod -R a+rX "$B"
	ID=isola-it-subid-$$-$BATS_TEST_NUMBER
}

teardown() {
	as_user "$TMP/isola" delete --force "$ID" >/dev/null 2>&1 || true
	if [ -n "${RUNUSER_DIR:-}" ]; then
		# The state of the test that runs without XDG_RUNTIME_DIR is there.
		runuser -u "$U" -- env -i PATH=/usr/bin:/bin HOME="$UH" XDG_RUNTIME_DIR="$RUNUSER_DIR" \
			"$TMP/isola" delete --force "$ID" >/dev/null 2>&1 || true
		rm -rf --one-file-system "$RUNUSER_DIR"
		[ -z "${MADE_RUN_USER:-}" ] || rmdir /run/user 2>/dev/null || true
	fi
	rootless_user_remove
	isola_cleanup_tmp
}

config() { # config JQ-FILTER: edit the user's config.json as that user
	jq "$1" "$B/config.json" >"$TMP/c" && cat "$TMP/c" >"$B/config.json"
}

@test "subid: spec --rootless maps the user's subordinate ranges; run uses them through newuidmap" {
	as_user "$TMP/isola" spec --rootless --bundle "$B"
	uid=$(id -u "$U")
	read -r _ start count < <(grep "^$U:" /etc/subuid | tr : ' ')
	run jq -c '.linux.uidMappings' "$B/config.json"
	[ "$output" = "[{\"containerID\":0,\"hostID\":$uid,\"size\":1},{\"containerID\":1,\"hostID\":$start,\"size\":$count}]" ]
	[ "$(jq '.linux.gidMappings | length' "$B/config.json")" = 2 ]
	# uid 1000 exists in the container only through the subordinate range.
	config '.process.terminal = false | .process.user = {uid: 1000, gid: 1000}
		| .process.args = ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"]'
	run as_user "$TMP/isola" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1000 ]
	[[ "${lines[3]}" =~ ^\ +1\ +$start\ +$count$ ]]
	# State was in the user's runtime dir and is gone; nothing root-owned made there.
	[ -z "$(ls -A "$TMP/xdg/isola")" ]
	[ -z "$(find "$TMP/xdg" -user root)" ]
}

@test "subid: a range the user was not granted is refused by newgidmap/newuidmap, nothing left" {
	as_user "$TMP/isola" spec --rootless --bundle "$B"
	config '.process.terminal = false | .process.args = ["true"]
		| .linux.uidMappings[1] = {containerID: 1, hostID: 1, size: 1000}'
	run as_user "$TMP/isola" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.uidMappings: newuidmap refused the map"* ]]
	[ -z "$(ls -A "$TMP/xdg/isola")" ]
}

@test "subid: without XDG_RUNTIME_DIR, state goes to /run/user/UID/isola; images to ~/.local/share/isola" {
	uid=$(id -u "$U")
	[ -e "/run/user/$uid" ] && skip "SKIP: /run/user/$uid exists already"
	[ -d /run/user ] || { mkdir /run/user && MADE_RUN_USER=1; }
	RUNUSER_DIR=/run/user/$uid
	mkdir -m 700 "$RUNUSER_DIR"
	chown "$U" "$RUNUSER_DIR"
	as_user "$TMP/isola" spec --rootless --bundle "$B"
	config '.process.terminal = false | .process.args = ["sleep", "100"]'
	runuser -u "$U" -- env -i PATH=/usr/bin:/bin HOME="$UH" \
		"$TMP/isola" run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	[ -d "/run/user/$uid/isola/$ID" ]
	runuser -u "$U" -- env -i PATH=/usr/bin:/bin HOME="$UH" "$TMP/isola" delete --force "$ID"
	[ ! -e "/run/user/$uid/isola/$ID" ]
	runuser -u "$U" -- env -i PATH=/usr/bin:/bin HOME="$UH" "$TMP/isola" images
	[ -d "$UH/.local/share/isola/blobs" ]
	[ -z "$(find "$UH/.local" -user root)" ]
}
