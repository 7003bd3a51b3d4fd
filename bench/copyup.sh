#!/usr/bin/env bash
# `run` of a busybox container with a tmpcopyup tmpfs over a directory of the
# image (what podman asks for with --tmpfs and --read-only): isola against
# runc, paired alternating runs (hyperfine), and each against the same
# container with notmpcopyup (the copy's own price).  FILES files of 4 KiB.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${ISOLA:-$top/build/src/cli/isola}
N=${N:-30}
FILES=${FILES:-1000}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
for c in runc hyperfine jq busybox; do
	command -v "$c" >/dev/null || { echo "SKIP: $c missing" >&2; exit 0; }
done

TMP=$(mktemp -d /tmp/isola-bench.XXXXXX)
trap 'rm -rf --one-file-system "$TMP"' EXIT
BATS_TEST_DIRNAME=$top/tests/integration
export ISOLA
source "$top/tests/integration/helpers.bash"
skip() { echo "$*" >&2; exit 0; }

# bundle DIR OPTS: the busybox bundle, /data holding FILES files, a tmpfs on it.
bundle() {
	make_busybox_bundle "$1" >/dev/null
	mkdir -p "$1/rootfs/data/sub"
	head -c 4096 /dev/urandom >"$TMP/blob"
	for ((i = 0; i < FILES; i++)); do cp "$TMP/blob" "$1/rootfs/data/sub/f$i"; done
	bundle_jq "$1" ".process.args = [\"true\"] | .linux.cgroupsPath = \"/isola-bench-$$\"
		| .mounts += [{\"destination\": \"/data\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",
		   \"options\": [\"nosuid\", \"nodev\"$2]}]"
}
bundle "$TMP/copy" ', "tmpcopyup"'
bundle "$TMP/nocopy" "" # (runc 1.1 passes notmpcopyup to the kernel, which refuses it)

hyperfine -N -w 3 -r "$N" --export-json "$TMP/h.json" \
	-n isola-copyup "$ISOLA --root $TMP/ir run -b $TMP/copy bench-c-$$" \
	-n runc-copyup "runc --root $TMP/rr run -b $TMP/copy bench-r-$$" \
	-n isola-nocopy "$ISOLA --root $TMP/ir run -b $TMP/nocopy bench-n-$$" \
	-n runc-nocopy "runc --root $TMP/rr run -b $TMP/nocopy bench-m-$$" >&2
jq -r --argjson files "$FILES" '
	[.results[] | {(.command): (.median * 1000)}] | add as $m
	| "tmpcopyup of \($files) files of 4 KiB, medians (ms):",
	  "  isola \($m["isola-copyup"] | floor * 1) (without the copy \($m["isola-nocopy"] | floor))",
	  "  runc  \($m["runc-copyup"] | floor) (without the copy \($m["runc-nocopy"] | floor))",
	  "  ratio isola / runc: with the copy \($m["isola-copyup"] / $m["runc-copyup"] * 100 | floor / 100),"
	  + " without \($m["isola-nocopy"] / $m["runc-nocopy"] * 100 | floor / 100)",
	  "  the copy itself: isola +\($m["isola-copyup"] - $m["isola-nocopy"] | floor) ms,"
	  + " runc +\($m["runc-copyup"] - $m["runc-nocopy"] | floor) ms"' "$TMP/h.json"
