#!/usr/bin/env bats
# Pruning the VM caches (docs/vm-containers.md "The caches and what prunes them"):
# `isola rmi` removes the image's root disk unless a container has the same layer
# chain or a VM holds it; `isola system prune` removes what this isola would never use
# again (disks of no image or container, initramfs images of another agent, templates
# whose files changed, build leftovers no builder holds) from <store>/vm and
# <root>/.vm-cache; `system df` counts.  The disks, initramfs and templates are made by
# the real run --vm -d with the fake VMM of vm-warm-detach.bats (no guest boots);
# the hostile entries are planted by hand with the names the code writes.
load image-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	vmct_fake_vmm vm-warm-fake-vmm.py
	require_cmd cpio
	require_cmd flock
	unset ISOLA_VM_COLD ISOLA_NETWORK
	export FAKE_LOG=$TMP/log
	mkdir -p "$FAKE_LOG"
	N=vmprune-$$
	R=$TMP/root
	V=$ISOLA_STORE/vm
	K1=$(printf '1%.0s' {1..32})
	K2=$(printf '2%.0s' {1..32})
	K3=$(printf '3%.0s' {1..32})
	K4=$(printf '4%.0s' {1..32})
	H16=$(printf 'a%.0s' {1..16})
}

teardown() {
	[ -n "${LOCKER:-}" ] && kill "$LOCKER" 2>/dev/null
	"$ISOLA" rm -f "$N" "$N-b" >/dev/null 2>&1 || true
	pkill -KILL -f "vm-warm-fake-vmm.py.*$TMP" 2>/dev/null || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	wait 2>/dev/null || true
	isola_cleanup_tmp
}

image() { # NAME EXTRA-ENTRY: an image of its own layer chain
	rm -rf "$TMP/layout"
	vmct_image "$1" "$2"
}

rund() { # NAME IMAGE CMD...
	local n=$1 i=$2
	shift 2
	run "$ISOLA" run --vm -d --network none --name "$n" "localhost/$i:1" "$@"
	echo "$output"
	[ "$status" = 0 ]
}

stopped() { # NAME
	wait_until 20 "[ \"\$(\"$ISOLA\" ps -a --format json | jq -r '.[] | select(.id == \"$1\") | .status')\" = stopped ]"
}

disks() { ls "$V" | grep -c '^rootfs-[0-9a-f]*\.ext4$' || true; }

# hold_lock MODE FILE: a process ($LOCKER, which holds the lock itself: killing it
# releases it) holds FILE's flock (-s shared, -x exclusive) in the background.
hold_lock() {
	bash -c 'exec 9<"$2" && flock "$1" 9 && exec sleep 600' _ "$1" "$2" &
	LOCKER=$!
	wait_until 10 "! flock -n -x '$2' true"
}

@test "vm-prune: rmi removes the image's root disk; one a container still uses stays, and rmi says nothing of it" {
	image pa l:bin/exit:busybox
	image pb l:bin/true:busybox
	rund "$N" pa echo a
	rund "$N-b" pb echo b
	stopped "$N"
	stopped "$N-b"
	[ "$(disks)" = 2 ]
	"$ISOLA" rm "$N-b" >/dev/null
	run "$ISOLA" rmi localhost/pb:1
	echo "$output"
	[ "$status" = 0 ]
	[[ "${lines[0]}" == "Untagged: localhost/pb:1" ]]
	[[ "$output" == *"Removed root disk $V/rootfs-"*".ext4 ("*" bytes)"* ]]
	[ "$(disks)" = 1 ]
	# pa's stopped container has the same layer chain: its disk stays, and no line says otherwise.
	run "$ISOLA" rmi localhost/pa:1
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "Untagged: localhost/pa:1" ]
	[ "$(disks)" = 1 ]
	# The container gone, prune takes the disk; the template and initramfs are current: kept.
	"$ISOLA" rm "$N" >/dev/null
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"Removed root disk $V/rootfs-"* ]]
	[[ "$output" != *"initramfs"* && "$output" != *"warm template"* ]]
	[[ "${lines[-1]}" =~ ^Freed\ [1-9][0-9]*\ bytes$ ]]
	[ "$(disks)" = 0 ]
	ls "$V"/initrd-*.cpio
	ls -d "$V"/warm-*/
}

