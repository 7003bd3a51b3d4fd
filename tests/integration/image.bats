#!/usr/bin/env bats
# isola pull / images / rmi / image prune against a real local registry.
load image-helpers

setup_file() { img_setup_file; }
teardown_file() { img_teardown_file; }

setup() { img_setup; }

teardown() {
	isola_cleanup_tmp
}

@test "pull, images, rmi and prune" {
	img_make t/basic:1 d:etc f:etc/hostname:box d:bin f:bin/hello:hi
	run "$ISOLA" pull "$REG/t/basic:1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REG/t/basic:1" ]
	layer=$(ls "$ISOLA_STORE/layers")
	[ "$(cat "$ISOLA_STORE/layers/$layer/etc/hostname")" = box ]
	[ "$(ls "$ISOLA_STORE/blobs/sha256" | wc -l)" -eq 3 ]
	run "$ISOLA" images
	[ "$status" -eq 0 ]
	[[ "$output" == *"$REG/t/basic:1"* ]]
	run "$ISOLA" images --format json
	[ "$(echo "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')" = "$REG/t/basic:1" ]
	run "$ISOLA" image inspect "$REG/t/basic:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["config"]["rootfs"]["type"], len(j["manifest"]["layers"]))')" = "layers 1" ]
	# A second pull finds everything in place.
	run "$ISOLA" pull "$REG/t/basic:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"already present"* ]]
	run "$ISOLA" rmi "$REG/t/basic:1"
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/blobs/sha256")" ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	run "$ISOLA" rmi "$REG/t/basic:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not found"* ]]
}

@test "pull: unknown image and unknown registry fail clearly" {
	run "$ISOLA" pull "$REG/t/nope:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not found"* ]]
	run "$ISOLA" pull "127.0.0.1:1/x:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"pull 127.0.0.1:1/x:1"* ]]
	run "$ISOLA" pull "UPPER/case"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid repository name"* ]]
}

@test "unpack keeps ownership, modes (setuid, sticky) and mtimes, whatever the umask" {
	img_make t/own:1 D:d:1777:0:0 p:d/suid:4755:0:0 p:d/user:640:1000:1001 \
		p:d/open:666:0:0 p:d/sgid:2750:5:6 D:priv:700:1000:1000 p:priv/f:600:1000:1000
	run sh -c "umask 077; exec \"$ISOLA\" pull -q \"$REG/t/own:1\""
	[ "$status" -eq 0 ]
	l=$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")
	run stat -c '%n %a %u:%g %Y' "$l/d" "$l/d/suid" "$l/d/user" "$l/d/open" "$l/d/sgid" \
		"$l/priv" "$l/priv/f"
	[ "$status" -eq 0 ]
	[ "$output" = "$l/d 1777 0:0 1700000000
$l/d/suid 4755 0:0 1700000000
$l/d/user 640 1000:1001 1700000000
$l/d/open 666 0:0 1700000000
$l/d/sgid 2750 5:6 1700000000
$l/priv 700 1000:1000 1700000000
$l/priv/f 600 1000:1000 1700000000" ]
}

@test "zstd layers; extended attributes are kept" {
	d=$TMP/z
	mkdir -p "$d"
	img_tar "$d/l.tar" d:etc f:etc/zst:compressed x:etc/attr:user.isola=kept
	IMG_COMPRESS=zstd img_layout "$d/layout" latest amd64 "$d/l.tar" >/dev/null
	grep -q 'tar+zstd' "$d/layout/blobs/sha256/"*
	img_push "$d/layout" latest t/zstd:1
	run "$ISOLA" pull -q "$REG/t/zstd:1"
	[ "$status" -eq 0 ]
	l=$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")
	[ "$(cat "$l/etc/zst")" = compressed ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.isola").decode())' "$l/etc/attr")" = kept ]
}

@test "progress: a line per blob without a terminal, a carriage-return line on one" {
	require_cmd script
	img_make t/progress:1 f:a:1 b:big:300000
	run "$ISOLA" pull "$REG/t/progress:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Fetching blob "*" bytes)"* ]]
	[[ "$output" == *"done"* ]]
	[[ "$output" != *$'\r'* ]]
	rm -rf --one-file-system "$ISOLA_STORE"
	run script -qefc "\"$ISOLA\" pull \"$REG/t/progress:1\"" /dev/null
	[ "$status" -eq 0 ]
	# (the terminal turns \n into \r\n: look for a \r that starts a line of ours)
	[[ "$output" == *$'\rBlob '*" done"* ]]
	[[ "$output" == *"$REG/t/progress:1"* ]]
}

