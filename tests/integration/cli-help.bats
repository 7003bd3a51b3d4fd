#!/usr/bin/env bats
# Help for every command from its option table, the parser's rules
# (getopt_long: clusters, no prefixes), error text naming the right option,
# and `meson install` laying out the binary, man pages and completion.

load helpers

commands() {
	"$ISOLA" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'
}

@test "every command answers --help and -h with its usage, exit 0" {
	n=0
	for c in $(commands); do
		run "$ISOLA" "$c" --help
		[ "$status" -eq 0 ] || { echo "$c --help: $output"; false; }
		[[ "$output" == *"Usage: isola $c"* ]] || { echo "$c: $output"; false; }
		run "$ISOLA" "$c" -h
		[ "$status" -eq 0 ]
		run "$ISOLA" help "$c"
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: isola $c"* ]]
		n=$((n + 1))
	done
	[ "$n" -ge 20 ]
}

@test "help lists every option with a description" {
	run "$ISOLA" create --help
	[ "$status" -eq 0 ]
	for o in --bundle -b --pid-file --console-socket --no-pivot --no-new-keyring --preserve-fds; do
		[[ "$output" == *" $o"* ]] || { echo "missing $o"; false; }
	done
	run "$ISOLA" exec --help
	[[ "$output" == *"-t, --tty "*"give the process a terminal"* ]]
	run "$ISOLA" update --help
	[[ "$output" == *"--memory SIZE"* ]]
	[[ "$output" == *"--pids-limit N"* ]]
}

@test "run --help shows both forms: runc's run ID and run IMAGE with its podman options" {
	run "$ISOLA" run --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: isola run [options] ID"* ]]
	[[ "$output" == *"isola run [options] IMAGE [COMMAND [ARG...]]"* ]]
	for o in --bundle --pid-file --console-socket --keep -i --interactive -t --tty -d --detach \
		-e --env -p --publish -v --volume -w --workdir -u --user --name --entrypoint --rm \
		--pull --init --restart --network --dns --add-host --hostname --store --device \
		--privileged --mount --shm-size -l --label --stop-signal --stop-timeout --cidfile --group-add \
		--pid --ipc --uts --log-opt; do
		[[ "$output" == *" $o"* ]] || { echo "missing $o"; false; }
	done
	[ "$(echo "$output" | grep -c -- '--help')" -eq 1 ]
	# `isola run IMAGE --help`, `isola image run --help` and `help run` print the same
	run "$ISOLA" run -it --help
	[[ "$output" == *"--entrypoint CMD"* ]]
	run "$ISOLA" help run
	[[ "$output" == *"--publish"* && "$output" == *"--bundle"* ]]
	# man page and completion come from the same tables
	d=$BATS_TEST_TMPDIR/man
	mkdir -p "$d"
	"$ISOLA" __doc man "$d"
	grep -q -- '\\-\\-entrypoint' "$d/isola-run.8"
	grep -q -- '\\-\\-bundle' "$d/isola-run.8"
	grep -q 'IMAGE \[COMMAND' "$d/isola-run.8"
	"$ISOLA" __doc bash >"$d/comp"
	run bash -c "source '$d/comp'; COMP_WORDS=(isola run --ent); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = --entrypoint ]
	run bash -c "source '$d/comp'; COMP_WORDS=(isola run --det); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = --detach ]
	run bash -c "source '$d/comp'; COMP_WORDS=(isola run --de); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = "--detach --device" ]
	run bash -c "source '$d/comp'; COMP_WORDS=(isola run --mo); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = --mount ]
	grep -q -- '\\-\\-mount' "$d/isola-run.8"
}

@test "image SUBCOMMAND --help lists that subcommand's options from its table" {
	run "$ISOLA" image --help
	[ "$status" -eq 0 ]
	subs=$(echo "$output" | sed -n "/^Subcommands/,\$p" | awk "NR > 1 { print \$1 }")
	[ "$(echo "$subs" | wc -l)" -ge 14 ]
	for s in $subs; do
		run "$ISOLA" image "$s" --help
		[ "$status" -eq 0 ] || { echo "image $s: $output"; false; }
		[[ "${lines[0]}" == "Usage: isola image $s "* ]] || { echo "image $s: $output"; false; }
		[[ "$output" == *"-h, --help"* ]]
		run "$ISOLA" image "$s" -h
		[ "$status" -eq 0 ]
	done
	run "$ISOLA" image save --help
	[[ "$output" == *"-o, --output FILE"* && "$output" == *"--format FORMAT"* ]]
	run "$ISOLA" image prune --help
	[[ "$output" == *"--store DIR"* ]]
	run "$ISOLA" image run --help
	[[ "$output" == *"--entrypoint CMD"* && "$output" != *"--bundle"* ]]
	run "$ISOLA" image ls --bogus
	[ "$status" -ne 0 ]
	[[ "$output" == *"see \`isola image ls --help\`"* ]]
}

