#!/usr/bin/env python3
# One Ethernet/IPv4/UDP frame through an AF_PACKET socket, with whatever addresses the
# caller names (a container's spoofed or martian packets, as an attacker sends them):
#   net-raw-udp.py IFNAME DST_MAC SRC_IP DST_IP DST_PORT PAYLOAD
import socket
import struct
import sys


def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ifname, dmac, src, dst, dport, payload = sys.argv[1:7]
    data = payload.encode()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    smac = s.getsockname()[4]
    udp = struct.pack("!HHHH", 40000, int(dport), 8 + len(data), 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00"
    s.send(eth + ip + udp)


main()
