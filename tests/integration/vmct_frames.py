# The agent protocol's frames (protocol 2, docs/vm-containers.md), for the
# fake VMMs and agents of the integration tests (vm-fake-vmm.py,
# vm-warm-fake-vmm.py, vm-exec-fake-agent.py, vm-oci-exec-fake.py): a frame is
# u32 type, u32 length (little-endian), then the payload.
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
    The host sends nothing more before the OK, so no frame is left in the
    line's buffer.  The connection keeps srv's timeout."""
    conn, _ = srv.accept()
    conn.settimeout(srv.gettimeout())
    if conn.makefile("rb").readline() != b"CONNECT %d\n" % port:
        conn.close()
        return None
    conn.sendall(b"OK 1073741824\n")
    return conn
