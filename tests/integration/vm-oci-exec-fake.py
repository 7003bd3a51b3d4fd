#!/usr/bin/env python3
# Helpers for tests/integration/vm-oci-exec.bats (no guest boots on this host).
#
#   vm-oci-exec-fake.py agent SOCKET STATUS READY_FILE [wait]
#     A fake VMM + isola-agent: answers "CONNECT 1025" on SOCKET, plays one
#     exec session of protocol 3 (HELLO, CONFIG echoed back as STDOUT lines).
#     Without `wait`: EXIT STATUS at once.  With `wait`: waits for a SIGNAL
#     frame (answers "signal=N", EXIT 128+N) or a WINCH frame (answers
#     "winch=ROWS COLS", EXIT STATUS).
#
#   vm-oci-exec-fake.py engine [--console SOCK] [--signal N --pid-file F] -- CMD...
#     What conmon / a shim does: a subreaper that runs CMD (isola exec
#     --detach ...), takes the pty master from SOCK (SCM_RIGHTS) and resizes
#     it to 40x100 once CMD returned, or sends signal N to the pid in F; prints
#     "exec=RC", what came out of the pty, and "monitor=STATUS" for the exec
#     monitor it then reaps.
import ctypes
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import termios

from vmct_frames import close_drained, CONFIG, EXIT, HELLO, SIGNAL, STDOUT, WINCH, accept_connect, frame, read_frame, u32

signal.alarm(60)


def agent(path, status, ready, wait):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    open(ready, "w").close()
    conn = accept_connect(srv, 1025)
    if not conn:
        sys.exit("bad CONNECT line")

    def send(kind, payload=b""):
        conn.sendall(frame(kind, payload))

    send(HELLO, b"isola-agent 3")
    kind, cfg = read_frame(conn)
    if kind != CONFIG:
        sys.exit("expected CONFIG, got %s" % kind)
    send(STDOUT, b"".join(e + b"\n" for e in cfg.split(b"\0") if e))
    while wait:
        kind, p = read_frame(conn)
        if kind is None:
            sys.exit("EOF before a SIGNAL or WINCH frame")
        if kind == SIGNAL:
            n = struct.unpack("<I", p)[0]
            send(STDOUT, b"signal=%d\n" % n)
            status = 128 + n
            break
        if kind == WINCH:
            rows, cols = struct.unpack("<II", p)
            send(STDOUT, b"winch=%d %d\n" % (rows, cols))
            break
    send(EXIT, u32(status))
    close_drained(conn)


def engine(args):
    console = sig = pidfile = None
    while args[0] != "--":
        if args[0] == "--console":
            console = args[1]
        elif args[0] == "--signal":
            sig = int(args[1])
        elif args[0] == "--pid-file":
            pidfile = args[1]
        args = args[2:]
    cmd = args[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    srv = None
    if console:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(console)
        srv.listen(1)
    p = subprocess.Popen(cmd)
    master = None
    if console:
        srv.settimeout(30)
        try:
            c, _ = srv.accept()
            name, fds, _, _ = socket.recv_fds(c, 1024, 1)
            master = fds[0]
            print("console=%s" % name.decode())
        except socket.timeout:
            pass
    rc = p.wait()
    print("exec=%d" % rc, flush=True)
    if master is not None and rc == 0:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        out = b""
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:
                break
            if not b:
                break
            out += b
        sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    if sig is not None and rc == 0:
        os.kill(int(open(pidfile).read()), sig)
    try:
        while True:
            pid, st = os.wait()
            print("monitor=%d" % os.waitstatus_to_exitcode(st), flush=True)
    except ChildProcessError:
        pass


if sys.argv[1] == "agent":
    agent(sys.argv[2], int(sys.argv[3]), sys.argv[4], len(sys.argv) > 5)
else:
    engine(sys.argv[2:])
