#!/usr/bin/env bats
# The control API (--api-sock / --id): HTTP/1.1 + JSON on a Unix socket in
# Firecracker's shape, driven with curl and with the isola vm clients.

load helpers
load vm-helpers

GUEST_DIR=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}

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

@test "vm api: GET / and PATCH /vm pause and resume the guest" {
	start_counter --api-sock "$TMP/api.sock" --id isola-it-api1
	run api GET /
	echo "$output"
	[ "${lines[1]}" = 200 ]
	[[ "${lines[0]}" == *'"id":"isola-it-api1"'*'"state":"Running"'* ]]
	run api PATCH /vm '{"state":"Paused"}'
	[ "${lines[-1]}" = 204 ]
	a=$(lines)
	sleep 0.5
	[ "$(lines)" -eq "$a" ] # nothing counts while paused
	run api GET /
	[[ "${lines[0]}" == *'"state":"Paused"'* ]]
	run api PATCH /vm '{"state":"Resumed"}'
	[ "${lines[-1]}" = 204 ]
	sleep 0.5
	[ "$(lines)" -gt "$a" ]
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
	run api PUT /actions '{"action_type":"SendCtrlAltDel"}'
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"not supported yet"* ]]
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
	[[ "${lines[0]}" == *"no kernel"* ]]
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

@test "vm api: InstanceStart answers 400 when the VM cannot start, and the VMM exits" {
	require_kvm
	require_cmd curl
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out" 2>"$TMP/err" &
	VM_PID=$!
	for i in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.05; done
	run api PUT /boot-source "{\"kernel_image_path\":\"$GUEST_DIR/counter.elf\"}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/missing.img\",\"is_root_device\":true}"
	[ "${lines[-1]}" = 204 ]
	run api PUT /actions '{"action_type":"InstanceStart"}'
	echo "$output"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"$TMP/missing.img"* ]]
	st=0
	wait "$VM_PID" || st=$?
	VM_PID=
	[ "$st" -eq 1 ]
	[ ! -e "$TMP/api.sock" ]
}
