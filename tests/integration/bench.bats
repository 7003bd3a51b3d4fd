#!/usr/bin/env bats
# bench/run and bench/report end to end, on two cheap areas with 2 runs each
# (runtime: isola vs crun vs runc, with the concurrency series; cgroup: vs runc):
# the raw JSON and machine.json are written and parse, and bench/report renders a
# page with a table and SVG plots from them.  No timing is asserted.

load helpers

setup_file() {
	export BENCH_TMP
	BENCH_TMP=$(mktemp -d /tmp/isola-it-bench.XXXXXX)
}

teardown_file() {
	rm -rf --one-file-system "$BENCH_TMP"
}

setup() {
	[ -x "$ISOLA" ] || ci_skip "isola is not built"
	for c in crun runc jq bc busybox python3; do require_cmd $c; done
}

# The run is shared by the tests below (it is the slow part): made by the first.
bench_once() {
	[ -f "$BENCH_TMP/res/machine.json" ] && return 0
	run "$ISOLA_TOP/bench/run" --quick -n 2 -b "$(dirname "$ISOLA")/../.." -o "$BENCH_TMP/res" \
		runtime cgroup
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "bench/run --quick writes hyperfine-format JSON, its own JSON and machine.json" {
	bench_once
	m=$BENCH_TMP/res/machine.json
	jq -e '.cores >= 1 and (.cpu_model | length > 0) and (.kernel | length > 0)
		and (.loadavg_before | length == 3) and (.loadavg_after | length == 3)
		and (.kvm | has("flavour")) and (.peers | has("crun") and has("runc"))
		and .quick == true and .runs == 2
		and .areas.runtime.status == "ok" and .areas.cgroup.status == "ok"' "$m"
	for f in "$BENCH_TMP"/res/*.json; do jq -e . "$f" >/dev/null; done
	h=$BENCH_TMP/res/runtime--run.hyperfine.json
	jq -e '[.results[].command] == ["isola", "crun", "runc"]
		and all(.results[]; (.times | length) == 2 and .median > 0 and .min <= .max)' "$h"
	jq -e '.results | length == 2' "$BENCH_TMP/res/cgroup--update-r.hyperfine.json"
	jq -e '.schema == "isola-bench/1" and .area == "runtime"
		and ([.measures[] | select(.x != null) | .x] | sort == [1, 2, 4, 8, 16])
		and ([.measures[] | select(.measure == "peak RSS of run")] | length == 1)' \
		"$BENCH_TMP/res/runtime.json"
	# The scripts' own tables are kept too.
	grep -q 'isola/runc' "$BENCH_TMP/res/cgroup.log"
}

@test "bench/report renders a page with a table per area and SVG plots" {
	/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || ci_skip "python3-matplotlib not installed"
	bench_once
	run "$ISOLA_TOP/bench/report" --page "$BENCH_TMP/perf.md" --svg-dir "$BENCH_TMP/perf" \
		"$BENCH_TMP/res"
	echo "$output"
	[ "$status" -eq 0 ]
	p=$BENCH_TMP/perf.md
	grep -q '^<!-- BEGIN bench/report' "$p"
	grep -q '^### Runtime vs crun and runc' "$p"
	grep -q '^### cgroup commands vs runc' "$p"
	grep -Eq '^\| run \| ms \| [0-9.]+ \([0-9.]+–[0-9.]+\), n=2 \|.*× crun, .*× runc \| ≤ 0.7× crun \| (yes|no) \|$' "$p"
	grep -Eq '^\| runtime \| run \| ' "$p" # the summary against the targets
	for s in runtime-ratios cgroup-ratios runtime-run-bin-true-k-started-at-once; do
		grep -q "](perf/$s.svg)" "$p"
		grep -q '<svg' "$BENCH_TMP/perf/$s.svg"
	done
}

@test "bench/run refuses bad arguments with one line and leaves nothing behind" {
	for args in "-n x" "-n 0" "nosucharea" "--bogus"; do
		# shellcheck disable=SC2086
		run "$ISOLA_TOP/bench/run" $args -o "$BENCH_TMP/bad"
		[ "$status" -ne 0 ]
		[[ "${lines[0]}" == bench/run:* ]]
		[ ! -e "$BENCH_TMP/bad" ]
	done
	# A build directory the scripts' command lines cannot carry.
	ln -s "$(dirname "$ISOLA")/../.." "$BENCH_TMP/b 'x"
	run "$ISOLA_TOP/bench/run" -b "$BENCH_TMP/b 'x" -o "$BENCH_TMP/bad" cgroup
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "bench/run: build directory"* ]]
	[ ! -e "$BENCH_TMP/bad" ]
	rm "$BENCH_TMP/b 'x"
}
