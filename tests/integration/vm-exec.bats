#!/usr/bin/env bats
# isola exec NAME into a run --vm container, on this host (no Linux boot: the
# real VM is in tests/l1, vmct-exec): a container directory as run --vm leaves
# it (config.json, image.json, the vm-vsock note) and a fake VMM + agent
# (vm-exec-fake-agent.py) that echoes the process config isola sends.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	isola_tmp
	require_cmd python3
	export ISOLA_STORE=$TMP/store
	NAME=vmexec-$$
	CT=$ISOLA_STORE/containers/$NAME
	mkdir -p "$CT"
	echo '{}' >"$CT/image.json"
	cat >"$CT/config.json" <<-'EOF'
	{"ociVersion": "1.0.2", "process": {"args": ["sleep", "1000"],
	 "env": ["PATH=/bin", "HOME=/root", "KEEP=1"], "cwd": "/srv",
	 "user": {"uid": 1000, "gid": 100}}}
	EOF
	echo "$TMP/v.sock" >"$CT/vm-vsock"
}

teardown() {
	[ -n "${FAKE:-}" ] && kill "$FAKE" 2>/dev/null
	isola_cleanup_tmp
}

# fake STATUS [HOLD_FILE]: the fake agent, in the background, once it listens.
fake() {
	python3 "$BATS_TEST_DIRNAME/vm-exec-fake-agent.py" "$TMP/v.sock" "$1" "$TMP/ready" ${2:+"$2"} \
		2>"$TMP/fake.err" &
	FAKE=$!
	local i=0
	while [ ! -e "$TMP/ready" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$TMP/ready" ]
}

@test "vm-exec: the container's env, cwd and user, -e replacing and adding, the exit code" {
	fake 42
	run "$ISOLA" exec "$NAME" sh -c 'echo hi'
	[ "$status" = 42 ]
	[ "${lines[0]}" = "arg=sh" ]
	[ "${lines[1]}" = "arg=-c" ]
	[ "${lines[2]}" = "arg=echo hi" ]
	[[ "$output" == *$'env=PATH=/bin\nenv=HOME=/root\nenv=KEEP=1\ncwd=/srv\nuid=1000\ngid=100\ntty=0'* ]]
	wait "$FAKE"
	FAKE=
	rm -f "$TMP/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" exec -e HOME=/h -e NEW=x=y -w /tmp -u 5:6 "$NAME" true
	[ "$status" = 0 ]
	# HOME keeps its place with -e's value; NEW is added at the end.
	[[ "$output" == *$'env=PATH=/bin\nenv=HOME=/h\nenv=KEEP=1\nenv=NEW=x=y\ncwd=/tmp\nuid=5\ngid=6\n'* ]]
	wait "$FAKE"
}

# Names are resolved by the agent in the container's /etc/passwd and group
# (L1 vmct-exec); a UID alone too, for the group passwd gives it.
@test "vm-exec: -u NAME[:GROUP] and -u UID go to the agent as user=, -u UID:GID as numbers" {
	local u
	for u in nobody nobody:users 1000 www-data:33; do
		fake 0
		run "$ISOLA" exec -u "$u" "$NAME" true
		[ "$status" = 0 ]
		[[ "$output" == *$'\n'"user=$u"* ]]
		wait "$FAKE"
		FAKE=
		rm -f "$TMP/v.sock" "$TMP/ready"
	done
	fake 0
	run "$ISOLA" exec -u 5:6 "$NAME" true
	[ "$status" = 0 ]
	[[ "$output" != *"user="* ]]
	wait "$FAKE"
}

@test "vm-exec: -t sends tty=1 (no size without a terminal)" {
	fake 0
	run "$ISOLA" exec -t "$NAME" true
	[ "$status" = 0 ]
	[[ "$output" == *"tty=1"* ]]
	[[ "$output" != *"rows="* ]]
	wait "$FAKE"
	# --tty=true is -t, --tty=false no -t (the VM's parser used to refuse both).
	for t in true false; do
		rm -f "$TMP/v.sock" "$TMP/ready"
		fake 0
		run "$ISOLA" exec --tty=$t "$NAME" true
		[ "$status" = 0 ]
		if [ $t = true ]; then
			[[ "$output" == *"tty=1"* ]]
		else
			[[ "$output" != *"tty=1"* ]]
		fi
		wait "$FAKE"
	done
}

@test "vm-exec: options it cannot honour are refused in one line, the VM is not contacted" {
	fake 0
	for o in "-d -t" -di "--detach --interactive" "--cap CAP_SYS_ADMIN" "-u a/b" "-u a:b:c" "-u -x" "-u a:" \
		"-e =x" "--env-file /nonexistent" "-w rel"; do
		# shellcheck disable=SC2086
		run "$ISOLA" exec $o "$NAME" true
		[ "$status" != 0 ]
		[ "${#lines[@]}" = 1 ]
	done
	# runc's exec options are named as such, however they were spelled.
	for o in "-c CAP_KILL" "--cap=CAP_KILL" "--pid-file /x" "-p /x"; do
		# shellcheck disable=SC2086
		run "$ISOLA" exec $o "$NAME" true
		[ "$status" != 0 ]
		echo "$o: $output"
		[[ "$output" == *"exec: --"*" is not supported for a --vm container" ]]
	done
	run "$ISOLA" exec --tty=maybe "$NAME" true
	[[ "$output" == *"option --tty takes true or false, not \`maybe\`" ]]
	run "$ISOLA" exec "$NAME"
	[ "$status" != 0 ]
	# The fake still waits for its one session: nobody connected.
	kill -0 "$FAKE"
}

@test "vm-exec: --env-file, then -e (the later wins); -e KEY takes our value, an unset KEY is nothing" {
	printf '# comment\nA=from-file\nB=from-file\n\n  C=spaces kept # too\n' >"$TMP/env"
	fake 0
	FROMUS=us run "$ISOLA" exec --env-file "$TMP/env" -e B=from-e -e FROMUS -e UNSET_HERE \
		"$NAME" true
	[ "$status" = 0 ]
	# B keeps the file's place and takes -e's value (strv_env_merge, as plain exec).
	[[ "$output" == *$'env=KEEP=1\nenv=A=from-file\nenv=B=from-e\nenv=C=spaces kept # too\nenv=FROMUS=us\ncwd='* ]]
	[[ "$output" != *"B=from-file"* && "$output" != *UNSET_HERE* ]]
	wait "$FAKE"
	# -ie K=V is -i -e K=V, and the name after it is the container's.
	rm -f "$TMP/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" exec -ie KEEP=2 "$NAME" true
	[ "$status" = 0 ]
	[[ "$output" == *$'env=KEEP=2\n'* && "$output" != *KEEP=1* ]]
	wait "$FAKE"
}

@test "vm-exec: --privileged sends no capability sets (the process keeps root's in the guest)" {
	python3 - "$CT/config.json" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["process"]["capabilities"] = {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
	                                "permitted": ["CAP_CHOWN"]}
	c["process"]["noNewPrivileges"] = True
	json.dump(c, open(sys.argv[1], "w"))
	EOF
	fake 0
	run "$ISOLA" exec "$NAME" true
	[ "$status" = 0 ]
	[[ "$output" == *$'\ncaps=1 1 0 1 0\n'* ]]
	wait "$FAKE"
	rm -f "$TMP/v.sock" "$TMP/ready"
	fake 0
	run "$ISOLA" exec --privileged=true "$NAME" true
	[ "$status" = 0 ]
	[[ "$output" != *caps=* ]]
	# no_new_privs stays, as the container's seccomp filter would.
	[[ "$output" == *$'\nnnp=1'* ]]
	wait "$FAKE"
}

@test "vm-exec: -d returns once the agent has the process; a monitor holds the session until EXIT" {
	fake 3 "$TMP/hold"
	run "$ISOLA" exec -d "$NAME" sh -c 'echo hi'
	[ "$status" = 0 ]
	# Nothing attached: the process's output (the fake echoes the config) is not ours.
	[ -z "$output" ]
	local mon i=0
	while [ ! -e "$TMP/ready.config" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$TMP/ready.config" ]
	# The session is still open: the process "runs", held by the monitor.
	kill -0 "$FAKE"
	mon=$(pgrep -f "^$ISOLA exec -d $NAME" || true)
	[ -n "$mon" ]
	[ "$(ps -o sid= -p "$mon" | tr -d ' ')" = "$mon" ]
	touch "$TMP/hold"
	wait "$FAKE"
	FAKE=
	i=0
	while kill -0 "$mon" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	run ! kill -0 "$mon"
}

@test "vm-exec: a VM that does not answer (no socket) is an error naming it, exit 125" {
	run "$ISOLA" exec "$NAME" true
	[ "$status" = 125 ]
	[[ "$output" == *"$TMP/v.sock"* ]]
	[ "${#lines[@]}" = 1 ]
}

# A hostile guest's text reaches the operator's terminal escaped (\xNN), never
# as escape sequences that retitle, clear or recolour it.
@test "vm-exec: the agent's ERROR text comes out with its control characters escaped" {
	fake esc
	run "$ISOLA" exec "$NAME" true
	[ "$status" = 125 ]
	[[ "$output" == *'in the VM: \x1b]0;pwned\x07\x1b[2J\x1b[31mfake prompt$ \xc2\x9b\x7f'* ]]
	[[ "$output" != *$'\e'* && "$output" != *$'\a'* && "$output" != *$'\x7f'* ]]
	wait "$FAKE"
}

# An agent that sends HELLO and never reads: the CONFIG (a big --env-file, more
# than the socket holds) is sent by the same deadline as HELLO (30 s), and
# exec -d then fails in one line instead of waiting forever.
@test "vm-exec: an agent that never reads the config: exec -d fails at the deadline, no hang" {
	local i start
	for i in $(seq 600); do
		printf 'V%d=%01000d\n' "$i" 0
	done >"$TMP/env"
	fake noread
	start=$SECONDS
	run timeout -s KILL 60 "$ISOLA" exec -d --env-file "$TMP/env" "$NAME" true
	echo "$output"
	[ "$status" = 125 ]
	[ $((SECONDS - start)) -lt 45 ]
	[[ "$output" == *"the agent did not take the process config in 30s"* ]]
	[ "${#lines[@]}" = 1 ]
}
