#!/usr/bin/env python3
# Seeds for fuzz-snapshot (tests/fuzz/corpus/fuzz-snapshot/), written from the
# state file's layout (src/vmm/snap-format.h) rather than by a VMM, so that they
# exist without KVM:
#   devices  a device list with every field devcfg.c takes (disk /a, which
#            the target remaps, with its id, serial and rate limiters; two
#            NICs with ids; vsock; two shares not yet driven; rng, balloon,
#            irqchip, transport) and an i8042 section with keys waiting.
# Usage: tests/fuzz/snapshot-seed.py DIR
import struct
import sys
import zlib

SNAP_DEVCFG, SNAP_IOAPIC, SNAP_I8042 = 6, 7, 10


def state(sections):
    body = b"".join(struct.pack("<III", t, i, len(d)) + d for t, i, d in sections)
    head = b"ISOLAVM\0" + struct.pack("<II", 3, len(sections))
    data = head + body
    return data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


def devcfg(fields):
    return b"".join(f.encode() + b"\0" + v.encode() + b"\0" for f, v in fields)


devices = devcfg([
    ("disk", "/a"), ("disk.id", "rootfs"), ("disk.readonly", ""),
    ("disk.serial", "s,1"), ("disk.bw", "1048576,4194304,500"), ("disk.iops", "100,0,1000"),
    ("net", "t0"), ("net.id", "eth0"), ("net.mac", "02:00:00:00:00:07"),
    ("net.offload", "off"),
    ("net", "t9"), ("net.id", "eth1"), ("net.bridge", "br0"),
    ("vsock", "/tmp/v.sock"), ("vsock.cid", "3"),
    ("fs", "isola-fs0"), ("fs.path", "/tmp"), ("fs.readonly", ""),
    ("fs", "isola-fs1"), ("fs.path", "/"),
    ("rng", ""), ("balloon", ""), ("irqchip", "split"), ("virtio-transport", "pci"),
])
# struct i8042_state: ctr outp cmd last_cmd_port kbd_cmd kbd_enabled last_read
# last_kbd head count pad[6] buf[16] src[16]: translation and the keyboard's
# interrupt on (0x45), two bytes queued from the keyboard (src 1).
i8042 = bytes([0x45, 0x03, 0, 0, 0, 1, 0, 0, 14, 2]) + bytes(6)
i8042 += bytes(14) + b"\x1d\x9d" + bytes(14) + b"\x01\x01"
assert len(i8042) == 48

with open(sys.argv[1] + "/devices", "wb") as f:
    f.write(state([(SNAP_DEVCFG, 0, devices), (SNAP_I8042, 0, i8042)]))
