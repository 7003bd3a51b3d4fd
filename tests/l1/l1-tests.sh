# Linux-guest tests: stock Debian kernels in isola, over virtio-pci.
# Sourced by tests/l1/l1-init.sh inside L1 (busybox sh), or by
# tests/l1/run.sh --direct on a host with real VMX/SVM.  Needs ISOLA_BIN,
# L2DIR (vmlinuz, vmlinuz-cloud, initrd.gz, rootdisk.img) and W (scratch).
# Each test is a function t_NAME returning 0 for pass; l1_main prints one
# TAP line per test and, on failure, the test's log as "# " lines.

: "${l1timeout:=300}"
BASE="console=ttyS0 reboot=k panic=-1"

# The tests, in order; a trailing ":REASON" marks a TODO (expected to fail).
L1_TESTS="boot reboot restart pvh unpack cloud-boot panic console quiet rootdisk init blk blk-swap net vsock rng virtiofs
balloon serial snapshot migrate smp2 smp4 poweroff cad cad-split timer timer-split vmct-echo vmct-exit vmct-kernel
vmct-isolation vmct-stdin vmct-signal vmct-clean vmct-tty vmct-exec vmct-detach vmct-detach-end
net-nooffload balloon-report
vmoci-lifecycle vmoci-kill vmoci-annotation vmoci-cycles vmoci-podman vmoci-containerd
vmoci-exec vmoci-pause vmct-net
vmct-net-port vmct-warm vmct-warm-images vmct-warm-rng vmct-warm-rebuild vmct-warm-net
vmct-warm-detach vmct-prune vmct-warm-clean vmoci-warm vmct-detach-net vmct-warm-detach-net vmoci-net vmoci-podman-net
vmct-volume vmoci-volume hello-rss vmoci-podman-ops fs-snapshot vmct-warm-volume vmoci-warm-volume
vmct-priv vmoci-priv vmct-stdin-flow vmct-escape vmct-init vmoci-tmpcopyup"

log() { echo "$*" >&2; }

# wait_for FILE PATTERN [SECONDS]: poll for an extended regex in FILE.
wait_for() {
	local i=0 n=$((${3:-$l1timeout} * 10))
	while [ $i -lt $n ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	log "timed out waiting for '$2' in $1"
	return 1
}

# wait_file FILE SECONDS: poll until FILE exists (a snapshot's state file is renamed into place).
wait_file() {
	local i=0
	while [ ! -f "$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -f "$1" ]
}

# vm OUT ARGS...: run isola in the foreground with a bounded timeout; sets RC.
vm() {
	local out=$1
	shift
	RC=0
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci "$@" \
		</dev/null >"$out" 2>&1 || RC=$?
	[ "$RC" = 124 ] && log "isola timed out after ${l1timeout}s (killed)"
	log "isola exit status $RC"
	return 0
}

# vm_bg OUT ARGS...: the same in the background; sets VM_PID.
vm_bg() {
	local out=$1
	shift
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci "$@" \
		</dev/null >"$out" 2>&1 &
	VM_PID=$!
}

# vm_wait: wait for VM_PID, set RC.
vm_wait() {
	RC=0
	wait "$VM_PID" || RC=$?
	log "isola exit status $RC"
}

has() { grep -q "$2" "$1" || { log "missing '$2' in $1" && return 1; }; }
hasnt() { ! grep -q "$2" "$1" || { log "unexpected '$2' in $1" && return 1; }; }
linux() { echo "--kernel $L2DIR/${KERNEL:-vmlinuz} --initrd $L2DIR/initrd.gz"; }
field() { sed -n "s/^$2 //p" "$1" | tr -d '\r' | tail -1; }
md5() { md5sum <"$1" | cut -d' ' -f1; }

t_boot() {
	# shellcheck disable=SC2046
	vm "$W/../boot.out" $(linux) --cmdline "$BASE l2=boot"
	echo "$RC" >"$W/../boot.rc"
	has "$W/../boot.out" L2-USERSPACE-UP && has "$W/../boot.out" L2-BOOT-MARKER
}

t_reboot() {
	[ -f "$W/../boot.rc" ] || return 1
	has "$W/../boot.out" L2-DONE && [ "$(cat "$W/../boot.rc")" = 0 ]
}

# --on-reboot restart: the guest's reboot boots the same VM again (isola
# re-executes itself; the console fd is inherited, so the output accumulates).
t_restart() {
	# Two boots: up to the test's whole watchdog budget, not one isola timeout.
	local i=0 n=0 limit=$((l1timeout * 2 - 20))
	# shellcheck disable=SC2046
	timeout "$limit" "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci $(linux) \
		--on-reboot restart --cmdline "$BASE l2=boot" </dev/null >"$W/out" 2>&1 &
	VM_PID=$!
	while [ $i -lt $((limit * 10)) ]; do
		n=$(grep -c L2-BOOT-MARKER "$W/out")
		[ "$n" -ge 2 ] && break
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	kill "$VM_PID" 2>/dev/null
	vm_wait
	log "$n boots"
	[ "$n" -ge 2 ]
}

# PVH: the same kernel as an ELF vmlinux entered at XEN_ELFNOTE_PHYS32_ENTRY,
# with the initrd as a start_info module, the command line and the memmap.
t_pvh() {
	vm "$W/out" --kernel "$L2DIR/vmlinux" --initrd "$L2DIR/initrd.gz" \
		--cmdline "$BASE l2=boot"
	has "$W/out" L2-BOOT-MARKER && has "$W/out" "Command line: .*l2=boot" && [ "$RC" = 0 ]
}

# --kernel-unpack/--initrd-unpack: isola decompresses the bzImage's xz payload
# and the gzip initramfs into its cache (a fresh one here: a cold unpack) and
# boots the ELF at its link address through its 64-bit entry with the plain
# cpio; the guest way (both "guest") boots the bzImage's decompressor with the
# gzip initramfs and caches nothing.  Both reach userspace.
clock_at_init() { tr -d '\r' <"$1" | sed -n 's/^\[ *\([0-9.]*\)\] Run \/init.*/\1/p'; }

t_unpack() {
	local t0 t1 t2
	t0=$(cut -d' ' -f1 /proc/uptime)
	export ISOLA_CACHE_DIR=$W/cache
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --kernel-unpack vmm --initrd-unpack vmm --cmdline "$BASE l2=boot"
	t1=$(cut -d' ' -f1 /proc/uptime)
	has "$W/out" L2-BOOT-MARKER && [ "$RC" = 0 ] &&
		[ "$(ls "$W/cache/vmlinux" | grep -c '\.elf$')" = 1 ] &&
		[ "$(ls "$W/cache/vmlinux" | grep -c '\.cpio$')" = 1 ] || { unset ISOLA_CACHE_DIR && return 1; }
	export ISOLA_CACHE_DIR=$W/cache2
	# shellcheck disable=SC2046
	vm "$W/out2" $(linux) --kernel-unpack guest --initrd-unpack guest --cmdline "$BASE l2=boot"
	unset ISOLA_CACHE_DIR
	t2=$(cut -d' ' -f1 /proc/uptime)
	log "unpack: isola-unpacked boot (cold cache) $t0..$t1 s, guest-unpacked boot $t1..$t2 s" \
		"of L1 uptime; kernel clock at Run /init: $(clock_at_init "$W/out") s vs" \
		"$(clock_at_init "$W/out2") s"
	has "$W/out2" L2-BOOT-MARKER && [ "$RC" = 0 ] && [ -z "$(ls "$W/cache2/vmlinux" 2>/dev/null)" ]
}

t_cloud_boot() {
	# shellcheck disable=SC2046
	KERNEL=vmlinuz-cloud vm "$W/out" $(KERNEL=vmlinuz-cloud linux) --cmdline "$BASE l2=boot"
	has "$W/out" "Using ACPI (MADT)" && has "$W/out" L2-BOOT-MARKER && [ "$RC" = 0 ]
}

t_panic() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "$BASE l2=panic"
	has "$W/out" "Kernel panic" && has "$W/out" "guest panicked" && [ "$RC" = 120 ]
}

# The whole boot log on the serial console, every line in order.  The
# kernel's PCI scan writes CONFIG_ADDRESS (0xcf8) before each config read:
# those writes go through KVM's coalesced PIO ring (docs/vmm.md, "Writes that
# need no exit"), so the port writes that exit are about one per console byte
# (the THR), not two (~35k in a boot before).  isola's debug log counts the
# replayed writes and the exits.
t_console() {
	local out replayed
	RC=0
	# shellcheck disable=SC2046
	timeout "$l1timeout" "$ISOLA_BIN" --debug --log "$W/vmm.log" vm run --memory 256M \
		--virtio-transport pci $(linux) --cmdline "console=ttyS0,115200n8 reboot=k panic=-1 l2=boot" \
		</dev/null >"$W/out" 2>"$W/err" || RC=$?
	log "isola exit status $RC"
	replayed=$(sed -n 's/.*coalesced writes replayed: \([0-9]*\).*/\1/p' "$W/vmm.log")
	out=$(sed -n 's/.*vCPU 0: [0-9]* exits (port in [0-9]*, out \([0-9]*\);.*/\1/p' "$W/vmm.log")
	log "console: $(wc -c <"$W/out") bytes; CONFIG_ADDRESS writes replayed from the ring: ${replayed:-none}; port writes that exited: ${out:-?}"
	has "$W/out" "Linux version" && has "$W/out" L2-BOOT-MARKER && [ "$RC" = 0 ] &&
		[ "$(grep -n -m1 'Linux version' "$W/out" | cut -d: -f1)" -lt \
			"$(grep -n -m1 'Run /init' "$W/out" | cut -d: -f1)" ] &&
		[ "${replayed:-0}" -ge 4096 ] && [ "${out:-0}" -lt $(($(wc -c <"$W/out") * 5 / 4)) ]
}

t_quiet() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "$BASE quiet l2=boot"
	has "$W/out" L2-BOOT-MARKER && hasnt "$W/out" "Linux version" && [ "$RC" = 0 ]
}

# Root disk: root=/dev/vda rw.  Debian's kernels build virtio_blk as a module,
# so (as on any Debian system) a small initramfs loads it and switch_roots.
t_rootdisk() {
	cp "$L2DIR/rootdisk.img" "$W/root.img"
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --disk "$W/root.img" --cmdline "$BASE root=/dev/vda rw"
	has "$W/out" "ROOTDISK-OK /dev/vda rw" && [ "$RC" = 0 ] &&
		debugfs -R "stat /written" "$W/root.img" 2>/dev/null | grep -q "Inode:"
}

t_init() {
	cp "$L2DIR/rootdisk.img" "$W/root.img"
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --disk "$W/root.img" \
		--cmdline "$BASE root=/dev/vda rw init=/sbin/alt-init"
	has "$W/out" "ROOT-ALT-INIT pid=1" && [ "$RC" = 0 ]
}

t_blk() {
	truncate -s 64M "$W/a.img"
	truncate -s 1M "$W/b.img"
	printf 'ISOLA-RO-OK' | dd of="$W/b.img" conv=notrunc 2>/dev/null
	local before
	before=$(md5 "$W/b.img")
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --disk "$W/a.img" --disk "$W/b.img,ro" --cmdline "$BASE l2=blk"
	[ "$RC" = 0 ] || return 1
	debugfs -R "dump /rand $W/rand" "$W/a.img" 2>/dev/null
	debugfs -R "cat /hello" "$W/a.img" 2>/dev/null >"$W/hello"
	log "guest md5 $(field "$W/out" BLK-MD5), read back $(md5 "$W/rand")"
	[ "$(field "$W/out" BLK-MD5)" = "$(md5 "$W/rand")" ] && has "$W/hello" isola-l2-wrote-this &&
		has "$W/out" "VDB-RO 1" && has "$W/out" "VDB-HEAD ISOLA-RO-OK" &&
		has "$W/out" VDB-WRITE-REFUSED && [ "$(md5 "$W/b.img")" = "$before" ]
}

# virtio-fs (--fs): the guest mounts two shares; what it made is on L1's disk
# with the same bytes, what L1 writes while it runs the guest reads; the
# read-only share, the device node and the setuid bit are refused.
t_virtiofs() {
	local s=$W/share ok=0
	rm -rf "$s" "$W/ro"
	mkdir -p "$s" "$W/ro"
	echo isola-host-wrote-this >"$s/from-host"
	echo read-only-content >"$W/ro/r"
	# shellcheck disable=SC2046
	KERNEL=vmlinuz-cloud vm_bg "$W/out" $(KERNEL=vmlinuz-cloud linux) \
		--fs "tag=share,path=$s" --fs "tag=ro,path=$W/ro,ro" --cmdline "$BASE l2=virtiofs"
	wait_for "$W/out" VFS-MOUNTED && echo live-from-l1 >"$s/live"
	vm_wait
	log "guest md5 $(field "$W/out" VFS-MD5), L1 reads $(md5 "$s/dir/rand"); a's mode $(stat -c %a "$s/dir/a" 2>&1)"
	log "32 MiB through virtio-fs: write $(field "$W/out" VFS-DD-WRITE); read $(field "$W/out" VFS-DD-READ)"
	[ "$RC" = 0 ] && has "$W/out" "VFS-HOST-FILE isola-host-wrote-this" &&
		[ "$(field "$W/out" VFS-MD5)" = "$(md5 "$s/dir/rand")" ] &&
		[ "$(field "$W/out" VFS-READBACK)" = "$(md5 "$s/dir/rand")" ] &&
		has "$s/dir/g2" isola-guest-wrote-this && has "$s/dir/a" inside &&
		[ ! -e "$s/g1" ] && [ ! -e "$s/gone" ] && [ ! -e "$s/rmd" ] && [ ! -e "$s/null" ] && [ ! -e "$s/big" ] &&
		has "$W/out" "VFS-DD-WRITE 32+0 records in 32+0 records out" &&
		has "$W/out" "VFS-DD-READ 32+0 records in 32+0 records out" &&
		[ "$(stat -c %a "$s/dir/a")" = 755 ] && hasnt "$W/out" VFS-MKNOD-MADE &&
		has "$W/out" "VFS-LS a g2 rand" && has "$W/out" VFS-RO-REFUSED &&
		has "$W/out" "VFS-RO-READ read-only-content" && [ ! -e "$W/ro/new" ] &&
		has "$W/out" "VFS-LIVE live-from-l1" && hasnt "$W/out" VFS-MOUNT-FAILED && ok=1
	rm -rf "$s" "$W/ro"
	[ "$ok" = 1 ]
}

# api_req METHOD PATH BODY: one request on $W/api.sock; prints the response.  socat
# waits up to 30 s after sending (-t; its default 0.5 s can end before a slow
# answer), until the VMM closes (every answer says Connection: close).
api_req() {
	printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
		"$1" "$2" "${#3}" "$3" | timeout 40 socat -t 30 - "UNIX-CONNECT:$W/api.sock"
}