@test "the store's tmp/ is an Orlov top directory on ext4 (chattr +T)" {
	mkdir -p "$ISOLA_STORE"
	[ "$(stat -f -c %T "$ISOLA_STORE")" = ext2/ext3 ] || skip "SKIP: the store is not on ext4"
	require_cmd lsattr
	img_make t/topdir:1 f:a:1
	"$ISOLA" pull -q "$REG/t/topdir:1" >/dev/null
	[[ "$(lsattr -d "$ISOLA_STORE/tmp" | cut -d' ' -f1)" == *T* ]]
	[[ "$(lsattr -d "$ISOLA_STORE/containers" | cut -d' ' -f1)" == *T* ]]
}

@test "multi-layer image: whiteouts and opaque directories in overlayfs form" {
	d=$TMP/ml
	mkdir -p "$d"
	img_tar "$d/1.tar" d:a f:a/keep:1 f:a/gone:2 d:o f:o/old:3
	img_tar "$d/2.tar" d:a f:a/.wh.gone: d:o f:o/.wh..wh..opq: f:o/new:4
	img_layout "$d/layout" latest amd64 "$d/1.tar" "$d/2.tar" >/dev/null
	img_push "$d/layout" latest t/multi:1
	run "$ISOLA" pull "$REG/t/multi:1"
	[ "$status" -eq 0 ]
	top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"][1][7:])' "$ISOLA_STORE/index.json" "$REG/t/multi:1")
	[ "$(stat -c %F:%t:%T "$ISOLA_STORE/layers/$top/a/gone")" = "character special file:0:0" ]
	[ ! -e "$ISOLA_STORE/layers/$top/a/.wh.gone" ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$ISOLA_STORE/layers/$top/o")" = y ]
	[ ! -e "$ISOLA_STORE/layers/$top/o/.wh..wh..opq" ]
	# Mounted as overlay, the merged view is the image's file system.
	m=$TMP/merged
	mkdir -p "$m"
	bottom=$(ls "$ISOLA_STORE/layers" | grep -v "$top")
	mount -t overlay overlay -o "lowerdir=$ISOLA_STORE/layers/$top:$ISOLA_STORE/layers/$bottom" "$m"
	run ls "$m/a" "$m/o"
	umount "$m"
	[[ "$output" == *keep* ]]
	[[ "$output" != *gone* ]]
	[[ "$output" != *old* ]]
	[[ "$output" == *new* ]]
}

