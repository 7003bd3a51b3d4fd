#!/usr/bin/env python3
# A fake VMM + isola-agent for tests/integration/vm-exec.bats: listens on a
# unix socket as the VMM's hybrid-vsock socket does, answers "CONNECT 1025"
# with "OK <port>", plays the agent's side of one exec session (protocol 2,
# docs/vm-containers.md): HELLO, reads CONFIG, sends the CONFIG's entries
# back as STDOUT (one per line, so the test can check what isola sent), then
# EXIT with the status given.  One session per run, then it exits.
#
#   vm-exec-fake-agent.py SOCKET STATUS READY_FILE
import socket
import struct
import sys

path, status, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(60)
open(ready, "w").close()
conn, _ = srv.accept()
conn.settimeout(60)
f = conn.makefile("rb")
line = f.readline()
if line != b"CONNECT 1025\n":
    sys.exit("bad CONNECT line: %r" % line)
conn.sendall(b"OK 1073741824\n")


def send(kind, payload=b""):
    conn.sendall(struct.pack("<II", kind, len(payload)) + payload)


send(1, b"isola-agent 2")
kind, n = struct.unpack("<II", f.read(8))
cfg = f.read(n)
if kind != 2:
    sys.exit("expected CONFIG, got %d" % kind)
send(5, b"".join(e + b"\n" for e in cfg.split(b"\0") if e))
send(7, struct.pack("<I", status))
conn.close()
