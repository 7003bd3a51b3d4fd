#!/usr/bin/env bats
# isola run --vm -d and the commands around it (logs, ps, inspect, stop, rm,
# exec, --rm) on this host, with a fake VMM + agent (vm-fake-vmm.py, run as
# $ISOLA_VMM in place of `isola vm run`): the monitor, its state, the log, the
# exit codes and the cleanup are isola's real ones; only the guest is fake.
# The same with a real guest is in the L1 bed (tests/l1 vmct-detach*).
load image-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	vmct_fake_vmm vm-fake-vmm.py
	vmct_image vmdet-bb l:bin/sleep:busybox
	# The cold path (the fake boots; warm starts of -d: vm-warm-detach.bats).
	export ISOLA_VM_COLD=1
	# No network (its -d is vm-detach-net.bats): run IMAGE's default is the bridge.
	export ISOLA_NETWORK=none
	N=vmdet-$$
}

teardown() {
	"$ISOLA" rm -f "$N" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	isola_cleanup_tmp
}

# The container's socket dir (vm.json's "dir"), while it runs.
sockdir() {
	jq -r .dir "$ISOLA_STORE/run/$N/vm.json"
}

# Nothing of $N: no bundle, state, mount, socket dir ($1), monitor or VMM.
nothing_left() {
	[ ! -e "$ISOLA_STORE/containers/$N" ]
	[ ! -e "$ISOLA_STORE/run/$N" ]
	refute grep " $ISOLA_STORE/containers/$N" /proc/self/mountinfo
	[ -z "${1:-}" ] || [ ! -e "$1" ]
	refute pgrep -f "$TMP/kernel"
}

ps_field() { # FIELD
	"$ISOLA" ps --format json | jq -r ".[] | select(.id == \"$N\") | .$1"
}

@test "vm-detach: a guest that never reads its config cannot hold run --vm: a signal ends it, nothing left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	# A config larger than the socket's buffer: 3,000 variables of 300 bytes.
	for i in $(seq 3000); do printf 'V%d=%0300d\n' "$i" 0; done >"$TMP/env"
	FAKE_VMM=noread FAKE_VMM_MARK=$TMP/noread "$ISOLA" run --vm --rm --env-file "$TMP/env" vmdet-bb:1 echo hi \
		>"$TMP/out" 2>&1 &
	pid=$!
	# The agent has connected (so isola is past accept, in the config's send).
	wait_until 20 "[ -e '$TMP/noread' ]"
	sleep 1
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "still sending after SIGTERM"
		false
	fi
	rc=0
	wait "$pid" || rc=$?
	cat "$TMP/out"
	[ "$rc" -ne 0 ]
	grep -q "signal 15 before the container started" "$TMP/out"
	wait_until 10 "! pgrep -f '$TMP/kernel' >/dev/null"
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" = "$before" ]
}

@test "vm-detach: a foreground run --vm is running for ps; stop hands TERM to it, KILLs after -t; rm -f ends it; nothing left" {
	fg() { # CMD [RUN-OPTION...]: run --vm in the foreground, in the background of this shell; sets PID
		"$ISOLA" run --vm --name "$N" "${@:2}" vmdet-bb:1 sh -c "$1" >"$TMP/out" 2>&1 &
		PID=$!
		wait_until 20 "[ \"\$(ps_field status)\" = running ]"
		wait_until 20 "[ -s '$ISOLA_STORE/containers/$N/vm-vsock' ]"
	}
	# TERM goes to the container, which ends with 143; run --vm returns that and,
	# as a foreground run --vm does, removes the container.
	fg 'sleep 300'
	[ "$(ps_field pid)" = "$PID" ]
	run "$ISOLA" stop -t 30 "$N"
	[ "$status" -eq 0 ]
	rc=0
	wait "$PID" || rc=$?
	[ "$rc" -eq 143 ]
	nothing_left
	# A container that ignores TERM: KILL after -t 2; the killed run leaves its
	# container (exited) for rm, which also removes the VMM's socket dir.
	fg "trap '' TERM; sleep 300"
	sd=$(dirname "$(head -n1 "$ISOLA_STORE/containers/$N/vm-vsock")")
	[ -d "$sd" ]
	SECONDS=0
	run "$ISOLA" stop -t 2 "$N"
	[ "$status" -eq 0 ]
	[ "$SECONDS" -lt 15 ]
	refute kill -0 "$PID"
	wait_until 10 "! pgrep -f '$TMP/kernel' >/dev/null"
	[ "$(ps_field status)" = exited ]
	run "$ISOLA" rm "$N"
	[ "$status" -eq 0 ]
	nothing_left "$sd"
	# A stop signal the run does not relay would end the run, not the container: it
	# is not sent, and KILL comes after -t (137, not 158 for SIGPWR).
	fg 'sleep 300' --stop-signal SIGPWR
	sd=$(dirname "$(head -n1 "$ISOLA_STORE/containers/$N/vm-vsock")")
	run "$ISOLA" stop -t 1 "$N"
	[ "$status" -eq 0 ]
	rc=0
	wait "$PID" || rc=$?
	[ "$rc" -eq 137 ]
	"$ISOLA" rm "$N"
	nothing_left "$sd"
	# rm -f of a running one; rm without -f is refused.
	fg "trap '' TERM; sleep 300"
	sd=$(dirname "$(head -n1 "$ISOLA_STORE/containers/$N/vm-vsock")")
	run "$ISOLA" rm "$N"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container is running"* ]]
	run "$ISOLA" rm -f "$N"
	[ "$status" -eq 0 ]
	refute kill -0 "$PID"
	wait_until 10 "! pgrep -f '$TMP/kernel' >/dev/null"
	nothing_left "$sd"
}

