#!/usr/bin/env bats
# Container cgroups on the real host (hybrid here: v1 controllers plus
# cgroup2 at /sys/fs/cgroup/unified), and pause/resume/ps/update.

load helpers

setup() {
	# ID first: the teardown's globs cover every hierarchy, also after a skip.
	ID=isola-it-cg-$$-$BATS_TEST_NUMBER
	isola_tmp
	B=$TMP/b
	R=$TMP/root
	make_busybox_bundle "$B"
	bundle_jq "$B" ".linux.cgroupsPath = \"/$ID\""
}

teardown() {
	"$ISOLA" --root "$R" resume "$ID" >/dev/null 2>&1 || true
	for id in "$ID" "$ID-2" "$ID-3"; do # -2, -3: a failed test's second containers
		"$ISOLA" --root "$R" delete --force "$id" >/dev/null 2>&1 || true
	done
	[ -n "${NESTED_PID:-}" ] && kill -9 "$NESTED_PID" 2>/dev/null
	# Deepest first: a failed test may leave nested cgroups behind.  Never without ID.
	if [ -n "${ID:-}" ]; then
		for d in /sys/fs/cgroup/*/"$ID"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	fi
	# Undo enabling hugetlb in the cgroup2 root if this test did it.
	if [ -f "$TMP/subtree-before" ] && ! grep -qw hugetlb "$TMP/subtree-before"; then
		echo -hugetlb >/sys/fs/cgroup/unified/cgroup.subtree_control 2>/dev/null || true
	fi
	isola_cleanup_tmp
}

# The v1 memory hierarchy, or skip.
mem_dir() {
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 memory controller on this host"
	echo "/sys/fs/cgroup/memory/$ID"
}

# The layout isola must detect: ISOLA_TEST_LAYOUT (set by cgroup-v1.bats), else the host's.
want_layout() {
	if [ -n "${ISOLA_TEST_LAYOUT:-}" ]; then
		echo "$ISOLA_TEST_LAYOUT"
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		echo v2
	elif [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
		echo hybrid
	else
		echo v1
	fi
}

# create + start the bundle as it is, detached from our stdio.
create_start() {
	isola create -b "$B" "$ID" >"$TMP/out" 2>&1 </dev/null
	isola start "$ID"
}

start_sleeper() {
	args sleep 1000
	create_start
}

@test "cgroup: created in every hierarchy, removed on delete" {
	mem_dir >/dev/null
	start_sleeper
	[ "$(jq -r .cgroup.layout "$R/$ID/state.json")" = "$(want_layout)" ]
	pid=$(isola state "$ID" | jq -r .pid)
	for c in memory pids cpu cpuset freezer devices blkio; do
		[ -d "/sys/fs/cgroup/$c/$ID" ]
		grep -qx "$pid" "/sys/fs/cgroup/$c/$ID/cgroup.procs"
	done
	if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
		grep -qx "$pid" "/sys/fs/cgroup/unified/$ID/cgroup.procs"
	fi
	# The named hierarchy name=systemd too, as runc: a systemd inside finds its own.
	if [ -f /sys/fs/cgroup/systemd/cgroup.procs ] && [ ! -f /sys/fs/cgroup/systemd/cgroup.controllers ]; then
		grep -qx "$pid" "/sys/fs/cgroup/systemd/$ID/cgroup.procs"
		grep -qx "[0-9]*:name=systemd:/$ID" "/proc/$pid/cgroup"
	fi
	isola kill "$ID" KILL
	wait_until 5 '[ "$(ct_status "$R" "$ID")" = stopped ]'
	isola delete "$ID"
	run ls -d /sys/fs/cgroup/*/"$ID"
	[ "$status" -ne 0 ]
}

@test "cgroup: linux.resources memory, pids and cpu are applied" {
	dir=$(mem_dir)
	bundle_jq "$B" '.linux.resources.memory = {limit: 67108864, reservation: 33554432}
		| .linux.resources.pids = {limit: 64}
		| .linux.resources.cpu = {shares: 512, quota: 50000, period: 100000}'
	start_sleeper
	[ "$(cat "$dir/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "$dir/memory.soft_limit_in_bytes")" = 33554432 ]
	[ "$(cat "/sys/fs/cgroup/pids/$ID/pids.max")" = 64 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.shares")" = 512 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.cfs_quota_us")" = 50000 ]
}

@test "cgroup: a memory limit is enforced inside the container" {
	mem_dir >/dev/null
	bundle_jq "$B" '.linux.resources.memory = {limit: 16777216, swap: 16777216}'
	# Fill a tmpfs with 64 MiB: charged to the container's memory cgroup.
	args sh -c 'mount -t tmpfs -o size=128m tmpfs /tmp && dd if=/dev/zero of=/tmp/fill bs=1M count=64 && echo filled'
	bundle_jq "$B" '.process.capabilities.bounding += ["CAP_SYS_ADMIN"]
		| .process.capabilities.effective += ["CAP_SYS_ADMIN"]
		| .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	run isola run -b "$B" "$ID"
	echo "$output"
	[[ "$output" != *filled* ]]
	# The same with room to spare succeeds: the limit was what stopped it.
	bundle_jq "$B" '.linux.resources.memory = {limit: 268435456, swap: 268435456}'
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *filled* ]]
}

