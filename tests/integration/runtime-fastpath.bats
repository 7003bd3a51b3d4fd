#!/usr/bin/env bats
# What `run` does not do any more (docs/performance-runtime.md, "Where the time
# went"): each of these cost an RCU grace period or a mount namespace copy.
# Checked from the system calls, not from timings.

load helpers

setup() {
	setup_bundle fp
	require_cmd strace
	args true
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

# strace_run FILTER: `isola run` under strace -f -y, trace in $TMP/trace.
strace_run() {
	strace -f -y -qq -s 64 -o "$TMP/trace" -e trace="$1" "$ISOLA" --root "$R" run -b "$B" "$ID"
}

@test "run joins its v1 cgroups through tasks, not a pid written to cgroup.procs" {
	[ -d /sys/fs/cgroup/pids ] || skip "SKIP: no cgroup v1 hierarchies on this host"
	strace_run write,clone,clone3
	# The init writes "0" to each v1 hierarchy's tasks file (no global lock)...
	grep -q 'write([0-9]*</sys/fs/cgroup/pids/[^>]*/tasks>, "0", 1)' "$TMP/trace"
	# ...and nobody writes a pid into a v1 cgroup.procs.
	run grep -E 'write\([0-9]+</sys/fs/cgroup/[a-z_,]+/[^>]*cgroup.procs>' "$TMP/trace"
	[ "$status" -ne 0 ]
}

@test "run enters cgroup2 at clone time (CLONE_INTO_CGROUP)" {
	local u
	for u in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -f $u/cgroup.controllers ] && break
	done
	[ -f $u/cgroup.controllers ] || skip "SKIP: no cgroup2 mount on this host"
	strace_run write,clone,clone3
	grep -q 'clone3({flags=.*CLONE_INTO_CGROUP' "$TMP/trace"
	run grep -E "write\([0-9]+<$u/[^>]*cgroup.procs>" "$TMP/trace"
	[ "$status" -ne 0 ]
}

@test "without a cgroup namespace, the cgroup mount binds the host's cgroup2 mount, or on a hybrid host the container's own cgroup2 directory" {
	local u
	for u in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -f $u/cgroup.controllers ] && break
	done
	[ -f $u/cgroup.controllers ] || skip "SKIP: no cgroup2 mount on this host"
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "cgroup"))
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
		| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
			options: ["nosuid", "noexec", "nodev", "ro"]}]'
	args sh -c "ls $u; grep \" $u \" /proc/self/mountinfo"
	strace_run mount,open_tree
	# A new cgroup2 mount outside a cgroup namespace waits for an RCU grace
	# period, and re-applies (clears) the host's cgroup2 root options.
	run grep 'mount("cgroup2"' "$TMP/trace"
	[ "$status" -ne 0 ]
	run isola run -b "$B" "$ID-2"
	[ "$status" -eq 0 ]
	[[ "$output" == *" $u ro,"* ]]
	[[ "$output" == *" - cgroup2 "* ]]
	if [ "$u" = /sys/fs/cgroup ]; then
		# A bind is a detached clone, attached by fd (rootfs.c do_bind).
		grep -q "open_tree(AT_FDCWD[^,]*, \"$u\", OPEN_TREE_CLONE" "$TMP/trace"
		# The same view as the host's: the root cgroup, read-only.
		[[ "$output" == *cgroup.max.depth* ]]
		[[ "$output" == *" / $u ro,"* ]]
	else
		# The v1 view of a hybrid host (rootfs-cgroup.c): only the container's
		# own cgroup2 directory (a non-root cgroup has cgroup.freeze).
		grep -q "open_tree(AT_FDCWD[^,]*, \"$u/[^\"]*$ID\", OPEN_TREE_CLONE" "$TMP/trace"
		[[ "$output" == *cgroup.freeze* ]]
		[[ "$output" == *" /isola/$ID-2 $u ro,"* ]]
	fi
}

@test "with a cgroup namespace, /sys/fs/cgroup is a new cgroup2 mount rooted at the container" {
	bundle_jq "$B" '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
		| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
			options: ["nosuid", "noexec", "nodev", "ro"]}]'
	# On a hybrid host, cgroup2 is the view's `unified` directory.
	args sh -c 'ls /sys/fs/cgroup; [ ! -d /sys/fs/cgroup/unified ] || ls /sys/fs/cgroup/unified'
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	# Not the root cgroup (which has no cgroup.freeze).
	[[ "$output" == *cgroup.freeze* ]]
}

@test "the runtime re-executes from a detached read-only mount: no mount namespace of its own" {
	strace_run unshare,open_tree,mount_setattr,execveat
	grep -q 'open_tree(AT_FDCWD[^,]*, "/proc/self/exe", OPEN_TREE_CLONE' "$TMP/trace"
	grep -q 'MOUNT_ATTR_RDONLY' "$TMP/trace"
	run grep 'unshare(CLONE_NEWNS)' "$TMP/trace"
	[ "$status" -ne 0 ]
}

@test "prestart and createRuntime hooks run in the caller's mount namespace" {
	h() { echo "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"readlink /proc/self/ns/mnt >> $1\"]}"; }
	bundle_jq "$B" ".hooks = {\"prestart\": [$(h "$TMP/h")], \"createRuntime\": [$(h "$TMP/h")]}"
	run isola run -b "$B" "$ID"
	[ "$status" -eq 0 ]
	[ "$(sort -u "$TMP/h")" = "$(readlink /proc/self/ns/mnt)" ]
}

