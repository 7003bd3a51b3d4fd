#!/usr/bin/env bats
# The cgroup tests again on a pure cgroup v1 layout: cgroup.bats runs in a
# private mount namespace where the host's cgroup2 mount is unmounted, so
# isola detects v1 and uses the v1 driver alone (cgroup.bats checks the
# layout recorded in state.json).

load helpers

@test "cgroup.bats passes on pure cgroup v1 (cgroup2 mount hidden)" {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && skip "SKIP: this host is cgroup v2 only"
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 hierarchies on this host"
	require_cmd bats
	# A clean environment: the inner bats must not see this bats's variables.
	run unshare -m --propagation private sh -c '
		if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
			umount /sys/fs/cgroup/unified || exit 99
		fi
		exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" ISOLA="$1" ISOLA_TEST_LAYOUT=v1 \
			bats "$0"' "$BATS_TEST_DIRNAME/cgroup.bats" "$ISOLA"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 1 "* ]]
	[[ "$output" != *"not ok"* ]]
}
