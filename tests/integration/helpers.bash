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

# Skip with a printed reason.
require_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "SKIP: $1 not installed"
}
