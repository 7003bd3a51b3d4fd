#!/usr/bin/env bats
# The control API (--api-sock / --id): HTTP/1.1 + JSON on a Unix socket in
# Firecracker's shape, driven with curl and with the isola vm clients.

load helpers
load vm-helpers

setup() {
	isola_tmp
	export ISOLA_VM_RUNDIR=$TMP/run
	VM_PID=
}

teardown() {
	if [ -n "$VM_PID" ]; then
		kill "$VM_PID" 2>/dev/null || true
		wait "$VM_PID" 2>/dev/null || true
	fi
	isola_cleanup_tmp
}

# start_counter ARGS...: the counter guest in the background, forever.
start_counter() {
	require_kvm
	require_cmd curl
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	"$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --cmdline "every=20000000" \
		--console "$TMP/out" "$@" &
	VM_PID=$!
	for i in $(seq 100); do
		grep -q "^counter: 2" "$TMP/out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

api() { # METHOD PATH [BODY]: prints the body then the status code on its own line
	curl -s --max-time 10 --unix-socket "$TMP/api.sock" -X "$1" ${3+-d "$3"} \
		-w '\n%{http_code}' "http://localhost$2"
}

lines() { grep -c "^counter: [0-9]" "$TMP/out"; }
counted_past() { [ "$(lines)" -gt "$1" ]; }

# A guest that enables the keyboard as a driver does (b060 e664 b025 e660:
# command byte 0x25, keyboard interrupt on, keyboard enabled), polls the
# i8042's status port and exits with the first byte it reads from the
# keyboard: e464 a801 74fa (in al,0x64; test al,1; jz back), e460 0fb6c0
# (in al,0x60; movzx eax,al), then debug-exit with eax.
send_cad() { # until the guest has enabled its keyboard
	local i
	for i in $(seq 100); do
		run api PUT /actions '{"action_type":"SendCtrlAltDel"}'
		[ "${lines[-1]}" = 400 ] || return 0
		sleep 0.1
	done
}

@test "vm api: SendCtrlAltDel types on the i8042 keyboard (Left Ctrl's make code first)" {
	require_kvm
	require_cmd curl
	# Translation off (config byte 0x25), then "K" on the serial port once it is, so the
	# keys are not typed before (they would arrive translated: 0x1d), then the first
	# byte the keyboard sends is the exit code.
	vm_guest "$TMP/kbd.elf" "b060e664b025e660b04b66baf803eee464a80174fae4600fb6c066baf400ef$VM_HANG"
	"$ISOLA" vm run --kernel "$TMP/kbd.elf" --api-sock "$TMP/api.sock" >"$TMP/kbd.out" &
	VM_PID=$!
	poll_until 10 test -S "$TMP/api.sock"
	poll_until 10 grep -q K "$TMP/kbd.out"
	send_cad
	[ "${lines[-1]}" = 204 ]
	run wait "$VM_PID"
	VM_PID=
	[ "$status" = $((0x14)) ]
}

@test "vm api: GET / and PATCH /vm pause and resume the guest" {
	start_counter --api-sock "$TMP/api.sock" --id isola-it-api1
	run api GET /
	echo "$output"
	[ "${lines[1]}" = 200 ]
	[[ "${lines[0]}" == *'"id":"isola-it-api1"'*'"state":"Running"'* ]]
	run api PATCH /vm '{"state":"Paused"}'
	[ "${lines[-1]}" = 204 ]
	a=$(lines)
	refute poll_until 0.5 counted_past "$a" # nothing counts while paused (the guest counts every ~20 ms)
	run api GET /
	[[ "${lines[0]}" == *'"state":"Paused"'* ]]
	run api PATCH /vm '{"state":"Resumed"}'
	[ "${lines[-1]}" = 204 ]
	poll_until 10 counted_past "$a"
}

@test "vm api: bodies are validated (400/413/501 with a fault_message)" {
	start_counter --api-sock "$TMP/api.sock"
	run api PATCH /vm '{"state":"Paused","extra":1}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'"fault_message":"body.extra: unknown field"'* ]]
	run api PATCH /vm '{"state":1}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *fault_message*state* ]]
	run api PATCH /vm '[1,2'
	[ "${lines[1]}" = 400 ]
	run api PATCH /vm '{"state":"Sleeping"}'
	[ "${lines[1]}" = 400 ]
	run api PUT /snapshot/create '{"snapshot_path":"/x"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *mem_file_path* ]]
	head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
	run curl -s --unix-socket "$TMP/api.sock" -X PATCH --data-binary @"$TMP/big" \
		-w '\n%{http_code}' http://localhost/vm
	[ "${lines[-1]}" = 413 ]
	run curl -s --unix-socket "$TMP/api.sock" -X PATCH -H 'Transfer-Encoding: chunked' \
		-d '{}' -w '\n%{http_code}' http://localhost/vm
	[ "${lines[-1]}" = 501 ]
	run api PUT /boot-source '{"kernel_image_path":"/x"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"already running"* ]]
	run api PUT /drives/rootfs '{}'
	[ "${lines[1]}" = 400 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[1]}" = 400 ]
	# The counter guest has no keyboard driver: it never enabled the keyboard.
	run api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"SendCtrlAltDel: the guest's keyboard is not enabled"* ]]
	run api GET /nowhere
	[ "${lines[1]}" = 404 ]
	run api DELETE /vm
	[ "${lines[1]}" = 405 ]
	# Still serving and the guest still counting after all that.
	run api GET /
	[ "${lines[1]}" = 200 ]
}

