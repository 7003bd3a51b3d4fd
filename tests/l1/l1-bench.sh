# Boot benchmark inside L1 (sourced by tests/l1/l1-init.sh when l1mode=bench;
# driven by bench/l1-boot.sh): isola against QEMU (-M microvm and -M q35,
# -enable-kvm) on the same stock Debian kernel and initramfs, paired runs in
# rotating order.  Prints "BENCH vmm run to_userspace_ms to_exit_ms hwm_kib".
# Times come from /proc/uptime (10 ms resolution; everything here is emulated,
# so only ratios between the VMMs mean anything).

: "${l1runs:=5}"
K=/l2/vmlinuz
I=/l2/initrd.gz
CMD="console=ttyS0 reboot=k panic=-1 l2=boot"

now_ms() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}0"
}

start_vm() { # VMM OUT
	case $1 in
	isola) timeout 600 /bin/isola vm run --kernel $K --initrd $I --memory 256M --cmdline "$CMD" ;;
	microvm)
		timeout 600 qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 256 -nodefaults \
			-no-user-config -nographic -serial stdio -no-reboot -kernel $K -initrd $I \
			-append "$CMD"
		;;
	q35)
		timeout 600 qemu-system-x86_64 -M q35 -enable-kvm -cpu host -m 256 -nodefaults \
			-no-user-config -nographic -serial stdio -no-reboot -kernel $K -initrd $I \
			-append "$CMD"
		;;
	esac </dev/null >"$2" 2>&1 &
	VM_PID=$!
}

one() { # VMM RUN
	local out=/tmp/bench.out t0 tu=- te hwm=- i=0 rc=0
	rm -f $out
	t0=$(now_ms)
	start_vm "$1" $out
	while [ $i -lt 30000 ] && kill -0 $VM_PID 2>/dev/null; do
		if grep -q L2-USERSPACE-UP $out 2>/dev/null; then
			tu=$(($(now_ms) - t0))
			hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$VM_PID/status 2>/dev/null)
			break
		fi
		sleep 0.02
		i=$((i + 1))
	done
	wait $VM_PID || rc=$?
	te=$(($(now_ms) - t0))
	grep -q L2-DONE $out || {
		echo "# $1 run $2: no L2-DONE (status $rc)"
		tail -15 $out | sed 's/^/# /'
	}
	echo "BENCH $1 $2 $tu $te ${hwm:--}"
}

vmms=$(echo "${l1vmms:-isola,microvm,q35}" | tr , ' ')
cnt=$(echo $vmms | wc -w)
echo "# bench: $l1runs paired runs of $vmms, kernel $(basename $K), 256 MiB, 1 vCPU"
n=1
while [ $n -le "$l1runs" ]; do
	# Rotate the order each run so no VMM always goes first.
	r=$((n % cnt))
	order=
	i=0
	for v in $vmms $vmms; do
		[ $i -ge $r ] && [ $i -lt $((r + cnt)) ] && order="$order $v"
		i=$((i + 1))
	done
	for v in $order; do
		one $v $n
	done
	n=$((n + 1))
done
