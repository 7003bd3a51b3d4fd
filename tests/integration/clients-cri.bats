#!/usr/bin/env bats
# Kubernetes' CRI: containerd 1.6's CRI plugin (runtime.v1) driving isola
# through the runc v2 shim, as kubelet would.  crictl is not packaged in
# Debian, so cri/cri.py (python3-grpcio) sends the requests, with messages
# from cri/api.proto (a subset of k8s.io/cri-api's, same field numbers)
# compiled by protoc at set-up; Exec's stream is read with cri/exec-ws.py
# (python3-websocket).  containerd runs in its own mount namespace
# with root, state, socket, CNI config and netns mounts under $TMP; pods get a
# bridge of their own on a private subnet.  Every check runs against the
# runtime handler "isola" and, as a yardstick, "runc" (/usr/sbin/runc).

load clients-helpers

PAUSE_IMG=localhost/pause:it
BB_IMG=localhost/busybox:it

setup() {
	isola_tmp
	require_cmd containerd
	require_cmd ctr
	require_cmd protoc
	require_cmd runc
	require_cmd catatonit
	require_cmd ip
	require_cmd python3
	# Debian's python3 (a python3 earlier in PATH, e.g. pyenv's, lacks the modules).
	local py
	for py in python3 /usr/bin/python3 ""; do
		[ -n "$py" ] && "$py" -c 'import grpc, google.protobuf' 2>/dev/null && break
	done
	[ -n "$py" ] || ci_skip "python3-grpcio or python3-protobuf not installed"
	CRI_PY=$py
	[ -x /usr/lib/cni/bridge ] || ci_skip "containernetworking-plugins not installed"
	mkdir -p "$TMP/gen"
	protoc --python_out="$TMP/gen" -I "$BATS_TEST_DIRNAME/cri" api.proto
	podman_setup
	cri_images
	# A bridge, a subnet and a cgroup parent of this test's own.
	BR=isocri$((RANDOM % 10000))
	NET=10.$((200 + RANDOM % 50)).$((RANDOM % 250)).0
	CGP=/isola-it-cri-$$-$BATS_TEST_NUMBER
	cri_containerd_start
}

# The sandbox image (static catatonit in pause mode, as registry.k8s.io/pause
# is) and busybox, saved by podman as OCI archives for ctr to import.
cri_images() {
	local d=$TMP/pause
	mkdir -p "$d/proc" "$d/sys" "$d/dev" "$d/etc"
	cp "$(command -v catatonit)" "$d/catatonit"
	tar -C "$d" -c . | pm import --change 'ENTRYPOINT ["/catatonit", "-P"]' - "$PAUSE_IMG" >/dev/null
	pm save --format oci-archive -o "$TMP/pause.tar" "$PAUSE_IMG" >/dev/null 2>&1
	pm save --format oci-archive -o "$TMP/busybox.tar" "$BB_IMG" >/dev/null 2>&1
}

cri_containerd_start() {
	local d=$TMP/ctd
	mkdir -p "$d/cni" "$d/opt"
	cat >"$d/cni/10-it.conflist" <<-CONF
	{
	  "cniVersion": "0.4.0",
	  "name": "isola-it-cri",
	  "plugins": [
	    {"type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false,
	     "ipam": {"type": "host-local", "dataDir": "$d/ipam",
	              "ranges": [[{"subnet": "$NET/24"}]]}},
	    {"type": "loopback"}
	  ]
	}
	CONF
	ctd_config_base "$d" >"$d/config.toml"
	cat >>"$d/config.toml" <<-CONF
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$d/opt"
	[plugins."io.containerd.grpc.v1.cri"]
	  sandbox_image = "$PAUSE_IMG"
	  restrict_oom_score_adj = true
	  disable_apparmor = true
	  netns_mounts_under_state_dir = true
	  stream_server_address = "127.0.0.1"
	  stats_collect_period = 1
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$d/cni"
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "overlayfs"
	    default_runtime_name = "isola"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.isola]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.isola.options]
	        BinaryName = "$ISOLA"
	        SystemdCgroup = false
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
	        BinaryName = "$(command -v runc)"
	        SystemdCgroup = false
	CONF
	ctd_start "$d"
	wait_until 10 'cri RuntimeService.Version >/dev/null 2>&1' || { cat "$d/log"; return 1; }
	ctr --address "$d/ctd.sock" -n k8s.io images import "$TMP/pause.tar" >/dev/null
	ctr --address "$d/ctd.sock" -n k8s.io images import "$TMP/busybox.tar" >/dev/null
}

# cri SERVICE.METHOD [JSON]: one CRI call; prints the answer as JSON.
cri() {
	"$CRI_PY" "$BATS_TEST_DIRNAME/cri/cri.py" "$TMP/gen" "$TMP/ctd/ctd.sock" "$@"
}