@test "vm api: PUT /snapshot/create, then restore goes on counting" {
	start_counter --api-sock "$TMP/api.sock"
	run api PATCH /vm '{"state":"Paused"}'
	[ "${lines[-1]}" = 204 ]
	n=$(lines)
	run api PUT /snapshot/create "{\"snapshot_path\":\"$TMP/st\",\"mem_file_path\":\"$TMP/mem\"}"
	echo "$output"
	[ "${lines[-1]}" = 204 ]
	run api GET /
	[[ "${lines[0]}" == *'"state":"Paused"'* ]] # a snapshot keeps a paused VM paused
	kill "$VM_PID"
	wait "$VM_PID" || true
	VM_PID=
	[ ! -e "$TMP/api.sock" ]
	timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2" \
		--api-sock "$TMP/api.sock" &
	VM_PID=$!
	for i in $(seq 100); do
		[ "$(grep -c '^counter: ' "$TMP/out2" 2>/dev/null)" -ge 2 ] && break
		sleep 0.1
	done
	first=$(grep -m1 -o "^counter: [0-9]*" "$TMP/out2" | cut -d' ' -f2)
	[ "$first" -eq $((n + 1)) ] # exactly where it was paused
	run api GET /
	[[ "${lines[0]}" == *'"state":"Running"'* ]]
}

@test "vm api: isola vm ls/info/pause/resume/snapshot/stop by id; stop while paused" {
	start_counter --id isola-it-api4
	run "$ISOLA" vm ls
	echo "$output"
	[[ "$output" == *"isola-it-api4"*"Running"*"$TMP/run/isola-it-api4/api.sock"* ]]
	"$ISOLA" vm pause isola-it-api4
	run "$ISOLA" vm info isola-it-api4
	[[ "$output" == *'"state":"Paused"'* ]]
	(cd "$TMP" && "$ISOLA" vm snapshot isola-it-api4 --state st --mem mem)
	[ -s "$TMP/st" ]
	[ -f "$TMP/mem" ]
	"$ISOLA" vm resume isola-it-api4
	"$ISOLA" vm pause isola-it-api4
	run "$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --id isola-it-api4
	[ "$status" -ne 0 ]
	[[ "$output" == *"exists"* ]]
	run "$ISOLA" vm pause isola-it-nope
	[ "$status" -ne 0 ]
	run "$ISOLA" vm pause "bad id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"VM id"* ]]
	# isola vm stop (SIGTERM) on a paused VM: it resumes its vCPUs, stops, and cleans up.
	run timeout 15 "$ISOLA" vm stop isola-it-api4
	echo "$output"
	[ "$status" -eq 0 ]
	run timeout 10 tail --pid="$VM_PID" -f /dev/null
	[ "$status" -eq 0 ]
	VM_PID=
	run "$ISOLA" vm stop isola-it-api4
	[ "$status" -ne 0 ]
	[[ "$output" == *"no VM"* ]]
	[ ! -e "$TMP/run/isola-it-api4" ]
	run "$ISOLA" vm ls
	[[ "$output" != *isola-it-api4* ]]
}

