#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz-*) with clang under ASan and
# UBSan and run each for a bounded time over its seed corpus
# (tests/fuzz/corpus/<target>/, with tests/fuzz/<target>.dict if there is
# one).  Called by scripts/test.sh; runs alone too.
#
# Targets are found by name: every executable the build defines whose name
# starts with fuzz- (tests/fuzz/fuzz-<name>, tests/unit/vmm/fuzz-vmm-loaders)
# runs, so a new target needs no change here.
#
# Output: one TAP-like line per target, "ok fuzz-x: ..." or "not ok fuzz-x: ...",
# with its executions and libFuzzer's coverage figures (cov: = edges covered,
# ft: = features); scripts/test.sh counts these lines.  A crash, leak, timeout
# or out-of-memory fails the target and leaves the reproducer under
# $FUZZ_BUILD/fuzz-out/<target>/ (replay: $FUZZ_BUILD/tests/fuzz/<target> FILE).
#
# Environment: FUZZ_SECONDS (per target; default 30, or FUZZ_BUDGET (420)
# divided by the number of targets if that is less, at least 5), FUZZ_BUILD
# (default build-fuzz), FUZZ_ONLY (run only targets whose name contains this).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
secs=${FUZZ_SECONDS:-}
budget=${FUZZ_BUDGET:-420}
bdir=${FUZZ_BUILD:-build-fuzz}
only=${FUZZ_ONLY:-}

case ${secs:-0}$budget in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS and FUZZ_BUDGET must be numbers of seconds, got '$secs' '$budget'" >&2
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
	grep -oE '^([^ :]*/)?fuzz-[A-Za-z0-9_-]+:' | tr -d : | sort -u)
if [ ${#targets[@]} -eq 0 ]; then
	echo "not ok fuzz-build: no fuzz-* targets in $bdir (configured without -Dfuzz=true?)"
	exit 1
fi
if ! nice ninja -C "$bdir" "${targets[@]}" >"$log" 2>&1; then
	grep -E 'error|FAILED|undefined' "$log" | head -40
	echo "not ok fuzz-build: building the fuzz targets failed"
	exit 1
fi

if [ -z "$secs" ]; then
	# 30 s per target, less when there are so many that the runs would take
	# more than FUZZ_BUDGET seconds in all (CI's total stays bounded).
	secs=$((budget / ${#targets[@]}))
	[ "$secs" -gt 30 ] && secs=30
	[ "$secs" -lt 5 ] && secs=5
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
	mkdir -p "$out/corpus"
	# Reproducers of earlier runs stay; this run's are those newer than this.
	touch "$out/.start"
	dirs=("$out/corpus") opts=()
	[ -d "$seeds" ] && dirs+=("$seeds")
	# A dictionary of the format's tokens (JSON keys...) helps a text parser.
	[ -f "$top/tests/fuzz/$name.dict" ] && opts+=(-dict="$top/tests/fuzz/$name.dict")
	# New inputs go to the first directory (under the build dir); the seeds
	# in the repository are only read.
	timeout -k 10 $((secs + 120)) nice "$bdir/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/" "${opts[@]}" "${dirs[@]}" >"$out/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
	covline=$(grep -E '^#[0-9]+.*cov: ' "$out/log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$covline")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$covline")
	nseeds=$(find "${dirs[@]}" -type f 2>/dev/null | wc -l)
	figures="${execs:-0} executions, cov: ${cov:-?} ft: ${ft:-?}, corpus ${nseeds} files, ${secs} s"
	repro=$(find "$out" -maxdepth 1 -type f -newer "$out/.start" \( -name 'crash-*' \
		-o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -1)
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
