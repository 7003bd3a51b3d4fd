#!/usr/bin/env bats
# podman 4.3 driving isola as its OCI runtime (create/start/exec/kill/delete,
# pause/resume, console sockets, pods sharing namespaces).

bats_require_minimum_version 1.5.0
load clients-helpers

setup() {
	isola_tmp
	podman_setup
}

teardown() {
	podman_teardown
	isola_cleanup_tmp
}

# Containers and per-container cgroups of this test's podman must all be gone.
assert_podman_clean() {
	run pm ps -aq
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	local ids
	ids=$(find /sys/fs/cgroup/ -maxdepth 3 -name 'libpod-*' 2>/dev/null | grep -c . || true)
	[ "$ids" -eq 0 ] || { find /sys/fs/cgroup/ -maxdepth 3 -name 'libpod-*' >&2; return 1; }
}

@test "podman run --rm true through isola" {
	run pm run --rm "$PODMAN_IMG" true
	echo "$output"
	[ "$status" -eq 0 ]
	assert_podman_clean
}

@test "podman run passes the exit code through" {
	run pm run --rm "$PODMAN_IMG" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run pm run --rm "$PODMAN_IMG" sh -c 'echo out-$((6*7))'
	[ "$status" -eq 0 ]
	[ "$output" = "out-42" ]
	# A missing binary is the runtime's error, shown by podman (JSON log).
	run -127 pm run --rm "$PODMAN_IMG" /no/such/binary
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/binary"* ]]
	assert_podman_clean
}

# execve of a directory or a device is EACCES: podman's 126 ("cannot invoke"),
# as with runc; a stale errno made it "No such file or directory" and 127.
@test "podman run and exec of a directory or a device: permission denied, 126" {
	run pm run --rm "$PODMAN_IMG" /bin
	echo "$output"
	[ "$status" -eq 126 ]
	[[ "$output" == *"/bin"*"ermission denied"* ]]
	run pm run --rm "$PODMAN_IMG" /dev/null
	[ "$status" -eq 126 ]
	pm run -d --name isola-it-px "$PODMAN_IMG" sleep 100
	run pm exec isola-it-px /bin
	echo "$output"
	[ "$status" -eq 126 ]
	pm rm -f -t 0 isola-it-px
	assert_podman_clean
}

# A relative program path is the process's cwd's, as with runc (which looks it
# up after the chdir): isola looked it up from / and said 127.
@test "podman run -w DIR ./prog and exec -w DIR ./prog: relative to the working directory" {
	run pm run --rm -w /bin "$PODMAN_IMG" ./echo from-cwd
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = from-cwd ]
	pm run -d --name isola-it-rw "$PODMAN_IMG" sleep 100
	run pm exec -w /bin isola-it-rw ./echo exec-cwd
	echo "$output"
	[ "$output" = exec-cwd ]
	pm rm -f -t 0 isola-it-rw
	assert_podman_clean
}

# podman exec -e PATH=... adds a second PATH after the container's: the last
# one is the process's (runc sets each in turn), also for finding the program.
@test "podman exec -e PATH=DIR finds the program in DIR (the last PATH wins)" {
	pm run -d --name isola-it-pa "$PODMAN_IMG" sh -c \
		'mkdir -p /opt/bin && printf "#!/bin/sh\necho via-opt\n" >/opt/bin/tool &&
		chmod +x /opt/bin/tool && sleep 100'
	sleep 0.5
	run pm exec -e PATH=/opt/bin:/bin isola-it-pa tool
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = via-opt ]
	run -127 pm exec -e PATH=/nonexistent isola-it-pa sh -c true
	[ "$status" -eq 127 ]
	pm rm -f -t 0 isola-it-pa
	assert_podman_clean
}

# conmon's --timeout kills the container's process group: with the
# container in conmon's group (no session of its own) it killed conmon too,
# podman never got an exit code and the container stayed "Up" for good.
@test "podman run --timeout ends the container, not conmon (a session of its own)" {
	run pm run --name tmo --timeout 2 "$PODMAN_IMG" sleep 30
	echo "$output"
	[ "$status" -eq 255 ] # podman's code for a timed-out container, as with runc
	[[ "$output" != *"no such exit code"* ]]
	run pm inspect -f '{{.State.Status}}' tmo
	[ "$output" = exited ]
	pm rm tmo
	assert_podman_clean
}

