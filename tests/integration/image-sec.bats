#!/usr/bin/env bats
# Security defects of the image store and registry client (issue 11): deep
# trees, hostile registries, non-regular image files, slow servers.
load image-helpers

setup() {
	isola_tmp
	export ISOLA_STORE=$TMP/store
}

teardown() {
	# What a test made immutable (a directory named "lock" in the store) goes again.
	[ -d "$TMP/store" ] && find "$TMP/store" -xdev -type d -name lock -exec chattr -i {} + 2>/dev/null
	[ -f "$TMP/srv.pid" ] && kill "$(cat "$TMP/srv.pid")" 2>/dev/null
	[ -p "$TMP/hold" ] && release_lock
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
	# A layer is first moved whole into tmp/ (gc-NAME), then removed there.
	run unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k tmpfs "$1/layers/aa/x/m" && touch "$1/layers/aa/x/m/keep" &&
		"$2" image prune; echo "rc=$?"; [ -e "$1/tmp/gc-aa/x/m/keep" ] && echo kept' \
		sh "$ISOLA_STORE" "$ISOLA"
	echo "$output"
	[[ "$output" == *"is a mount point"* ]]
	[[ "$output" == *"could not be removed"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *kept* ]]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	[ "$(ls "$ISOLA_STORE/tmp")" = gc-aa ]
	run "$ISOLA" image prune
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
}

# A removal that stops part way (killed, EIO, EPERM) must not leave a half layer in
# layers/: an import or pull would take it as whole and reuse it.  An immutable directory
# stands in for the failure.
@test "rmi and prune take a layer out whole: one that cannot be removed leaves layers/, a new import unpacks it again" {
	img_tar "$TMP/l.tar" d:many f:many/a:1 f:many/b:2 f:many/c:3 d:many/lock f:many/lock/z:4
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/whole:1 >/dev/null
	layer=$(ls "$ISOLA_STORE/layers")
	[ -n "$layer" ]
	chattr +i "$ISOLA_STORE/layers/$layer/many/lock"
	run "$ISOLA" rmi localhost/whole:1
	echo "$output"
	# Counted once: in tmp/, where the same prune's sweep failed again.
	[[ "$output" == *"1 entry could not be removed, the first: \`$ISOLA_STORE/tmp\`: remove \`gc-$layer\`: unlink"* ]]
	# and only the first error is named, not wrapped again by later sweeps
	[ "$(grep -o "remove " <<<"$output" | wc -l)" -eq 1 ]
	[ ! -e "$ISOLA_STORE/layers/$layer" ]
	[ -d "$ISOLA_STORE/tmp/gc-$layer" ]
	"$ISOLA" image import "$TMP/layout" localhost/whole:1 >/dev/null
	for f in a b c lock/z; do
		[ -f "$ISOLA_STORE/layers/$layer/many/$f" ]
	done
	chattr -i "$ISOLA_STORE/tmp/gc-$layer/many/lock"
	run "$ISOLA" image prune
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
	[ -f "$ISOLA_STORE/layers/$layer/many/a" ]
}

# Nothing half-downloaded stays in the store.
refute_partials() {
	[ -z "$(ls "$ISOLA_STORE/tmp" 2>/dev/null)" ] || { ls -l "$ISOLA_STORE/tmp"; return 1; }
	[ -z "$(ls "$ISOLA_STORE/layers" 2>/dev/null)" ]
}

@test "pull: a layer descriptor without a size, or with 0 or -1, is refused before any download" {
	for mode in nosize zerosize negsize; do
		hostile_start $mode
		run "$ISOLA" pull "$HREG/t/a:latest"
		echo "$mode: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"layers[0].size"* ]]
		[ "$(grep -c /blobs/ "$TMP/srv.log")" -eq 0 ]
		refute_partials
		hostile_stop
		rm -f "$TMP/srv.log"
	done
}

@test "pull: a blob larger than its descriptor fails, with or without Content-Length; no partial stays" {
	for mode in oversize overstream; do
		hostile_start $mode
		run "$ISOLA" pull "$HREG/t/a:latest"
		echo "$mode: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"more data than"* || "$output" == *"aximum file size"* ]]
		refute_partials
		hostile_stop
	done
}