teardown() {
	if [ -f "$TMP/ctd/pid" ]; then
		cri_remove_all_pods
		kill "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
		wait "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
	fi
	ip link del "${BR:-none}" 2>/dev/null || true
	[ -n "${CGP:-}" ] && cri_rm_cgroups
	podman_teardown
	isola_cleanup_tmp
}

# Stop and remove every pod (and so its containers) that the test left.
cri_remove_all_pods() {
	local id
	for id in $(cri RuntimeService.ListPodSandbox 2>/dev/null | jq -r '.items[].id'); do
		cri RuntimeService.StopPodSandbox "{\"pod_sandbox_id\": \"$id\"}" >/dev/null 2>&1 || true
		cri RuntimeService.RemovePodSandbox "{\"pod_sandbox_id\": \"$id\"}" >/dev/null 2>&1 || true
	done
}

# The test's cgroup parent in every v1 hierarchy (and the unified one), leaves first.
cri_rm_cgroups() {
	local h
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		[ -d "$h${CGP#/}" ] || continue
		find "$h${CGP#/}" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# pod_config NAME PIDMODE: a PodSandboxConfig (JSON) with the pod network,
# IPC and PID namespace mode PIDMODE (POD or CONTAINER), cgroup parent
# $CGP/NAME, hostname NAME.
pod_config() {
	jq -nc --arg n "$1" --arg pid "$2" --arg cg "$CGP" --arg logs "$TMP/logs/$1" '{
		metadata: {name: $n, uid: ("uid-" + $n), namespace: "isola-it", attempt: 0},
		hostname: $n, log_directory: $logs,
		linux: {cgroup_parent: $cg,
			security_context: {namespace_options: {network: "POD", pid: $pid, ipc: "POD"}}}}'
}

# run_pod NAME HANDLER PIDMODE: RunPodSandbox; sets POD (its id) and PODCFG.
run_pod() {
	PODCFG=$(pod_config "$1" "$3")
	mkdir -p "$TMP/logs/$1"
	local out
	out=$(cri RuntimeService.RunPodSandbox \
		"$(jq -nc --argjson c "$PODCFG" --arg h "$2" '{config: $c, runtime_handler: $h}')") ||
		{ tail -20 "$TMP/ctd/log" >&2; return 1; }
	POD=$(jq -r .pod_sandbox_id <<<"$out")
}

# create_ctr NAME PIDMODE CMD...: CreateContainer (busybox) in $POD; prints its
# id.  CTR_RES: its LinuxContainerResources (JSON), if any; CTR_MORE: more
# ContainerConfig fields (JSON).
create_ctr() {
	local n=$1 pid=$2
	shift 2
	local cfg
	cfg=$(jq -nc --arg n "$n" --arg pid "$pid" --argjson res "${CTR_RES:-{\}}" \
		--argjson more "${CTR_MORE:-{\}}" --args '{
		metadata: {name: $n}, image: {image: "'"$BB_IMG"'"}, command: $ARGS.positional,
		log_path: ($n + ".log"),
		linux: {resources: $res,
			security_context: {namespace_options: {network: "POD", pid: $pid, ipc: "POD"}}}} + $more' \
		-- "$@")
	cri RuntimeService.CreateContainer "$(jq -nc --arg p "$POD" --argjson c "$cfg" \
		--argjson s "$PODCFG" '{pod_sandbox_id: $p, config: $c, sandbox_config: $s}')" |
		jq -r .container_id
}

# exec_sync ID CMD...: ExecSync; prints stdout, returns its exit code.
exec_sync() {
	local id=$1 out
	shift
	out=$(cri RuntimeService.ExecSync "$(jq -nc --arg id "$id" --args \
		'{container_id: $id, cmd: $ARGS.positional, timeout: 30}' -- "$@")") || return 99
	printf '%s' "$(jq -r .stdout <<<"$out")"
	return "$(jq -r .exit_code <<<"$out")"
}

# ctr_state ID: CONTAINER_CREATED, _RUNNING or _EXITED.
ctr_state() {
	cri RuntimeService.ContainerStatus "{\"container_id\": \"$1\"}" | jq -r .status.state
}

# cri1 METHOD KEY ID: a call whose request is one id field; the answer as JSON.
cri1() {
	cri "RuntimeService.$1" "{\"$2\": \"$3\"}"
}

# The shim's view of the runtime's work: containerd's mount namespace.
ctd_mounts() {
	cat "/proc/$(cat "$TMP/ctd/pid")/mountinfo"
}

