#!/usr/bin/env bats
# isola image import/load/save/export: OCI layouts, oci-archive and
# docker-archive, round trips with podman and skopeo, and the default image.
load image-helpers

setup() {
	isola_tmp
	export ISOLA_STORE=$TMP/store
	export ISOLA_NETWORK=none # run IMAGE defaults to the bridge; net.bats tests that
}

teardown() {
	img_registry_stop "$TMP"
	isola_cleanup_tmp
}

# podman with all its state under $TMP.
pm() {
	podman --root "$TMP/podman/root" --runroot "$TMP/podman/run" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

layer_file() { # NAME PATH: cat PATH from the image's only layer
	local l
	l=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"][-1][7:])' \
		"$ISOLA_STORE/index.json" "$1")
	cat "$ISOLA_STORE/layers/$l/$2"
}

@test "import an OCI layout; export it back; save and re-import oci-archive" {
	img_tar "$TMP/l.tar" d:etc f:etc/motd:hello
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	run "$ISOLA" image import "$TMP/layout" localhost/lay:1
	[ "$status" -eq 0 ]
	[ "$output" = localhost/lay:1 ]
	[ "$(layer_file localhost/lay:1 etc/motd)" = hello ]
	run "$ISOLA" image export localhost/lay:1 "$TMP/exported"
	[ "$status" -eq 0 ]
	[ "$(ls "$TMP/layout/blobs/sha256" | sort)" = "$(ls "$TMP/exported/blobs/sha256" | sort)" ]
	run "$ISOLA" image save -o "$TMP/a.tar" localhost/lay:1
	[ "$status" -eq 0 ]
	run "$ISOLA" --root "$TMP/x" image import --store "$TMP/store2" "$TMP/a.tar"
	[ "$status" -eq 0 ]
	[ "$output" = localhost/lay:1 ]
	[ -z "$(ls "$TMP/store2/tmp")" ]
}

@test "import: a bare tag annotation needs a name; garbage is refused" {
	img_tar "$TMP/l.tar" f:x:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	run "$ISOLA" image import "$TMP/layout"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no usable name"* ]]
	mkdir "$TMP/empty"
	run "$ISOLA" image import "$TMP/empty" x:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"neither an OCI layout"* ]]
	# A layout whose blob does not match its digest.
	b=$(ls "$TMP/layout/blobs/sha256" | head -1)
	echo tampered >>"$TMP/layout/blobs/sha256/$b"
	run "$ISOLA" image import "$TMP/layout" x:1
	[ "$status" -ne 0 ]
	[[ "$output" == *mismatch* ]]
}

@test "import: an archive naming several images reports every name it stores" {
	img_tar "$TMP/l.tar" f:x:1
	img_layout "$TMP/layout" localhost/a:1 amd64 "$TMP/l.tar" >/dev/null
	python3 - "$TMP/layout/index.json" <<-'EOP'
	import json, sys
	idx = json.load(open(sys.argv[1]))
	m = idx["manifests"][0]
	for n in ("localhost/b:1", "localhost/isola-default:latest"):
	    idx["manifests"].append(dict(m, annotations={"org.opencontainers.image.ref.name": n}))
	json.dump(idx, open(sys.argv[1], "w"))
	EOP
	run "$ISOLA" image import "$TMP/layout"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = $'localhost/a:1\nlocalhost/b:1\nlocalhost/isola-default:latest' ]
	# With a NAME, one image under that name.
	run "$ISOLA" image import "$TMP/layout" localhost/c:1
	[ "$output" = localhost/c:1 ]
	# A failure half way names what was stored before it.
	python3 - "$TMP/layout/index.json" <<-'EOP'
	import json, sys
	idx = json.load(open(sys.argv[1]))
	idx["manifests"][2]["digest"] = "sha256:" + "0" * 64
	json.dump(idx, open(sys.argv[1], "w"))
	EOP
	run "$ISOLA" image import "$TMP/layout"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"stored before this one: localhost/a:1 localhost/b:1"* ]]
}

