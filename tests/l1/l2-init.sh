#!/bin/busybox sh
# /init of the L2 guests (stock Debian kernels in isola, inside L1).
# The action comes from the kernel command line: l2=NAME (unknown parameters
# reach init as environment variables).  Without l2= and with root=, it does
# what Debian's initramfs does: load the virtio modules, mount root= and
# switch_root to init= (default /sbin/init).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "L2-USERSPACE-UP $(uname -r)"

load() {
	local m
	for m in $(cat "/lib/modules/$(uname -r)/order"); do
		insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null
	done
}

wait_path() { # PATH: up to 10 s
	local i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

arg() { # NAME: its value on the kernel command line
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -1
}

# count LABEL COMMAND: print "LABEL 1", "LABEL 2"... forever, COMMAND between.
count() {
	local i=0
	while :; do
		i=$((i + 1))
		echo "$1 $i"
		$2
	done
}
counter() { count CNT "sleep 1"; }
ticker() { count TICK "usleep 100000"; } # the boot benchmark's restore mark

# Live migration: block i of /dev/vda gets its tag (written through, fsync'ed)
# and one ping to L1 goes out (answer awaited pingw=S seconds, default 2) before
# "CNT i ok rtt=MS" or "CNT i lost" is printed, once a second.
migrate() {
	local i=0 p w
	w=$(arg pingw)
	load
	wait_path /dev/vda || echo "NO-VDA"
	wait_path /sys/class/net/eth0 || echo "NO-ETH0"
	ip link set lo up
	ip addr add 10.77.0.2/24 dev eth0
	ip link set eth0 up
	echo "MIGRATE-READY"
	while :; do
		i=$((i + 1))
		printf 'isola-l2-blk-%08d\n' $i | dd of=/dev/vda bs=4096 seek=$i conv=fsync 2>/dev/null ||
			echo "BLK-WRITE-FAILED $i"
		p=$(ping -c 1 -W "${w:-2}" 10.77.0.1 2>/dev/null | sed -n 's/.*time=\([0-9.]*\).*/\1/p')
		if [ -n "$p" ]; then
			echo "CNT $i ok rtt=$p"
		else # what eth0 saw: were the answers received, the requests sent?
			echo "CNT $i lost rx=$(cat /sys/class/net/eth0/statistics/rx_packets)" \
				"tx=$(cat /sys/class/net/eth0/statistics/tx_packets) up=$(cat /sys/class/net/eth0/carrier)"
		fi
		sleep 1
	done
}

blk() {
	load
	wait_path /dev/vdb || echo "NO-VDB"
	mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt || echo "BLK-MKFS-FAILED"
	echo isola-l2-wrote-this >/mnt/hello
	head -c 1048576 /dev/urandom >/mnt/rand
	echo "BLK-MD5 $(md5sum </mnt/rand | cut -d' ' -f1)"
	sync
	umount /mnt
	echo "VDB-RO $(blockdev --getro /dev/vdb)"
	echo "VDB-HEAD $(head -c 11 /dev/vdb)"
	if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null; then
		echo "VDB-WRITE-ACCEPTED"
	else
		echo "VDB-WRITE-REFUSED"
	fi
}

# virtio-fs: the shares `share` (read-write) and `ro` (read-only) mounted;
# files and a directory made, written, renamed, removed for L1 to check;
# a file L1 writes while the guest runs read back; writes to `ro`, a device
# node and a setuid bit refused.
virtiofs() {
	load
	mkdir -p /mnt /ro
	mount -t virtiofs share /mnt || echo "VFS-MOUNT-FAILED"
	mount -t virtiofs -o ro ro /ro || echo "VFS-RO-MOUNT-FAILED"
	echo "VFS-HOST-FILE $(cat /mnt/from-host)"
	echo isola-guest-wrote-this >/mnt/g1
	mkdir /mnt/dir && echo inside >/mnt/dir/a
	head -c 3000000 /dev/urandom >/mnt/dir/rand
	echo "VFS-MD5 $(md5sum </mnt/dir/rand | cut -d' ' -f1)"
	sync && echo 3 >/proc/sys/vm/drop_caches # the read back comes from the host
	echo "VFS-READBACK $(md5sum </mnt/dir/rand | cut -d' ' -f1)"
	# Throughput under nested TCG (a number to watch, not a claim about real KVM).
	echo "VFS-DD-WRITE $(dd if=/dev/zero of=/mnt/big bs=1M count=32 conv=fsync 2>&1 | tr '\n' ' ')"
	sync && echo 3 >/proc/sys/vm/drop_caches
	echo "VFS-DD-READ $(dd if=/mnt/big of=/dev/null bs=1M 2>&1 | tr '\n' ' ')"
	rm /mnt/big
	mv /mnt/g1 /mnt/dir/g2
	echo temp >/mnt/gone && rm /mnt/gone
	mkdir /mnt/rmd && rmdir /mnt/rmd
	chmod 4755 /mnt/dir/a
	mknod /mnt/null c 1 3 2>/dev/null && echo "VFS-MKNOD-MADE"
	echo "VFS-LS $(ls /mnt/dir | tr '\n' ' ')"
	if echo x 2>/dev/null >/ro/new; then echo "VFS-RO-WROTE"; else echo "VFS-RO-REFUSED"; fi
	echo "VFS-RO-READ $(cat /ro/r)"
	sync
	echo "VFS-MOUNTED"
	wait_path /mnt/live
	echo "VFS-LIVE $(cat /mnt/live)"
	umount /mnt /ro
}

# The first 12 bytes of /dev/vda's sector N (default 0), read with O_DIRECT:
# from the device, never from the page cache.
vda_head() {
	dd if=/dev/vda bs=512 skip="${1:-0}" count=1 iflag=direct 2>/dev/null | head -c 12 | tr -d '\0'
}

# resized FROM: wait (up to 10 min) until vda's size is no longer FROM sectors.
resized() {
	local i=0
	while [ "$(cat /sys/block/vda/size)" = "$1" ] && [ $i -lt 6000 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# PATCH /drives: the host swaps vda's image while this runs, then grows the new
# one and names it again.  vda's size and head before, after the first
# configuration change (then a write), and after the second.
blkswap() {
	local s
	load
	wait_path /dev/vda || echo "NO-VDA"
	s=$(cat /sys/block/vda/size)
	echo "SWAP-BEFORE $s $(vda_head)"
	resized "$s"
	s=$(cat /sys/block/vda/size)
	echo "SWAP-AFTER $s $(vda_head)"
	printf 'ISOLA-GUEST-WROTE' >/tmp/mark
	# 1 MiB + 4 KiB: past the old image's end.
	dd if=/tmp/mark of=/dev/vda bs=4096 seek=257 conv=notrunc,fsync 2>/dev/null &&
		echo "SWAP-WROTE"
	resized "$s"
	echo "SWAP-LAST $(cat /sys/block/vda/size) $(vda_head)"
}

# features DEVICE-ID: the features the driver negotiated with the first virtio
# device of that type, as 64 0/1 characters, bit 0 first (virtio core sysfs).
features() {
	local d
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = "$1" ] && cat "$d/features" && return
	done
}

net() {
	load
	wait_path /sys/class/net/eth0 || echo "NO-ETH0"
	echo "NET-FEATURES $(features 0x0001)"
	ip link set lo up
	ip addr add 10.77.0.2/24 dev eth0
	ip link set eth0 up
	ping -c 3 -W 5 10.77.0.1 >/tmp/ping && echo "PING-OK $(grep -c 'bytes from' /tmp/ping)"
	socat -u TCP-LISTEN:5002,reuseaddr CREATE:/tmp/in &
	local i=0
	while ! netstat -ltn | grep -q ':5002 ' && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "NET-LISTENING"
	head -c 1048576 /dev/urandom >/tmp/out
	echo "G2H-MD5 $(md5sum </tmp/out | cut -d' ' -f1)"
	socat -u FILE:/tmp/out TCP:10.77.0.1:5001,connect-timeout=30 || echo "G2H-FAILED"
	i=0
	while [ "$(stat -c %s /tmp/in 2>/dev/null || echo 0)" -lt 1048576 ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "H2G-MD5 $(md5sum </tmp/in 2>/dev/null | cut -d' ' -f1)"
}

vsock() {
	load
	wait_path /dev/vsock || echo "NO-VSOCK"
	echo "hello from the guest" | socat -t 5 - VSOCK-CONNECT:2:5000 && echo "G2H-SENT"
	socat -u VSOCK-LISTEN:52 CREATE:/tmp/v &
	echo "VSOCK-LISTENING"
	local i=0
	while ! grep -q . /tmp/v 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "H2G $(cat /tmp/v)"
}

rng() {
	load
	wait_path /dev/hwrng
	echo "RNG-CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
	echo "RNG-BYTES $(head -c 65536 /dev/hwrng | wc -c)"
	echo "RNG-GZ $(head -c 4096 /dev/hwrng | gzip | wc -c)"
}

meminfo() { awk "/^$1:/ {print \$2}" /proc/meminfo; }

balloon() {
	load
	wait_path /sys/bus/virtio/drivers/virtio_balloon
	local t0 f0 i=0
	t0=$(meminfo MemTotal)
	f0=$(meminfo MemFree)
	echo "BALLOON-READY total=$t0 free=$f0"
	while [ $i -lt 1200 ]; do
		if [ "$(meminfo MemTotal)" -lt $((t0 - 60000)) ]; then
			echo "BALLOON-INFLATED total=$(meminfo MemTotal) free=$(meminfo MemFree)"
			return
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "BALLOON-UNCHANGED total=$(meminfo MemTotal) free=$(meminfo MemFree)"
}

# Free page reporting: fill 128 MiB of the page cache (tmpfs), report the
# balloon's features, wait for the host's line on the console (it has read
# the VMM's RSS), free the file and wait for the second line (the host saw
# the RSS drop, or gave up).  No inflate: the target stays 0.
balloon_report() {
	load
	wait_path /sys/bus/virtio/drivers/virtio_balloon
	echo "BALLOON-FEATURES $(features 0x0005)"
	echo "REPORT-TOTAL $(meminfo MemTotal)"
	read -r _ </dev/console # the host has read its base RSS
	mkdir -p /fill
	mount -t tmpfs -o size=160m fill /fill
	dd if=/dev/zero of=/fill/f bs=1M count=128 2>/dev/null
	echo "REPORT-FILLED free=$(meminfo MemFree)"
	read -r _ </dev/console
	rm /fill/f
	umount /fill
	echo "REPORT-FREED free=$(meminfo MemFree)"
	read -r _ </dev/console
	echo "REPORT-TOTAL $(meminfo MemTotal)"
}

# A share in a snapshot (t_fs_snapshot): every module but fuse and virtiofs,
# so no driver takes the share before the snapshot; the host's first line on
# the console comes after the restore: then load them and use the share.
# The second line ends the test.
fssnap() {
	local m d
	d=/lib/modules/$(uname -r)
	for m in $(cat "$d/order"); do
		case $m in fuse.ko | virtiofs.ko) ;; *) insmod "$d/$m" 2>/dev/null ;; esac
	done
	echo "FSSNAP-WAITING"
	read -r _ </dev/console
	insmod "$d/fuse.ko" 2>/dev/null
	insmod "$d/virtiofs.ko" 2>/dev/null
	mkdir -p /mnt
	mount -t virtiofs share /mnt || echo "FSSNAP-MOUNT-FAILED"
	echo "FSSNAP-FILE $(cat /mnt/which)"
	echo guest-wrote >/mnt/g
	sync
	echo "FSSNAP-DONE"
	read -r _ </dev/console
	umount /mnt
}

# SendCtrlAltDel (t_cad): name the keyboard the kernel bound, then take the
# first Ctrl+Alt+Del as init's SIGINT and leave the second to the kernel.
kbd_name() { sed -n 's/^N: Name="\(.*keyboard.*\)"/\1/p' /proc/bus/input/devices | head -1; }

cad() {
	local i=0
	# atkbd binds from the kernel's serio thread, maybe after init started.
	while [ -z "$(kbd_name)" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "CAD-KBD $(kbd_name)"
	echo 0 >/proc/sys/kernel/ctrl-alt-del
	trap 'echo CAD-SIGINT; echo 1 >/proc/sys/kernel/ctrl-alt-del; echo CAD-ARMED' INT
	echo "CAD-READY"
	# wait returns at a trapped signal (a foreground sleep would delay the trap).
	while :; do
		sleep 1000 &
		wait $!
	done
}

rootdisk() {
	local root init
	root=$(arg root)
	init=$(arg init)
	load
	wait_path "$root"
	mkdir -p /newroot
	mount -t ext4 -o rw "$root" /newroot || echo "ROOT-MOUNT-FAILED"
	umount /proc /sys /dev
	exec switch_root /newroot "${init:-/sbin/init}"
}

case "${l2:-}" in
boot) echo "L2-BOOT-MARKER" ;;
panic)
	load # pvpanic-mmio: the panic reaches the VMM (ACPI QEMU0001)
	echo "L2-PANICKING"
	echo c >/proc/sysrq-trigger
	;;