@test "vm-detach: --init asks the agent for its init (init=1), in the foreground and with -d; not without" {
	run "$ISOLA" run --vm --rm --init vmdet-bb:1 sh -c 'config init'
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = init=1 ]
	run "$ISOLA" run --vm --rm vmdet-bb:1 sh -c 'config init'
	[ "$status" = 0 ]
	[ -z "$output" ]
	run "$ISOLA" run --vm -d --init --name "$N" vmdet-bb:1 sh -c 'config init; config arg'
	[ "$status" = 0 ]
	wait_until 10 "$ISOLA logs $N | grep -q init=1"
	# The command is the image's: no /dev/init in front of it (plain run's --init).
	run "$ISOLA" logs "$N"
	[ "${lines[0]}" = init=1 ]
	[ "${lines[1]}" = arg=sh ]
	"$ISOLA" rm -f "$N" >/dev/null
	nothing_left
}

@test "vm-detach: run IMAGE's masked and read-only paths reach the agent, with -d too" {
	run "$ISOLA" run --vm --rm vmdet-bb:1 sh -c 'config path'
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *$'path=M /proc/kcore\n'* ]]
	[[ "$output" == *"path=R /proc/sys"* ]]
	run "$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sh -c 'config path'
	[ "$status" = 0 ]
	wait_until 10 "$ISOLA logs $N | grep -q 'path=R /proc/sysrq-trigger'"
	"$ISOLA" rm -f "$N" >/dev/null
	nothing_left
}

@test "vm-detach: run --vm -d prints the name; logs, ps (a vm), exec, stop (143), inspect's exitCode, rm" {
	run "$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sh -c 'echo started; echo-err oops; sleep 1000'
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "$N" ]
	wait_until 10 "$ISOLA logs $N | grep -q oops"
	run "$ISOLA" logs "$N"
	[ "$output" = $'started\noops' ]
	run "$ISOLA" logs --tail 1 "$N"
	[ "$output" = oops ]
	run "$ISOLA" logs -t --since 1h "$N"
	[[ "${lines[0]}" == 20*Z\ started ]]
	[ "$(ps_field status)" = running ]
	[ "$(ps_field vm)" = true ]
	[ "$(ps_field exitCode)" = null ]
	run "$ISOLA" ps
	[[ "$output" == *"running vm"*"$N"* ]]
	local dir
	dir=$(sockdir)
	[ -S "$dir/v.sock" ]
	run "$ISOLA" exec "$N" sh -c 'echo from exec; exit 3'
	[ "$status" = 3 ]
	[ "$output" = "from exec" ]
	run "$ISOLA" rm "$N"
	[ "$status" != 0 ]
	[[ "$output" == *"is running"* ]]
	run "$ISOLA" stop -t 10 "$N"
	[ "$status" = 0 ]
	[ "$(ps_field status)" = stopped ]
	[ "$(ps_field exitCode)" = 143 ]
	run "$ISOLA" ps -a
	[[ "$output" == *"stopped (143) vm"*"$N"* ]]
	[ "$("$ISOLA" inspect "$N" | jq '.[0].exitCode')" = 143 ]
	# The VM powered off: its VMM and socket dir are gone before rm.
	refute pgrep -f "$TMP/kernel"
	[ ! -e "$dir" ]
	run "$ISOLA" exec "$N" echo late
	[ "$status" != 0 ]
	"$ISOLA" rm "$N"
	nothing_left "$dir"
}

