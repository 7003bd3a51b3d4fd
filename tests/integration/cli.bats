#!/usr/bin/env bats
# The command line itself: version, help, unknown commands.

load helpers

@test "--version prints the isola and OCI spec versions" {
	run "$ISOLA" --version
	[ "$status" -eq 0 ]
	[[ "$output" == *"isola version"* ]]
	[[ "$output" == *"spec: 1.1.0"* ]]
}

@test "an unknown command fails with one clear line" {
	run "$ISOLA" frobnicate
	[ "$status" -ne 0 ]
	[[ "$output" == *"frobnicate: unknown command"* ]]
}

@test "--log-format rejects unknown formats" {
	run "$ISOLA" --log-format yaml list
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected text or json"* ]]
}

@test "--log: text in a message cannot start a record of its own; JSON keeps the text" {
	local dir="$BATS_TEST_TMPDIR" forged
	forged="$(printf 'a\n2026-01-01T00:00:00.000000000Z error forged\033[2J\n')"
	run "$ISOLA" --log "$dir/text.log" pull "$forged"
	[ "$status" -ne 0 ]
	# On stderr and in the text log, the message's newline continues it after a tab.
	[[ "$output" == *$'`a\n\t2026-01-01T00:00:00.000000000Z error forged\\x1b[2J'* ]]
	[ "$(grep -c '^20' "$dir/text.log")" = 1 ]
	grep -q $'^\t2026-01-01T00:00:00.000000000Z error forged\\\\x1b\\[2J' "$dir/text.log"
	run "$ISOLA" --log "$dir/json.log" --log-format json pull "$forged"
	[ "$status" -ne 0 ]
	[ "$(wc -l <"$dir/json.log")" = 1 ]
	python3 -c 'import json, sys
m = json.loads(open(sys.argv[1]).read())["msg"]
assert "a\n2026-01-01T00:00:00.000000000Z error forged\x1b[2J" in m, m' "$dir/json.log"
	# Only ASCII in the JSON log: C1 controls (CSI is U+009B) go as \u escapes.
	run "$ISOLA" --log "$dir/c1.log" --log-format json pull "$(printf 'a\302\233b')"
	[ "$status" -ne 0 ]
	grep -q 'a\\u009Bb' "$dir/c1.log"
	refute env LC_ALL=C grep -q $'\302' "$dir/c1.log"
}
