# Shared set-up for the image tests: a private registry on 127.0.0.1, OCI
# layouts built from tar files, and a store under the test's temp dir.
load helpers

# Start Debian's docker-registry with our own config; sets REG (host:port).
img_registry_start() {
	local dir=$1 port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$dir/reg"
	cat >"$dir/registry.yml" <<-EOC
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $dir/reg
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	${REG_EXTRA_CONFIG:-}
	EOC
	docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
	echo $! >"$dir/registry.pid"
	REG=127.0.0.1:$port
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://$REG/v2/" && return 0
		sleep 0.1
	done
	echo "registry did not start" >&2
	cat "$dir/registry.log" >&2
	return 1
}

# The usual set-up of an image test file: one registry per file (FILE_TMP, REG),
# a store per test (TMP, ISOLA_STORE).  Use as `setup_file() { img_setup_file; }` etc.
img_setup_file() {
	command -v docker-registry >/dev/null && command -v skopeo >/dev/null || return 0
	FILE_TMP=$(mktemp -d /tmp/isola-it-img.XXXXXX)
	export FILE_TMP
	img_registry_start "$FILE_TMP"
	export REG
}

img_teardown_file() {
	[ -n "${FILE_TMP:-}" ] || return 0
	img_registry_stop "$FILE_TMP"
	rm -rf --one-file-system "$FILE_TMP"
}

img_setup() {
	require_cmd docker-registry
	require_cmd skopeo
	isola_tmp
	export ISOLA_STORE=$TMP/store
	# run IMAGE defaults to the bridge network; tests that want it ask (net.bats).
	export ISOLA_NETWORK=none
}

# Fail when a mount under DIR is left behind.
img_refute_mounts() {
	if grep -qF "$1" /proc/self/mountinfo; then
		echo "mounts left under $1:" >&2
		grep -F "$1" /proc/self/mountinfo >&2
		return 1
	fi
}

img_registry_stop() {
	local dir=$1
	[ -f "$dir/registry.pid" ] && kill "$(cat "$dir/registry.pid")" 2>/dev/null
	rm -f "$dir/registry.pid"
	return 0
}

# img_layout DIR TAG ARCH TAR... : an OCI image layout whose layers are the
# given (uncompressed) tar files, gzip-compressed; ARCH is the platform.
img_layout() {
	python3 - "$@" <<-'EOP'
	import gzip, hashlib, json, os, sys
	out, tag, arch, tars = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
	os.makedirs(out + "/blobs/sha256", exist_ok=True)
	def put(data):
	    d = hashlib.sha256(data).hexdigest()
	    open(out + "/blobs/sha256/" + d, "wb").write(data)
	    return {"digest": "sha256:" + d, "size": len(data)}
	layers, diff_ids = [], []
	for t in tars:
	    raw = open(t, "rb").read()
	    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
	    if os.environ.get("IMG_COMPRESS") == "zstd":
	        import subprocess
	        desc = put(subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout)
	        desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
	    else:
	        level = int(os.environ.get("IMG_GZIP_LEVEL", "9"))
	        desc = put(gzip.compress(raw, compresslevel=level, mtime=0))
	        desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
	    layers.append(desc)
	cfg = {"architecture": arch, "os": "linux",
	       "config": {"Env": [os.environ.get("IMG_PATH", "PATH=/bin:/usr/bin")], "Cmd": ["/bin/sh"]},
	       "rootfs": {"type": "layers", "diff_ids": diff_ids}}
	if os.environ.get("IMG_USER"):
	    cfg["config"]["User"] = os.environ["IMG_USER"]
	c = put(json.dumps(cfg).encode())
	c["mediaType"] = "application/vnd.oci.image.config.v1+json"
	man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
	       "config": c, "layers": layers}
	m = put(json.dumps(man).encode())
	m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
	m["annotations"] = {"org.opencontainers.image.ref.name": tag}
	idx = {"schemaVersion": 2, "manifests": [m]}
	json.dump(idx, open(out + "/index.json", "w"))
	open(out + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
	print(m["digest"])
	EOP
}

