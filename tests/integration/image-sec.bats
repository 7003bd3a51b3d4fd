#!/usr/bin/env bats
# Security defects of the image store and registry client (issue 11): deep
# trees, hostile registries, non-regular image files, slow servers.
load image-helpers

setup() {
	isola_tmp
	export ISOLA_STORE=$TMP/store
}

teardown() {
	[ -f "$TMP/srv.pid" ] && kill "$(cat "$TMP/srv.pid")" 2>/dev/null
	isola_cleanup_tmp
}

# deep_tar OUT DEPTH: a tar of DEPTH nested directories d/d/…/d with a file at the bottom.
deep_tar() {
	python3 - "$1" "$2" <<-'EOP'
	import io, sys, tarfile
	out, depth = sys.argv[1], int(sys.argv[2])
	with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
	    p = ""
	    for _ in range(depth):
	        p += "d/"
	        i = tarfile.TarInfo(p.rstrip("/")); i.type = tarfile.DIRTYPE; i.mode = 0o755
	        t.addfile(i)
	    i = tarfile.TarInfo(p + "f"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
	EOP
}

@test "rmi removes a 1,200-level layer with 128 fds; prune goes on past a mount and reports it" {
	deep_tar "$TMP/deep.tar" 1200
	img_layout "$TMP/layout" latest amd64 "$TMP/deep.tar" >/dev/null
	run "$ISOLA" image import "$TMP/layout" localhost/deep:1
	[ "$status" -eq 0 ]
	[ -n "$(ls "$ISOLA_STORE/layers")" ]
	run bash -c 'ulimit -n 128 && exec "$0" rmi localhost/deep:1' "$ISOLA"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	[ -z "$(ls "$ISOLA_STORE/blobs/sha256")" ]

	# Unreferenced entries, one holding a mount point: the rest still go.
	mkdir -p "$ISOLA_STORE/layers/aa/x/m" "$ISOLA_STORE/layers/bb/y" "$ISOLA_STORE/layers/cc"
	run unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k tmpfs "$1/layers/aa/x/m" && touch "$1/layers/aa/x/m/keep" &&
		"$2" image prune; echo "rc=$?"; [ -e "$1/layers/aa/x/m/keep" ] && echo kept' \
		sh "$ISOLA_STORE" "$ISOLA"
	echo "$output"
	[[ "$output" == *"is a mount point"* ]]
	[[ "$output" == *"could not be removed"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *kept* ]]
	[ "$(ls "$ISOLA_STORE/layers")" = aa ]
	run "$ISOLA" image prune
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
}
