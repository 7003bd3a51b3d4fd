#!/usr/bin/env bats
# `isola run IMAGE` with a podman user's command line: pull on first run, exit codes
# (the container's, 125 isola, 126 not executable, 127 not found), --entrypoint, -i,
# --pull, --restart.  Networking is net.bats'.
load image-helpers
bats_require_minimum_version 1.5.0

setup_file() { img_setup_file; }
teardown_file() { img_teardown_file; }

setup() {
	img_setup
	TMP=$TMP img_busybox t/bb:1
}

teardown() {
	for c in "$ISOLA_STORE"/containers/*/; do
		[ -d "$c" ] && "$ISOLA" rm -f "$(basename "$c")" >/dev/null 2>&1
	done
	isola_cleanup_tmp
}

@test "run IMAGE pulls on first run with progress, then runs from the store" {
	run "$ISOLA" run --rm "$REG/t/bb:1" echo first
	[ "$status" -eq 0 ]
	[[ "$output" == *"Fetching blob"* || "$output" == *"Blob"* ]]
	[ "${lines[-1]}" = first ]
	run "$ISOLA" run --rm "$REG/t/bb:1" echo second
	[ "$status" -eq 0 ]
	[ "$output" = second ]
	run "$ISOLA" run --rm -q --pull always "$REG/t/bb:1" echo third
	[ "$output" = third ]
}

@test "run exit codes: the container's, 125, 126, 127" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" run --rm "$REG/t/bb:1" sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run -127 "$ISOLA" run --rm "$REG/t/bb:1" no-such-command
	[ "$status" -eq 127 ]
	[[ "$output" == *"no-such-command"*"not found"* ]]
	run "$ISOLA" run --rm "$REG/t/bb:1" /etc/passwd
	[ "$status" -eq 126 ]
	# The check looks where the container will: a relative name from -w, a command
	# in a volume (only the runtime sees it).
	run "$ISOLA" run --rm --network none -w /bin "$REG/t/bb:1" ./echo from-workdir
	[ "$status" -eq 0 ]
	[ "$output" = from-workdir ]
	run -127 "$ISOLA" run --rm --network none -w /bin "$REG/t/bb:1" ./no-such-command
	mkdir -p "$TMP/tools"
	printf '#!/bin/sh\necho from-volume "$@"\n' >"$TMP/tools/tool"
	chmod 755 "$TMP/tools/tool"
	run "$ISOLA" run --rm --network none -v "$TMP/tools/tool:/usr/bin/tool:ro" "$REG/t/bb:1" tool a
	[ "$status" -eq 0 ]
	[ "$output" = "from-volume a" ]
	run "$ISOLA" run --rm --network none -v "$TMP/tools:/opt/t:ro" "$REG/t/bb:1" /opt/t/tool b
	[ "$output" = "from-volume b" ]
	# Relative from / (no "//" to miss the mount), through PATH, and through a symlink
	# of the image's (/usr -> /opt: /usr/t is the volume).
	run "$ISOLA" run --rm --network none -v "$TMP/tools:/opt/t:ro" "$REG/t/bb:1" opt/t/tool c
	[ "$output" = "from-volume c" ]
	run "$ISOLA" run --rm --network none -e PATH=opt/t:/bin -v "$TMP/tools:/opt/t:ro" "$REG/t/bb:1" tool d
	[ "$output" = "from-volume d" ]
	TMP=$TMP img_make t/bbl:1 d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox d:opt d:opt/t \
		l:usr:/opt d:tmp
	run "$ISOLA" run --rm -q --network none -e PATH=/usr/t:/bin -v "$TMP/tools:/opt/t:ro" \
		"$REG/t/bbl:1" tool e
	[ "$output" = "from-volume e" ]
	run "$ISOLA" run --rm --no-such-flag "$REG/t/bb:1" sh -c :
	[ "$status" -eq 125 ]
	run "$ISOLA" run --rm --pull never "$REG/t/other:1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"not found in the store $ISOLA_STORE"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "run --entrypoint replaces the entrypoint and drops the image's Cmd" {
	run "$ISOLA" run --rm -q --entrypoint /bin/echo "$REG/t/bb:1" a b
	[ "$status" -eq 0 ]
	[ "$output" = "a b" ]
	run "$ISOLA" run --rm -q --entrypoint /bin/id "$REG/t/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == uid=0* ]]
}

@test "run reads /dev/null without -i, stdin with -i" {
	run sh -c "echo from-stdin | '$ISOLA' run --rm -q '$REG/t/bb:1' cat"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run sh -c "echo from-stdin | '$ISOLA' run -i --rm -q '$REG/t/bb:1' cat"
	[ "$status" -eq 0 ]
	[ "$output" = from-stdin ]
}

@test "run --restart: only no (there is no daemon), said clearly; --pull checks its value" {
	run "$ISOLA" run --rm --restart no -q "$REG/t/bb:1" sh -c :
	[ "$status" -eq 0 ]
	run "$ISOLA" run --rm --restart always "$REG/t/bb:1" sh -c :
	[ "$status" -eq 125 ]
	[[ "$output" == *"needs a daemon"* ]]
	run "$ISOLA" run --rm --pull sometimes "$REG/t/bb:1" sh -c :
	[ "$status" -eq 125 ]
	[[ "$output" == *"--pull \`sometimes\`"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers" 2>/dev/null)" ]
}

@test "logs -f follows until the container exits; --tail, --since, -t" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	mkfifo "$TMP/go"
	run "$ISOLA" run -d --name "it-log-$$" -v "$TMP:/t" "$REG/t/bb:1" \
		sh -c 'echo one; echo two; read x </t/go; echo three'
	[ "$status" -eq 0 ]
	# -f prints what is there, waits for more, and returns when the container exits.
	"$ISOLA" logs -f "it-log-$$" >"$TMP/follow" &
	fpid=$!
	for _ in $(seq 100); do grep -q two "$TMP/follow" && break; sleep 0.1; done
	grep -q two "$TMP/follow"
	refute grep -q three "$TMP/follow"
	echo go >"$TMP/go"
	for _ in $(seq 100); do kill -0 "$fpid" 2>/dev/null || break; sleep 0.1; done
	refute kill -0 "$fpid" 2>/dev/null
	wait "$fpid"
	[ "$(cat "$TMP/follow")" = "$(printf 'one\ntwo\nthree')" ]
	run "$ISOLA" logs --tail 1 "it-log-$$"
	[ "$output" = three ]
	run "$ISOLA" logs --since 2h "it-log-$$"
	[ "${#lines[@]}" -eq 3 ]
	run "$ISOLA" logs --since 2999-01-01T00:00:00Z "it-log-$$"
	[ -z "$output" ]
	run "$ISOLA" logs -t --tail 1 "it-log-$$"
	[[ "$output" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}\.[0-9]{9}Z\ three$ ]]
	run "$ISOLA" logs --since yesterday "it-log-$$"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--since \`yesterday\`"* ]]
}

@test "logs of more than 64 MiB: the whole log, --tail and -f from its end" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# 9000 lines of 8 KB: 72 MB, more than logs could read before.
	"$ISOLA" run -d --network none --name "it-big-$$" "$REG/t/bb:1" \
		sh -c 'exec awk "BEGIN { s = sprintf(\"%8000s\", \"\"); for (i = 0; i < 9000; i++) print i s }"' >/dev/null
	for _ in $(seq 600); do
		[ "$("$ISOLA" inspect "it-big-$$" | jq -r '.[0].status')" = stopped ] && break
		sleep 0.1
	done
	[ "$(stat -c %s "$ISOLA_STORE/containers/it-big-$$/ctr.log")" -gt $((64 << 20)) ]
	run "$ISOLA" logs --tail 2 "it-big-$$"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "8998 "* ]]
	[[ "${lines[1]}" == "8999 "* ]]
	[ "$("$ISOLA" logs "it-big-$$" | awk '{ print $1 }' | md5sum)" = "$(seq 0 8999 | md5sum)" ]
	run "$ISOLA" logs -f --tail 1 "it-big-$$"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "8999 "* ]]
	run "$ISOLA" logs --tail 0 "it-big-$$"
	[ -z "$output" ]
}

@test "run -d --log-opt max-size: the log starts again past it, logs -f goes on; bad values in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	mkfifo "$TMP/go"
	run "$ISOLA" run -d --log-opt max-size=64k --network none --name "it-cap-$$" -v "$TMP:/t" \
		"$REG/t/bb:1" sh -c 'read x </t/go; exec awk "BEGIN { for (i = 0; i < 30000; i++) print i; print \"done\" }"'
	[ "$status" -eq 0 ]
	"$ISOLA" logs -f "it-cap-$$" >"$TMP/follow" &
	fpid=$!
	timeout 20 sh -c "echo go >'$TMP/go'"
	for _ in $(seq 300); do kill -0 "$fpid" 2>/dev/null || break; sleep 0.1; done
	refute kill -0 "$fpid" 2>/dev/null
	wait "$fpid"
	[ "$(tail -n 1 "$TMP/follow")" = done ]
	# Whole lines only, each file read from its start: no stamp cut in half.
	refute grep -Evq '^([0-9]+|done)$' "$TMP/follow"
	[ "$(wc -l <"$TMP/follow")" -gt 1000 ]
	size=$(stat -c %s "$ISOLA_STORE/containers/it-cap-$$/ctr.log")
	echo "log: $size bytes"
	[ "$size" -le $((64 << 10)) ]
	run "$ISOLA" logs --tail 2 "it-cap-$$"
	[ "${lines[0]}" = 29999 ]
	[ "${lines[1]}" = done ]
	# What it holds is whole stamped lines, counting up to the end.
	run "$ISOLA" logs "it-cap-$$"
	[ "${#lines[@]}" -gt 1000 ]
	first=${lines[1]}
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$(seq "$first" 29999; echo done)" ]
	for bad in max-size=1k max-size=abc tag=x max-size=; do
		run "$ISOLA" run -d --log-opt "$bad" --name "it-cap2-$$" "$REG/t/bb:1" true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--log-opt"* ]]
		[ ! -e "$ISOLA_STORE/containers/it-cap2-$$" ]
	done
}

@test "run --hostname: at most 64 plain characters, checked before anything is made" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	for bad in "$(printf 'a\nb')" "$(printf '%065d' 0)" -x "a b" ""; do
		run "$ISOLA" run --rm --network none --hostname "$bad" "$REG/t/bb:1" true
		echo "$output"
		[ "$status" -eq 125 ]
		[[ "$output" == *"--hostname"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	run "$ISOLA" run --rm --network none --hostname "$(printf '%064d' 0)" "$REG/t/bb:1" \
		cat /proc/sys/kernel/hostname
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%064d' 0)" ]
}

# A line longer than logs' 64 KiB buffer: its second piece is its text, not a
# new line, even when the container wrote something that looks like a stamp
# there; and --since decides at its start.
@test "logs: a line over 64 KiB is one line (time, -t and --since read at its start)" {
	local d="$ISOLA_STORE/containers/it-long-$$"
	mkdir -p "$d"
	{
		echo "2026-12-06T10:00:00.000000000Z short1"
		printf '2026-12-06T11:00:00.000000000Z %s2026-12-06T12:00:00.000000000Z FORGED\n' \
			"$(head -c 65505 /dev/zero | tr '\0' A)"
		echo "2026-12-06T13:00:00.000000000Z last"
	} >"$d/ctr.log"
	run "$ISOLA" logs "it-long-$$"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = short1 ]
	[[ "${lines[1]}" == AAAA*"AAA2026-12-06T12:00:00.000000000Z FORGED" ]]
	[ "${#lines[1]}" -eq $((65505 + 37)) ]
	[ "${lines[2]}" = last ]
	run "$ISOLA" logs --since 2026-12-06T11:30:00 "it-long-$$"
	[ "$output" = last ]
	run "$ISOLA" logs -t --since 2026-12-06T10:30:00 "it-long-$$"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "2026-12-06T11:00:00.000000000Z AAAA"* ]]
	rm -rf --one-file-system "$d"
}

@test "ps: CREATED, STATUS, COMMAND, NAMES columns; --format json with ISO 8601; inspect" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	mkfifo "$TMP/go"
	"$ISOLA" run -d --name "it-ps-$$" -v "$TMP:/t" "$REG/t/bb:1" sh -c 'read x </t/go' >/dev/null
	run "$ISOLA" ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID"*IMAGE*COMMAND*CREATED*STATUS*PORTS*NAMES ]]
	[[ "${lines[1]}" == *"sh -c read"*running*"it-ps-$$" ]]
	run "$ISOLA" ps --format json
	[ "$(echo "$output" | jq -r '.[0].names')" = "it-ps-$$" ]
	[ "$(echo "$output" | jq -r '.[0].command')" = "sh -c read x </t/go" ]
	[[ "$(echo "$output" | jq -r '.[0].created')" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}Z$ ]]
	run "$ISOLA" inspect "it-ps-$$"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].status')" = running ]
	[ "$(echo "$output" | jq -r '.[0].args[0]')" = sh ]
	[ "$(echo "$output" | jq -r '.[0].pid')" -gt 0 ]
	run "$ISOLA" inspect "$REG/t/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *manifest* ]]
	# A command with escape sequences and a newline (an image's Cmd, the registry's
	# words) is one escaped cell.
	"$ISOLA" run -d --name "it-ps2-$$" --network none "$REG/t/bb:1" \
		sh -c "$(printf ': \033]0;T\a\n'); busybox sleep 1000" >/dev/null
	run "$ISOLA" ps
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" != *$'\e'* ]]
	[[ "$output" == *'sh -c : \x1b]0;T'* ]]
}

@test "run -it gives a terminal; exec -it NAME sh on an image container; -dt is refused" {
	require_cmd script
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run script -qec "'$ISOLA' run -it --rm '$REG/t/bb:1' sh -c 'tty; exit 3'" /dev/null
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"/dev/pts/0"* ]]
	run sh -c "printf 'echo typed-in\nexit 4\n' | script -qec \"'$ISOLA' run -it --rm '$REG/t/bb:1' sh\" /dev/null"
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *typed-in* ]]

	mkfifo "$TMP/go"
	"$ISOLA" run -d --name "it-ex-$$" -v "$TMP:/t" "$REG/t/bb:1" sh -c 'read x </t/go' >/dev/null
	run "$ISOLA" exec "it-ex-$$" sh -c 'echo plain; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = plain ]
	run sh -c "printf 'tty\nexit 6\n' | script -qec \"'$ISOLA' exec -it 'it-ex-$$' sh\" /dev/null"
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[ -z "$(ls /tmp/isola-console-* 2>/dev/null | grep -F -- "-$$." || true)" ]

	run "$ISOLA" run -dt "$REG/t/bb:1" sh
	[ "$status" -eq 125 ]
	[[ "$output" == *"needs a daemon"* ]]
}

@test "run -v NAME:/DST is a named volume under the store, kept between containers" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" run --rm -v "vol$$:/data" "$REG/t/bb:1" sh -c 'echo kept >/data/f'
	[ "$status" -eq 0 ]
	[ "$(cat "$ISOLA_STORE/volumes/vol$$/_data/f")" = kept ]
	run "$ISOLA" run --rm -v "vol$$:/data:ro" "$REG/t/bb:1" sh -c 'cat /data/f; echo x >/data/g'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = kept ]
	run "$ISOLA" run --rm -v "../escape:/data" "$REG/t/bb:1" sh -c :
	[ "$status" -eq 125 ]
	[[ "$output" == *"-v \`../escape:/data\`"* ]]
	[ ! -e "$ISOLA_STORE/escape" ]
}

@test "run --init: a minimal init is PID 1, forwards signals, keeps the exit code" {
	img_make t/bbs:1 d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/sleep:busybox \
		l:bin/cat:busybox l:bin/tr:busybox d:etc d:tmp
	"$ISOLA" pull -q "$REG/t/bbs:1" >/dev/null
	run "$ISOLA" run --rm --init "$REG/t/bbs:1" sh -c 'echo pid=$$; tr "\0" " " </proc/1/cmdline; echo; exit 5'
	[ "$status" -eq 5 ]
	[ "${lines[0]}" = pid=2 ]
	[[ "${lines[1]}" == "/dev/init -- sh -c"* ]]
	run -127 "$ISOLA" run --rm --init "$REG/t/bbs:1" no-such-command
	[ "$status" -eq 127 ]
	# TERM reaches the command (PID 2), whose trap says so.
	"$ISOLA" run -d --init --name "it-init-$$" "$REG/t/bbs:1" \
		sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done' >/dev/null
	for _ in $(seq 50); do "$ISOLA" logs "it-init-$$" | grep -q ready && break; sleep 0.1; done
	run "$ISOLA" stop -t 20 "it-init-$$"
	[ "$status" -eq 0 ]
	run "$ISOLA" logs "it-init-$$"
	[ "${lines[-1]}" = got-term ]
}

# podman's --sig-proxy: `kill PID` of a foreground run, `timeout`, a closed
# terminal reach the container, and the run still cleans up after it.
# INT sent by a process (kill(1), an engine's sig-proxy) too; a terminal's ^C reaches the
# runtime itself.  env: a shell's `&` starts its job with INT ignored.
@test "run in the foreground passes TERM, HUP, USR1, INT on to the container; --rm still removes it" {
	img_make t/bbs:1 d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/sleep:busybox \
		l:bin/touch:busybox d:etc d:tmp
	"$ISOLA" pull -q "$REG/t/bbs:1" >/dev/null
	for sig in TERM HUP USR1 INT; do
		name="it-sig-$$-$sig"
		env --default-signal=INT "$ISOLA" run --rm --name "$name" "$REG/t/bbs:1" sh -c \
			"trap 'echo got-$sig; exit 7' $sig; touch /tmp/ready; while :; do sleep 0.1; done" \
			>"$TMP/out" 2>&1 &
		pid=$!
		wait_until 20 "'$ISOLA' exec '$name' sh -c '[ -e /tmp/ready ]' 2>/dev/null"
		kill -s $sig $pid
		# Not passed on: it would loop on (bounded here; the old isola ignored INT).
		wait_until 20 "! kill -0 $pid 2>/dev/null" || kill -KILL $pid
		st=0
		wait $pid || st=$?
		echo "$sig: exit $st: $(cat "$TMP/out")"
		[ "$st" -eq 7 ]
		grep -qx "got-$sig" "$TMP/out"
		[ ! -e "$ISOLA_STORE/containers/$name" ]
	done
	img_refute_mounts "$ISOLA_STORE"
}

# run catches and holds INT, TERM, HUP and QUIT while it works: the helpers it leaves
# behind (the logger, the --rm watcher) must not keep that, or TERM would not end them.
@test "run -d --rm: the logger and the watcher it leaves hold no signal and catch no TERM" {
	img_make t/bbs:1 d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/sleep:busybox d:etc d:tmp
	"$ISOLA" pull -q "$REG/t/bbs:1" >/dev/null
	n="it-helpers-$$"
	"$ISOLA" run -d --rm --network none --name "$n" "$REG/t/bbs:1" sleep 100 >/dev/null
	pids=$(pgrep -f -- "--name $n ") || true
	echo "helpers: $pids"
	[ "$(echo "$pids" | wc -w)" -ge 2 ]
	for p in $pids; do
		blk=$(awk '/^SigBlk/ {print $2}' "/proc/$p/status")
		cgt=$(awk '/^SigCgt/ {print $2}' "/proc/$p/status")
		echo "$p: blocked $blk, caught $cgt"
		[ "$((0x$blk))" -eq 0 ]
		[ "$(((0x$cgt >> 14) & 1))" -eq 0 ] # SIGTERM, 15
	done
	"$ISOLA" rm -f "$n" >/dev/null
}

@test "kill NAME, image kill NAME: podman's form for containers of run IMAGE (default KILL, -s SIG)" {
	img_make t/bbs:1 d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/sleep:busybox \
		l:bin/touch:busybox d:etc d:tmp
	"$ISOLA" pull -q "$REG/t/bbs:1" >/dev/null
	n="it-kill-$$"
	"$ISOLA" run -d --network none --name "$n" "$REG/t/bbs:1" \
		sh -c 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done' >/dev/null
	wait_until 20 "'$ISOLA' logs '$n' | grep -q ready"
	run "$ISOLA" kill -s USR1 "$n"
	[ "$status" -eq 0 ]
	[ "$output" = "$n" ]
	wait_until 20 "'$ISOLA' logs '$n' | grep -q got-usr1"
	# runc's shape, NAME SIGNAL: that signal, not KILL.
	run "$ISOLA" kill "$n" USR1
	[ "$status" -eq 0 ]
	wait_until 20 "[ \"\$('$ISOLA' logs '$n' | grep -c got-usr1)\" = 2 ]"
	# An engine names its --root: its container gone from there is not taken for ours.
	run "$ISOLA" --root "$TMP/engine-root" kill "$n" KILL
	[ "$status" -ne 0 ]
	[ "$("$ISOLA" inspect "$n" | jq -r '.[0].status')" = running ]
	run "$ISOLA" image kill "$n"
	[ "$status" -eq 0 ]
	wait_until 20 "[ \"\$('$ISOLA' inspect '$n' | jq -r '.[0].status')\" = stopped ]"
	run "$ISOLA" kill "$n"
	[ "$status" -eq 125 ]
	[[ "$output" == *"can only kill running containers"* ]]
	run "$ISOLA" kill --signal BOGUS "$n"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--signal \`BOGUS\`: not a signal"* ]]
	run "$ISOLA" kill -s KILL "no-such-$$"
	[ "$status" -eq 125 ]
	[[ "$output" == *"no container \`no-such-$$\`"* ]]
}

@test "run -d: a runtime failure is shown (not lost with the bundle's log), exit 125, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" run -d -v "$TMP/no-such-dir:/x" "$REG/t/bb:1" sh -c :
	[ "$status" -eq 125 ]
	[[ "$output" == *"no-such-dir"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "run -t IMAGE: no stray NUL byte in the output when stdin ends early" {
	# script(1) sends an end of file to its pty when its own stdin ends; typed before the
	# relay made the terminal raw, it must reach the container as an end of file, never
	# as a NUL byte (echoed "^@" ahead of the output).
	require_cmd script
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	for t in -t -it; do
		script -qec "'$ISOLA' run $t --rm '$REG/t/bb:1' echo tty-out" /dev/null \
			</dev/null | cat >"$TMP/out"
		od -c "$TMP/out"
		[ "$(cat "$TMP/out")" = $'tty-out\r' ]
	done
}

@test "run --env-file, then -e (the later wins); -e KEY takes ours; a bad file is one line, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	printf '# comment\nA=from-file\nB=from-file\n\n  C=a # b\n' >"$TMP/env"
	FROMUS=us run "$ISOLA" run --rm --network none --env-file "$TMP/env" -e B=from-e -e FROMUS \
		-e UNSET_HERE "$REG/t/bb:1" sh -c 'echo "$A|$B|$C|$FROMUS|${UNSET_HERE-unset}"'
	[ "$status" -eq 0 ]
	[ "$output" = "from-file|from-e|a # b|us|unset" ]
	printf 'A=1\nBAD KEY=2\n' >"$TMP/bad"
	run "$ISOLA" run --rm --network none --env-file "$TMP/bad" "$REG/t/bb:1" true
	[ "$status" -eq 125 ]
	[ "$output" = "isola: --env-file \`$TMP/bad\`, line 2: variable \`BAD KEY\` contains a blank" ]
	run "$ISOLA" run --rm --network none -e =x "$REG/t/bb:1" true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" = 1 ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --cap-add/--cap-drop: podman's names and rules; a bad one is one line, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	caps() { "$ISOLA" run --rm --network none "$@" "$REG/t/bb:1" busybox grep CapEff /proc/self/status; }
	# Podman 4's 11 by default, CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	# (bits 0-8 but 2) NET_BIND_SERVICE (10) SYS_CHROOT (18) SETFCAP (31): 800405fb.
	# Not runc's 14 (a80425fb): no NET_RAW (13), MKNOD (27) or AUDIT_WRITE (29).
	run "$ISOLA" run --rm --network none "$REG/t/bb:1" busybox grep -E '^Cap(Bnd|Eff|Prm):' \
		/proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = $'CapPrm:\t00000000800405fb\nCapEff:\t00000000800405fb\nCapBnd:\t00000000800405fb' ]
	# Less CAP_CHOWN (bit 0): 800405fa.
	run caps --cap-drop chown
	[ "$status" -eq 0 ]
	[[ "$output" == *00000000800405fa ]]
	# NET_ADMIN (bit 12) added, lower case and without CAP_ as podman takes it.
	run caps --cap-add net_admin
	[[ "$output" == *00000000800415fb ]]
	# NET_RAW (bit 13) comes back when asked for.
	run caps --cap-add NET_RAW
	[[ "$output" == *00000000800425fb ]]
	# drop ALL keeps only what is added: NET_RAW.
	run caps --cap-drop ALL --cap-add CAP_NET_RAW
	[[ "$output" == *0000000000002000 ]]
	run caps --cap-drop all
	[[ "$output" == *0000000000000000 ]]
	# add ALL: every capability we have, less a dropped one.
	run caps --cap-add ALL
	[ "$output" = "$(grep CapBnd /proc/self/status | sed 's/CapBnd/CapEff/')" ]
	for bad in "--cap-add CAP_NOPE" "--cap-drop ''" "--cap-add KILL --cap-drop kill" \
		"--cap-add ALL --cap-drop ALL"; do
		eval "run caps $bad"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
	done
	[[ "$output" == *"--cap-add ALL with --cap-drop ALL"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run IMAGE: a default seccomp filter (no new namespaces); --security-opt seccomp=unconfined|FILE; bad values in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	r() {
		"$ISOLA" run --rm --network none "$@" "$REG/t/bb:1" busybox sh -c \
			'grep ^Seccomp: /proc/self/status; busybox unshare -U true && echo UNSHARED
			busybox mkdir /tmp/made && echo MADE; true'
	}
	run r
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'Seccomp:\t2'* ]]
	[[ "$output" != *UNSHARED* ]]
	[[ "$output" == *MADE* ]]
	run r --security-opt seccomp=unconfined
	[[ "$output" == *$'Seccomp:\t0'* ]]
	[[ "$output" == *UNSHARED* ]]
	# A profile of one's own replaces ours: it denies mkdir only.
	echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"],
		"action": "SCMP_ACT_ERRNO"}]}' >"$TMP/profile.json"
	run r --security-opt "seccomp=$TMP/profile.json"
	[[ "$output" == *$'Seccomp:\t2'* ]]
	[[ "$output" == *UNSHARED* ]]
	[[ "$output" != *MADE* ]]
	run r --security-opt label=disable --security-opt no-new-privileges
	[ "$status" -eq 0 ]
	# no_new_privs is on by default; podman's default (off) on request, filter kept,
	# for a non-root user too (the filter is loaded before the capabilities go).
	nnp() { "$ISOLA" run --rm --network none "$@" "$REG/t/bb:1" busybox grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr '\n' ' '; }
	[ "$(nnp)" = "NoNewPrivs:1 Seccomp:2 " ]
	[ "$(nnp -u 1000 --security-opt no-new-privileges=false)" = "NoNewPrivs:0 Seccomp:2 " ]
	[ "$(nnp --security-opt no-new-privileges:false --security-opt no-new-privileges)" = "NoNewPrivs:1 Seccomp:2 " ]
	for bad in "seccomp=$TMP/nonexistent" "selinux=x" "seccomp=$TMP"; do
		run r --security-opt "$bad"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
	done
	echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$TMP/bad.json"
	run r --security-opt "seccomp=$TMP/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *defaultAction* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run IMAGE: the default filter refuses AF_VSOCK sockets with EPERM, as Docker's; other families and unconfined open" {
	require_cmd cc
	cc -static -O2 -o "$TMP/socket-probe" "$ISOLA_TOP/tests/helpers/socket-probe.c" ||
		skip "SKIP: cannot build a static helper (no static libc)"
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	probe() { "$ISOLA" run --rm --network none -v "$TMP/socket-probe:/probe:ro" "$@" "$REG/t/bb:1" /probe unix inet vsock; }
	run probe
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = $'unix ok\ninet ok\nvsock Operation not permitted' ]
	# Unconfined, the kernel answers (a socket, or no such family without the module).
	run probe --security-opt seccomp=unconfined
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'inet ok\nvsock '* ]]
	[[ "$output" != *"vsock Operation not permitted"* ]]
}

@test "exec NAME: --env-file, -e KEY, --privileged (our bounding set), and every argument of a long command" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	"$ISOLA" run -d --name ex1 --network none "$REG/t/bb:1" busybox sleep 1000 >/dev/null
	printf 'A=from-file\nB=from-file\n' >"$TMP/env"
	run "$ISOLA" exec --env-file "$TMP/env" -e B=from-e ex1 sh -c 'echo "$A|$B"'
	[ "$status" -eq 0 ]
	[ "$output" = "from-file|from-e" ]
	# -e KEY takes ours (the runtime's --env wants K=V); "--" before the name.
	FROMUS=us run "$ISOLA" exec -e FROMUS -e UNSET_HERE --env-file "$TMP/env" -- ex1 \
		sh -c 'echo "$FROMUS|$A|${UNSET_HERE-unset}"'
	[ "$status" -eq 0 ]
	[ "$output" = "us|from-file|unset" ]
	# -eK=V (attached) wins over the file too: one B reaches the process.
	run "$ISOLA" exec --env-file "$TMP/env" -eB=attached ex1 sh -c 'echo "$B $(env | grep -c ^B=)"'
	[ "$output" = "attached 1" ]
	# A cluster whose last letter takes the value: -i -e B=cluster, the name after it.
	run "$ISOLA" exec -ie B=cluster ex1 sh -c 'echo "$B"'
	[ "$status" -eq 0 ]
	[ "$output" = "cluster" ]
	run "$ISOLA" exec ex1 busybox grep CapEff /proc/self/status
	[ "$output" != "$(grep CapBnd /proc/self/status | sed 's/CapBnd/CapEff/')" ]
	run "$ISOLA" exec --privileged=false ex1 busybox grep CapEff /proc/self/status
	[ "$output" != "$(grep CapBnd /proc/self/status | sed 's/CapBnd/CapEff/')" ]
	for p in --privileged --privileged=true; do
		run "$ISOLA" exec $p ex1 busybox grep CapEff /proc/self/status
		[ "$status" -eq 0 ]
		[ "$output" = "$(grep CapBnd /proc/self/status | sed 's/CapBnd/CapEff/')" ]
	done
	run "$ISOLA" exec --privileged=maybe ex1 true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"option --privileged takes true or false, not \`maybe\`"* ]]
	# Every flag reads =true/=false so; -t's terminal relay sees --tty=false as no -t.
	run "$ISOLA" exec --tty=false --interactive=true ex1 sh -c 'test -t 1 || echo no-tty'
	[ "$status" -eq 0 ]
	[ "$output" = no-tty ]
	run "$ISOLA" exec --detach=yes ex1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"option --detach takes true or false, not \`yes\`"* ]]
	# 40 arguments: the runtime's argv used to stop at 20 and drop the rest silently.
	run "$ISOLA" exec ex1 echo $(seq 1 40)
	[ "$status" -eq 0 ]
	[ "$output" = "$(seq -s ' ' 1 40)" ]
	run "$ISOLA" exec --env-file "$TMP/nonexistent" ex1 true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"$TMP/nonexistent"* ]]
	# A name in neither place, with an option only podman's form has: 125 and both
	# places named (runc's parser answered "unknown option --store" with 1).
	run "$ISOLA" exec --store "$ISOLA_STORE" it-none true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no container \`it-none\` in the store $ISOLA_STORE or under --root"* ]]
	run "$ISOLA" exec --privileged it-none true
	[ "$status" -eq 125 ]
}

@test "run IMAGE: the container reads its own cgroup limits under /sys/fs/cgroup, read-only (as podman's)" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		f=/sys/fs/cgroup/memory/memory.limit_in_bytes
	else
		f=/sys/fs/cgroup/memory.max
	fi
	run "$ISOLA" run --rm --network none --memory 64m --pids-limit 33 "$REG/t/bb:1" sh -c "
		cat $f; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
		mkdir /sys/fs/cgroup/pids/x 2>/dev/null || mkdir /sys/fs/cgroup/x 2>/dev/null || echo read-only"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "67108864
33
read-only" ]
}

@test "run --privileged: every capability, no filter or masked paths, /sys and cgroups rw, the host's devices" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	[ -c /dev/loop-control ] || skip "no /dev/loop-control on this host"
	bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
	script='awk "/^(CapEff|Seccomp):/ { print \$2 }" /proc/self/status
		head -c 10 /proc/timer_list | wc -c
		awk "\$2 == \"/sys\" { split(\$4, o, \",\"); print o[1] }" /proc/mounts
		grep -c " /proc/sys proc ro" /proc/mounts
		cat /dev/loop-control 2>&1
		if [ -d /sys/fs/cgroup/pids ]; then d=/sys/fs/cgroup/pids/x; else d=/sys/fs/cgroup/x; fi
		mkdir $d 2>/dev/null && rmdir $d && echo cgroup-rw'
	run "$ISOLA" run --rm --network none --privileged "$REG/t/bb:1" sh -c "$script"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$bnd
0
10
rw
0
cat: read error: Invalid argument
cgroup-rw" ]
	# The same without it: podman's defaults.
	run "$ISOLA" run --rm --network none "$REG/t/bb:1" sh -c "$script"
	echo "$output"
	[ "${lines[1]}" = 2 ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = ro ]
	[ "${lines[4]}" = 1 ]
	[[ "$output" == *"can't open '/dev/loop-control'"* ]]
	[[ "$output" != *cgroup-rw* ]]
	# --cap-drop still drops; with --vm it is refused in one line.
	run "$ISOLA" run --rm --network none --privileged --cap-drop SYS_ADMIN "$REG/t/bb:1" \
		sh -c 'grep -c "^CapEff:.*$" /proc/self/status; mount -t tmpfs t /mnt 2>/dev/null || echo refused'
	[[ "$output" == *refused* ]]
	run "$ISOLA" run --rm --vm --privileged "$REG/t/bb:1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--privileged with --vm"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --device: the host's node at CTR, allowed by the devices cgroup as PERMS say; bad ones in one line" {
	[ -c /dev/loop-control ] || skip "no /dev/loop-control on this host"
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# Not among the runtime's default devices: without --device it is not there
	# and the devices cgroup refuses it; m alone lets it be made, not opened.
	run "$ISOLA" run --rm --network none --device /dev/loop-control:/dev/lc-m:m \
		--device /dev/full:/dev/f:rw "$REG/t/bb:1" sh -c '
		stat -c "%n %t:%T %a %F" /dev/lc-m /dev/f
		cat /dev/lc-m || echo m-only
		echo x >/dev/f || echo full'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/lc-m a:ed 600 character special file"* ]]
	[[ "$output" == *"/dev/f 1:7 666 character special file"* ]]
	[[ "$output" == *"Operation not permitted"*m-only* ]]
	[[ "$output" == *"No space left on device"*full* ]]
	run "$ISOLA" run --rm --network none --device /dev/loop-control "$REG/t/bb:1" sh -c '
		stat -c "%n %t:%T" /dev/loop-control; cat /dev/loop-control'
	echo "$output"
	# Opened (the devices cgroup would say EPERM); loop-control has no read.
	[ "$output" = "/dev/loop-control a:ed
cat: read error: Invalid argument" ]
	run "$ISOLA" run --rm --network none "$REG/t/bb:1" sh -c '[ -e /dev/loop-control ] || echo absent'
	[ "$output" = absent ]
	# /dev/stdin, /dev/fd/0 and /dev/../proc/self/fd/0 are isola's own fd 0 (/dev/null here).
	for bad in /nonexistent /etc/passwd /dev/full:rel /dev/full:/dev/f:rwx /dev/full:/dev/../f \
		/dev/full:rr /dev/full:/ dev/full /dev/full: /dev/stdin:/dev/leak /dev/fd/0:/dev/leak \
		/dev/../proc/self/fd/0:/dev/leak; do
		run "$ISOLA" run --rm --network none --device "$bad" "$REG/t/bb:1" true 0</dev/null
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--device \`$bad\`: "* ]]
	done
	run "$ISOLA" run --rm --vm --device /dev/full "$REG/t/bb:1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--device with --vm: the VM has its own devices"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --sysctl, --ulimit, --tmpfs: podman's forms; a bad one is one line, exit 125, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# --tmpfs /etc keeps the image's files (tmpcopyup, as podman), is noexec by
	# default; exec in OPTS lifts it.  --sysctl wins over our ping_group_range.
	run "$ISOLA" run --rm --network none --sysctl kernel.shm_rmid_forced=1 \
		--sysctl "net.ipv4.ping_group_range=1 2" --ulimit nofile=100:200 --ulimit core=-1 \
		--ulimit stack=8388608 --tmpfs /etc --tmpfs /scr:size=1m,mode=1777,exec \
		"$REG/t/bb:1" busybox sh -c 'cat /proc/sys/kernel/shm_rmid_forced \
			/proc/sys/net/ipv4/ping_group_range
		ulimit -n; ulimit -Hn; ulimit -c; ulimit -s
		grep -E " /(etc|scr) " /proc/mounts | cut -d" " -f2-4
		grep -c ^root: /etc/passwd; stat -c %a /scr'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "1
1	2
100
200
unlimited
8192
/etc tmpfs rw,nosuid,nodev,noexec,relatime
/scr tmpfs rw,nosuid,nodev,relatime,size=1024k
1
1777" ]
	# config.json has RLIM_INFINITY as OCI's uint64 (it was -1, which runc refused).
	ISOLA_RUNTIME=runc run "$ISOLA" run --rm --network none --ulimit core=-1 \
		--ulimit nofile=64:128 "$REG/t/bb:1" sh -c 'ulimit -c; ulimit -Hc; ulimit -n'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "unlimited
unlimited
64" ]
	for bad in "--sysctl kernel.pid_max=1" "--sysctl net.x" "--sysctl ../../x=1" \
		"--network host --sysctl net.ipv4.ip_forward=1" "--ulimit nofile=5:4" \
		"--ulimit bogus=1" "--ulimit nofile=x" "--tmpfs rel" "--tmpfs /a/../b" "--tmpfs /" "--tmpfs /." \
		"--tmpfs /x:size=1m,bind" "--tmpfs //proc/" "-v /tmp:/proc" "-v /proc/self/root:/x" \
		"-v /dev/../proc//self/root:/x" "-v $TMP/self/root:/x" "-v $TMP/self:/x" \
		"--mount type=bind,src=$TMP/self/root,dst=/x" "-v /dev/stdin:/x" \
		"--tmpfs /x:size=abc" "--tmpfs /x:uid=abc" "--tmpfs /x:mode=99999" "--tmpfs /x:size=64MiB" \
		"--tmpfs /x:nr_inodes=x" "--tmpfs /x:gid=4294967295" "--tmpfs /x:size="; do
		# A symlink to /proc/self: the runtime's own root, fds and memory once it resolves it.
		[ -L "$TMP/self" ] || ln -s /proc/self "$TMP/self"
		eval "run \"$ISOLA\" run --rm --network none $bad \"$REG/t/bb:1\" true"
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		case $bad in
		"-v $TMP/self/root:/x" | *../proc//self/root:/x | *dst=/x) [[ "$output" == *"magic link"* ]] ;;
		*self:/x) [[ "$output" == *"leads into /proc/self"* ]] ;;
		*bind) [[ "$output" == *"--tmpfs \`/x:size=1m,bind\`: option \`bind\` is not one for a tmpfs"* ]] ;;
		*proc/) [[ "$output" == *"--tmpfs \`//proc/\`: /proc is the container's procfs"* ]] ;;
		--tmpfs\ /x:*=*) [[ "$output" == *"--tmpfs \`${bad#--tmpfs }\`: option \`${bad#--tmpfs /x:}\`: a bad value"* ]] ;;
		*:/proc) [[ "$output" == *"-v \`/tmp:/proc\`: /proc is the container's procfs"* ]] ;;
		esac
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	# What the kernel takes passes: a share of memory, 0 (no limit), a suffix.
	run "$ISOLA" run --rm --network none --tmpfs /p:size=50% --tmpfs /z:size=0 \
		--tmpfs /g:size=1G,nr_inodes=1k "$REG/t/bb:1" cat /proc/mounts
	[ "$status" -eq 0 ]
	[[ "$output" == *" /p tmpfs "* && "$output" == *" /z tmpfs "* && "$output" == *" /g tmpfs "* ]]
}

@test "run --mount: bind, volume and tmpfs as podman takes them; -v's propagation; bad ones in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	mkdir -p "$TMP/m/ro" "$TMP/m/rw" "$TMP/m/p"
	echo host >"$TMP/m/ro/f"
	# podman (runc, 4.3) on the same flags: /b ro, /c rw, a tmpfs rw,nosuid,nodev (not
	# noexec, unlike --tmpfs) with size= and mode=, a named volume as -v NAME:/DST, /p in
	# a peer group of its own (rshared makes rootfsPropagation shared, as podman does).
	run "$ISOLA" run --rm --network none --mount type=bind,src="$TMP/m/ro",dst=/b,ro \
		--mount "type=bind,source=$TMP/m/rw,target=/c,readonly=false" \
		--mount type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1700 \
		--mount "type=volume,src=mvol$$,dst=/v" \
		--mount "type=bind,src=$TMP/m/p,dst=/p,bind-propagation=rshared" \
		-v "$TMP/m/p:/q:rslave,ro" "$REG/t/bb:1" sh -c 'cat /b/f; echo ctr >/c/g
		echo vol >/v/h; { echo x >/b/no; } 2>/dev/null || echo ro
		grep -E " /(b|c|t) " /proc/mounts | cut -d" " -f2,4 | sed "s/,.*relatime/ &/" | cut -d" " -f1,2
		grep " /t " /proc/mounts | cut -d" " -f4; stat -c %a /t
		grep " /p " /proc/self/mountinfo | grep -c shared:
		grep " /q " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "host
ro
/b ro
/c rw
/t rw
rw,nosuid,nodev,relatime,size=1024k,mode=1700
1700
1
ro" ]
	[ "$(cat "$TMP/m/rw/g")" = ctr ]
	[ "$(cat "$ISOLA_STORE/volumes/mvol$$/_data/h")" = vol ]
	for bad in "type=bind,dst=/x" "type=bind,src=$TMP/none,dst=/x" "type=bind,src=rel,dst=/x" \
		"type=bind,src=$TMP/m,dst=x" "type=bind,src=$TMP/m,dst=/proc" "type=bind,src=$TMP/m,dst=//proc/" \
		"type=bind,src=$TMP/m,dst=/a/../x" "type=bind,src=$TMP/m/../m,dst=/x" \
		"type=bind,src=/proc/self/fd/3,dst=/x" "type=bind,src=/proc/thread-self/root,dst=/x" \
		"type=bind,src=$TMP/m,dst=/" "type=bind,src=$TMP/m,dst=/x,dst=/y" \
		"type=bind,src=$TMP/m,target=/x,destination=/y" "type=foo,dst=/x" "dst=/x" \
		"type=bind,src=$TMP/m,dst=/x,bogus" "type=bind,src=$TMP/m,dst=/x,bind-propagation=foo" \
		"type=bind,src=$TMP/m,dst=/x,ro=maybe" "type=bind,src=$TMP/m,dst=/x,ro,rw" \
		"type=bind,src=$TMP/m,dst=/x,tmpfs-size=1m" "type=bind,src=$TMP/m,dst=/x:y" \
		"type=tmpfs,src=/tmp,dst=/x" "type=tmpfs,dst=/x,bind-propagation=rshared" \
		"type=tmpfs,dst=/x,tmpfs-size=0" "type=tmpfs,dst=/x,tmpfs-size=-1" \
		"type=tmpfs,dst=/x,tmpfs-size=18446744073709551615k" "type=tmpfs,dst=/x,tmpfs-size=18446744073709551615" "type=tmpfs,dst=/x,tmpfs-size=1025P" "type=tmpfs,dst=/x,tmpfs-size=1m,tmpfs-size=2m" \
		"type=tmpfs,dst=/x,tmpfs-mode=8" "type=tmpfs,dst=/x,tmpfs-mode=17777" "type=tmpfs,dst=/x,tmpfs-mode=" \
		"type=volume,dst=/x" "type=volume,src=../e,dst=/x" "type=volume,src=.e,dst=/x" \
		"type=volume,src=v,dst=/x,bind-propagation=shared" "type=bind,src=$TMP/m,dst=/$(printf 'x%.0s' {1..5000})"; do
		run "$ISOLA" run --rm --network none --mount "$bad" "$REG/t/bb:1" true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--mount \`${bad:0:20}"* ]]
	done
	for bad in "$TMP/m:/x:ro,rw" "$TMP/m:/x:shared,slave" "$TMP/m:/x:bind"; do
		run "$ISOLA" run --rm --network none -v "$bad" "$REG/t/bb:1" true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[[ "$output" == *"-v \`$bad\`"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	[ ! -e "$ISOLA_STORE/volumes/e" ]
}

@test "run --shm-size: /dev/shm's size as podman mounts it; 0, -1 and sizes that wrap refused" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# podman (runc, 4.3): 1m is size=1024k, 100000 bytes 100k, 1b a page; the default 64m.
	for s in "1m 1024k" "100000 100k" "1b 4k" "2GiB 2097152k" "- 65536k"; do
		set -- $s
		opt=(--shm-size "$1")
		[ "$1" = - ] && opt=()
		run "$ISOLA" run --rm --network none "${opt[@]}" "$REG/t/bb:1" \
			sh -c 'grep " /dev/shm " /proc/mounts | cut -d" " -f4'
		echo "$1: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "rw,nosuid,nodev,noexec,relatime,size=$2" ]
	done
	for bad in 0 -1 18446744073709551615 1025P 1x "" 1m1 "$(printf '9%.0s' {1..300})"; do
		run "$ISOLA" run --rm --network none --shm-size "$bad" "$REG/t/bb:1" true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--shm-size \`${bad:0:20}"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --label, --stop-signal, --stop-timeout: shown by inspect, used by stop; bad ones in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" run -d --name lb -l a=1 --label b -l "c=x=y" --stop-signal USR1 --stop-timeout 2 \
		"$REG/t/bb:1" sh -c 'trap "echo got USR1; exit 3" USR1; while :; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	run "$ISOLA" inspect lb
	echo "$output"
	# As podman's Config.Labels, StopSignal (a number) and StopTimeout.
	[ "$(echo "$output" | jq -c '.[0].labels')" = '{"a":"1","b":"","c":"x=y"}' ]
	[ "$(echo "$output" | jq -c '[.[0].stopSignal, .[0].stopTimeout]')" = '[10,2]' ]
	run "$ISOLA" stop lb
	[ "$status" -eq 0 ]
	run "$ISOLA" logs lb
	[ "$output" = "got USR1" ]
	"$ISOLA" rm lb >/dev/null
	# A process that ignores the stop signal is killed after --stop-timeout, not 10 s;
	# stop -t still wins.  Without the flags: TERM, 10, no labels (podman's defaults).
	"$ISOLA" run -d --name lt --stop-timeout 1 "$REG/t/bb:1" sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	SECONDS=0
	run "$ISOLA" stop lt
	[ "$status" -eq 0 ]
	[ "$SECONDS" -lt 9 ] # not the default 10 s (no timing beyond that: slow machines)
	"$ISOLA" rm lt >/dev/null
	"$ISOLA" run -d --name lt --stop-timeout 30 "$REG/t/bb:1" sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	SECONDS=0
	run "$ISOLA" stop -t 0 lt
	[ "$status" -eq 0 ]
	[ "$SECONDS" -lt 25 ] # not the 30 s of --stop-timeout
	"$ISOLA" rm lt >/dev/null
	"$ISOLA" run -d --name ld "$REG/t/bb:1" busybox sleep 60
	run "$ISOLA" inspect ld
	[ "$(echo "$output" | jq -c '[.[0].labels, .[0].stopSignal, .[0].stopTimeout]')" = '[{},15,10]' ]
	"$ISOLA" rm -f ld >/dev/null
	long=$(printf 'k%.0s' {1..257})
	for bad in "-l a=1 -l a=2" "-l =x" "--label $long=1" "-l $(printf 'a\001b')=1" "-l $(printf 'k=\377')" \
		"--stop-signal 0" "--stop-signal FOO" "--stop-signal 65" "--stop-signal -9" \
		"--stop-timeout -1" "--stop-timeout 4294967295" "--stop-timeout 18446744073709551615" \
		"--stop-timeout x"; do
		run "$ISOLA" run --rm --network none $bad "$REG/t/bb:1" true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--label \`"* || "$output" == *"${bad%% *} \`"* ]]
	done
	run "$ISOLA" run --rm --network none $(for i in $(seq 257); do echo "-l k$i=v"; done) "$REG/t/bb:1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"at most 256 labels"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --cidfile: the id written once the container is made; refused if there, nothing left on failure" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# podman: the id without a newline, 0644, kept after --rm; an existing file is 125.
	run "$ISOLA" run --rm --cidfile "$TMP/cid" "$REG/t/bb:1" busybox true
	[ "$status" -eq 0 ]
	[ -n "$(cat "$TMP/cid")" ]
	[ "$(wc -l <"$TMP/cid")" -eq 0 ]
	[ "$(stat -c %a "$TMP/cid")" = 644 ]
	run "$ISOLA" run -d --name cf --cidfile "$TMP/cid2" "$REG/t/bb:1" busybox sleep 60
	[ "$status" -eq 0 ]
	[ "$(cat "$TMP/cid2")" = cf ]
	"$ISOLA" rm -f cf >/dev/null
	echo keep >"$TMP/there"
	ln -s "$TMP/target" "$TMP/link"
	for bad in "$TMP/cid" "$TMP/there" "$TMP/link" "" "$TMP/no/dir/cid" "/proc/self/fd/1"; do
		run "$ISOLA" run --rm --cidfile "$bad" "$REG/t/bb:1" busybox true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--cidfile \`${bad:0:20}"* ]]
	done
	[ "$(cat "$TMP/there")" = keep ]
	[ ! -e "$TMP/target" ]
	# A command not found (127) made nothing: no cidfile either.
	run -127 "$ISOLA" run --rm --cidfile "$TMP/cid3" "$REG/t/bb:1" no-such-command
	[ ! -e "$TMP/cid3" ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --group-add: a name from the image's /etc/group or a gid, as podman; bad ones in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	grp=$("$ISOLA" run --rm "$REG/t/bb:1" busybox sh -c 'sed -n 2p /etc/group')
	name=${grp%%:*}
	gid=$(echo "$grp" | cut -d: -f3)
	[ -n "$name" ]
	[ -n "$gid" ]
	# podman (runc) on the same flags: the image's gid for a name, a number as is, once each.
	run "$ISOLA" run --rm --group-add "$name" --group-add 1234 --group-add "$gid" \
		"$REG/t/bb:1" busybox sh -c 'grep ^Groups: /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tr -s ' \t' '\n' | grep -c -e "^$gid\$" -e '^1234$')" = 2 ]
	[ "$(echo "$output" | wc -w)" -eq 3 ]
	for bad in nosuch-group 4294967295 18446744073709551615 -1 "" "a:b" "../x" \
		"$(printf 'g%.0s' {1..65})"; do
		run "$ISOLA" run --rm --group-add "$bad" "$REG/t/bb:1" busybox true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--group-add \`${bad:0:20}"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "run --pid, --ipc, --uts host: the host's namespaces, no hostname set; private is the default" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	echo "shm-$$" >"/dev/shm/isola-it-$$"
	run "$ISOLA" run --rm --pid host --ipc host --uts host "$REG/t/bb:1" sh -c '
		for l in pid ipc uts; do busybox readlink /proc/self/ns/$l; done
		busybox hostname; cat /dev/shm/isola-it-'$$'; cat /proc/1/comm'
	rm -f "/dev/shm/isola-it-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(readlink /proc/self/ns/pid)" ]
	[ "${lines[1]}" = "$(readlink /proc/self/ns/ipc)" ]
	[ "${lines[2]}" = "$(readlink /proc/self/ns/uts)" ]
	[ "${lines[3]}" = "$(hostname)" ]
	# /dev/shm is the host's with its IPC namespace, as podman binds it; PID 1 the host's.
	[ "${lines[4]}" = "shm-$$" ]
	[ "${lines[5]}" = "$(cat /proc/1/comm)" ]
	# private, the default, spelt out: new ones, named after the container.
	run "$ISOLA" run --rm --name "it-ns-$$" --pid=private --ipc private --uts private \
		"$REG/t/bb:1" sh -c 'for l in pid ipc uts; do busybox readlink /proc/self/ns/$l; done
		echo $$; busybox hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/pid)" ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/ipc)" ]
	[ "${lines[2]}" != "$(readlink /proc/self/ns/uts)" ]
	[ "${lines[3]}" = 1 ]
	[ "${lines[4]}" = "it-ns-$$" ]
}

@test "run --pid, --ipc, --uts ns:PATH joins those namespaces; bad ones are one line, exit 125, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	unshare --pid --ipc --uts --fork sh -c "hostname ns-$$; exec sleep 100" &
	owner=$!
	for _ in $(seq 50); do p=$(pgrep -P "$owner" sleep) && break; sleep 0.1; done
	run "$ISOLA" run --rm --pid "ns:/proc/$p/ns/pid" --ipc "ns:/proc/$p/ns/ipc" \
		--uts "ns:/proc/$p/ns/uts" "$REG/t/bb:1" sh -c '
		for l in pid ipc uts; do busybox readlink /proc/self/ns/$l; done
		busybox hostname; cat /proc/1/comm'
	echo "$output"
	want="$(readlink "/proc/$p/ns/pid" "/proc/$p/ns/ipc" "/proc/$p/ns/uts")
ns-$$
sleep"
	kill "$owner" "$p" 2>/dev/null || true
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	for bad in "--pid bogus" "--pid container:other" "--ipc ns:relative" "--uts ns:/etc/passwd" \
		"--ipc ns:/proc/self/ns/uts" "--pid ns:/nonexistent" "--uts host --hostname h" \
		"--uts ns:/proc/self/ns/uts --hostname h" "--ipc host --shm-size 1m" \
		"--uts host --sysctl kernel.domainname=x" "--ipc host --sysctl kernel.shmmax=1" \
		"--vm --pid host" "--vm --uts ns:/proc/self/ns/uts" "--pid ns:$TMP/fifo" \
		"--network ns:$TMP/fifo" "--ipc ns:/dev/null" "--network ns:/proc/self/ns/ipc"; do
		# A FIFO is not opened for reading (it would block for good), nor a device.
		[ -p "$TMP/fifo" ] || mkfifo "$TMP/fifo"
		run timeout 60 "$ISOLA" run --rm $bad "$REG/t/bb:1" sh -c :
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		opt=${bad#--vm }
		[[ "$output" == *"${opt%% *}"* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	[ -z "$(ls "$ISOLA_STORE/run" 2>/dev/null)" ]
	img_refute_mounts "$ISOLA_STORE"
}

# The running target of container:NAME tests: its init's pid in $tpid.
ctr_target() {
	"$ISOLA" run -d --name "$1" "$REG/t/bb:1" busybox sleep 1000 >/dev/null
	tpid=$("$ISOLA" inspect "$1" | jq -r '.[0].pid')
	[ "$tpid" -gt 0 ]
}

@test "run --pid, --ipc, --uts, --network container:NAME joins a running container's namespaces" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	ctr_target "it-tg-$$"
	want="$(readlink "/proc/$tpid/ns/pid" "/proc/$tpid/ns/ipc" "/proc/$tpid/ns/uts" \
		"/proc/$tpid/ns/net")"
	run "$ISOLA" run --rm --name "it-j-$$" --pid "container:it-tg-$$" --ipc "container:it-tg-$$" \
		--uts "container:it-tg-$$" --network "container:it-tg-$$" "$REG/t/bb:1" sh -c '
		for l in pid ipc uts net; do busybox readlink /proc/self/ns/$l; done
		busybox hostname; busybox tr "\0" " " </proc/1/cmdline; echo
		cat /run/j 2>/dev/null; busybox awk "/^PPid:/ { print \$2 }" /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]:0:4}")" = "$want" ]
	# The target's name (its UTS namespace) and its init as PID 1 (its PID namespace).
	[ "${lines[4]}" = "it-tg-$$" ]
	[ "${lines[5]}" = "busybox sleep 1000 " ]
	# One of them at a time; the others stay the joiner's own.
	run "$ISOLA" run --rm --name "it-j-$$" --ipc="container:it-tg-$$" "$REG/t/bb:1" sh -c '
		for l in pid ipc uts net; do busybox readlink /proc/self/ns/$l; done; busybox hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink "/proc/$tpid/ns/pid")" ]
	[ "${lines[1]}" = "$(readlink "/proc/$tpid/ns/ipc")" ]
	[ "${lines[2]}" != "$(readlink "/proc/$tpid/ns/uts")" ]
	[ "${lines[3]}" != "$(readlink "/proc/$tpid/ns/net")" ]
	[ "${lines[4]}" = "it-j-$$" ]
	# config.json joins what isola opened and checked (an fd of the run), never the pid's
	# path, which another process may hold by the time the runtime opens it; image.json
	# records the target, for inspect and rm.
	"$ISOLA" run -d --name "it-j-$$" --pid "container:it-tg-$$" --uts "container:it-tg-$$" \
		"$REG/t/bb:1" busybox sleep 1000 >/dev/null
	run jq -r '.linux.namespaces[] | select(.path) | "\(.type) \(.path)"' \
		"$ISOLA_STORE/containers/it-j-$$/config.json"
	echo "$output"
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[0]}" =~ ^pid\ /proc/[0-9]+/fd/[0-9]+$ ]]
	[[ "${lines[1]}" =~ ^uts\ /proc/[0-9]+/fd/[0-9]+$ ]]
	[[ "$output" != *"/proc/$tpid/"* ]]
	[ "$("$ISOLA" inspect "it-j-$$" | jq -c '.[0].joined')" = \
		"{\"pid\":\"it-tg-$$\",\"uts\":\"it-tg-$$\"}" ]
	# Not its own PID namespace: stop signals all of it (as --pid host).
	[ "$(jq .stopAll "$ISOLA_STORE/containers/it-j-$$/image.json")" = true ]
	"$ISOLA" rm -f "it-j-$$" "it-tg-$$" >/dev/null
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "run container:NAME: unknown, stopped, itself, --vm and conflicting flags are one line, exit 125, nothing left" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	ctr_target "it-tg-$$"
	"$ISOLA" run --name "it-st-$$" "$REG/t/bb:1" sh -c :
	t="container:it-tg-$$"
	for bad in "--pid container:nope-$$" "--network container:nope-$$" "--ipc container:../x" \
		"--uts container:" "--network container:" "--ipc container:it-st-$$" \
		"--network container:it-st-$$" "--name it-tg-$$ --pid $t" \
		"--vm --pid $t" "--vm --network $t" "--network $t -p 8080:80" \
		"--network $t --dns 192.0.2.1" "--network $t --add-host a:192.0.2.1" \
		"--network $t --hostname h" "--network $t --network-alias a" \
		"--uts $t --hostname h" "--ipc $t --sysctl kernel.shmmax=1" "--ipc $t --shm-size 1m" \
		"--network $t --sysctl net.ipv4.ip_forward=1"; do
		run "$ISOLA" run --rm $bad "$REG/t/bb:1" sh -c :
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		# The message names the option at fault.
		opt=${bad#--vm }
		opt=${opt#--name it-tg-$$ }
		case $bad in
		*" -p "* | *--dns* | *--add-host* | *--hostname* | *--network-alias* | *--sysctl* | *--shm-size*)
			opt=${bad##*$t }
			;;
		esac
		[[ "$output" == *"${opt%% *}"* ]]
	done
	[[ "$("$ISOLA" run --rm --pid container:nope-$$ "$REG/t/bb:1" true 2>&1)" == *"no container \`nope-$$\`"* ]]
	[[ "$("$ISOLA" run --rm --ipc "container:it-st-$$" "$REG/t/bb:1" true 2>&1)" == *"not running"* ]]
	[[ "$("$ISOLA" run --rm --name "it-tg-$$" --pid "$t" "$REG/t/bb:1" true 2>&1)" == *"its own"* ]]
	# Only the two targets: no bundle, runtime state, mount or cgroup of a refused run.
	[ "$(ls "$ISOLA_STORE/containers")" = "it-st-$$
it-tg-$$" ]
	[ "$(ls "$ISOLA_STORE/run")" = "it-tg-$$" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 4 -name '*it-j*' 2>/dev/null)" ]
	"$ISOLA" rm -f "it-tg-$$" "it-st-$$" >/dev/null
	img_refute_mounts "$ISOLA_STORE"
}

@test "run container:NAME: the joiner outlives its target's stop, rm of the target is refused while it runs" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	ctr_target "it-tg-$$"
	ipc=$(readlink "/proc/$tpid/ns/ipc")
	"$ISOLA" run -d --name "it-j-$$" --ipc "container:it-tg-$$" --uts "container:it-tg-$$" \
		"$REG/t/bb:1" busybox sleep 1000 >/dev/null
	run "$ISOLA" stop -t 1 "it-tg-$$"
	[ "$status" -eq 0 ]
	# The joiner runs on, in the namespaces it joined.
	run "$ISOLA" exec "it-j-$$" busybox readlink /proc/self/ns/ipc
	[ "$status" -eq 0 ]
	[ "$output" = "$ipc" ]
	# podman refuses to remove a container that others depend on: so does rm, without -f.
	run "$ISOLA" rm "it-tg-$$"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"it-j-$$"*"joined its namespaces"* ]]
	[ -d "$ISOLA_STORE/containers/it-tg-$$" ]
	[ "$(jq -r .joinedInstance.ipc "$ISOLA_STORE/containers/it-j-$$/image.json")" = \
		"$(jq -r .instance "$ISOLA_STORE/containers/it-tg-$$/image.json")" ]
	run "$ISOLA" rm -f "it-tg-$$"
	[ "$status" -eq 0 ]
	run "$ISOLA" exec "it-j-$$" busybox readlink /proc/self/ns/ipc
	[ "$output" = "$ipc" ]
	# A new container given the removed target's name is not the one the joiner joined:
	# rm of it is not refused.
	ctr_target "it-tg-$$"
	"$ISOLA" stop -t 1 "it-tg-$$" >/dev/null
	run "$ISOLA" rm "it-tg-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[ ! -e "$ISOLA_STORE/containers/it-tg-$$" ]
	"$ISOLA" rm -f "it-j-$$" >/dev/null
	# --pid container:NAME: the target's init is PID 1 of the joiner's PID namespace, so
	# its end ends the joiner too (the kernel kills the namespace), as with podman.
	ctr_target "it-tg-$$"
	"$ISOLA" run -d --name "it-j-$$" --pid "container:it-tg-$$" "$REG/t/bb:1" \
		busybox sleep 1000 >/dev/null
	"$ISOLA" stop -t 1 "it-tg-$$" >/dev/null
	for _ in $(seq 50); do
		[ "$("$ISOLA" inspect "it-j-$$" | jq -r '.[0].status')" = stopped ] && break
		sleep 0.1
	done
	[ "$("$ISOLA" inspect "it-j-$$" | jq -r '.[0].status')" = stopped ]
}

@test "run --ipc container:NAME shares NAME's /dev/shm, and a /dev/shm NAME replaced is refused" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	ctr_target "it-tg-$$"
	"$ISOLA" exec "it-tg-$$" sh -c 'echo from-target >/dev/shm/t'
	# POSIX shared memory goes with the IPC namespace (podman binds NAME's /dev/shm).
	run "$ISOLA" run --rm --ipc "container:it-tg-$$" "$REG/t/bb:1" sh -c \
		'cat /dev/shm/t && echo from-joiner >/dev/shm/j'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = from-target ]
	[ "$("$ISOLA" exec "it-tg-$$" cat /dev/shm/j)" = from-joiner ]
	# --rm left no mount of it behind (the target's rootfs is the only one).
	refute grep -q " $ISOLA_STORE/containers/[^ ]*/shm " /proc/self/mountinfo
	[ "$(ls "$ISOLA_STORE/containers")" = "it-tg-$$" ]
	# A detached joiner keeps it after its target is gone; its rm unmounts it.
	"$ISOLA" run -d --name "it-j-$$" --ipc "container:it-tg-$$" "$REG/t/bb:1" \
		busybox sleep 1000 >/dev/null
	grep -q " $ISOLA_STORE/containers/it-j-$$/shm " /proc/self/mountinfo
	"$ISOLA" rm -f "it-tg-$$" >/dev/null
	[ "$("$ISOLA" exec "it-j-$$" cat /dev/shm/t)" = from-target ]
	"$ISOLA" rm -f "it-j-$$" >/dev/null
	img_refute_mounts "$ISOLA_STORE"
	# A target can make its /dev/shm anything (here a link to its /etc): the joiner is
	# refused in one line rather than given what the link names, and nothing is left.
	"$ISOLA" run -d --privileged --name "it-tg-$$" "$REG/t/bb:1" sh -c \
		'umount /dev/shm && rmdir /dev/shm && ln -s /etc /dev/shm && exec sleep 1000' \
		>/dev/null
	for _ in $(seq 50); do
		"$ISOLA" exec "it-tg-$$" busybox test -L /dev/shm && break
		sleep 0.1
	done
	run "$ISOLA" run --rm --name "it-j-$$" --ipc "container:it-tg-$$" "$REG/t/bb:1" sh -c :
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"--ipc container:it-tg-$$: its /dev/shm: a symbolic link"* ]]
	[ "$(ls "$ISOLA_STORE/containers")" = "it-tg-$$" ]
	"$ISOLA" rm -f "it-tg-$$" >/dev/null
	img_refute_mounts "$ISOLA_STORE"
}

