#!/usr/bin/env python3
# A fake VMM with a fake isola-agent inside, for the host-side tests of
# run --vm -d (tests/integration/vm-detach.bats): isola runs it as
# `$ISOLA_VMM vm run ... --vsock cid=3,uds=DIR/v.sock` in place of
# `isola vm run`.  It dials DIR/v.sock_1024 as the agent does through the VMM
# (protocol 3, docs/vm-containers.md), takes the CONFIG and "runs" the
# process by a tiny interpreter: `echo WORDS`, `sleep N`, `exit N`,
# `trap '' SIG` (ignore a SIGNAL frame), `mounts` (print the CONFIG's mount
# entries), `config KEY` (print the CONFIG's KEY=... entries), `fsargs`
# (print its own --fs arguments), alone or in
# `sh -c 'A; B'`.  A SIGNAL
# frame ends the process with 128 + N unless trapped.  It answers
# `CONNECT 1025` on DIR/v.sock with an exec session run the same way.  After
# EXIT it waits for the host to close, as the agent does, and exits ("the VM
# powers off").  $FAKE_VMM=noboot: prints a console line (with escape
# sequences) and exits 1 (a VM that never boots); noread: connects and never
# reads.  Its stdout is the VM's console.
import os
import shlex
import signal
import socket
import struct
import sys
import threading
import time

from vmct_frames import CONFIG, EXIT, HELLO, SIGNAL, STDERR, STDOUT, accept_connect, frame, read_frame, u32

SIGS = {"TERM": 15, "INT": 2, "HUP": 1, "QUIT": 3, "USR1": 10}


def console(msg):
    sys.stdout.write("fake-vmm: %s\n" % msg)
    sys.stdout.flush()


def send(conn, lock, kind, payload=b""):
    with lock:
        conn.sendall(frame(kind, payload))


class Session:
    def __init__(self, conn):
        self.conn, self.lock = conn, threading.Lock()
        self.ignored, self.signals = set(), []
        self.cv = threading.Condition()
        self.closed = False

    def reader(self):
        while True:
            kind, payload = read_frame(self.conn)
            with self.cv:
                if kind is None:
                    self.closed = True
                elif kind == SIGNAL:
                    self.signals.append(struct.unpack("<I", payload)[0])
                self.cv.notify_all()
            if kind is None:
                return

    def wait_signal(self, seconds):
        end = time.monotonic() + seconds
        with self.cv:
            while True:
                while self.signals:
                    s = self.signals.pop(0)
                    if s not in self.ignored:
                        return s
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cv.wait(left)

    def run(self, args):
        cmds = [args]
        if len(args) >= 3 and args[0] == "sh" and args[1] == "-c":
            cmds = [shlex.split(c) for c in args[2].split(";") if c.strip()]
        for c in cmds:
            if c[0] == "exec":
                c = c[1:]
            if c[0] == "echo":
                send(self.conn, self.lock, STDOUT, (" ".join(c[1:]) + "\n").encode())
            elif c[0] == "echo-err":
                send(self.conn, self.lock, STDERR, (" ".join(c[1:]) + "\n").encode())
            elif c[0] in ("mounts", "fsargs", "config"):
                if c[0] == "mounts":
                    out = self.mounts
                elif c[0] == "config":
                    out = [e for e in self.cfg if e.startswith(c[1] + "=")]
                else:
                    out = [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--fs"]
                send(self.conn, self.lock, STDOUT, "".join(m + "\n" for m in out).encode())
            elif c[0] == "trap":
                self.ignored.update(SIGS[s] for s in c[2:])
            elif c[0] == "exit":
                return int(c[1])
            elif c[0] == "sleep":
                s = self.wait_signal(float(c[1]))
                if s is not None:
                    return 128 + s
            else:
                send(self.conn, self.lock, STDERR, b"fake: unknown command %s\n" % c[0].encode())
                return 127
        return 0

    def serve(self):
        send(self.conn, self.lock, HELLO, b"isola-agent 3")
        kind, cfg = read_frame(self.conn)
        if kind != CONFIG:
            return
        args = [e[4:].decode() for e in cfg.split(b"\0") if e.startswith(b"arg=")]
        self.mounts = [e[6:].decode() for e in cfg.split(b"\0") if e.startswith(b"mount=")]
        self.cfg = [e.decode() for e in cfg.split(b"\0") if e]
        threading.Thread(target=self.reader, daemon=True).start()
        status = self.run(args)
        send(self.conn, self.lock, EXIT, u32(status))
        with self.cv:
            self.cv.wait_for(lambda: self.closed, 10)


def exec_listener(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    while True:
        conn = accept_connect(srv, 1025)
        if not conn:
            continue
        threading.Thread(target=Session(conn).serve, daemon=True).start()


def main():
    uds = next(a[len("cid=3,uds="):] for a in sys.argv if a.startswith("cid=3,uds="))
    console("booting")
    if os.environ.get("FAKE_VMM") == "noboot":
        # With escape sequences, as a hostile guest's console has: isola escapes them.
        console("\x1b]0;pwned\x07\x1b[2JKernel panic - not syncing: VFS: Unable to mount root fs (a test)")
        sys.exit(1)
    threading.Thread(target=exec_listener, args=(uds,), daemon=True).start()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(uds + "_1024")
    console("agent connected")
    if os.environ.get("FAKE_VMM") == "noread":
        # A guest that stopped: it never reads the CONFIG.  The test waits for $FAKE_VMM_MARK.
        open(os.environ["FAKE_VMM_MARK"], "w").close()
        time.sleep(300)
        sys.exit(0)
    Session(conn).serve()
    console("power off")


signal.signal(signal.SIGPIPE, signal.SIG_DFL)
main()
