#!/usr/bin/env bats
# Bad input: one clear line naming the file and field, a non-zero exit, and
# nothing left behind in --root, the mount table or the cgroup trees.

load helpers

setup() {
	setup_bundle bad
	bundle_jq "$B" '.process.args = ["true"]'
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
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
