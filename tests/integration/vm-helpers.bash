# Helpers for the VM tests (tests/integration/vm*.bats).

# The test guests (guest/*.elf) of this build.
GUEST_DIR=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}

# Skip unless /dev/kvm can create a VM here.
require_kvm() {
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "SKIP: /dev/kvm not accessible"
	require_cmd python3
}

# True when the host CPU has hardware virtualisation (not PVM, not software-only).
host_has_hw_virt() {
	grep -qwE 'vmx|svm' /proc/cpuinfo || return 1
	[ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ] || return 1
	[ ! -d /sys/module/kvm_pvm ]
}

# vm_guest FILE HEX: a minimal PVH ELF (32-bit, loaded at 1 MiB) whose
# 32-bit protected-mode entry runs the machine code given in hex.
vm_guest() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
path, code = sys.argv[1], bytes.fromhex(sys.argv[2])
entry = 0x100000
note = struct.pack('<III', 4, 4, 18) + b'Xen\0' + struct.pack('<I', entry)
code_off = 0x100
eh = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8)
eh += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, 52, 0, 0, 52, 32, 2, 40, 0, 0)
ph = struct.pack('<8I', 1, code_off, entry, entry, len(code), len(code) + 4096, 7, 0x1000)
ph += struct.pack('<8I', 4, code_off + len(code), 0, 0, len(note), len(note), 4, 4)
f = eh + ph
f += bytes(code_off - len(f)) + code + note
open(path, 'wb').write(f)
PY
}

# Machine code pieces (32-bit protected mode).
# putc C: mov dx,0x3f8; mov al,C; out dx,al
vm_putc() { printf '66baf803b0%02xee' "'$1"; }
# debug-exit V: mov dx,0xf4; mov eax,V; out dx,eax
vm_exit() { printf '66baf400b8%02x000000ef' "$1"; }
VM_HANG='ebfe'                      # jmp $
VM_TRIPLE_FAULT='0f0b'              # ud2 with no IDT (int3 is an emulation error on PVM)
VM_I8042_RESET='b0fee664'           # mov al,0xfe; out 0x64,al
VM_HLT_LOOP='f4ebfd'                # hlt; jmp back

# A guest that prints "Hi\n" then exits with debug-exit value $1.
vm_hello() {
	vm_guest "$1" "$(vm_putc H)$(vm_putc i)$(vm_putc $'\n')$(vm_exit "${2:-21}")"
}

# Debian's cloud kernel, unpacked under a cache dir (never into /boot).
vm_fetch_kernel() {
	local dir=/var/tmp/isola-kernel pkg
	ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 || {
		mkdir -p "$dir"
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			awk '/Depends: linux-image/{print $2; exit}')
		[ -n "$pkg" ] || return 1
		(cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1 &&
			dpkg-deb --fsys-tarfile "$pkg"_*.deb | tar -x ./boot) || return 1
	}
	# The same kernel as an ELF vmlinux, for the PVH loader (test-vmm-boot.c).
	local bz
	bz=$(ls "$dir"/boot/vmlinuz-* | head -1)
	[ -s "$dir/vmlinux" ] || vm_extract_vmlinux "$bz" "$dir/vmlinux" || rm -f "$dir/vmlinux"
	echo "$bz"
}