@test "podman run -d, exec, stop, rm" {
	run pm run -d --name isola-it-pd "$PODMAN_IMG" \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
	echo "$output"
	[ "$status" -eq 0 ]
	run pm exec isola-it-pd sh -c 'echo in-$(hostname); exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == "in-"* ]]
	run pm exec isola-it-pd cat /proc/1/cmdline
	[ "$status" -eq 0 ]
	[[ "$output" == sh* ]]
	run pm stop -t 10 isola-it-pd
	[ "$status" -eq 0 ]
	run pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' isola-it-pd
	echo "$output"
	[ "$output" = "exited 0" ]
	pm rm isola-it-pd
	assert_podman_clean
}

@test "podman run --tty gives the process a terminal" {
	run pm run --rm -t "$PODMAN_IMG" sh -c 'tty && [ -t 0 ] && [ -t 1 ]'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == /dev/pts/* ]]
	run pm run --rm "$PODMAN_IMG" sh -c '[ -t 1 ]'
	[ "$status" -eq 1 ]
}

# runtime-spec (Default Devices): with a terminal, /dev/console is the pty,
# bind mounted, as runc does for the init (an exec -t gets no mount of its own).
# conmon hands the init a read-only host /dev/null as stdin; runc reopens such
# stdio read-write on the container's /dev/null (reOpenDevNull).
@test "podman run: stdin on /dev/null is the container's, writable (runc's reOpenDevNull)" {
	run pm run --rm "$PODMAN_IMG" sh -c \
		'echo x >&0 && [ /proc/self/fd/0 -ef /dev/null ] && echo reopened'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = reopened ]
	run pm run --rm -i "$PODMAN_IMG" cat <<<piped
	[ "$output" = piped ]
	assert_podman_clean
}

@test "podman run -t: /dev/console is the container's terminal" {
	run pm run --rm -t "$PODMAN_IMG" sh -c \
		'[ /dev/console -ef "$(tty)" ] && echo same; echo via-console >/dev/console'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == same*via-console* ]]
	run pm run --rm "$PODMAN_IMG" ls /dev/console
	[ "$status" -ne 0 ]
	assert_podman_clean
}

@test "podman pause and unpause" {
	require_isola_cmd pause
	pm run -d --name isola-it-pp "$PODMAN_IMG" sh -c 'while :; do sleep 0.2; done'
	run pm pause isola-it-pp
	echo "$output"
	[ "$status" -eq 0 ]
	run pm inspect -f '{{.State.Status}}' isola-it-pp
	[ "$output" = "paused" ]
	run pm unpause isola-it-pp
	[ "$status" -eq 0 ]
	run pm exec isola-it-pp true
	[ "$status" -eq 0 ]
	pm rm -f -t 0 isola-it-pp
	assert_podman_clean
}

# A frozen process does not die of SIGKILL until thawed: runc thaws a paused
# container after SIGKILL; without that podman waited for an exit that never came.
@test "podman kill of a paused container kills it (thawed after SIGKILL)" {
	require_isola_cmd pause
	pm run -d --name isola-it-pk "$PODMAN_IMG" sleep 100
	pm pause isola-it-pk
	run pm kill isola-it-pk
	echo "$output"
	[ "$status" -eq 0 ]
	# "stopped 137" is podman's state between the exit and conmon's
	# cleanup, which podman kill does not wait for.
	wait_until 10 '[ "$(pm inspect -f "{{.State.Status}}" isola-it-pk)" = exited ]' || true
	run pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' isola-it-pk
	echo "$output"
	[ "$output" = "exited 137" ]
	pm rm isola-it-pk
	assert_podman_clean
}

@test "podman pod: two containers share ipc and uts" {
	run pm pod create --name isola-it-pod
	echo "$output"
	[ "$status" -eq 0 ]
	run pm run -d --pod isola-it-pod --name isola-it-pod1 "$PODMAN_IMG" \
		sh -c 'echo shared > /dev/shm/mark; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ]
	wait_until 10 pm exec isola-it-pod1 test -s /dev/shm/mark
	run pm run --rm --pod isola-it-pod "$PODMAN_IMG" sh -c 'cat /dev/shm/mark; hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = shared ]
	[ "${lines[1]}" = isola-it-pod ]
	run pm pod rm -f -t 0 isola-it-pod
	[ "$status" -eq 0 ]
	assert_podman_clean
}

@test "podman --network none and --network host" {
	run pm run --rm --network none "$PODMAN_IMG" sh -c 'ls /sys/class/net'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
	local want
	want=$(ls /sys/class/net | sort | tr '\n' ' ')
	run pm run --rm --network host "$PODMAN_IMG" sh -c 'ls /sys/class/net | sort | tr "\n" " "'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

@test "podman leaves no mounts behind" {
	pm run --rm "$PODMAN_IMG" true
	pm run -d --name isola-it-pm "$PODMAN_IMG" sleep 100
	pm rm -f -t 0 isola-it-pm
	pm system reset --force
	assert_no_mounts_left
}

# The container's v1 directory for a controller, from inside it (/proc/1/cgroup).
pm_cgroup_file() { # NAME CONTROLLER FILE
	local path
	path=$(pm exec "$1" cat /proc/1/cgroup | awk -F: -v c="$2" '$2 == c { print $3 }')
	[ -n "$path" ] || path=$(pm exec "$1" cat /proc/1/cgroup | awk -F: '$2 == "" { print $3 }')
	cat "/sys/fs/cgroup/$2$path/$3" 2>/dev/null || cat "/sys/fs/cgroup/unified$path/$3"
}

@test "podman run --memory --cpus --pids-limit sets the container's cgroup" {
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 memory controller"
	# conmon writes an "oom" marker into its working directory on an OOM kill: keep it in TMP.
	cd "$TMP"
	run pm run -d --name isola-it-pr --memory 64m --cpus 0.5 --pids-limit 33 "$PODMAN_IMG" \
		sleep 100
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(pm_cgroup_file isola-it-pr memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(pm_cgroup_file isola-it-pr pids pids.max)" = 33 ]
	[ "$(pm_cgroup_file isola-it-pr cpu,cpuacct cpu.cfs_quota_us 2>/dev/null ||
		pm_cgroup_file isola-it-pr cpu cpu.cfs_quota_us)" = 50000 ]
	# A memory limit podman set is enforced: allocating past it gets the process killed.
	run pm exec isola-it-pr awk 'BEGIN { s = "x"; for (;;) s = s s }'
	echo "awk: $status"
	[ "$status" -eq 137 ]
	pm rm -f -t 0 isola-it-pr
	assert_podman_clean
}

@test "podman --device-read-bps reaches blkio through isola" {
	[ -d /sys/fs/cgroup/blkio ] || skip "SKIP: no cgroup v1 blkio controller"
	local dev
	dev=$(lsblk -dnpo NAME,TYPE | awk '$2 == "disk" { print $1; exit }')
	[ -n "$dev" ] || skip "SKIP: no block device"
	run pm run -d --name isola-it-pb --device-read-bps "$dev:1mb" "$PODMAN_IMG" sleep 100
	echo "$output"
	[ "$status" -eq 0 ]
	pm_cgroup_file isola-it-pb blkio blkio.throttle.read_bps_device
	[ "$(pm_cgroup_file isola-it-pb blkio blkio.throttle.read_bps_device)" = \
		"$(lsblk -dno MAJ:MIN "$dev" | tr -d ' ') 1048576" ]
	pm rm -f -t 0 isola-it-pb
	assert_podman_clean
}

@test "podman --device HOST:CTR:r through isola: readable, not writable (the PERMS are the cgroup's)" {
	[ -c /dev/loop-control ] || skip "SKIP: no /dev/loop-control"
	# isola allowed rwm on every linux.devices entry, so :r meant nothing.
	run pm run --rm --device /dev/loop-control:/dev/lc:r "$PODMAN_IMG" sh -c \
		'exec 3</dev/lc && echo read-ok; exec 4>/dev/lc && echo write-ok'
	echo "$output"
	[[ "$output" == *read-ok* ]]
	[[ "$output" == *"/dev/lc: Operation not permitted"* ]]
	[[ "$output" != *write-ok* ]]
	assert_podman_clean
}

# runc appends `c *:* m` and `b *:* m` to every container's device rules: with
# CAP_MKNOD (podman's default set) a container may make any node (debootstrap,
# image builds) but not open one that no rule allows.
@test "podman run: mknod of any device is allowed, opening it is not (runc's default rules)" {
	run pm run --rm "$PODMAN_IMG" sh -c \
		'mknod /tmp/mem c 1 1 && mknod /tmp/loop b 7 0 && echo made; cat /tmp/mem'
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == made*"/tmp/mem"*"Operation not permitted" ]]
	run pm run --rm --cap-drop MKNOD "$PODMAN_IMG" mknod /tmp/mem c 1 1
	[ "$status" -eq 1 ]
	assert_podman_clean
}

@test "podman stats --no-stream sees the container's cgroup (usage, limit, pids)" {
	pm run -d --name isola-it-ps --memory 64m "$PODMAN_IMG" sleep 100
	run pm stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' isola-it-ps
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"isola-it-ps "*" / 67.11MB 1" ]]
	pm rm -f -t 0 isola-it-ps
	assert_podman_clean
}

@test "podman update changes limits through isola update" {
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 memory controller"
	pm run -d --name isola-it-pu --memory 64m "$PODMAN_IMG" sleep 100
	run pm update --memory 96m --cpus 0.25 isola-it-pu
	echo "$output"
	# Skip only when podman refused by itself, before running isola: podman runs
	# `$ISOLA ... update --resources=FILE ID` with its own stderr and reports the
	# command line when it fails, and isola's errors are `isola: ...` lines (its
	# "...: not supported by this host" is an isola failure, not a podman limit).
	ran_isola=false
	if grep -q '^isola:' <<<"$output" || [[ "$output" == *"$ISOLA "*"update"* ]]; then
		ran_isola=true
	fi
	if [ "$status" -ne 0 ] && [ "$ran_isola" = false ] &&
		[[ "$output" == *"cgroup"*"v2"* || "$output" == *"not supported"* ]]; then
		pm rm -f -t 0 isola-it-pu
		skip "SKIP: podman $(podman version -f '{{.Client.Version}}') refuses update here: $output"
	fi
	[ "$status" -eq 0 ]
	[ "$(pm_cgroup_file isola-it-pu memory memory.limit_in_bytes)" = 100663296 ]
	[ "$(pm_cgroup_file isola-it-pu cpu,cpuacct cpu.cfs_quota_us 2>/dev/null ||
		pm_cgroup_file isola-it-pu cpu cpu.cfs_quota_us)" = 25000 ]
	pm rm -f -t 0 isola-it-pu
	assert_podman_clean
}

@test "podman --ulimit unlimited (RLIMIT_INFINITY as 18446744073709551615) reaches the container" {
	# podman writes "unlimited" as the uint64 2^64-1 in config.json; a parser
	# with signed 64-bit integers only refused the whole file.
	# nproc as containers.conf has it: podman drops those defaults once --ulimit is
	# given, and this host has no CAP_SYS_RESOURCE to raise RLIMIT_NPROC to its 1048576.
	run pm run --rm --ulimit core=-1:-1 --ulimit nofile=4096:8192 \
		--ulimit nproc=32768:32768 "$PODMAN_IMG" \
		sh -c 'ulimit -c; ulimit -Hc; ulimit -n; ulimit -Hn'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = unlimited ]
	[ "${lines[1]}" = unlimited ]
	[ "${lines[2]}" = 4096 ]
	[ "${lines[3]}" = 8192 ]
	assert_podman_clean
}

@test "podman --tmpfs, --mount type=tmpfs and --read-only (tmpcopyup) through isola" {
	# podman marks each tmpfs tmpcopyup: the image's files at the destination
	# show through, and a read-only one still takes podman's /etc binds.
	run pm run --rm --read-only --tmpfs /etc:ro --tmpfs /scratch:size=1m,mode=1777 \
		--mount type=tmpfs,destination=/x,tmpfs-size=1m "$PODMAN_IMG" \
		sh -c 'head -1 /etc/passwd; [ -s /etc/hosts ] && echo hosts
			touch /etc/new 2>/dev/null || echo etc-ro
			stat -c %a /scratch /x; touch /scratch/a /x/a /tmp/a && echo rw'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "root:x:0:0:root:/root:/bin/sh
hosts
etc-ro
1777
1777
rw" ]
	assert_podman_clean
}

@test "podman --systemd always on a cgroup v1 host: the v1 view takes podman's systemd bind" {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && skip "SKIP: this host is cgroup v2 only"
	[ -d /sys/fs/cgroup/systemd ] || skip "SKIP: no name=systemd hierarchy on this host"
	# podman binds the host's /sys/fs/cgroup/systemd under the cgroup mount:
	# a cgroup2 view there had no such directory, and it is read-only.
	run pm run --rm --systemd always --memory 64m "$PODMAN_IMG" sh -c \
		'cat /sys/fs/cgroup/memory/memory.limit_in_bytes
		grep -q " /sys/fs/cgroup/systemd .* - cgroup " /proc/self/mountinfo && echo systemd
		own=$(sed -n "s/^[0-9]*:name=systemd://p" /proc/self/cgroup)
		[ "$own" != / ] && grep -qx 1 "/sys/fs/cgroup/systemd$own/cgroup.procs" && echo own'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 67108864 ]
	[ "${lines[1]}" = systemd ]
	# A systemd inside finds its own cgroup in that tree, not the host's root.
	[ "${lines[2]}" = own ]
	assert_podman_clean
}
