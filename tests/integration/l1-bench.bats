#!/usr/bin/env bats
# bench/l1-boot.sh survives a wedged L1 (tests/l1/run.sh's watchdog, the paired
# runs of tests/l1/l1-paired.sh): a stand-in for QEMU prints the bench lines an
# L1 would, and in its first boot stops using CPU in the middle of run 2 (as
# the idle wedges do).  The bench must boot L1 again from run 2 (l1first=2),
# drop the half-done run's sample and count each run once.  No real L1 boots
# (the L1 initramfs is still built or taken from the cache, as for l1.bats).

load helpers

setup() {
	require_cmd qemu-system-x86_64 # run.sh builds the bench initramfs with QEMU's firmware
	isola_tmp
	mkdir -p "$TMP/bin"
	cat >"$TMP/bin/qemu-system-x86_64" <<-'EOF2'
	#!/usr/bin/env bash
	# L1 stand-in: "BENCH isola RUN MS..." for runs l1first..l1runs; the first boot
	# wedges (sleeps, no CPU) after run 1 and half of run 2.
	prev= app=
	for a; do
		[ "$prev" = -append ] && app=$a
		prev=$a
	done
	echo "$app" >>"$FAKE_STATE/boots"
	arg() { tr ' ' '\n' <<<"$app" | sed -n "s/^$1=//p"; }
	n=$(arg l1first) runs=$(arg l1runs)
	while [ "$n" -le "$runs" ]; do
		if [ ! -e "$FAKE_STATE/wedged" ] && [ "$n" = 2 ]; then
			touch "$FAKE_STATE/wedged"
			echo "BENCH isola 2 999999 999999 999999 999999 999999"
			exec -a "$0-wedged" sleep 1000
		fi
		echo "BENCH isola $n $((n * 100)) $((n * 200)) 2048 1024 $((n * 10))"
		echo "# paired run $n done"
		n=$((n + 1))
	done
	echo "# L1-DONE"
	EOF2
	chmod +x "$TMP/bin/qemu-system-x86_64"
	export FAKE_STATE=$TMP
}

teardown() {
	isola_cleanup_tmp
}

@test "l1-boot.sh: a wedged L1 is booted again from the first paired run not done; half runs are dropped" {
	# The real QEMU's firmware is what run.sh copies; only the binary is the stand-in.
	PATH=$TMP/bin:$PATH L1_STALL=10 L1_NUDGE=5 L1_RETRIES=1 ISOLA=$ISOLA \
		run "$ISOLA_TOP/bench/l1-boot.sh" 3 isola
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$TMP/boots")" -eq 2 ]
	grep -q ' l1first=1 ' "$TMP/boots"
	[ "$(sed -n 2p "$TMP/boots" | grep -o ' l1first=[0-9]*')" = " l1first=2" ]
	# The key presses are counted on the console log once QEMU ended (each is in nudges.log).
	[[ "$output" == *"L1 stalled or silent 5s "*" times in this boot: a key pressed each time"* ]]
	[[ "$output" == *"3 paired runs"* ]]
	# Medians of 100/200/300 etc.: the wedged run's 999999 is not among them.
	[[ "$output" =~ isola\ +200\ +400\ +2.0\ +1.0\ +20 ]]
	! pgrep -f "$TMP/bin/qemu-system-x86_64"
}