@test "vm api: pre-boot configuration, then InstanceStart boots it" {
	require_kvm
	require_cmd curl
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out" &
	VM_PID=$!
	for i in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.05; done
	run api GET /
	[[ "${lines[0]}" == *'"state":"Not started"'* ]]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"no boot source (PUT /boot-source first)"* ]]
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128,"bogus":true}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"body.bogus: unknown field"* ]]
	run api PUT /machine-config '{"vcpu_count":"two","mem_size_mib":128}'
	[ "${lines[1]}" = 400 ]
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128}'
	[ "${lines[-1]}" = 204 ]
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/counter.elf\",\"boot_args\":\"every=20000000\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /drives/a '{"drive_id":"b","path_on_host":"/x","is_root_device":true}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"differs from the path"* ]]
	run api PATCH /vm '{"state":"Paused"}'
	[ "${lines[1]}" = 400 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[-1]}" = 204 ]
	for i in $(seq 100); do grep -q "^counter: 2" "$TMP/out" 2>/dev/null && break; sleep 0.1; done
	grep -q "^counter: 2" "$TMP/out"
	run api GET /
	[[ "${lines[0]}" == *'"state":"Running"'*'"vcpu_count":2,"mem_size_mib":128'* ]]
	run api PUT /boot-source '{"kernel_image_path":"/x"}'
	[ "${lines[1]}" = 400 ]
	kill "$VM_PID"
	wait "$VM_PID" || true
	VM_PID=
	[ ! -e "$TMP/api.sock" ]
}

@test "vm api: files are checked at PUT; a failed InstanceStart leaves the VMM configurable" {
	require_kvm
	require_cmd curl
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	start_preboot
	# Missing files are refused when PUT, naming the API field (not a CLI flag).
	run api PUT /boot-source "{\"kernel_image_path\":\"$TMP/nokernel\"}"
	echo "$output"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'body.kernel_image_path'*'No such file'* ]]
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/missing.img\",\"is_root_device\":true}"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'body.path_on_host'*"$TMP/missing.img"* ]]
	mkdir "$TMP/dir"
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/dir\",\"is_root_device\":true}"
	[ "${lines[1]}" = 400 ]
	run api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":999999}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'body.mem_size_mib'* ]]
	[[ "${lines[0]}" != *'--memory'* ]]
	run api PUT /machine-config '{"vcpu_count":0,"mem_size_mib":64}'
	[[ "${lines[0]}" == *'body.vcpu_count'* ]]
	# A kernel file that exists but does not load: InstanceStart fails, the VMM stays.
	head -c 8192 /dev/zero >"$TMP/junk"
	run api PUT /boot-source "{\"kernel_image_path\":\"$TMP/junk\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	echo "$output"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"$TMP/junk"* ]]
	kill -0 "$VM_PID"
	run api GET /
	[[ "${lines[0]}" == *'"state":"Not started"'* ]]
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/counter.elf\",\"boot_args\":\"every=20000000\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[-1]}" = 204 ]
	poll_until 10 grep -q "^counter: 2" "$TMP/out"
	run api GET /machine-config
	[ "${lines[-1]}" = 200 ]
	[[ "${lines[0]}" == *'"vcpu_count":1,"mem_size_mib":128'* ]] # Firecracker's defaults
	kill "$VM_PID"
	wait "$VM_PID" || true
	VM_PID=
	[ ! -e "$TMP/api.sock" ]
}

# jq_ok JSON FILTER: the filter is true of the JSON.
jq_ok() { [ "$(jq -r "$2" <<<"$1")" = true ]; }

