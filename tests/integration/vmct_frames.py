# The agent protocol's frames (protocol 3, docs/vm-containers.md), for the
# fake VMMs and agents of the integration tests (vm-fake-vmm.py,
# vm-warm-fake-vmm.py, vm-exec-fake-agent.py, vm-oci-exec-fake.py): a frame is
# u32 type, u32 length (little-endian), then the payload.
import socket
import struct

HELLO, CONFIG, STDIN, SIGNAL, STDOUT, STDERR, EXIT, ERROR, WINCH, WARM = range(1, 11)


def read_exact(conn, n):
    """n bytes from the socket conn, or None at EOF before them."""
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(conn):
    """(type, payload) of the next frame, or (None, None) at EOF."""
    hdr = read_exact(conn, 8)
    if hdr is None:
        return None, None
    kind, n = struct.unpack("<II", hdr)
    return kind, read_exact(conn, n) if n else b""


def frame(kind, payload=b""):
    return struct.pack("<II", kind, len(payload)) + payload


def u32(n):
    return struct.pack("<I", n)


def accept_connect(srv, port):
    """Accept one connection on the listening hybrid-vsock socket srv and
    answer its `CONNECT port` line as the VMM does once the guest accepted.
    The connection, or None (closed) when the line asked for another port.
    The line is read byte by byte, so nothing after it is taken from the
    socket.  The connection keeps srv's timeout."""
    conn, _ = srv.accept()
    conn.settimeout(srv.gettimeout())
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        c = conn.recv(1)  # byte by byte: a buffered reader could take the frames after it
        if not c:
            break
        line += c
    if line != b"CONNECT %d\n" % port:
        conn.close()
        return None
    conn.sendall(b"OK 1073741824\n")
    return conn


def close_drained(conn, timeout=10):
    """Close conn as the agent ends a session: shut our side, then read what
    the host still sends (a STDIN EOF after CONFIG, say) until it closes.
    Closing a unix socket with unread data resets it, and the host's next
    write or read then fails (EPIPE/ECONNRESET) before it sees EXIT."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(timeout)
        while conn.recv(4096):
            pass
    except OSError:
        pass
    conn.close()