# The first http(s) mirror of Debian's main archive that apt uses here.
img_debian_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1)
	m=${m%% *}
	echo "${m:-http://deb.debian.org/debian}"
}

# A minbase bookworm tree from debootstrap, built once and kept in $IMG_DEBIAN_CACHE
# (CI machines are fresh: the first run builds it, in about a minute).  Prints its path;
# skips when debootstrap is missing or the mirror is unreachable.
IMG_DEBIAN_CACHE=${IMG_DEBIAN_CACHE:-/var/tmp/isola-debian-bookworm-minbase}
img_debian_rootfs() {
	local c=$IMG_DEBIAN_CACHE mirror
	if [ ! -f "$c/etc/debian_version" ]; then
		command -v debootstrap >/dev/null || ci_skip "debootstrap not installed"
		mirror=$(img_debian_mirror)
		curl -sfI --max-time 20 "$mirror/dists/bookworm/Release" >/dev/null ||
			skip "SKIP: Debian mirror $mirror unreachable"
		(
			flock 9
			[ -f "$c/etc/debian_version" ] && exit 0
			# An interrupted debootstrap leaves /proc (and maybe /sys) mounted in
			# the tree: unmount before removing, or rm skips them and the next
			# debootstrap fails on a non-empty target.
			awk -v p="$c.partial/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo |
				sort -r | while read -r m; do umount -l "$m"; done
			rm -rf --one-file-system "$c.partial"
			debootstrap --variant=minbase bookworm "$c.partial" "$mirror" >"$c.log" 2>&1 &&
				mv "$c.partial" "$c"
		) 9>"$c.lock" || { cat "$c.log" >&2; return 1; }
	fi
	echo "$c"
}

# img_debian_layout DIR: a two-layer OCI layout (tag latest) of the Debian tree.
# Layer 1 is the tree without apt's caches; layer 2 whites out /etc/motd and the
# directory /usr/share/man, makes /usr/share/doc opaque (only README left in it)
# and adds /etc/isola-layer2.
img_debian_layout() {
	local dir=$1 root
	root=$(img_debian_rootfs) || return 1
	mkdir -p "$dir"
	tar -C "$root" --numeric-owner --xattrs --exclude='./var/cache/apt/*' \
		--exclude='./var/lib/apt/lists/*' -cf "$dir/l1.tar" .
	img_tar "$dir/l2.tar" f:etc/.wh.motd: f:usr/share/.wh.man: d:usr/share/doc \
		f:usr/share/doc/.wh..wh..opq: f:usr/share/doc/README:layer2 f:etc/isola-layer2:yes
	IMG_GZIP_LEVEL=${IMG_GZIP_LEVEL:-1} img_layout "$dir/layout" latest amd64 "$dir/l1.tar" "$dir/l2.tar"
	rm -f "$dir/l1.tar" "$dir/l2.tar"
}

