#!/bin/busybox sh
# /init of the L1 VM (QEMU TCG, AMD CPU with SVM): load kvm-amd, then run the
# Linux-guest tests (tests/l1/l1-tests.sh) and print TAP on the console.
# l1tests= (comma-separated names, empty for all) and l1timeout= come from
# the kernel command line as environment variables.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Terminals, for the tests that run isola under a pty (vmct-tty, vmct-exec).
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o size=1200m tmp /tmp
mkdir -p /run
mount -t tmpfs run /run
kver=$(uname -r)
for m in $(cat "/lib/modules/$kver/order"); do
	insmod "/lib/modules/$kver/$m" || echo "# insmod $m failed"
done
ip link set lo up
# Which clocks L1 runs on (docs/vmm.md "L1 wedges": an idle L1 that waits for a
# timer interrupt forever).
echo "# L1 clocks: source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
	"event $(cat /sys/devices/system/clockevents/clockevent0/current_device)," \
	"broadcast $(cat /sys/devices/system/clockevents/broadcast/current_device 2>/dev/null)"
if [ ! -c /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm in L1 (kvm-amd did not load)"
	reboot -f
fi
export ISOLA_BIN=/bin/isola L2DIR=/l2 W=/tmp/l1w L1_TESTS_FILE=/l1-tests.sh
if [ "${l1mode:-}" = bench ] || [ "${l1mode:-}" = vmct-bench ]; then
	if [ "$l1mode" = bench ]; then . /l1-bench.sh; else . /l1-vmct-bench.sh; fi
	echo "# L1-DONE"
	reboot -f
fi
. /l1-tests.sh
l1_main "$(echo "${l1tests:-}" | tr , ' ')"
echo "# L1-DONE"
sync
reboot -f
