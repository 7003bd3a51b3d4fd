# Paired runs for the benchmarks inside L1 (sourced by tests/l1/l1-bench.sh
# and tests/l1/l1-vmct-bench.sh).  paired_runs "KIND..." FN calls FN KIND N
# for each kind in run N = l1first..l1runs, the order rotated each run so no
# kind always goes first, and prints "# paired run N done" after each run:
# tests/l1/run.sh boots a wedged L1 again from the first run not done
# (l1first on L1's command line).

: "${l1runs:=5}" "${l1first:=1}"

now_ms() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}0"
}

paired_runs() { # "KIND..." FN
	local kinds=$1 fn=$2 cnt n r order i v
	cnt=$(echo $kinds | wc -w)
	n=$l1first
	while [ "$n" -le "$l1runs" ]; do
		r=$((n % cnt))
		order=
		i=0
		for v in $kinds $kinds; do
			[ $i -ge $r ] && [ $i -lt $((r + cnt)) ] && order="$order $v"
			i=$((i + 1))
		done
		for v in $order; do
			"$fn" "$v" "$n"
		done
		echo "# paired run $n done"
		n=$((n + 1))
	done
}