@test "vm-detach: stop of a process that ignores TERM: KILL after -t, 137, the VM gone" {
	"$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sh -c "trap '' TERM; echo up; sleep 1000"
	wait_until 10 "$ISOLA logs $N | grep -q up"
	local dir
	dir=$(sockdir)
	run "$ISOLA" stop -t 1 "$N"
	[ "$status" = 0 ]
	[ "$(ps_field status)" = stopped ]
	[ "$(ps_field exitCode)" = 137 ]
	wait_until 10 "! pgrep -f '$TMP/kernel' >/dev/null"
	"$ISOLA" rm "$N"
	nothing_left "$dir"
}

@test "vm-detach: logs -f follows until the process exits; its exit code is kept" {
	"$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sh -c 'echo one; sleep 2; echo two; exit 7'
	run timeout 60 "$ISOLA" logs -f "$N"
	[ "$status" = 0 ]
	[ "$output" = $'one\ntwo' ]
	wait_until 10 "[ \"\$(ps_field exitCode)\" = 7 ]"
	[ "$(ps_field status)" = stopped ]
	"$ISOLA" rm "$N"
	nothing_left
}

@test "vm-detach: logs -f waits for the logger's last lines after the container stopped" {
	"$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sh -c 'echo one; sleep 2; echo two'
	wait_until 10 "grep -q one '$ISOLA_STORE/containers/$N/ctr.log'"
	# The logger lags: stopped.  It and the monitor are forks of run -d (its command
	# line); the monitor is in vm.json.
	local logger mon
	mon=$(jq -r .monitor "$ISOLA_STORE/run/$N/vm.json")
	logger=$(pgrep -f "run --vm -d --name $N " | grep -vx "$mon")
	kill -STOP "$logger"
	"$ISOLA" logs -f "$N" >"$TMP/follow" 2>&1 &
	local follow=$!
	wait_until 30 "[ \"\$(ps_field status)\" = stopped ]"
	# Unfixed, logs -f returns now, without "two"; it must wait for the logger.
	wait_until 2 "! kill -0 $follow 2>/dev/null" || true
	kill -CONT "$logger"
	wait "$follow"
	[ "$(cat "$TMP/follow")" = $'one\ntwo' ]
	"$ISOLA" rm "$N"
	nothing_left
}

@test "vm-detach: --rm -d removes the container when its process exits" {
	run "$ISOLA" run --vm -d --rm --name "$N" vmdet-bb:1 sh -c 'echo bye'
	[ "$status" = 0 ]
	[ "$output" = "$N" ]
	wait_until 30 "[ ! -e '$ISOLA_STORE/containers/$N' ]"
	wait_until 10 "! pgrep -f 'rm -f --store $ISOLA_STORE $N' >/dev/null"
	nothing_left
}

@test "vm-detach: rm -f of a running VM container leaves no VMM, socket dir, state or bundle" {
	"$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sleep 1000
	local dir
	dir=$(sockdir)
	pgrep -f "$TMP/kernel" >/dev/null
	run "$ISOLA" rm -f "$N"
	[ "$status" = 0 ]
	nothing_left "$dir"
}

@test "vm-detach: a SIGKILLed monitor takes its VMM along; ps says 137; rm -f cleans the rest" {
	"$ISOLA" run --vm -d --name "$N" vmdet-bb:1 sleep 1000
	local dir mon
	dir=$(sockdir)
	mon=$(jq -r .monitor "$ISOLA_STORE/run/$N/vm.json")
	kill -KILL "$mon"
	wait_until 10 "! pgrep -f '$TMP/kernel' >/dev/null"
	[ "$(ps_field status)" = stopped ]
	[ "$(ps_field exitCode)" = 137 ]
	# What the monitor would have removed is still there: rm -f removes it.
	[ -d "$dir" ]
	run "$ISOLA" rm -f "$N"
	[ "$status" = 0 ]
	nothing_left "$dir"
}

@test "vm-detach: a VM that never boots: run -d fails 125 with the console's tail (escaped), nothing left" {
	FAKE_VMM=noboot run "$ISOLA" run --vm -d --name "$N" vmdet-bb:1 echo hi
	echo "$output"
	[ "$status" = 125 ]
	[[ "$output" == *"before its agent connected"* ]]
	[[ "$output" == *"Kernel panic - not syncing"* ]]
	# The guest's escape sequences come out as text, not to the terminal.
	[[ "$output" == *'\x1b]0;pwned\x07\x1b[2JKernel panic'* && "$output" != *$'\e'* ]]
	nothing_left
}

@test "vm-detach: bad flags are refused in one line, nothing left" {
	run "$ISOLA" run --vm -d -t --name "$N" vmdet-bb:1 sh
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"-t with -d"* ]]
	run "$ISOLA" run --vm -d --memory 1M --name "$N" vmdet-bb:1 echo hi
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"at least 64M"* ]]
	run -127 "$ISOLA" run --vm -d --name "$N" vmdet-bb:1 no-such-command
	nothing_left
}