@test "run --ipc container:NAME: the joiner's /dev/shm is never more than NAME's (read-only kept, NAME's later mounts not propagated)" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	# NAME's /dev/shm read-only (a remount of that mount only): the joiner's is too.
	"$ISOLA" run -d --privileged --name "it-tg-$$" "$REG/t/bb:1" sh -c \
		'echo ro-data >/dev/shm/f && mount -o remount,bind,ro /dev/shm && exec sleep 1000' >/dev/null
	for _ in $(seq 50); do
		"$ISOLA" exec "it-tg-$$" busybox grep -q " /dev/shm [^ ]* ro," /proc/self/mountinfo && break
		sleep 0.1
	done
	run "$ISOLA" run --rm --ipc "container:it-tg-$$" "$REG/t/bb:1" sh -c \
		'cat /dev/shm/f; echo x >/dev/shm/f && echo wrote; echo x >/dev/shm/g && echo made; cat /dev/shm/f'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ro-data ]
	[[ "$output" != *wrote* && "$output" != *made* ]]
	[ "${lines[-1]}" = ro-data ]
	"$ISOLA" rm -f "it-tg-$$" >/dev/null
	# NAME's /dev/shm made shared, and a tmpfs (exec, dev) mounted below it once joined: it
	# reaches neither the host's <bundle>/shm nor the joiner.
	"$ISOLA" run -d --privileged --name "it-tg-$$" "$REG/t/bb:1" sh -c '
		mount --make-shared /dev/shm
		while [ ! -e /dev/shm/go ]; do sleep 0.1; done
		mkdir /dev/shm/x && mount -t tmpfs -o exec,dev evil /dev/shm/x && touch /dev/shm/x/inside
		exec sleep 1000' >/dev/null
	"$ISOLA" run -d --name "it-j-$$" --ipc "container:it-tg-$$" "$REG/t/bb:1" \
		busybox sleep 1000 >/dev/null
	"$ISOLA" exec "it-j-$$" busybox touch /dev/shm/go
	for _ in $(seq 50); do
		"$ISOLA" exec "it-tg-$$" busybox test -e /dev/shm/x/inside && break
		sleep 0.1
	done
	"$ISOLA" exec "it-tg-$$" busybox test -e /dev/shm/x/inside
	refute grep -q " $ISOLA_STORE/containers/it-j-$$/shm/x " /proc/self/mountinfo
	run "$ISOLA" exec "it-j-$$" busybox test -e /dev/shm/x/inside
	[ "$status" -ne 0 ]
	# The joiner's /dev/shm: nosuid, nodev, noexec, as a tmpfs of its own would be.
	run "$ISOLA" exec "it-j-$$" busybox grep " /dev/shm " /proc/self/mountinfo
	echo "$output"
	[[ "$output" == *nosuid* && "$output" == *nodev* && "$output" == *noexec* ]]
	"$ISOLA" rm -f "it-j-$$" "it-tg-$$" >/dev/null
	img_refute_mounts "$ISOLA_STORE"
}

