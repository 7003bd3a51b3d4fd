#!/usr/bin/env python3
"""A hostile registry for the image tests: serves an OCI layout (as made by
img_layout) under any repository name, misbehaving as MODE says.  Listens on
127.0.0.1 only, writes its port to PORTFILE and logs requests to LOG.  It stops
by itself after LIFETIME seconds.

Usage: hostile-registry.py LAYOUT MODE PORTFILE LOG LIFETIME

Modes:
  ok          behave
  nosize      the layer descriptor has no size
  zerosize    the layer descriptor says 0 bytes
  negsize     the layer descriptor says -1
  oversize    the blob is sent with 1 MiB more than its size (Content-Length says so)
  overstream  as oversize, but without Content-Length (connection-delimited)
  short       blob responses stop half way and close, every time
  drip        blob responses send one byte every 2 s
  bigdrip     the layer descriptor says 2^62 bytes; the blob drips as in drip
  escmedia    the layer's media type holds terminal escape sequences
  token       a Bearer challenge with a service and scope that need escaping
"""
import hashlib, http.server, json, os, socketserver, sys, threading, time

layout, mode, portfile, log, lifetime = sys.argv[1:6]
blobs = os.path.join(layout, "blobs", "sha256")


def blob(d):
    return open(os.path.join(blobs, d.split(":", 1)[1]), "rb").read()


index = json.load(open(os.path.join(layout, "index.json")))
manifest = json.loads(blob(index["manifests"][0]["digest"]))
layer = manifest["layers"][0]
if mode == "nosize":
    del layer["size"]
elif mode == "zerosize":
    layer["size"] = 0
elif mode == "negsize":
    layer["size"] = -1
elif mode == "bigdrip":
    layer["size"] = 1 << 62
elif mode == "escmedia":
    layer["mediaType"] = "\x1b]0;PWNED\x07\x1b[2Jpulled OK"
mbytes = json.dumps(manifest).encode()
mdigest = "sha256:" + hashlib.sha256(mbytes).hexdigest()


def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="application/json", length=True):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length is True:
            self.send_header("Content-Length", str(len(body)))
        elif length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        return body

    def do_GET(self):
        note("GET " + self.path)
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            note("token " + self.path)
            self.wfile.write(self.reply(200, b'{"token":"t0k3n"}'))
            return
        if mode == "token" and self.headers.get("Authorization") != "Bearer t0k3n":
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate",
                'Bearer realm="http://127.0.0.1:%d/token",service="reg&x=1 #y",'
                'scope="repository:t/a:pull"' % port)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.endswith("/v2/") or self.path == "/v2":
            self.wfile.write(self.reply(200, b"{}"))
        elif "/manifests/" in self.path:
            self.wfile.write(self.reply(200, mbytes, manifest["mediaType"]))
        elif "/blobs/" in self.path:
            self.send_blob(self.path.rsplit("/", 1)[1])
        else:
            self.wfile.write(self.reply(404))

    def send_blob(self, d):
        try:
            body = blob(d)
        except (OSError, IndexError):
            self.wfile.write(self.reply(404))
            return
        if d != layer["digest"] or mode in ("ok", "token", "nosize", "zerosize", "negsize", "escmedia"):
            self.wfile.write(self.reply(200, body, "application/octet-stream"))
            return
        if mode == "oversize":
            body += b"\0" * (1 << 20)
            self.wfile.write(self.reply(200, b"", "application/octet-stream", len(body)))
        elif mode == "overstream":
            body += b"\0" * (1 << 20)
            self.reply(200, b"", "application/octet-stream", None)
        elif mode == "short":
            self.reply(200, b"", "application/octet-stream", len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        elif mode in ("drip", "bigdrip"):
            self.reply(200, b"", "application/octet-stream", len(body) if mode == "drip" else None)
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(2)
            return
        try:
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i : i + 65536])
        except OSError:
            pass
        self.close_connection = True


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


s = S(("127.0.0.1", 0), H)
threading.Timer(float(lifetime), lambda: os._exit(0)).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
