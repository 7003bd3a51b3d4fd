#!/usr/bin/env bats
# Hostile layers: no entry of a layer may write outside its layer directory.
load image-helpers

setup_file() { img_setup_file; }
teardown_file() { img_teardown_file; }

setup() {
	img_setup
	echo original >"$TMP/victim"
}

teardown() {
	isola_cleanup_tmp
}

# Nothing outside the store changed; nothing half-unpacked left in tmp/.
assert_contained() {
	[ ! -e "$TMP/pwned" ]
	[ "$(cat "$TMP/victim")" = original ]
	[ "$(stat -c %h "$TMP/victim")" -eq 1 ]
	[ -z "$(ls "$ISOLA_STORE/tmp" 2>/dev/null)" ]
}

@test "hostile layer: ../ path is refused" {
	img_make t/dotdot:1 f:../../../pwned:x
	run "$ISOLA" pull "$REG/t/dotdot:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"leaves the layer"* ]]
	assert_contained
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
}

@test "hostile layer: absolute path stays inside the layer" {
	img_make t/abs:1 "f:$TMP/pwned:x"
	run "$ISOLA" pull "$REG/t/abs:1"
	[ "$status" -eq 0 ]
	assert_contained
	layer=$(ls "$ISOLA_STORE/layers")
	[ "$(cat "$ISOLA_STORE/layers/$layer/$TMP/pwned")" = x ]
}

@test "hostile layer: file through an absolute symlinked parent stays inside" {
	img_make t/symparent:1 "l:evil:$TMP" f:evil/pwned:x
	run "$ISOLA" pull "$REG/t/symparent:1"
	assert_contained
	if [ "$status" -eq 0 ]; then
		layer=$(ls "$ISOLA_STORE/layers")
		[ -L "$ISOLA_STORE/layers/$layer/evil" ]
	fi
}

@test "hostile layer: file through a relative ../ symlinked parent stays inside" {
	img_make t/symparent2:1 "l:evil:../../../../../../../../$TMP" f:evil/pwned:x
	run "$ISOLA" pull "$REG/t/symparent2:1"
	assert_contained
}

@test "hostile layer: hard link to a file outside is refused" {
	img_make t/hardlink:1 "h:link:$TMP/victim"
	run "$ISOLA" pull "$REG/t/hardlink:1"
	[ "$status" -ne 0 ]
	assert_contained
	img_make t/hardlink2:1 "h:link:../../../victim"
	run "$ISOLA" pull "$REG/t/hardlink2:1"
	[ "$status" -ne 0 ]
	assert_contained
}

@test "hostile layer: hard link through a symlink to outside is refused" {
	img_make t/hardlink3:1 "l:out:$TMP" "h:link:out/victim"
	run "$ISOLA" pull "$REG/t/hardlink3:1"
	[ "$status" -ne 0 ]
	assert_contained
}

@test "hostile layer: symlink then a file of the same name replaces the symlink" {
	img_make t/symfile:1 "l:x:$TMP/victim" f:x:evil
	run "$ISOLA" pull "$REG/t/symfile:1"
	[ "$status" -eq 0 ]
	assert_contained
	layer=$(ls "$ISOLA_STORE/layers")
	[ ! -L "$ISOLA_STORE/layers/$layer/x" ]
	[ "$(cat "$ISOLA_STORE/layers/$layer/x")" = evil ]
}

@test "hostile layer: whiteout of ../ is refused" {
	img_make t/whdotdot:1 "f:../../../.wh.victim:"
	run "$ISOLA" pull "$REG/t/whdotdot:1"
	[ "$status" -ne 0 ]
	assert_contained
}

@test "hostile layer: a failed unpack leaves nothing half-written" {
	img_make t/half:1 d:a f:a/one:1 f:a/two:2 f:../../../pwned:x
	run "$ISOLA" pull "$REG/t/half:1"
	[ "$status" -ne 0 ]
	assert_contained
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	run "$ISOLA" images -q
	[ -z "$output" ]
}