# img_tar OUT SPEC... : a tar built with python's tarfile.  SPEC is
#   f:NAME:CONTENT  d:NAME  l:NAME:TARGET (symlink)  h:NAME:TARGET (hard link)
#   c:NAME (char 0:0)  b:NAME:BYTES (random content of that size)
#   p:NAME:MODE:UID:GID (file "x")  D:NAME:MODE:UID:GID (directory), MODE in octal
#   x:NAME:KEY=VALUE (file "x" carrying the extended attribute KEY)
img_tar() {
	python3 - "$@" <<-'EOP'
	import io, os, sys, tarfile
	out, specs = sys.argv[1], sys.argv[2:]
	with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
	    for s in specs:
	        kind, name, *rest = s.split(":", 2)
	        i = tarfile.TarInfo(name)
	        i.mtime = 1700000000
	        data = None
	        if kind == "f":
	            data = rest[0].encode(); i.size = len(data); i.mode = 0o644
	        elif kind == "F":
	            data = open(rest[0], "rb").read(); i.size = len(data); i.mode = 0o755
	        elif kind == "b":
	            data = os.urandom(int(rest[0])); i.size = len(data); i.mode = 0o644
	        elif kind == "d":
	            i.type = tarfile.DIRTYPE; i.mode = 0o755
	        elif kind == "l":
	            i.type = tarfile.SYMTYPE; i.linkname = rest[0]
	        elif kind == "h":
	            i.type = tarfile.LNKTYPE; i.linkname = rest[0]
	        elif kind == "c":
	            i.type = tarfile.CHRTYPE; i.devmajor = i.devminor = 0
	        elif kind == "fifo":
	            i.type = tarfile.FIFOTYPE; i.mode = 0o644
	        elif kind == "x":
	            key, val = rest[0].split("=", 1)
	            i.pax_headers = {"SCHILY.xattr." + key: val}
	            data = b"x"; i.size = 1; i.mode = 0o644
	        elif kind in "pD":
	            mode, uid, gid = rest[0].split(":")
	            i.mode, i.uid, i.gid = int(mode, 8), int(uid), int(gid)
	            if kind == "D":
	                i.type = tarfile.DIRTYPE
	            else:
	                data = b"x"; i.size = 1
	        t.addfile(i, io.BytesIO(data) if data is not None else None)
	EOP
}

# Push an OCI layout to the test registry as NAME:TAG ($IMG_PUSH_CREDS: user:pass).
img_push() {
	skopeo copy --quiet --dest-tls-verify=false ${IMG_PUSH_CREDS:+--dest-creds "$IMG_PUSH_CREDS"} \
		"oci:$1:$2" "docker://$REG/$3" >/dev/null
}

# Wait for a helper server to write its port to FILE; prints 127.0.0.1:PORT.
img_wait_port() {
	for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
	[ -s "$1" ] || { echo "no port in $1" >&2; return 1; }
	echo "127.0.0.1:$(cat "$1")"
}

# A one-command image build: img_make NAME:TAG SPEC... (one layer).
img_make() {
	local ref=$1 d
	shift
	d=$(mktemp -d "$TMP/build.XXXXXX")
	img_tar "$d/l.tar" "$@"
	img_layout "$d/layout" latest amd64 "$d/l.tar" >/dev/null
	img_push "$d/layout" latest "$ref"
}

# A busybox image from the host's busybox-static: img_busybox NAME:TAG
img_busybox() {
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	img_make "$1" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		l:bin/id:busybox l:bin/pwd:busybox l:bin/cat:busybox l:bin/touch:busybox \
		l:bin/ls:busybox d:etc "f:etc/passwd:root:x:0:0:root:/:/bin/sh
app:x:1234:4321::/:/bin/sh
" "f:etc/group:root:x:0:
staff:x:50:app
" d:tmp
}

# hostile_start MODE: a hostile registry (hostile-registry.py) serving a one-layer
# image of 256 KiB; sets HREG (127.0.0.1:PORT).  It stops by itself after 120 s.
hostile_start() {
	[ -f "$TMP/hostile-layout/index.json" ] || {
		img_tar "$TMP/hostile.tar" d:etc b:etc/blob:262144 f:etc/passwd:root:x:0:0::/:/bin/sh
		IMG_GZIP_LEVEL=1 img_layout "$TMP/hostile-layout" latest amd64 "$TMP/hostile.tar" \
			>/dev/null
	}
	rm -f "$TMP/srv.port"
	python3 "$ISOLA_TOP/tests/integration/hostile-registry.py" "$TMP/hostile-layout" "$1" \
		"$TMP/srv.port" "$TMP/srv.log" 120 &
	echo $! >"$TMP/srv.pid"
	HREG=$(img_wait_port "$TMP/srv.port")
}

# The hostile registry goes (teardown does the same for a failed test).
hostile_stop() {
	kill "$(cat "$TMP/srv.pid")" 2>/dev/null
	rm -f "$TMP/srv.pid"
}
