#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz-*) with clang under ASan and
# UBSan and run each for a bounded time over its seed corpus
# (tests/fuzz/corpus/<target>/).  Called by scripts/test.sh; runs alone too.
#
# Targets are found by name: any executable the build defines as
# tests/fuzz/fuzz-<name> runs, so a new target needs no change here.
#
# Output: one TAP-like line per target, "ok fuzz-x: ..." or "not ok fuzz-x: ...",
# with its executions and libFuzzer's coverage figures (cov: = edges covered,
# ft: = features); scripts/test.sh counts these lines.  A crash, leak, timeout
# or out-of-memory fails the target and leaves the reproducer under
# $FUZZ_BUILD/fuzz-out/<target>/ (replay: $FUZZ_BUILD/tests/fuzz/<target> FILE).
#
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_BUILD (default
# build-fuzz), FUZZ_ONLY (run only targets whose name contains this).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${FUZZ_SECONDS:-30}
bdir=${FUZZ_BUILD:-build-fuzz}
only=${FUZZ_ONLY:-}

case $secs in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS must be a number of seconds, got '$secs'" >&2
	exit 2
	;;
esac
if ! command -v clang >/dev/null; then
	echo "not ok fuzz-build: clang is not installed (scripts/deps/build.txt)"
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$bdir/build.ninja" ]; then
	if ! CC=clang meson setup "$bdir" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >"$log" 2>&1; then
		cat "$log"
		echo "not ok fuzz-build: meson setup $bdir failed"
		exit 1
	fi
fi
# Regenerate first so that targets added since the last setup are listed.
ninja -C "$bdir" build.ninja >/dev/null 2>&1
mapfile -t targets < <(ninja -C "$bdir" -t targets all 2>/dev/null |
	grep -oE '^tests/fuzz/fuzz-[A-Za-z0-9_-]+:' | tr -d : | sort -u)
if [ ${#targets[@]} -eq 0 ]; then
	echo "not ok fuzz-build: no tests/fuzz/fuzz-* targets in $bdir (configured without -Dfuzz=true?)"
	exit 1
fi
if ! nice ninja -C "$bdir" "${targets[@]}" >"$log" 2>&1; then
	grep -E 'error|FAILED|undefined' "$log" | head -40
	echo "not ok fuzz-build: building the fuzz targets failed"
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Leaks inside third-party libraries, each explained in the file.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0}
fail=0 ran=0
start=$SECONDS
for t in "${targets[@]}"; do
	name=${t##*/}
	[ -n "$only" ] && [[ $name != *"$only"* ]] && continue
	ran=$((ran + 1))
	out="$bdir/fuzz-out/$name"
	seeds="$top/tests/fuzz/corpus/$name"
	rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* "$out"/slow-unit-*
	mkdir -p "$out/corpus"
	dirs=("$out/corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	# New inputs go to the first directory (under the build dir); the seeds
	# in the repository are only read.
	timeout -k 10 $((secs + 120)) nice "$bdir/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$out/" "${dirs[@]}" >"$out/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
	covline=$(grep -E '^#[0-9]+.*cov: ' "$out/log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$covline")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$covline")
	nseeds=$(find "${dirs[@]}" -type f 2>/dev/null | wc -l)
	figures="${execs:-0} executions, cov: ${cov:-?} ft: ${ft:-?}, corpus ${nseeds} files, ${secs} s"
	repro=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | head -1)
	if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
		echo "ok $name: $figures"
	else
		grep -E 'ERROR: |SUMMARY: |runtime error:|^    #[0-9] ' "$out/log" | head -20 | sed 's/^/# /'
		echo "not ok $name: exit $rc, $figures; reproducer: ${repro:-none (see $out/log)}"
		fail=1
	fi
done
echo "# fuzz.sh: $ran targets in $((SECONDS - start)) s"
exit $fail
