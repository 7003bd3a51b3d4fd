#!/usr/bin/env bash
# Pull + unpack benchmark: isola pull vs skopeo copy + umoci unpack, from a
# private docker-registry on 127.0.0.1.  Prints the median of N runs and ratios.
#
#   bench/image.sh [RUNS]       (ISOLA=path/to/isola to pick the binary)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
ISOLA=${ISOLA:-$top/build/src/cli/isola}
for c in docker-registry skopeo umoci python3; do
	command -v $c >/dev/null || { echo "bench: $c not installed" >&2; exit 1; }
done
work=$(mktemp -d /tmp/isola-bench-image.XXXXXX)
cleanup() {
	[ -f "$work/registry.pid" ] && kill "$(cat "$work/registry.pid")" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
export TMP=$work BATS_TEST_DIRNAME=$top/tests/integration
skip() { echo "bench: $*" >&2; exit 1; }
# shellcheck source=../tests/integration/image-helpers.bash
load() { source "$top/tests/integration/$1.bash"; }
load image-helpers
img_registry_start "$work" >/dev/null

# The image: 3 layers, ~60 MiB unpacked: many small text files, binaries, random data.
python3 - "$work" <<'EOP'
import io, os, random, sys, tarfile
w = sys.argv[1]
random.seed(1)
def tar(path, files):
    with tarfile.open(path, "w") as t:
        for name, data in files:
            i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; i.mtime = 1700000000
            t.addfile(i, io.BytesIO(data))
words = [bytes(random.choice(b"abcdefghij ") for _ in range(8)) for _ in range(500)]
text = lambda n: b" ".join(random.choice(words) for _ in range(n // 9))
tar(w + "/l1.tar", [(f"usr/share/doc/f{i}", text(random.randint(200, 8000))) for i in range(4000)])
tar(w + "/l2.tar", [(f"usr/bin/b{i}", open("/bin/busybox", "rb").read()) for i in range(10)])
tar(w + "/l3.tar", [(f"data/r{i}", os.urandom(4 << 20)) for i in range(5)])
EOP
img_layout "$work/layout" latest amd64 "$work/l1.tar" "$work/l2.tar" "$work/l3.tar" >/dev/null
img_push "$work/layout" latest bench/img:1
size=$(du -sm "$work/layout/blobs" | cut -f1)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
t_isola=() t_peer=()
for i in $(seq "$runs"); do
	rm -rf --one-file-system "$work/store" "$work/oci" "$work/bundle"
	sync
	s=$(now); "$ISOLA" pull -q --store "$work/store" "$REG/bench/img:1" >/dev/null; e=$(now)
	t_isola+=("$(echo "$e - $s" | bc)")
	sync
	s=$(now)
	skopeo copy -q --src-tls-verify=false "docker://$REG/bench/img:1" "oci:$work/oci:latest"
	umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
	e=$(now)
	t_peer+=("$(echo "$e - $s" | bc)")
done
ti=$(printf '%s\n' "${t_isola[@]}" | median)
tp=$(printf '%s\n' "${t_peer[@]}" | median)
printf 'image: 3 layers, %s MiB compressed; median of %s runs\n' "$size" "$runs"
printf '%-36s %8.3f s\n' "isola pull (fetch + verify + unpack)" "$ti" \
	"skopeo copy + umoci unpack" "$tp"
printf 'ratio isola / (skopeo+umoci): %.2f\n' "$(echo "$ti / $tp" | bc -l)"
