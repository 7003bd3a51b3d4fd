#!/usr/bin/env bats
# `isola run` serves runc's form (run [--bundle B] ID) and the image form
# (run [options] IMAGE [CMD...]); see src/cli/cmd-run-dispatch.c.

load helpers

setup() {
	isola_tmp
	export ISOLA_NETWORK=none # the image form's bridge network is net.bats' business
}

teardown() {
	isola_cleanup_tmp
}

make_store() {
	"$ISOLA_TOP/scripts/make-default-image.sh" --store "$TMP/store" --isola "$ISOLA" >/dev/null
}

@test "run IMAGE CMD runs the image through the store" {
	make_store
	run "$ISOLA" run --store "$TMP/store" --rm localhost/isola-default:latest echo via-plain-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"via-plain-run"* ]]
}

@test "run with an image-only option picks the image form" {
	make_store
	run "$ISOLA" run --store="$TMP/store" --rm -e GREETING=hi localhost/isola-default:latest \
		sh -c 'echo $GREETING'
	[ "$status" -eq 0 ]
	[[ "$output" == *"hi"* ]]
}

@test "run --bundle B ID stays runc's run" {
	make_busybox_bundle "$TMP/bundle"
	bundle_jq "$TMP/bundle" '.process.args = ["sh", "-c", "exit 3"]'
	run "$ISOLA" --root "$TMP/root" run --bundle "$TMP/bundle" isola-it-dispatch
	[ "$status" -eq 3 ]
}

@test "run NAME: runc's form with ./config.json, else an image; the error names store and registry" {
	cd "$TMP"
	echo 'unqualified-search-registries = ["127.0.0.1:1"]' >"$TMP/registries.conf"
	export ISOLA_REGISTRIES_CONF=$TMP/registries.conf
	run "$ISOLA" run --store "$TMP/store" isola-it-nobundle
	[ "$status" -eq 125 ]
	[[ "$output" == *"image \`isola-it-nobundle\` not found in the store $TMP/store; pulling it from 127.0.0.1:1 failed"* ]]
	run "$ISOLA" run --store "$TMP/store" --pull never isola-it-nobundle
	[ "$status" -eq 125 ]
	[[ "$output" == *"pull it with 'isola pull isola-it-nobundle' or use --pull always"* ]]
	echo '{}' >"$TMP/config.json"
	run "$ISOLA" --root "$TMP/root" run isola-it-nobundle
	[ "$status" -ne 0 ]
	[[ "$output" != *"image"* ]]
}

@test "run -i picks the image form; --bundle keeps runc's" {
	make_store
	run "$ISOLA" run --store "$TMP/store" -i --rm localhost/isola-default:latest echo yes
	[ "$status" -eq 0 ]
	[[ "$output" == *yes* ]]
	run "$ISOLA" --root "$TMP/root" run --bundle "$TMP/none" isola-it-x
	[ "$status" -ne 0 ]
	[[ "$output" != *"not found in the store"* ]]
}

@test "ps ID stays runc's ps; ps without an ID lists image containers" {
	run "$ISOLA" --root "$TMP/root" ps isola-it-nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"isola-it-nosuch"* ]]
	[[ "$output" != *"CONTAINER ID"* ]]
	run "$ISOLA" --root "$TMP/root" ps --format json isola-it-nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"isola-it-nosuch"* ]]
	run "$ISOLA" ps --store "$TMP/store" --format json
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ]
	run "$ISOLA" ps --store "$TMP/store" extra args
	[ "$status" -ne 0 ]
}

@test "run --init / -m NAME pick the image form even with ./config.json (from the option tables)" {
	cd "$TMP"
	echo '{}' >"$TMP/config.json"
	echo 'unqualified-search-registries = ["127.0.0.1:1"]' >"$TMP/registries.conf"
	export ISOLA_REGISTRIES_CONF=$TMP/registries.conf ISOLA_STORE=$TMP/store
	for o in --init "-m 64m" "--hostname h"; do
		# shellcheck disable=SC2086
		run "$ISOLA" run $o isola-it-notthere
		[ "$status" -eq 125 ] || { echo "$o: $output"; false; }
		[[ "$output" == *"not found in the store $TMP/store"* ]]
	done
	run "$ISOLA" --root "$TMP/root" run -d isola-it-notthere
	[ "$status" -ne 0 ]
	[[ "$output" != *"not found in the store"* ]]
}