# mark FILE OFFSET TEXT: TEXT written into FILE at byte OFFSET.
mark() { printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

# PATCH /drives/{id} after boot: vda goes from a 1 MiB image A to a 2 MiB image B
# through the API socket.  Linux's virtio_blk takes the configuration change (the
# new capacity), reads B with O_DIRECT, and its write (past A's end) lands in B.
# A PATCH naming a missing file, or another drive's id, is refused (400).  Then B
# grows to 3 MiB and is named again: a second configuration change (under MSI-X,
# a second message on the config vector), and the guest still reads B.  A is
# left as it was.
t_blk_swap() {
	local a b suma ok=1
	truncate -s 1M "$W/a.img"
	truncate -s 2M "$W/b.img"
	a=$(realpath "$W/a.img")
	b=$(realpath "$W/b.img")
	mark "$a" 0 ISOLA-DISK-A
	mark "$b" 0 ISOLA-DISK-B
	suma=$(md5 "$a")
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --disk "$a" --api-sock "$W/api.sock" --cmdline "$BASE l2=blkswap"
	wait_for "$W/out" "^SWAP-BEFORE" || { kill "$VM_PID" 2>/dev/null && ok=0; }
	api_req PATCH /drives/disk0 "{\"drive_id\":\"disk0\",\"path_on_host\":\"$b\"}" >"$W/r1"
	api_req PATCH /drives/disk0 "{\"drive_id\":\"disk0\",\"path_on_host\":\"$W/nope.img\"}" >"$W/r2"
	api_req PATCH /drives/disk0 "{\"drive_id\":\"disk1\",\"path_on_host\":\"$a\"}" >"$W/r3"
	api_req PATCH /drives/disk9 "{\"drive_id\":\"disk9\",\"path_on_host\":\"$a\"}" >"$W/r4"
	api_req GET /vm/config "" >"$W/r5"
	wait_for "$W/out" "^SWAP-WROTE" || ok=0
	truncate -s 3M "$b"
	api_req PATCH /drives/disk0 "{\"drive_id\":\"disk0\",\"path_on_host\":\"$b\"}" >"$W/r6"
	vm_wait
	log "answers: $(head -1 "$W/r1") / $(tail -1 "$W/r2") / $(tail -1 "$W/r3") / $(tail -1 "$W/r4")"
	log "guest: $(grep '^SWAP-' "$W/out" | tr -d '\r' | tr '\n' ' ')"
	has "$W/r1" "HTTP/1.1 204" && has "$W/r2" "HTTP/1.1 400" && has "$W/r2" "nope.img" &&
		has "$W/r3" "HTTP/1.1 400" && has "$W/r3" "differs" && has "$W/r4" "HTTP/1.1 400" &&
		has "$W/r5" "\"path_on_host\":\"$b\"" && has "$W/r6" "HTTP/1.1 204" || ok=0
	has "$W/out" "SWAP-BEFORE 2048 ISOLA-DISK-A" && has "$W/out" "SWAP-AFTER 4096 ISOLA-DISK-B" &&
		has "$W/out" SWAP-WROTE && has "$W/out" "SWAP-LAST 6144 ISOLA-DISK-B" || ok=0
	[ "$(dd if="$b" bs=4096 skip=257 count=1 2>/dev/null | head -c 17)" = ISOLA-GUEST-WROTE ] ||
		{ log "the guest's write is not in B" && ok=0; }
	[ "$(md5 "$a")" = "$suma" ] || { log "A changed" && ok=0; }
	[ "$RC" = 0 ] && [ $ok = 1 ]
}

# bit FILE FIELD N: bit N of a 0/1 feature string the guest printed.
bit() { field "$1" "$2" | cut -c$(($3 + 1)); }

# net_xfer [OFFLOAD]: ping and 1 MiB of TCP each way over a TAP on a bridge;
# OFFLOAD is an extra --net option (",offload=off").
net_xfer() {
	local br=l1br$$ tap=l1tap$$ ok=0
	ip link add "$br" type bridge && ip addr add 10.77.0.1/24 dev "$br" && ip link set "$br" up ||
		return 1
	head -c 1048576 /dev/urandom >"$W/h2g"
	socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$W/g2h" &
	local nc_pid=$!
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --net "tap=$tap,mac=02:00:00:77:00:02,bridge=$br${1:-}" \
		--cmdline "$BASE l2=net"
	if wait_for "$W/out" NET-LISTENING; then
		socat -u "FILE:$W/h2g" TCP:10.77.0.2:5002,connect-timeout=30 ||
			log "TCP to the guest failed"
	fi
	vm_wait
	kill "$nc_pid" 2>/dev/null
	wait "$nc_pid" 2>/dev/null
	ip link del "$tap" 2>/dev/null
	ip link del "$br"
	log "g2h: guest $(field "$W/out" G2H-MD5), host $(md5 "$W/g2h"); h2g: host $(md5 "$W/h2g")"
	has "$W/out" "PING-OK 3" && [ "$(field "$W/out" G2H-MD5)" = "$(md5 "$W/g2h")" ] &&
		[ "$(field "$W/out" H2G-MD5)" = "$(md5 "$W/h2g")" ] && [ "$RC" = 0 ] && ok=1
	log "negotiated features $(field "$W/out" NET-FEATURES)"
	[ $ok = 1 ]
}

# With the offloads (the default), Linux's driver takes CSUM (0), GUEST_CSUM
# (1), GUEST_TSO4 (7) and HOST_TSO4 (11): the transfers go as partially
# checksummed and segmentation-offloaded frames.
t_net() {
	net_xfer && [ "$(bit "$W/out" NET-FEATURES 0)$(bit "$W/out" NET-FEATURES 1)" = 11 ] &&
		[ "$(bit "$W/out" NET-FEATURES 7)$(bit "$W/out" NET-FEATURES 11)" = 11 ]
}

# offload=off: none of those is offered, so every frame is complete and checksummed.
t_net_nooffload() {
	local b
	net_xfer ,offload=off || return 1
	for b in 0 1 7 8 11 12; do
		[ "$(bit "$W/out" NET-FEATURES $b)" = 0 ] || { log "feature bit $b on" && return 1; }
	done
	[ "$(bit "$W/out" NET-FEATURES 5)" = 1 ] # MAC: the string is the real one
}

t_vsock() {
	local uds=$W/v.sock
	socat -u "UNIX-LISTEN:${uds}_5000" "CREATE:$W/g2h" &
	local l_pid=$!
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --vsock "cid=3,uds=$uds" --cmdline "$BASE l2=vsock"
	if wait_for "$W/out" VSOCK-LISTENING; then
		# Firecracker's protocol: "CONNECT port\n", answered "OK hostport\n".
		# The guest prints VSOCK-LISTENING as its socat starts, not once it
		# listens: a CONNECT that comes first is reset by the guest and the
		# VMM closes our socket (seen in CI).  Retry then, as a client would.
		local try s_pid i
		for try in 1 2 3 4 5 6 7 8 9 10; do
			rm -f "$W/in" "$W/resp"
			mkfifo "$W/in"
			socat -t 10 - "UNIX-CONNECT:$uds" <"$W/in" >"$W/resp" &
			s_pid=$!
			# Each FIFO here is opened read-write: that open does not
			# block, so a signal cannot interrupt it.  busybox sh does
			# not restart an open(2) cut by SIGCHLD, and a failed
			# redirection on exec ends the test (CI 24: "can't create
			# /tmp/l1w/in: Interrupted system call").
			exec 3<>"$W/in"
			echo "CONNECT 52" >&3
			i=0
			while ! grep -Eq "^OK [0-9]+" "$W/resp" && kill -0 "$s_pid" 2>/dev/null &&
				[ $i -lt $((l1timeout * 10)) ]; do
				sleep 0.1
				i=$((i + 1))
			done
			if grep -Eq "^OK [0-9]+" "$W/resp"; then
				log "CONNECT answered on try $try"
				echo "hello from L1" >&3
				exec 3>&-
				break
			fi
			exec 3>&-
			kill "$s_pid" 2>/dev/null
			wait "$s_pid" 2>/dev/null
			log "CONNECT try $try: no OK ($(cat "$W/resp"))"
			sleep 1
		done
	fi
	vm_wait
	kill "$l_pid" 2>/dev/null
	wait "$l_pid" 2>/dev/null
	log "host got: $(cat "$W/g2h" 2>/dev/null); response: $(cat "$W/resp" 2>/dev/null)"
	has "$W/g2h" "hello from the guest" && has "$W/out" "H2G hello from L1" && [ "$RC" = 0 ]
}

t_rng() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --rng --cmdline "$BASE l2=rng"
	has "$W/out" "RNG-CURRENT virtio_rng" && has "$W/out" "RNG-BYTES 65536" &&
		[ "$(field "$W/out" RNG-GZ)" -gt 4000 ] && [ "$RC" = 0 ]
}

t_balloon() {
	local id=l1bal$$
	export ISOLA_VM_RUNDIR=$W/run
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --id "$id" --balloon --cmdline "$BASE l2=balloon"
	wait_for "$W/out" BALLOON-READY && "$ISOLA_BIN" vm update --balloon 100 "$id" >&2
	vm_wait
	unset ISOLA_VM_RUNDIR
	has "$W/out" BALLOON-INFLATED && [ "$RC" = 0 ]
}

# isola_pid PID: PID when it is isola (busybox timeout execs the command),
# else its child isola (coreutils timeout forks it: run.sh --direct).
isola_pid() {
	local f pid comm ppid
	[ "$(cat "/proc/$1/comm")" = isola ] && echo "$1" && return
	for f in /proc/[0-9]*/stat; do
		read -r pid comm _ ppid _ <"$f" 2>/dev/null || continue
		[ "$ppid" = "$1" ] && [ "$comm" = "(isola)" ] && echo "$pid" && return
	done
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Free page reporting: the guest fills and frees 128 MiB and isola's RSS
# drops by at least 64 MiB without an inflate (the target stays 0, MemTotal
# does not move).  The console's input paces the guest: one line after the
# base RSS is read, one after the filled RSS, one after the freed RSS.
t_balloon_report() {
	local pid base high low=0 i=0
	mkfifo "$W/in"
	# A boot, 128 MiB written and the wait for the reports: up to the test's
	# whole watchdog budget, not one isola timeout.
	# shellcheck disable=SC2046
	timeout $((l1timeout * 2 - 20)) "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci $(linux) \
		--balloon --cmdline "$BASE l2=balloon-report" <"$W/in" >"$W/out" 2>&1 &
	VM_PID=$!
	exec 3<>"$W/in"
	# The guest waits for a line after each step, so base is read before
	# the fill (CI 20 read it after: base == filled).
	wait_for "$W/out" REPORT-TOTAL && pid=$(isola_pid "$VM_PID") && base=$(rss_kib "$pid") && echo go >&3
	wait_for "$W/out" REPORT-FILLED && high=$(rss_kib "$pid") && echo go >&3
	if wait_for "$W/out" REPORT-FREED; then
		low=$(rss_kib "$pid")
		while [ "${low:-0}" -gt $((high - 65536)) ] && [ $i -lt 1200 ]; do
			sleep 0.1
			i=$((i + 1))
			low=$(rss_kib "$pid")
		done
	fi
	echo done >&3
	vm_wait
	exec 3>&-
	log "isola RSS: ${base:-?} KiB booted, ${high:-?} filled, $low freed (after $((i / 10)) s)"
	log "balloon features $(field "$W/out" BALLOON-FEATURES)"
	[ "$(bit "$W/out" BALLOON-FEATURES 5)" = 1 ] && [ "$RC" = 0 ] &&
		[ "$high" -gt $((base + 65536)) ] && [ "$low" -le $((high - 65536)) ] &&
		[ "$(grep -c "^REPORT-TOTAL $(field "$W/out" REPORT-TOTAL)" "$W/out")" = 2 ]
}

t_serial() {
	mkfifo "$W/in"
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M $(linux) --cmdline "$BASE l2=serial" \
		<"$W/in" >"$W/out" 2>&1 &
	VM_PID=$!
	exec 3<>"$W/in"
	# shellcheck disable=SC2016
	wait_for "$W/out" SHELL-READY && printf 'echo TYPED-$((6 * 7))\nreboot -f\n' >&3
	vm_wait
	exec 3>&-
	has "$W/out" TYPED-42 && [ "$RC" = 0 ]
}

# blk_tags_bad IMAGE LAST: how many of blocks 1..LAST lack the tag the migrate
# guest (l2-init.sh) writes into block i.
blk_tags_bad() {
	local j=1 bad=0
	while [ $j -le "$2" ]; do
		[ "$(dd if="$1" bs=4096 skip=$j count=1 2>/dev/null | head -c 21)" = \
			"$(printf 'isola-l2-blk-%08d' $j)" ] || bad=$((bad + 1))
		j=$((j + 1))
	done
	echo $bad
}

# Snapshot and restore of a booted guest with a virtio-pci disk: the guest of
# the migrate test (a tagged block written through with fsync each second; no
# NIC here, so its pings fail at once) is saved on SIGUSR2 and goes on; then
# it is stopped and the snapshot restored onto the same image: the counter
# goes on from the snapshot, and afterwards every block 1..last holds its tag.
t_snapshot() {
	local pid first snap last bad=0 d
	truncate -s 16M "$W/d.img"
	d=$(realpath "$W/d.img")
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci $(linux) \
		--disk "$d" --cmdline "$BASE l2=migrate pingw=1" \
		--snapshot-state "$W/st" --snapshot-mem "$W/mem" </dev/null >"$W/out1" 2>&1 &
	pid=$!
	wait_for "$W/out1" "^CNT 3" || { kill "$pid"; wait "$pid"; return 1; }
	kill -USR2 "$pid"
	wait_for "$W/out1" "^CNT 5" 60
	wait_file "$W/st" 30
	kill "$pid"
	wait "$pid"
	snap=$(grep -c '^CNT' "$W/out1")
	[ -f "$W/st" ] || { log "no snapshot state file"; cat "$W/out1" >&2; return 1; }
	timeout "$l1timeout" "$ISOLA_BIN" vm restore --state "$W/st" --mem "$W/mem" \
		</dev/null >"$W/out" 2>&1 &
	pid=$!
	local ok=0
	wait_for "$W/out" "^CNT $((snap + 1))" && ok=1
	kill "$pid" 2>/dev/null
	wait "$pid"
	first=$(grep -m1 '^CNT' "$W/out" | cut -d' ' -f2 | tr -dc 0-9)
	last=$(grep '^CNT' "$W/out" | tail -1 | cut -d' ' -f2 | tr -dc 0-9)
	bad=$(blk_tags_bad "$d" "${last:-0}")
	log "snapshot taken around CNT 3-$snap; restored guest first printed CNT $first;" \
		"disk: blocks 1-${last:-0} checked, $bad wrong"
	[ $ok = 1 ] && [ "${first:-0}" -gt 2 ] && [ "${last:-0}" -gt "$snap" ] && [ $bad = 0 ] &&
		hasnt "$W/out" "Linux version" && hasnt "$W/out" BLK-WRITE-FAILED
}

# A share no guest driver has taken yet goes into a snapshot (what a warm
# template's would be), and the restore points it at another directory
# (--fs-remap): the restored guest loads virtiofs, mounts the share and reads
# the new directory; its write lands there, not in the snapshot's directory.
# Once the guest drives the share, PUT /snapshot/create is refused (400,
# naming the share) and the VM runs on to its normal end.
t_fs_snapshot() {
	local pid ok=1 t=$W/tmpl s=$W/real snap
	rm -rf "$t" "$s"
	mkdir -p "$t" "$s"
	echo template >"$t/which"
	echo remapped >"$s/which"
	# shellcheck disable=SC2046
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci $(linux) \
		--fs "tag=share,path=$t" --cmdline "$BASE l2=fssnap" \
		--snapshot-state "$W/st" --snapshot-mem "$W/mem" </dev/null >"$W/out1" 2>&1 &
	pid=$!
	wait_for "$W/out1" "^FSSNAP-WAITING" || { kill "$pid"; wait "$pid"; return 1; }
	kill -USR2 "$pid"
	wait_file "$W/st" 60
	kill "$pid"
	wait "$pid"
	[ -f "$W/st" ] || { log "no snapshot: $(tr -d '\r' <"$W/out1" | tail -3)"; return 1; }
	mkfifo "$W/in"
	timeout "$l1timeout" "$ISOLA_BIN" vm restore --state "$W/st" --mem "$W/mem" \
		--fs-remap "share=$s" --api-sock "$W/api.sock" <"$W/in" >"$W/out" 2>&1 &
	VM_PID=$!
	exec 3<>"$W/in"
	echo go >&3
	wait_for "$W/out" "^FSSNAP-DONE" || ok=0
	snap="{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$W/st2\",\"mem_file_path\":\"$W/mem2\"}"
	api_req PUT /snapshot/create "$snap" >"$W/r1"
	echo done >&3
	vm_wait
	exec 3>&-
	log "guest read: $(field "$W/out" FSSNAP-FILE); snapshot of the driven share: $(tail -1 "$W/r1")"
	has "$W/out" "FSSNAP-FILE remapped" && has "$s/g" guest-wrote && [ ! -e "$t/g" ] &&
		hasnt "$W/out" FSSNAP-MOUNT-FAILED && hasnt "$W/out" "Linux version" &&
		has "$W/r1" "HTTP/1.1 400" && has "$W/r1" "virtio-fs .share.*drives a share" &&
		[ ! -e "$W/st2" ] && has "$W/out" L2-DONE || ok=0
	rm -rf "$t" "$s"
	[ "$RC" = 0 ] && [ $ok = 1 ]
}

# Live migration between two isola processes in L1: a booted Debian guest with a
# virtio-pci disk and NIC (on an L1 bridge; the destination attaches its own TAP,
# --net-remap) moves mid-run; its counter goes on at the destination, it still
# pings L1 there, and every block it wrote (before and after) holds its tag.
t_migrate() {
	local br=l1mbr$$ ta=l1ma$$ tb=l1mb$$ n last first j bad=0 ok=1 d macs
	truncate -s 16M "$W/d.img"
	d=$(realpath "$W/d.img")
	# The bridge has a MAC of its own: one without takes its ports' lowest, so
	# the gateway's MAC would change under the guest's ARP cache when the
	# source's TAP leaves (the guest then loses its pings until its entry goes
	# stale: up to ~45 s).  isola's TAPs start with 0xfe, above most MACs.
	ip link add "$br" type bridge && ip link set "$br" address 02:00:00:77:00:01 &&
		ip addr add 10.77.0.1/24 dev "$br" && ip link set "$br" up || return 1
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --disk "$d" --net "tap=$ta,mac=02:00:00:77:00:02,bridge=$br" \
		--api-sock "$W/api.sock" --cmdline "$BASE l2=migrate pingw=10"
	timeout "$l1timeout" "$ISOLA_BIN" vm receive --listen "unix:$W/in.sock" \
		--console "$W/out2" --disk-remap "$d=$d" --net-remap "$ta=$tb" </dev/null \
		>"$W/dst.log" 2>&1 &
	local dst=$!
	if wait_for "$W/out" "^CNT 3 ok"; then
		"$ISOLA_BIN" vm migrate --api-sock "$W/api.sock" --to "unix:$W/in.sock" >"$W/mig" 2>&1 ||
			ok=0
	else
		ok=0
	fi
	log "vm migrate: $(cat "$W/mig" 2>/dev/null)"
	vm_wait # the source exits 0 once the destination runs the guest
	macs="bridge $(cat "/sys/class/net/$br/address"), destination's TAP $(cat "/sys/class/net/$tb/address")"
	[ "$RC" = 0 ] || ok=0
	n=$(grep -c '^CNT' "$W/out")
	# Pings answered from the destination (its console holds only lines after the
	# migration): two of them, within 150 s (an L2 second is slow under TCG).
	j=0
	while [ "$(tr -d '\r' <"$W/out2" | grep -c ' ok ')" -lt 2 ] && [ $j -lt 1500 ]; do
		sleep 0.1
		j=$((j + 1))
	done
	[ $j -lt 1500 ] || { log "no two pings answered at the destination" && ok=0; }
	log "two answers $((j / 10)) s after the source's exit; the TAPs: $(for t in "$ta" "$tb"; do
		[ -d "/sys/class/net/$t" ] && echo "$t rx=$(cat "/sys/class/net/$t/statistics/rx_packets")" \
			"tx=$(cat "/sys/class/net/$t/statistics/tx_packets")" \
			"master=$(basename "$(readlink "/sys/class/net/$t/master")")"
	done)"
	kill "$dst" 2>/dev/null
	wait "$dst"
	ip link del "$br"
	cat "$W/dst.log" >&2
	tr -d '\r' <"$W/out2" >"$W/out2.txt"
	last=$(grep '^CNT' "$W/out2.txt" | tail -1 | cut -d' ' -f2)
	first=$(grep -m1 '^CNT' "$W/out2.txt" | cut -d' ' -f2)
	log "source printed CNT 1-$n, destination CNT ${first:-none}-${last:-none}"
	log "destination: $(grep -c ' ok ' "$W/out2.txt") pings answered," \
		"$(grep -c ' lost' "$W/out2.txt") lost (no answer within 10 s): $(grep ' lost' "$W/out2.txt" | tr '\n' ' ');" \
		"round trips (ms): $(sed -n 's/^CNT [0-9]* ok rtt=//p' "$W/out2.txt" | tr '\n' ' ')"
	# n + 1 unless a kernel message shared the console line (then grep misses one)
	[ "${first:-0}" -ge "$n" ] && [ "$first" -le $((n + 3)) ] || ok=0
	bad=$(blk_tags_bad "$d" "${last:-0}")
	log "disk: blocks 1-${last:-0} checked, $bad wrong; MACs: $macs"
	# At most the ping in flight at the pause goes unanswered (its answer went to
	# the source's TAP); the TAP isola made has a 0xfe MAC.
	[ "$(grep -c ' lost' "$W/out2.txt")" -le 1 ] || { log "pings lost at the destination" && ok=0; }
	echo "$macs" | grep -q "TAP fe:" || { log "the TAP's MAC does not start with fe" && ok=0; }
	[ $ok = 1 ] && [ $bad = 0 ] && hasnt "$W/out2" "Linux version" && hasnt "$W/out2" BLK-WRITE-FAILED
}

