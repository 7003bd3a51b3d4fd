# Shared by the rootless tests (runtime-rootless.bats, runtime-rootless-subid.bats,
# image-rootless.bats): isola where an unprivileged user reaches it, a test user with
# subordinate ids, and commands run as that user.  Load after helpers or image-helpers.
# shellcheck shell=bash

# After isola_tmp: skips where unprivileged user namespaces are disabled; makes $TMP
# reachable, copies isola there ($TMP/isola) and makes $TMP/xdg, the user's runtime dir
# (chown it to the user).
rootless_setup() {
	[ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 1 ] ||
		skip "SKIP: unprivileged user namespaces are disabled"
	chmod 755 "$TMP"
	cp "$ISOLA" "$TMP/isola"
	# The static isola runs rootless commands in isola-dl, next to it (src/cli/dynamic.c).
	[ ! -x "$(dirname "$ISOLA")/isola-dl" ] || cp "$(dirname "$ISOLA")/isola-dl" "$TMP/"
	mkdir -m 700 "$TMP/xdg"
}

# rootless_user TAG: a user made for the test, U=isola<TAG><pid> with home UH, that has
# ranges in /etc/subuid and /etc/subgid and owns $TMP/xdg.  rootless_user_remove in the
# teardown removes it, its home and its ranges.
rootless_user() {
	require_cmd runuser
	require_cmd useradd
	require_cmd newuidmap
	require_cmd newgidmap
	# A short name: useradd limits it to 32 bytes.
	U=isola$1$$
	useradd -m "$U"
	UH=$(getent passwd "$U" | cut -d: -f6)
	# Debian's useradd grants a range itself (SUB_UID_MIN...); make sure of one.
	grep -q "^$U:" /etc/subuid || usermod --add-subuids 300000-365535 "$U"
	grep -q "^$U:" /etc/subgid || usermod --add-subgids 300000-365535 "$U"
	chown "$U" "$TMP/xdg"
}

# userdel -r also drops the user's /etc/subuid and /etc/subgid lines.
rootless_user_remove() {
	[ -n "${U:-}" ] || return 0
	# userdel refuses a user with a process (a container a failed test left running).
	pkill -KILL -u "$U" 2>/dev/null
	for _ in $(seq 50); do pgrep -u "$U" >/dev/null || break; sleep 0.1; done
	userdel -r "$U" >/dev/null 2>&1 || true
}

# as_user CMD...: CMD as the test user with a clean environment (run IMAGE: no network).
as_user() {
	runuser -u "$U" -- env -i PATH=/usr/bin:/bin HOME="$UH" XDG_RUNTIME_DIR="$TMP/xdg" \
		ISOLA_NETWORK=none "$@"
}
