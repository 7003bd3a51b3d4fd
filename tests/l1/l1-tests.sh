# Linux-guest tests: stock Debian kernels in isola, over virtio-pci.
# Sourced by tests/l1/l1-init.sh inside L1 (busybox sh), or by
# tests/l1/run.sh --direct on a host with real VMX/SVM.  Needs ISOLA_BIN,
# L2DIR (vmlinuz, vmlinuz-cloud, initrd.gz, rootdisk.img) and W (scratch).
# Each test is a function t_NAME returning 0 for pass; l1_main prints one
# TAP line per test and, on failure, the test's log as "# " lines.

: "${l1timeout:=300}"
BASE="console=ttyS0 reboot=k panic=-1"

# The tests, in order; a trailing ":REASON" marks a TODO (expected to fail).
L1_TESTS="boot reboot restart pvh cloud-boot panic console quiet rootdisk init blk net vsock rng
balloon serial snapshot migrate-refused smp2 smp4 poweroff vmct-echo vmct-exit vmct-kernel
vmct-isolation vmct-stdin vmct-signal vmct-clean vmct-tty vmct-exec
net-nooffload balloon-report"

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

t_console() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "console=ttyS0,115200n8 reboot=k panic=-1 l2=boot"
	has "$W/out" "Linux version" && has "$W/out" L2-BOOT-MARKER && [ "$RC" = 0 ]
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
		mkfifo "$W/in"
		socat -t 10 - "UNIX-CONNECT:$uds" <"$W/in" >"$W/resp" &
		exec 3>"$W/in"
		echo "CONNECT 52" >&3
		wait_for "$W/resp" "^OK [0-9]+" 30 && echo "hello from L1" >&3
		exec 3>&-
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
# does not move).  The console's input paces the guest.
t_balloon_report() {
	local pid base high low=0 i=0
	mkfifo "$W/in"
	# A boot, 128 MiB written and the wait for the reports: up to the test's
	# whole watchdog budget, not one isola timeout.
	# shellcheck disable=SC2046
	timeout $((l1timeout * 2 - 20)) "$ISOLA_BIN" vm run --memory 256M --virtio-transport pci $(linux) \
		--balloon --cmdline "$BASE l2=balloon-report" <"$W/in" >"$W/out" 2>&1 &
	VM_PID=$!
	exec 3>"$W/in"
	wait_for "$W/out" REPORT-TOTAL && pid=$(isola_pid "$VM_PID") && base=$(rss_kib "$pid")
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
	exec 3>"$W/in"
	# shellcheck disable=SC2016
	wait_for "$W/out" SHELL-READY && printf 'echo TYPED-$((6 * 7))\nreboot -f\n' >&3
	vm_wait
	exec 3>&-
	has "$W/out" TYPED-42 && [ "$RC" = 0 ]
}

t_snapshot() {
	local pid first snap
	timeout "$l1timeout" "$ISOLA_BIN" vm run --memory 256M $(linux) --cmdline "$BASE l2=count" \
		--snapshot-state "$W/st" --snapshot-mem "$W/mem" </dev/null >"$W/out1" 2>&1 &
	pid=$!
	wait_for "$W/out1" "^CNT 3" || { kill "$pid"; wait "$pid"; return 1; }
	kill -USR2 "$pid"
	wait_for "$W/out1" "^CNT 5" 60
	local i=0
	while [ ! -f "$W/st" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill "$pid"
	wait "$pid"
	snap=$(grep -c '^CNT' "$W/out1")
	[ -f "$W/st" ] || { log "no snapshot state file"; cat "$W/out1" >&2; return 1; }
	timeout "$l1timeout" "$ISOLA_BIN" vm restore --state "$W/st" --mem "$W/mem" \
		</dev/null >"$W/out" 2>&1 &
	pid=$!
	local ok=0
	wait_for "$W/out" "^CNT $((snap + 1))" 30 && ok=1
	kill "$pid" 2>/dev/null
	wait "$pid"
	first=$(grep -m1 '^CNT' "$W/out" | tr -dc 0-9)
	log "snapshot taken around CNT 3-$snap; restored guest first printed CNT $first"
	[ $ok = 1 ] && [ "$first" -gt 2 ] && hasnt "$W/out" "Linux version"
}

t_migrate_refused() {
	truncate -s 1M "$W/d.img"
	# shellcheck disable=SC2046
	vm_bg "$W/out" $(linux) --disk "$W/d.img" --api-sock "$W/api.sock" --cmdline "$BASE l2=migrate"
	wait_for "$W/out" MIGRATE-READY || { kill "$VM_PID"; wait "$VM_PID"; return 1; }
	local rc=0 n
	"$ISOLA_BIN" vm migrate --api-sock "$W/api.sock" --to "unix:$W/in.sock" >"$W/mig" 2>&1 ||
		rc=$?
	log "vm migrate: status $rc: $(cat "$W/mig")"
	n=$(grep -c '^CNT' "$W/out")
	wait_for "$W/out" "^CNT $((n + 1))" 30 # the guest runs on
	local alive=$?
	kill "$VM_PID"
	vm_wait
	[ "$rc" != 0 ] && [ "$(wc -l <"$W/mig")" = 1 ] && [ $alive = 0 ] && [ ! -e "$W/in.sock" ]
}

smp() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cpus "$1" --cmdline "$BASE l2=smp"
	has "$W/out" "Using ACPI (MADT)" && has "$W/out" "NPROC=$1" && [ "$RC" = 0 ]
}
t_smp2() { smp 2; }
t_smp4() { smp 4; }

