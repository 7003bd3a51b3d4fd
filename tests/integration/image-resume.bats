#!/usr/bin/env bats
# Interrupted blob downloads resume with a Range request, in-process (retry)
# and across processes (tmp/<hex>.partial kept after a kill).
load image-helpers

setup() {
	img_setup
	img_registry_start "$TMP"
}

teardown() {
	[ -f "$TMP/proxy.pid" ] && kill "$(cat "$TMP/proxy.pid")" 2>/dev/null
	img_registry_stop "$TMP"
	isola_cleanup_tmp
}

# A proxy in front of the registry.  Blob responses are cut: the first one
# sends half its body then stalls (MODE=stall) or closes (MODE=cut); the
# second sends half its body and closes; later ones pass.  Range headers are logged.
start_proxy() {
	python3 - "$REG" "$1" "$TMP/proxy.log" "$TMP/proxy.port" <<-'EOP' &
	import http.server, socketserver, sys, time, urllib.request
	upstream, mode, log, portfile = sys.argv[1:5]
	import threading
	state = {"blobs": 0, "inflight": 0, "max": 0}
	cond = threading.Condition()
	class H(http.server.BaseHTTPRequestHandler):
	    def log_message(self, *a): pass
	    def do_GET(self):
	        hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}
	        if "Range" in self.headers:
	            open(log, "a").write("range " + self.headers["Range"] + "\n")
	        req = urllib.request.Request("http://" + upstream + self.path, headers=hdrs)
	        try:
	            r = urllib.request.urlopen(req)
	        except urllib.error.HTTPError as e:
	            r = e
	        body = r.read()
	        kind = "manifests" if "/manifests/" in self.path else "blobs" if "/blobs/" in self.path else ""
	        if mode == "flaky" and kind and not state.get("failed " + kind):
	            # One transient error per kind: 503 for a manifest, 429 for a blob.
	            state["failed " + kind] = True
	            code = 503 if kind == "manifests" else 429
	            open(log, "a").write("sent %d for %s\n" % (code, kind))
	            self.send_response(code)
	            self.send_header("Content-Length", "0")
	            self.end_headers()
	            return
	        if mode == "slow" and "/blobs/" in self.path and body[:2] == b"\x1f\x8b":
	            # Hold each layer blob until three are in flight (a barrier, 10 s at most).
	            with cond:
	                state["inflight"] += 1
	                state["max"] = max(state["max"], state["inflight"])
	                open(log, "a").write("inflight %d\n" % state["max"])
	                cond.notify_all()
	                cond.wait_for(lambda: state["max"] >= 3, timeout=10)
	                state["inflight"] -= 1
	        self.send_response(r.status)
	        for k, v in r.headers.items():
	            if k.lower() not in ("connection", "transfer-encoding"):
	                self.send_header(k, v)
	        self.end_headers()
	        if mode != "slow" and "/blobs/" in self.path and len(body) > 65536:
	            state["blobs"] += 1
	            n = state["blobs"]
	            if n <= 2:
	                self.wfile.write(body[: len(body) // 2]); self.wfile.flush()
	                if n == 1 and mode == "stall":
	                    time.sleep(120)  # a stalled server; the test kills the pull first
	                self.close_connection = True
	                return
	        self.wfile.write(body)
	class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
	    daemon_threads = True
	s = S(("127.0.0.1", 0), H)
	open(portfile, "w").write(str(s.server_address[1]))
	s.serve_forever()
	EOP
	echo $! >"$TMP/proxy.pid"
	PROXY=$(img_wait_port "$TMP/proxy.port")
}

@test "pull: a download cut mid-way is resumed with Range (in-process retry)" {
	img_make t/big:1 b:big:4000000
	start_proxy cut
	run "$ISOLA" pull "$PROXY/t/big:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^range bytes=[1-9]' "$TMP/proxy.log")" -eq 2 ]
	layer=$(ls "$ISOLA_STORE/layers")
	[ "$(stat -c %s "$ISOLA_STORE/layers/$layer/big")" -eq 4000000 ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
}

@test "pull: a killed pull leaves a partial that the next pull resumes" {
	img_make t/big:2 b:big:4000000
	start_proxy stall
	"$ISOLA" pull "$PROXY/t/big:2" >/dev/null 2>&1 &
	pid=$!
	# Kill the pull once half the blob is in its partial (the proxy then stalls).
	for _ in $(seq 200); do
		partial=$(ls "$ISOLA_STORE/tmp"/*.partial 2>/dev/null | head -1)
		[ -n "$partial" ] && [ "$(stat -c %s "$partial")" -ge 1000000 ] && break
		sleep 0.1
	done
	kill -KILL "$pid"
	wait "$pid" || true
	[ -n "$partial" ]
	[ "$(stat -c %s "$partial")" -gt 0 ]
	run "$ISOLA" pull "$PROXY/t/big:2"
	[ "$status" -eq 0 ]
	grep -q '^range bytes=[1-9]' "$TMP/proxy.log"
	[ ! -e "$partial" ]
	layer=$(ls "$ISOLA_STORE/layers")
	[ "$(stat -c %s "$ISOLA_STORE/layers/$layer/big")" -eq 4000000 ]
}

@test "pull: blobs are downloaded in parallel" {
	d=$TMP/par
	mkdir -p "$d"
	for i in 1 2 3; do img_tar "$d/$i.tar" "f:file$i:$i"; done
	img_layout "$d/layout" latest amd64 "$d/1.tar" "$d/2.tar" "$d/3.tar" >/dev/null
	img_push "$d/layout" latest t/par:1
	start_proxy slow
	run "$ISOLA" pull "$PROXY/t/par:1"
	[ "$status" -eq 0 ]
	[ "$(tail -1 "$TMP/proxy.log")" = "inflight 3" ]
}

@test "pull: 503 and 429 answers are retried" {
	img_make t/flaky:1 f:a:1 b:big:100000
	start_proxy flaky
	run "$ISOLA" pull -q "$PROXY/t/flaky:1"
	[ "$status" -eq 0 ]
	grep -q "sent 503 for manifests" "$TMP/proxy.log"
	grep -q "sent 429 for blobs" "$TMP/proxy.log"
	[ -n "$(ls "$ISOLA_STORE/layers")" ]
}
