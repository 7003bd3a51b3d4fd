#!/usr/bin/env bats
# The Debian package (scripts/package.sh builds build-deb/isola_*.deb): it
# installs with dpkg, puts the binary, man pages, completion and the podman
# drop-in where Debian expects them, runs a container through podman by the
# runtime name the drop-in registers, and purges without leaving files.

load helpers
load clients-helpers

DEB_DIR=${ISOLA_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}/build-deb

setup_file() {
	export DEB
	DEB=$(ls "$DEB_DIR"/isola_*_amd64.deb 2>/dev/null | head -1)
}

setup() {
	[ -n "$DEB" ] || ci_skip "no package built (run scripts/package.sh)"
	if dpkg-query -W -f='${Status}' isola 2>/dev/null | grep -q 'install ok'; then
		skip "SKIP: an isola package is already installed on this machine"
	fi
	[ ! -e /usr/bin/isola ] || skip "SKIP: /usr/bin/isola exists and is not from a package"
	isola_tmp
	dpkg -i "$DEB"
}

teardown() {
	if [ -n "${TMP:-}" ] && [ -d "$TMP/podman" ]; then
		pkg_pm rm -af -t 0 >/dev/null 2>&1 || true
		pkg_pm rmi -af >/dev/null 2>&1 || true
	fi
	dpkg --purge isola >/dev/null 2>&1 || true
	isola_cleanup_tmp
}

# podman with storage under $TMP and this host's needs given as flags, so the
# only configuration in play is the host's plus the package's drop-in.
pkg_pm() {
	podman --root "$TMP/podman/root" --runroot "$TMP/podman/runroot" \
		--tmpdir "$TMP/podman/tmp" --storage-driver overlay \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

@test "package: installs the binary, man pages, completion and the podman drop-in" {
	[ -x /usr/bin/isola ]
	run /usr/bin/isola --version
	[ "$status" -eq 0 ]
	[ -f /usr/share/man/man8/isola.8.gz ]
	[ -f /usr/share/man/man8/isola-run.8.gz ]
	zcat /usr/share/man/man8/isola-create.8.gz | grep -q 'fB\\-b\\fR.*bundle'
	[ -f /usr/share/bash-completion/completions/isola ]
	grep -q '/usr/bin/isola' /etc/containers/containers.conf.d/isola.conf
	[ -f /usr/share/doc/isola/examples/containerd-isola.toml ]
	# Linked only against what the package declares (libcurl/libarchive are dlopen()ed).
	# /usr/bin/isola is static-pie; isola-dl, its dynamic twin, runs the image commands.
	run ldd /usr/bin/isola
	refute grep -q 'not found' <<<"$output"
	[ -x /usr/libexec/isola/isola-dl ]
	run ldd /usr/libexec/isola/isola-dl
	[ "$status" -eq 0 ]
	refute grep -q 'not found' <<<"$output"
}

@test "package: podman runs a container with --runtime isola (the drop-in's name)" {
	require_cmd podman
	mkdir -p "$TMP/podman/root" "$TMP/podman/runroot" "$TMP/podman/tmp"
	make_busybox_rootfs "$TMP/rootfs"
	tar -C "$TMP/rootfs" -c . |
		pkg_pm import --change 'ENV PATH=/bin:/usr/bin' - localhost/isola-pkg:smoke >/dev/null
	run pkg_pm --runtime isola run --rm --network none \
		--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
		localhost/isola-pkg:smoke sh -c 'echo from-packaged-isola; exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *from-packaged-isola* ]]
}

@test "package: purge leaves none of its files" {
	dpkg --purge isola
	[ ! -e /usr/bin/isola ]
	[ ! -e /usr/share/man/man8/isola.8.gz ]
	[ ! -e /etc/containers/containers.conf.d/isola.conf ]
}