@test "vm api: a file PUT through a /proc magic link (an fd of the VMM) is refused; PATCH /drives is post-boot only" {
	require_kvm
	require_cmd curl jq
	start_preboot
	head -c 65536 /dev/zero >"$TMP/a.img"
	exec {held}<"$TMP/a.img"
	for p in "/proc/$VM_PID/fd/0" "/proc/self/fd/0" "/proc/$$/fd/$held"; do
		run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$p\",\"is_root_device\":false,\"is_read_only\":true}"
		echo "$p -> $output"
		[ "${lines[1]}" = 400 ]
		[[ "${lines[0]}" == '{"fault_message":"body.path_on_host `'"$p"'`: '* ]]
		# Another process's fd: the confined VMM may not even look into its fd directory.
		[[ "${lines[0]}" == *'through a /proc magic link'* ||
			("$p" == "/proc/$$/"* && "${lines[0]}" == *'Permission denied'*) ]]
	done
	exec {held}<&-
	run api PUT /boot-source "{\"kernel_image_path\":\"/proc/$VM_PID/exe\"}"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'magic link'* ]]
	run api GET /vm/config
	jq_ok "${lines[0]}" '(.drives | length) == 0'
	# A plain path and a symbolic link (not a magic one) are fine.
	ln -s a.img "$TMP/link.img"
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/link.img\",\"is_root_device\":false,\"is_read_only\":true}"
	[ "${lines[-1]}" = 204 ]
	# Firecracker's swagger: PATCH /drives/{drive_id} "Post-boot only".
	run api PATCH /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/a.img\"}"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'not started'* ]]
}

@test "vm api: isola vm update --disk swaps a running VM's disk image; bad ones are refused" {
	require_cmd jq
	truncate -s 1M "$TMP/a.img" "$TMP/b.img"
	start_counter --api-sock "$TMP/api.sock" --disk "$TMP/a.img"
	# A relative PATH is made absolute against the client's directory.
	(cd "$TMP" && "$ISOLA" vm update --disk disk0=b.img "$TMP/api.sock")
	b=$(cd "$TMP" && pwd -P)/b.img
	run api GET /vm/config
	jq_ok "${lines[0]}" ".drives[0].path_on_host == \"$b\""
	run "$ISOLA" vm update --disk "disk0=$TMP/missing.img" "$TMP/api.sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$TMP/missing.img"* ]]
	run "$ISOLA" vm update --disk disk0 "$TMP/api.sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected ID=PATH"* ]]
	run "$ISOLA" vm update --disk "disk1=$TMP/a.img" "$TMP/api.sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such drive"* ]]
	run api GET /vm/config
	jq_ok "${lines[0]}" ".drives[0].path_on_host == \"$b\""
	kill -0 "$VM_PID"
}

@test "vm api: a disk path containing a comma through the CLI, the JSON config and the API" {
	require_kvm
	require_cmd curl
	require_cmd jq
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	truncate -s 1M "$TMP/a,b.img"
	start_counter --api-sock "$TMP/api.sock" --disk "$TMP/a,,b.img,ro"
	run api GET /vm/config
	echo "$output"
	jq_ok "${lines[0]}" ".drives[0].path_on_host == \"$TMP/a,b.img\" and .drives[0].is_read_only"
	kill "$VM_PID"; wait "$VM_PID" || true; VM_PID=
	rm -f "$TMP/out"
	printf '{"disks": [{"path": "%s", "readonly": true}]}\n' "$TMP/a,b.img" >"$TMP/vm.json"
	start_counter --api-sock "$TMP/api.sock" --config "$TMP/vm.json"
	run api GET /vm/config
	jq_ok "${lines[0]}" ".drives[0].path_on_host == \"$TMP/a,b.img\" and .drives[0].is_read_only"
	kill "$VM_PID"; wait "$VM_PID" || true; VM_PID=
	rm -f "$TMP/out"
	start_preboot
	run api PUT /drives/d "{\"drive_id\":\"d\",\"path_on_host\":\"$TMP/a,b.img\",\"is_root_device\":false,\"is_read_only\":true}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/counter.elf\",\"boot_args\":\"every=20000000\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[-1]}" = 204 ]
	run api GET /vm/config
	jq_ok "${lines[0]}" ".drives[0].path_on_host == \"$TMP/a,b.img\" and .drives[0].drive_id == \"d\""
}

