# Shared set-up for the bats integration tests.  Each test file runs as root
# against the real binary ($ISOLA) with its own --root and temp directory.

ISOLA=${ISOLA:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/src/cli/isola}
ISOLA_TOP=${ISOLA_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}

# A private temp dir per test; removed without crossing mounts.
isola_tmp() {
	TMP=$(mktemp -d /tmp/isola-it.XXXXXX)
}

isola_cleanup_tmp() {
	[ -n "${TMP:-}" ] || return 0
	# Unmount anything a failed test left below TMP before deleting.
	grep -o " $TMP[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do
		umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$TMP"
}

# ci_skip REASON: skip a test whose prerequisite this repository provides: a
# build product (test guests, an isola command) or a package listed in
# scripts/deps/*.txt.  Under CI (CI=true) the prerequisite must be there, so
# the test fails instead of skipping: a broken guest build or a stale deps
# list must not turn the suite green.  Host features (KVM, cgroup
# controllers, /dev/net/tun) still skip with plain `skip`.
ci_skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, so not skipped): $1" >&2
		return 1
	fi
	skip "SKIP: $1"
}

# Skip with a printed reason (fails under CI: see ci_skip).
require_cmd() {
	command -v "$1" >/dev/null 2>&1 || ci_skip "$1 not installed"
}

# make_busybox_bundle DIR: DIR/rootfs holds busybox-static as /bin/busybox
# with relative applet symlinks, DIR/config.json comes from `isola spec` with
# args ["sh"] and terminal false.  Edit it further with jq (bundle_jq).
make_busybox_bundle() {
	local dir=$1 bb
	bb=$(command -v busybox) || ci_skip "busybox-static not installed"
	mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
		"$dir/rootfs/tmp" "$dir/rootfs/etc" "$dir/rootfs/root"
	cp "$bb" "$dir/rootfs/bin/busybox"
	local a
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$dir/rootfs/etc/passwd"
	echo "root:x:0:" >"$dir/rootfs/etc/group"
	rm -f "$dir/config.json"
	"$ISOLA" spec --bundle "$dir"
	bundle_jq "$dir" '.process.terminal = false | .process.args = ["sh"]
		| .process.env = ["PATH=/bin:/sbin:/usr/bin", "TERM=xterm"]'
}

# bundle_jq DIR FILTER: rewrite DIR/config.json through a jq filter.
bundle_jq() {
	jq "$2" "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}

# Fail when the command succeeds.  A bare `! cmd` line does not fail a bats
# test (bash exempts negated commands from errexit) unless it is the last line.
refute() {
	if "$@"; then
		echo "expected to fail: $*" >&2
		return 1
	fi
}

# The usual set-up: a temp dir, a busybox bundle in $B, a state root $R and a
# unique container id isola-it-PREFIX-PID-TEST in $ID.
setup_bundle() {
	# ID first: teardowns use it in globs over every cgroup hierarchy, also after a skip.
	ID=isola-it-$1-$$-$BATS_TEST_NUMBER
	isola_tmp
	B=$TMP/b
	R=$TMP/root
	make_busybox_bundle "$B"
}

# isola ARG...: the binary with the test's --root (R, as setup_bundle sets it).
isola() {
	"$ISOLA" --root "$R" "$@"
}

# args CMD...: set the bundle's ($B) process.args.
args() {
	bundle_jq "$B" ".process.args = $(jq -nc '$ARGS.positional' --args -- "$@")"
}

# wait_until SECONDS CMD [ARG...]: poll every 50 ms until the command succeeds;
# fail after SECONDS.  Use instead of a fixed sleep.  A single argument is
# shell code, evaluated afresh each time: wait_until 5 '[ "$(f)" = x ]'.
wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 20; i++)); do
		if [ $# -eq 1 ]; then
			eval "$1" && return 0
		else
			"$@" && return 0
		fi
		sleep 0.05
	done
	echo "timed out after ${limit}s waiting for: $*" >&2
	return 1
}

# ct_status ROOT ID: the container's status from `isola state` (empty if none).
ct_status() {
	"$ISOLA" --root "$1" state "$2" 2>/dev/null | jq -r .status
}

# pid_dead PID: the process is gone or a zombie.
pid_dead() {
	! [ -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# all_dead PID...: every process is gone or a zombie.
all_dead() {
	local p
	for p in "$@"; do
		pid_dead "$p" || return 1
	done
}