@test "import: a hostile archive cannot write outside the store" {
	img_tar "$TMP/evil.tar" f:../../../pwned:x
	run "$ISOLA" image load -i "$TMP/evil.tar" x:1
	[ "$status" -ne 0 ]
	[ ! -e "$TMP/pwned" ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
}

@test "import: index.json and manifest.json are read as regular files inside the archive; an index in an index is refused" {
	echo hunter2 >"$TMP/secret"
	for top in index.json manifest.json; do
		marker=oci-layout
		[ "$top" = manifest.json ] && marker=manifest.json
		# A symlink to a host file: resolved inside the archive, so not found.
		if [ "$top" = index.json ]; then
			img_tar "$TMP/ln.tar" 'f:oci-layout:{"imageLayoutVersion": "1.0.0"}' "l:$top:$TMP/secret"
		else
			img_tar "$TMP/ln.tar" "l:$top:$TMP/secret"
		fi
		run "$ISOLA" image load -i "$TMP/ln.tar" x:1
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" != *hunter* ]]
		[[ "$output" == *"$top"* ]]
		# A FIFO: refused at once (it hung, holding the store's lock).
		img_tar "$TMP/fifo.tar" "f:$marker:{}" "fifo:$top"
		run timeout 20 "$ISOLA" image load -i "$TMP/fifo.tar" x:1
		echo "$output"
		[ "$status" -ne 0 ]
		[ "$status" -ne 124 ]
		[[ "$output" == *"\`$top\` is not a regular file"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
	# index.json -> an index -> the manifest is a multi-arch image (imported); one
	# more index is refused, as a pull refuses it.
	img_tar "$TMP/l.tar" f:x:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	wrap() {
		python3 - "$TMP/layout" "$1" <<-'EOP'
		import hashlib, json, sys
		out, n = sys.argv[1], int(sys.argv[2])
		idx = json.load(open(out + "/index.json"))
		for _ in range(n):
		    body = json.dumps({"schemaVersion": 2, "manifests": [dict(idx["manifests"][0],
		        platform={"architecture": "amd64", "os": "linux"})]}).encode()
		    d = hashlib.sha256(body).hexdigest()
		    open(out + "/blobs/sha256/" + d, "wb").write(body)
		    idx = {"schemaVersion": 2, "manifests": [{"mediaType":
		        "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + d, "size": len(body)}]}
		json.dump(idx, open(out + "/index.json", "w"))
		EOP
	}
	wrap 1
	run "$ISOLA" image import "$TMP/layout" localhost/one:1
	echo "$output"
	[ "$status" -eq 0 ]
	wrap 1
	run "$ISOLA" image import "$TMP/layout" localhost/two:1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"an index inside an index"* ]]
	# 20,000 levels: refused the same way (it overflowed the stack).
	wrap 20000
	run "$ISOLA" image import "$TMP/layout" localhost/deep:1
	[ "$status" -eq 125 ] || [ "$status" -eq 1 ]
	[[ "$output" == *"an index inside an index"* ]]
}

@test "import: a directory replaced by a symlink to / does not hand its mode and owner to the layer's root" {
	img_tar "$TMP/l.tar" D:dd:4777:1234:0 l:dd:/ f:x:1
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	run "$ISOLA" image import "$TMP/layout" localhost/dd:1
	echo "$output"
	[ "$status" -eq 0 ]
	l=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"][-1][7:])' \
		"$ISOLA_STORE/index.json" localhost/dd:1)
	stat -c '%a %u' "$ISOLA_STORE/layers/$l"
	[ "$(stat -c %u "$ISOLA_STORE/layers/$l")" = 0 ]
	[ "$(stat -c %a "$ISOLA_STORE/layers/$l")" != 4777 ]
	[ "$(readlink "$ISOLA_STORE/layers/$l/dd")" = / ]
}

@test "round trip with podman: oci-archive and docker-archive both ways" {
	require_cmd podman
	mkdir -p "$TMP/rootfs/etc"
	echo podman-made >"$TMP/rootfs/etc/motd"
	tar -C "$TMP/rootfs" -c . | pm import -q - localhost/pm:1 >/dev/null
	pm save -q --format oci-archive -o "$TMP/pm-oci.tar" localhost/pm:1
	pm save -q --format docker-archive -o "$TMP/pm-docker.tar" localhost/pm:1
	run "$ISOLA" image load -i "$TMP/pm-oci.tar"
	[ "$status" -eq 0 ]
	[ "$output" = localhost/pm:1 ]
	[ "$(layer_file localhost/pm:1 etc/motd)" = podman-made ]
	run "$ISOLA" image load -i "$TMP/pm-docker.tar" localhost/pm-docker:1
	[ "$status" -eq 0 ]
	[ "$(layer_file localhost/pm-docker:1 etc/motd)" = podman-made ]
	# And back: podman loads what we save.
	"$ISOLA" image save --format oci-archive -o "$TMP/is-oci.tar" localhost/pm:1
	"$ISOLA" image save --format docker-archive -o "$TMP/is-docker.tar" localhost/pm-docker:1
	pm rmi -a -f >/dev/null
	run pm load -q -i "$TMP/is-oci.tar"
	[ "$status" -eq 0 ]
	run pm load -q -i "$TMP/is-docker.tar"
	[ "$status" -eq 0 ]
	run pm images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"localhost/pm-docker:1"* ]]
	pm rmi -a -f >/dev/null
}

@test "skopeo reads our archives; a saved image pushed and pulled keeps its digest" {
	require_cmd skopeo
	require_cmd docker-registry
	img_tar "$TMP/l.tar" f:hello:world
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/sk:1 >/dev/null
	"$ISOLA" image save -o "$TMP/sk.tar" localhost/sk:1
	"$ISOLA" image save --format docker-archive -o "$TMP/skd.tar" localhost/sk:1
	skopeo inspect "docker-archive:$TMP/skd.tar" >/dev/null
	img_registry_start "$TMP"
	skopeo copy -q --dest-tls-verify=false "oci-archive:$TMP/sk.tar" "docker://$REG/sk:1"
	run "$ISOLA" pull -q "$REG/sk:1"
	[ "$status" -eq 0 ]
	run "$ISOLA" images --format json
	n=$(echo "$output" | python3 -c 'import json,sys; print(len({i["id"] for i in json.load(sys.stdin)}))')
	[ "$n" -eq 1 ]
}

@test "scripts/make-default-image.sh imports localhost/isola-default:latest" {
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	run "$ISOLA_TOP/scripts/make-default-image.sh" --isola "$ISOLA"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = localhost/isola-default:latest ]
	[ -L "$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")/bin/ls" ]
	command -v runc >/dev/null || ci_skip "runc not installed to run it"
	ISOLA_RUNTIME=runc run "$ISOLA" image run --rm localhost/isola-default sh -c 'ls /bin/busybox; echo $PATH'
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = /usr/sbin:/usr/bin:/sbin:/bin ]
}
