#!/usr/bin/env bash
# Build the default image from the host's busybox-static and import it into
# the store as localhost/isola-default:latest (what `isola run` uses by default).
#
#   scripts/make-default-image.sh [--store DIR] [--isola BIN] [--output LAYOUT_DIR]
#
# The image: /bin/busybox plus its applet symlinks (busybox --install -s),
# /etc/passwd and /etc/group with root and nobody, /tmp, ENV PATH, CMD /bin/sh.
set -euo pipefail

store=${ISOLA_STORE:-}
isola=${ISOLA:-$(cd "$(dirname "$0")/.." && pwd)/build/src/cli/isola}
out=
while [ $# -gt 0 ]; do
	case $1 in
	--store) store=$2; shift 2 ;;
	--isola) isola=$2; shift 2 ;;
	--output) out=$2; shift 2 ;;
	*) echo "usage: $0 [--store DIR] [--isola BIN] [--output LAYOUT_DIR]" >&2; exit 2 ;;
	esac
done
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
	bb=/bin/busybox
fi
[ -x "$bb" ] || { echo "$0: busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d /tmp/isola-default-image.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$bb" "$root/bin/busybox"
# Applet links, made by busybox itself, relative so they resolve in the image.
for applet in $("$root/bin/busybox" --list-full); do
	[ -e "$root/$applet" ] && continue
	depth=$(echo "$applet" | tr -cd / | wc -c)
	rel=$(printf '../%.0s' $(seq "$depth"))
	ln -s "${rel}bin/busybox" "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"

layout=${out:-$work/layout}
mkdir -p "$layout/blobs/sha256"
blob() { # file -> prints digest hex, moves the file into the layout
	local h
	h=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$layout/blobs/sha256/$h"
	echo "$h"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
layer_size=$(stat -c %s "$work/layer.tar.gz")
layer=$(blob "$work/layer.tar.gz")
cat >"$work/config.json" <<EOC
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/make-default-image.sh"}]}
EOC
config_size=$(stat -c %s "$work/config.json")
config=$(blob "$work/config.json")
cat >"$work/manifest.json" <<EOM
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$config_size},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$layer_size}]}
EOM
manifest_size=$(stat -c %s "$work/manifest.json")
manifest=$(blob "$work/manifest.json")
cat >"$layout/index.json" <<EOI
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "digest":"sha256:$manifest","size":$manifest_size,
 "annotations":{"org.opencontainers.image.ref.name":"localhost/isola-default:latest"}}]}
EOI
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

"$isola" image import ${store:+--store "$store"} "$layout" localhost/isola-default:latest