@test "vm SUBCOMMAND --help lists that subcommand's options from its table" {
	run "$ISOLA" vm --help
	[ "$status" -eq 0 ]
	subs=$(echo "$output" | sed -n "/^Subcommands/,\$p" | awk "NR > 1 { print \$1 }")
	[ "$(echo "$subs" | wc -l)" -ge 11 ]
	for s in $subs; do
		run "$ISOLA" vm "$s" --help
		[ "$status" -eq 0 ] || { echo "vm $s: $output"; false; }
		[[ "${lines[0]}" == "Usage: isola vm $s"* ]] || { echo "vm $s: $output"; false; }
		[[ "$output" == *"-h, --help"* ]]
		run "$ISOLA" vm "$s" -h
		[ "$status" -eq 0 ]
	done
	run "$ISOLA" vm run --help
	for o in --kernel --initrd --cmdline --cpus --memory --console --disk --net --vsock --rng \
		--balloon --config --snapshot-state --api-sock --id; do
		[[ "$output" == *" $o"* ]] || { echo "missing $o"; false; }
	done
	run "$ISOLA" vm restore --help
	[[ "$output" == *"--disk-remap OLD=NEW"* ]]
	run "$ISOLA" vm snapshot --help
	[[ "$output" == *"--state FILE"* && "$output" == *"--mem FILE"* ]]
	run "$ISOLA" vm migrate --help
	[[ "$output" == *"--to tcp:HOST:PORT|unix:PATH"* ]]
	run "$ISOLA" vm update --help
	[[ "$output" == *"--balloon MIB"* ]]
	run "$ISOLA" vm ls --bogus
	[ "$status" -ne 0 ]
	[[ "$output" == *"see \`isola vm ls --help\`"* ]]
	# options after the VM still work where they did (getopt permutes)
	run "$ISOLA" vm update "nosuch-$$" --bogus
	[[ "$output" == *"unknown option \`--bogus\`"* ]]

	# man pages (isola-vm-run(8), isola-image-save(8)) and completion from the same tables
	d=$BATS_TEST_TMPDIR/man
	mkdir -p "$d"
	"$ISOLA" __doc man "$d"
	grep -q -- '\\-\\-kernel' "$d/isola-vm-run.8"
	grep -q -- '\\-\\-format' "$d/isola-image-save.8"
	grep -q 'isola\\-vm\\-run\|isola-vm-run' "$d/isola-vm.8"
	"$ISOLA" __doc bash >"$d/comp"
	run bash -c "source '$d/comp'; COMP_WORDS=(isola vm run --ker); COMP_CWORD=3; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = "--kernel --kernel-unpack" ]
	run bash -c "source '$d/comp'; COMP_WORDS=(isola image sa); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[ "$output" = save ]
}

@test "network SUBCOMMAND --help, help vm run; a subcommand name is not a command" {
	for s in create ls list rm remove prune; do
		run "$ISOLA" network "$s" --help
		[ "$status" -eq 0 ] || { echo "network $s: $output"; false; }
		[[ "${lines[0]}" == "Usage: isola network "* ]]
		[[ "$output" == *"--store DIR"* ]]
	done
	run "$ISOLA" network create --help
	[[ "$output" == *"--subnet CIDR"* && "$output" == *"--interface-name BRIDGE"* ]]
	run "$ISOLA" network --help
	[[ "$output" == *"prune"* ]]
	run "$ISOLA" help vm run
	[ "$status" -eq 0 ]
	[[ "$output" == *"--kernel FILE"* ]]
	run "$ISOLA" help image save
	[[ "$output" == *"--output FILE"* ]]
	run "$ISOLA" "network ls"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown command"* ]]
}

