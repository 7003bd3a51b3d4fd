#!/usr/bin/env bash
# The L1 test bed: stock Debian kernels in isola on a real (emulated) KVM.
#
# This host's /dev/kvm (PVM) cannot run a Linux kernel's ring 0.  So this script
# boots a Linux "L1" VM under QEMU in pure software emulation (TCG) with an AMD
# CPU that has SVM and nested paging, loads kvm-amd inside it, and runs isola
# there against stock Debian kernels (the "L2" guests).  Every in-L1 test
# prints one TAP line on L1's serial console; this script copies those lines
# to stdout (and the whole console to $L1_OUT/serial.log).
#
#   tests/l1/run.sh [--direct] [TEST...]
#
# Environment: ISOLA (the binary; default build/src/cli/isola), L1_CACHE (the
# download/build cache; default: the build dir's l1-cache), L1_OUT (logs;
# default $L1_CACHE/out), L1_TIMEOUT (seconds for the whole L1 run, default
# 3600, across all its boots), L1_TEST_TIMEOUT (seconds per isola run in L1,
# default 300; a test's watchdog is twice that), L1_STALL (seconds without
# QEMU CPU progress that make an L1 wedged, default 180) and L1_SILENCE
# (seconds without console output that do, default twice L1_TEST_TIMEOUT
# plus 120): a wedged L1 is killed and booted again, L1_RETRIES times at
# most (default 3), for the tests that have no TAP line yet (a benchmark:
# from its first paired run not done, tests/l1/l1-paired.sh); after L1_NUDGE
# seconds without CPU progress or console output (default 5) it gets a key
# press, which delivers a timer interrupt TCG lost), L1_APPEND (more L1 kernel options, e.g.
# loglevel=7 to see L1's kernel log), L1_MODE=bench or vmct-bench with
# L1_RUNS=N (the bench/l1-boot.sh or bench/l1-vmct.sh payload instead of the
# tests).
# The timeouts are generous because a nested L2 boot under TCG takes 20 s on
# an idle core and several minutes when the machine's cores are shared.
# --direct runs the same tests on this host's /dev/kvm (a machine with real
# VMX/SVM) instead of inside L1.
# Exit status: 0 when every non-TODO test passed, 1 otherwise, 2 on a setup
# failure; "1..0 # SKIP reason" and 0 when QEMU is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ISOLA=${ISOLA:-$top/build/src/cli/isola}
ISOLA=$(realpath "$ISOLA")
builddir=$(cd "$(dirname "$ISOLA")/../.." && pwd)
L1_CACHE=${L1_CACHE:-$builddir/l1-cache}
L1_OUT=${L1_OUT:-$L1_CACHE/out}
L1_TIMEOUT=${L1_TIMEOUT:-3600}
L1_TEST_TIMEOUT=${L1_TEST_TIMEOUT:-300}
L1_STALL=${L1_STALL:-180}
L1_NUDGE=${L1_NUDGE:-5}
L1_SILENCE=${L1_SILENCE:-$((2 * L1_TEST_TIMEOUT + 120))}
L1_RETRIES=${L1_RETRIES:-3}
direct=0
if [ "${1:-}" = --direct ]; then
	direct=1
	shift
fi

die() {
	echo "l1: $*" >&2
	exit 2
}