smp() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cpus "$1" --cmdline "$BASE l2=smp"
	has "$W/out" "Using ACPI (MADT)" && has "$W/out" "NPROC=$1" && [ "$RC" = 0 ]
}
t_smp2() { smp 2; }
t_smp4() { smp 4; }

# isola's own hello guest under L1's KVM: its line and exit status 0, five
# times; the VMM's peak RSS (VmHWM, which --debug logs as the vCPUs stop) is
# logged for the record (docs/performance.md; no assert on a number).  Not
# busybox's `time -v`: it reports ru_maxrss in pages, and a child's ru_maxrss
# counts the forked busybox the exec replaced.
t_hello_rss() {
	local i max=0 k
	[ -f "$L2DIR/hello.elf" ] || { echo "hello.elf not built (guest/)"; return 77; }
	for i in 1 2 3 4 5; do
		RC=0
		"$ISOLA_BIN" --debug vm run --memory 64M --kernel "$L2DIR/hello.elf" \
			>"$W/out" 2>"$W/out.err" || RC=$?
		[ "$RC" = 0 ] && has "$W/out" "hello from isola guest" || return 1
		k=$(sed -n "s/.*peak RSS (VmHWM): \([0-9]*\) KiB.*/\1/p" "$W/out.err")
		[ -n "$k" ] || { log "no VmHWM line in: $(tail -3 "$W/out.err")"; return 1; }
		[ "$k" -gt "$max" ] && max=$k
	done
	log "hello: VMM peak RSS (VmHWM) ${max} KiB, the largest of 5 runs"
}

t_poweroff() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "$BASE l2=poweroff"
	has "$W/out" L2-USERSPACE-UP && has "$W/out" "sleep state S5" && [ "$RC" = 0 ]
}

# PUT /actions SendCtrlAltDel: Linux's i8042 and atkbd drivers find the
# keyboard (ACPI PNP0303), and the keys reach the VT keyboard handler.  First
# with kernel.ctrl-alt-del 0 (what init systems set): init gets SIGINT.  Then
# with 1 (the kernel's default): the kernel restarts at once (reboot=k: the
# i8042's reset line), and isola exits 0 without init's own reboot (L2-DONE).
# The same through the userspace IOAPIC: IRQ 1 is an edge pin there too.
t_cad_split() { t_cad --irqchip split; }

# A timed sleep in a Linux guest, in-kernel and split irqchip.  The guest's
# tick is the LAPIC in TSC-deadline mode (isola offers it, as KVM emulates
# it): no PIT calibration at boot, and with --irqchip split (no 8259, so no
# IRQ 0 to request) a timer at all; before, that guest's per-CPU tick was the
# PIT without its interrupt and `sleep 0.1` never returned.
timer() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "$BASE l2=clock" "$@"
	tr -d '\r' <"$W/out" | grep -E "^(CLOCK|IRQS)|APIC timer|legacy timer|Switched to" |
		cut -c1-200 >&2
	has "$W/out" "^SLEPT" && has "$W/out" "^CLOCKEVENT Clock Event Device: lapic-deadline" &&
		hasnt "$W/out" "Failed to register legacy timer interrupt" && has "$W/out" L2-DONE &&
		[ "$RC" = 0 ]
}
t_timer() { timer; }
t_timer_split() { timer --irqchip split; }

kclock() { tr -d '\r' <"$1" | grep -m1 "^\[ *[0-9.]*\] $2" | sed 's/^\[ *\([0-9.]*\)\].*/\1/'; }

t_cad() { # [ISOLA OPTION...]
	local ok=1
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --api-sock "$W/api.sock" "$@" --cmdline "$BASE l2=cad"
	wait_for "$W/out" "^CAD-READY" || { kill "$VM_PID" 2>/dev/null && ok=0; }
	api_req PUT /actions '{"action_type":"SendCtrlAltDel"}' >"$W/r1"
	wait_for "$W/out" "^CAD-ARMED" 60 || ok=0
	api_req PUT /actions '{"action_type":"SendCtrlAltDel"}' >"$W/r2"
	wait_for "$W/out" "reboot: Restarting system" 60 || kill "$VM_PID" 2>/dev/null
	vm_wait
	# What the probe cost the boot: the kernel's clock at the controller's
	# discovery, at its keyboard port (the synchronous part) and at atkbd's bind.
	log "kernel clock: i8042 found $(kclock "$W/out" 'i8042: PNP: PS/2 Controller') s," \
		"KBD port $(kclock "$W/out" 'serio: i8042 KBD port') s," \
		"keyboard bound $(kclock "$W/out" 'input: AT .*keyboard') s"
	log "keyboard: $(field "$W/out" CAD-KBD)"
	has "$W/out" 'CAD-KBD .*AT .*keyboard' && has "$W/r1" "HTTP/1.1 204" &&
		has "$W/out" "^CAD-SIGINT" && has "$W/r2" "HTTP/1.1 204" &&
		has "$W/out" "reboot: Restarting system" && hasnt "$W/out" L2-DONE || ok=0
	[ "$RC" = 0 ] && [ $ok = 1 ]
}

# VM containers: isola run --vm with the generic kernel and a busybox image
# (tests/l1/run.sh build_vmct), in a copy of the store under $W.
VMCT_KVER=$(ls "$L2DIR/vmct/lib/modules" 2>/dev/null)
VMCT_ARGS="--vm-kernel $L2DIR/vmlinuz --vm-modules $L2DIR/vmct/lib/modules/$VMCT_KVER"
# run IMAGE's default is the bridge network: only the vmct-net* tests ask for it.
export ISOLA_NETWORK=none

# The tests above and the OCI mode's boot cold (they predate warm starts and
# should not each pay a template build); the vmct-warm* tests take the default.
export ISOLA_VM_COLD=1

vmct_run() { # ARGS...: isola run --vm --rm with the bed's kernel and store
	[ -d "$W/store" ] || cp -a "$L2DIR/vmct/store" "$W/store"
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store timeout "$l1timeout" "$ISOLA_BIN" run --vm --rm $VMCT_ARGS "$@"
}

vmct() { # OUT ARGS...: stdin from $VMCT_IN (default /dev/null), stdout to OUT, stderr to OUT.err; sets RC
	local out=$1
	shift
	RC=0
	vmct_run "$@" <"${VMCT_IN:-/dev/null}" >"$out" 2>"$out.err" || RC=$?
	log "isola run --vm $*: status $RC; stderr: $(cat "$out.err")"
}

t_vmct_echo() {
	vmct "$W/out" localhost/bb:1 echo hi
	[ "$RC" = 0 ] && [ "$(cat "$W/out")" = hi ]
}

t_vmct_exit() {
	vmct "$W/out" localhost/bb:1 sh -c 'echo to-stderr >&2; exit 7'
	[ "$RC" = 7 ] && has "$W/out.err" to-stderr && hasnt "$W/out" to-stderr
}

# The process runs on the guest's kernel (generic), not L1's (cloud).
t_vmct_kernel() {
	local want
	want=$VMCT_KVER
	vmct "$W/out" localhost/bb:1 uname -r
	log "guest $(cat "$W/out"), L1 $(uname -r), want $want"
	[ "$RC" = 0 ] && [ "$(cat "$W/out")" = "$want" ] && [ "$want" != "$(uname -r)" ]
}

# L1's processes and files are not in the VM: a marker process and file in L1
# cannot be seen.  The process is PID 1 of a PID namespace of its own: the
# agent (/init) and the guest's kernel threads are not in its ps or /proc.
# run IMAGE's masked and read-only paths hold in the guest (/proc/kcore is
# /dev/null, /sys/firmware empty, /proc/sys read-only).
t_vmct_isolation() {
	local mark=l1-marker-$$ pid
	sleep 987654 &
	pid=$!
	echo "$mark" >"/tmp/$mark"
	vmct "$W/out" localhost/bb:1 sh -c "echo PID \$\$; ps -o pid,comm; cat /tmp/$mark || echo NO-FILE; echo NPROC \$(ls -d /proc/[0-9]* | wc -l)
		echo KCORE \$(wc -c </proc/kcore) FIRMWARE \$(ls /sys/firmware | wc -l)
		echo x >/proc/sys/kernel/hostname || echo SYS-RO"
	kill "$pid"
	wait "$pid" 2>/dev/null
	rm -f "/tmp/$mark"
	cat "$W/out" >&2
	[ "$RC" = 0 ] && hasnt "$W/out" 987654 && has "$W/out" NO-FILE && hasnt "$W/out" "^$mark" &&
		has "$W/out" '^PID 1$' && has "$W/out" '^ *1 sh$' && hasnt "$W/out" ' init$' &&
		hasnt "$W/out" kthreadd && [ "$(field "$W/out" NPROC)" -lt 8 ] &&
		has "$W/out" '^KCORE 0 FIRMWARE 0$' && has "$W/out" '^SYS-RO$'
}

# --init: PID 1 is the agent's init, the command PID 2; an orphan is reaped
# (no zombie), the command's status is the run's, a signal's as 128 + N.
t_vmct_init() {
	local ok=0
	vmct "$W/out" --init localhost/bb:1 sh -c '
		echo PID $$; ps -o pid,comm
		(sleep 0.3 &); sleep 2
		echo ZOMBIES $(ps -o stat | grep -c "^Z"); exit 9'
	cat "$W/out" >&2
	[ "$RC" = 9 ] && has "$W/out" '^PID 2$' && has "$W/out" '^ *1 init$' &&
		has "$W/out" '^ZOMBIES 0$' || ok=1
	vmct "$W/out2" --init localhost/bb:1 sh -c 'kill -KILL $$'
	[ "$RC" = 137 ] || ok=1
	# Without --init the process is PID 1: its own SIGKILL does not reach it.
	vmct "$W/out3" localhost/bb:1 sh -c 'kill -KILL $$; echo STILL-HERE'
	[ "$RC" = 0 ] && has "$W/out3" '^STILL-HERE$' || ok=1
	return $ok
}

# The container's root is "/" of a mount namespace, not a chroot: root with
# CAP_SYS_CHROOT (run IMAGE's default set) cannot walk ".." out of a second
# chroot into the agent's initramfs (escape.c; before, it printed ESCAPED).
t_vmct_escape() {
	vmct "$W/out" localhost/bb:2 /bin/escape
	log "guest: $(cat "$W/out")"
	[ "$RC" = 0 ] && has "$W/out" '^CONTAINED$'
}

# The privileges of config.json apply in the guest: run IMAGE's config has
# podman 4's 11 default capabilities (CapBnd 800405fb: runc's 14, a80425fb,
# less NET_RAW, MKNOD and AUDIT_WRITE), noNewPrivileges and RLIMIT_NOFILE
# 1024/1024 (the guest's default hard limit is 4096), so root in the VM
# cannot mount (no CAP_SYS_ADMIN) nor open a raw socket; its linux.sysctl
# net.ipv4.ping_group_range "0 0" is the guest's, so it pings lo through an
# ICMP datagram socket (icmp-probe, in bb:2).  Before protocol 3 the process
# kept every capability (CapBnd 1ffffffffff) and mounted.
t_vmct_priv() {
	vmct "$W/out" localhost/bb:2 sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs):" /proc/self/status;
		echo "NOFILE $(ulimit -Hn)"; mount -t tmpfs t /tmp && echo MOUNTED;
		echo "PGR $(cat /proc/sys/net/ipv4/ping_group_range)"; icmp-probe raw;
		icmp-probe ping 127.0.0.1; echo END'
	log "guest: $(cat "$W/out")"
	[ "$RC" = 0 ] && has "$W/out" '^CapBnd:.*00000000800405fb$' &&
		has "$W/out" '^CapEff:.*00000000800405fb$' && has "$W/out" '^NoNewPrivs:.1$' &&
		hasnt "$W/out" MOUNTED && has "$W/out" '^END$' && has "$W/out" '^NOFILE 1024$' &&
		has "$W/out" '^PGR 0.0$' && has "$W/out" '^fail raw socket: Operation not permitted$' &&
		has "$W/out" '^ok reply from 127.0.0.1$'
}

# vol_check DIR RODIR OUT: what vol_script did, seen from L1: the guest read L1's
# file and the read-only share's, its new file, directory and rename are in DIR,
# its removal too, and the read-only share refused its write.
VOL_SCRIPT='cat /data/in.txt; echo from-guest >/data/out.txt; mkdir /data/newdir;
	echo x >/data/newdir/f; mv /data/sub /data/sub2; rm /data/in.txt; cat /ro/f;
	echo no >/ro/g && echo RO-WRITABLE; ls /data; echo END'
vol_setup() { # DIR RODIR
	rm -rf "$1" "$2"
	mkdir -p "$1/sub" "$2"
	echo from-l1 >"$1/in.txt"
	echo ro-file >"$2/f"
}
vol_check() { # DIR RODIR OUT
	log "guest: $(cat "$3")"
	has "$3" '^from-l1$' && has "$3" '^ro-file$' && has "$3" '^END$' && hasnt "$3" RO-WRITABLE &&
		[ "$(cat "$1/out.txt")" = from-guest ] && [ "$(cat "$1/newdir/f")" = x ] &&
		[ -d "$1/sub2" ] && [ ! -e "$1/sub" ] && [ ! -e "$1/in.txt" ] && [ ! -e "$2/g" ]
}

# -v DIR:/data and DIR:/ro:ro: L1's directories shared live with the guest (virtio-fs).
t_vmct_volume() {
	vol_setup "$W/vol" "$W/volro"
	vmct "$W/out" -v "$W/vol:/data" -v "$W/volro:/ro:ro" localhost/bb:1 sh -c "$VOL_SCRIPT"
	[ "$RC" = 0 ] && vol_check "$W/vol" "$W/volro" "$W/out"
}

# The same warm: the first run builds a template with two shares (of an empty
# placeholder, which no driver takes before the snapshot), the second restores
# it with each share remapped onto its volume; both work on L1's directories
# through the guest's virtiofs mounts, and neither falls back to a cold boot.
t_vmct_warm_volume() {
	local i
	for i in 1 2; do
		vol_setup "$W/vol" "$W/volro"
		warm "$W/out$i" -v "$W/vol:/data" -v "$W/volro:/ro:ro" localhost/bb:1 \
			sh -c "$VOL_SCRIPT; grep -o isola.warm=1 /proc/cmdline"
		[ "$RC" = 0 ] && vol_check "$W/vol" "$W/volro" "$W/out$i" && warm_ok "$W/out$i" &&
			has "$W/out$i" '^isola.warm=1$' || return 1
	done
	log "templates: $(ls "$WARM_STORE/vm" | grep -c '^warm-')"
}