@test "vm api: a recorded firectl/Firecracker SDK request sequence gets the answers the spec gives" {
	require_kvm
	require_cmd curl
	require_cmd jq
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	id=isola-it-fc$$
	truncate -s 1M "$TMP/root,fs.img" "$TMP/data.img" "$TMP/root2.img"
	: >"$TMP/fc.log"
	: >"$TMP/fc.metrics"
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --id "$id" --console "$TMP/out" 2>"$TMP/err" &
	VM_PID=$!
	poll_until 10 test -S "$TMP/api.sock"
	n=0
	while IFS=$'\t' read -r method path want body check; do
		[[ "$method" == \#* ]] && continue
		body=${body//@TMP@/$TMP}
		body=${body//@GUEST@/$GUEST_DIR}
		check=${check//@TMP@/$TMP}
		check=${check//@GUEST@/$GUEST_DIR}
		check=${check//@ID@/$id}
		if [ "$body" = - ]; then run api "$method" "$path"; else run api "$method" "$path" "$body"; fi
		echo "$method $path -> $output"
		[ "${lines[-1]}" = "$want" ]
		if [ "$want" -ge 400 ]; then jq_ok "${lines[0]}" '.fault_message | type == "string"'; fi
		if [ "$check" != - ]; then jq_ok "${lines[0]}" "$check"; fi
		if [ "$path" = /actions ] && [ "$want" = 204 ] && [[ "$body" == *InstanceStart* ]]; then
			poll_until 10 grep -q "^counter: 2" "$TMP/out"
		fi
		n=$((n + 1))
	done <"$BATS_TEST_DIRNAME/data/firecracker-sdk-requests.tsv"
	[ "$n" -ge 20 ]
	[ -s "$TMP/snap.state" ]
	# The snapshot after PATCH /drives names the drive's new file, not the old one.
	grep -qa "/root2.img" "$TMP/snap.state"
	refute grep -qa "/root,fs.img" "$TMP/snap.state"
	# FlushMetrics wrote a line with the vCPU exits since the last one (the guest's serial port writes).
	line=$(tail -n 1 "$TMP/fc.metrics")
	echo "$line"
	jq_ok "$line" '.utc_timestamp_ms > 0 and .vcpu.exit_io_out > 0 and .api_server.requests > 0'
	# The logger at Warning: the failed drive is not there (info), nothing at debug level.
	refute grep -q ' debug ' "$TMP/fc.log"
	refute grep -q ' info ' "$TMP/fc.log"
}

@test "vm api: logger levels filter what reaches the log path" {
	require_kvm
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	start_preboot
	: >"$TMP/log"
	run api PUT /logger "{\"log_path\":\"$TMP/log\",\"level\":\"Loud\"}"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'body.level'* ]]
	run api PUT /logger "{\"log_path\":\"$TMP/nolog\"}"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'body.log_path'* ]]
	run api PUT /logger "{\"log_path\":\"$TMP/log\",\"level\":\"Warning\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /logger "{\"log_path\":\"$TMP/log\",\"level\":\"Debug\"}"
	[ "${lines[1]}" = 400 ] # configured once, as Firecracker's
	head -c 8192 /dev/zero >"$TMP/junk"
	run api PUT /boot-source "{\"kernel_image_path\":\"$TMP/junk\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":65,"huge_pages":"2M"}'
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *'huge_pages'*'mem_size_mib'* ]]
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[1]}" = 400 ]
	cat "$TMP/log"
	grep -q ' warning InstanceStart: .*junk' "$TMP/log"
	refute grep -q ' info ' "$TMP/log"
	refute grep -q ' debug ' "$TMP/log"
	# SIGTERM before boot removes the socket; then debug in another VMM: debug lines arrive.
	kill "$VM_PID"; wait "$VM_PID" || true; VM_PID=
	[ ! -e "$TMP/api.sock" ]
	: >"$TMP/log2"
	start_preboot
	run api PUT /logger "{\"log_path\":\"$TMP/log2\",\"level\":\"debug\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/counter.elf\",\"boot_args\":\"every=20000000\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /entropy '{}'
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[-1]}" = 204 ]
	grep -q ' debug ' "$TMP/log2"
}