[ -x "$ISOLA" ] || die "no isola binary at $ISOLA (build first)"
if [ "$direct" = 0 ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP qemu-system-x86_64 is not installed"
	exit 0
fi
for c in apt-get apt-cache dpkg-deb cpio gzip busybox mkfs.ext4 debugfs socat ldd cc; do
	command -v "$c" >/dev/null || die "missing $c (scripts/install-deps.sh)"
done
mkdir -p "$L1_CACHE" "$L1_OUT"

# The package name of a Debian kernel flavour's image, e.g. linux-image-6.1.0-57-cloud-amd64.
# apt needs its lists once: a fresh CI machine may have none.
kernel_pkg() {
	local meta=linux-image-$1 pkg
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
	if [ -z "$pkg" ]; then
		apt-get update -q >&2 || true
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
	fi
	[ -n "$pkg" ] || die "apt offers no $meta"
	echo "$pkg"
}

# fetch_kernel FLAVOUR: unpack the kernel package apt offers into the cache
# (keyed by package and version; never /boot) and print its directory.
fetch_kernel() {
	local pkg ver dir tmp
	pkg=$(kernel_pkg "$1")
	ver=$(apt-cache show "$pkg" 2>/dev/null | awk '/^Version:/{print $2; exit}')
	[ -n "$ver" ] || die "no version for $pkg"
	dir=$L1_CACHE/kernels/${pkg}_$ver
	if [ ! -f "$dir/.done" ]; then
		echo "l1: fetching $pkg $ver" >&2
		tmp=$(mktemp -d "$L1_CACHE/dl.XXXXXX")
		# Stale lists name a version the mirror no longer has: update once.
		(cd "$tmp" && apt-get download "$pkg=$ver" >/dev/null 2>&1) ||
			(apt-get update -q >&2 && cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) ||
			{
				rm -rf "$tmp"
				die "apt-get download $pkg failed"
			}
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$tmp"/*.deb "$dir"
		rm -rf "$tmp"
		touch "$dir/.done"
	fi
	echo "$dir"
}

# copy_modules KDIR DEST MOD...: copy MOD and what it depends on (from the
# modules' own depends= fields; the package has no modules.dep) to
# DEST/lib/modules/VERSION, and write there an "order" file for insmod.
copy_modules() {
	local kdir=$1 dest=$2 kver
	shift 2
	kver=$(ls "$kdir/lib/modules")
	local mdir=$dest/lib/modules/$kver
	mkdir -p "$mdir"
	declare -A path=() done=()
	local f n
	while read -r f; do
		n=$(basename "$f" .ko)
		path[${n//-/_}]=$f
	done < <(find "$kdir/lib/modules/$kver/kernel" -name '*.ko')
	add() {
		local m=${1//-/_} d
		[ -n "${done[$m]:-}" ] && return 0
		if [ -z "${path[$m]:-}" ]; then
			# Not grep -q: with pipefail, tr dying of SIGPIPE would fail the match.
			tr - _ <"$kdir/lib/modules/$kver/modules.builtin" | grep "/$m\.ko$" >/dev/null &&
				return 0 # built in
			die "module $m not in $kdir"
		fi
		for d in $(tr '\0' '\n' <"${path[$m]}" | sed -n 's/^depends=//p' | tr , ' '); do
			add "$d"
		done
		done[$m]=1
		cp "${path[$m]}" "$mdir/"
		basename "${path[$m]}" >>"$mdir/order"
	}
	: >"$mdir/order"
	for n in "$@"; do
		add "$n"
	done
}

# copy_bin DEST FILE...: binaries with the shared libraries ldd lists.
copy_bin() {
	local dest=$1 f l
	shift
	for f in "$@"; do
		mkdir -p "$dest$(dirname "$f")"
		cp -L "$f" "$dest$f"
		for l in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$dest$l" ] && continue
			mkdir -p "$dest$(dirname "$l")"
			cp -L "$l" "$dest$l"
		done
	done
}

busybox_tree() { # DEST
	mkdir -p "$1/bin" "$1/sbin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/mnt" "$1/run"
	cp "$(command -v busybox)" "$1/bin/busybox"
	local a
	for a in $(busybox --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
}

mkcpio() { # DIR OUT
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}

l2_mods="crc32c_generic ext4 pvpanic-mmio virtio_pci virtio_blk virtio_net virtio-rng virtio_balloon vmw_vsock_virtio_transport fuse virtiofs"

# The L2 initramfs: busybox, socat, mkfs.ext4, both kernels' virtio modules,
# and tests/l1/l2-init.sh as /init.
build_l2() { # OUT KDIR...
	local out=$1 root k
	shift
	root=$(mktemp -d "$L1_CACHE/l2root.XXXXXX")
	busybox_tree "$root"
	for k in "$@"; do
		# shellcheck disable=SC2086
		copy_modules "$k" "$root" $l2_mods
	done
	copy_bin "$root" "$(command -v socat)" "$(command -v mkfs.ext4)"
	cp "$here/l2-init.sh" "$root/init"
	printf '#!/bin/sh\necho "ALT-INIT pid=$$"\nreboot -f\n' >"$root/bin/alt-init"
	chmod +x "$root/init" "$root/bin/alt-init"
	mkcpio "$root" "$out"
	rm -rf "$root"
}

# A root disk for root=/dev/vda: busybox and an init that proves it is on
# the disk, writable, and then reboots.
build_rootdisk() { # OUT
	local root
	root=$(mktemp -d "$L1_CACHE/rootfs.XXXXXX")
	busybox_tree "$root"
	mkdir -p "$root/etc"
	echo isola-l1-rootdisk >"$root/etc/rootdisk"
	cat >"$root/sbin/init" <<-'EOF'
	#!/bin/sh
	mount -t proc proc /proc
	if touch /written && [ "$(cat /etc/rootdisk)" = isola-l1-rootdisk ]; then
		echo "ROOTDISK-OK $(awk '$2 == "/" {print $1, $4}' /proc/mounts | tail -1)"
	fi
	sync
	reboot -f
	EOF
	printf '#!/bin/sh\necho "ROOT-ALT-INIT pid=$$"\nreboot -f\n' >"$root/sbin/alt-init"
	chmod +x "$root/sbin/init" "$root/sbin/alt-init"
	rm -f "$1"
	mkfs.ext4 -q -F -L l1root -d "$root" "$1" 32M >/dev/null
	rm -rf "$root"
}

# VM containers (run --vm): isola-agent beside isola, the modules it loads
# (a pruned lib/modules/VER of the generic kernel, with modules.builtin: L1
# runs the cloud kernel, so `uname -r` tells the guest from L1) and an
# image store holding a busybox image (built with the image tests' helpers).
AGENT=$(dirname "$ISOLA")/../vmct/isola-agent
[ -x "$AGENT" ] || die "no isola-agent at $AGENT (build first)"
vmct_applets="sh echo uname ps cat true ls tr grep sleep id wc tty stty hostname ip ping wget httpd mkdir mv rm"
build_vmct() { # DIR
	local d kver a specs=""
	mkdir -p "$1"
	# shellcheck disable=SC2086
	copy_modules "$generic" "$1" crc32c_generic virtio_pci virtio_blk ext4 overlay \
		vmw_vsock_virtio_transport virtio_net virtiofs
	kver=$(ls "$generic/lib/modules")
	cp "$generic/lib/modules/$kver/modules.builtin" "$1/lib/modules/$kver/"
	d=$(mktemp -d "$L1_CACHE/vmct.XXXXXX")
	for a in $vmct_applets; do
		specs="$specs l:bin/$a:busybox"
	done
	# shellcheck disable=SC2086
	(
		load() { :; }
		. "$top/tests/integration/image-helpers.bash"
		img_tar "$d/l.tar" d:bin "F:bin/busybox:$(command -v busybox)" $specs d:etc d:tmp \
			d:proc d:sys d:dev
		img_layout "$d/layout" latest amd64 "$d/l.tar" >/dev/null
	) || die "cannot build the VM container image"
	ISOLA_STORE=$1/store "$ISOLA" image import "$d/layout" localhost/bb:1 >/dev/null ||
		die "cannot import the VM container image"
	# A second image (a marker file and 4 MB more: a root disk of another size)
	# for the warm-start tests: each container must see its own disk.  It
	# also holds /bin/escape (escape.c, static) for vmct-escape and /bin/icmp-probe
	# (tests/helpers/icmp-probe.c, static: busybox ping needs CAP_NET_RAW, which run
	# IMAGE's default set lacks) for vmct-priv and vmct-net-port.
	cc -static -O2 -o "$d/escape" "$here/escape.c" || die "cannot build escape.c"
	cc -static -O2 -o "$d/icmp-probe" "$top/tests/helpers/icmp-probe.c" ||
		die "cannot build icmp-probe.c"
	# shellcheck disable=SC2086
	(
		load() { :; }
		. "$top/tests/integration/image-helpers.bash"
		img_tar "$d/l2.tar" d:bin "F:bin/busybox:$(command -v busybox)" $specs d:etc d:tmp \
			d:proc d:sys d:dev f:etc/which-image:two b:blob:4000000 "F:bin/escape:$d/escape" \
			"F:bin/icmp-probe:$d/icmp-probe"
		img_layout "$d/layout2" latest amd64 "$d/l2.tar" >/dev/null
	) || die "cannot build the second VM container image"
	ISOLA_STORE=$1/store "$ISOLA" image import "$d/layout2" localhost/bb:2 >/dev/null ||
		die "cannot import the second VM container image"
	# The same layer as an OCI bundle's rootfs, and the image as an oci-archive
	# (for ctr import; L1 has no libarchive for isola image save), for the isola-vm tests.
	cp "$d/l.tar" "$1/bb-layer.tar"
	ISOLA_STORE=$1/store "$ISOLA" image save -o "$1/bb-oci.tar" localhost/bb:1 ||
		die "cannot save the VM container image"
	rm -rf "$d"
	# The agent's CONFIG and stdin-EOF frames for `true` (docs/vm-containers.md),
	# served by socat when the bench boots the same VM without run --vm.
	python3 - "$1/true.frame" <<-'EOP'
	import struct, sys
	cfg = b"".join(e + b"\0" for e in [b"arg=true", b"env=PATH=/bin", b"cwd=/", b"uid=0", b"gid=0", b"tty=0"])
	open(sys.argv[1], "wb").write(struct.pack("<II", 2, len(cfg)) + cfg + struct.pack("<II", 3, 0))
	EOP
}

cloud=$(fetch_kernel cloud-amd64)
generic=$(fetch_kernel amd64)
key=$(cat "$ISOLA" "$AGENT" "$here"/*.sh "$here"/*.c "$top/tests/helpers/icmp-probe.c" \
	"$(command -v busybox)" | sha256sum | cut -c1-16)
key=$key-$(basename "$cloud")-$(basename "$generic")

# The L2 files (kernels, initramfs, root disk), for L1 or for --direct.
# The generic kernel as an ELF vmlinux for the PVH test (vm_extract_vmlinux).
. "$top/tests/integration/vm-helpers.bash"

build_l2dir() { # DIR
	mkdir -p "$1"
	cp "$cloud"/boot/vmlinuz-* "$1/vmlinuz-cloud"
	cp "$generic"/boot/vmlinuz-* "$1/vmlinuz"
	vm_extract_vmlinux "$1/vmlinuz" "$1/vmlinux" || die "cannot unpack vmlinux from $1/vmlinuz"
	build_l2 "$1/initrd.gz" "$cloud" "$generic"
	build_rootdisk "$1/rootdisk.img"
	build_vmct "$1/vmct"
	# isola's own hello guest (guest/), when the build made it.
	[ ! -f "$builddir/guest/hello.elf" ] || cp "$builddir/guest/hello.elf" "$1/hello.elf"
}

if [ "$direct" = 1 ]; then
	# A host with real VMX/SVM: the same tests against its /dev/kvm.
	l2dir=$L1_CACHE/l2-$key
	if [ ! -f "$l2dir/.done" ]; then
		rm -rf "$L1_CACHE"/l2-*
		build_l2dir "$l2dir"
		touch "$l2dir/.done"
	fi
	work=$(mktemp -d /tmp/isola-l1.XXXXXX)
	trap 'rm -rf --one-file-system "$work"' EXIT
	L1_TESTS_FILE=$here/l1-tests.sh ISOLA_BIN=$ISOLA L2DIR=$l2dir W=$work/w \
		l1timeout=$L1_TEST_TIMEOUT bash -c '. "$1"; l1_main "$2"; echo "# L1-DONE"' \
		_ "$here/l1-tests.sh" "$*" | tee "$L1_OUT/tap"
	grep -q '^# L1-DONE' "$L1_OUT/tap" || exit 1
	[ -z "$(grep '^not ok' "$L1_OUT/tap" | grep -v '# TODO')" ]
	exit
fi

mode=${L1_MODE:-test}
l1=$L1_CACHE/l1-$mode-$key.cpio.gz
if [ ! -f "$l1" ]; then
	echo "l1: building the L1 initramfs ($mode)" >&2
	rm -f "$L1_CACHE"/l1-"$mode"-*.cpio.gz
	l1root=$(mktemp -d "$L1_CACHE/l1root.XXXXXX")
	# Not "root": the functions below have locals of that name, and a die() in
	# them would run this trap with theirs.
	trap 'rm -rf "$l1root"' EXIT
	busybox_tree "$l1root"
	l1_mods="irqbypass kvm kvm-amd tun bridge overlay"
	# VM containers on a CNI network (vmct-net*): veth, the TAP <-> eth0 redirect, and what
	# the bridge and portmap plugins' iptables (nf_tables) rules need; L1 has no modprobe.
	l1_mods="$l1_mods veth sch_ingress cls_u32 act_mirred nf_tables nft_compat nft_chain_nat nf_nat
		nf_conntrack nf_conntrack_netlink xt_MASQUERADE xt_nat xt_comment xt_mark xt_multiport
		xt_addrtype xt_conntrack xt_tcpudp"
	[ "$mode" = vmct-bench ] && l1_mods="$l1_mods vhost_vsock"
	# shellcheck disable=SC2086
	copy_modules "$cloud" "$l1root" $l1_mods
	copy_bin "$l1root" "$ISOLA" "$(command -v socat)" "$(command -v debugfs)" \
		"$(command -v mkfs.ext4)"
	cp "$ISOLA" "$l1root/bin/isola"
	# A static isola runs its image commands in isola-dl, found next to it (src/cli/dynamic.c).
	if [ -x "$(dirname "$ISOLA")/isola-dl" ]; then
		copy_bin "$l1root" "$(dirname "$ISOLA")/isola-dl"
		cp "$(dirname "$ISOLA")/isola-dl" "$l1root/bin/isola-dl"
	fi
	cp "$AGENT" "$l1root/bin/isola-agent"
	build_l2dir "$l1root/l2"
	# containerd (with its runc shim and ctr) for vmoci-containerd, likewise.
	if [ "$mode" = test ] && command -v containerd >/dev/null && command -v ctr >/dev/null &&
		command -v containerd-shim-runc-v2 >/dev/null; then
		copy_bin "$l1root" "$(command -v containerd)" "$(command -v ctr)" \
			"$(command -v containerd-shim-runc-v2)"
	fi
	# Debian's CNI plugins and iptables (nf_tables) for vmct-net* (skipped in L1 without them).
	if [ -x /usr/lib/cni/bridge ] && [ -x /usr/sbin/xtables-nft-multi ]; then
		copy_bin "$l1root" /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap \
			/usr/lib/cni/firewall /usr/lib/cni/loopback /usr/lib/cni/tuning \
			/usr/sbin/xtables-nft-multi
		for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
			ln -sf xtables-nft-multi "$l1root/usr/sbin/$t"
		done
		xt=$(dirname "$(ls /usr/lib/*/xtables/libxt_comment.so | head -1)")
		mkdir -p "$l1root$(dirname "$xt")"
		cp -a "$xt" "$l1root$xt"
		mkdir -p "$l1root/etc"
		echo "nameserver 10.0.2.3" >"$l1root/etc/resolv.conf"
	fi
	# podman and conmon for the vmoci-podman test (skipped in L1 without them).
	if [ "$mode" = test ] && command -v podman >/dev/null && command -v conmon >/dev/null; then
		copy_bin "$l1root" "$(command -v podman)" "$(command -v conmon)"
		mkdir -p "$l1root/etc/containers"
		printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' \
			>"$l1root/etc/containers/policy.json"
	fi
	cp "$here/l1-init.sh" "$l1root/init"
	cp "$here/l1-tests.sh" "$here/l1-bench.sh" "$here/l1-vmct-bench.sh" "$here/l1-paired.sh" \
		"$l1root/"
	if [ "$mode" = bench ] || [ "$mode" = vmct-bench ]; then
		# QEMU as the yardstick inside L1, with its firmware (SeaBIOS, qboot).
		copy_bin "$l1root" "$(command -v qemu-system-x86_64)"
		mkdir -p "$l1root/usr/share"
		cp -rL /usr/share/qemu /usr/share/seabios "$l1root/usr/share/"
	fi
	chmod +x "$l1root/init"
	mkcpio "$l1root" "$l1"
	rm -rf "$l1root"
	trap - EXIT
fi

# The tests asked for (all of l1-tests.sh's list when none).
want=$*
if [ -z "$want" ] && [ "$mode" = test ]; then
	# shellcheck disable=SC2016
	want=$(bash -c '. "$1"; for t in $L1_TESTS; do echo "${t%%:*}"; done' _ "$here/l1-tests.sh" | xargs)
fi
serial=$L1_OUT/serial.log
: >"$serial"
: >"$L1_OUT/tap"
deadline=$((SECONDS + L1_TIMEOUT))

# boot_l1 TEST...: one L1 boot running TEST... (its console appended to $serial).
# Returns 0 when QEMU ended by itself, 124 when the whole budget ran out, 125
# when L1 stalled (QEMU's CPU time grew by less than 0.2 s in L1_STALL
# seconds) and 126 when L1 went silent (no console output for L1_SILENCE
# seconds, longer than the in-L1 watchdog of a test, which prints when it
# fires).  A live L1 does neither: its tests poll every 0.1 s and L2 guests
# spin.  But some boots wedge for good (docs/vmm.md "L1 wedges"), idle or
# spinning; then only this watchdog ends the run.  Before QEMU is killed its
# registers go to $L1_OUT/wedge-N.txt (through the monitor socket).
boot_l1() {
	local tests qpid ticks size last=0 lastsize=-1 since=$SECONDS heard=$SECONDS why=0 nudged=$SECONDS
	local boot_nudges=0
	local mon=$L1_OUT/monitor.sock
	tests=$(
		IFS=,
		echo "$*"
	)
	echo "# L1 boot for: ${*:-all}" >>"$serial"
	rm -f "$mon"
	# The test list and timeout travel on L1's kernel command line (init's env).
	# no_timer_check: on a loaded host, L1's early IO-APIC timer check under TCG
	# can miss its ticks and panic ("IO-APIC + timer doesn't work!"): seen twice
	# in a row here on 2026-12-03; with it the same run passed.
	qemu-system-x86_64 -accel tcg,tb-size=512 \
		-cpu qemu64,+svm,+npt -m 2048 -smp 1 -nographic -no-reboot -nodefaults -serial stdio \
		-monitor "unix:$mon,server=on,wait=off" \
		-kernel "$cloud"/boot/vmlinuz-* -initrd "$l1" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check l1tests=$tests l1timeout=$L1_TEST_TIMEOUT l1mode=$mode l1runs=${L1_RUNS:-5} l1first=$first ${L1_APPEND:-}" \
		</dev/null >>"$serial" 2>&1 &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		ticks=$(awk '{print $14 + $15}' "/proc/$qpid/stat" 2>/dev/null) || break
		size=$(stat -c %s "$serial")
		if [ "$ticks" -ge $((last + 20)) ]; then
			last=$ticks
			since=$SECONDS
		fi
		# The wedges seen stop in L1's idle loop (HLT with interrupts on) with the
		# LAPIC timer's vector pending in IRR, nothing in service and PPR below it:
		# TCG lost the wake-up for an interrupt the APIC holds (docs/vmm.md "L1
		# wedges").  Any new interrupt through the APIC makes QEMU look again and
		# deliver it: a key press (i8042 IRQ 1, which L1 leaves unmasked; an NMI
		# does not help).  The same lost interrupt also leaves L1 spinning in an L2
		# that never exits (IRR 236 with IF=1, HLT=0: seen in a bench), so a key is
		# pressed every L1_NUDGE seconds while L1 is stalled or silent; it is
		# harmless to a live L1 (nobody reads its keyboard).
		if { [ $((SECONDS - since)) -ge "$L1_NUDGE" ] || [ $((SECONDS - heard)) -ge "$L1_NUDGE" ]; } &&
			[ $((SECONDS - nudged)) -ge "$L1_NUDGE" ] && [ "$L1_NUDGE" -lt "$L1_STALL" ]; then
			nudged=$SECONDS
			nudges=$((nudges + 1))
			printf 'info registers\ninfo lapic\nsendkey shift\n' |
				timeout 10 socat - "UNIX-CONNECT:$mon" >"$L1_OUT/nudge-$nudges.txt" 2>&1 || true
			# Not into $serial while QEMU writes it: QEMU writes the console a byte
			# at a time, so this line could land inside a TAP line ("ok 24 - c# L1
			# ...") and lose that test's result (CI, 2026-12-05); and its growth
			# would count as L1's output and keep the silence watchdog from firing.
			echo "# $((SECONDS - started))s: L1 stalled or silent ${L1_NUDGE}s: key pressed (registers in nudge-$nudges.txt)" >>"$L1_OUT/nudges.log"
			boot_nudges=$((boot_nudges + 1))
		fi
		if [ "$size" != "$lastsize" ]; then
			lastsize=$size
			heard=$SECONDS
		fi
		[ $((SECONDS - since)) -lt "$L1_STALL" ] || why=125
		[ $((SECONDS - heard)) -lt "$L1_SILENCE" ] || why=126
		[ "$SECONDS" -lt "$deadline" ] || why=124
		if [ "$why" != 0 ]; then
			wedges=$((wedges + 1))
			printf 'info registers\ninfo cpus\n' |
				timeout 10 socat - "UNIX-CONNECT:$mon" >"$L1_OUT/wedge-$wedges.txt" 2>&1 || true
			kill -9 "$qpid" 2>/dev/null
			break
		fi
	done
	wait "$qpid" 2>/dev/null || true
	rm -f "$mon"
	[ "$boot_nudges" = 0 ] || echo "# L1 stalled or silent ${L1_NUDGE}s $boot_nudges times in this boot: a key pressed each time (nudges.log)" >>"$serial"
	return "$why"
}

# The tests of $want that have no TAP line yet.
missing() {
	local t
	for t in $want; do
		grep -Eq "^(not )?ok [0-9]+ - $t( |$)" "$L1_OUT/tap" || echo "$t"
	done | xargs
}

# Whether the last boot's console has "# L1-DONE" (or L1's skip line: no KVM in L1).
last_boot_done() {
	tr -d '\r' <"$serial" |
		awk '/^# L1 boot for:/ { d = 0 } /^# L1-DONE|^1\.\.0 # SKIP/ { d = 1 } END { exit !d }'
}

# A wedged L1 is booted again for the tests it did not finish, up to L1_RETRIES
# times; a benchmark from the first paired run it did not finish (l1-paired.sh).
tries=0 wedges=0 nudges=0 first=1
rm -f "$L1_OUT"/wedge-*.txt "$L1_OUT"/nudge-*.txt
: >"$L1_OUT/nudges.log"
started=$SECONDS
todo=$want
while :; do
	rc=0
	# shellcheck disable=SC2086
	boot_l1 $todo || rc=$?
	case $rc in
	124) echo "# L1 timed out after ${L1_TIMEOUT}s (QEMU killed)" >>"$serial" ;;
	125) echo "# L1 wedged: QEMU used no CPU for ${L1_STALL}s (killed; registers in wedge-$wedges.txt)" >>"$serial" ;;
	126) echo "# L1 wedged: no console output for ${L1_SILENCE}s (killed; registers in wedge-$wedges.txt)" >>"$serial" ;;
	esac
	# QEMU that ends by itself before L1 said it was done: L1 panicked (panic=-1 and
	# -no-reboot end QEMU) or QEMU died; booted again like a wedged L1.  An L1
	# without KVM says so ("1..0 # SKIP") and ends: that is no early end.
	if [ "$rc" = 0 ] && ! last_boot_done; then
		rc=127
		echo "# L1 ended before its last test did (no L1-DONE on its console)" >>"$serial"
	fi
	tr -d '\r' <"$serial" | grep -E '^(not ok|ok|1\.\.|#|BENCH )' >"$L1_OUT/tap" || true
	case $rc in 125 | 126 | 127) [ "$tries" -lt "$L1_RETRIES" ] || break ;; *) break ;; esac
	if [ "$mode" = test ]; then
		todo=$(missing)
		[ -n "$todo" ] || break
	else
		first=$(($(sed -n 's/^# paired run \([0-9]*\) done$/\1/p' "$L1_OUT/tap" | tail -1) + 1))
		[ "$first" -le "${L1_RUNS:-5}" ] || break
	fi
	tries=$((tries + 1))
done
cat "$L1_OUT/tap"
# Every test asked for has its line (a boot killed after its last test is no failure);
# the bench payload has no list: it must have finished.
if [ "$mode" = test ]; then
	[ -z "$(missing)" ] || exit 1
else
	grep -q "^# paired run ${L1_RUNS:-5} done" "$L1_OUT/tap" || exit 1
fi
[ -z "$(grep '^not ok' "$L1_OUT/tap" | grep -v '# TODO')" ]
