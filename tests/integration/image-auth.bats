#!/usr/bin/env bats
# Bearer-token auth: the registry sends a WWW-Authenticate challenge, isola
# fetches a token from a small python3 token server (Basic credentials from
# an auth.json), and retries.
load image-helpers

setup() {
	img_setup
	require_cmd openssl
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=isola-it-token \
		-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
	start_token_server
	REG_EXTRA_CONFIG=$(printf 'auth:\n  token:\n    realm: http://%s/token\n    service: %s\n    issuer: %s\n    rootcertbundle: %s' \
		"$TOKEN" isola-it-registry isola-it-issuer "$TMP/cert.pem") img_registry_start "$TMP"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf user:secret | base64)" >"$TMP/auth.json"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf user:wrong | base64)" >"$TMP/bad.json"
	TMP=$TMP IMG_PUSH_CREDS=user:secret img_make t/private:1 f:secret:data
}

teardown() {
	[ -f "$TMP/token.pid" ] && kill "$(cat "$TMP/token.pid")" 2>/dev/null
	img_registry_stop "$TMP"
	img_registry_stop "$TMP/basic"
	isola_cleanup_tmp
}

# A token server: Basic user:secret required; grants what the scope asks.
# Tokens are RS256 JWTs carrying the signing certificate (x5c).
start_token_server() {
	python3 - "$TMP" <<-'EOP' &
	import base64, http.server, json, subprocess, sys, time, urllib.parse
	tmp = sys.argv[1]
	b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
	der = subprocess.run(["openssl", "x509", "-in", tmp + "/cert.pem", "-outform", "DER"],
	                     capture_output=True, check=True).stdout
	class H(http.server.BaseHTTPRequestHandler):
	    def log_message(self, *a): pass
	    def do_GET(self):
	        want = "Basic " + base64.b64encode(b"user:secret").decode()
	        if self.headers.get("Authorization") != want:
	            self.send_response(401); self.end_headers(); return
	        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
	        open(tmp + "/token.log", "a").write(json.dumps(q) + "\n")
	        access = []
	        for s in q.get("scope", []):
	            t, name, actions = s.split(":")
	            access.append({"type": t, "name": name, "actions": actions.split(",")})
	        now = int(time.time())
	        hdr = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
	        claims = {"iss": "isola-it-issuer", "sub": "user", "aud": q["service"][0],
	                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(now),
	                  "access": access}
	        signing = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(claims).encode())
	        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", tmp + "/key.pem"],
	                             input=signing.encode(), capture_output=True, check=True).stdout
	        body = json.dumps({"token": signing + "." + b64(sig)}).encode()
	        self.send_response(200)
	        self.send_header("Content-Type", "application/json")
	        self.end_headers()
	        self.wfile.write(body)
	s = http.server.HTTPServer(("127.0.0.1", 0), H)
	open(tmp + "/token.port", "w").write(str(s.server_address[1]))
	s.serve_forever()
	EOP
	echo $! >"$TMP/token.pid"
	TOKEN=$(img_wait_port "$TMP/token.port")
}

@test "token auth: pull with credentials from an auth.json" {
	run "$ISOLA" pull --authfile "$TMP/auth.json" "$REG/t/private:1"
	[ "$status" -eq 0 ]
	grep -q '"scope": \["repository:t/private:pull"\]' "$TMP/token.log"
	grep -q '"service": \["isola-it-registry"\]' "$TMP/token.log"
	[ "$(cat "$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")/secret")" = data ]
}

@test "token auth: REGISTRY_AUTH_FILE is honoured" {
	REGISTRY_AUTH_FILE=$TMP/auth.json run "$ISOLA" pull "$REG/t/private:1"
	[ "$status" -eq 0 ]
}

@test "token auth: no or wrong credentials fail with a clear error" {
	run "$ISOLA" pull "$REG/t/private:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"token server"*"401"* ]]
	run "$ISOLA" pull --authfile "$TMP/bad.json" "$REG/t/private:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad credentials"* ]]
	[ -z "$(ls "$ISOLA_STORE/blobs/sha256")" ]
}

@test "basic auth: a registry with an htpasswd file; credentials from an auth.json" {
	mkdir -p "$TMP/basic"
	python3 -W ignore -c 'import crypt; print("user:" + crypt.crypt("secret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
		>"$TMP/basic/htpasswd"
	grep -q '^user:\$2' "$TMP/basic/htpasswd" || skip "SKIP: no bcrypt in this python3/libcrypt"
	REG_EXTRA_CONFIG=$(printf 'auth:\n  htpasswd:\n    realm: isola-it\n    path: %s' "$TMP/basic/htpasswd") \
		img_registry_start "$TMP/basic"
	TMP=$TMP IMG_PUSH_CREDS=user:secret img_make t/basic:1 f:b:basic
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf user:secret | base64)" >"$TMP/basic.json"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf user:wrong | base64)" >"$TMP/basic-bad.json"
	run "$ISOLA" pull "$REG/t/basic:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"authentication required (scheme Basic; no credentials given)"* ]]
	run "$ISOLA" pull --authfile "$TMP/basic-bad.json" "$REG/t/basic:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"401"* ]]
	run "$ISOLA" pull --authfile "$TMP/basic.json" "$REG/t/basic:1"
	[ "$status" -eq 0 ]
	[ "$(cat "$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")/b")" = basic ]
}
