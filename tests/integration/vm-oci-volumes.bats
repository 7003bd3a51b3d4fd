#!/usr/bin/env bats
# Directory binds of VM containers in the OCI mode (isola-vm; docs/vm-containers.md
# "Volumes"): each becomes a virtio-fs share of the VMM and a virtiofs mount the
# agent makes, ro carried to both; warm, a template with as many shares
# remapped onto them.  No guest boots
# here: the VMM is the fake of vm-warm-fake-vmm.py/vm-fake-vmm.py ($ISOLA_VMM),
# which prints its --fs arguments and the CONFIG's mounts; the guest's side is
# tests/l1 vmoci-volume.
load helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle vmocivol
	require_cmd mkfs.ext4
	vmct_fake_vmm vm-warm-fake-vmm.py
	export FAKE_LOG=$TMP/log
	mkdir -p "$FAKE_LOG" "$TMP/data" "$TMP/conf"
	unset ISOLA_VM_COLD
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
	bundle_jq "$B" ".process.args = [\"sh\", \"-c\", \"fsargs; mounts\"]
		| .mounts += [
		{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$TMP/data\", \"options\": [\"rbind\", \"rprivate\"]},
		{\"destination\": \"/etc/conf\", \"type\": \"bind\", \"source\": \"$TMP/conf\", \"options\": [\"bind\", \"ro\", \"nosuid\"]}]"
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	isola_cleanup_tmp
}

@test "vm-oci-volumes: directory binds are virtio-fs shares mounted by the agent (ro on both sides), cold" {
	ISOLA_VM_COLD=1 "$VM" --root "$R" run --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	cat "$TMP/out"
	grep -qx "tag=isola-fs0,path=$TMP/data" "$TMP/out"
	grep -qx "tag=isola-fs1,path=$TMP/conf,ro" "$TMP/out"
	grep -qx "virtiofs 0 /data isola-fs0" "$TMP/out"
	# MS_RDONLY | MS_NOSUID
	grep -qx "virtiofs 3 /etc/conf isola-fs1" "$TMP/out"
	[ -z "$(ls "$FAKE_LOG")" ]
	[ ! -e "$R/$ID" ]
}

@test "vm-oci-volumes: warm, a template with two shares is restored onto the binds" {
	"$VM" --root "$R" run --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	cat "$TMP/out" "$FAKE_LOG"/*
	[ "$(sed -n 's/^arg //p' "$FAKE_LOG/build.1" | grep -c -- '^--fs$')" = 2 ]
	grep -qx "arg isola-fs0=$TMP/data,rw" "$FAKE_LOG/restore.1"
	grep -qx "arg isola-fs1=$TMP/conf,ro" "$FAKE_LOG/restore.1"
	grep -qx "config mount=virtiofs 3 /etc/conf isola-fs1" "$FAKE_LOG/restore.1"
	[ ! -e "$R/$ID" ]
}

@test "vm-oci-volumes: a ninth directory bind fails create in one line naming it; nothing left" {
	local i m=""
	for i in 2 3 4 5 6 7 8; do
		mkdir "$TMP/d$i"
		m="$m, {\"destination\": \"/d$i\", \"type\": \"bind\", \"source\": \"$TMP/d$i\", \"options\": [\"rbind\"]}"
	done
	bundle_jq "$B" ".mounts += [${m#, }]"
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"config.json"*"mounts["*"\`/d8\`: more than 8 directories shared with a VM"* ]]
	[ ! -e "$R/$ID" ]
	! pgrep -f "$TMP/kernel" >/dev/null
}

@test "vm-oci-volumes: tmpcopyup (podman's --tmpfs) goes to the agent as the mount entry's copyup word, where the image has files too" {
	# /scratch is not in the image, /tmp is empty and /bin holds busybox: the
	# agent copies what there is (tests/l1 vmoci-tmpcopyup); notmpcopyup and an
	# mqueue carry no copyup.
	bundle_jq "$B" '.mounts += [
		{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
		 "options": ["rw", "nosuid", "nodev", "tmpcopyup", "size=1m"]},
		{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
		 "options": ["nosuid", "tmpcopyup"]},
		{"destination": "/bin", "type": "tmpfs", "source": "tmpfs",
		 "options": ["ro", "tmpcopyup"]},
		{"destination": "/var/tmp", "type": "tmpfs", "source": "tmpfs",
		 "options": ["tmpcopyup", "notmpcopyup"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		 "options": ["nosuid"]}]'
	ISOLA_VM_COLD=1 "$VM" --root "$R" run --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	cat "$TMP/out"
	# MS_NOSUID | MS_NODEV
	grep -qx "tmpfs 6 /scratch size=1m copyup" "$TMP/out"
	grep -qx "tmpfs 2 /tmp - copyup" "$TMP/out"
	grep -qx "tmpfs 1 /bin - copyup" "$TMP/out"
	grep -qx "tmpfs 0 /var/tmp -" "$TMP/out"
	grep -qx "mqueue 2 /dev/mqueue -" "$TMP/out"
	[ ! -e "$R/$ID" ]
	! pgrep -f "$TMP/kernel" >/dev/null
}
