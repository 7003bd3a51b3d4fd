#!/usr/bin/env bats
# Bad input: one clear line naming the file and field, a non-zero exit, and
# nothing left behind in --root, the mount table or the cgroup trees.

load helpers

setup() {
	setup_bundle bad
	bundle_jq "$B" '.process.args = ["true"]'
}

teardown() {
	# No ID (a setup that failed before it): nothing of ours to remove.
	[ -n "${ID:-}" ] || { isola_cleanup_tmp; return 0; }
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	# A runtime that could not delete must still not leave a cgroup behind.
	for d in /sys/fs/cgroup/*/"$ID"; do
		[ -d "$d" ] || continue
		xargs -r kill -9 <"$d/cgroup.procs" 2>/dev/null
		wait_until 5 rmdir "$d" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

# fails_cleanly PATTERN ARGS...: create fails with one line matching PATTERN.
fails_cleanly() {
	local pattern=$1
	shift
	run "$ISOLA" --root "$R" create "$@"
	echo "status=$status output=$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *$pattern* ]]
	[ -z "$(ls -A "$R" 2>/dev/null)" ]
	refute grep -q " $TMP" /proc/self/mountinfo
	refute ls -d /sys/fs/cgroup/*/isola/"$ID"
}

@test "missing bundle" {
	fails_cleanly "bundle \`$TMP/nope\`" -b "$TMP/nope" "$ID"
}

@test "malformed config.json" {
	echo '{"ociVersion": "1.1.0", "root": ' >"$B/config.json"
	fails_cleanly "config.json: line" -b "$B" "$ID"
}

@test "oversized config.json" {
	head -c 5000000 /dev/zero | tr '\0' ' ' >"$B/config.json"
	fails_cleanly "config.json*is larger than 4194304" -b "$B" "$ID"
}

@test "unknown namespace type" {
	bundle_jq "$B" '.linux.namespaces += [{"type": "bogus"}]'
	fails_cleanly "config.json: linux.namespaces*.type: unknown namespace type \`bogus\`" -b "$B" "$ID"
}

@test "unknown capability name" {
	bundle_jq "$B" '.process.capabilities.bounding += ["CAP_BOGUS"]'
	fails_cleanly "process.capabilities*CAP_BOGUS*" -b "$B" "$ID"
}

@test "a capability name with more after it (libcap alone reads only the first name)" {
	bundle_jq "$B" '.process.capabilities.bounding += ["CAP_CHOWN,CAP_SYS_ADMIN"]'
	fails_cleanly 'process.capabilities.bounding*unknown capability "CAP_CHOWN,CAP_SYS_ADMIN"' \
		-b "$B" "$ID"
}

@test "maskedPaths and readonlyPaths entries must be absolute (the spec's MUST)" {
	bundle_jq "$B" '.linux.maskedPaths = ["/proc/kcore", "proc/keys"]'
	fails_cleanly 'config.json: linux.maskedPaths\[1\]: `proc/keys`: not an absolute path' \
		-b "$B" "$ID"
	bundle_jq "$B" '.linux.maskedPaths = [] | .linux.readonlyPaths = [""]'
	fails_cleanly 'config.json: linux.readonlyPaths\[0\]: ``: not an absolute path' -b "$B" "$ID"
}

@test "bad ids: ../x, empty, longer than 1024" {
	fails_cleanly "container id \`../x\`: invalid" -b "$B" "../x"
	fails_cleanly "container id: empty" -b "$B" ""
	fails_cleanly "container id: longer than 1024" -b "$B" "$(printf 'a%.0s' $(seq 1025))"
}