@test "options: short clusters work, prefixes of long options do not" {
	run "$ISOLA" --root "$BATS_TEST_TMPDIR/r" exec -it nosuch-$$ true
	[ "$status" -ne 0 ]
	[[ "$output" != *"unknown option"* ]]
	[[ "$output" == *"nosuch-$$"* ]]
	run "$ISOLA" create --bundl x y
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown option \`--bundl\`; see \`isola create --help\`"* ]]
	run "$ISOLA" --ro x list
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown option"* ]]
	run "$ISOLA" create -b
	[ "$status" -ne 0 ]
	[[ "$output" == *"option -b needs a value"* ]]
	run "$ISOLA" start --help-me x
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown option"* ]]
}

@test "options: --flag=true is the flag, --flag=false is not, any other value is refused" {
	D=$BATS_TEST_TMPDIR
	mkdir "$D/t" "$D/f" "$D/x"
	run "$ISOLA" spec --rootless=true -b "$D/t"
	[ "$status" -eq 0 ]
	grep -q '"type": *"user"' "$D/t/config.json"
	run "$ISOLA" spec --rootless=false -b "$D/f"
	[ "$status" -eq 0 ]
	refute grep -q '"type": *"user"' "$D/f/config.json"
	run "$ISOLA" spec --rootless=yes -b "$D/x"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"option --rootless takes true or false, not \`yes\`"* ]]
	[ ! -e "$D/x/config.json" ]
}

@test "update names the option with the bad value" {
	run "$ISOLA" --root "$BATS_TEST_TMPDIR/r" update --memory 64X x
	[ "$status" -ne 0 ]
	[[ "$output" == *"--memory \`64X\`"* ]]
	[[ "$output" != *limit* ]]
	run "$ISOLA" --root "$BATS_TEST_TMPDIR/r" update --pids-limit many x
	[ "$status" -ne 0 ]
	[[ "$output" == *"--pids-limit \`many\`"* ]]
}

@test "meson install puts the binary, man pages and bash completion in place" {
	require_cmd meson
	[ -f "$ISOLA_TOP/build/build.ninja" ] || skip "SKIP: no meson build dir at $ISOLA_TOP/build"
	d=$BATS_TEST_TMPDIR/dest
	run env DESTDIR="$d" meson install -C "$ISOLA_TOP/build" --no-rebuild
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	bin=$(find "$d" -path '*/bin/isola' -type f)
	[ -x "$bin" ]
	man8=$(dirname "$(find "$d" -name isola.8)")
	[ -f "$man8/isola.8" ]
	for c in $(commands); do
		[ -f "$man8/isola-$c.8" ] || { echo "no isola-$c.8"; false; }
	done
	grep -q -- '\\-\\-bundle' "$man8/isola-create.8"
	if command -v man >/dev/null; then
		run man -l "$man8/isola-create.8"
		[ "$status" -eq 0 ]
		[[ "$output" == *"create a container"* ]]
	fi
	comp=$(find "$d" -path '*/bash-completion/completions/isola')
	bash -n "$comp"
	run bash -c "source '$comp'; COMP_WORDS=(isola create --b); COMP_CWORD=2; _isola; echo \${COMPREPLY[*]}"
	[[ "$output" == *--bundle* ]]
	run bash -c "source '$comp'; COMP_WORDS=(isola --root /x st); COMP_CWORD=3; _isola; echo \${COMPREPLY[*]}"
	[[ "$output" == *start* ]]
	[[ "$output" == *state* ]]
	rm -rf --one-file-system "$d"
}

@test "update: a memory limit below the usage says so, errno text once" {
	[ -d /sys/fs/cgroup/memory ] || skip "SKIP: no cgroup v1 memory hierarchy (v2 reclaims or OOM-kills instead)"
	isola_tmp
	make_busybox_bundle "$TMP/b"
	id=isola-it-help-$$
	bundle_jq "$TMP/b" '.process.args = ["sh", "-c",
		"dd if=/dev/zero of=/dev/shm/x bs=1M count=20 2>/dev/null; touch /dev/shm/done; sleep 100"]
		| .linux.resources = {"memory": {"limit": 104857600}}'
	"$ISOLA" --root "$TMP/r" run -d -b "$TMP/b" "$id" >/dev/null 2>&1 3>&-
	for i in $(seq 100); do
		"$ISOLA" --root "$TMP/r" exec "$id" test -f /dev/shm/done && break
		sleep 0.1
	done
	run "$ISOLA" --root "$TMP/r" update --memory 1M "$id"
	"$ISOLA" --root "$TMP/r" delete --force "$id"
	isola_cleanup_tmp
	[ "$status" -ne 0 ]
	[[ "$output" == *"1048576 bytes is below the "*" bytes in use"* ]]
	[[ "$output" != *"busy: Device or resource busy"* ]]
}
