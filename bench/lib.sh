# Machine-readable output for the bench/*.sh scripts (sourced).  When BENCH_OUT names a
# directory (bench/run sets it), the scripts leave their raw numbers there as well as
# printing their tables: hyperfine-format files (from bench/paired.py) as
# AREA--MEASURE.hyperfine.json, everything else in AREA.json (bench/record.py's schema,
# bench/README.md).  Without BENCH_OUT these do nothing.
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# bench_keep AREA MEASURE FILE: keep a hyperfine-format export.
bench_keep() {
	[ -n "${BENCH_OUT:-}" ] || return 0
	cp "$3" "$BENCH_OUT/$1--$2.hyperfine.json"
}

# bench_record AREA MEASURE UNIT SUBJECT [--x X] [--better higher] VALUE...
bench_record() {
	[ -n "${BENCH_OUT:-}" ] || return 0
	local area=$1 measure=$2 unit=$3 subject=$4
	shift 4
	python3 "$bench_dir/record.py" "$BENCH_OUT/$area.json" "$area" "$measure" "$unit" \
		"$subject" "$@"
}
