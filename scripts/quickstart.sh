#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, then run a
# container from the embedded default image and a micro-VM with our own guest.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root" >&2; exit 1; }

scripts/install-deps.sh
scripts/build.sh >/dev/null
isola=$top/build/src/cli/isola
"$isola" --version

work=$(mktemp -d /tmp/isola-quickstart.XXXXXX)
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT

echo "== a container from the default image (built from the host's busybox-static)"
scripts/make-default-image.sh --store "$work/store" --isola "$isola" >/dev/null
"$isola" run --store "$work/store" --rm localhost/isola-default:latest \
	sh -c 'echo "hello from an isola container: $(hostname), pid $$"'

echo "== a micro-VM with our hello guest"
if [ -r /dev/kvm ]; then
	"$isola" vm run --kernel "$top/build/guest/hello.elf" --memory 16M --cpus 1
else
	echo "SKIP: /dev/kvm is not available"
fi