# start_preboot: `isola vm run --api-sock` waiting for its configuration (no KVM needed).
start_preboot() {
	require_cmd curl
	require_cmd python3
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out" "$@" 2>"$TMP/err" &
	VM_PID=$!
	poll_until 10 test -S "$TMP/api.sock"
}

# raw_api: send stdin as-is to the API socket, print the response's status line.
raw_api() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
print(s.makefile("rb").readline().decode().strip())
' "$TMP/api.sock"
}

@test "vm api: a client dribbling bytes is cut at the 5 s deadline; others are served meanwhile" {
	start_preboot
	run python3 -c '
import socket, sys, time
path = sys.argv[1]
slow = socket.socket(socket.AF_UNIX)
slow.connect(path)
slow.settimeout(0.5)
msg = b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 200
sent, fast, slow_open, answer = 0, None, None, b""
# One byte every 0.5 s, for at most 60 s; a per-read timeout would never cut it.
for i in range(120):
    try:
        slow.send(msg[i:i + 1])
        sent += 1
        answer = slow.recv(4096)
        if answer:
            break
    except socket.timeout:
        pass
    except OSError:
        break
    if i == 2:
        f = socket.socket(socket.AF_UNIX)
        f.settimeout(10)
        f.connect(path)
        f.sendall(b"GET / HTTP/1.1\r\n\r\n")
        fast = f.makefile("rb").readline().decode().split()[1]
        slow_open = 1 if not answer else 0
print("fast=%s slow_open=%s sent=%d slow=%s" % (fast, slow_open, sent, answer.split(b" ")[1].decode() if answer else "cut"))
' "$TMP/api.sock"
	echo "$output"
	[[ "$output" == "fast=200 slow_open=1 "* ]]
	[[ "$output" == *" slow=408" ]]
	sent=$(echo "$output" | sed 's/.*sent=\([0-9]*\).*/\1/')
	[ "$sent" -lt 30 ] # cut by the deadline, long before 60 s of dribbling
	run api GET /
	[ "${lines[-1]}" = 200 ]
}

@test "vm api: nasty header and body sizes are refused, the VMM stays up" {
	start_preboot
	run raw_api <<<$'PUT /vsock HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n'
	[[ "$output" == "HTTP/1.1 413 "* ]]
	run raw_api <<<$'PUT /vsock HTTP/1.1\r\nContent-Length: -1\r\n\r\n'
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw_api <<<$'PUT /vsock HTTP/1.1\r\nContent-Length: 65537\r\n\r\n'
	[[ "$output" == "HTTP/1.1 413 "* ]]
	run raw_api < <(printf 'GET / HTTP/1.1\r\nX: %09000d\r\n\r\n' 0)
	[[ "$output" == "HTTP/1.1 431 "* ]]
	run raw_api < <(printf 'GET /%0300d HTTP/1.1\r\n\r\n' 0)
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw_api < <(printf 'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n{')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw_api < <(printf 'GET / HTTP/1.1\r\nX: a\0b\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw_api < <(printf 'GET / HTTP/1.1\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]] # the client closed before the head ended
	run api GET /
	[ "${lines[-1]}" = 200 ]
}

@test "vm api: a VM started with only --api-sock is listed by vm ls; every vm command takes an id or a socket" {
	cd "$TMP"
	start_counter --api-sock rel.sock
	pid=$VM_PID
	run "$ISOLA" vm ls
	echo "$output"
	[[ "$output" == *"pid-$pid"*"Running"*"$TMP/run/pid-$pid/api.sock"* ]]
	[ "$(readlink "$TMP/run/pid-$pid/api.sock")" = "$TMP/rel.sock" ]
	run "$ISOLA" vm info "pid-$pid"
	[[ "$output" == *'"state":"Running"'* ]]
	"$ISOLA" vm pause "$TMP/rel.sock"
	run "$ISOLA" vm info "$TMP/rel.sock"
	[[ "$output" == *'"state":"Paused"'* ]]
	"$ISOLA" vm resume "pid-$pid"
	"$ISOLA" vm snapshot "pid-$pid" --state st --mem mem
	[ -s "$TMP/st" ]
	# The VM first, then options (as for every other vm subcommand).
	run "$ISOLA" vm migrate "$TMP/rel.sock" --to "unix:$TMP/nobody"
	[ "$status" -ne 0 ]
	[[ "$output" != *usage* ]]
	run timeout 15 "$ISOLA" vm stop "$TMP/rel.sock"
	echo "$output"
	[ "$status" -eq 0 ]
	wait "$VM_PID" || true
	VM_PID=
	[ ! -e "$TMP/rel.sock" ]
	[ ! -e "$TMP/run/pid-$pid" ]
	# A VMM killed with SIGKILL leaves its entry; vm ls drops it.
	rm -f "$TMP/out"
	start_counter --api-sock "$TMP/k.sock"
	pid=$VM_PID
	[ -d "$TMP/run/pid-$pid" ]
	kill -9 "$VM_PID"
	wait "$VM_PID" || true
	VM_PID=
	run "$ISOLA" vm ls
	[[ "$output" != *"pid-$pid"* ]]
	[ ! -e "$TMP/run/pid-$pid" ]
}