# -i: stdin reaches the process, and its end is the process's EOF.
# Flow control: 4 MB of stdin wait while the process first writes 2 MB of
# output, then reads them.  Before the queues (protocol 3) the agent blocked
# writing stdin into the full pipe while the process blocked writing stdout:
# both waited for ever (here: until the timeout, status 124).  vmct-exec does
# the same through vmct_exec's relay.
t_vmct_stdin_flow() {
	local n
	busybox head -c 4000000 /dev/zero >"$W/in"
	VMCT_IN=$W/in vmct "$W/out" -i localhost/bb:1 sh -c \
		'busybox head -c 2000000 /dev/zero; echo "READ $(wc -c)" >&2'
	n=$(wc -c <"$W/out")
	log "stdout: $n bytes"
	[ "$RC" = 0 ] && [ "$n" = 2000000 ] && has "$W/out.err" '^READ 4000000$'
}

t_vmct_stdin() {
	printf 'line one\nline two\n' >"$W/in"
	VMCT_IN=$W/in vmct "$W/out" -i localhost/bb:1 sh -c 'cat; echo END'
	[ "$RC" = 0 ] && [ "$(cat "$W/out")" = "$(printf 'line one\nline two\nEND')" ]
}

# SIGTERM to isola reaches the process in the VM; its status comes back (128 + 15).
t_vmct_signal() {
	cp -a "$L2DIR/vmct/store" "$W/store"
	# A simple command, so that $! is isola itself (the test's watchdog bounds it).
	# --init: sleep is not PID 1 (which would ignore TERM), the agent's init forwards it.
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store "$ISOLA_BIN" run --vm --rm --init $VMCT_ARGS localhost/bb:1 \
		sh -c 'echo STARTED; exec sleep 1000' </dev/null >"$W/out" 2>"$W/out.err" &
	local pid=$!
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = isola ] || log "pid $pid is $(cat /proc/$pid/comm)"
	wait_for "$W/out" STARTED || {
		kill -KILL "$pid"
		wait "$pid"
		return 1
	}
	kill -TERM "$pid"
	RC=0
	wait "$pid" || RC=$?
	log "status after SIGTERM: $RC; stderr: $(cat "$W/out.err")"
	[ "$RC" = 143 ]
}

# Five runs leave no VMM process, socket dir, bundle, mount or stray disk image.
t_vmct_clean() {
	local i
	for i in 1 2 3 4 5; do
		vmct "$W/out$i" localhost/bb:1 true
		[ "$RC" = 0 ] || return 1
	done
	local left
	left=$(ps -o args 2>/dev/null | grep '[v]m run' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && return 1; }
	! ls -d /tmp/isola-vmct-* 2>/dev/null || { log "socket dirs left" && return 1; }
	[ -z "$(ls "$W/store/containers")" ] || { log "bundles left" && return 1; }
	! grep -q "$W/store" /proc/mounts || { log "mounts left" && return 1; }
	ls -l "$W/store/vm" >&2
	[ "$(ls "$W/store/vm" | wc -l)" = 2 ]
}

# Warm starts (docs/vm-containers.md): run --vm restores a template VM.  The
# vmct-warm* tests share one store outside $W (the template is built once per
# L1 boot); vmct-warm-clean, the last, removes it.
WARM_STORE=/tmp/l1-warm-store

warm() { # OUT ARGS...: like vmct, on the default (warm) path and the shared store
	local out=$1
	shift
	[ -d "$WARM_STORE" ] || cp -a "$L2DIR/vmct/store" "$WARM_STORE"
	RC=0
	# shellcheck disable=SC2086
	ISOLA_VM_COLD= ISOLA_STORE=$WARM_STORE timeout "$l1timeout" "$ISOLA_BIN" run --vm --rm \
		$VMCT_ARGS "$@" </dev/null >"$out" 2>"$out.err" || RC=$?
	log "isola run --vm (warm) $*: status $RC; stderr: $(cat "$out.err")"
}

# A warm run: no fallback note, and the guest was restored from the template
# (its kernel command line is the template's, with isola.warm=1).
warm_ok() { # OUT
	hasnt "$1.err" "no warm start" && hasnt "$1.err" "booting the VM cold"
}

# The first run builds the template, the next ones restore it: echo hi, exit codes.
t_vmct_warm() {
	warm "$W/out1" localhost/bb:1 echo hi
	[ "$RC" = 0 ] && [ "$(cat "$W/out1")" = hi ] && warm_ok "$W/out1" || return 1
	ls -l "$WARM_STORE/vm" >&2
	warm "$W/out2" localhost/bb:1 sh -c 'cat /proc/cmdline; echo to-stderr >&2; exit 7'
	[ "$RC" = 7 ] && has "$W/out2" "isola.warm=1" && has "$W/out2.err" to-stderr &&
		warm_ok "$W/out2" || return 1
	warm "$W/out3" localhost/bb:1 echo hi again
	[ "$RC" = 0 ] && [ "$(cat "$W/out3")" = "hi again" ] && warm_ok "$W/out3"
}

# Two images from one template: each container sees its own root disk (of another size).
t_vmct_warm_images() {
	warm "$W/out1" localhost/bb:1 sh -c 'cat /etc/which-image 2>/dev/null || echo none; ls /; cat /proc/cmdline'
	[ "$RC" = 0 ] && has "$W/out1" '^none$' && hasnt "$W/out1" blob && warm_ok "$W/out1" || return 1
	warm "$W/out2" localhost/bb:2 sh -c 'echo "$(cat /etc/which-image)"; wc -c </blob; cat /proc/cmdline'
	[ "$RC" = 0 ] && has "$W/out2" '^two$' && has "$W/out2" '^4000000$' &&
		has "$W/out2" "isola.warm=1" && warm_ok "$W/out2" || return 1
	warm "$W/out3" localhost/bb:1 sh -c 'cat /etc/which-image 2>/dev/null || echo none'
	[ "$RC" = 0 ] && has "$W/out3" '^none$' && warm_ok "$W/out3"
}

# Clones of one snapshot share its RNG state: the agent reseeds it from the host.
t_vmct_warm_rng() {
	local cmd='cat /proc/sys/kernel/random/uuid; head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"; echo
		cat /proc/sys/kernel/random/boot_id'
	warm "$W/out1" localhost/bb:1 sh -c "$cmd" && warm "$W/out2" localhost/bb:1 sh -c "$cmd"
	log "first: $(cat "$W/out1"); second: $(cat "$W/out2")"
	[ "$(wc -l <"$W/out1")" = 3 ] && [ "$(wc -l <"$W/out2")" = 3 ] || return 1
	warm_ok "$W/out1" && warm_ok "$W/out2" || return 1
	[ "$(sed -n 1p "$W/out1")" != "$(sed -n 1p "$W/out2")" ] &&
		[ "$(sed -n 2p "$W/out1")" != "$(sed -n 2p "$W/out2")" ] || return 1
	# Each clone has a boot id of its own, shaped as the kernel's.
	sed -n 3p "$W/out1" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' ||
		{ log "boot_id: $(sed -n 3p "$W/out1")" && return 1; }
	[ "$(sed -n 3p "$W/out1")" != "$(sed -n 3p "$W/out2")" ] || { log "the same boot_id" && return 1; }
}

# A new agent (another initramfs key) gets a template of its own.
t_vmct_warm_rebuild() {
	warm "$W/out1" localhost/bb:1 true
	[ "$RC" = 0 ] && warm_ok "$W/out1" || return 1
	local before after
	before=$(ls -d "$WARM_STORE"/vm/warm-*/ | wc -l)
	cp "$(dirname "$ISOLA_BIN")/isola-agent" "$W/agent" 2>/dev/null ||
		cp "$ISOLA_AGENT" "$W/agent" || return 1
	printf 'another build' >>"$W/agent" # a static ELF runs with bytes after it
	export ISOLA_AGENT=$W/agent
	warm "$W/out2" localhost/bb:1 echo rebuilt
	unset ISOLA_AGENT
	after=$(ls -d "$WARM_STORE"/vm/warm-*/ | wc -l)
	log "templates: $before, then $after"
	[ "$RC" = 0 ] && [ "$(cat "$W/out2")" = rebuilt ] && warm_ok "$W/out2" &&
		[ "$after" = $((before + 1)) ]
}

# A warm start with a NIC (docs/vm-containers.md "Warm starts with a NIC"): run --vm
# --network bridge restores the template with a NIC (built by the first such run) --
# warm_ok, and the guest's command line is the template's (isola.warm=1) -- onto the
# container's TAP: the guest's eth0 has the CNI address and eth0's MAC (not the
# template's), reaches L1's httpd on the gateway, serves through -p, and a second
# warm container pings it and fetches from it; then nothing is left.
t_vmct_warm_net() {
	vmct_net_ready || return 77
	local pid hpid ipa mac gmac i=0 ok=0 a=wna$$ b=wnb$$
	[ -d "$WARM_STORE" ] || cp -a "$L2DIR/vmct/store" "$WARM_STORE"
	mkdir -p "$W/www"
	echo hello-from-l1 >"$W/www/hi.txt"
	httpd -f -p 7778 -h "$W/www" &
	hpid=$!
	# shellcheck disable=SC2086
	ISOLA_VM_COLD= ISOLA_STORE=$WARM_STORE "$ISOLA_BIN" run --vm --rm --init $VMCT_ARGS \
		--network bridge --name $a -p 8081:80 localhost/bb:1 sh -c '
		cat /proc/cmdline; echo MAC=$(cat /sys/class/net/eth0/address)
		ip -4 -o addr show eth0; ip route
		wget -q -O- http://10.90.0.1:7778/hi.txt
		mkdir -p /tmp/w; echo hello-from-warm >/tmp/w/index.html; echo READY
		exec httpd -f -p 80 -h /tmp/w' </dev/null >"$W/out1" 2>"$W/out1.err" &
	pid=$!
	wait_for "$W/out1" READY || ok=1
	kill "$hpid"
	cat "$W/out1" "$W/out1.err" >&2
	mac=$(nsenter --net="$WARM_STORE/net/ns/$a" ip link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	gmac=$(sed -n 's/^MAC=//p' "$W/out1")
	log "eth0's MAC in the netns: $mac; the guest's: $gmac"
	[ -n "$mac" ] && [ "$mac" = "$gmac" ] && [ "$gmac" != 02:00:00:00:00:01 ] || ok=1
	warm_ok "$W/out1" && has "$W/out1" "isola.warm=1" && has "$W/out1" 'inet 10\.90\.' &&
		has "$W/out1" '^default via 10\.90\.0\.1' && has "$W/out1" '^hello-from-l1$' || ok=1
	while [ $ok = 0 ] && [ $i -lt 300 ] && ! wget -q -O "$W/page" http://127.0.0.1:8081/ 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	log "through -p 8081:80: $(cat "$W/page" 2>/dev/null)"
	has "$W/page" '^hello-from-warm$' || ok=1
	ipa=$(sed -n 's/.*"ip": "\([0-9.]*\)".*/\1/p' "$WARM_STORE/net/state/$a.json")
	log "the first warm container's address: $ipa"
	# busybox ping opens a raw socket: CAP_NET_RAW, out of run IMAGE's default set, added.
	warm "$W/out2" --network bridge --name $b --cap-add NET_RAW localhost/bb:1 sh -c \
		"cat /proc/cmdline; ping -c 1 -W 10 $ipa && wget -q -O- http://$ipa:80/"
	cat "$W/out2" >&2
	[ "$RC" = 0 ] && has "$W/out2" '^hello-from-warm$' && has "$W/out2" "isola.warm=1" &&
		warm_ok "$W/out2" || ok=1
	kill -TERM "$pid"
	RC=0
	wait "$pid" || RC=$?
	log "the httpd container: $RC"
	[ "$RC" = 143 ] || ok=1
	NET_STORE=$WARM_STORE vmct_net_clean $a $b || ok=1
	! ls -d /tmp/isola-warm-* "$WARM_STORE"/vm/.warm-* 2>/dev/null || { log "template build dirs left" && ok=1; }
	return $ok
}

# run --vm -d takes the warm path on its monitor: it restores the template
# run --vm uses (the same key: -d has no NIC, as --network none) -- no
# fallback note from run -d, the guest's command line has isola.warm=1 --,
# exec reaches the restored VM, stop gives 143, rm leaves nothing.
t_vmct_warm_detach() {
	local n=vwd$$ ok=0 left t0
	[ -d "$WARM_STORE" ] || cp -a "$L2DIR/vmct/store" "$WARM_STORE"
	RC=0
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086
	ISOLA_VM_COLD= ISOLA_STORE=$WARM_STORE timeout "$l1timeout" "$ISOLA_BIN" run --vm -d --init \
		--name $n $VMCT_ARGS localhost/bb:1 sh -c 'cat /proc/cmdline; echo STARTED; exec sleep 1000' \
		</dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	echo "# vmct-warm-detach: run -d $(awk -v t="$t0" '{print $1 - t}' /proc/uptime)s" \
		"(templates before: $(ls -d "$WARM_STORE"/vm/warm-*/ 2>/dev/null | wc -l))" >&3
	log "run -d: $RC: $(cat "$W/out"); stderr: $(cat "$W/out.err")"
	[ "$RC" = 0 ] && [ "$(cat "$W/out")" = "$n" ] && warm_ok "$W/out" || ok=1
	wait_for "$WARM_STORE/containers/$n/ctr.log" STARTED 60 || ok=1
	has "$WARM_STORE/containers/$n/ctr.log" "isola.warm=1" || ok=1
	RC=0
	ISOLA_STORE=$WARM_STORE timeout 120 "$ISOLA_BIN" exec $n sh -c 'echo from-exec; exit 5' \
		</dev/null >"$W/exec" 2>&1 || RC=$?
	log "exec: $RC: $(cat "$W/exec")"
	[ "$RC" = 5 ] && has "$W/exec" from-exec || ok=1
	ISOLA_STORE=$WARM_STORE timeout 120 "$ISOLA_BIN" stop -t 30 $n >/dev/null 2>&1 || ok=1
	ISOLA_STORE=$WARM_STORE "$ISOLA_BIN" ps -a >"$W/ps" 2>&1
	log "after stop: $(cat "$W/ps")"
	grep -q "stopped (143) vm.*$n" "$W/ps" || ok=1
	ISOLA_STORE=$WARM_STORE "$ISOLA_BIN" rm $n >/dev/null 2>&1 || ok=1
	left=$(ps -o args 2>/dev/null | grep -E '[v]m (run|restore)' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && ok=1; }
	! ls -d /tmp/isola-vmct-* /tmp/isola-warm-* "$WARM_STORE"/vm/.warm-* 2>/dev/null ||
		{ log "socket or template build dirs left" && ok=1; }
	[ -z "$(ls "$WARM_STORE/containers")" ] || { log "bundles left" && ok=1; }
	return $ok
}

# isola system prune on the warm store while a warm VM container runs (docs/vm-containers.md
# "The caches and what prunes them"): the running container's disk, this isola's
# initramfs and the template a real build wrote (its warm.key names the real VMM,
# kernel and initrd) stay; exec still reaches the VM, and a warm run after the
# prune restores the same template (no new build).
t_vmct_prune() {
	local n=vpr$$ ok=0 before
	[ -d "$WARM_STORE" ] || cp -a "$L2DIR/vmct/store" "$WARM_STORE"
	warm "$W/out0" localhost/bb:1 true # the template, if no test before built it
	RC=0
	# shellcheck disable=SC2086
	ISOLA_VM_COLD= ISOLA_STORE=$WARM_STORE timeout "$l1timeout" "$ISOLA_BIN" run --vm -d \
		--name $n $VMCT_ARGS localhost/bb:1 sh -c 'echo STARTED; exec sleep 1000' \
		</dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	[ "$RC" = 0 ] && warm_ok "$W/out" || ok=1
	wait_for "$WARM_STORE/containers/$n/ctr.log" STARTED 60 || ok=1
	mkdir -p "$W/keys"
	for f in "$WARM_STORE"/vm/warm-*; do cp "$f/warm.key" "$W/keys/${f##*/}" || ok=1; done
	before=$(ls "$WARM_STORE/vm" | sort)
	ISOLA_STORE=$WARM_STORE "$ISOLA_BIN" system prune >"$W/prune" 2>&1 || ok=1
	log "prune: $(cat "$W/prune"); before: $before; after: $(ls "$WARM_STORE/vm")"
	# Every disk stays (the images' and the running container's); one initramfs, this
	# isola's agent's (vmct-warm-rebuild's other agent's goes); a template stays
	# exactly when the initramfs its warm.key names does.
	for f in $(printf '%s\n' "$before" | grep -E '^rootfs-.*\.ext4$'); do
		[ -e "$WARM_STORE/vm/$f" ] || { log "$f removed" && ok=1; }
	done
	[ "$(ls "$WARM_STORE"/vm/initrd-*.cpio | wc -l)" = 1 ] || ok=1
	for f in $(printf '%s\n' "$before" | grep -E '^warm-'); do
		local initrd
		initrd=$(grep '^initrd=' "$W/keys/$f" | sed 's/^initrd=//; s/:[^:]*:[^:]*:[^:]*:[^:]*$//')
		if [ -e "$initrd" ] && [ ! -e "$WARM_STORE/vm/$f" ]; then
			log "$f removed, its initramfs kept" && ok=1
		elif [ ! -e "$initrd" ] && [ -e "$WARM_STORE/vm/$f" ]; then
			log "$f kept, its initramfs gone" && ok=1
		fi
	done
	RC=0
	ISOLA_STORE=$WARM_STORE timeout 120 "$ISOLA_BIN" exec $n sh -c 'exit 6' </dev/null || RC=$?
	[ "$RC" = 6 ] || { log "exec after prune: $RC" && ok=1; }
	ISOLA_STORE=$WARM_STORE "$ISOLA_BIN" rm -f $n >/dev/null 2>&1 || ok=1
	before=$(ls -d "$WARM_STORE"/vm/warm-*/ | wc -l)
	warm "$W/out1" localhost/bb:1 echo after-prune
	[ "$RC" = 0 ] && [ "$(cat "$W/out1")" = after-prune ] && warm_ok "$W/out1" || ok=1
	[ "$(ls -d "$WARM_STORE"/vm/warm-*/ | wc -l)" = "$before" ] || { log "a template was rebuilt" && ok=1; }
	return $ok
}

# After the warm runs: no VMM, socket dir, template build dir, bundle, mount,
# nor a copy of a template's memory file (restores map it).
t_vmct_warm_clean() {
	local i
	for i in 1 2 3; do
		warm "$W/out$i" localhost/bb:1 true
		[ "$RC" = 0 ] && warm_ok "$W/out$i" || return 1
	done
	local left ok=0
	left=$(ps -o args 2>/dev/null | grep -E '[v]m (run|restore)' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && ok=1; }
	! ls -d /tmp/isola-vmct-* /tmp/isola-warm-* 2>/dev/null || { log "socket dirs left" && ok=1; }
	! ls -d "$WARM_STORE"/vm/.warm-* 2>/dev/null || { log "template build dirs left" && ok=1; }
	[ -z "$(ls "$WARM_STORE/containers")" ] || { log "bundles left" && ok=1; }
	! grep -q "$WARM_STORE" /proc/mounts || { log "mounts left" && ok=1; }
	ls -la "$WARM_STORE"/vm "$WARM_STORE"/vm/warm-* >&2
	[ "$(find /tmp -name mem -type f | wc -l)" = "$(ls -d "$WARM_STORE"/vm/warm-*/ | wc -l)" ] ||
		{ log "a memory file was copied" && ok=1; }
	rm -rf "$WARM_STORE"
	return $ok
}

# The OCI runtime mode (docs/vm-containers.md): isola-vm (a symlink to isola)
# create/start/state/kill/delete on a bundle whose rootfs is the busybox
# image's layer (tests/l1/run.sh build_vmct keeps it as bb-layer.tar).
VMOCI_ROOT=$W/vmoci-root

# runc's 14 default capabilities (CapBnd a80425fb), as containerd (and podman before 4)
# send them: a config without process.capabilities gets none, in a VM as in
# a plain container (tests/integration/vm-oci-exec.bats).
VMOCI_CAPS='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
 "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
 "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]'

vmoci_bundle() { # DIR ARGS_JSON [ANNOTATIONS (JSON members)] [MOUNTS (JSON array members)]
	mkdir -p "$1/rootfs"
	tar -xf "$L2DIR/vmct/bb-layer.tar" -C "$1/rootfs"
	cat >"$1/config.json" <<-EOF
	{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "annotations": {${3:-}}, "mounts": [${4:-}],
	 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
	  "capabilities": {"bounding": $VMOCI_CAPS, "effective": $VMOCI_CAPS,
	   "permitted": $VMOCI_CAPS},
	  "env": ["PATH=/bin"], "args": $2}}
	EOF
}

