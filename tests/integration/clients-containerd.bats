#!/usr/bin/env bats
# containerd 1.6 + ctr driving isola through the runc v2 shim (--runc-binary).
# containerd runs in its own mount namespace (rshared /), with root, state and
# sockets under $TMP; the image is a podman-saved OCI archive of busybox.

load clients-helpers

CTD_IMG=localhost/busybox:it

setup() {
	isola_tmp
	require_cmd containerd
	require_cmd ctr
	podman_setup
	pm save --format oci-archive -o "$TMP/img.tar" "$PODMAN_IMG" >/dev/null 2>&1
	local d=$TMP/ctd
	mkdir -p "$d"
	ctd_config_base "$d" io.containerd.grpc.v1.cri >"$d/config.toml"
	ctd_start "$d"
	local i
	for i in $(seq 50); do
		c version >/dev/null 2>&1 && break
		sleep 0.1
	done
	c images import "$TMP/img.tar" >/dev/null
}

c() {
	ctr --address "$TMP/ctd/ctd.sock" "$@"
}

ctd_task_not_running() {
	! c tasks ls 2>/dev/null | grep -q RUNNING
}

teardown() {
	if [ -f "$TMP/ctd/pid" ]; then
		c tasks kill -s KILL isola-it-ctd >/dev/null 2>&1 || true
		wait_until 5 ctd_task_not_running || true
		c tasks delete -f isola-it-ctd >/dev/null 2>&1 || true
		c containers delete isola-it-ctd >/dev/null 2>&1 || true
		kill "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
		wait "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
	fi
	podman_teardown
	isola_cleanup_tmp
}

@test "ctr run through isola: output and exit code" {
	run c run --runc-binary "$ISOLA" --rm "$CTD_IMG" isola-it-ctd sh -c 'echo hi; exit 5'
	echo "$output"
	[ "$status" -eq 5 ]
	[ "$output" = hi ]
	run c containers ls -q
	[ -z "$output" ]
}

@test "ctr task exec, pause/resume, kill" {
	c run --runc-binary "$ISOLA" -d "$CTD_IMG" isola-it-ctd \
		sh -c 'trap "exit 9" TERM; while :; do sleep 0.2; done'
	run c tasks exec --exec-id e1 isola-it-ctd sh -c 'echo in; exit 4'
	echo "$output"
	[ "$status" -eq 4 ]
	[ "$output" = in ]
	if "$ISOLA" --help 2>&1 | grep -qE '^  pause '; then
		run c tasks pause isola-it-ctd
		[ "$status" -eq 0 ]
		run c tasks ls
		[[ "$output" == *PAUSED* ]]
		c tasks resume isola-it-ctd
	fi
	run c tasks kill -s TERM isola-it-ctd
	[ "$status" -eq 0 ]
	wait_until 5 ctd_task_not_running
	run c tasks ls
	echo "$output"
	[[ "$output" == *STOPPED* ]]
	c tasks delete isola-it-ctd
	c containers delete isola-it-ctd
}

# The v1 directory of a controller for the task's init (from the host's /proc).
task_cgroup_file() { # CONTROLLER FILE
	local pid path
	pid=$(c tasks ls | awk '$1 == "isola-it-ctd" { print $2 }')
	path=$(awk -F: -v c="$1" '$2 == c { print $3 }' "/proc/$pid/cgroup")
	cat "/sys/fs/cgroup/$1$path/$2"
}

# containerd's Tasks.Update over gRPC (ctr 1.6 has no `tasks update`): the
# request is protobuf by hand, the LinuxResources travel as JSON inside an Any,
# as containerd's typeurl encodes them.  Prints the grpc-status trailer.
ctd_update() { # ID RESOURCES_JSON
	python3 - "$1" "$2" >"$TMP/update.bin" <<-'PY'
	import sys
	def varint(n):
	    out = b""
	    while True:
	        b = n & 0x7f
	        n >>= 7
	        out += bytes([b | (0x80 if n else 0)])
	        if not n:
	            return out
	def field(num, data):
	    return varint(num << 3 | 2) + varint(len(data)) + data
	url = b"types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
	msg = field(1, sys.argv[1].encode()) + field(2, field(1, url) + field(2, sys.argv[2].encode()))
	sys.stdout.buffer.write(b"\0" + len(msg).to_bytes(4, "big") + msg)
	PY
	curl -s --http2-prior-knowledge --unix-socket "$TMP/ctd/ctd.sock" -o /dev/null -D - \
		-H 'content-type: application/grpc' -H 'te: trailers' \
		-H 'containerd-namespace: default' --data-binary @"$TMP/update.bin" \
		http://localhost/containerd.services.tasks.v1.Tasks/Update |
		awk -F': ' 'tolower($1) == "grpc-status" { print $2 }' | tr -d '\r'
}

@test "ctr run --memory-limit and containerd's task update reach the cgroup through isola" {
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 memory controller"
	require_cmd python3
	require_cmd curl
	run c run --runc-binary "$ISOLA" -d --memory-limit 67108864 --cpus 0.5 "$CTD_IMG" \
		isola-it-ctd sleep 100
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(task_cgroup_file memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(task_cgroup_file cpu cpu.cfs_quota_us)" = 50000 ]
	run ctd_update isola-it-ctd \
		'{"memory":{"limit":100663296},"cpu":{"quota":20000,"period":100000},"pids":{"limit":50}}'
	echo "grpc-status: $output"
	[ "$output" = 0 ]
	[ "$(task_cgroup_file memory memory.limit_in_bytes)" = 100663296 ]
	[ "$(task_cgroup_file cpu cpu.cfs_quota_us)" = 20000 ]
	[ "$(task_cgroup_file pids pids.max)" = 50 ]
	# A bad value is refused by isola and the error comes back through the shim.
	run ctd_update isola-it-ctd '{"memory":{"swappiness":300}}'
	echo "grpc-status: $output"
	[ "$output" != 0 ]
	c tasks kill -s KILL isola-it-ctd
}
