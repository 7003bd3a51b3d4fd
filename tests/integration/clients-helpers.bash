# Shared set-up for the client tests (podman, containerd) that drive isola
# through the real engines.  Everything the engines write lives under $TMP:
# podman's storage and runroot, containerd's root, state and socket.

load helpers

# make_busybox_rootfs DIR: busybox-static as DIR/bin/busybox plus applet links.
make_busybox_rootfs() {
	local dir=$1 bb a
	bb=$(command -v busybox) || ci_skip "busybox-static not installed"
	mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/root"
	cp "$bb" "$dir/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
	echo "root:x:0:" >"$dir/etc/group"
}

# Fail (and name them) if mounts below $TMP are still there.
assert_no_mounts_left() {
	local left
	left=$(grep -c " $TMP" /proc/self/mountinfo || true)
	[ "$left" -eq 0 ] || { grep " $TMP" /proc/self/mountinfo >&2; return 1; }
}

# --- podman ---------------------------------------------------------------

PODMAN_IMG=localhost/busybox:it

# podman_setup: containers.conf and storage under $TMP, the busybox image imported.
podman_setup() {
	require_cmd podman
	require_cmd busybox
	[ -x "$ISOLA" ] || ci_skip "$ISOLA not built"
	mkdir -p "$TMP/podman/root" "$TMP/podman/runroot" "$TMP/podman/tmp" "$TMP/podman/net"
	cat >"$TMP/podman/containers.conf" <<-CONF
	[containers]
	default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
	log_driver = "k8s-file"
	netns = "none"

	[network]
	network_config_dir = "$TMP/podman/net"

	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$TMP/podman/events.log"
	runtime = "isola"
	runtime_supports_json = ["isola"]

	[engine.runtimes]
	isola = ["$ISOLA"]
	CONF
	export CONTAINERS_CONF="$TMP/podman/containers.conf"
	# Keep the host's registries/policy/storage configuration out of the picture.
	export CONTAINERS_STORAGE_CONF="$TMP/podman/storage.conf"
	cat >"$CONTAINERS_STORAGE_CONF" <<-CONF
	[storage]
	driver = "overlay"
	graphroot = "$TMP/podman/root"
	runroot = "$TMP/podman/runroot"
	CONF
	make_busybox_rootfs "$TMP/rootfs"
	tar -C "$TMP/rootfs" -c . |
		pm import --change 'ENV PATH=/bin:/usr/bin' - "$PODMAN_IMG" >/dev/null
}

# pm ARGS...: podman on the test's storage, with isola as the runtime.
pm() {
	podman --root "$TMP/podman/root" --runroot "$TMP/podman/runroot" \
		--tmpdir "$TMP/podman/tmp" --storage-driver overlay --cgroup-manager cgroupfs \
		--runtime "$ISOLA" "$@"
}

podman_teardown() {
	[ -n "${TMP:-}" ] && [ -d "$TMP/podman" ] || return 0
	pm pod rm -af -t 0 >/dev/null 2>&1 || true
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm system reset --force >/dev/null 2>&1 || true
	unset CONTAINERS_CONF CONTAINERS_STORAGE_CONF
}

# Skip when isola does not offer COMMAND yet (e.g. pause before it lands).
require_isola_cmd() {
	"$ISOLA" --help 2>&1 | grep -qE "^  $1 " || ci_skip "isola has no '$1' command yet"
}

# --- containerd -----------------------------------------------------------

# ctd_config_base DIR [PLUGIN...]: the head of a containerd 1.6 config.toml
# that the containerd and CRI tests share: root, state and sockets under DIR,
# no metrics listener, the snapshotters this host lacks (and PLUGIN...)
# disabled.  The caller appends its own tables.
ctd_config_base() {
	local d=$1 p more=""
	shift
	for p in "$@"; do
		more+=", \"$p\""
	done
	cat <<-CONF
	version = 2
	root = "$d/root"
	state = "$d/state"
	disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"$more]
	[grpc]
	  address = "$d/ctd.sock"
	[ttrpc]
	  address = "$d/ctd.sock.ttrpc"
	[debug]
	  address = "$d/debug.sock"
	[metrics]
	  address = ""
	CONF
}

# ctd_start DIR: containerd on DIR/config.toml, in a mount namespace of its
# own with / rshared (the shim's mounts must reach it); its output in
# DIR/log, its pid in DIR/pid.
ctd_start() {
	local d=$1
	unshare -m --propagation unchanged sh -c \
		"mount --make-rshared /; exec containerd --config $d/config.toml" >"$d/log" 2>&1 &
	echo $! >"$d/pid"
}