@test "pull: a download that keeps failing leaves no partial behind" {
	hostile_start short
	run "$ISOLA" pull "$HREG/t/a:latest"
	echo "$output"
	[ "$status" -ne 0 ]
	refute_partials
}

# hold_lock MODE: hold the store lock (flock -s or -x) in the background until
# release_lock (or for 60 s at most).
hold_lock() {
	mkdir -p "$ISOLA_STORE"
	mkfifo "$TMP/hold"
	(
		exec 9>"$ISOLA_STORE/lock"
		flock "$1" 9
		echo held >"$TMP/held"
		read -r -t 60 _ <>"$TMP/hold"
	) &
	echo $! >"$TMP/hold.pid"
	for _ in $(seq 100); do [ -s "$TMP/held" ] && return 0; sleep 0.1; done
	return 1
}

release_lock() {
	echo go 1<>"$TMP/hold"
	wait "$(cat "$TMP/hold.pid")" || true
	rm -f "$TMP/hold" "$TMP/held" "$TMP/hold.pid"
}

# run catches stop signals to undo what it made; before it has made anything (here: in
# its wait for the store's lock) one ends it at once.  env: `&` starts with INT ignored.
@test "run: a stop signal while it waits for the store's lock ends it at once; nothing is made" {
	img_tar "$TMP/l.tar" d:etc f:etc/motd:hi
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/sh:1 >/dev/null
	ino=$(stat -c %i "$ISOLA_STORE/lock")
	hold_lock -x
	for sig in INT TERM; do
		env --default-signal=INT "$ISOLA" run --rm --network none --name "it-w-$sig" \
			localhost/sh:1 true >"$TMP/out" 2>&1 &
		pid=$!
		# Queued behind the holder: a waiter's line in /proc/locks has "->".
		wait_until 20 "grep -- '->' /proc/locks | grep -q ':$ino '"
		kill -s "$sig" "$pid"
		wait_until 20 "! kill -0 $pid 2>/dev/null" || { release_lock; false; }
		st=0
		wait "$pid" || st=$?
		echo "$sig: $st: $(cat "$TMP/out")"
		[ "$st" -eq $((128 + $(kill -l "$sig"))) ]
		[ ! -e "$ISOLA_STORE/containers/it-w-$sig" ]
	done
	release_lock
}

@test "readers share the store lock: images, inspect and save run while another reader holds it" {
	img_tar "$TMP/l.tar" d:etc f:etc/motd:hi
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/sh:1 >/dev/null
	hold_lock -s
	run timeout 20 "$ISOLA" images
	echo "images: $status $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *localhost/sh:1* ]]
	run timeout 20 "$ISOLA" image inspect localhost/sh:1
	[ "$status" -eq 0 ]
	run timeout 20 "$ISOLA" image save -o "$TMP/s.tar" localhost/sh:1
	[ "$status" -eq 0 ]
	# A writer still waits for the reader: it cannot finish while the lock is held.
	run timeout 2 "$ISOLA" image prune
	[ "$status" -eq 124 ]
	release_lock
}

# fifo_image REF: an image whose /etc/passwd is a FIFO and /etc/group a device node.
fifo_image() {
	python3 - "$TMP/f.tar" <<-'EOP'
	import sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for name, kind in (("etc", tarfile.DIRTYPE), ("etc/passwd", tarfile.FIFOTYPE),
	                       ("etc/group", tarfile.CHRTYPE)):
	        i = tarfile.TarInfo(name); i.type = kind; i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
	        i.devmajor, i.devminor = 1, 3
	        t.addfile(i)
	EOP
	img_layout "$TMP/flayout" latest amd64 "$TMP/f.tar" >/dev/null
	"$ISOLA" image import "$TMP/flayout" "$1" >/dev/null
}

