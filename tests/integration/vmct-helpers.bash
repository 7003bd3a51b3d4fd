# Helpers for the `isola run --vm` tests on this host (vm-ctr, vm-detach, vm-warm-net,
# vm-warm-detach, vm-oci-cgroup, vm-net): their shared set-up.  Load after image-helpers.
# shellcheck shell=bash

# A temp dir ($TMP, first: the teardowns use it) and store ($ISOLA_STORE) of this test;
# skips without busybox-static or mkfs.ext4 (the root disk).
vmct_setup() {
	isola_tmp
	# Before any skip: the teardowns' rm -f and prune must never reach the default store.
	export ISOLA_STORE=$TMP/store
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	require_cmd mkfs.ext4
}

# vmct_fake_vmm SCRIPT: isola's VMM is SCRIPT beside the tests (a fake that boots
# nothing), with the built agent and a kernel file ($TMP/kernel) it never reads.
vmct_fake_vmm() {
	require_cmd python3
	require_cmd jq
	export ISOLA_AGENT=$ISOLA_TOP/build/src/vmct/isola-agent
	export ISOLA_VMM=$BATS_TEST_DIRNAME/$1
	echo "a kernel the fake VMM never reads" >"$TMP/kernel"
	export ISOLA_VM_KERNEL=$TMP/kernel
}

# vmct_image NAME [TAR_ENTRY...]: a busybox image localhost/NAME:1 in $ISOLA_STORE with
# sh, echo and the extra entries (img_tar's syntax).
vmct_image() {
	local name=$1
	shift
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		"$@" d:etc d:tmp
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" "localhost/$name:1" >/dev/null
}

# Stop what a failed test may leave running: its isola ($PID) and VMM ($VMM), and the
# socket directory a SIGKILLed isola leaves ($VMDIR).
vmct_kill_leftovers() {
	[ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
	[ -n "${VMM:-}" ] && kill -KILL "$VMM" 2>/dev/null
	wait 2>/dev/null || true
	vmct_rm_vmdir
	return 0
}

# Remove $VMDIR, a path read from the VMM's command line: only when it is what isola
# makes (/tmp/isola-vmct-*), so that a wrong uds= cannot take /tmp or more with it.
vmct_rm_vmdir() {
	case "${VMDIR:-}" in
	/tmp/isola-vmct-?*) [[ "$VMDIR" != *..* ]] && rm -rf --one-file-system "$VMDIR" ;;
	esac
	return 0
}

# No container is left in $ISOLA_STORE, nor a mount below it.
vmct_store_empty() {
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	refute grep -q " $ISOLA_STORE" /proc/self/mountinfo
}
