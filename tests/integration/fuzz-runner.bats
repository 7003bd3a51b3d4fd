#!/usr/bin/env bats
# scripts/fuzz.sh against a throwaway meson project holding two libFuzzer
# targets: it finds every fuzz-* executable, reports executions and
# coverage for the one that holds up, and fails the one that crashes while
# keeping its reproducer under the build directory.

load helpers

setup() {
	require_cmd clang
	require_cmd meson
	isola_tmp
	mkdir "$TMP/proj"
	cat >"$TMP/proj/meson.build" <<-'EOF'
	project('fuzz-runner-test', 'c')
	a = ['-fsanitize=fuzzer,address']
	executable('fuzz-holds', 'holds.c', c_args: a, link_args: a)
	subdir('sub')
	EOF
	mkdir "$TMP/proj/sub"
	cat >"$TMP/proj/sub/meson.build" <<-'EOF'
	executable('fuzz-crashes', 'crashes.c', c_args: a, link_args: a)
	EOF
	cat >"$TMP/proj/holds.c" <<-'EOF'
	#include <stddef.h>
	#include <stdint.h>
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
	{
		return n > 2 && d[0] == 'o' && d[1] == 'k' ? 1 - 1 : 0;
	}
	EOF
	cat >"$TMP/proj/sub/crashes.c" <<-'EOF'
	#include <stddef.h>
	#include <stdint.h>
	#include <stdlib.h>
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
	{
		if (n >= 1 && d[0] == 'x')
			abort();
		return 0;
	}
	EOF
	CC=clang meson setup "$TMP/build" "$TMP/proj" >/dev/null
}

teardown() {
	isola_cleanup_tmp
}

@test "fuzz.sh runs every fuzz-* target, reports coverage, fails a crash and keeps its reproducer" {
	FUZZ_SECONDS=3 FUZZ_BUILD="$TMP/build" run "$ISOLA_TOP/scripts/fuzz.sh"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" =~ "ok fuzz-holds: "[0-9]+" executions, cov: "[0-9]+" ft: "[0-9]+ ]]
	[[ "$output" == *"not ok fuzz-crashes: "*"reproducer: $TMP/build/fuzz-out/fuzz-crashes/crash-"* ]]
	ls "$TMP"/build/fuzz-out/fuzz-crashes/crash-*
	# The reproducer replays the crash.
	run "$TMP/build/sub/fuzz-crashes" "$TMP"/build/fuzz-out/fuzz-crashes/crash-*
	[ "$status" -ne 0 ]
}

@test "fuzz.sh refuses a bad FUZZ_SECONDS" {
	FUZZ_SECONDS=abc run "$ISOLA_TOP/scripts/fuzz.sh"
	[ "$status" -eq 2 ]
	[[ "$output" == *"FUZZ_SECONDS and FUZZ_BUDGET must be numbers of seconds"* ]]
}
