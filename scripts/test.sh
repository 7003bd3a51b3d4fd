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
count_meson() { # $1 = testlog json, $2 = meson test's exit status
	local j=$1 rc=$2 before=$failed
	if [ -f "$j" ]; then
		passed=$((passed + $(grep -c '"result": "OK"' "$j")))
		failed=$((failed + $(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$j")))
		skipped=$((skipped + $(grep -c '"result": "SKIP"' "$j")))
	fi
	# A failure the log does not count (no log, a setup error) still fails the run.
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "FAIL: meson test exited $rc"
		failed=$((failed + 1))
	fi
}

# The TAP in $1 (from a command that exited $2, named $3): every test of its plan ran,
# and a non-zero exit with no "not ok" line is a failure too.
check_tap() {
	local out=$1 rc=$2 name=$3 plan ran
	plan=$(grep -m1 -E '^1\.\.[0-9]+' "$out" | sed -E 's/^1\.\.([0-9]+).*/\1/')
	ran=$(grep -cE '^(ok|not ok) ' "$out")
	if [ -n "$plan" ] && [ "$ran" -ne "$plan" ]; then
		echo "FAIL: $name ran $ran of the $plan tests it planned"
		failed=$((failed + 1))
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out"; then
		echo "FAIL: $name exited $rc"
		failed=$((failed + 1))
	fi
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
rm -f build/meson-logs/testlog.json
meson test -C build --print-errorlogs
count_meson build/meson-logs/testlog.json $?

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C build-asan >/tmp/isola-build-asan.log 2>&1; then
	rm -f build-asan/meson-logs/testlog.json
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C build-asan --print-errorlogs
	count_meson build-asan/meson-logs/testlog.json $?
else
	cat /tmp/isola-build-asan.log
	failed=$((failed + 1))
fi

echo "== fuzzers (scripts/fuzz.sh: clang, ASan+UBSan, ${FUZZ_SECONDS:-30} s per target, ${FUZZ_BUDGET:-420} s in all at most)"
out=$(mktemp)
scripts/fuzz.sh | tee "$out"
rc=${PIPESTATUS[0]}
passed=$((passed + $(grep -c '^ok ' "$out")))
failed=$((failed + $(grep -c '^not ok ' "$out")))
check_tap "$out" "$rc" scripts/fuzz.sh
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
rc=${PIPESTATUS[0]}
passed=$((passed + $(grep -E '^ok ' "$out" | grep -vc '# skip')))
skipped=$((skipped + $(grep -E '^ok ' "$out" | grep -c '# skip')))
failed=$((failed + $(grep -c '^not ok ' "$out")))
check_tap "$out" "$rc" bats
rm -f "$out"

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
