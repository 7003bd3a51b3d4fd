#!/usr/bin/env bats
# containerd 1.6 + ctr driving isola through the runc v2 shim (--runc-binary).
# containerd runs in its own mount namespace (rshared /), with root, state and
# sockets under $TMP; the image is a podman-saved OCI archive of busybox.

load clients-helpers

CTD_IMG=localhost/busybox:it

setup() {
	isola_tmp
	require_cmd containerd
	require_cmd ctr
	podman_setup
	pm save --format oci-archive -o "$TMP/img.tar" "$PODMAN_IMG" >/dev/null 2>&1
	local d=$TMP/ctd
	mkdir -p "$d"
	cat >"$d/config.toml" <<-CONF
	version = 2
	root = "$d/root"
	state = "$d/state"
	disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$d/ctd.sock"
	[ttrpc]
	  address = "$d/ctd.sock.ttrpc"
	[debug]
	  address = "$d/debug.sock"
	[metrics]
	  address = ""
	CONF
	unshare -m --propagation unchanged sh -c \
		"mount --make-rshared /; exec containerd --config $d/config.toml" >"$d/log" 2>&1 &
	CTD_PID=$!
	echo "$CTD_PID" >"$d/pid"
	local i
	for i in $(seq 50); do
		c version >/dev/null 2>&1 && break
		sleep 0.1
	done
	c images import "$TMP/img.tar" >/dev/null
}

c() {
	ctr --address "$TMP/ctd/ctd.sock" "$@"
}

teardown() {
	if [ -f "$TMP/ctd/pid" ]; then
		c tasks kill -s KILL isola-it-ctd >/dev/null 2>&1 || true
		sleep 0.2
		c tasks delete -f isola-it-ctd >/dev/null 2>&1 || true
		c containers delete isola-it-ctd >/dev/null 2>&1 || true
		kill "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
		wait "$(cat "$TMP/ctd/pid")" 2>/dev/null || true
	fi
	podman_teardown
	isola_cleanup_tmp
}

@test "ctr run through isola: output and exit code" {
	run c run --runc-binary "$ISOLA" --rm "$CTD_IMG" isola-it-ctd sh -c 'echo hi; exit 5'
	echo "$output"
	[ "$status" -eq 5 ]
	[ "$output" = hi ]
	run c containers ls -q
	[ -z "$output" ]
}

@test "ctr task exec, pause/resume, kill" {
	c run --runc-binary "$ISOLA" -d "$CTD_IMG" isola-it-ctd \
		sh -c 'trap "exit 9" TERM; while :; do sleep 0.2; done'
	run c tasks exec --exec-id e1 isola-it-ctd sh -c 'echo in; exit 4'
	echo "$output"
	[ "$status" -eq 4 ]
	[ "$output" = in ]
	if "$ISOLA" --help 2>&1 | grep -qE '^  pause '; then
		run c tasks pause isola-it-ctd
		[ "$status" -eq 0 ]
		run c tasks ls
		[[ "$output" == *PAUSED* ]]
		c tasks resume isola-it-ctd
	fi
	run c tasks kill -s TERM isola-it-ctd
	[ "$status" -eq 0 ]
	local i
	for i in $(seq 50); do
		c tasks ls | grep -q RUNNING || break
		sleep 0.1
	done
	run c tasks ls
	echo "$output"
	[[ "$output" == *STOPPED* ]]
	c tasks delete isola-it-ctd
	c containers delete isola-it-ctd
}