@test "vm-prune: a disk a VM holds (its flock) stays; a disk of a live image stays; templates of a changed kernel go" {
	image pc l:bin/exit:busybox
	rund "$N" pc echo c
	stopped "$N"
	"$ISOLA" rm "$N" >/dev/null
	local disk
	disk=$(ls "$V"/rootfs-*.ext4)
	# An image still in the store: its disk stays.
	run "$ISOLA" --root "$R" system prune
	[ "$status" = 0 ]
	[ -f "$disk" ]
	# Held as a VMM holds a read-only disk (flock -s): rmi and prune leave it, rmi says nothing.
	hold_lock -s "$disk"
	run "$ISOLA" rmi localhost/pc:1
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = $'Untagged: localhost/pc:1\nKept 1 unused root disk: in use by a VM' ]
	[ -f "$disk" ]
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"Kept 1 unused root disk: in use by a VM"* ]]
	[ -f "$disk" ]
	kill "$LOCKER"
	wait "$LOCKER" 2>/dev/null || true
	LOCKER=
	run "$ISOLA" --root "$R" system prune
	[[ "$output" == *"Removed root disk $disk"* ]]
	[ ! -e "$disk" ]
	# A new kernel (another size and mtime): the template would never be restored again.
	ls -d "$V"/warm-*/
	echo "a newer kernel" >>"$TMP/kernel"
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[[ "$output" == *"Removed warm template $V/warm-"* ]]
	[ -z "$(ls -d "$V"/warm-* 2>/dev/null)" ]
	ls "$V"/initrd-*.cpio
}

# The planted entries of the next tests: names the code writes, things it does not.
plant() { # DIR
	local d=$1
	mkdir -p "$d"
	head -c 65536 /dev/urandom >"$d/rootfs-$K1.ext4"              # no image has it
	echo outside >"$TMP/outside"
	ln -s "$TMP/outside" "$d/rootfs-$K2.ext4"                      # a link: removed, not followed
	mkdir -p "$d/rootfs-$K3.ext4/sub" && echo x >"$d/rootfs-$K3.ext4/sub/f" # a dir for a file
	echo stale >"$d/rootfs-$K4.ext4.4242.tmp"                      # a killed mkfs's
	echo log >"$d/rootfs-$K4.ext4.4242.log"
	echo old >"$d/initrd-$H16.cpio"                                # before the agent's tag
	echo other >"$d/initrd-$H16-$H16.cpio"                         # another agent
	mkdir -p "$d/warm-$K1" && echo x >"$d/warm-$K1/mem"              # no warm.key
	mkdir -p "$d/.warm-$K2-AbC123" && echo x >"$d/.warm-$K2-AbC123/mem" # a killed build
	ln -s "$TMP" "$d/warm-$K3"                                     # a link for a dir
	# Not ours: left alone.
	echo 1 >"$d/rootfs-x.ext4"
	echo 1 >"$d/notes.txt"
	echo 1 >"$d/rootfs-$K1.ext4.bak"
	echo 1 >"$d/initrd-$H16.cpio.old"
}

not_ours_left() { # DIR
	[ -f "$1/rootfs-x.ext4" ]
	[ -f "$1/notes.txt" ]
	[ -f "$1/rootfs-$K1.ext4.bak" ]
	[ -f "$1/initrd-$H16.cpio.old" ]
	[ "$(cat "$TMP/outside")" = outside ]
	[ -d "$TMP/log" ]
}

