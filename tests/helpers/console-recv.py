#!/usr/bin/env python3
# console-recv.py SOCKET OUT: accept one --console-socket connection, take the
# pty master sent with SCM_RIGHTS, and copy what the container writes to OUT.
import array, os, socket, sys

path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(64, socket.CMSG_LEN(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: fds.itemsize])
with open(out, "wb") as f:
    if not fds:
        f.write(b"no fd received\n")
        sys.exit(1)
    while True:
        try:
            data = os.read(fds[0], 4096)
        except OSError:  # EIO once the last slave fd closes
            break
        if not data:
            break
        f.write(data)
        f.flush()
