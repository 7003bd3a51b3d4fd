#!/usr/bin/env python3
# A man in the middle of one live migration (docs/migration.md, protocol 4),
# for vm-migrate-auth.bats: it takes one connection on LISTEN (a Unix socket),
# connects to UPSTREAM (the destination's Unix socket) and forwards frames both
# ways, parsing them, until ACTION fires:
#   pass                 forward everything
#   cut-s2d:T, cut-d2s:T the first frame of type T (source->destination or back)
#                        is not forwarded: both connections are closed instead
#   flip-s2d:T           flip a bit in the last byte of the first frame of type T
#   dup-s2d:T            send the first frame of type T twice (a replay)
#   record:FILE          forward everything and keep what the source sent in FILE
# Every frame seen is logged to LOG as "s2d TYPE LEN" / "d2s TYPE LEN".
import os
import socket
import struct
import sys
import threading

listen, upstream, action, log = sys.argv[1:5]
kind, _, arg = action.partition(":")
lock = threading.Lock()
done = threading.Event()
logf = open(log, "a", buffering=1)


def read(f, n):
    b = f.read(n)
    if b is None or len(b) != n:
        raise EOFError
    return b


def close_all(*socks):
    done.set()
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump(name, src, dst, rec):
    f = src.makefile("rb")
    fired = False
    try:
        hello = read(f, 48)
        tag = 16 if struct.unpack("<I", hello[12:16])[0] & 1 else 0  # AES-GCM tag
        if tag and name == "s2d":  # protocol 4: the source's proof of the key
            hello += read(f, 32)
        dst.sendall(hello)
        if rec:
            rec.write(hello)
        while True:
            h = read(f, 8)
            t, n = struct.unpack("<II", h)
            frame = h + read(f, n + tag)
            logf.write(f"{name} {t} {n}\n")
            if rec:
                rec.write(frame)
            match = not fired and arg.isdigit() and int(arg) == t and name == kind[-3:]
            if match and kind.startswith("cut"):
                logf.write(f"{name} cut at {t}\n")
                close_all(src, dst)
                return
            if match and kind.startswith("flip"):
                frame = frame[:-1] + bytes([frame[-1] ^ 1])
            if match and kind.startswith("dup"):
                dst.sendall(frame)
            fired = fired or match
            dst.sendall(frame)
    except (EOFError, OSError):
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(1)
c, _ = srv.accept()
srv.close()
os.unlink(listen)
u = socket.socket(socket.AF_UNIX)
u.connect(upstream)
rec = open(arg, "wb") if kind == "record" else None
ts = [threading.Thread(target=pump, args=("s2d", c, u, rec)),
      threading.Thread(target=pump, args=("d2s", u, c, None))]
for t in ts:
    t.start()
for t in ts:
    t.join()
if rec:
    rec.close()
c.close()
u.close()