# A pod's life through HANDLER: pod network and cgroup parent, a container's
# resources, exec output and exit codes, stop (TERM, then the grace period),
# a container's own exit code, StopPodSandbox with a container still running,
# and nothing left behind once the pod is removed.
pod_lifecycle() { # HANDLER
	local h=$1 out ip c1 c2 c3
	run_pod "p-$h" "$h" CONTAINER
	out=$(cri1 PodSandboxStatus pod_sandbox_id "$POD")
	[ "$(jq -r .status.state <<<"$out")" = SANDBOX_READY ]
	[ "$(jq -r .status.runtime_handler <<<"$out")" = "$h" ]
	ip=$(jq -r .status.network.ip <<<"$out")
	[[ "$ip" == "${NET%.0}".* ]]

	c1=$(CTR_RES='{"memory_limit_in_bytes": 67108864, "cpu_period": 100000, "cpu_quota": 50000}' \
		create_ctr c1 CONTAINER sh -c 'trap "echo got-term; exit 7" TERM; echo started; while :; do sleep 0.1; done')
	[ "$(ctr_state "$c1")" = CONTAINER_CREATED ]
	cri1 StartContainer container_id "$c1"
	[ "$(ctr_state "$c1")" = CONTAINER_RUNNING ]

	# The pod's cgroup parent, with the container's id below it, in every hierarchy.
	run exec_sync "$c1" cat /proc/self/cgroup
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *":memory:$CGP/$c1"* ]]
	[[ "$output" == *":pids:$CGP/$c1"* ]]
	[ "$(cat "/sys/fs/cgroup/memory$CGP/$c1/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "/sys/fs/cgroup/cpu$CGP/$c1/cpu.cfs_quota_us")" = 50000 ]
	run exec_sync "$c1" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	[ "$output" = 67108864 ]
	# The pod's hostname and network: eth0 with the address CNI gave the pod.
	run exec_sync "$c1" hostname
	[ "$output" = "p-$h" ]
	run exec_sync "$c1" ip -4 -o addr show eth0
	echo "$output"
	[[ "$output" == *" $ip/24 "* ]]
	run exec_sync "$c1" cat /proc/net/dev
	[[ "$output" == *"eth0:"* ]]
	# ExecSync: exit code and stderr come back.
	out=$(cri RuntimeService.ExecSync "$(jq -nc --arg id "$c1" \
		'{container_id: $id, cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 30}')")
	[ "$(jq -r .exit_code <<<"$out")" = 3 ]
	[ "$(jq -r .stdout <<<"$out")" = out ]
	[ "$(jq -r .stderr <<<"$out")" = err ]

	# StopContainer: TERM, which the container turns into exit 7.
	cri RuntimeService.StopContainer "{\"container_id\": \"$c1\", \"timeout\": 10}"
	out=$(cri1 ContainerStatus container_id "$c1")
	echo "$out"
	[ "$(jq -r .status.state <<<"$out")" = CONTAINER_EXITED ]
	[ "$(jq -r .status.exit_code <<<"$out")" = 7 ]
	grep -q 'stdout F started' "$TMP/logs/p-$h/c1.log"
	grep -q 'stdout F got-term' "$TMP/logs/p-$h/c1.log"
	cri1 RemoveContainer container_id "$c1"
	[ ! -d "/sys/fs/cgroup/memory$CGP/$c1" ]

	# A container that ends by itself: its exit code and output.
	c2=$(create_ctr c2 CONTAINER sh -c 'echo bye; exit 5')
	cri1 StartContainer container_id "$c2"
	wait_until 10 '[ "$(ctr_state "$c2")" = CONTAINER_EXITED ]'
	[ "$(cri1 ContainerStatus container_id "$c2" | jq -r .status.exit_code)" = 5 ]
	grep -q 'stdout F bye' "$TMP/logs/p-$h/c2.log"

	# StopPodSandbox ends what still runs (c3 ignores TERM: pid 1 of its namespace).
	c3=$(create_ctr c3 CONTAINER sleep 1000)
	cri1 StartContainer container_id "$c3"
	cri1 StopPodSandbox pod_sandbox_id "$POD"
	[ "$(cri1 PodSandboxStatus pod_sandbox_id "$POD" | jq -r .status.state)" = SANDBOX_NOTREADY ]
	[ "$(ctr_state "$c3")" = CONTAINER_EXITED ]
	[ "$(cri1 ContainerStatus container_id "$c3" | jq -r .status.exit_code)" = 137 ]
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
	run cri RuntimeService.ListContainers '{}'
	[ "$(jq '.containers | length' <<<"$output")" = 0 ]

	# Nothing left: cgroups below the parent, mounts of the pod in containerd's
	# namespace, shims, the pod's network namespace.
	run find /sys/fs/cgroup/memory$CGP /sys/fs/cgroup/pids$CGP -mindepth 1 -type d
	[ -z "$output" ]
	run ctd_mounts
	[[ "$output" != *"$POD"* ]]
	run pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id $POD"
	[ "$status" -ne 0 ]
	run ls "$TMP/ctd/state/io.containerd.grpc.v1.cri/netns"
	[ -z "$output" ]
}

