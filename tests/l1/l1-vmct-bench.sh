# VM-container start-up benchmark inside L1 (sourced by tests/l1/l1-init.sh
# when l1mode=vmct-bench; driven by bench/l1-vmct.sh).  Paired runs in
# rotating order of:
#   vm     isola run --vm --rm --network none bb:1 true  (bundle, cached disk + initramfs, VM, agent:
#          a warm start, the template restored; docs/vm-containers.md)
#   cold   the same with ISOLA_VM_COLD=1      (a cold boot of the kernel)
#   vmnet  isola run --vm --rm --network bridge bb:1 true   (a warm start with a NIC: CNI ADD/DEL,
#          the TAP and tc redirects in the netns, the NIC template restored onto the TAP,
#          eth0's MAC and address set by the agent)
#   coldnet  the same with ISOLA_VM_COLD=1   (a cold boot with a NIC)
#   vmvol  isola run --vm --rm -v DIR:/data bb:1 true   (a warm start with a volume: the
#          template with one share restored onto DIR)
#   coldvol  the same with ISOLA_VM_COLD=1   (a cold boot with a share)
#   plain  isola run --rm --network none bb:1 true   (the same image as a plain container)
#   plainnet  isola run --rm --network bridge bb:1 true   (a plain container on the network)
#   det    isola run --vm -d --rm --network none bb:1 true: until `run -d` returns (the
#          process started, warm); detcold: the same with ISOLA_VM_COLD=1.  The
#          container's removal is waited for after the timing.
#   oci    isola-vm run --bundle B ID (the OCI mode: create with a per-container root
#          disk, start, the exit; warm), then delete; ocicold: ISOLA_VM_COLD=1;
#          ociplain: isola run --bundle B ID, the same bundle as a plain container
#   isola  isola vm run with the same kernel, initramfs, disk and a vsock device,
#          a socat listener serving the agent's config frame
#   qemu   qemu-system-x86_64 -M microvm,pcie=on -enable-kvm, the same kernel,
#          initramfs and disk (virtio-blk-pci), vhost-vsock-pci, the same socat
# Prints "BENCH kind run ms status".  Times from /proc/uptime (10 ms); all of
# it is emulated (TCG), so only the ratios mean anything.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
S=/tmp/vbench
kver=$(ls /l2/vmct/lib/modules)
K=/l2/vmlinuz
CMD="console=ttyS0 reboot=k panic=-1 quiet"

. /l1-paired.sh

mkdir -p $S /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
cp -a /l2/vmct/store $S/store
export ISOLA_STORE=$S/store
# run IMAGE's default is the bridge network: only vmnet and plainnet ask for it.
export ISOLA_NETWORK=none
# The plain runtime on L1's initramfs root cannot pivot_root: --no-pivot.
printf '#!/bin/sh\nset -- $(echo "$@" | sed "s/ run / run --no-pivot /")\nexec /bin/isola "$@"\n' >$S/rt
chmod +x $S/rt
VMARGS="--vm-kernel $K --vm-modules /l2/vmct/lib/modules/$kver"

# One run --vm first: it builds the cached initramfs, root disk and warm template the others use;
# one on the bridge network builds the template with a NIC (when vmnet is measured).
/bin/isola run --vm --rm $VMARGS bb:1 true >$S/warm 2>&1 || {
	echo "# warm-up run --vm failed:"
	sed 's/^/# /' $S/warm
}
mkdir -p $S/vol
case ",${l1kinds:-}," in
*,vmvol,*)
	/bin/isola run --vm --rm -v $S/vol:/data $VMARGS bb:1 true >$S/warm 2>&1 || {
		echo "# warm-up run --vm -v failed:"
		sed 's/^/# /' $S/warm
	}
	;;
esac
case ",${l1kinds:-}," in
*,vmnet,*)
	/bin/isola run --vm --rm --network bridge $VMARGS bb:1 true >$S/warm 2>&1 || {
		echo "# warm-up run --vm --network bridge failed:"
		sed 's/^/# /' $S/warm
	}
	;;
esac
# The OCI mode's bundle (the image's layer, `true`), its kernel and modules by the
# environment; its own template (<root>/.vm-cache) is built by a first run.
mkdir -p $S/b/rootfs
tar -xf /l2/vmct/bb-layer.tar -C $S/b/rootfs
echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"terminal": false,
 "user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"], "args": ["true"]},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}}' >$S/b/config.json
ln -sf /bin/isola $S/isola-vm
export ISOLA_VM_KERNEL=$K ISOLA_VM_MODULES=/l2/vmct/lib/modules/$kver
case ",${l1kinds:-}," in
*,oci,*)
	$S/isola-vm --root $S/oci run --bundle $S/b warmup >$S/warm 2>&1 || {
		echo "# warm-up isola-vm run failed:"
		sed 's/^/# /' $S/warm
	}
	$S/isola-vm --root $S/oci delete --force warmup >/dev/null 2>&1
	;;
