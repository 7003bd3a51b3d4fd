#!/usr/bin/env python3
"""Run a command on a new pty and talk to it like a person at a terminal.

pty-run.py SCRIPT -- CMD...: SCRIPT is a list of steps, one per line:
  send TEXT      write TEXT and a newline to the terminal
  expect TEXT    wait (up to 10 s) until TEXT appears in the output
  resize R C     set the terminal's size (the kernel sends SIGWINCH)
Prints the output, then `exit=N` and `echo-restored=yes|no` (the terminal's
ECHO flag is back as it was before the command ran)."""
import fcntl, os, pty, select, struct, sys, termios, time

def setsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def main():
    steps = open(sys.argv[1]).read().splitlines()
    cmd = sys.argv[sys.argv.index("--") + 1:]
    master, slave = pty.openpty()
    setsize(master, 20, 60)
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.execvp(cmd[0], cmd)
    out = b""

    def read_some(timeout):
        nonlocal out
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                return False
        return True

    for step in steps:
        verb, _, arg = step.partition(" ")
        if verb == "send":
            os.write(master, arg.encode() + b"\r")
        elif verb == "resize":
            rows, cols = arg.split()
            setsize(master, int(rows), int(cols))
        elif verb == "expect":
            end = time.time() + 10
            while arg.encode() not in out and time.time() < end:
                read_some(0.1)
            if arg.encode() not in out:
                sys.stdout.write(out.decode(errors="replace"))
                print("\ntimed out waiting for %r" % arg)
                os.kill(pid, 9)
                sys.exit(2)
    _, status = os.waitpid(pid, 0)
    while read_some(0.1) and select.select([master], [], [], 0)[0]:
        pass
    after = termios.tcgetattr(slave)
    sys.stdout.write(out.decode(errors="replace"))
    print("\nexit=%d" % os.waitstatus_to_exitcode(status))
    print("echo-restored=%s" % ("yes" if (after[3] & termios.ECHO) == (before[3] & termios.ECHO) and after[3] == before[3] else "no"))

main()