@test "CRI pod lifecycle through isola: network, cgroup parent, exec, stop, exit codes" {
	pod_lifecycle isola
}

@test "CRI pod lifecycle through runc (the yardstick for the isola test)" {
	pod_lifecycle runc
}

# Two containers of one pod share its network, IPC and UTS namespaces (and
# /dev/shm); with PID namespace POD each sees the other's processes and the
# sandbox's pause process as pid 1; with CONTAINER, only its own.
pod_sharing() { # HANDLER PIDMODE
	local h=$1 pm=$2 a b ns
	run_pod "s-$h" "$h" "$pm"
	a=$(create_ctr a "$pm" sh -c 'echo $$ >/dev/shm/a.pid; exec sleep 1001')
	b=$(create_ctr b "$pm" sleep 1002)
	cri1 StartContainer container_id "$a"
	cri1 StartContainer container_id "$b"
	for ns in net ipc uts; do
		[ "$(exec_sync "$a" readlink /proc/self/ns/$ns)" = "$(exec_sync "$b" readlink /proc/self/ns/$ns)" ]
	done
	[ "$(exec_sync "$a" readlink /proc/self/ns/mnt)" != "$(exec_sync "$b" readlink /proc/self/ns/mnt)" ]
	[ "$(exec_sync "$b" hostname)" = "s-$h" ]
	wait_until 5 '[ "$(exec_sync "$b" cat /dev/shm/a.pid)" != "" ]'
	run exec_sync "$b" ps -o pid,args
	echo "$output"
	if [ "$pm" = POD ]; then
		[ "$(exec_sync "$a" readlink /proc/self/ns/pid)" = "$(exec_sync "$b" readlink /proc/self/ns/pid)" ]
		[[ "$output" == *"sleep 1001"* ]]
		[[ "$output" == *"sleep 1002"* ]]
		[ "$(exec_sync "$b" sh -c 'tr "\0" " " </proc/1/cmdline')" = "/catatonit -P " ]
	else
		[ "$(exec_sync "$a" readlink /proc/self/ns/pid)" != "$(exec_sync "$b" readlink /proc/self/ns/pid)" ]
		[[ "$output" != *"sleep 1001"* ]]
		[[ "$output" == *"sleep 1002"* ]]
		[ "$(exec_sync "$b" sh -c 'tr "\0" " " </proc/1/cmdline')" = "sleep 1002 " ]
	fi
	cri1 StopPodSandbox pod_sandbox_id "$POD"
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
}

@test "CRI pod through isola: containers share net, ipc, uts; PID namespace POD" {
	pod_sharing isola POD
}

@test "CRI pod through isola: PID namespace CONTAINER keeps processes apart" {
	pod_sharing isola CONTAINER
}

@test "CRI pod through runc: the same sharing (yardstick)" {
	pod_sharing runc POD
	pod_sharing runc CONTAINER
}

# containerd's CRI plugin puts no HOME in process.env: runc takes it from the
# container's /etc/passwd (root's is /root here), for the container and for
# ExecSync.  isola used to set HOME=/.
@test "CRI: HOME comes from the image's /etc/passwd, as with runc" {
	local h c
	for h in isola runc; do
		run_pod "h-$h" "$h" CONTAINER
		c=$(create_ctr c CONTAINER sh -c 'echo "home=$HOME"; exec sleep 1000')
		cri1 StartContainer container_id "$c"
		wait_until 5 "grep -q 'stdout F home=' '$TMP/logs/h-$h/c.log'"
		run grep 'stdout F home=' "$TMP/logs/h-$h/c.log"
		echo "$h: $output"
		[[ "$output" == *"stdout F home=/root" ]]
		run exec_sync "$c" sh -c 'echo $HOME'
		[ "$output" = /root ]
		cri1 StopPodSandbox pod_sandbox_id "$POD"
		cri1 RemovePodSandbox pod_sandbox_id "$POD"
	done
}

# A tty: true container (kubectl run -it): the shim hands the runtime a
# console socket; the pty must be the container's stdio and its /dev/console.
@test "CRI tty container: its pty is its /dev/console, as with runc" {
	local h c
	for h in isola runc; do
		run_pod "t-$h" "$h" CONTAINER
		c=$(CTR_MORE='{"tty": true, "stdin": true}' create_ctr t CONTAINER sleep 1000)
		cri1 StartContainer container_id "$c"
		run exec_sync "$c" sh -c 'stat -c %t:%T /dev/console; stat -L -c %t:%T /proc/1/fd/0'
		echo "$h: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "${lines[1]}" ]
		run exec_sync "$c" sh -c 'grep " /dev/console " /proc/self/mountinfo'
		[[ "$output" == *" - devpts "* ]]
		cri1 StopPodSandbox pod_sandbox_id "$POD"
		cri1 RemovePodSandbox pod_sandbox_id "$POD"
	done
}

