#!/usr/bin/env python3
# The peer of guest/virtio-net's `seq=N` mode on one TAP (vm-migrate-devices.bats):
# answers every "isola-seq" frame with "isola-ack" and the same number and bytes,
# and appends each number it got to LOG (one a line), so that the test can count
# the frames that reached the link twice.  Runs until killed or 120 s of silence.
import socket
import sys

ETH_P_TEST = 0x88b5
ifname, log, ready = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_TEST))
s.bind((ifname, ETH_P_TEST))
s.settimeout(120)
out = open(log, 'a', buffering=1)
open(ready, 'w').close()
while True:
    try:
        f = s.recv(2048)
    except socket.timeout:
        break
    if len(f) < 14 + 45 or f[14:23] != b'isola-seq':
        continue
    seq = int.from_bytes(f[23:27], 'little')
    out.write('%d\n' % seq)
    s.send(f[6:12] + bytes.fromhex('020000000099') + f[12:14] + b'isola-ack' + f[23:60])
