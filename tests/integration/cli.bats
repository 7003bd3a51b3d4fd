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