@test "run container:NAME: the runtime joins the namespace isola checked, not whatever holds the pid later" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	ctr_target "it-tg-$$"
	ipc=$(readlink "/proc/$tpid/ns/ipc")
	uts=$(readlink "/proc/$tpid/ns/uts")
	# A runtime that ends NAME's init after isola checked it, before it joins: the pid's
	# /proc/PID/ns is gone then (and could be another process's); the fd isola holds is not.
	cat >"$TMP/rt" <<-EOF
		#!/bin/sh
		if [ "\$3" = run ]; then
			kill -9 $tpid
			while readlink /proc/$tpid/ns/ipc >/dev/null 2>&1; do sleep 0.05; done
		fi
		exec "$ISOLA" "\$@"
	EOF
	chmod +x "$TMP/rt"
	run env ISOLA_RUNTIME="$TMP/rt" "$ISOLA" run --rm --ipc "container:it-tg-$$" \
		--uts "container:it-tg-$$" "$REG/t/bb:1" sh -c \
		'busybox readlink /proc/self/ns/ipc; busybox readlink /proc/self/ns/uts; busybox hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$ipc
$uts
it-tg-$$" ]
	[ ! -e "/proc/$tpid/ns/ipc" ]
}

@test "run --pid host: stop signals every process of the container, not only its init, as podman" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	mkdir "$TMP/out"
	# The shell is not PID 1: TERM kills it, and its child would outlive it.
	"$ISOLA" run -d --name "it-ph-$$" --pid host -v "$TMP/out:/out" "$REG/t/bb:1" sh -c \
		'busybox sleep 1000 & echo $! >/out/pid; busybox sleep 1001' >/dev/null
	for _ in $(seq 50); do [ -s "$TMP/out/pid" ] && break; sleep 0.1; done
	child=$(cat "$TMP/out/pid")
	[ -e "/proc/$child" ]
	# exec joins what the container has: the host's PID namespace.
	run "$ISOLA" exec "it-ph-$$" busybox readlink /proc/self/ns/pid
	[ "$status" -eq 0 ]
	[ "$output" = "$(readlink /proc/self/ns/pid)" ]
	run "$ISOLA" stop -t 5 "it-ph-$$"
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do [ -e "/proc/$child" ] || break; sleep 0.1; done
	[ ! -e "/proc/$child" ]
	"$ISOLA" rm "it-ph-$$" >/dev/null
	# An init that died alone leaves a stopped container whose child still runs:
	# stop ends that one too (it said the container was stopped and left it).
	rm "$TMP/out/pid"
	"$ISOLA" run -d --name "it-ph-$$" --pid host -v "$TMP/out:/out" "$REG/t/bb:1" sh -c \
		'busybox sleep 1000 & echo $! >/out/pid; exec busybox sleep 1001' >/dev/null
	for _ in $(seq 50); do [ -s "$TMP/out/pid" ] && break; sleep 0.1; done
	child=$(cat "$TMP/out/pid")
	kill -9 "$("$ISOLA" inspect "it-ph-$$" | jq -r '.[0].pid')"
	wait_until 5 '[ "$("$ISOLA" inspect "it-ph-$$" | jq -r ".[0].status")" != running ]'
	[ -e "/proc/$child" ]
	run "$ISOLA" stop -t 1 "it-ph-$$"
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do [ -e "/proc/$child" ] || break; sleep 0.1; done
	[ ! -e "/proc/$child" ]
	"$ISOLA" rm "it-ph-$$" >/dev/null
	# --init is then not PID 1 either: still the reaper of the command's orphans.
	run "$ISOLA" run --rm --init --pid host "$REG/t/bb:1" sh -c \
		'(busybox sleep 5 & echo $! >/tmp/o); busybox sleep 0.3
		busybox awk "/^PPid:/ { print \$2 }" /proc/$(cat /tmp/o)/status; echo $PPID'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "run --device DIR: its nodes at CTR/..., links, files and other mounts left out; bad ones in one line" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	d=$TMP/devs
	mkdir -p "$d/sub/deeper" "$d/mnt"
	mknod "$d/null" c 1 3
	mknod "$d/sub/zero" c 1 5
	mknod -m 640 "$d/sub/deeper/full" c 1 7
	ln -s /dev/full "$d/link"
	ln -s .. "$d/sub/loop"
	mkfifo "$d/fifo"
	echo x >"$d/file"
	mount -t tmpfs tmpfs "$d/mnt"
	mknod "$d/mnt/null" c 1 3
	run "$ISOLA" run --rm --device "$d:/dev/mine:rw" --device "$d" "$REG/t/bb:1" sh -c '
		busybox find /dev/mine | busybox sort
		busybox stat -c "%n %t:%T %a" /dev/mine/sub/deeper/full '"$d/sub/zero"'
		echo x >/dev/mine/null && echo wrote
		busybox head -c 2 /dev/mine/sub/zero | busybox od -An -tx1'
	umount "$d/mnt"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "/dev/mine