@test "vm api: metrics count a virtio-blk guest's requests and vCPU exits; a last line at exit" {
	require_kvm
	require_cmd jq
	[ -f "$GUEST_DIR/virtio-blk.elf" ] || ci_skip "$GUEST_DIR/virtio-blk.elf not built"
	truncate -s 1M "$TMP/disk.img"
	: >"$TMP/metrics"
	start_preboot
	run api PUT /metrics "{\"metrics_path\":\"$TMP/metrics\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":false}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/virtio-blk.elf\",\"boot_args\":\"sector=40 sectors=32\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	[ "${lines[-1]}" = 204 ]
	st=0
	timeout 60 tail --pid="$VM_PID" -f /dev/null
	wait "$VM_PID" || st=$?
	VM_PID=
	line=$(tail -n 1 "$TMP/metrics")
	echo "$line"
	jq_ok "$line" '.virtio[0].device == "blk" and .virtio[0].completed_total > 0 and .virtio[0].bytes_to_guest_total > 0 and .vcpu.exits > 0'
}

# Pre-boot: the socket exists before anything touches /dev/kvm, so this runs anywhere.
@test "vm api: the socket is the owner's only (0600), whatever the umask" {
	(
		umask 000
		exec "$ISOLA" vm run --api-sock "$TMP/api.sock" 2>"$TMP/err"
	) &
	VM_PID=$!
	for _ in $(seq 100); do
		[ -S "$TMP/api.sock" ] && break
		sleep 0.05
	done
	[ "$(stat -c %a "$TMP/api.sock")" = 600 ]
}

# The VMM confines itself before it serves the API (src/vmm/confine.c): a
# seccomp filter, no_new_privs, and no capability beyond its own work's; the
# pre-boot API still opens the files it is given.  Pre-boot: runs anywhere.
@test "vm api: the VMM serves its API confined (seccomp, no_new_privs, no CAP_SYS_ADMIN)" {
	require_cmd curl
	truncate -s 1M "$TMP/disk.img"
	"$ISOLA" vm run --api-sock "$TMP/api.sock" 2>"$TMP/err" &
	VM_PID=$!
	for _ in $(seq 100); do
		[ -S "$TMP/api.sock" ] && break
		sleep 0.05
	done
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	[ "${lines[-1]}" = 204 ]
	grep -E '^(Seccomp|NoNewPrivs|CapEff|CapBnd):' "/proc/$VM_PID/status" >"$TMP/status"
	cat "$TMP/status"
	grep -qE '^Seccomp:\s+2$' "$TMP/status"
	grep -qE '^NoNewPrivs:\s+1$' "$TMP/status"
	for set in CapEff CapBnd; do
		mask=$(sed -n "s/^$set:\s*//p" "$TMP/status")
		# CAP_SYS_ADMIN 21, CAP_SYS_PTRACE 19, CAP_SYS_MODULE 16, CAP_SETUID 7: gone;
		# CAP_NET_ADMIN 12 (TAP devices) stays.
		for bit in 21 19 16 7; do
			[ $(((0x$mask >> bit) & 1)) = 0 ]
		done
		[ $(((0x$mask >> 12) & 1)) = 1 ]
	done
}