@test "vm-prune: system prune removes planted stale entries (links unfollowed), leaves foreign names; --dry-run removes nothing" {
	"$ISOLA" images >/dev/null
	plant "$V"
	local before
	before=$(ls -A "$V" | sort)
	run "$ISOLA" --root "$R" system prune --dry-run
	echo "$output"
	[ "$status" = 0 ]
	[ "$(ls -A "$V" | sort)" = "$before" ]
	[ "$(grep -c '^Would remove ' <<<"$output")" = 10 ]
	[[ "${lines[-1]}" =~ ^Would\ free\ [1-9][0-9]*\ bytes$ ]]
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ "$status" = 0 ]
	[ "$(grep -c '^Removed ' <<<"$output")" = 10 ]
	[[ "$output" == *"Removed root disk $V/rootfs-$K2.ext4"* ]]
	[[ "$output" == *"Removed template build dir $V/.warm-$K2-AbC123"* ]]
	[[ "$output" == *"Removed temporary file $V/rootfs-$K4.ext4.4242.log"* ]]
	[ "$(ls -A "$V" | sort | tr '\n' ' ')" = "initrd-$H16.cpio.old notes.txt rootfs-$K1.ext4.bak rootfs-x.ext4 " ]
	not_ours_left "$V"
	# Usage errors: one line, nothing removed.
	run "$ISOLA" system prune stray
	[ "$status" != 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"unexpected argument \`stray\`"* ]]
	run "$ISOLA" system nosuch
	[ "$status" != 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"unknown subcommand \`nosuch\`"* ]]
	run "$ISOLA" system df --dry-run
	[ "$status" != 0 ]
	[ "${#lines[@]}" = 1 ]
	not_ours_left "$V"
}

@test "vm-prune: a builder's locked temp file and a running template build are left alone" {
	"$ISOLA" images >/dev/null
	mkdir -p "$V"
	echo busy >"$V/rootfs-$K1.ext4.77.tmp"
	echo busy >"$V/rootfs-$K1.ext4.77.log"
	mkdir "$V/.warm-$K2-Zz0099"
	hold_lock -x "$V/rootfs-$K1.ext4.77.tmp"
	local l1=$LOCKER
	# The template build lock is a flock of the cache dir (warm.c).
	hold_lock -x "$V"
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"Kept the templates of $V: a template build is running"* ]]
	[ -f "$V/rootfs-$K1.ext4.77.tmp" ]
	[ -f "$V/rootfs-$K1.ext4.77.log" ]
	[ -d "$V/.warm-$K2-Zz0099" ]
	kill "$l1" "$LOCKER"
	wait 2>/dev/null || true
	LOCKER=
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ -z "$(ls -A "$V")" ]
}

@test "vm-prune: --root's .vm-cache (the OCI mode) is pruned too; its disks are not the store's to judge" {
	"$ISOLA" images >/dev/null
	plant "$R/.vm-cache"
	run "$ISOLA" --root "$R" system prune
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"Removed initramfs $R/.vm-cache/initrd-$H16-$H16.cpio"* ]]
	[[ "$output" == *"Removed warm template $R/.vm-cache/warm-$K3"* ]]
	[ -e "$R/.vm-cache/rootfs-$K1.ext4" ]
	[ ! -e "$R/.vm-cache/warm-$K1" ]
	[ ! -e "$R/.vm-cache/.warm-$K2-AbC123" ]
	not_ours_left "$R/.vm-cache"
	run "$ISOLA" --root "$R" system df
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"$R/.vm-cache"*"root disk"*" 3 "* ]]
}

@test "vm-prune: a read-only store, or cache dir, fails in one line naming the file; nothing removed" {
	"$ISOLA" images >/dev/null
	plant "$V"
	local before
	before=$(ls -A "$V" | sort)
	# The whole store: its lock cannot be taken.
	run unshare -m --propagation private sh -c \
		"mount --bind '$ISOLA_STORE' '$ISOLA_STORE' && mount -o remount,bind,ro '$ISOLA_STORE' &&
		 '$ISOLA' --root '$R' system prune"
	echo "$output"
	[ "$status" != 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"\`$ISOLA_STORE/lock\`: Read-only file system" ]]
	# Only the cache: the sweep names the first entry it could not remove.
	run unshare -m --propagation private sh -c \
		"mount --bind '$V' '$V' && mount -o remount,bind,ro '$V' &&
		 '$ISOLA' --root '$R' system prune"
	echo "$output"
	[ "$status" != 0 ]
	[ "$(grep -vc '^Freed 0 bytes$' <<<"$output")" = 1 ]
	[[ "$output" == *"remove \`$V/"*"\`: Read-only file system"* ]]
	[ "$(ls -A "$V" | sort)" = "$before" ]
	! grep -q " $ISOLA_STORE" /proc/self/mountinfo
}