# cgv1 CONTROLLER FILE ID: a container's v1 cgroup file, below the pod's parent.
cgv1() {
	cat "/sys/fs/cgroup/$1$CGP/$3/$2"
}

# u64 JSON PATH: a UInt64Value (a string in protobuf's JSON) as a number.
u64() {
	jq -r "($1 // \"0\") | tonumber" <<<"$2"
}

# What kubelet does to a running container's resources:
# UpdateContainerResources (the shim runs the runtime's `update --resources -`)
# raises and lowers memory, CPU quota/period/shares and the cpuset, and the
# container runs on; an update that fails changes nothing.
ctr_resources() { # HANDLER
	local h=$1 c out
	run_pod "r-$h" "$h" CONTAINER
	# kubelet sends a zero hugepage limit for each page size the host has.
	c=$(CTR_RES='{"memory_limit_in_bytes": 67108864, "cpu_period": 100000, "cpu_quota": 50000,
		"cpu_shares": 512, "hugepage_limits": [{"page_size": "2MB", "limit": 0}]}' \
		create_ctr r CONTAINER sh -c 'echo ready; exec sleep 1000')
	cri1 StartContainer container_id "$c"
	wait_until 20 "grep -q 'stdout F ready' '$TMP/logs/r-$h/r.log'"
	[ "$(cgv1 memory memory.limit_in_bytes "$c")" = 67108864 ]
	[ "$(cgv1 cpu cpu.shares "$c")" = 512 ]

	# Grow: memory (above the memsw limit containerd may have set), a new
	# period and quota, fewer shares, one CPU.
	cri RuntimeService.UpdateContainerResources "$(jq -nc --arg id "$c" '{container_id: $id,
		linux: {memory_limit_in_bytes: 134217728, cpu_period: 50000, cpu_quota: 25000,
			cpu_shares: 256, cpuset_cpus: "0", cpuset_mems: "0",
			hugepage_limits: [{page_size: "2MB", limit: 0}]}}')"
	[ "$(cgv1 memory memory.limit_in_bytes "$c")" = 134217728 ]
	[ "$(cgv1 cpu cpu.cfs_period_us "$c")" = 50000 ]
	[ "$(cgv1 cpu cpu.cfs_quota_us "$c")" = 25000 ]
	[ "$(cgv1 cpu cpu.shares "$c")" = 256 ]
	[ "$(cgv1 cpuset cpuset.cpus "$c")" = 0 ]
	[ "$(cgv1 cpuset cpuset.mems "$c")" = 0 ]
	[ "$(ctr_state "$c")" = CONTAINER_RUNNING ]
	cat "/sys/fs/cgroup/unified$CGP/$c/hugetlb.2MB.max" || true
	run exec_sync "$c" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	[ "$status" -eq 0 ]
	[ "$output" = 134217728 ]
	# The container's processes and a new exec run on CPU 0 only.
	run exec_sync "$c" sh -c 'grep Cpus_allowed_list /proc/1/status /proc/self/status'
	echo "$output"
	[ "${lines[0]}" = $'/proc/1/status:Cpus_allowed_list:\t0' ]
	[ "${lines[1]}" = $'/proc/self/status:Cpus_allowed_list:\t0' ]
	# Shrink below the first limit, unlimit the quota, all CPUs again.
	cri RuntimeService.UpdateContainerResources "$(jq -nc --arg id "$c" '{container_id: $id,
		linux: {memory_limit_in_bytes: 33554432, cpu_period: 100000, cpu_quota: -1,
			cpu_shares: 1024, cpuset_cpus: "0-1"}}')"
	[ "$(cgv1 memory memory.limit_in_bytes "$c")" = 33554432 ]
	[ "$(cgv1 cpu cpu.cfs_quota_us "$c")" = -1 ]
	[ "$(cgv1 cpu cpu.shares "$c")" = 1024 ]
	[ "$(cgv1 cpuset cpuset.cpus "$c")" = 0-1 ]
	run exec_sync "$c" echo alive
	[ "$output" = alive ]
	# An update the runtime cannot finish (a CPU the host lacks, after the
	# memory and CPU limits) fails and leaves every limit as it was: containerd
	# keeps its old spec then.
	run cri RuntimeService.UpdateContainerResources "$(jq -nc --arg id "$c" '{container_id: $id,
		linux: {memory_limit_in_bytes: 50331648, cpu_period: 100000, cpu_quota: 20000,
			cpu_shares: 300, cpuset_cpus: "0-4095"}}')"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$(cgv1 memory memory.limit_in_bytes "$c")" = 33554432 ]
	[ "$(cgv1 cpu cpu.cfs_quota_us "$c")" = -1 ]
	[ "$(cgv1 cpu cpu.shares "$c")" = 1024 ]
	[ "$(cgv1 cpuset cpuset.cpus "$c")" = 0-1 ]
	# A limit below what the container uses is refused or reclaimed, never
	# a dead container.
	run cri RuntimeService.UpdateContainerResources "$(jq -nc --arg id "$c" '{container_id: $id,
		linux: {memory_limit_in_bytes: 4096}}')"
	echo "update to 4096: $status $output"
	[ "$(ctr_state "$c")" = CONTAINER_RUNNING ]
	[ "$status" -eq 0 ] || [ "$(cgv1 memory memory.limit_in_bytes "$c")" = 33554432 ]
	run exec_sync "$c" echo alive
	[ "$output" = alive ]

	cri1 StopPodSandbox pod_sandbox_id "$POD"
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
}

