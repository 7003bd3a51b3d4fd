#!/usr/bin/env python3
# A fake VMM + isola-agent for tests/integration/vm-exec.bats: listens on a
# unix socket as the VMM's hybrid-vsock socket does, answers "CONNECT 1025"
# with "OK <port>", plays the agent's side of one exec session (protocol 3,
# docs/vm-containers.md): HELLO, reads CONFIG, sends the CONFIG's entries
# back as STDOUT (one per line, so the test can check what isola sent), then
# EXIT with the status given (once HOLD_FILE exists, if given: a process that
# runs until the test lets it end).  One session per run, then it exits.
#
#   vm-exec-fake-agent.py SOCKET STATUS READY_FILE [HOLD_FILE]
#
# STATUS "esc": an ERROR frame full of terminal escape sequences instead (a
# hostile guest), then a close without EXIT.  STATUS "noread": HELLO, then
# never a read (the host's CONFIG waits on a full socket) until killed.
import os
import socket
import sys
import time

from vmct_frames import close_drained, CONFIG, ERROR, EXIT, HELLO, STDOUT, accept_connect, frame, read_frame, u32

path, status, ready = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(60)
open(ready, "w").close()
conn = accept_connect(srv, 1025)
if not conn:
    sys.exit("bad CONNECT line")
conn.sendall(frame(HELLO, b"isola-agent 3"))
if status == "noread":
    time.sleep(3600)
kind, cfg = read_frame(conn)
if kind != CONFIG:
    sys.exit("expected CONFIG, got %s" % kind)
if status == "esc":
    conn.sendall(frame(ERROR, b"\x1b]0;pwned\x07\x1b[2J\x1b[31mfake prompt$ \xc2\x9b\x7f"))
    close_drained(conn)
    sys.exit(0)
conn.sendall(frame(STDOUT, b"".join(e + b"\n" for e in cfg.split(b"\0") if e)))
if len(sys.argv) > 4:
    open(ready + ".config", "w").close()
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.05)
conn.sendall(frame(EXIT, u32(int(status))))
close_drained(conn)