@test "cgroup: blockIO weight and per-device throttles are applied" {
	[ -d /sys/fs/cgroup/blkio ] || skip "SKIP: no blkio hierarchy"
	dev=$(lsblk -dno MAJ:MIN | head -1 | tr -d ' ')
	[ -n "$dev" ] || skip "SKIP: no block device"
	bundle_jq "$B" ".linux.resources.blockIO = {
		throttleReadBpsDevice: [{major: ${dev%:*}, minor: ${dev#*:}, rate: 1048576}],
		throttleWriteIOPSDevice: [{major: ${dev%:*}, minor: ${dev#*:}, rate: 100}]}"
	start_sleeper
	grep -qx "$dev 1048576" "/sys/fs/cgroup/blkio/$ID/blkio.throttle.read_bps_device"
	grep -qx "$dev 100" "/sys/fs/cgroup/blkio/$ID/blkio.throttle.write_iops_device"
	isola delete --force "$ID"
	# A weight needs CFQ or BFQ files (BFQ's exist below the root only).
	bundle_jq "$B" '.linux.resources.blockIO = {weight: 500}'
	if ls /sys/fs/cgroup/blkio/*/blkio*weight >/dev/null 2>&1; then
		start_sleeper
		grep -qx 500 /sys/fs/cgroup/blkio/"$ID"/blkio*weight
		isola delete --force "$ID"
	else
		args true
		run isola run -b "$B" "$ID"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"linux.resources.blockIO.weight"*"blkio.weight"*"not supported by this host"* ]]
	fi
	# A per-device weight needs BFQ as the device's scheduler: applied or refused, never ignored.
	bundle_jq "$B" '.linux.resources.blockIO = {
		weightDevice: [{major: '"${dev%:*}"', minor: '"${dev#*:}"', weight: 300}]}'
	args true
	run isola run -b "$B" "$ID"
	echo "$output"
	# A device without a queue/scheduler file (this host's 253:0) has no BFQ either;
	# a kernel without BFQ has no blkio.weight_device file at all, and the error
	# names that file instead of the value.
	if grep -qs '\[bfq\]' "/sys/dev/block/$dev/queue/scheduler"; then
		[ "$status" -eq 0 ]
	else
		[ "$status" -ne 0 ]
		[[ "$output" == *"linux.resources.blockIO.weightDevice"*"$dev 300"* ||
			"$output" == *"linux.resources.blockIO.weightDevice"*"blkio.weight_device"*"not supported by this host"* ]]
	fi
}

@test "cgroup: cpu.idle is applied; memory.useHierarchy false is refused by this kernel" {
	[ -f /sys/fs/cgroup/cpu/cpu.idle ] || skip "SKIP: no cpu.idle in the v1 cpu controller"
	bundle_jq "$B" '.linux.resources.cpu = {idle: 1} | .linux.resources.memory = {useHierarchy: true}'
	start_sleeper
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.idle")" = 1 ]
	isola delete --force "$ID"
	bundle_jq "$B" '.linux.resources = {memory: {useHierarchy: false}}'
	args true
	run isola run -b "$B" "$ID"
	echo "$output"
	if [ "$status" -eq 0 ]; then
		[ "$(cat /sys/fs/cgroup/memory/memory.use_hierarchy)" = 0 ] # an old kernel took it
	else
		[[ "$output" == *"linux.resources.memory.useHierarchy"* ]]
	fi
}

@test "cgroup: network and rdma on a host without net_cls/rdma hierarchies are clear errors" {
	[ -d /sys/fs/cgroup/net_cls ] && skip "SKIP: net_cls is mounted here"
	bundle_jq "$B" '.linux.resources.network = {classID: 1048577}'
	args true
	run isola run -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.network.classID: the net_cls cgroup controller is not mounted"* ]]
	[ -z "$(ls "$R")" ]
	run ls -d /sys/fs/cgroup/*/"$ID"
	[ "$status" -ne 0 ]
	bundle_jq "$B" '.linux.resources = {rdma: {mlx5_0: {hcaHandles: 2}}}'
	run isola run -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.rdma: the rdma cgroup controller is not available"* ]]
}

@test "cgroup: a failing resource write removes the cgroup it made" {
	mem_dir >/dev/null
	# cpuset.cpus naming a CPU the host lacks fails after the mkdirs.
	bundle_jq "$B" '.linux.resources.cpu = {cpus: "4095"}'
	args true
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.cpus"* ]]
	[ -z "$(ls "$R")" ]
	run ls -d /sys/fs/cgroup/*/"$ID"
	[ "$status" -ne 0 ]
}

@test "cgroup: systemd cgroupsPath without systemd is a clear error" {
	[ -d /run/systemd/system ] && skip "SKIP: this host runs systemd"
	bundle_jq "$B" '.linux.cgroupsPath = "system.slice:isola:x"'
	args true
	run isola run -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"systemd cgroup driver not available: no systemd"* ]]
}

@test "pause and resume freeze and thaw the container" {
	start_sleeper
	[ "$(isola state "$ID" | jq -r .status)" = running ]
	isola pause "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = paused ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cat "/sys/fs/cgroup/freezer/$ID/freezer.state")" = FROZEN ]
	fi
	pid=$(isola state "$ID" | jq -r .pid)
	grep -q '^State:.*[DS]' "/proc/$pid/status"
	run isola pause "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	isola resume "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = running ]
	run isola resume "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not paused"* ]]
}

# runc 1.1 pauses a created container too: it stays unstarted and paused
# (start refuses it) until resume gives it back created.  isola refused it.
@test "pause and resume a created container, as runc: start waits for resume" {
	args sleep 1000
	isola create -b "$B" "$ID" >"$TMP/out" 2>&1 </dev/null
	isola pause "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = paused ]
	[ "$(isola list --format json | jq -r '.[0].status')" = paused ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cat "/sys/fs/cgroup/freezer/$ID/freezer.state")" = FROZEN ]
	fi
	run isola start "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot start a container that is paused"* ]]
	run isola delete "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not stopped: paused"* ]]
	isola resume "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = created ]
	isola start "$ID"
	[ "$(isola state "$ID" | jq -r .status)" = running ]
}

@test "a paused created container: SIGKILL thaws and stops it; delete --force removes it" {
	args sleep 1000
	isola create -b "$B" "$ID" >"$TMP/out" 2>&1 </dev/null
	isola pause "$ID"
	pid=$(isola state "$ID" | jq -r .pid)
	isola kill "$ID" KILL
	wait_until 5 pid_dead "$pid"
	[ "$(isola state "$ID" | jq -r .status)" = stopped ]
	isola delete "$ID"
	[ ! -d "/sys/fs/cgroup/pids/$ID" ]
	isola create -b "$B" "$ID" >"$TMP/out" 2>&1 </dev/null
	isola pause "$ID"
	pid=$(isola state "$ID" | jq -r .pid)
	isola delete --force "$ID"
	pid_dead "$pid"
	run isola state "$ID"
	[ "$status" -ne 0 ]
	[ ! -d "/sys/fs/cgroup/pids/$ID" ]
	[ ! -d "/sys/fs/cgroup/freezer/$ID" ]
}

# runc 1.1: exec into a paused container fails (255, as every failed exec)
# unless --ignore-paused; then the process joins the frozen cgroup and runs
# once resumed.  isola refused it with 1 and had no --ignore-paused.
@test "exec into a paused container: refused with 255 unless --ignore-paused, as runc" {
	start_sleeper
	isola pause "$ID"
	run isola exec "$ID" true
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot exec in a paused container (use --ignore-paused to override)"* ]]
	isola exec --ignore-paused "$ID" sh -c 'echo in' >"$TMP/exec.out" 2>&1 &
	local epid=$!
	sleep 0.5
	kill -0 "$epid" # frozen with the container
	[ ! -s "$TMP/exec.out" ]
	isola resume "$ID"
	wait "$epid"
	[ "$(cat "$TMP/exec.out")" = in ]
	run isola exec --ignore-paused "$ID" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	isola kill "$ID" KILL
	wait_until 5 '[ "$(ct_status "$R" "$ID")" = stopped ]'
	run isola exec "$ID" true
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot exec in a stopped container"* ]]
}

@test "ps lists the container's processes (json and table)" {
	start_sleeper
	pid=$(isola state "$ID" | jq -r .pid)
	run isola ps --format json "$ID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c .)" = "[$pid]" ]
	run isola ps "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *"sleep 1000"* ]]
}

# A container may make cgroups below its own (a writable cgroup2 mount, or
# v1 delegation); delete used to give up past 32 levels, forever.
@test "cgroup: delete removes nested cgroups at any depth (v1 and cgroup2)" {
	start_sleeper
	NESTED_PID=$(isola state "$ID" | jq -r .pid)
	deep=$(printf 'n/%.0s' $(seq 100))
	made=0
	for d in /sys/fs/cgroup/pids /sys/fs/cgroup/memory /sys/fs/cgroup/unified; do
		[ -d "$d/$ID" ] || continue
		mkdir -p "$d/$ID/$deep" "$d/$ID/a/b" "$d/$ID/a/c"
		made=$((made + 1))
	done
	[ "$made" -ge 2 ]
	# The container's process sits in the deepest v1 pids cgroup.
	echo "$NESTED_PID" >"/sys/fs/cgroup/pids/$ID/${deep}cgroup.procs"
	isola delete --force "$ID"
	for d in /sys/fs/cgroup/*/"$ID"; do
		[ ! -e "$d" ]
	done
	# Killed (gone, or a zombie until its new parent reaps it).
	wait_until 10 pid_dead "$NESTED_PID"
}

# The error path of ps freed its output twice (glibc aborts: status 134).
@test "ps: a failing ps(1) is a clean error" {
	start_sleeper
	run isola ps "$ID" -o no-such-column
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"ps failed"* ]]
}

@test "update changes limits from flags and from -r -" {
	dir=$(mem_dir)
	start_sleeper
	isola update --memory 32m --pids-limit 20 --cpu-quota 20000 --cpu-period 100000 "$ID"
	[ "$(cat "$dir/memory.limit_in_bytes")" = 33554432 ]
	[ "$(cat "/sys/fs/cgroup/pids/$ID/pids.max")" = 20 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.cfs_quota_us")" = 20000 ]
	echo '{"memory":{"limit":50331648,"swap":0},"pids":{"limit":-1},"cpu":{"shares":256,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0,"cpus":"","mems":""},"hugepageLimits":[],"devices":[{"allow":true,"access":"rwm"}]}' |
		isola update -r - "$ID"
	[ "$(cat "$dir/memory.limit_in_bytes")" = 50331648 ]
	[ "$(cat "/sys/fs/cgroup/pids/$ID/pids.max")" = max ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.shares")" = 256 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.cfs_quota_us")" = 20000 ] # 0 = unchanged
	run isola update --memory lots "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected a size"* ]]
}

# A write that fails midway (a CPU the host lacks) must not leave the writes
# before it: runc puts the previous limits back, and containerd, which keeps
# the old spec when update fails, relies on that.  isola kept them.
@test "update: a failed update leaves every limit as it was (memory, memsw, shares, quota)" {
	dir=$(mem_dir)
	bundle_jq "$B" '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
	start_sleeper
	local memsw=memory.memsw.limit_in_bytes
	[ -f "$dir/$memsw" ] || memsw=memory.limit_in_bytes
	run isola update -r - "$ID" <<<'{"memory":{"limit":50331648,"swap":50331648},
		"cpu":{"shares":300,"quota":20000,"period":100000,"cpus":"0-4095"}}'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.cpus"* ]]
	[ "$(cat "$dir/memory.limit_in_bytes")" = 33554432 ]
	[ "$(cat "$dir/$memsw")" = 33554432 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.shares")" = 1024 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.cfs_quota_us")" = -1 ]
	# Shrinking (limit before memsw), then failing: memsw goes back after limit.
	run isola update -r - "$ID" <<<'{"memory":{"limit":16777216,"swap":16777216},"cpu":{"mems":"4095"}}'
	[ "$status" -ne 0 ]
	[ "$(cat "$dir/memory.limit_in_bytes")" = 33554432 ]
	[ "$(cat "$dir/$memsw")" = 33554432 ]
	# disableOOMKiller: oom_kill_disable, one line among counters.
	if [ -f "$dir/memory.oom_control" ]; then
		run isola update -r - "$ID" <<<'{"memory":{"disableOOMKiller":true},"cpu":{"cpus":"0-4095"}}'
		[ "$status" -ne 0 ]
		grep -qx "oom_kill_disable 0" "$dir/memory.oom_control"
	fi
	# And a good update still goes through.
	isola update --memory 64m --memory-swap 64m "$ID"
	[ "$(cat "$dir/memory.limit_in_bytes")" = 67108864 ]
}

# The per-device lists too: a throttle the update changed goes back to its
# old rate, one it added goes away, and hugetlb limits are restored.
@test "update: a failed update puts back blkio throttles and hugetlb limits" {
	[ -d /sys/fs/cgroup/blkio ] || skip "SKIP: no blkio hierarchy"
	dev=$(lsblk -dno MAJ:MIN | head -1 | tr -d ' ')
	[ -n "$dev" ] || skip "SKIP: no block device"
	export MAJ=${dev%:*} MIN=${dev#*:}
	bundle_jq "$B" '.linux.resources.blockIO = {throttleReadBpsDevice:
		[{major: ($ENV.MAJ | tonumber), minor: ($ENV.MIN | tonumber), rate: 1048576}]}'
	start_sleeper
	local d=/sys/fs/cgroup/blkio/$ID
	# 4095:4095 is no device: its write fails after the ones before it.
	run isola update -r - "$ID" <<<"{\"blockIO\":{
		\"throttleReadBpsDevice\":[{\"major\":$MAJ,\"minor\":$MIN,\"rate\":2097152}],
		\"throttleWriteIOPSDevice\":[{\"major\":$MAJ,\"minor\":$MIN,\"rate\":77},
			{\"major\":4095,\"minor\":4095,\"rate\":5}]}}"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$(cat "$d/blkio.throttle.read_bps_device")" = "$dev 1048576" ]
	[ -z "$(cat "$d/blkio.throttle.write_iops_device")" ]
	# hugetlb, written before blkio: back to its old limit too (on this
	# hybrid host it lives in the cgroup2 tree, turned on by the update).
	if [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
		[ -f /sys/fs/cgroup/unified/cgroup.subtree_control ] &&
			cp /sys/fs/cgroup/unified/cgroup.subtree_control "$TMP/subtree-before"
		local h=/sys/fs/cgroup/hugetlb/$ID/hugetlb.2MB.limit_in_bytes before=max
		[ -d /sys/fs/cgroup/hugetlb ] || h=/sys/fs/cgroup/unified/$ID/hugetlb.2MB.max
		[ -f "$h" ] && before=$(sed 's/^9223372036854771712$/max/' "$h")
		run isola update -r - "$ID" <<<"{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],
			\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":4095,\"minor\":4095,\"rate\":5}]}}"
		echo "$output"
		[ "$status" -ne 0 ]
		# No limit reads as "max" or, until first written, 2^63-4096.
		[ ! -f "$h" ] || [ "$(sed 's/^9223372036854771712$/max/' "$h")" = "$before" ]
	fi
	# A file named by linux.resources.unified (a cgroup2 core file here).
	local u=/sys/fs/cgroup/unified/$ID/cgroup.max.descendants
	if [ -f "$u" ]; then
		before=$(cat "$u")
		run isola update -r - "$ID" <<<"{\"unified\":{\"cgroup.max.descendants\":\"7\"},
			\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":4095,\"minor\":4095,\"rate\":5}]}}"
		[ "$status" -ne 0 ]
		[ "$(cat "$u")" = "$before" ]
	fi
	# A good update still goes through.
	isola update -r - "$ID" <<<"{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":$MAJ,\"minor\":$MIN,\"rate\":3145728}]}}"
	[ "$(cat "$d/blkio.throttle.read_bps_device")" = "$dev 3145728" ]
}

# runc 1.1.5 takes update --kernel-memory/--kernel-memory-tcp and
# memory.kernel/kernelTCP in config.json, checks them and ignores them with a
# warning (the kernel deprecated kmem limits).  isola had no such flags.
@test "update --kernel-memory, --kernel-memory-tcp: checked, then ignored with a warning, as runc" {
	dir=$(mem_dir)
	bundle_jq "$B" '.linux.resources.memory = {limit: 33554432, kernel: 16777216, kernelTCP: 16777216}'
	start_sleeper
	grep -q 'kernel memory settings are ignored' "$TMP/out"
	kmem=$(cat "$dir/memory.kmem.limit_in_bytes" 2>/dev/null || echo none)
	run isola update --kernel-memory 64m --kernel-memory-tcp -1 "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"memory.kernel, kernelTCP: kernel memory settings are ignored"* ]]
	[ "$(cat "$dir/memory.kmem.limit_in_bytes" 2>/dev/null || echo none)" = "$kmem" ]
	[ "$(cat "$dir/memory.limit_in_bytes")" = 33554432 ]
	for bad in lots -5 0x10 99999999999999999999999 9223372036854775808; do
		run isola update --kernel-memory "$bad" "$ID"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--kernel-memory \`$bad\`: expected a size"* ]]
	done
	run isola update --kernel-memory-tcp -2 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--kernel-memory-tcp"* ]]
	run isola update -r - "$ID" <<<'{"memory":{"kernelTCP":"1g"}}'
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.memory.kernelTCP: expected an integer"* ]]
}

@test "create: a memory.kernel that is not an int64 fails, naming it, and leaves nothing" {
	args true
	bundle_jq "$B" '.linux.resources.memory = {kernel: "lots"}'
	# Not `run`: were it to succeed, the init would hold bats's pipe open.
	refute isola create -b "$B" "$ID" >"$TMP/out" 2>&1 </dev/null
	grep -q 'linux.resources.memory.kernel: expected an integer' "$TMP/out"
	run isola state "$ID"
	[ "$status" -ne 0 ]
	[ ! -e "$R/$ID" ]
	[ ! -d "/sys/fs/cgroup/pids/$ID" ]
	[ ! -d "/sys/fs/cgroup/memory/$ID" ]
}

@test "events --stats prints runc-style usage" {
	bundle_jq "$B" '.linux.resources.pids = {limit: 50}'
	start_sleeper
	run isola events --stats "$ID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type)" = stats ]
	[ "$(echo "$output" | jq -r .id)" = "$ID" ]
	[ "$(echo "$output" | jq -r .data.pids.current)" -ge 1 ]
	[ "$(echo "$output" | jq -r .data.pids.limit)" = 50 ]
	[ "$(echo "$output" | jq -r .data.memory.usage.usage)" -gt 0 ]
	[ "$(echo "$output" | jq -r .data.cpu.usage.total)" -gt 0 ]
	[ "$(echo "$output" | jq -r '.data.blkio | type')" = object ]
	[[ "$(echo "$output" | jq -r '.data.blkio.ioServiceBytesRecursive | type')" == @(array|null) ]]
	[ "$(echo "$output" | jq -r '.data.hugetlb | type')" = object ]
}

# runc 1.1.5's types.go tags counters omitempty: a pids.max of "max" (0 here)
# and throttling that never happened are absent, not 0; intel_rdt is always an
# object and network_interfaces null.  Checked against runc itself where present.
@test "events --stats leaves out the zero counters runc leaves out" {
	start_sleeper
	run isola events --stats "$ID"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.data | (.pids | has("current") and (has("limit") | not))
		and .cpu.throttling == {} and .intel_rdt == {}
		and has("network_interfaces") and .network_interfaces == null
		and (.memory.usage | has("limit") and has("failcnt"))
		and all(.blkio[][]; (.value // 1) > 0)'
	command -v runc >/dev/null || return 0
	isola delete --force "$ID"
	runc --root "$TMP/runc" run -d -b "$B" "$ID" >/dev/null 2>&1 </dev/null
	run runc --root "$TMP/runc" events --stats "$ID"
	runc --root "$TMP/runc" delete --force "$ID"
	echo "$output" | jq -e '.data | (.pids | has("limit") | not) and .cpu.throttling == {}
		and .intel_rdt == {} and .network_interfaces == null'
}

# Keys runc 1.1.5 reports on a v1 host that isola left out (names from runc's
# types.go): cpuset, memory.cache, memory.kernel/kernelTCP, percpu_user/kernel.
@test "events --stats on cgroup v1: runc's cpuset, memory cache/kernel/kernelTCP, percpu modes" {
	[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ] || skip "SKIP: no cgroup v1 cpuset controller"
	mem_dir >/dev/null
	bundle_jq "$B" '.linux.resources.cpu = {cpus: "0", mems: "0"}'
	start_sleeper
	run isola events --stats "$ID"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.data.cpuset | .cpus == [0] and .mems == [0]
		and (.sched_relax_domain_level | type) == "number"
		and ([has("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
			"memory_spread_page", "memory_spread_slab", "memory_pressure",
			"sched_load_balance")] | all)'
	echo "$output" | jq -e '.data.memory | ((has("cache") | not) or .cache > 0)
		and (.kernel | has("usage") and has("limit") and has("failcnt"))
		and (.kernelTCP | has("limit") and has("failcnt"))'
	if [ -f "/sys/fs/cgroup/cpuacct/$ID/cpuacct.usage_all" ]; then
		echo "$output" | jq -e '.data.cpu.usage
			| (.percpu_user | length) == (.percpu | length)
			and (.percpu_kernel | length) == (.percpu | length)'
	fi
}

@test "cgroup: a relative cgroupsPath is below the runtime's own cgroup" {
	mem_dir >/dev/null
	base=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	base=${base%/}
	bundle_jq "$B" ".linux.cgroupsPath = \"$ID\""
	start_sleeper
	pid=$(isola state "$ID" | jq -r .pid)
	grep -qx "$pid" "/sys/fs/cgroup/memory$base/$ID/cgroup.procs"
	isola delete --force "$ID"
	[ ! -d "/sys/fs/cgroup/memory$base/$ID" ]
}

@test "cgroup: hugepageLimits land in hugetlb (v1 controller or the cgroup2 tree)" {
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "SKIP: no 2MB huge pages"
	[ -f /sys/fs/cgroup/unified/cgroup.subtree_control ] &&
		cp /sys/fs/cgroup/unified/cgroup.subtree_control "$TMP/subtree-before"
	bundle_jq "$B" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]'
	if [ "$(want_layout)" = v1 ] && [ ! -d /sys/fs/cgroup/hugetlb ]; then
		args true
		run isola run -b "$B" "$ID"
		[ "$status" -ne 0 ]
		[[ "$output" == *"hugepageLimits: the hugetlb cgroup controller is not mounted"* ]]
		return
	fi
	start_sleeper
	if [ -d /sys/fs/cgroup/hugetlb ]; then
		[ "$(cat "/sys/fs/cgroup/hugetlb/$ID/hugetlb.2MB.limit_in_bytes")" = 4194304 ]
	elif [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
		[ "$(cat "/sys/fs/cgroup/unified/$ID/hugetlb.2MB.max")" = 4194304 ]
	else
		[ "$(cat "/sys/fs/cgroup/$ID/hugetlb.2MB.max")" = 4194304 ]
	fi
}

@test "events streams an oom event when the container exceeds its memory limit" {
	mem_dir >/dev/null
	bundle_jq "$B" '.linux.resources.memory = {limit: 16777216, swap: 16777216}
		| .process.oomScoreAdj = 500'
	# A child doubles a string until the kernel kills it; the init lives on.
	args sh -c 'sleep 1; awk "BEGIN { s = \"x\"; for (;;) s = s s }"; echo awk=$?; sleep 1'
	create_start
	run timeout 30 "$ISOLA" --root "$R" events --interval 1s "$ID"
	echo "$output"
	[ "$status" -eq 0 ] # the stream ends by itself when the init exits
	[ "$(echo "$output" | jq -r 'select(.type == "oom") | .id' | head -1)" = "$ID" ]
	[ "$(echo "$output" | jq -r 'select(.type == "stats") | .type' | head -1)" = stats ]
	cat "$TMP/out"
	grep -qx 'awk=137' "$TMP/out" # SIGKILL for the allocator, the init carried on
}

@test "events stream: no oom event without an OOM kill; a stopped container is an error" {
	args sh -c 'sleep 1.5'
	create_start
	run timeout 30 "$ISOLA" --root "$R" events --interval 500ms "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type | sort -u)" = stats ]
	run isola events "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not running"* ]]
}

pids_max_events() { # DIR: how often a fork was refused at pids.max
	awk '$1 == "max" { print $2 }' "$1/pids.events"
}

@test "a fork bomb stops at pids.max" {
	[ -d /sys/fs/cgroup/pids ] || skip "SKIP: no pids controller"
	bundle_jq "$B" '.linux.resources.pids = {limit: 24}'
	# Every process forks two more, then sleeps; the init only waits.
	args sh -c 'f() { f & f & exec sleep 1000; }; f 2>/dev/null & wait'
	create_start
	dir=/sys/fs/cgroup/pids/$ID
	# Forks get refused, and the bomb fills the cgroup up to its limit.
	wait_until 10 '[ "$(pids_max_events "$dir")" -gt 0 ]'
	wait_until 10 '[ "$(cat "$dir/pids.current")" -ge 12 ]'
	cat "$dir/pids.current" "$dir/pids.events"
	[ "$(awk '$1 == "max" { print $2 }' "$dir/pids.events")" -gt 0 ] # forks were refused
	# The kernel's own count: the bomb grew to the limit and no further.  (A
	# `ps` listing at one instant misses forks that are failing and exiting.)
	cur=$(cat "$dir/pids.current")
	[ "$cur" -le 24 ]
	[ "$cur" -ge 12 ]
	n=$(isola ps --format json "$ID" | jq length)
	echo "processes: $n"
	[ "$n" -le 24 ]
	[ "$n" -ge 1 ]
	[ "$(isola state "$ID" | jq -r .status)" = running ]
	isola delete --force "$ID"
	[ ! -d "$dir" ]
}

@test "a CPU hog under quota 20ms/100ms uses about 20% of a CPU" {
	[ -d /sys/fs/cgroup/cpu ] || skip "SKIP: no cpu controller"
	bundle_jq "$B" '.linux.resources.cpu = {quota: 20000, period: 100000}'
	args sh -c 'while :; do :; done'
	create_start
	wait_until 5 '[ "$(isola events --stats "$ID" | jq .data.cpu.usage.total)" -gt 0 ]'
	u0=$(isola events --stats "$ID" | jq .data.cpu.usage.total)
	t0=$(date +%s%N)
	sleep 2
	u1=$(isola events --stats "$ID" | jq .data.cpu.usage.total)
	t1=$(date +%s%N)
	pct=$(((u1 - u0) * 100 / (t1 - t0)))
	echo "cpu usage: $pct% of one CPU"
	# Only the cap is checked: a loaded host may give the hog much less than its quota.
	[ "$pct" -le 40 ]
	[ "$(isola events --stats "$ID" | jq .data.cpu.throttling.throttledPeriods)" -gt 0 ]
}

# The default parent /isola is shared with other users of isola on this host:
# it must be gone after our delete unless someone else's container is in it.
assert_default_parent_gone() {
	local d others
	for d in /sys/fs/cgroup/*/isola; do
		[ -d "$d" ] || continue
		[ ! -d "$d/$ID" ]
		others=$(find "$d" -mindepth 1 -maxdepth 1 -type d | grep -c . || true)
		echo "$d: $others other containers"
		[ "$others" -gt 0 ]
	done
}

@test "delete --force after a create killed midway removes its cgroups and the default parent" {
	mem_dir >/dev/null
	bundle_jq "$B" 'del(.linux.cgroupsPath)
		| .hooks.createRuntime = [{path: "/bin/sh",
			args: ["sh", "-c", "echo $$ >'"$TMP"'/hook.pid; exec sleep 30"]}]'
	args true
	"$ISOLA" --root "$R" create -b "$B" "$ID" >/dev/null 2>&1 </dev/null &
	create=$!
	for _ in $(seq 100); do
		[ -d "/sys/fs/cgroup/memory/isola/$ID" ] && [ -s "$TMP/hook.pid" ] && break
		sleep 0.1
	done
	[ -d "/sys/fs/cgroup/memory/isola/$ID" ]
	hook=$(cat "$TMP/hook.pid")
	kill -9 "$create"
	wait "$create" || true
	kill -9 "$hook" 2>/dev/null || true
	[ -d "$R/$ID" ]
	isola delete --force "$ID"
	[ -z "$(ls "$R")" ]
	run ls -d /sys/fs/cgroup/*/isola/"$ID"
	[ "$status" -ne 0 ]
	assert_default_parent_gone
}

@test "delete of the last container with the default cgroupsPath removes /isola" {
	mem_dir >/dev/null
	bundle_jq "$B" 'del(.linux.cgroupsPath)'
	start_sleeper
	[ -d "/sys/fs/cgroup/memory/isola/$ID" ]
	isola delete --force "$ID"
	run ls -d /sys/fs/cgroup/*/isola/"$ID"
	[ "$status" -ne 0 ]
	assert_default_parent_gone
}

@test "update: memory.checkBeforeUpdate refuses a limit below usage; cpu.burst is applied" {
	dir=$(mem_dir)
	start_sleeper
	before=$(cat "$dir/memory.limit_in_bytes")
	run isola update -r - "$ID" <<<'{"memory":{"limit":4096,"checkBeforeUpdate":true}}'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"memory.limit: 4096 is below the current usage"* ]]
	[ "$(cat "$dir/memory.limit_in_bytes")" = "$before" ]
	[ -f "/sys/fs/cgroup/cpu/$ID/cpu.cfs_burst_us" ] || skip "SKIP: no cpu.cfs_burst_us here"
	isola update -r - "$ID" <<<'{"cpu":{"quota":50000,"period":100000,"burst":20000}}'
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.cfs_burst_us")" = 20000 ]
}

@test "update: a negative value for an unsigned field is refused, not wrapped to a huge one" {
	start_sleeper
	isola update --cpu-share 512 "$ID"
	# (uint64)-1 in cpu.shares was the largest weight the kernel allows (262144).
	run isola update --cpu-share -1 "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.shares: -1 is negative"* ]]
	run isola update -r - "$ID" <<<'{"cpu":{"shares":-2,"period":-1}}'
	[ "$status" -ne 0 ]
	[[ "$output" == *"cpu.shares: -2 is negative"* ]]
	[ "$(cat "/sys/fs/cgroup/cpu/$ID/cpu.shares")" = 512 ]
	run isola update -r - "$ID" <<<'{"blockIO":{"throttleReadBpsDevice":[{"major":1,"minor":3,"rate":-1}]}}'
	[ "$status" -ne 0 ]
	[[ "$output" == *"rate: -1 is negative"* ]]
	# The same at create.
	isola delete --force "$ID"
	bundle_jq "$B" '.linux.resources.cpu.shares = -1'
	run isola create -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.shares: -1 is negative"* ]]
}

# A review helper's findings: a second container given the first's cgroupsPath
# shared it (deleting either killed both), and "/" named the hierarchy's root.
@test "cgroup: another container's cgroup (it holds processes) and the hierarchy's root are refused" {
	bundle_jq "$B" '.process.args = ["sleep", "100"]'
	"$ISOLA" --root "$R" run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	pid=$("$ISOLA" --root "$R" state "$ID" | jq -r .pid)
	"$ISOLA" --root "$R" pause "$ID"
	st=0
	"$ISOLA" --root "$R" run -d -b "$B" "$ID-2" 2>"$TMP/err" >/dev/null 3>&- || st=$?
	cat "$TMP/err"
	[ "$st" -ne 0 ]
	grep -q "holds 1 processes (another container's?)" "$TMP/err"
	[ ! -e "$R/$ID-2" ]
	# The first runs on, in its cgroup, still paused (the refusal thawed it).
	kill -0 "$pid"
	grep -q "/$ID\$" "/proc/$pid/cgroup"
	[ "$("$ISOLA" --root "$R" state "$ID" | jq -r .status)" = paused ]
	"$ISOLA" --root "$R" resume "$ID"
	# Nor an ancestor of another's: its processes are below.
	bundle_jq "$B" ".linux.cgroupsPath = \"/$ID-up/a\""
	"$ISOLA" --root "$R" run -d -b "$B" "$ID-2" >/dev/null 2>&1 3>&-
	bundle_jq "$B" ".linux.cgroupsPath = \"/$ID-up\""
	st=0
	"$ISOLA" --root "$R" run -d -b "$B" "$ID-3" 2>"$TMP/err" >/dev/null 3>&- || st=$?
	cat "$TMP/err"
	"$ISOLA" --root "$R" delete -f "$ID-2"
	rmdir /sys/fs/cgroup/*/"$ID-up" 2>/dev/null || true
	[ "$st" -ne 0 ]
	grep -q "holds 1 processes (another container's?)" "$TMP/err"
	for p in / ///; do
		bundle_jq "$B" ".linux.cgroupsPath = \"$p\""
		st=0
		"$ISOLA" --root "$R" run -d -b "$B" "$ID-3" 2>"$TMP/err" >/dev/null 3>&- || st=$?
		cat "$TMP/err"
		[ "$st" -ne 0 ]
		grep -q "names the hierarchy's root" "$TMP/err"
		[ ! -e "$R/$ID-3" ]
	done
}

# A container that may write its cgroup makes cgroups of its own below it
# (systemd, docker inside): ps and kill --all missed what ran there.
@test "cgroup: ps and kill --all reach the processes in cgroups below the container's" {
	bundle_jq "$B" '.process.args = ["sh", "-c", "sleep 1000 & sleep 1000"]'
	"$ISOLA" --root "$R" run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	pid=$("$ISOLA" --root "$R" state "$ID" | jq -r .pid)
	# The host moves the init two levels down in every hierarchy, as the container could.
	for d in /sys/fs/cgroup/*/"$ID"; do
		mkdir -p "$d/sub/deeper"
		for f in cpuset.cpus cpuset.mems; do # v1 cpuset: none of either until set
			[ -f "$d/$f" ] || continue
			cat "$d/$f" >"$d/sub/$f"
			cat "$d/$f" >"$d/sub/deeper/$f"
		done
		echo "$pid" >"$d/sub/deeper/cgroup.procs"
	done
	run "$ISOLA" --root "$R" ps --format json "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 2 ]
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$output"
	"$ISOLA" --root "$R" kill --all "$ID" KILL
	wait_until 5 "! kill -0 $pid 2>/dev/null"
	wait_until 5 '[ "$("$ISOLA" --root "$R" state "$ID" | jq -r .status)" = stopped ]'
}
