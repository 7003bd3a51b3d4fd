#!/usr/bin/env python3
# A fake VMM for the host-side tests of warm starts with a NIC
# (tests/integration/vm-warm-net.bats): isola runs it as `$ISOLA_VMM vm run
# ...` (a template build: --snapshot-state) or `$ISOLA_VMM vm restore ...`.
# It writes what it was given, and what it sees in its network namespace, to
# $FAKE_LOG/{build,restore}.N ("arg X" lines, "netns INODE", "tap NAME yes|no",
# "eth0 MAC", "config K=V" for the CONFIG's net_ keys, "config mount=M" for its
# mounts).  A build answers
# CONNECT 1024 with the agent's HELLO and writes the snapshot files on SIGUSR2;
# a restore listens on the --vsock-remap socket, takes WARM and CONFIG, prints
# the CONFIG's arg words as the process's stdout and exits 0 (a process `exit N`
# prints nothing and exits N).  A cold boot (`vm run` without --snapshot-state)
# is vm-fake-vmm.py's.  $FAKE_VMM=nosnap: a build that never writes a snapshot
# (it exits at SIGUSR2); silent: a build whose agent never answers.
import fcntl
import os
import signal
import socket
import struct
import sys

from vmct_frames import EXIT, HELLO, STDOUT, WARM, accept_connect, frame, read_frame, u32

SIOCGIFHWADDR = 0x8927


def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def mac_of(ifname):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", ifname.encode()))
        return ":".join("%02x" % b for b in r[18:24])
    except OSError:
        return "none"
    finally:
        s.close()


def log(kind, extra):
    d = os.environ["FAKE_LOG"]
    n = 1
    while os.path.exists("%s/%s.%d" % (d, kind, n)):
        n += 1
    lines = ["arg " + a for a in sys.argv[1:]]
    lines.append("netns %d" % os.stat("/proc/self/ns/net").st_ino)
    for tap in ("warm0", "tap0"):
        try:
            socket.if_nametoindex(tap)
            lines.append("tap %s yes" % tap)
        except OSError:
            lines.append("tap %s no" % tap)
    lines.append("eth0 " + mac_of("eth0"))
    with open("%s/%s.%d.tmp" % (d, kind, n), "w") as f:
        f.write("\n".join(lines + extra) + "\n")
    os.rename("%s/%s.%d.tmp" % (d, kind, n), "%s/%s.%d" % (d, kind, n))


def accept_agent(srv):
    conn = accept_connect(srv, 1024)
    if conn:
        conn.sendall(frame(HELLO, b"isola-agent 3"))
    return conn


def build():
    uds = next(a[len("cid=3,uds="):] for a in sys.argv if a.startswith("cid=3,uds="))
    state, mem = arg("--snapshot-state"), arg("--snapshot-mem")
    log("build", [])

    def snap(*_):
        if os.environ.get("FAKE_VMM") == "nosnap":
            os._exit(1)
        with open(mem, "w") as f:
            f.write("mem")
        with open(state + ".tmp", "w") as f:
            f.write("state")
        os.rename(state + ".tmp", state)

    signal.signal(signal.SIGUSR2, snap)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(uds)
    srv.listen(4)
    while os.environ.get("FAKE_VMM") == "silent":
        signal.pause()
    conns = []
    while True:
        c = accept_agent(srv)
        if c:
            conns.append(c)


def restore():
    new = arg("--vsock-remap").split("=", 1)[1]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(new)
    srv.listen(4)
    while True:
        conn = accept_agent(srv)
        if not conn:
            continue
        kind, _ = read_frame(conn)
        if kind != WARM:
            conn.close()
            continue
        kind, cfg = read_frame(conn)
        break
    entries = [e.decode() for e in cfg.split(b"\0") if e]
    log("restore", ["config " + e for e in entries if e.startswith(("net_", "mount="))])
    words = [e[4:] for e in entries if e.startswith("arg=")]
    status = int(words[1]) if len(words) == 2 and words[0] == "exit" else None
    if status is None:
        conn.sendall(frame(STDOUT, (" ".join(words[1:]) + "\n").encode()))
    conn.sendall(frame(EXIT, u32(status or 0)))
    conn.settimeout(10)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


signal.signal(signal.SIGPIPE, signal.SIG_DFL)
if sys.argv[1:3] == ["vm", "restore"]:
    restore()
elif "--snapshot-state" in sys.argv:
    build()
else:
    here = os.path.dirname(os.path.abspath(__file__))
    os.execv(sys.executable, [sys.executable, here + "/vm-fake-vmm.py"] + sys.argv[1:])