@test "duplicate id" {
	bundle_jq "$B" '.process.args = ["sleep", "100"]'
	"$ISOLA" --root "$R" create -b "$B" "$ID"
	run "$ISOLA" --root "$R" create -b "$B" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container \`$ID\` already exists"* ]]
	[ "$("$ISOLA" --root "$R" state "$ID" | jq -r .status)" = created ]
}

@test "missing executable fails at create, as runc" {
	bundle_jq "$B" '.process.args = ["no-such-binary"]'
	fails_cleanly "exec \`no-such-binary\`: executable file not found in \$PATH" -b "$B" "$ID"
}

@test "rootfs that is a symlink out of the bundle" {
	mkdir "$TMP/outside"
	rm -rf --one-file-system "$B/rootfs"
	ln -s "$TMP/outside" "$B/rootfs"
	fails_cleanly "config.json: root.path: \`rootfs\` resolves to \`$TMP/outside\`, outside the bundle" \
		-b "$B" "$ID"
}

@test "a mount destination that is not absolute" {
	bundle_jq "$B" '.mounts += [{"destination": "rel", "type": "tmpfs", "source": "tmpfs"}]'
	fails_cleanly "config.json: mounts*.destination: \`rel\` is not an absolute path" -b "$B" "$ID"
}

# overlay_root LOWERDIR: the first mount an overlay on / with these lower
# directories, an upper and a work directory under $TMP.
overlay_root() {
	mkdir -p "$TMP/upper" "$TMP/work"
	jq --arg l "lowerdir=$1" --arg u "upperdir=$TMP/upper" --arg w "workdir=$TMP/work" \
		'.mounts = [{"destination": "/", "type": "overlay", "source": "overlay",
			"options": [$l, $u, $w]}] + .mounts' "$B/config.json" >"$TMP/c.json"
	mv "$TMP/c.json" "$B/config.json"
}

@test "overlay lowerdir: an empty entry, a relative path" {
	mkdir "$TMP/x" "$TMP/y"
	overlay_root "$TMP/x::$TMP/y:"
	fails_cleanly "config.json: mounts*.options: lowerdir: entry 3 is empty" -b "$B" "$ID"
	overlay_root "$TMP/x:y"
	fails_cleanly "config.json: mounts*.options: lowerdir: entry 2 \`y\` is not an absolute path" \
		-b "$B" "$ID"
}

@test "overlay lowerdir: 600 lower directories, past the kernel's 500" {
	local list=$B/rootfs i d
	mkdir "$TMP/l"
	for ((i = 1; i < 600; i++)); do
		d=$TMP/l/$(printf 'layer-%03d-%053d' "$i" 0)
		mkdir "$d"
		list=$d:$list
	done
	overlay_root "$list"
	fails_cleanly "mount overlay on \`/\`: lower directory 501 of 600 \`$TMP/l/layer-099-*\`: overlay: too many lower directories, limit is 500: Invalid argument" \
		-b "$B" "$ID"
}

# Limits are consistent: whatever create accepts, state/kill/delete can read.
@test "3 MiB of annotations: create, state, kill and delete all work" {
	head -c 3000000 /dev/zero | tr '\0' a >"$TMP/big"
	jq --rawfile big "$TMP/big" '.annotations = {"big": $big, "small": "x"}
		| .process.args = ["sleep", "100"]
		| .hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "cat >/dev/null"]}]}' \
		"$B/config.json" >"$B/c.json"
	mv "$B/c.json" "$B/config.json"
	bundle_jq "$B" ".linux.cgroupsPath = \"/$ID\""
	"$ISOLA" --root "$R" create -b "$B" "$ID" >"$TMP/out" 2>&1 3>&- </dev/null ||
		{ head -c 300 "$TMP/out"; false; }
	[ "$("$ISOLA" --root "$R" state "$ID" | jq -r '.annotations.big | length')" = 3000000 ]
	"$ISOLA" --root "$R" start "$ID"
	"$ISOLA" --root "$R" kill "$ID" KILL
	wait_until 10 '[ "$(ct_status "$R" "$ID")" = stopped ]'
	"$ISOLA" --root "$R" delete "$ID"
	[ -z "$(ls -A "$R")" ]
	refute ls -d /sys/fs/cgroup/*/"$ID"
}

@test "delete --force cleans up after a corrupt or oversized state.json" {
	bundle_jq "$B" ".linux.cgroupsPath = \"/$ID\" | .process.args = [\"sleep\", \"100\"]"
	for how in corrupt oversized; do
		"$ISOLA" --root "$R" create -b "$B" "$ID" >/dev/null 2>&1 3>&- </dev/null
		"$ISOLA" --root "$R" start "$ID"
		pid=$("$ISOLA" --root "$R" state "$ID" | jq -r .pid)
		if [ "$how" = corrupt ]; then
			echo '{"id": ' >"$R/$ID/state.json"
		else
			head -c 20000000 /dev/zero | tr '\0' ' ' >>"$R/$ID/state.json"
		fi
		run "$ISOLA" --root "$R" state "$ID"
		[ "$status" -ne 0 ]
		[[ "$output" == *state.json* ]]
		"$ISOLA" --root "$R" delete --force "$ID"
		[ ! -e "$R/$ID" ]
		refute ls -d /sys/fs/cgroup/*/"$ID"
		wait_until 10 pid_dead "$pid"
	done
}

@test "process.env entries must be NAME=VALUE (runc refuses a bare NAME and an empty NAME)" {
	bundle_jq "$B" '.process.env += ["FOO"]'
	fails_cleanly 'config.json: process.env\[2\]: `FOO`: expected NAME=VALUE' -b "$B" "$ID"
	bundle_jq "$B" '.process.env[2] = "=x"'
	fails_cleanly 'process.env\[2\]: `=x`: expected NAME=VALUE' -b "$B" "$ID"
}