/dev/mine/null
/dev/mine/sub
/dev/mine/sub/deeper
/dev/mine/sub/deeper/full
/dev/mine/sub/zero
/dev/mine/sub/deeper/full 1:7 640
$d/sub/zero 1:5 644
wrote
 00 00" ]
	# Bad: empty, too many entries, too many nodes, too deep, /proc; one line each.
	mkdir "$TMP/empty" "$TMP/many" "$TMP/nodes"
	(cd "$TMP/many" && seq 17000 | xargs touch)
	# 511 nodes, one device rule each after the default deny, fill the runtime's 512.
	mkdir "$TMP/n511"
	for i in $(seq 511); do mknod "$TMP/n511/n$i" c 1 3; done
	run "$ISOLA" run --rm --device "$TMP/n511:/dev/n" "$REG/t/bb:1" sh -c 'ls /dev/n | wc -l'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 511 ]
	cp -a "$TMP/n511/." "$TMP/nodes"
	mknod "$TMP/nodes/n512" c 1 3
	deep=$TMP/deep
	for i in $(seq 20); do deep=$deep/d; done
	mkdir -p "$deep"
	mknod "$deep/null" c 1 3
	for bad in "$TMP/empty" "$TMP/many" "$TMP/nodes" "$TMP/deep" /proc/self/fd /proc/1/ns \
		"$d:/dev/x:rwx"; do
		run "$ISOLA" run --rm --device "$bad" "$REG/t/bb:1" true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"--device \`$bad\`: "* ]]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "run -w DIR the image lacks (the same path as an image WorkingDir): made, as podman does, also --read-only" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" run --rm --network none -w /srv/new/dir "$REG/t/bb:1" pwd
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = /srv/new/dir ]
	run "$ISOLA" run --rm --network none --read-only -w /srv/ro "$REG/t/bb:1" pwd
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = /srv/ro ]
}

