#!/usr/bin/env bash
# Pull + unpack benchmark, from a private docker-registry on 127.0.0.1: isola pull
# against skopeo copy + umoci unpack and against podman pull (overlay storage), in
# the same run, on two images:
#   debian  - Debian bookworm minbase from debootstrap, 2 layers (whiteouts in layer 2)
#   synth   - 3 layers: 4000 small text files, 10 copies of busybox, 20 MiB random
# Prints the median of RUNS for each and the ratios.
#
#   bench/image.sh [RUNS] [IMAGES...]   (ISOLA=path/to/isola picks the binary)
#
# PEER_TOPDIR=1 marks the work directory `chattr +T`, so that the peers' target
# directories get the same ext4 Orlov placement that isola gives its layers
# (docs/performance-image.md explains why that matters on this host).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
shift || true
images=${*:-debian synth}
ISOLA=${ISOLA:-$top/build/src/cli/isola}
for c in docker-registry skopeo umoci python3 podman bc; do
	command -v $c >/dev/null || { echo "bench: $c not installed" >&2; exit 1; }
done
work=$(mktemp -d /tmp/isola-bench-image.XXXXXX)
pm() {
	podman --root "$work/pm/root" --runroot "$work/pm/run" --storage-driver overlay \
		--cgroup-manager cgroupfs --events-backend file "$@"
}
cleanup() {
	[ -f "$work/registry.pid" ] && kill "$(cat "$work/registry.pid")" 2>/dev/null
	[ -d "$work/pm" ] && pm system reset -f >/dev/null 2>&1
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
[ "${PEER_TOPDIR:-}" = 1 ] && chattr +T "$work"
export TMP=$work BATS_TEST_DIRNAME=$top/tests/integration
skip() { echo "bench: $*" >&2; exit 1; }
# shellcheck source=../tests/integration/image-helpers.bash
load() { source "$top/tests/integration/$1.bash"; }
load image-helpers
# shellcheck source=lib.sh
. "$top/bench/lib.sh"
img_registry_start "$work" >/dev/null

make_synth() {
	python3 - "$work" <<-'EOP'
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
	img_layout "$work/synth/layout" latest amd64 "$work/l1.tar" "$work/l2.tar" "$work/l3.tar" >/dev/null
	rm -f "$work"/l?.tar
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
timed() { local s e; s=$(now); "$@" >/dev/null; e=$(now); echo "$e - $s" | bc; }

peer() {
	skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$work/oci:latest"
	umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
}

bench_one() {
	local name=$1 ref=$REG/bench/$1:1 t_isola=() t_peer=() t_pm=() ti tp tm
	img_push "$work/$name/layout" latest "bench/$name:1"
	for _ in $(seq "$runs"); do
		rm -rf --one-file-system "$work/store" "$work/oci" "$work/bundle"
		[ -d "$work/pm" ] && pm system reset -f >/dev/null 2>&1
		sync
		t_isola+=("$(timed "$ISOLA" pull -q --store "$work/store" "$ref")")
		sync
		t_peer+=("$(timed peer "$ref")")
		sync
		t_pm+=("$(timed pm pull -q --tls-verify=false "$ref")")
	done
	bench_record image "pull + unpack, $name" s isola "${t_isola[@]}"
	bench_record image "pull + unpack, $name" s skopeo+umoci "${t_peer[@]}"
	bench_record image "pull + unpack, $name" s podman "${t_pm[@]}"
	ti=$(printf '%s\n' "${t_isola[@]}" | median)
	tp=$(printf '%s\n' "${t_peer[@]}" | median)
	tm=$(printf '%s\n' "${t_pm[@]}" | median)
	printf '%s: %s MiB compressed, %s MiB unpacked; median of %s runs\n' "$name" \
		"$(du -sm "$work/$name/layout/blobs" | cut -f1)" "$(du -smx "$work/store/layers" | cut -f1)" "$runs"
	printf '  %-36s %8.3f s\n' "isola pull (fetch + verify + unpack)" "$ti" \
		"skopeo copy + umoci unpack" "$tp" "podman pull (overlay)" "$tm"
	printf '  ratio isola / (skopeo+umoci): %.2f   isola / podman pull: %.2f\n' \
		"$(echo "$ti / $tp" | bc -l)" "$(echo "$ti / $tm" | bc -l)"
}

for name in $images; do
	case $name in
	debian) IMG_PATH=PATH=/usr/sbin:/usr/bin:/sbin:/bin img_debian_layout "$work/debian" >/dev/null ;;
	synth) make_synth ;;
	*) echo "bench: unknown image $name" >&2; exit 1 ;;
	esac
	bench_one "$name"
done