esac
I=$(ls $S/store/vm/initrd-*.cpio)
D=$(ls $S/store/vm/rootfs-*.ext4)

serve() { # ADDRESS: answer the agent with /l2/vmct/true.frame, read it to the end
	socat "$1" SYSTEM:"cat /l2/vmct/true.frame; cat >/dev/null" &
	SOCAT=$!
}

run_kind() { # KIND RUN
	case $1 in
	vm) timeout 600 /bin/isola run --vm --rm $VMARGS bb:1 true ;;
	vmnet) timeout 600 /bin/isola run --vm --rm --network bridge $VMARGS bb:1 true ;;
	cold) ISOLA_VM_COLD=1 timeout 600 /bin/isola run --vm --rm $VMARGS bb:1 true ;;
	coldnet) ISOLA_VM_COLD=1 timeout 600 /bin/isola run --vm --rm --network bridge $VMARGS bb:1 true ;;
	vmvol) timeout 600 /bin/isola run --vm --rm -v $S/vol:/data $VMARGS bb:1 true ;;
	coldvol) ISOLA_VM_COLD=1 timeout 600 /bin/isola run --vm --rm -v $S/vol:/data $VMARGS bb:1 true ;;
	plain) ISOLA_RUNTIME=$S/rt timeout 600 /bin/isola run --rm --network none bb:1 true ;;
	plainnet) ISOLA_RUNTIME=$S/rt timeout 600 /bin/isola run --rm --network bridge bb:1 true ;;
	det) timeout 600 /bin/isola run --vm -d --rm --name "bd$2" $VMARGS bb:1 true ;;
	detcold) ISOLA_VM_COLD=1 timeout 600 /bin/isola run --vm -d --rm --name "bd$2" $VMARGS bb:1 true ;;
	oci) timeout 600 $S/isola-vm --root $S/oci run --bundle $S/b "o$2" ;;
	ocicold) ISOLA_VM_COLD=1 timeout 600 $S/isola-vm --root $S/oci run --bundle $S/b "o$2" ;;
	ociplain) timeout 600 /bin/isola --root $S/ocip run --no-pivot --bundle $S/b "p$2" ;;
	isola)
		rm -rf $S/v
		mkdir -p $S/v
		serve UNIX-LISTEN:$S/v/v.sock_1024
		timeout 600 /bin/isola vm run --kernel $K --initrd "$I" --memory 256M \
			--virtio-transport pci --disk "$D,ro" --vsock cid=3,uds=$S/v/v.sock \
			--cmdline "$CMD"
		;;
	qemu)
		serve VSOCK-LISTEN:1024
		timeout 600 qemu-system-x86_64 -M microvm,pcie=on -enable-kvm -cpu host -m 256 \
			-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
			-kernel $K -initrd "$I" -append "$CMD" \
			-drive "if=none,id=d0,file=$D,format=raw,readonly=on" \
			-device virtio-blk-pci,drive=d0 -device vhost-vsock-pci,guest-cid=3
		;;
	esac </dev/null >$S/out 2>&1
}

# After the timing: a detached container's removal (its watcher runs rm), an OCI
# container's delete; the next run starts on an idle L1.
settle() { # KIND RUN
	local i=0
	case $1 in
	det | detcold)
		while [ -e "$S/store/containers/bd$2" ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		/bin/isola rm -f "bd$2" >/dev/null 2>&1
		;;
	oci | ocicold) $S/isola-vm --root $S/oci delete --force "o$2" >/dev/null 2>&1 ;;
	ociplain) /bin/isola --root $S/ocip delete --force "p$2" >/dev/null 2>&1 ;;
	esac
	return 0
}

one() { # KIND RUN
	local t0 rc=0
	SOCAT=
	t0=$(now_ms)
	run_kind "$1" "$2" || rc=$?
	echo "BENCH $1 $2 $(($(now_ms) - t0)) $rc"
	[ "$rc" = 0 ] || tail -8 $S/out | sed 's/^/# /'
	# A warm run that fell back to a cold boot says so: it must not pass for a warm one.
	! grep -q "no warm start" $S/out || { echo "# $1 $2: fell back to a cold boot"; sed 's/^/# /' $S/out; }
	settle "$1" "$2"
	if [ -n "$SOCAT" ]; then
		kill $SOCAT 2>/dev/null
		wait $SOCAT 2>/dev/null
	fi
}

kinds=$(echo "${l1kinds:-vm,plain,isola,qemu}" | tr , ' ')
echo "# vmct bench: $l1runs paired runs of $kinds, kernel $(basename $K) $kver, 256 MiB, 1 vCPU"
paired_runs "$kinds" one
