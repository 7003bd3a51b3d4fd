#!/usr/bin/env bash
# The whole test suite: dependencies, build, static checks (scripts/check/*.sh:
# format, deps lists, gcc -fanalyzer), unit tests (plain and with ASan/UBSan),
# every fuzzer for FUZZ_SECONDS (scripts/fuzz.sh), then the integration tests
# that drive the real binary as root.  Set CI=true on a CI machine: tests then
# fail instead of skipping when a test guest, an isola command or a listed
# package is missing (tests/integration/helpers.bash: ci_skip).
# Ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (integration tests create namespaces, mounts, cgroups and VMs)" >&2
	exit 1
fi
scripts/install-deps.sh || exit 1
scripts/build.sh >/tmp/isola-build.log 2>&1 || { cat /tmp/isola-build.log; exit 1; }

passed=0 failed=0 skipped=0
count_meson() { # $1 = testlog json
	local j=$1
	[ -f "$j" ] || return
	passed=$((passed + $(grep -c '"result": "OK"' "$j")))
	failed=$((failed + $(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$j")))
	skipped=$((skipped + $(grep -c '"result": "SKIP"' "$j")))
}

echo "== static checks"
for check in scripts/check/*.sh; do
	if "$check"; then
		echo "ok: $check"
		passed=$((passed + 1))
	else
		echo "FAIL: $check"
		failed=$((failed + 1))
	fi
done

echo "== unit tests"
meson test -C build --print-errorlogs
count_meson build/meson-logs/testlog.json

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C build-asan >/tmp/isola-build-asan.log 2>&1; then
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C build-asan --print-errorlogs
	count_meson build-asan/meson-logs/testlog.json
else
	cat /tmp/isola-build-asan.log
	failed=$((failed + 1))
fi

echo "== fuzzers (scripts/fuzz.sh: clang, ASan+UBSan, ${FUZZ_SECONDS:-30} s per target, ${FUZZ_BUDGET:-420} s in all at most)"
out=$(mktemp)
scripts/fuzz.sh | tee "$out"
passed=$((passed + $(grep -c '^ok ' "$out")))
failed=$((failed + $(grep -c '^not ok ' "$out")))
rm -f "$out"

echo "== Debian package (scripts/package.sh; tests/integration/package.bats installs it)"
if scripts/package.sh; then
	echo "ok: scripts/package.sh"
	passed=$((passed + 1))
else
	echo "FAIL: scripts/package.sh"
	failed=$((failed + 1))
fi

echo "== integration tests"
export ISOLA="$top/build/src/cli/isola"
export ISOLA_TOP="$top"
out=$(mktemp)
bats --tap tests/integration | tee "$out"
passed=$((passed + $(grep -E '^ok ' "$out" | grep -vc '# skip')))
skipped=$((skipped + $(grep -E '^ok ' "$out" | grep -c '# skip')))
failed=$((failed + $(grep -c '^not ok ' "$out")))
rm -f "$out"

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
