#!/usr/bin/env bats
# virtio-fs (--fs tag=TAG,path=DIR[,ro]): what isola refuses before it opens
# /dev/kvm, so these run on any host.  The device itself is tested by
# tests/unit/virtio/test-virtio-fs.c (FUSE requests through its queues) and
# a Linux guest mounting shares by the L1 test bed's `virtiofs` test.

load helpers

setup() {
	isola_tmp
	mkdir "$TMP/share"
	touch "$TMP/file"
}

teardown() {
	isola_cleanup_tmp
}

# refused PATTERN ARGS...: `vm run ARGS` fails with one line matching PATTERN, leaving no VM.
refused() {
	local pattern=$1
	shift
	run timeout 20 "$ISOLA" vm run --kernel "$TMP/no-kernel" "$@"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ $pattern ]]
	[ -z "$(ls "$TMP" | grep -v '^share$' | grep -v '^file$' | grep -v '^vm.json$')" ]
}

@test "vm fs: a bad tag is refused, naming --fs and the tag" {
	refused '--fs `tag=,path=.*`: tag must be 1..35 bytes' --fs "tag=,path=$TMP/share"
	refused '--fs .*: tag must be 1..35 bytes' --fs "tag=$(printf 'x%.0s' $(seq 36)),path=$TMP/share"
	refused '--fs .*: tag: printable bytes only, no comma' --fs "tag=a,,b,path=$TMP/share"
	refused '--fs .*: tag: printable bytes only, no comma' --fs "tag=$(printf 'a\tb'),path=$TMP/share"
	refused '--fs .*: path=DIR is required' --fs tag=x
	refused '--fs .*: unknown or bad option `bogus`' --fs "tag=x,path=$TMP/share,bogus"
}

@test "vm fs: the path must be an existing directory" {
	refused "--fs .*: path \`$TMP/missing\`: No such file or directory" --fs "tag=x,path=$TMP/missing"
	refused "--fs .*: path \`$TMP/file\`: Not a directory" --fs "tag=x,path=$TMP/file"
	ln -s "$TMP/share" "$TMP/link-to-share"
	# A symlink to a directory is the directory (the share is opened once, at start).
	run timeout 20 "$ISOLA" vm run --kernel "$TMP/no-kernel" --fs "tag=x,path=$TMP/link-to-share"
	[[ "$output" != *"--fs"* ]]
	rm "$TMP/link-to-share"
}

@test "vm fs: at most 8 shares, each tag once" {
	local args=() i
	for i in 1 2 3 4 5 6 7 8 9; do args+=(--fs "tag=t$i,path=$TMP/share"); done
	refused '--fs `tag=t9,.*`: at most 8 shared directories' "${args[@]}"
	refused '--fs `tag=a,.*`: tag `a` given twice' --fs "tag=a,path=$TMP/share" \
		--fs "tag=a,path=$TMP/share,ro"
}

@test "vm fs: the JSON config's \"fs\" goes through the same checks" {
	printf '{"kernel": "%s", "fs": [{"tag": "a", "path": "%s", "read_only": true}, {"tag": "a", "path": "%s"}]}' \
		"$TMP/no-kernel" "$TMP/share" "$TMP/share" >"$TMP/vm.json"
	refused 'fs\[1\]: tag `a` given twice' --config "$TMP/vm.json"
	printf '{"kernel": "%s", "fs": [{"tag": "a", "path": "%s", "mode": 1}]}' "$TMP/no-kernel" \
		"$TMP/share" >"$TMP/vm.json"
	refused 'fs\[0\].*mode' --config "$TMP/vm.json"
	printf '{"kernel": "%s", "fs": [{"tag": "a", "path": "%s"}]}' "$TMP/no-kernel" "$TMP/file" \
		>"$TMP/vm.json"
	refused "fs\\[0\\]: path \`$TMP/file\`: Not a directory" --config "$TMP/vm.json"
}

# A share no guest driver has taken can be snapshotted (vm-snapshot.bats, L1
# fs-snapshot); the options that remap it are checked before anything runs.
@test "vm fs: --fs-remap takes TAG=DIR, on restore and receive" {
	run timeout 20 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --fs-remap share
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'--fs-remap `share`: expected OLD=NEW'* ]]
	run timeout 20 "$ISOLA" vm receive --listen "unix:$TMP/in.sock" --fs-remap "=$TMP/share"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--fs-remap `='*'`: expected OLD=NEW'* ]]
	[ ! -e "$TMP/in.sock" ]
	local args=() i
	for i in 1 2 3 4 5 6 7 8 9; do args+=(--fs-remap "t$i=$TMP/share"); done
	run timeout 20 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" "${args[@]}"
	[[ "$output" == *"--fs-remap: at most 8"* ]]
}

# Two NEWs for one OLD: refused as such, before the snapshot is looked for
# (the devices would otherwise say "no such disk" of the second).
@test "vm restore/receive: a --disk-remap, --net-remap or --fs-remap OLD given twice is refused" {
	run timeout 20 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" \
		--disk-remap "/a.img=/b.img" --disk-remap "/a.img=/c.img"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'--disk-remap: `/a.img` given twice'* ]]
	run timeout 20 "$ISOLA" vm receive --listen "unix:$TMP/in.sock" \
		--net-remap "tap0=tap1" --net-remap "tap0=tap2"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--net-remap: `tap0` given twice'* ]]
	[ ! -e "$TMP/in.sock" ]
	run timeout 20 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" \
		--fs-remap "t=$TMP/a" --fs-remap "u=$TMP/a" --fs-remap "t=$TMP/b"
	[[ "$output" == *'--fs-remap: `t` given twice'* ]]
}