@test "exec NAME exits as podman exec: the command's code, 127 not found, 126 not executable, 125 isola's error" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	"$ISOLA" run -d --network none --name "it-xc-$$" "$REG/t/bb:1" busybox sleep 100 >/dev/null
	run "$ISOLA" exec "it-xc-$$" sh -c 'exit 255'
	[ "$status" -eq 255 ]
	run "$ISOLA" exec "it-xc-$$" sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run -127 "$ISOLA" exec "it-xc-$$" no-such-command
	[[ "$output" == *"no-such-command"*"not found"* ]]
	run -126 "$ISOLA" exec "it-xc-$$" /etc
	run -125 "$ISOLA" exec --user 4294967295 "it-xc-$$" true
	echo "$output"
	# The runc form keeps runc's 255 for every failure of exec itself.
	run -255 "$ISOLA" --root "$ISOLA_STORE/run" exec "it-xc-$$" no-such-command
}

@test "volume create, ls, inspect, rm, prune: a volume a container uses (stopped too) stays; bad names refused" {
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	run "$ISOLA" volume create "it-v1-$$"
	[ "$status" -eq 0 ]
	[ "$output" = "it-v1-$$" ]
	run -125 "$ISOLA" volume create "it-v1-$$"
	[[ "$output" == *"already exists"* ]]
	for bad in ../x .x -x "a/b" "$(printf 'x%.0s' {1..33})"; do
		run "$ISOLA" volume create "$bad"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	[ "$(ls "$ISOLA_STORE/volumes")" = "it-v1-$$" ]
	# -v NAME makes one on first use; a stopped container still holds its volumes.
	"$ISOLA" run --network none --name "it-vc-$$" -v "it-v2-$$:/d" "$REG/t/bb:1" \
		sh -c 'echo kept >/d/f'
	run "$ISOLA" volume ls -q
	[ "$output" = "it-v1-$$"$'\n'"it-v2-$$" ]
	run "$ISOLA" volume inspect "it-v2-$$"
	[ "$(echo "$output" | jq -r '.[0].Mountpoint')" = "$ISOLA_STORE/volumes/it-v2-$$/_data" ]
	[ "$(cat "$ISOLA_STORE/volumes/it-v2-$$/_data/f")" = kept ]
	run -2 "$ISOLA" volume rm "it-v2-$$"
	[[ "$output" == *"it-vc-$$"* ]]
	run -1 "$ISOLA" volume rm "it-none-$$"
	run "$ISOLA" volume prune
	[ "$status" -eq 0 ]
	[ "$output" = "it-v1-$$" ]
	[ -d "$ISOLA_STORE/volumes/it-v2-$$/_data" ]
	"$ISOLA" rm "it-vc-$$" >/dev/null
	run "$ISOLA" volume rm "it-v2-$$"
	[ "$status" -eq 0 ]
	[ -z "$(ls "$ISOLA_STORE/volumes")" ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
	run "$ISOLA" volume ls --format json
	[ "$output" = "[]" ]
}

@test "volume create --label, ls and prune --filter label=, inspect's Labels; -o and bad labels refused, nothing made" {
	run "$ISOLA" volume create --label tier=db -l keep "it-vl1-$$"
	[ "$status" -eq 0 ]
	"$ISOLA" volume create -l tier=web "it-vl2-$$" >/dev/null
	"$ISOLA" volume create "it-vl3-$$" >/dev/null
	run "$ISOLA" volume inspect "it-vl1-$$"
	[ "$(echo "$output" | jq -c '.[0].Labels')" = '{"keep":"","tier":"db"}' ]
	run "$ISOLA" volume inspect "it-vl3-$$"
	[ "$(echo "$output" | jq -c '.[0].Labels')" = '{}' ]
	run "$ISOLA" volume ls -q --filter label=tier
	[ "$output" = "it-vl1-$$"$'\n'"it-vl2-$$" ]
	run "$ISOLA" volume ls -q --filter label=tier=db
	[ "$output" = "it-vl1-$$" ]
	run "$ISOLA" volume ls -q --filter label=tier --filter label=keep
	[ "$output" = "it-vl1-$$" ]
	run "$ISOLA" volume ls --format json --filter label=tier=web
	[ "$(echo "$output" | jq -r '.[].Name')" = "it-vl2-$$" ]
	# Bad input: one line, exit 125, no volume made.
	for bad in "-o type=tmpfs" "--label =x" "--label k=$(printf 'v%.0s' {1..4097})" \
		"--label $(printf 'k%.0s' {1..257})=v" "--filter label=x"; do
		# shellcheck disable=SC2086
		run -125 "$ISOLA" volume create $bad "it-vlbad-$$"
		[ "${#lines[@]}" -eq 1 ]
		[ ! -e "$ISOLA_STORE/volumes/it-vlbad-$$" ]
	done
	args=()
	for i in $(seq 65); do args+=(-l "k$i=v"); done
	run -125 "$ISOLA" volume create "${args[@]}" "it-vlbad-$$"
	[[ "$output" == *"more than 64 labels"* ]]
	[ ! -e "$ISOLA_STORE/volumes/it-vlbad-$$" ]
	run -125 "$ISOLA" volume ls --filter name=x
	[[ "$output" == *"expected label=KEY[=VALUE]"* ]]
	run -125 "$ISOLA" volume ls -l a=b
	# prune --filter takes only the matching unused volumes.
	run "$ISOLA" volume prune --filter label=tier=web
	[ "$output" = "it-vl2-$$" ]
	run "$ISOLA" volume ls -q
	[ "$output" = "it-vl1-$$"$'\n'"it-vl3-$$" ]
	"$ISOLA" volume rm "it-vl1-$$" "it-vl3-$$" >/dev/null
	[ -z "$(ls "$ISOLA_STORE/volumes")" ]
	[ -z "$(ls "$ISOLA_STORE/tmp")" ]
}