# shim_cgroup_skip: skip when the runc v2 shim could not load the container's
# cgroup (it logs "loading cgroup for PID"): it then has no stats and no OOM
# event fd, whatever the runtime did.  containerd's cgroups v1 library wants
# a mount for every hierarchy in /proc/PID/cgroup; a named hierarchy that
# was mounted once and outlives its mount (the kernel keeps it while it has
# child cgroups) makes it fail with "cannot find cgroup mount destination".
shim_cgroup_skip() {
	local why n unmounted=""
	why=$(grep -m1 'loading cgroup for' "$TMP/ctd/log") || return 0
	for n in $(awk -F: '$2 ~ /^name=/ { print $2 }' /proc/self/cgroup); do
		grep -qE "[ ,]$n(,|\$)" /proc/self/mountinfo || unmounted+=" $n"
	done
	skip "containerd 1.6's shim cannot load the container's v1 cgroup (${why##*error=}); unmounted v1 hierarchies here:${unmounted:- none}"
}

# ContainerStats and ListContainerStats of a running container: its CPU
# time, working set and writable layer (a 3 MB file; containerd measures
# snapshots every stats_collect_period).
ctr_stats() { # HANDLER
	local h=$1 c out
	run_pod "m-$h" "$h" CONTAINER
	c=$(create_ctr m CONTAINER sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done
			head -c 3000000 /dev/urandom >/tmp/layer; x=$(head -c 4000000 /dev/zero | tr "\0" a)
			echo ready; exec sleep 1000')
	cri1 StartContainer container_id "$c"
	wait_until 20 "grep -q 'stdout F ready' '$TMP/logs/m-$h/m.log'"
	run cri1 ContainerStats container_id "$c"
	echo "$output"
	[ "$status" -eq 0 ] || shim_cgroup_skip
	[ "$status" -eq 0 ]
	wait_until 15 "[ \"\$(u64 .stats.writable_layer.used_bytes.value \"\$(cri1 ContainerStats container_id $c)\")\" -ge 3000000 ]"
	out=$(cri1 ContainerStats container_id "$c")
	echo "$out"
	[ "$(jq -r .stats.attributes.id <<<"$out")" = "$c" ]
	[ "$(jq -r .stats.attributes.metadata.name <<<"$out")" = m ]
	[ "$(u64 .stats.cpu.usage_core_nano_seconds.value "$out")" -gt 1000000 ]
	[ "$(jq -r '.stats.cpu.timestamp | tonumber' <<<"$out")" -gt 0 ]
	[ "$(u64 .stats.memory.working_set_bytes.value "$out")" -gt 100000 ]
	[ "$(jq -r '.stats.memory.timestamp | tonumber' <<<"$out")" -gt 0 ]
	[ "$(u64 .stats.writable_layer.used_bytes.value "$out")" -lt 100000000 ]
	[ "$(u64 .stats.writable_layer.inodes_used.value "$out")" -gt 0 ]
	out=$(cri RuntimeService.ListContainerStats "{\"filter\": {\"pod_sandbox_id\": \"$POD\"}}")
	echo "$out"
	[ "$(jq '.stats | length' <<<"$out")" = 1 ]
	[ "$(jq -r '.stats[0].attributes.id' <<<"$out")" = "$c" ]
	[ "$(u64 '.stats[0].cpu.usage_core_nano_seconds.value' "$out")" -gt 1000000 ]
	[ "$(u64 '.stats[0].memory.working_set_bytes.value' "$out")" -gt 100000 ]
	cri1 StopPodSandbox pod_sandbox_id "$POD"
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
}

@test "CRI UpdateContainerResources through isola: memory, CPU quota/period/shares, cpuset" {
	ctr_resources isola
}

@test "CRI UpdateContainerResources through runc (yardstick)" {
	ctr_resources runc
}

@test "CRI ContainerStats and ListContainerStats through isola" {
	ctr_stats isola
}

@test "CRI ContainerStats and ListContainerStats through runc (yardstick)" {
	ctr_stats runc
}

# ts JSON FIELD: a ContainerStatus time (ns since the epoch) as a number.
ts() {
	jq -r ".status.$2 | tonumber" <<<"$1"
}

# exec_ws ID CMD...: Exec through containerd's streaming server, attached
# with cri/exec-ws.py; prints {stdout, stderr, exit_code} as JSON.  With
# EXEC_STDIN set, the exec has a tty and stdin (kubectl exec -it), which gets
# EXEC_STDIN's text.
exec_ws() {
	local id=$1 url
	shift
	url=$(cri RuntimeService.Exec "$(jq -nc --arg id "$id" --arg tty "${EXEC_STDIN:+1}" --args \
		'{container_id: $id, cmd: $ARGS.positional, stdout: true, stderr: ($tty == ""),
		  tty: ($tty != ""), stdin: ($tty != "")}' -- "$@")" |
		jq -r .url)
	[[ "$url" == http://127.0.0.1:* ]] || { echo "Exec url: $url" >&2; return 1; }
	"$CRI_PY" "$BATS_TEST_DIRNAME/cri/exec-ws.py" "$url" ${EXEC_STDIN:+"$EXEC_STDIN"}
}

# CRI_LOG_LINE: a line of the CRI log format: RFC 3339 time, stream, F (a full line).
CRI_LOG_LINE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) (stdout|stderr) [FP] '

# What kubelet reads of a container and its logs: ContainerStatus through
# created, running and exited (its own exit 3, exit 0, killed); an Exec
# through the streaming server; the log file in the CRI format, reopened
# after kubelet rotates it.
ctr_status() { # HANDLER
	local h=$1 c out t0 log pid
	"$CRI_PY" -c 'import websocket' 2>/dev/null || ci_skip "python3-websocket not installed"
	run_pod "st-$h" "$h" CONTAINER
	log=$TMP/logs/st-$h/s.log
	t0=$(date +%s%N)
	c=$(create_ctr s CONTAINER sh -c 'echo one; echo two >&2
		while :; do [ -e /tmp/go ] && { echo after; echo after-err >&2; rm /tmp/go; }; sleep 0.1; done')
	out=$(cri1 ContainerStatus container_id "$c")
	echo "$out"
	[ "$(jq -r .status.state <<<"$out")" = CONTAINER_CREATED ]
	[ "$(ts "$out" created_at)" -ge "$t0" ]
	[ "$(ts "$out" started_at)" = 0 ]
	[ "$(ts "$out" finished_at)" = 0 ]
	[ "$(jq -r .status.log_path <<<"$out")" = "$log" ]
	cri1 StartContainer container_id "$c"
	out=$(cri1 ContainerStatus container_id "$c")
	echo "$out"
	[ "$(jq -r .status.state <<<"$out")" = CONTAINER_RUNNING ]
	[ "$(ts "$out" started_at)" -ge "$(ts "$out" created_at)" ]
	[ "$(ts "$out" finished_at)" = 0 ]
	[ "$(jq -r .status.exit_code <<<"$out")" = 0 ]
	[ "$(jq -r .status.reason <<<"$out")" = "" ]
	# The verbose info names the task's pid: the container's init, alive.
	out=$(cri RuntimeService.ContainerStatus "{\"container_id\": \"$c\", \"verbose\": true}")
	pid=$(jq -r '.info.info | fromjson | .pid' <<<"$out")
	[ "$pid" -gt 1 ]
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sh -c $(jq -r '.info.info | fromjson | .config.command[2]' <<<"$out") " ]

	# Exec through the streaming server: stdout, stderr and the exit code apart.
	run exec_ws "$c" sh -c 'echo out; echo err >&2; exit 3'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .stdout <<<"$output")" = out ]
	[ "$(jq -r .stderr <<<"$output")" = err ]
	[ "$(jq -r .exit_code <<<"$output")" = 3 ]
	run exec_ws "$c" cat /proc/1/cmdline
	[ "$(jq -r .exit_code <<<"$output")" = 0 ]
	[[ "$(jq -r .stdout <<<"$output")" == sh* ]]
	run exec_ws "$c" /no/such/binary
	echo "$output"
	[ "$(jq -r .exit_code <<<"$output")" != 0 ]
	# An exec probe that outlives its timeout: an error, and the process killed.
	run cri RuntimeService.ExecSync "$(jq -nc --arg id "$c" \
		'{container_id: $id, cmd: ["sleep", "1003"], timeout: 1}')"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *timeout* ]]
	wait_until 5 '! exec_sync "$c" ps -o args | grep -q "^sleep 1003"'
	# kubectl exec -it: a tty on stdin and stdout, a shell reading commands.
	EXEC_STDIN=$'tty; exit 6\n' run exec_ws "$c" sh
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$(jq -r .stdout <<<"$output")" == *"/dev/pts/"* ]]
	[ "$(jq -r .exit_code <<<"$output")" = 6 ]
	[ "$(ctr_state "$c")" = CONTAINER_RUNNING ]

	# The log: every line in the CRI format, stdout and stderr told apart.
	wait_until 5 "grep -q 'stderr F two' '$log'"
	cat "$log"
	grep -Eq "${CRI_LOG_LINE}one\$" "$log"
	grep -Eq "${CRI_LOG_LINE}two\$" "$log"
	grep -q ' stdout F one$' "$log"
	grep -q ' stderr F two$' "$log"
	run grep -Evc "$CRI_LOG_LINE" "$log"
	[ "$output" = 0 ]
	# kubelet's rotation: rename the file, ReopenContainerLog; new lines land
	# in a new file of that name, the old keeps what it had.
	mv "$log" "$log.1"
	cri1 ReopenContainerLog container_id "$c"
	[ -f "$log" ]
	exec_sync "$c" touch /tmp/go
	wait_until 10 "grep -q 'stderr F after-err' '$log'"
	grep -q ' stdout F after$' "$log"
	refute grep after "$log.1"
	grep -q ' stdout F one$' "$log.1"

	# Stopped by kubelet (TERM, ignored by pid 1, then KILL): 137, "Error".
	cri RuntimeService.StopContainer "{\"container_id\": \"$c\", \"timeout\": 1}"
	out=$(cri1 ContainerStatus container_id "$c")
	echo "$out"
	[ "$(jq -r .status.state <<<"$out")" = CONTAINER_EXITED ]
	[ "$(jq -r .status.exit_code <<<"$out")" = 137 ]
	[ "$(jq -r .status.reason <<<"$out")" = Error ]
	[ "$(ts "$out" finished_at)" -ge "$(ts "$out" started_at)" ]
	[ ! -e "/proc/$pid" ] || [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" != "sh -c"* ]
	run cri RuntimeService.ReopenContainerLog "{\"container_id\": \"$c\"}"
	[ "$status" -ne 0 ]

	# A container that exits by itself with 3: "Error", its times in order.
	c=$(create_ctr e3 CONTAINER sh -c 'sleep 0.5; exit 3')
	cri1 StartContainer container_id "$c"
	wait_until 10 '[ "$(ctr_state "$c")" = CONTAINER_EXITED ]'
	out=$(cri1 ContainerStatus container_id "$c")
	echo "$out"
	[ "$(jq -r .status.exit_code <<<"$out")" = 3 ]
	[ "$(jq -r .status.reason <<<"$out")" = Error ]
	[ "$(ts "$out" finished_at)" -ge $(($(ts "$out" started_at) + 400000000)) ]
	# And with 0: "Completed".
	c=$(create_ctr e0 CONTAINER true)
	cri1 StartContainer container_id "$c"
	wait_until 10 '[ "$(ctr_state "$c")" = CONTAINER_EXITED ]'
	out=$(cri1 ContainerStatus container_id "$c")
	[ "$(jq -r .status.exit_code <<<"$out")" = 0 ]
	[ "$(jq -r .status.reason <<<"$out")" = Completed ]
	cri1 StopPodSandbox pod_sandbox_id "$POD"
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
}

