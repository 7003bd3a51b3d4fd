#!/usr/bin/env bats
# A real distribution image: Debian bookworm (minbase, from debootstrap), two layers
# with whiteouts, pushed to the local registry, pulled by isola and run by isola's
# own runtime.
load image-helpers

setup_file() {
	img_setup_file
	[ -n "${FILE_TMP:-}" ] || return 0
	# Skips (the whole file) when the mirror is unreachable.
	IMG_PATH=PATH=/usr/sbin:/usr/bin:/sbin:/bin img_debian_layout "$FILE_TMP/debian" >/dev/null
	TMP=$FILE_TMP img_push "$FILE_TMP/debian/layout" latest t/debian:12
}

teardown_file() {
	img_teardown_file
}

setup() { img_setup; }

teardown() {
	for c in "$ISOLA_STORE"/containers/*/; do
		[ -d "$c" ] && umount "$c/rootfs" 2>/dev/null
	done
	isola_cleanup_tmp
}

@test "debian: pull the two-layer image and run it" {
	run "$ISOLA" pull -q "$REG/t/debian:12"
	[ "$status" -eq 0 ]
	[ "$(ls "$ISOLA_STORE/layers" | wc -l)" -eq 2 ]
	run "$ISOLA" run --rm "$REG/t/debian:12" cat /etc/debian_version
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$IMG_DEBIAN_CACHE/etc/debian_version")" ]
	# Debian's own dynamically linked tools work from the overlay.
	run "$ISOLA" run --rm "$REG/t/debian:12" dpkg-query -W -f '${Package}\n' base-files
	[ "$status" -eq 0 ]
	[ "$output" = base-files ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "debian: whited-out files and directories are gone, the opaque directory is replaced" {
	"$ISOLA" pull -q "$REG/t/debian:12" >/dev/null
	[ -e "$IMG_DEBIAN_CACHE/etc/motd" ]
	[ -d "$IMG_DEBIAN_CACHE/usr/share/man" ]
	run "$ISOLA" run --rm "$REG/t/debian:12" sh -c \
		'ls -A /usr/share/doc; cat /etc/isola-layer2; echo; test -e /etc/motd && echo motd;
		 test -e /usr/share/man && echo man; test -x /bin/bash && echo bash'
	[ "$status" -eq 0 ]
	[ "$output" = "README
yes
bash" ]
}

@test "debian: the store holds the whiteouts in overlayfs form" {
	"$ISOLA" pull -q "$REG/t/debian:12" >/dev/null
	top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"][-1][7:])' \
		"$ISOLA_STORE/index.json" "$REG/t/debian:12")
	[ "$(stat -c '%F %t:%T' "$ISOLA_STORE/layers/$top/etc/motd")" = "character special file 0:0" ]
	[ "$(stat -c '%F %t:%T' "$ISOLA_STORE/layers/$top/usr/share/man")" = "character special file 0:0" ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' \
		"$ISOLA_STORE/layers/$top/usr/share/doc")" = y ]
	[ ! -e "$ISOLA_STORE/layers/$top/usr/share/doc/.wh..wh..opq" ]
	# debootstrap's device nodes survive in layer 1.
	base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"][0][7:])' \
		"$ISOLA_STORE/index.json" "$REG/t/debian:12")
	[ "$(stat -c '%F %t:%T' "$ISOLA_STORE/layers/$base/dev/null")" = "character special file 1:3" ]
}