@test "corrupted blob in the registry: digest mismatch, nothing kept" {
	img_make t/corrupt:1 f:data:0123456789abcdef
	layer=$(skopeo inspect --tls-verify=false --raw "docker://$REG/t/corrupt:1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
	blob=$FILE_TMP/reg/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-20]^=0xff; open(p,"wb").write(b)' "$blob"
	run "$ISOLA" pull "$REG/t/corrupt:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"digest mismatch"* ]]
	[ ! -e "$ISOLA_STORE/blobs/sha256/$layer" ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
	run "$ISOLA" images -q
	[ -z "$output" ]
}

@test "manifest list with two platforms: linux/amd64 is picked" {
	d=$TMP/ml
	mkdir -p "$d"
	img_tar "$d/amd.tar" f:arch:amd64
	img_tar "$d/arm.tar" f:arch:arm64
	img_layout "$d/amd" latest amd64 "$d/amd.tar" >/dev/null
	img_layout "$d/arm" latest arm64 "$d/arm.tar" >/dev/null
	img_push "$d/arm" latest t/multi-arch:arm64
	img_push "$d/amd" latest t/multi-arch:amd64
	python3 - "$REG" <<-'EOP'
	import json, sys, urllib.request
	reg = sys.argv[1]
	ms = []
	for arch in ("arm64", "amd64"):
	    req = urllib.request.Request(f"http://{reg}/v2/t/multi-arch/manifests/{arch}",
	        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
	    with urllib.request.urlopen(req) as r:
	        body = r.read()
	        ms.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
	                   "digest": r.headers["Docker-Content-Digest"], "size": len(body),
	                   "platform": {"os": "linux", "architecture": arch}})
	idx = json.dumps({"schemaVersion": 2,
	    "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}).encode()
	req = urllib.request.Request(f"http://{reg}/v2/t/multi-arch/manifests/both", data=idx,
	    method="PUT", headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
	urllib.request.urlopen(req).read()
	EOP
	run "$ISOLA" pull "$REG/t/multi-arch:both"
	[ "$status" -eq 0 ]
	layer=$(ls "$ISOLA_STORE/layers")
	[ "$(cat "$ISOLA_STORE/layers/$layer/arch")" = amd64 ]
}

@test "pull by digest; a digest the registry does not have fails" {
	img_make t/bydigest:1 f:x:1
	digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/t/bydigest:1")
	run "$ISOLA" pull "$REG/t/bydigest@$digest"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REG/t/bydigest@$digest" ]
	run "$ISOLA" images -q
	[ "$output" = "${digest:7:12}" ]
	run "$ISOLA" pull "$REG/t/bydigest@sha256:$(printf '0%.0s' $(seq 64))"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not found"* ]]
}

@test "pull: an unsupported layer media type is refused clearly" {
	img_make t/foreign:1 f:x:1
	python3 - "$REG" <<-'EOP'
	import json, sys, urllib.request
	reg = sys.argv[1]
	req = urllib.request.Request(f"http://{reg}/v2/t/foreign/manifests/1",
	    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
	m = json.load(urllib.request.urlopen(req))
	m["layers"][0]["mediaType"] = "application/vnd.example.layer.v1.squashfs"
	req = urllib.request.Request(f"http://{reg}/v2/t/foreign/manifests/2",
	    data=json.dumps(m).encode(), method="PUT",
	    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
	urllib.request.urlopen(req).read()
	EOP
	run "$ISOLA" pull "$REG/t/foreign:2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unsupported media type"*"squashfs"* ]]
	[ -z "$(ls "$ISOLA_STORE/blobs/sha256")" ]
}

@test "two concurrent pulls into one store serialise on the store lock" {
	img_make t/conc:1 b:big:3000000 f:small:1
	img_make t/conc:2 b:big:3000000 f:small:2
	"$ISOLA" pull -q "$REG/t/conc:1" >"$TMP/o1" 2>&1 &
	p1=$!
	"$ISOLA" pull -q "$REG/t/conc:2" >"$TMP/o2" 2>&1 &
	p2=$!
	"$ISOLA" pull -q "$REG/t/conc:1" >"$TMP/o3" 2>&1
	wait "$p1"
	wait "$p2"
	run "$ISOLA" images -q
	[ "${#lines[@]}" -eq 2 ]
	[ "$(ls "$ISOLA_STORE/layers" | wc -l)" -eq 2 ]
	[ "$(ls "$ISOLA_STORE/blobs/sha256" | wc -l)" -eq 6 ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
}

@test "libcurl and libarchive are loaded only when an image command needs them" {
	require_cmd ldd
	# isola is static-pie where the build allows it (ldd then says so and fails); isola-dl,
	# which runs the image commands, links neither library either.
	local b
	for b in "$ISOLA" "$(dirname "$ISOLA")/isola-dl"; do
		[ -x "$b" ] || continue
		run ldd "$b"
		[[ "$output" != *libcurl* ]]
		[[ "$output" != *libarchive* ]]
	done
	# ... and they are there when needed: a pull and an unpack work (see above); an
	# export writes an archive through libarchive.
	img_make t/lazy:1 f:a:1
	"$ISOLA" pull -q "$REG/t/lazy:1" >/dev/null
	run "$ISOLA" image save -o "$TMP/lazy.tar" "$REG/t/lazy:1"
	[ "$status" -eq 0 ]
	tar -tf "$TMP/lazy.tar" | grep -q index.json
}

# podman's rule: an id that several names share is not untagged at random.
@test "rmi ID of an image with several names is refused without -f, which untags them all" {
	img_tar "$TMP/l.tar" d:etc f:etc/x:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	for n in a b c; do
		"$ISOLA" image import "$TMP/layout" "localhost/multi-$n:1" >/dev/null
	done
	id=$("$ISOLA" images --format json | jq -r '.[0].id' | sed 's/^sha256://' | cut -c1-12)
	[ ${#id} -eq 12 ]
	run "$ISOLA" rmi "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"has 3 names"*"-f"* ]]
	[ "$("$ISOLA" images --format json | jq length)" -eq 3 ]
	# By name: that name alone.
	run "$ISOLA" rmi localhost/multi-a:1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: localhost/multi-a:1" ]
	run "$ISOLA" rmi -f "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output")" = $'Untagged: localhost/multi-b:1\nUntagged: localhost/multi-c:1' ]
	[ "$("$ISOLA" images --format json | jq length)" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/layers")" ]
}