t_poweroff() {
	# shellcheck disable=SC2046
	vm "$W/out" $(linux) --cmdline "$BASE l2=poweroff"
	has "$W/out" L2-USERSPACE-UP && has "$W/out" "sleep state S5" && [ "$RC" = 0 ]
}

# VM containers: isola run --vm with the generic kernel and a busybox image
# (tests/l1/run.sh build_vmct), in a copy of the store under $W.
VMCT_KVER=$(ls "$L2DIR/vmct/lib/modules" 2>/dev/null)
VMCT_ARGS="--vm-kernel $L2DIR/vmlinuz --vm-modules $L2DIR/vmct/lib/modules/$VMCT_KVER"

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
# cannot be seen, and the VM's user processes (not [kernel threads]) are the
# agent and the command's few.
t_vmct_isolation() {
	local mark=l1-marker-$$ pid
	sleep 987654 &
	pid=$!
	echo "$mark" >"/tmp/$mark"
	vmct "$W/out" localhost/bb:1 sh -c "ps; cat /tmp/$mark || echo NO-FILE; echo NPROC \$(ps | grep -vc '\\[')"
	kill "$pid"
	wait "$pid" 2>/dev/null
	rm -f "/tmp/$mark"
	[ "$RC" = 0 ] && hasnt "$W/out" 987654 && has "$W/out" NO-FILE && hasnt "$W/out" "^$mark" &&
		[ "$(field "$W/out" NPROC)" -lt 10 ]
}

# -i: stdin reaches the process, and its end is the process's EOF.
t_vmct_stdin() {
	printf 'line one\nline two\n' >"$W/in"
	VMCT_IN=$W/in vmct "$W/out" -i localhost/bb:1 sh -c 'cat; echo END'
	[ "$RC" = 0 ] && [ "$(cat "$W/out")" = "$(printf 'line one\nline two\nEND')" ]
}

# SIGTERM to isola reaches the process in the VM; its status comes back (128 + 15).
t_vmct_signal() {
	cp -a "$L2DIR/vmct/store" "$W/store"
	# A simple command, so that $! is isola itself (the test's watchdog bounds it).
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store "$ISOLA_BIN" run --vm --rm $VMCT_ARGS localhost/bb:1 \
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
	under_pty "$W/out" "ISOLA_STORE=$W/store $ISOLA_BIN run --vm --rm -it $VMCT_ARGS localhost/bb:1 sh -c 'echo TTY \$(tty); echo SIZE \$(stty size); i=0; while [ \$i -lt 600 ] && [ \"\$(stty size)\" != \"50 100\" ]; do sleep 0.1; i=\$((i+1)); done; echo RESIZED \$(stty size); exit 3'"
	wait_for "$W/out" "SIZE " || { kill "$PTY_PID"; return 1; }
	stty -F "$(cat "$W/pty")" rows 50 cols 100
	wait "$PTY_PID"
	tr -d '\r' <"$W/out" >"$W/out.txt"
	log "rc $(cat "$W/rc"); $(cat "$W/out.txt")"
	[ "$(cat "$W/rc")" = 3 ] && grep -Eq '^TTY /dev/pts/[0-9]+$' "$W/out.txt" &&
		has "$W/out.txt" '^SIZE 30 90$' && has "$W/out.txt" '^RESIZED 50 100$' &&
		[ "$(cat "$W/before")" = "$(cat "$W/after")" ]
}

# isola exec NAME into a running run --vm container: output and exit code
# come back, it is the same VM (the container's process is there), stdin
# with -i, a terminal with -t, 127 for a missing command; then nothing is left.
t_vmct_exec() {
	local name=vmx$$ pid ok=0
	cp -a "$L2DIR/vmct/store" "$W/store"
	# shellcheck disable=SC2086
	ISOLA_STORE=$W/store "$ISOLA_BIN" run --vm --rm --name "$name" $VMCT_ARGS localhost/bb:1 \
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
	RC=0
	timeout 120 "$ISOLA_BIN" exec "$name" no-such-cmd </dev/null >"$W/out3" 2>&1 || RC=$?
	log "exec no-such-cmd: $RC: $(cat "$W/out3")"
	[ "$RC" = 127 ] || ok=1
	under_pty "$W/out4" "$ISOLA_BIN exec -it $name tty"
	wait "$PTY_PID"
	log "exec -it: $(cat "$W/rc"): $(tr -d '\r' <"$W/out4")"
	[ "$(cat "$W/rc")" = 0 ] && tr -d '\r' <"$W/out4" | grep -Eq '^/dev/pts/[0-9]+$' || ok=1
	# An exec'd process's orphan is reaped by the agent (PID 1) when it ends,
	# not left a zombie until the container's process ends.
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

# l1_main "NAME...": run the named tests (all when empty), print TAP.
l1_main() {
	local want=$1 t name todo n=0 total=0 fn
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
		if timeout -s KILL $((l1timeout * 2)) sh -c '. "$1"; "$2"' _ "$L1_TESTS_FILE" "$fn" \
			>"$W.log" 2>&1; then
			echo "ok $n - $name$todo"
		else
			[ $? = 137 ] && echo "test hung: killed after $((l1timeout * 2))s" >>"$W.log"
			echo "not ok $n - $name$todo"
			for f in "$W.log" "$W"/out*; do
				[ -f "$f" ] || continue
				echo "# --- $(basename "$f")"
				tr -d '\r' <"$f" | grep -v '^$' | tail -40 | sed 's/^/# /'
			done
		fi
	done
}