# vm_extract_vmlinux BZIMAGE OUT: the ELF vmlinux inside a bzImage.  The
# setup header's payload_offset/payload_length (0x248/0x24c, from the start of
# the protected-mode code) locate the compressed kernel; its magic picks the
# decompressor (Debian 6.1 uses LZ4's legacy frame).
vm_extract_vmlinux() {
	python3 - "$1" "$2" <<'PY'
import struct, subprocess, sys
f = open(sys.argv[1], 'rb').read()
pm = ((f[0x1f1] or 4) + 1) * 512
off, length = struct.unpack_from('<II', f, 0x248)
payload = f[pm + off:pm + off + length]
tools = [(b'\x1f\x8b', ['gzip', '-dc']), (b'\xfd7zXZ\x00', ['xz', '-dc']),
         (b'\x02\x21\x4c\x18', ['lz4', '-dc']), (b'\x28\xb5\x2f\xfd', ['zstd', '-dc']),
         (b'BZh', ['bzip2', '-dc']), (b'\x5d\x00\x00', ['xz', '-dc', '--format=lzma'])]
cmd = next((c for m, c in tools if payload.startswith(m)), None)
if not cmd:
    sys.exit('unknown kernel compression %s' % payload[:4].hex())
# The payload may carry trailing bytes (the size word): a decompressor that
# complains about them still wrote the whole kernel, so check the ELF instead.
out = subprocess.run(cmd, input=payload, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
if out[:4] != b'\x7fELF':
    sys.exit('no ELF in the payload')
open(sys.argv[2], 'wb').write(out)
PY
}

# vm_bzimage FILE: a synthetic 64-bit bzImage (boot protocol 2.15, one setup
# sector) whose 64-bit entry checks what the VMM handed over: RSI points at
# boot_params with "HdrS", a 4 KiB initrd, a command line starting "isol" and
# at least 3 e820 entries.  Exits with debug-exit 0x21 (status 33) when all
# hold, 0x22 (status 34) otherwise.
vm_bzimage() {
	python3 - "$1" <<'PY'
import struct, sys
checks = [
    bytes.fromhex('8b8602020000') + bytes.fromhex('3d') + b'HdrS',      # [rsi+0x202] == "HdrS"
    bytes.fromhex('8b861c020000') + bytes.fromhex('3d00100000'),        # ramdisk_size == 4096
    bytes.fromhex('8b8628020000' '8b00') + bytes.fromhex('3d') + b'isol',  # *cmd_line_ptr
    bytes.fromhex('0fb686e8010000' '83f803'),                           # e820_entries >= 3
]
ok = bytes.fromhex('66baf400b821000000eff4')
fail = bytes.fromhex('66baf400b822000000eff4')
# each check jumps to fail: jne for the equalities, jb for the count
parts = [(c, 0x72 if i == 3 else 0x75) for i, c in enumerate(checks)]
body = b''
total = sum(len(c) + 2 for c, _ in parts) + len(ok)
pos = 0
for c, op in parts:
    pos += len(c) + 2
    body += c + bytes([op, total - pos])
body += ok + fail
setup = bytearray(1024)
setup[0x1f1] = 1
setup[0x1fe:0x200] = b'\x55\xaa'
setup[0x200] = 0xeb
setup[0x201] = 0x66
setup[0x202:0x206] = b'HdrS'
struct.pack_into('<H', setup, 0x206, 0x20f)
setup[0x211] = 1
struct.pack_into('<I', setup, 0x22c, 0x7fffffff)
struct.pack_into('<H', setup, 0x236, 1)
struct.pack_into('<I', setup, 0x238, 2047)
struct.pack_into('<Q', setup, 0x258, 0x100000)
struct.pack_into('<I', setup, 0x260, 0x10000)
kernel = bytes(0x200) + body
open(sys.argv[1], 'wb').write(bytes(setup) + kernel)
PY
}

# vm_asm_guest FILE: assemble 32-bit code from stdin (GNU as, linked at 1 MiB)
# into a PVH guest.
vm_asm_guest() {
	local out=$1 d
	d=$(mktemp -d)
	cat >"$d/g.s"
	as --32 -o "$d/g.o" "$d/g.s" &&
		ld -m elf_i386 -Ttext=0x100000 --oformat binary -o "$d/g.bin" "$d/g.o" &&
		vm_guest "$out" "$(od -An -v -tx1 "$d/g.bin" | tr -d ' \n')"
	local st=$?
	rm -rf "$d"
	return $st
}

# A guest that takes serial receive interrupts through the IOAPIC (pin 4,
# vector 0x30, level-triggered, PIC masked): each interrupt reads one byte and
# EOIs the LAPIC (then waits nested, no iret); on the second byte it debug-exits with that byte.  Needs the
# IOAPIC to redeliver a still-asserted level pin after EOI.
VM_IRQ_GUEST_ASM='
.code32
.globl _start
_start:
	mov $0x80000, %esp
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1
	lidt idtr
	mov $handler, %eax
	mov %ax, idt + 0x30 * 8
	movw $0x10, idt + 0x30 * 8 + 2
	movw $0x8e00, idt + 0x30 * 8 + 4
	shr $16, %eax
	mov %ax, idt + 0x30 * 8 + 6
	movl $0x1ff, 0xfee000f0
	movl $0x18, 0xfec00000
	movl $0x8030, 0xfec00010
	movl $0x19, 0xfec00000
	movl $0, 0xfec00010
	mov $0x3f9, %dx
	mov $1, %al
	out %al, %dx
	sti
1:	hlt
	jmp 1b
handler:
	mov $0x3f8, %dx
	in %dx, %al
	incl count
	cmpl $2, count
	je done
	movl $0, 0xfee000b0
	sti			# no iret: PVM cannot emulate it in 32-bit mode;
3:	hlt			# wait here, nested, for the next interrupt
	jmp 3b
done:
	mov $0xf4, %dx
	out %al, %dx
2:	jmp 2b
.align 8
count:	.long 0
idtr:	.word 0x30 * 8 + 7
	.long idt
idt:	.fill 0x31 * 8, 1, 0
'

# A host listener for a guest-initiated vsock connection on $1 (<uds>_<port>):
# it writes what the guest sends to $2, answers "hello from host\n", and is
# listening when this returns.  Sets VSOCK_HOST_PID.
vsock_host_start() {
	python3 - "$1" "$2" "$TMP/host.ready" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(30)
open(sys.argv[3], 'w').close()
c, _ = s.accept(); c.settimeout(30)
open(sys.argv[2], 'wb').write(c.recv(100))
c.sendall(b'hello from host\n')
try:
    c.recv(100)
except OSError:
    pass
PY
	VSOCK_HOST_PID=$!
	for _ in $(seq 100); do [ -e "$TMP/host.ready" ] && break; sleep 0.1; done
}

# poll_until SECONDS CMD...: run CMD every 50 ms until it succeeds; fails once
# SECONDS (may be fractional, e.g. 0.5) passed. The tests' one way to wait.
poll_until() {
	local end=$(($(date +%s%N) + ${1%.*}000000000 + 10#$(printf '%-9s' "$(
		[[ $1 == *.* ]] && echo "${1#*.}")" | tr ' ' 0)))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# tcp_listening [NETNS] PORT: something listens on TCP PORT (in NETNS).
tcp_listening() {
	if [ $# -eq 2 ] && [ -n "$1" ]; then
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
	else
		ss -Hltn "sport = :${!#}" | grep -q .
	fi
}

# The VMM's error for a kernel file that is no kernel.  It reads the kernel
# after opening /dev/kvm, so on a host without KVM that error comes first.
no_kernel_error() {
	if [ -c /dev/kvm ]; then echo "neither a PVH ELF nor a bzImage"; else echo "no KVM on this host"; fi
}

# require_guest NAME: skip unless KVM works and guest/NAME.elf was built.
require_guest() {
	require_kvm
	[ -f "$GUEST_DIR/$1.elf" ] || ci_skip "$GUEST_DIR/$1.elf not built"
}

# text FILE: a console's text; the guests end lines with CRLF.
text() {
	if [ -f "$1" ]; then tr -d '\r' <"$1"; fi
}

# lines FILE: a live console's complete lines, without CRs.  A line the guest
# is still writing is left out: read mid-write, "round 123" reads as
# "round 1" (a CI run then waited for a round 13 long gone).
lines() {
	local t
	[ -f "$1" ] || return 0
	t=$(mktemp)
	cat "$1" >"$t"
	if [ -n "$(tail -c1 "$t")" ]; then sed '$d' "$t"; else cat "$t"; fi | tr -d '\r'
	rm -f "$t"
}

# nuls FILE...: how many NUL bytes each file holds (a console should hold none).
nuls() {
	local f
	for f in "$@"; do
		echo "$f: $(tr -cd '\0' <"$f" 2>/dev/null | wc -c) NUL bytes"
	done
}

# wait_for FILE PATTERN: up to 30 s for PATTERN to appear in FILE.
wait_for() {
	local i
	for i in $(seq 300); do
		text "$1" | grep -q "$2" && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1" >&2
	cat "$1" >&2 || true
	return 1
}

# wait_exit PID [SECONDS]: its exit status in $EXIT, or 124 after SECONDS (60)
# (not under `run`: only this shell can wait for its children).
wait_exit() {
	local i
	for i in $(seq $((${2:-60} * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	EXIT=124
	kill -0 "$1" 2>/dev/null && return 0
	EXIT=0
	wait "$1" || EXIT=$?
}

# mkkey FILE: 32 random bytes that only we may read.
mkkey() {
	(umask 077 && head -c 32 /dev/urandom >"$1")
}

# vm_bzimage_packed FILE FORMAT [HOW]: a synthetic bzImage whose compressed
# payload (FORMAT: xz, gzip, zstd, or lz4 -- lz4's magic only) is a 64-bit ELF
# vmlinux at 2 MiB; its entry runs vm_bzimage's checks (debug-exit 0x21 when
# RSI's boot_params hold the initrd, cmdline and e820, else 0x22).  The
# bzImage's own 64-bit entry (the guest "decompressor") exits 0x23 instead, so
# the status tells who unpacked the kernel.  HOW: corrupt (a payload byte
# flipped), short (the size word claims 16 bytes more than the ELF has).
vm_bzimage_packed() {
	vm_bzimage "$1.plain"
	python3 - "$1" "$2" "${3:-}" "$1.plain" <<'PY'
import gzip, lzma, struct, subprocess, sys
out, fmt, how, plain = sys.argv[1:5]
setup = bytearray(open(plain, 'rb').read()[:1024])
body = open(plain, 'rb').read()[1024 + 0x200:]
# The ELF: header, one PT_LOAD (paddr 2 MiB, the checks), entry at its start.
code_off = 0x1000
elf = bytearray(code_off) + body
struct.pack_into('<4sBBBBB7xHHIQQQIHHHHHH', elf, 0, b'\x7fELF', 2, 1, 1, 0, 0,
                 2, 62, 1, 0x200000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
struct.pack_into('<IIQQQQQQ', elf, 64, 1, 5, code_off, 0xffffffff80200000, 0x200000,
                 len(body), len(body) + 0x1000, 0x1000)
elf = bytes(elf)
if fmt == 'xz':
    comp = lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
elif fmt == 'gzip':
    comp = gzip.compress(elf)
elif fmt == 'zstd':
    comp = subprocess.run(['zstd', '-q', '-c'], input=elf, stdout=subprocess.PIPE, check=True).stdout
else:
    comp = b'\x02\x21\x4c\x18' + bytes(64)
if how == 'corrupt':
    comp = bytearray(comp)
    comp[len(comp) // 2] ^= 0x55
    comp = bytes(comp)
size = len(elf) + (16 if how == 'short' else 0)
payload = comp + struct.pack('<I', size)
entry = bytes.fromhex('66baf400b823000000eff4')  # the "decompressor": debug-exit 0x23
kernel = bytes(0x200) + entry
pay_off = len(kernel)
kernel += payload
struct.pack_into('<II', setup, 0x248, pay_off, len(payload))
struct.pack_into('<I', setup, 0x260, 0x400000)  # init_size
open(out, 'wb').write(bytes(setup) + kernel)
PY
	local st=$?
	rm -f "$1.plain"
	return $st
}
