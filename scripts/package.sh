#!/usr/bin/env bash
# Build the Debian package from the committed tree (git archive, so the
# working tree's build dirs stay out) into build-deb/: isola_*.deb, the
# .buildinfo/.changes, and lintian's verdict in build-deb/lintian.txt.
# Exits non-zero when the build fails or lintian reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build-deb
rm -rf --one-file-system "$out"
mkdir -p "$out/src"
git archive --format=tar HEAD | tar -C "$out/src" -x
# Uncommitted debian/ edits would be missed by git archive; say so rather than
# package something else than what is in the tree.
if ! git diff --quiet HEAD -- debian; then
	echo "package: debian/ has uncommitted changes; commit them first" >&2
	exit 1
fi
(cd "$out/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$out/build.log" 2>&1 || {
	tail -40 "$out/build.log"
	echo "package: dpkg-buildpackage failed (full log: $out/build.log)" >&2
	exit 1
}
rm -rf --one-file-system "$out/src"
deb=$(ls "$out"/isola_*.deb)
lintian --no-tag-display-limit "$deb" >"$out/lintian.txt" 2>&1 || true
cat "$out/lintian.txt"
if grep -q '^E: ' "$out/lintian.txt"; then
	echo "package: lintian reports errors" >&2
	exit 1
fi
echo "package: $deb"