poweroff) poweroff -f ;;
cad) cad ;;
fssnap) fssnap ;;
smp) echo "NPROC=$(nproc)" ;;
blk) blk ;;
blkswap) blkswap ;;
net) net ;;
vsock) vsock ;;
rng) rng ;;
virtiofs) virtiofs ;;
balloon) balloon ;;
balloon-report) balloon_report ;;
serial)
	echo "SHELL-READY"
	exec sh </dev/console >/dev/console 2>&1
	;;
count) counter ;;
migrate) migrate ;;
tick) ticker ;;
clock)
	# What the kernel keeps time with, and whether a timed sleep returns.
	echo "CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "CLOCKSOURCES $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)"
	grep -E '^(Tick Device|Clock Event Device|Per CPU device|Broadcast device| event_handler| mode:)' /proc/timer_list | sed 's/^/CLOCKEVENT /'
	grep -E '^ *(0|LOC|NMI):' /proc/interrupts | tr -s ' ' | sed 's/^/IRQS /'
	sleep 0.1
	echo "SLEPT"
	grep -E '^ *(0|LOC):' /proc/interrupts | tr -s ' ' | sed 's/^/IRQS /'
	;;
"") [ -n "$(arg root)" ] && rootdisk ;;
*) echo "L2-UNKNOWN-ACTION $l2" ;;
esac
echo "L2-DONE"
reboot -f