vmoci() { # ARGS...: isola-vm with the bed's kernel and modules
	ln -sf "$ISOLA_BIN" "$W/isola-vm"
	ISOLA_VM_KERNEL=$L2DIR/vmlinuz ISOLA_VM_MODULES=$L2DIR/vmct/lib/modules/$VMCT_KVER \
		timeout "$l1timeout" "$W/isola-vm" --root "$VMOCI_ROOT" "$@"
}

vmoci_state() { vmoci state "$1" 2>/dev/null | sed -n "s/.*\"$2\": \"*\([^\",]*\).*/\1/p"; }

# vmoci_gone ID: no state dir, VMM, monitor socket dir or mount of it is left.
vmoci_gone() {
	local left
	[ ! -e "$VMOCI_ROOT/$1" ] || { log "state dir left: $(ls "$VMOCI_ROOT/$1")" && return 1; }
	left=$(ps -o args 2>/dev/null | grep '[v]m run' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && return 1; }
	! ls -d /tmp/isola-vmct-* 2>/dev/null || { log "socket dirs left" && return 1; }
	! grep -q "$VMOCI_ROOT" /proc/mounts || { log "mounts left" && return 1; }
}

# create: "created" with the monitor's pid, whose child is the VMM; start: the
# output reaches the fds create was given; "stopped" after the exit, whose
# status is kept; delete leaves nothing.
t_vmoci_lifecycle() {
	local pid vmm
	vmoci_bundle "$W/b" '["sh", "-c", "echo out-line; echo err-line >&2; exit 3"]'
	mkdir -p "$W/elsewhere"
	# From another cwd, with an absolute --pid-file (as containerd's shim does).
	(cd "$W/elsewhere" && vmoci create --pid-file "$W/c1.pid" --bundle "$W/b" c1) \
		</dev/null >"$W/out" 2>"$W/out.err" || {
		log "create failed: $(cat "$W/out.err")"
		return 1
	}
	[ "$(vmoci_state c1 status)" = created ] || { log "not created: $(vmoci state c1)" && return 1; }
	pid=$(vmoci_state c1 pid)
	[ "$(cat "$W/c1.pid")" = "$pid" ] || { log "pid file: $(cat "$W/c1.pid"), state: $pid" && return 1; }
	for vmm in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$vmm/stat" 2>/dev/null)" = "$pid" ] && break
	done
	vmm=${vmm#/proc/}
	log "monitor $pid, VMM $vmm: $(tr '\0' ' ' </proc/"$vmm"/cmdline)"
	tr '\0' ' ' </proc/"$vmm"/cmdline | grep -q 'vm run' || { log "no VMM under $pid" && return 1; }
	hasnt "$W/out" out-line || return 1
	vmoci start c1 || return 1
	wait_for "$W/out" out-line 60 || return 1
	local i=0
	while [ "$(vmoci_state c1 status)" != stopped ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	log "state after exit: $(vmoci state c1)"
	[ "$(vmoci_state c1 status)" = stopped ] && [ "$(cat "$VMOCI_ROOT/c1/vm.exit")" = 3 ] &&
		[ "$(cat "$W/out")" = out-line ] && [ "$(cat "$W/out.err")" = err-line ] || return 1
	vmoci delete c1 || return 1
	vmoci_gone c1
}

# kill TERM ends a sleeping process in the guest (status 143): under
# run.isola.vm.init=true the agent's init is PID 1 and forwards it; delete cleans up.
t_vmoci_kill() {
	vmoci_bundle "$W/b" '["sh", "-c", "echo STARTED; exec sleep 1000"]' '"run.isola.vm.init": "true"'
	vmoci create --bundle "$W/b" c2 </dev/null >"$W/out" 2>"$W/out.err" || return 1
	vmoci start c2 || return 1
	wait_for "$W/out" STARTED 60 || return 1
	[ "$(vmoci_state c2 status)" = running ] || { log "not running: $(vmoci state c2)" && return 1; }
	vmoci kill c2 TERM || return 1
	local i=0
	while [ "$(vmoci_state c2 status)" != stopped ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	log "after kill: $(vmoci state c2); exit $(cat "$VMOCI_ROOT/c2/vm.exit")"
	[ "$(vmoci_state c2 status)" = stopped ] && [ "$(cat "$VMOCI_ROOT/c2/vm.exit")" = 143 ] ||
		return 1
	vmoci delete c2 || return 1
	vmoci_gone c2
}

# Plain isola runs a VM when the config says run.isola.vm=true (with the
# kernel, modules, memory and cpus from annotations): runc's `run` form
# passes the guest's exit status through, and the output is the guest
# kernel's.
t_vmoci_annotation() {
	vmoci_bundle "$W/b" '["sh", "-c", "uname -r; exit 5"]' \
		"\"run.isola.vm\": \"true\", \"run.isola.vm.kernel\": \"$L2DIR/vmlinuz\",
		 \"run.isola.vm.modules\": \"$L2DIR/vmct/lib/modules/$VMCT_KVER\",
		 \"run.isola.vm.memory\": \"128M\", \"run.isola.vm.cpus\": \"1\""
	RC=0
	timeout "$l1timeout" "$ISOLA_BIN" --root "$VMOCI_ROOT" run --bundle "$W/b" c3 \
		</dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	log "run: status $RC; stderr: $(cat "$W/out.err")"
	[ "$RC" = 5 ] && [ "$(cat "$W/out")" = "$VMCT_KVER" ] && [ "$VMCT_KVER" != "$(uname -r)" ] &&
		vmoci_gone c3
}

# Directory binds (podman's -v) in the OCI mode: shared live, ro enforced.
t_vmoci_volume() {
	vol_setup "$W/vol" "$W/volro"
	vmoci_bundle "$W/b" '["sh", "-c", "'"$(echo "$VOL_SCRIPT" | tr '\n\t' '  ')"'"]' "" \
		"{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$W/vol\", \"options\": [\"rbind\"]},
		 {\"destination\": \"/ro\", \"type\": \"bind\", \"source\": \"$W/volro\", \"options\": [\"rbind\", \"ro\"]}"
	RC=0
	vmoci run --bundle "$W/b" vol1 </dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	log "run: status $RC; stderr: $(cat "$W/out.err")"
	[ "$RC" = 0 ] && vol_check "$W/vol" "$W/volro" "$W/out" && vmoci_gone vol1
}

# tmpcopyup in the OCI mode (podman's --tmpfs, --read-only): the agent copies
# what the image has at each tmpfs's destination into it, as a plain
# container's runtime does: contents, modes, the tmpfs root's mode, a hard
# link, symlinks copied as symlinks (never followed, an absolute one not
# leading out to the agent's root); a read-only one gets its copy, then is
# read-only; a destination the image lacks starts empty with its mode=.
TMPCOPYUP_SCRIPT='grep -E " /(cu|curo|cunew) tmpfs" /proc/mounts | cut -d" " -f2,3 | sort;
	cat /cu/f /cu/sub/g; stat -c "%n %a %h" /cu /cu/f /cu/hl /cu/sub /cunew;
	[ -L /cu/esc ] && echo "esc -> $(readlink /cu/esc)"; [ -L /cu/up ] && echo "up -> $(readlink /cu/up)";
	ls /cu/up/; cat /curo/r; echo w >/cu/new && echo CU-WRITABLE; echo w >/curo/w || echo CURO-RO;
	echo END'
t_vmoci_tmpcopyup() {
	local m='"type": "tmpfs", "source": "tmpfs"'
	# The script's double quotes escaped for the JSON string.
	vmoci_bundle "$W/b" '["sh", "-c", "'"$(echo "$TMPCOPYUP_SCRIPT" | tr '\n\t' '  ' | sed 's/"/\\"/g')"'"]' "" \
		"{\"destination\": \"/cu\", $m, \"options\": [\"nosuid\", \"tmpcopyup\", \"size=1m\"]},
		 {\"destination\": \"/curo\", $m, \"options\": [\"ro\", \"tmpcopyup\"]},
		 {\"destination\": \"/cunew\", $m, \"options\": [\"tmpcopyup\", \"mode=1777\"]}"
	mkdir -p "$W/b/rootfs/cu/sub" "$W/b/rootfs/curo" "$W/b/rootfs/upper"
	echo image-f >"$W/b/rootfs/cu/f"
	echo image-g >"$W/b/rootfs/cu/sub/g"
	echo image-r >"$W/b/rootfs/curo/r"
	ln "$W/b/rootfs/cu/f" "$W/b/rootfs/cu/hl"
	ln -s /bin "$W/b/rootfs/cu/esc"
	ln -s ../upper "$W/b/rootfs/cu/up"
	echo not-copied >"$W/b/rootfs/upper/outside"
	chmod 0640 "$W/b/rootfs/cu/f"
	chmod 0710 "$W/b/rootfs/cu"
	chmod 0705 "$W/b/rootfs/cu/sub"
	RC=0
	vmoci run --bundle "$W/b" cu1 </dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	log "run: status $RC; stderr: $(cat "$W/out.err")"
	log "guest: $(cat "$W/out")"
	[ "$RC" = 0 ] && has "$W/out" '^/cu tmpfs$' && has "$W/out" '^/curo tmpfs$' &&
		has "$W/out" '^/cunew tmpfs$' && has "$W/out" '^image-f$' && has "$W/out" '^image-g$' &&
		has "$W/out" '^/cu 710 ' && has "$W/out" '^/cu/f 640 2$' && has "$W/out" '^/cu/hl 640 2$' &&
		has "$W/out" '^/cu/sub 705 ' && has "$W/out" '^/cunew 1777 ' &&
		has "$W/out" '^esc -> /bin$' && has "$W/out" '^up -> ../upper$' &&
		has "$W/out" '^outside$' && has "$W/out" '^image-r$' && has "$W/out" '^CU-WRITABLE$' &&
		has "$W/out" '^CURO-RO$' && has "$W/out" '^END$' && vmoci_gone cu1
}

# The OCI mode's directory binds on the warm path: a template with two shares,
# restored onto the binds (create says nothing of a fallback), twice.
t_vmoci_warm_volume() {
	local c
	for c in wv1 wv2; do
		vol_setup "$W/vol" "$W/volro"
		vmoci_bundle "$W/b" '["sh", "-c", "'"$(echo "$VOL_SCRIPT" | tr '\n\t' '  ')"'; grep -o isola.warm=1 /proc/cmdline"]' \
			'"run.isola.vm.memory": "192M"' \
			"{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$W/vol\", \"options\": [\"rbind\"]},
			 {\"destination\": \"/ro\", \"type\": \"bind\", \"source\": \"$W/volro\", \"options\": [\"rbind\", \"ro\"]}"
		RC=0
		(export ISOLA_VM_COLD= && vmoci run --bundle "$W/b" $c) </dev/null >"$W/$c.out" \
			2>"$W/$c.out.err" || RC=$?
		log "run $c: status $RC; stderr: $(cat "$W/$c.out.err")"
		[ "$RC" = 0 ] && vol_check "$W/vol" "$W/volro" "$W/$c.out" && warm_ok "$W/$c.out" &&
			has "$W/$c.out" '^isola.warm=1$' && vmoci_gone $c || return 1
	done
}

# VMOCI_CYCLES (20) create/start/delete cycles leave nothing; progress on fd 3.
t_vmoci_cycles() {
	local i n=${VMOCI_CYCLES:-20}
	vmoci_bundle "$W/b" '["true"]'
	for i in $(seq 1 "$n"); do
		local t0 t1 t2
		t0=$(cut -d' ' -f1 /proc/uptime)
		vmoci create --bundle "$W/b" "cyc$i" </dev/null >"$W/out" 2>&1 || return 1
		t1=$(cut -d' ' -f1 /proc/uptime)
		vmoci start "cyc$i" >>"$W/out" 2>&1 || return 1
		t2=$(cut -d' ' -f1 /proc/uptime)
		local j=0
		while [ "$(vmoci_state "cyc$i" status)" != stopped ] && [ $j -lt 600 ]; do
			sleep 0.1
			j=$((j + 1))
		done
		vmoci delete --force "cyc$i" >>"$W/out" 2>&1 || return 1
		vmoci_gone "cyc$i" || return 1
		echo "# vmoci-cycles: $i/$n create $(echo "$t0 $t1" | awk '{print $2 - $1}')s" \
			"start $(echo "$t1 $t2" | awk '{print $2 - $1}')s" >&3
	done
	[ -z "$(ls "$VMOCI_ROOT" | grep -v '^\.')" ] || { log "left: $(ls "$VMOCI_ROOT")" && return 1; }
	# The cached initramfs is the only thing kept: one file.
	[ "$(ls "$VMOCI_ROOT/.vm-cache" | wc -l)" = 1 ] || { log "cache: $(ls "$VMOCI_ROOT/.vm-cache")" && return 1; }
}

# The OCI mode takes the warm path too: create's monitor builds a template
# for the annotations' memory (under <root>/.vm-cache), the second create
# restores it; each shows isola.warm=1 on the guest's command line with the
# bundle's rootfs as its root disk, no fallback note from create, the status
# through the monitor; delete leaves nothing but the template.
t_vmoci_warm() {
	local c i ok=0 left t0
	vmoci_bundle "$W/b" '["sh", "-c", "cat /proc/cmdline; ls /bin/busybox; exit 4"]' \
		'"run.isola.vm.memory": "192M"'
	for c in w1 w2; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		(export ISOLA_VM_COLD= && vmoci create --bundle "$W/b" $c) \
			</dev/null >"$W/$c.out" 2>"$W/$c.out.err" || {
			log "create $c: $(cat "$W/$c.out.err")"
			return 1
		}
		echo "# vmoci-warm: create $c $(awk -v t="$t0" '{print $1 - t}' /proc/uptime)s" >&3
		warm_ok "$W/$c.out" || ok=1
		vmoci start $c || ok=1
		i=0
		while [ "$(vmoci_state $c status)" != stopped ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		log "$c: $(cat "$W/$c.out"); exit $(cat "$VMOCI_ROOT/$c/vm.exit")"
		[ "$(cat "$VMOCI_ROOT/$c/vm.exit")" = 4 ] && has "$W/$c.out" "isola.warm=1" &&
			has "$W/$c.out" "^/bin/busybox" || ok=1
		vmoci delete $c || ok=1
		vmoci_gone $c || ok=1
	done
	ls -la "$VMOCI_ROOT/.vm-cache" >&2
	[ "$(ls -d "$VMOCI_ROOT"/.vm-cache/warm-*/ | wc -l)" = 1 ] || ok=1
	left=$(ps -o args 2>/dev/null | grep -E '[v]m restore' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && ok=1; }
	! ls -d /tmp/isola-warm-* "$VMOCI_ROOT"/.vm-cache/.warm-* 2>/dev/null ||
		{ log "template build dirs left" && ok=1; }
	rm -rf "$VMOCI_ROOT"/.vm-cache/warm-*
	return $ok
}

# exec into an isola-vm container (foreground: output and status; --detach
# --pid-file: the exec monitor lives while the process runs and a TERM to it
# reaches the process), with the mounts engines add made in the guest:
# a tmpfs at /run, mqueue, cgroup2, and /etc/hosts bound from a host file
# (copied at create).
t_vmoci_exec() {
	local mon i
	vmoci_bundle "$W/b" '["sh", "-c", "echo STARTED; exec sleep 1000"]'
	echo "10.1.2.3 vmoci-exec-host" >"$W/hosts"
	cat >"$W/b/config.json" <<-EOF
	{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
	 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
	  "env": ["PATH=/bin"], "args": ["sh", "-c", "echo STARTED; exec sleep 1000"]},
	 "mounts": [
	  {"destination": "/proc", "type": "proc", "source": "proc"},
	  {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
	   "options": ["nosuid", "mode=755", "size=65536k"]},
	  {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
	   "options": ["nosuid", "noexec", "nodev"]},
	  {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
	   "options": ["ro", "nosuid"]},
	  {"destination": "/etc/hosts", "type": "bind", "source": "$W/hosts",
	   "options": ["rbind", "rprivate"]}]}
	EOF
	vmoci create --bundle "$W/b" c4 </dev/null >"$W/out" 2>"$W/out.err" || {
		log "create: $(cat "$W/out.err")"
		return 1
	}
	vmoci start c4 || return 1
	wait_for "$W/out" STARTED 60 || return 1
	RC=0
	vmoci exec c4 sh -c 'cat /etc/hosts; grep -E " /(run|dev/mqueue|sys/fs/cgroup) " /proc/mounts | cut -d" " -f2,3; exit 7' \
		</dev/null >"$W/exec.out" 2>&1 || RC=$?
	log "exec: status $RC: $(cat "$W/exec.out")"
	[ "$RC" = 7 ] && grep -q "^10.1.2.3 vmoci-exec-host" "$W/exec.out" &&
		grep -q "^/run tmpfs" "$W/exec.out" && grep -q "^/dev/mqueue mqueue" "$W/exec.out" &&
		grep -q "^/sys/fs/cgroup cgroup2" "$W/exec.out" || return 1
	vmoci exec --detach --pid-file "$W/exec.pid" c4 sh -c 'echo EXEC-UP >/run/up; exec sleep 1000' \
		</dev/null >"$W/exec2.out" 2>&1 || { log "exec -d: $(cat "$W/exec2.out")" && return 1; }
	mon=$(cat "$W/exec.pid")
	log "exec monitor $mon: $(tr '\0' ' ' </proc/"$mon"/cmdline)"
	kill -0 "$mon" || return 1
	RC=0
	vmoci exec c4 cat /run/up </dev/null >"$W/exec3.out" 2>&1 || RC=$?
	grep -q EXEC-UP "$W/exec3.out" || { log "the detached process did not run: $RC $(cat "$W/exec3.out")" && return 1; }
	kill -TERM "$mon"
	i=0
	while kill -0 "$mon" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$mon" 2>/dev/null || { log "the exec monitor outlived TERM" && return 1; }
	[ "$(vmoci_state c4 status)" = running ] || { log "the container stopped: $(vmoci state c4)" && return 1; }
	vmoci delete --force c4 || return 1
	vmoci_gone c4
}

# The OCI mode: process.capabilities (ambient KILL for uid 1000), additionalGids,
# noNewPrivileges, linux.seccomp (chdir fails with ENOSYS), rlimits, umask,
# oomScoreAdj and ioPriority hold for the container's process and for an exec into it (the
# filter comes from config.json).
PRIV_SCRIPT='grep -E "^(Uid|Groups|CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status; echo "NOFILE $(ulimit -Sn) $(ulimit -Hn)"; echo "UMASK $(umask)"; echo "OOM $(cat /proc/self/oom_score_adj)"; echo "IO $(busybox ionice)"; cd /bin 2>&1 || echo CHDIR-REFUSED'
priv_check() { # OUT
	log "guest: $(cat "$1")"
	has "$1" '^Uid:.1000.1000.1000.1000$' && has "$1" '^Groups:.5 4000000000 *$' &&
		has "$1" '^CapBnd:.0000000000000420$' && has "$1" '^CapEff:.0000000000000020$' &&
		has "$1" '^NoNewPrivs:.1$' && has "$1" '^Seccomp:.2$' && has "$1" '^CHDIR-REFUSED$' &&
		has "$1" 'Function not implemented' && has "$1" '^NOFILE 300 400$' && has "$1" '^UMASK 0027$' &&
		has "$1" '^OOM 567$' && has "$1" '^IO best-effort: prio 6$'
}
t_vmoci_priv() {
	local script
	script=$(echo "$PRIV_SCRIPT" | sed 's/"/\\"/g')
	vmoci_bundle "$W/b" '[]'
	cat >"$W/b/config.json" <<-EOF
	{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
	 "process": {"terminal": false, "cwd": "/", "env": ["PATH=/bin"],
	  "user": {"uid": 1000, "gid": 1000, "umask": 23, "additionalGids": [5, 4000000000]},
	  "args": ["sh", "-c", "$script; echo STARTED; exec sleep 1000"],
	  "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_KILL"],
	   "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
	  "noNewPrivileges": true, "oomScoreAdj": 567,
	  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 400}],
	  "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 6}},
	 "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
	  "syscalls": [{"names": ["chdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}}}
	EOF
	vmoci create --bundle "$W/b" c5 </dev/null >"$W/out" 2>"$W/out.err" || {
		log "create: $(cat "$W/out.err")"
		return 1
	}
	vmoci start c5 || return 1
	wait_for "$W/out" STARTED 60 || { log "stderr: $(cat "$W/out.err")" && return 1; }
	priv_check "$W/out" || return 1
	RC=0
	vmoci exec c5 sh -c "$PRIV_SCRIPT" </dev/null >"$W/exec.out" 2>&1 || RC=$?
	log "exec: status $RC"
	priv_check "$W/exec.out" || return 1
	# runc's exec --cap: CAP_CHOWN (0) joins the bounding set the config gave (0x420).
	vmoci exec --cap CAP_CHOWN c5 grep ^CapBnd /proc/self/status </dev/null >"$W/cap.out" 2>&1
	log "exec --cap CAP_CHOWN: $(cat "$W/cap.out")"
	has "$W/cap.out" "^CapBnd:.*0000000000000421" || return 1
	vmoci delete --force c5 || return 1
	vmoci_gone c5
}

# cgroups around a real VMM: a memory limit sizes the guest (limit - 64M), pause
# freezes the VM (its ticks stop being counted as running), resume thaws it
# (they go on), ps lists the monitor and the VMM, delete removes the cgroup.
# L1's 6.1 KVM puts its per-VM kernel thread (kvm-nx-lpage-recovery) in the
# VMM's cgroup, where the freezer never sees it frozen: pause moves it out.
t_vmoci_pause() {
	local n vmm
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
	vmoci_bundle "$W/b" '["sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done"]'
	sed -i 's|"root": {"path": "rootfs"},|"root": {"path": "rootfs"}, "linux": {"cgroupsPath": "/vmoci-pause", "resources": {"memory": {"limit": 268435456}}},|' \
		"$W/b/config.json"
	vmoci create --bundle "$W/b" c5 </dev/null >"$W/out" 2>"$W/out.err" || {
		log "create: $(cat "$W/out.err")"
		return 1
	}
	vmm=$(sed -n 's/.*"vmm": *\([0-9]*\).*/\1/p' "$VMOCI_ROOT/c5/vm.json")
	tr '\0' ' ' </proc/"$vmm"/cmdline | grep -q -- "--memory 196608K" ||
		{ log "VMM: $(tr '\0' ' ' </proc/"$vmm"/cmdline)" && return 1; }
	grep -qx "$vmm" /sys/fs/cgroup/vmoci-pause/cgroup.procs || { log "VMM not in the cgroup" && return 1; }
	vmoci start c5 || return 1
	wait_for "$W/out" "tick 3" 60 || return 1
	vmoci pause c5 || {
		log "events: $(tr '\n' ' ' </sys/fs/cgroup/vmoci-pause/cgroup.events)"
		for t in $(cat /sys/fs/cgroup/vmoci-pause/cgroup.threads); do
			log "$t: $(cut -d' ' -f2,3 /proc/$t/stat) wchan=$(cat /proc/$t/wchan 2>/dev/null) $(tr '\n' '|' </proc/$t/stack 2>/dev/null | head -c 400)"
		done
		return 1
	}
	[ "$(vmoci_state c5 status)" = paused ] || { log "not paused: $(vmoci state c5)" && return 1; }
	grep -q "frozen 1" /sys/fs/cgroup/vmoci-pause/cgroup.events || return 1
	for t in $(cat /sys/fs/cgroup/vmoci-pause/cgroup.threads); do
		log "paused: $t $(cut -d' ' -f2,3 /proc/$t/stat)"
	done
	# Nothing of the guest runs while paused: no tick comes.
	n=$(grep -c tick "$W/out")
	sleep 2
	[ "$(grep -c tick "$W/out")" = "$n" ] || { log "ticks went on while paused" && return 1; }
	vmoci ps --format json c5 >"$W/ps" || return 1
	log "ps: $(cat "$W/ps")"
	grep -q "$vmm" "$W/ps" || return 1
	n=$(grep -c tick "$W/out")
	vmoci resume c5 || return 1
	[ "$(vmoci_state c5 status)" = running ] || return 1
	wait_for "$W/out" "tick $((n + 3))" 60 || return 1
	vmoci delete --force c5 || return 1
	[ ! -d /sys/fs/cgroup/vmoci-pause ] || { log "cgroup left" && return 1; }
	vmoci_gone c5
}

# podman (with conmon) inside L1, when the host had them to copy (run.sh):
# `podman --runtime isola-vm run` of an image imported from the busybox
# layer; the kernel and modules come as annotations (conmon does not pass
# podman's environment on to the runtime).  Returns 77 (skip) without podman.
# vmoci_podman_env: podman (with conmon) set up in $W/pm with isola-vm as its runtime and
# the busybox image imported as localhost/bb:vm; 77 when L1 has no podman.
vmoci_podman_env() {
	command -v podman >/dev/null && command -v conmon >/dev/null || {
		log "podman or conmon not in L1 (not installed on the host that built it)"
		return 77
	}
	local p=$W/pm
	mkdir -p "$p/root" "$p/runroot" "$p/tmp" "$p/net" "$W/bbroot"
	ln -sf "$ISOLA_BIN" "$W/isola-vm"
	cat >"$p/containers.conf" <<-CONF
	[containers]
	default_ulimits = []
	log_driver = "k8s-file"
	netns = "none"
	[network]
	network_config_dir = "$p/net"
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$p/events.log"
	runtime = "isolavm"
	runtime_supports_json = ["isolavm"]
	[engine.runtimes]
	isolavm = ["$W/isola-vm"]
	CONF
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$p" "$p" \
		>"$p/storage.conf"
	export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf TMPDIR=$p/tmp
	# conmon's cgroup (podman allows --cgroups disabled only with crun); podman's locks in /dev/shm.
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup || true
	mkdir -p /dev/shm
	grep -q ' /dev/shm ' /proc/mounts || mount -t tmpfs shm /dev/shm || true
	tar -xf "$L2DIR/vmct/bb-layer.tar" -C "$W/bbroot"
	tar -C "$W/bbroot" -c . | podman --tmpdir "$p/tmp" import --change 'ENV PATH=/bin' - \
		localhost/bb:vm >"$W/out.import" 2>&1 || { log "import: $(cat "$W/out.import")" && return 1; }
}

vmoci_podman() { # ARGS...: podman run --rm with the bed's kernel and modules; sets RC
	RC=0
	timeout "$l1timeout" podman --tmpdir "$W/pm/tmp" run --rm \
		--annotation "run.isola.vm.kernel=$L2DIR/vmlinuz" \
		--annotation "run.isola.vm.modules=$L2DIR/vmct/lib/modules/$VMCT_KVER" \
		"$@" </dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	log "podman run: status $RC; out: $(cat "$W/out"); err: $(cat "$W/out.err")"
	podman --tmpdir "$W/pm/tmp" rm -af -t 0 >/dev/null 2>&1
}

t_vmoci_podman() {
	vmoci_podman_env || return $?
	vmoci_podman localhost/bb:vm sh -c 'uname -r; exit 4'
	[ "$RC" = 4 ] && [ "$(cat "$W/out")" = "$VMCT_KVER" ] && vmoci_gone nothing
}

# podman --runtime isola-vm run --network bridge: podman's CNI ADD makes the netns, isola
# joins the guest to its eth0 (the OCI mode's NIC); the guest fetches from L1's httpd on
# podman's bridge gateway (10.88.0.1); nothing of isola's is left.
t_vmoci_podman_net() {
	vmct_net_ready || return 77
	vmoci_podman_env || return $?
	local hpid ok=0
	mkdir -p "$W/www"
	echo hello-from-l1-podman >"$W/www/hi.txt"
	httpd -f -p 7779 -h "$W/www" &
	hpid=$!
	vmoci_podman --network bridge localhost/bb:vm sh -c \
		'ip -4 -o addr show eth0; wget -q -O- http://10.88.0.1:7779/hi.txt'
	kill "$hpid"
	[ "$RC" = 0 ] && has "$W/out" 'inet 10\.88\.' && has "$W/out" '^hello-from-l1-podman$' || ok=1
	vmoci_gone nothing || ok=1
	! ls /sys/class/net | grep -q '^isola-tap' || { log "a TAP left" && ok=1; }
	return $ok
}

# podman's day-to-day commands on a VM container: run -d -p (portmap's DNAT to the
# address the guest holds), exec, pause (the guest stops answering), unpause, stop, rm;
# nothing of isola's is left.
t_vmoci_podman_ops() {
	vmct_net_ready || return 77
	vmoci_podman_env || return $?
	local ok=0 st ip
	P() { timeout "$l1timeout" podman --tmpdir "$W/pm/tmp" "$@"; }
	# L1's busybox wget fetched nothing with -T (and one crashed): timeout(1) bounds it.
	get() { timeout "$1" wget -q -O- http://10.88.0.1:18080/ 2>/dev/null; }
	P run -d --name web --network bridge -p 18080:80 \
		--annotation "run.isola.vm.kernel=$L2DIR/vmlinuz" \
		--annotation "run.isola.vm.modules=$L2DIR/vmct/lib/modules/$VMCT_KVER" \
		localhost/bb:vm sh -c 'mkdir /w; echo vm-web > /w/index.html; exec httpd -f -p 80 -h /w' \
		>"$W/id" 2>"$W/out.err" || { log "run -d: $(cat "$W/out.err")" && return 1; }
	for _ in $(seq 120); do [ "$(get 2)" = vm-web ] && break; sleep 0.5; done
	[ "$(get 5)" = vm-web ] || {
		ip=$(P inspect --format '{{.NetworkSettings.IPAddress}}' web)
		log "no page through -p 18080:80; direct $ip:80: $(timeout 10 wget -O- "http://$ip/" 2>&1); ping: $(ping -c 1 -W 5 "$ip" 2>&1 | tr '\n' '|')"
		log "inside: $(P exec web timeout 10 wget -O- http://127.0.0.1/index.html 2>&1); $(P exec web ip -4 -o addr 2>&1)"
		log "nat: $(iptables -t nat -S 2>&1 | tr '\n' '|')"
		log "routes: $(ip route | tr '\n' '|')"
		log "logs: $(P logs web 2>&1 | tail -5)"
		ok=1
	}
	[ "$(P exec web uname -r 2>&1)" = "$VMCT_KVER" ] || { log "exec: $(P exec web uname -r 2>&1)" && ok=1; }
	P pause web >"$W/p.out" 2>&1 || { log "pause: $(cat "$W/p.out")" && ok=1; }
	st=$(P inspect --format '{{.State.Status}}' web 2>&1)
	[ "$st" = paused ] || { log "after pause: $st" && ok=1; }
	[ -z "$(get 3)" ] || { log "a paused VM answered" && ok=1; }
	P unpause web >"$W/p.out" 2>&1 || { log "unpause: $(cat "$W/p.out")" && ok=1; }
	[ "$(get 10)" = vm-web ] || { log "no page after unpause" && ok=1; }
	P stop -t 2 web >/dev/null 2>&1 || { log "stop failed" && ok=1; }
	P rm -f web >/dev/null 2>&1 || ok=1
	vmoci_gone nothing || ok=1
	! ls /sys/class/net | grep -q '^isola-tap' || { log "a TAP left" && ok=1; }
	return $ok
}

# containerd inside L1 (when the host had it): `ctr run --runc-binary isola-vm`
# through the runc v2 shim, of the busybox image saved by isola as an
# oci-archive (run.sh build_vmct).  The kernel and modules reach isola-vm through the
# environment (containerd -> shim -> runtime keep it).  77 without containerd.
t_vmoci_containerd() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || {
		log "containerd or ctr not in L1 (not installed on the host that built it)"
		return 77
	}
	local c=$W/ctd pid
	mkdir -p "$c/root" "$c/state"
	ln -sf "$ISOLA_BIN" "$W/isola-vm"
	cat >"$c/config.toml" <<-CONF
	version = 2
	root = "$c/root"
	state = "$c/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
	  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.snapshotter.v1.zfs"]
	[grpc]
	  address = "$c/ctd.sock"
	CONF
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup || true
	ISOLA_VM_KERNEL=$L2DIR/vmlinuz ISOLA_VM_MODULES=$L2DIR/vmct/lib/modules/$VMCT_KVER \
		containerd --config "$c/config.toml" >"$W/out.ctd" 2>&1 &
	pid=$!
	wait_for "$W/out.ctd" "serving.*ctd.sock" 60 || { kill "$pid"; return 1; }
	ctr --address "$c/ctd.sock" -n vmoci images import "$L2DIR/vmct/bb-oci.tar" \
		>"$W/out.import" 2>&1 || {
		log "import: $(cat "$W/out.import")"
		kill "$pid"
		return 1
	}
	local img
	img=$(ctr --address "$c/ctd.sock" -n vmoci images ls -q | head -1)
	RC=0
	# --cpu-shares 0: ctr asks for a 1024 weight by default, and this L1's cgroup
	# root does not enable the cpu controller (its subtree_control refuses +cpu):
	# a runtime that applies the weight fails there, runc as much as isola-vm,
	# whose VM cgroup applies linux.resources.
	timeout "$l1timeout" ctr --address "$c/ctd.sock" -n vmoci run --rm --cpu-shares 0 \
		--runc-binary "$W/isola-vm" \
		"$img" vmoci-ctd sh -c 'uname -r; exit 6' </dev/null >"$W/out" 2>"$W/out.err" || RC=$?
	log "ctr run ($img): status $RC; out: $(cat "$W/out"); err: $(cat "$W/out.err")"
	[ "$RC" = 6 ] || log "cgroups: root $(cat /sys/fs/cgroup/cgroup.controllers) /" \
		"$(cat /sys/fs/cgroup/cgroup.subtree_control); vmoci:" \
		"$(cat /sys/fs/cgroup/vmoci/cgroup.controllers 2>&1) /" \
		"$(cat /sys/fs/cgroup/vmoci/cgroup.subtree_control 2>&1); procs" \
		"$(cat /sys/fs/cgroup/vmoci/cgroup.procs 2>&1 | xargs)"
	kill "$pid"
	wait "$pid" 2>/dev/null
	grep -o " $c[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
	[ "$RC" = 6 ] && [ "$(cat "$W/out")" = "$VMCT_KVER" ] && vmoci_gone nothing
}

# under_pty OUT CMD: CMD (a shell command) with a terminal of its own as its
# controlling terminal (socat: busybox has no script; socat -u gives the
# terminal as stdout only, stdin is reopened), 30x90 at the start; the
# terminal's path goes to $W/pty, its modes before and after to $W/before and
# $W/after, CMD's status to $W/rc, the terminal's output to OUT.
under_pty() {
	local out=$1
	shift
	cat >"$W/pty.sh" <<-EOF
	exec 3>&1
	exec 0<"\$(readlink /proc/self/fd/3)" 3>&-
	tty >$W/pty
	stty rows 30 cols 90
	stty -g >$W/before
	($*)
	echo \$? >$W/rc
	stty -g >$W/after
	EOF
	timeout "$l1timeout" socat -u SYSTEM:"sh $W/pty.sh",pty,setsid,ctty STDOUT >"$out" 2>"$out.err" &
	PTY_PID=$!
}

# run --vm -it: the process has a terminal in the guest (tty names a pty), of
# L1's terminal's size; a resize of L1's terminal reaches it (SIGWINCH ->
# WINCH); L1's terminal is back in its modes after the run.
t_vmct_tty() {
	[ -d "$W/store" ] || cp -a "$L2DIR/vmct/store" "$W/store"
	under_pty "$W/out" "ISOLA_STORE=$W/store $ISOLA_BIN run --vm --rm -it $VMCT_ARGS localhost/bb:1 sh -c 'echo TTY \$(tty); ls -l /proc/self/fd/0; echo SIZE \$(stty size); i=0; while [ \$i -lt 600 ] && [ \"\$(stty size)\" != \"50 100\" ]; do sleep 0.1; i=\$((i+1)); done; echo RESIZED \$(stty size); exit 3'"
	wait_for "$W/out" "SIZE " || { kill "$PTY_PID"; return 1; }
	stty -F "$(cat "$W/pty")" rows 50 cols 100
	wait "$PTY_PID"
	tr -d '\r' <"$W/out" >"$W/out.txt"
	log "rc $(cat "$W/rc"); $(cat "$W/out.txt")"
	# The terminal is /dev/pts/N in /proc/self/fd too (musl's ttyname reads
	# it), not the agent's /newroot/dev/pts/N.
	[ "$(cat "$W/rc")" = 3 ] && grep -Eq '^TTY /dev/pts/[0-9]+$' "$W/out.txt" &&
		grep -Eq -- '-> /dev/pts/[0-9]+$' "$W/out.txt" &&
		has "$W/out.txt" '^SIZE 30 90$' && has "$W/out.txt" '^RESIZED 50 100$' &&
		[ "$(cat "$W/before")" = "$(cat "$W/after")" ]
}

# exec_d_left NAME: an `isola exec -d NAME` (its monitor) still runs.
exec_d_left() {
	local f
	for f in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' <"$f" 2>/dev/null | grep -qF " exec -d $1 " && return 0
	done
	return 1
}

# isola exec NAME into a running run --vm container: output and exit code
# come back, it is the same VM (the container's process is there), stdin
# with -i, a terminal with -t, -d, 127 for a missing command; then nothing is left.
t_vmct_exec() {
	local name=vmx$$ pid ok=0 i
	cp -a "$L2DIR/vmct/store" "$W/store"
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store "$ISOLA_BIN" run --vm --rm --init --name "$name" $VMCT_ARGS localhost/bb:1 \
		sh -c 'echo STARTED; exec sleep 1000' </dev/null >"$W/out" 2>"$W/out.err" &
	pid=$!
	wait_for "$W/out" STARTED || {
		kill -KILL "$pid"
		wait "$pid"
		return 1
	}
	export ISOLA_STORE=$W/store
	RC=0
	# to-e""rr: ps shows the command line, only the output says to-err.
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c 'echo from-exec; ps; echo to-e""rr >&2; exit 5' \
		</dev/null >"$W/out1" 2>"$W/out1.err" || RC=$?
	log "exec: $RC: $(cat "$W/out1") / $(cat "$W/out1.err")"
	[ "$RC" = 5 ] && has "$W/out1" from-exec && has "$W/out1" 'sleep 1000' &&
		has "$W/out1.err" to-err && hasnt "$W/out1" to-err || ok=1
	RC=0
	printf 'in-line\n' | timeout 120 "$ISOLA_BIN" exec -i -e X=y "$name" sh -c 'cat; echo X=$X' \
		>"$W/out2" 2>&1 || RC=$?
	log "exec -i: $RC: $(cat "$W/out2")"
	[ "$RC" = 0 ] && [ "$(cat "$W/out2")" = "$(printf 'in-line\nX=y')" ] || ok=1
	# -u NAME[:GROUP] is resolved in the container's /etc/passwd and /etc/group
	# (written here by root), with the user's groups; an unknown name is 125.
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c 'echo "bob:x:1234:2345::/:/bin/sh" >>/etc/passwd;
		printf "grp:x:2345:\nextra:x:3456:alice,bob\n" >>/etc/group' </dev/null >/dev/null 2>&1
	RC=0
	timeout 120 "$ISOLA_BIN" exec -u bob "$name" sh -c 'echo "IDS $(id -u) $(id -g) $(id -G)"' \
		</dev/null >"$W/out8" 2>&1 || RC=$?
	timeout 120 "$ISOLA_BIN" exec -u bob:extra "$name" sh -c 'echo "IDS2 $(id -u) $(id -g)"' \
		</dev/null >>"$W/out8" 2>&1 || RC=$?
	timeout 120 "$ISOLA_BIN" exec -u 1234 "$name" sh -c 'echo "IDS3 $(id -u) $(id -g)"' \
		</dev/null >>"$W/out8" 2>&1 || RC=$?
	log "exec -u: $RC: $(cat "$W/out8")"
	[ "$RC" = 0 ] && has "$W/out8" '^IDS 1234 2345 2345 3456$' && has "$W/out8" '^IDS2 1234 3456$' &&
		has "$W/out8" '^IDS3 1234 2345$' || ok=1
	RC=0
	timeout 120 "$ISOLA_BIN" exec -u nosuch "$name" true </dev/null >"$W/out9" 2>&1 || RC=$?
	log "exec -u nosuch: $RC: $(cat "$W/out9")"
	[ "$RC" = 125 ] && has "$W/out9" 'nosuch.*not in the container' || ok=1
	# A FIFO for /etc/passwd (a hostile image) is not read: no hang, a clear 125.
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c 'rm /etc/passwd && busybox mkfifo /etc/passwd' \
		</dev/null >/dev/null 2>&1
	RC=0
	timeout 60 "$ISOLA_BIN" exec -u bob "$name" true </dev/null >"$W/out10" 2>&1 || RC=$?
	log "exec -u with a FIFO passwd: $RC: $(cat "$W/out10")"
	[ "$RC" = 125 ] && has "$W/out10" 'bob.*not in the container' || ok=1
	# Flow control through vmct_exec's relay (as vmct-stdin-flow for run).
	RC=0
	busybox head -c 4000000 /dev/zero | timeout 120 "$ISOLA_BIN" exec -i "$name" sh -c \
		'busybox head -c 2000000 /dev/zero; echo "READ $(wc -c)" >&2' >"$W/out7" 2>"$W/out7.err" ||
		RC=$?
	log "exec -i, 4 MB in, 2 MB out first: $RC: $(wc -c <"$W/out7") bytes, $(cat "$W/out7.err")"
	[ "$RC" = 0 ] && [ "$(wc -c <"$W/out7")" = 2000000 ] && has "$W/out7.err" '^READ 4000000$' || ok=1
	# exec -d returns while its process waits for /tmp/go; an exec monitor
	# holds the session and ends with the process.
	RC=0
	timeout 120 "$ISOLA_BIN" exec -d "$name" sh -c 'echo started >/tmp/bg;
		while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done >>/tmp/bg' \
		</dev/null >"$W/out11" 2>&1 || RC=$?
	log "exec -d: $RC: $(cat "$W/out11")"
	[ "$RC" = 0 ] && [ ! -s "$W/out11" ] || ok=1
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c 'cat /tmp/bg; touch /tmp/go' \
		</dev/null >"$W/out12" 2>&1
	i=0
	while ! has "$W/out12" '^done$' && [ $i -lt 30 ]; do
		sleep 1
		i=$((i + 1))
		timeout 120 "$ISOLA_BIN" exec "$name" cat /tmp/bg </dev/null >"$W/out12" 2>&1
	done
	log "exec -d's file: $(cat "$W/out12")"
	has "$W/out12" '^started$' && has "$W/out12" '^done$' || ok=1
	i=0
	while exec_d_left "$name" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	exec_d_left "$name" && { log "the exec -d monitor is still there" && ok=1; }
	RC=0
	timeout 120 "$ISOLA_BIN" exec "$name" no-such-cmd </dev/null >"$W/out3" 2>&1 || RC=$?
	log "exec no-such-cmd: $RC: $(cat "$W/out3")"
	[ "$RC" = 127 ] || ok=1
	under_pty "$W/out4" "$ISOLA_BIN exec -it $name tty"
	wait "$PTY_PID"
	log "exec -it: $(cat "$W/rc"): $(tr -d '\r' <"$W/out4")"
	[ "$(cat "$W/rc")" = 0 ] && tr -d '\r' <"$W/out4" | grep -Eq '^/dev/pts/[0-9]+$' || ok=1
	# An exec'd process's orphan is reaped by PID 1 of the container's PID
	# namespace -- here --init's init -- when it ends, not left a zombie.
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c '(sleep 0.7 &)' </dev/null >/dev/null 2>&1
	RC=0
	timeout 120 "$ISOLA_BIN" exec "$name" sh -c '
		live() { for f in /proc/[0-9]*/cmdline; do [ "$(tr "\0" " " <$f)" = "sleep 0.7 " ] && return 0; done; return 1; }
		zombies() { n=0; for f in /proc/[0-9]*/status; do grep -q "^State:.Z" $f && grep -q "^Name:.sleep" $f && n=$((n + 1)); done; echo $n; }
		i=0; while [ $i -lt 100 ] && { live || [ "$(zombies)" != 0 ]; }; do sleep 0.1; i=$((i + 1)); done
		echo ZOMBIES $(zombies)' </dev/null >"$W/out6" 2>&1 || RC=$?
	log "orphan: $RC: $(cat "$W/out6")"
	[ "$RC" = 0 ] && has "$W/out6" '^ZOMBIES 0$' || ok=1
	kill -TERM "$pid"
	RC=0
	wait "$pid" || RC=$?
	log "the container: $RC"
	[ "$RC" = 143 ] || ok=1
	RC=0
	timeout 60 "$ISOLA_BIN" exec "$name" true </dev/null >"$W/out5" 2>&1 || RC=$?
	log "exec after the end: $RC: $(cat "$W/out5")"
	[ "$RC" != 0 ] || ok=1
	[ -z "$(ls "$W/store/containers")" ] && ! ls -d /tmp/isola-vmct-* 2>/dev/null || ok=1
	return $ok
}

# run --vm -d and the commands around it (docs/vm-containers.md): the
# detached monitor owns the VM.  vmdet ARGS...: isola with the bed's store.
vmdet() {
	ISOLA_STORE=$W/store timeout 120 "$ISOLA_BIN" "$@" </dev/null
}

# No VMM, socket dir, bundle, state or mount of $W/store is left.
vmdet_nothing_left() {
	local left
	left=$(ps -o args 2>/dev/null | grep '[v]m run' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && return 1; }
	! ls -d /tmp/isola-vmct-* 2>/dev/null || { log "socket dirs left" && return 1; }
	[ -z "$(ls "$W/store/containers")" ] || { log "bundles left" && return 1; }
	[ -z "$(ls "$W/store/run" 2>/dev/null)" ] || { log "state left" && return 1; }
	! grep -q "$W/store" /proc/mounts || { log "mounts left" && return 1; }
}

# run -d prints the name once the process runs; logs has its stdout and
# stderr; ps lists it as a VM; exec reaches it; stop: 143 (TERM), and 137 for
# a process that ignores TERM (KILL after -t); rm leaves nothing.
t_vmct_detach() {
	local n=vmd$$ ok=0
	cp -a "$L2DIR/vmct/store" "$W/store"
	# shellcheck disable=SC2086
	vmdet run --vm -d --init --name "$n" $VMCT_ARGS localhost/bb:1 \
		sh -c 'echo STARTED; echo to-err >&2; exec sleep 1000' >"$W/out" 2>&1
	log "run -d: $(cat "$W/out")"
	[ "$(cat "$W/out")" = "$n" ] || return 1
	wait_for "$W/store/containers/$n/ctr.log" to-err 60 || ok=1
	vmdet logs "$n" >"$W/logs" 2>&1
	log "logs: $(cat "$W/logs")"
	[ "$(cat "$W/logs")" = "$(printf 'STARTED\nto-err')" ] || ok=1
	vmdet ps >"$W/ps" 2>&1
	log "ps: $(cat "$W/ps")"
	grep -q "running vm.*$n" "$W/ps" || ok=1
	RC=0
	vmdet exec "$n" sh -c 'echo from-exec; ps; exit 5' >"$W/exec" 2>&1 || RC=$?
	log "exec: $RC: $(cat "$W/exec")"
	[ "$RC" = 5 ] && has "$W/exec" from-exec && has "$W/exec" 'sleep 1000' || ok=1
	vmdet stop -t 30 "$n" >"$W/stop" 2>&1 || ok=1
	vmdet ps -a >"$W/ps" 2>&1
	log "after stop: $(cat "$W/stop"); ps -a: $(cat "$W/ps")"
	grep -q "stopped (143) vm.*$n" "$W/ps" || ok=1
	vmdet rm "$n" >/dev/null 2>&1 || ok=1
	vmdet_nothing_left || ok=1
	# shellcheck disable=SC2086
	vmdet run --vm -d --name "$n" $VMCT_ARGS localhost/bb:1 \
		sh -c "trap '' TERM; echo UP; exec sleep 1000" >"$W/out" 2>&1 || ok=1
	wait_for "$W/store/containers/$n/ctr.log" UP 60 || ok=1
	vmdet stop -t 2 "$n" >"$W/stop" 2>&1 || ok=1
	vmdet ps -a >"$W/ps" 2>&1
	log "stop of a TERM-ignoring process; ps -a: $(cat "$W/ps")"
	grep -q "stopped (137) vm.*$n" "$W/ps" || ok=1
	vmdet rm "$n" >/dev/null 2>&1 || ok=1
	vmdet_nothing_left || ok=1
	return $ok
}

# logs -f follows until the process ends (its exit code is kept); --rm -d
# removes the container at the end; rm -f of a running one leaves nothing.
t_vmct_detach_end() {
	local n=vme$$ ok=0
	cp -a "$L2DIR/vmct/store" "$W/store"
	# shellcheck disable=SC2086
	vmdet run --vm -d --name "$n" $VMCT_ARGS localhost/bb:1 \
		sh -c 'echo one; sleep 3; echo two; exit 4' >"$W/out" 2>&1 || ok=1
	vmdet logs -f "$n" >"$W/logs" 2>&1 || ok=1
	vmdet ps -a >"$W/ps" 2>&1
	log "logs -f: $(cat "$W/logs"); ps -a: $(cat "$W/ps")"
	[ "$(cat "$W/logs")" = "$(printf 'one\ntwo')" ] || ok=1
	grep -q "stopped (4) vm.*$n" "$W/ps" || ok=1
	vmdet rm "$n" >/dev/null 2>&1 || ok=1
	# shellcheck disable=SC2086
	vmdet run --vm -d --rm --name "$n" $VMCT_ARGS localhost/bb:1 echo bye >"$W/out" 2>&1 || ok=1
	local i=0
	while [ -e "$W/store/containers/$n" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	log "--rm: $(cat "$W/out"); gone after $i tenths"
	vmdet_nothing_left || ok=1
	# shellcheck disable=SC2086
	vmdet run --vm -d --name "$n" $VMCT_ARGS localhost/bb:1 sh -c 'echo UP; exec sleep 1000' \
		>"$W/out" 2>&1 || ok=1
	wait_for "$W/store/containers/$n/ctr.log" UP 60 || ok=1
	vmdet rm -f "$n" >"$W/rm" 2>&1 || ok=1
	log "rm -f: $(cat "$W/rm")"
	vmdet_nothing_left || ok=1
	return $ok
}

# VM containers on the container network (docs/vm-containers.md "Networking"): the
# default network (bridge isola0, 10.90.0.0/16, gateway 10.90.0.1) of the test's store.
vmct_net_ready() {
	[ -x /usr/lib/cni/bridge ] && command -v iptables >/dev/null || {
		log "no CNI plugins or iptables in L1 (not installed on the host that built it)"
		return 1
	}
}

# vmct_net_clean NAME...: nothing of the containers' networking is left: netns, state,
# veth on isola0, TAP, iptables rule, IPAM lease; nor a VMM or socket dir.
vmct_net_clean() {
	local left n st=${NET_STORE:-$W/store}
	left=$(ls "$st/net/ns" 2>/dev/null)
	[ -z "$left" ] || { log "netns left: $left" && return 1; }
	left=$(ls "$st/net/state" 2>/dev/null | grep -v '\.lock$')
	[ -z "$left" ] || { log "state left: $left" && return 1; }
	left=$(ls /sys/class/net/isola0/brif 2>/dev/null)
	[ -z "$left" ] || { log "veths left on isola0: $left" && return 1; }
	left=$(ls /sys/class/net | grep -E '^(tap|veth|warm)' || true)
	[ -z "$left" ] || { log "links left: $left" && return 1; }
	for n in "$@"; do
		left=$(iptables-save | grep -- "$n" || true)
		[ -z "$left" ] || { log "iptables rules left for $n: $left" && return 1; }
	done
	left=$(ls "$st/net/ipam/isola" 2>/dev/null | grep -Ev '^(lock|last_reserved_ip\.[0-9]+)$')
	[ -z "$left" ] || { log "IPAM leases left: $left" && return 1; }
	left=$(ps -o args 2>/dev/null | grep -E '[v]m (run|restore)' || true)
	[ -z "$left" ] || { log "VMM processes left: $left" && return 1; }
	! ls -d /tmp/isola-vmct-* 2>/dev/null || { log "socket dirs left" && return 1; }
	[ -z "$(ls "$st/containers")" ] || { log "bundles left" && return 1; }
}

# The guest has the CNI result's address on eth0, the default route, --hostname and the
# bundle's /etc files, and reaches a listener on the bridge's host side (L1's httpd).
t_vmct_net() {
	vmct_net_ready || return 77
	local hpid ok=0
	mkdir -p "$W/www"
	echo hello-from-l1 >"$W/www/hi.txt"
	httpd -f -p 7777 -h "$W/www" &
	hpid=$!
	vmct "$W/out" --network bridge --name vmn$$ --hostname vmhost localhost/bb:1 sh -c '
		echo H=$(hostname) F=$(cat /etc/hostname)
		ip -4 -o addr show eth0; ip route
		grep -c "^nameserver" /etc/resolv.conf; grep vmhost /etc/hosts
		wget -q -O- http://10.90.0.1:7777/hi.txt'
	kill "$hpid"
	cat "$W/out" >&2
	[ "$RC" = 0 ] && has "$W/out" '^H=vmhost F=vmhost$' && has "$W/out" 'inet 10\.90\.' &&
		has "$W/out" '^default via 10\.90\.0\.1' && has "$W/out" '^hello-from-l1$' || ok=1
	vmct_net_clean "vmn$$" || ok=1
	return $ok
}

# -p HOST:CTR reaches httpd in a VM container (portmap's DNAT to the guest's address);
# a second VM container pings the first and fetches from it; then nothing is left.
t_vmct_net_port() {
	vmct_net_ready || return 77
	local pid ipa i=0 ok=0
	[ -d "$W/store" ] || cp -a "$L2DIR/vmct/store" "$W/store"
	# isola itself in the background (not a shell function's subshell): TERM goes to it.
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store "$ISOLA_BIN" run --vm --rm --init $VMCT_ARGS --network bridge \
		--name vmweb$$ -p 8080:80 localhost/bb:1 sh -c '
		mkdir -p /tmp/w; echo hello-from-vm >/tmp/w/index.html; echo READY
		exec httpd -f -p 80 -h /tmp/w' </dev/null >"$W/out1" 2>"$W/out1.err" &
	pid=$!
	wait_for "$W/out1" READY || { kill -KILL "$pid"; wait "$pid"; cat "$W/out1.err" >&2; return 1; }
	while [ $i -lt 300 ] && ! wget -q -O "$W/page" http://127.0.0.1:8080/ 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	log "through -p 8080:80: $(cat "$W/page" 2>/dev/null)"
	has "$W/page" '^hello-from-vm$' || ok=1
	ipa=$(sed -n 's/.*"ip": "\([0-9.]*\)".*/\1/p' "$W/store/net/state/vmweb$$.json")
	log "the first VM container's address: $ipa"
	# Without CAP_NET_RAW (not in run IMAGE's default set): an ICMP datagram socket,
	# which the guest's net.ipv4.ping_group_range "0 0" (config.json's) allows.
	vmct "$W/out2" --network bridge --name vmcli$$ localhost/bb:2 sh -c \
		"icmp-probe ping $ipa && wget -q -O- http://$ipa:80/"
	[ "$RC" = 0 ] && has "$W/out2" "^ok reply from $ipa\$" && has "$W/out2" '^hello-from-vm$' ||
		ok=1
	kill -TERM "$pid"
	RC=0
	wait "$pid" || RC=$?
	log "the httpd container: $RC; $(cat "$W/out1.err")"
	[ "$RC" = 143 ] || ok=1
	vmct_net_clean "vmweb$$" "vmcli$$" || ok=1
	return $ok
}

# vmct_detach_net STORE PORT NAME COLD: run --vm -d ($ISOLA_VM_COLD=COLD) on the bridge network of STORE with
# -p PORT:80 and httpd in the guest: L1 fetches the page through the port; the guest has
# the CNI address (its /proc/cmdline goes to $W/log); rm -f leaves nothing.
vmct_detach_net() {
	local st=$1 port=$2 n=$3 i=0 ok=0
	[ -d "$st" ] || cp -a "$L2DIR/vmct/store" "$st"
	# shellcheck disable=SC2086
	ISOLA_VM_COLD=$4 ISOLA_STORE=$st timeout "$l1timeout" "$ISOLA_BIN" run --vm -d --name "$n" $VMCT_ARGS \
		--network bridge -p "$port:80" localhost/bb:1 \
		sh -c 'mkdir -p /tmp/w; echo hello-from-detached >/tmp/w/index.html
		cat /proc/cmdline; ip -4 -o addr show eth0; echo READY
		exec httpd -f -p 80 -h /tmp/w' </dev/null >"$W/out" 2>&1 || ok=1
	log "run -d: $(cat "$W/out")"
	wait_for "$st/containers/$n/ctr.log" READY 120 || ok=1
	cp "$st/containers/$n/ctr.log" "$W/log"
	log "log: $(cat "$W/log")"
	has "$W/log" 'inet 10\.90\.' || ok=1
	while [ $i -lt 300 ] && ! wget -q -O "$W/page" "http://127.0.0.1:$port/" 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	log "through -p $port:80: $(cat "$W/page" 2>/dev/null)"
	has "$W/page" '^hello-from-detached$' || ok=1
	ISOLA_STORE=$st timeout 120 "$ISOLA_BIN" rm -f "$n" >"$W/rm" 2>&1 </dev/null || ok=1
	log "rm -f: $(cat "$W/rm")"
	NET_STORE=$st vmct_net_clean "$n" || ok=1
	return $ok
}

t_vmct_detach_net() {
	vmct_net_ready || return 77
	vmct_detach_net "$W/store" 8080 "vmdn$$" 1 && hasnt "$W/log" isola.warm=1
}

# The same on the warm path: run --vm -d restores the NIC template (vmct-warm-net's).
t_vmct_warm_detach_net() {
	vmct_net_ready || return 77
	vmct_detach_net "$WARM_STORE" 8082 "vmwdn$$" "" && has "$W/log" isola.warm=1
}

# vmoci_ns_snapshot NS: what the netns file NS holds (links, addresses, routes, qdiscs).
vmoci_ns_snapshot() {
	nsenter --net="$1" sh -c 'ip -o link show | sed "s/ state [A-Z]*//; s/qlen [0-9]*//" |
		cut -d" " -f2-3; ip -o addr show | cut -d" " -f2-4; ip route; tc qdisc show' |
		sort
}

# The OCI mode's NIC: an engine's netns (made here with unshare and the CNI bridge
# plugin run by hand, as podman and CRI do) named by linux.namespaces; the guest has
# eth0's address and route from that netns, pings the bridge and fetches from L1's httpd;
# after delete the netns holds exactly what it held before.
t_vmoci_net() {
	vmct_net_ready || return 77
	local ns=$W/netns hpid i=0 ok=0 before after
	touch "$ns"
	unshare --net="$ns" true || { log "unshare --net=$ns failed" && return 1; }
	cat >"$W/cni.json" <<-EOF
	{"cniVersion": "1.0.0", "name": "vmocinet", "type": "bridge", "bridge": "vmoci0",
	 "isGateway": true, "ipMasq": false,
	 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.91.0.0/24"}]],
	  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$W/ipam"}}
	EOF
	cni() {
		CNI_COMMAND=$1 CNI_CONTAINERID=vmocinet CNI_NETNS=$ns CNI_IFNAME=eth0 \
			CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <"$W/cni.json"
	}
	cni ADD >"$W/cni.out" 2>&1 || { log "CNI ADD: $(cat "$W/cni.out")" && return 1; }
	before=$(vmoci_ns_snapshot "$ns")
	log "the netns: $before"
	mkdir -p "$W/www"
	echo hello-from-l1-oci >"$W/www/hi.txt"
	httpd -f -p 10.91.0.1:7778 -h "$W/www" &
	hpid=$!
	vmoci_bundle "$W/b" '["sh", "-c", "ip -4 -o addr show eth0; ip route; ping -c 1 -W 10 10.91.0.1 && wget -q -O- http://10.91.0.1:7778/hi.txt"]'
	sed -i "s|\"root\":|\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"$ns\"}]}, \"root\":|" \
		"$W/b/config.json"
	if vmoci create --bundle "$W/b" cn </dev/null >"$W/out" 2>"$W/out.err"; then
		vmoci start cn || ok=1
		while [ "$(vmoci_state cn status)" != stopped ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		log "guest: exit $(cat "$VMOCI_ROOT/cn/vm.exit"); $(cat "$W/out" "$W/out.err")"
		[ "$(cat "$VMOCI_ROOT/cn/vm.exit")" = 0 ] && has "$W/out" 'inet 10\.91\.0\.' &&
			has "$W/out" '^default via 10\.91\.0\.1' && has "$W/out" '^hello-from-l1-oci$' || ok=1
		vmoci delete cn || ok=1
	else
		log "create failed: $(cat "$W/out.err")"
		ok=1
	fi
	after=$(vmoci_ns_snapshot "$ns")
	[ "$before" = "$after" ] || { log "the netns after delete: $after" && ok=1; }
	vmoci_gone cn || ok=1
	kill "$hpid"
	cni DEL >/dev/null 2>&1
	umount "$ns"
	rm -f "$ns"
	ip link del vmoci0 2>/dev/null
	return $ok
}

# l1_reap: after a failed test, end what it left running, so that its failure
# is not counted again by the leak checks of the tests after it (a failing
# vmoci test returns before its delete).  Prints what it had to end.
l1_reap() {
	local d id pid
	for d in "$VMOCI_ROOT"/*/; do
		[ -d "$d" ] || continue
		id=$(basename "$d")
		echo "vmoci container $id"
		vmoci delete --force "$id" >/dev/null 2>&1
	done
	for pid in $(ps -o pid,args 2>/dev/null | grep -E '[v]m (run|restore)' | awk '{print $1}'); do
		echo "VMM $pid"
		kill -KILL "$pid" 2>/dev/null
	done
	sleep 0.5
	for d in $(grep -o " $W[^ ]*" /proc/mounts | sort -r); do
		echo "mount $d"
		umount -l "$d" 2>/dev/null
	done
	for d in /tmp/isola-vmct-* /tmp/isola-warm-*; do
		[ -e "$d" ] && echo "left $d" && rm -rf "$d"
	done
	for d in /sys/fs/cgroup/vmoci-*; do
		[ -d "$d" ] && echo "cgroup $d" && rmdir "$d"
	done
}

# l1_main "NAME...": run the named tests (all when empty), print TAP.
l1_main() {
	local want=$1 t name todo n=0 total=0 fn wd rc
	for t in $L1_TESTS; do
		name=${t%%:*}
		[ -z "$want" ] || echo " $want " | grep -q " $name " || continue
		total=$((total + 1))
	done
	echo "1..$total"
	mkdir -p "$W"
	for t in $L1_TESTS; do
		name=${t%%:*}
		[ -z "$want" ] || echo " $want " | grep -q " $name " || continue
		todo=
		[ "$t" != "$name" ] && todo=" # TODO ${t#*:}"
		n=$((n + 1))
		rm -rf "$W"
		mkdir -p "$W"
		fn=t_$(echo "$name" | tr - _)
		echo "# running $name"
		# A watchdog: a test that hangs is killed and says so.
		# fd 3: progress lines of a long test, to the console (they keep L1 from looking silent).
		wd=$((l1timeout * 2))
		[ "$name" = vmoci-cycles ] && wd=$((l1timeout * 12))
		rc=0
		timeout -s KILL "$wd" sh -c '. "$1"; "$2"' _ "$L1_TESTS_FILE" "$fn" \
			3>&1 >"$W.log" 2>&1 || rc=$?
		if [ "$rc" = 0 ]; then
			echo "ok $n - $name$todo"
			# What it measured or saw, for the record.
			tr -d '\r' <"$W.log" | grep -v '^[[:space:]{}"]*$\|^[[:space:]{}"]' | tail -4 |
				cut -c1-400 | sed 's/^/#   /'
		elif [ "$rc" = 77 ]; then
			# A test that cannot run here says why on its log's last line.
			echo "ok $n - $name # SKIP $(tail -1 "$W.log")"
		else
			[ "$rc" = 137 ] && echo "test hung: killed after ${wd}s" >>"$W.log"
			echo "not ok $n - $name$todo"
			for f in "$W.log" "$W"/out*; do
				[ -f "$f" ] || continue
				echo "# --- $(basename "$f")"
				tr -d '\r' <"$f" | grep -v '^$' | tail -40 | sed 's/^/# /'
			done
			l1_reap 2>&1 | sed 's/^/# reaped: /'
		fi
	done
}