@test "CRI ContainerStatus lifecycle, streaming Exec, CRI log and ReopenContainerLog through isola" {
	ctr_status isola
}

@test "CRI ContainerStatus, streaming Exec, logs through runc (yardstick)" {
	ctr_status runc
}

# A container over its memory limit is killed by the kernel's OOM killer; the
# shim hears it from the cgroup (memory.oom_control's eventfd on v1) and the
# CRI status says OOMKilled.
ctr_oom() { # HANDLER
	local h=$1 c out
	run_pod "o-$h" "$h" CONTAINER
	c=$(CTR_RES='{"memory_limit_in_bytes": 16777216}' \
		create_ctr o CONTAINER sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived')
	cri1 StartContainer container_id "$c"
	wait_until 30 '[ "$(ctr_state "$c")" = CONTAINER_EXITED ]'
	out=$(cri1 ContainerStatus container_id "$c")
	echo "$out"
	cat "$TMP/logs/o-$h/o.log"
	# Killed (SIGKILL from the OOM killer) before it could say it survived.
	[ "$(jq -r .status.exit_code <<<"$out")" = 137 ]
	refute grep survived "$TMP/logs/o-$h/o.log"
	[ "$(jq -r .status.reason <<<"$out")" = OOMKilled ] || shim_cgroup_skip
	[ "$(jq -r .status.reason <<<"$out")" = OOMKilled ]
	cri1 StopPodSandbox pod_sandbox_id "$POD"
	cri1 RemovePodSandbox pod_sandbox_id "$POD"
}

@test "CRI OOM-killed container through isola: reason OOMKilled" {
	ctr_oom isola
}

@test "CRI OOM-killed container through runc (yardstick)" {
	ctr_oom runc
}