@test "on a pure v1 layout the cgroup mount is the v1 view: no cgroup2 mount, no namespace made for one" {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && skip "SKIP: this host is cgroup v2 only"
	[ -d /sys/fs/cgroup/pids ] || skip "SKIP: no cgroup v1 hierarchies on this host"
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "cgroup"))
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
		| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
			options: ["nosuid", "noexec", "nodev", "ro"]}]'
	args sh -c 'readlink /proc/self/ns/cgroup; grep " /sys/fs/cgroup" /proc/self/mountinfo'
	run unshare -m --propagation private sh -c '
		if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
			umount /sys/fs/cgroup/unified || exit 99
		fi
		exec strace -f -qq -o "$0/trace" -e trace=unshare,setns,mount "$@"' \
		"$TMP" "$ISOLA" --root "$R" run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# Still the caller's cgroup namespace; a read-only tmpfs with the v1 hierarchies.
	[[ "$output" == "$(readlink /proc/self/ns/cgroup)"* ]]
	[[ "$output" == *" / /sys/fs/cgroup ro,"*" - tmpfs "* ]]
	[[ "$output" == *" /isola/$ID /sys/fs/cgroup/pids ro,"*" - cgroup "* ]]
	[[ "$output" != *cgroup2* ]]
	run grep -E 'mount\("cgroup2"|unshare\(CLONE_NEWCGROUP\)' "$TMP/trace"
	[ "$status" -ne 0 ]
}

@test "exec places its process in the container's v1 cgroups through tasks too" {
	[ -d /sys/fs/cgroup/pids ] || skip "SKIP: no cgroup v1 hierarchies on this host"
	args sleep 100
	isola run -d -b "$B" "$ID" >/dev/null 2>&1 3>&-
	strace -f -y -qq -s 64 -o "$TMP/trace" -e trace=write "$ISOLA" --root "$R" exec "$ID" true
	grep -q "write([0-9]*</sys/fs/cgroup/pids/[^>]*/$ID/tasks>, \"0\", 1)" "$TMP/trace"
	run grep -E 'write\([0-9]+</sys/fs/cgroup/[a-z_,]+/[^>]*cgroup.procs>' "$TMP/trace"
	[ "$status" -ne 0 ]
	# The exec'd process really is in the container's cgroup: the root of its
	# cgroup namespace (another cgroup would read as "/..").
	run isola exec "$ID" cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[[ "$output" == *":pids:/"$'\n'* ]]
	[[ "$output" != *"/.."* ]]
}

@test "run renames no file over an existing state file: cgroup.json once, state.json exchanged" {
	strace_run rename,renameat,renameat2
	# ext4 writes the data of a file renamed over another out at once (auto_da_alloc).
	[ "$(grep -c 'rename.*"cgroup.json"' "$TMP/trace")" -eq 1 ]
	# state.json: made once (pid 0, before the init exists), then swapped for the real one.
	[ "$(grep -cE '(renameat|rename)\(.*"state.json"' "$TMP/trace")" -eq 1 ]
	[ "$(grep -c 'renameat2(.*"state.json", RENAME_EXCHANGE) = 0' "$TMP/trace")" -eq 1 ]
}

@test "run opens devices.allow once for all its device rules (cgroup v1)" {
	[ -d /sys/fs/cgroup/devices ] || skip "SKIP: no cgroup v1 devices hierarchy on this host"
	strace_run openat,access,faccessat,faccessat2,write
	[ "$(grep -c 'openat(.*"devices.allow"' "$TMP/trace")" -eq 1 ]
	[ "$(grep -c 'write([0-9]*</sys/fs/cgroup/devices/[^>]*/devices.allow>' "$TMP/trace")" -gt 5 ]
	# A new cpuset copies its parent's cpus and mems without probing for the files first.
	run grep -E 'access.*cpuset\.(cpus|mems)' "$TMP/trace"
	[ "$status" -ne 0 ]
}

@test "in a user namespace with a cgroup namespace the v1 view is new mounts rooted at the container" {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && skip "SKIP: this host is cgroup v2 only"
	[ -d /sys/fs/cgroup/pids ] || skip "SKIP: no cgroup v1 hierarchies on this host"
	# This kernel lets a user namespace that owns the cgroup namespace mount a
	# v1 hierarchy that exists; the view must not fall back to cgroup2 then.
	bundle_jq "$B" '.linux.namespaces |= (map(select(.type != "cgroup" and .type != "user"))
			+ [{type: "cgroup"}, {type: "user"}])
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
		| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
			options: ["nosuid", "noexec", "nodev", "ro"]}]'
	chmod 755 "$TMP"
	chown -R 100000:100000 "$B/rootfs"
	args sh -c 'grep " /sys/fs/cgroup" /proc/self/mountinfo; cat /sys/fs/cgroup/pids/pids.max'
	bundle_jq "$B" '.linux.resources.pids = {limit: 77}'
	run isola run -b "$B" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" / /sys/fs/cgroup ro,"*" - tmpfs "* ]]
	[[ "$output" == *" / /sys/fs/cgroup/pids ro,"*" - cgroup "* ]]
	[[ "$output" == *" / /sys/fs/cgroup/unified ro,"*" - cgroup2 "* ]]
	# The namespace's root is the container's own cgroup: its limit shows.
	[ "${lines[-1]}" = 77 ]
}