@test "run: an image whose /etc/passwd is a FIFO (or /etc/group a device) fails at once, leaving nothing" {
	fifo_image localhost/fifo:1
	run timeout 30 "$ISOLA" image run --rm -u app localhost/fifo:1 true
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	[[ "$output" == *"/etc/passwd"*"not a regular file"* ]]
	run timeout 30 "$ISOLA" image run --rm -u 0:staff localhost/fifo:1 true
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	[[ "$output" == *"/etc/group"*"not a regular file"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
	# The store is not left locked.
	run timeout 20 "$ISOLA" image prune
	[ "$status" -eq 0 ]
}

# syscalls NAME... < FILE: the total count of those syscalls in an `strace -c` summary.
count_syscalls() {
	local f=$1
	shift
	# columns: % time, seconds, usecs/call, calls, [errors,] syscall
	awk -v names=" $* " 'index(names, " " $NF " ") && $4 ~ /^[0-9]+$/ { n += $4 } \
		END { print n + 0 }' "$f"
}

@test "unpack works in linear time: a layer of ever deeper entries opens each directory once" {
	require_cmd strace
	# d/f, d/d/f, … 1,000 levels, no directory entries: every parent is implicit.
	python3 - "$TMP/deep.tar" <<-'EOP'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for depth in range(1, 1001):
	        i = tarfile.TarInfo("d/" * depth + "f"); i.size = 1
	        t.addfile(i, io.BytesIO(b"x"))
	    # and back up: siblings at every depth, deepest first, then directory entries
	    for depth in range(1000, 0, -100):
	        i = tarfile.TarInfo("d/" * depth + "g"); i.size = 1
	        t.addfile(i, io.BytesIO(b"y"))
	        i = tarfile.TarInfo("d/" * depth + "e"); i.type = tarfile.DIRTYPE; i.mode = 0o755
	        t.addfile(i)
	        i = tarfile.TarInfo("d/" * depth + "e/f"); i.size = 1
	        t.addfile(i, io.BytesIO(b"z"))
	EOP
	img_layout "$TMP/layout" latest amd64 "$TMP/deep.tar" >/dev/null
	run strace -f -c -o "$TMP/strace.txt" -e trace=openat,openat2,mkdirat \
		"$ISOLA" image import "$TMP/layout" localhost/deep:1
	[ "$status" -eq 0 ]
	cat "$TMP/strace.txt"
	n=$(count_syscalls "$TMP/strace.txt" openat openat2 mkdirat)
	echo "open/mkdir calls: $n"
	# Resolving every prefix from the root made about 500,000 calls (and cubic work in the kernel).
	[ "$n" -gt 1000 ]
	[ "$n" -lt 20000 ]
	l=$(ls "$ISOLA_STORE/layers")
	p=$ISOLA_STORE/layers/$l/$(printf 'd/%.0s' $(seq 1000))
	[ "$(cat "${p}f")" = x ]
	[ "$(cat "${p}g")" = y ]
	[ "$(cat "${p}e/f")" = z ]
}

@test "unpack keeps sparse files sparse: zero blocks and GNU sparse entries take no disk" {
	mkdir -p "$TMP/src"
	# A 64 MiB file of zeros with a few bytes in the middle, stored in full in the tar,
	truncate -s 64M "$TMP/src/zeros"
	printf 'middle' | dd of="$TMP/src/zeros" bs=1 seek=$((32 << 20)) conv=notrunc status=none
	# and a 1 GiB GNU sparse entry (tar -S) holding one block of data.
	truncate -s 1G "$TMP/src/sparse"
	printf 'data' | dd of="$TMP/src/sparse" bs=1 seek=$((512 << 20)) conv=notrunc status=none
	tar -C "$TMP/src" --numeric-owner -cf "$TMP/full.tar" zeros
	tar -C "$TMP/src" --numeric-owner -S -cf "$TMP/sparse.tar" sparse
	IMG_GZIP_LEVEL=1 img_layout "$TMP/layout" latest amd64 "$TMP/full.tar" "$TMP/sparse.tar" >/dev/null
	run "$ISOLA" image import "$TMP/layout" localhost/sparse:1
	[ "$status" -eq 0 ]
	for l in "$ISOLA_STORE"/layers/*; do
		for f in zeros sparse; do
			[ -f "$l/$f" ] || continue
			cmp "$l/$f" "$TMP/src/$f"
			used=$(($(stat -c %b "$l/$f") * $(stat -c %B "$l/$f")))
			echo "$f: $(stat -c %s "$l/$f") bytes, $used on disk"
			[ "$used" -lt $((1 << 20)) ]
		done
	done
	[ "$(du -s --block-size=1 "$ISOLA_STORE/layers" | cut -f1)" -lt $((4 << 20)) ]
}

@test "pull: a registry dripping a byte every 2 s is cut off by the blob's deadline; no partial stays" {
	hostile_start drip
	SECONDS=0
	run timeout 120 "$ISOLA" pull --timeout-base 3 --min-rate 1M "$HREG/t/a:latest"
	echo "$output (after ${SECONDS}s)"
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	# Whichever comes first: the size's deadline or the rate's.
	[[ "$output" == *"not complete by its deadline"* || "$output" == *"slower than"* ]]
	refute_partials
	run "$ISOLA" pull --timeout-base 0 "$HREG/t/a:latest"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--timeout-base"* ]]
	run "$ISOLA" pull --min-rate fast "$HREG/t/a:latest"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--min-rate"* ]]
}

@test "pull: a registry that declares a huge layer and drips it is cut off by the rate, not the size's deadline" {
	hostile_start bigdrip
	SECONDS=0
	run timeout 100 "$ISOLA" pull --timeout-base 3 --min-rate 1M "$HREG/t/a:latest"
	echo "$output (after ${SECONDS}s)"
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	[[ "$output" == *"slower than 1048576 bytes/s on average after the first 3 s"* ]]
	refute_partials
	# The store's lock is free again: another command runs.
	run timeout 10 "$ISOLA" images
	[ "$status" -eq 0 ]
}

@test "errors: control characters from a registry or an argument are printed escaped" {
	# A layer's media type is the registry's text; it is quoted in the error.
	hostile_start escmedia
	run timeout 60 "$ISOLA" pull "$HREG/t/a:latest"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'\x1b]0;PWNED\x07\x1b[2J'* ]]
	[[ "$output" != *$'\e'* && "$output" != *$'\a'* ]]
	run "$ISOLA" pull "$(printf 'a\033[2Jb\302\233c\233d')"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'a\x1b[2Jb\xc2\x9bc\x9bd'* ]]
	[[ "$output" != *$'\e'* ]]
}

@test "pull: the token request escapes the challenge's service and scope" {
	hostile_start token
	run timeout 60 "$ISOLA" pull "$HREG/t/a:latest"
	echo "$output"
	cat "$TMP/srv.log"
	[ "$status" -eq 0 ]
	grep -qF 'token /token?service=reg%26x%3D1%20%23y&scope=repository%3At%2Fa%3Apull' "$TMP/srv.log"
}

# A container whose image.json cannot be read may still use layers: prune stops rather
# than take them (a read error, a corrupt file); a directory without one holds nothing.
@test "prune stops at a container whose image.json cannot be read, naming it; it removes a killed index write's file" {
	img_tar "$TMP/l.tar" d:etc f:etc/x:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/kept:1 >/dev/null
	layer=$(ls "$ISOLA_STORE/layers")
	mkdir -p "$ISOLA_STORE/containers/bad" "$ISOLA_STORE/containers/empty"
	printf '{"layers": ["sha256:%s"' "$layer" >"$ISOLA_STORE/containers/bad/image.json"
	"$ISOLA" rmi localhost/kept:1 >/dev/null 2>&1 || true
	run "$ISOLA" image prune
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container \`bad\`"* ]]
	[ -d "$ISOLA_STORE/layers/$layer" ]
	rm -rf --one-file-system "$ISOLA_STORE/containers/bad"
	# What a killed write of index.json leaves goes with the next prune too; a stray file
	# among the containers holds nothing.
	echo '{}' >"$ISOLA_STORE/.index.json.tmp.0123456789abcdef"
	touch "$ISOLA_STORE/containers/junk"
	run "$ISOLA" image prune
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	[ ! -e "$ISOLA_STORE/.index.json.tmp.0123456789abcdef" ]
}
