#!/usr/bin/env bats
# isola image run: bundles from images, executed by the OCI runtime: isola's own,
# or the one named by $ISOLA_IMAGE_RUNTIME (e.g. runc, to check the bundles alone).
load image-helpers

setup_file() { img_setup_file; }
teardown_file() { img_teardown_file; }

setup() {
	img_setup
	if [ -n "${ISOLA_IMAGE_RUNTIME:-}" ]; then
		require_cmd "$ISOLA_IMAGE_RUNTIME"
		export ISOLA_RUNTIME=$ISOLA_IMAGE_RUNTIME
	else
		unset ISOLA_RUNTIME
	fi
	RT=${ISOLA_RUNTIME:-$ISOLA}
	TMP=$TMP img_busybox t/bb:1
	"$ISOLA" pull -q "$REG/t/bb:1" >/dev/null
	if [[ "$BATS_TEST_DESCRIPTION" == *4294967295* ]]; then
		img_make t/evil:1 d:bin F:bin/busybox:/bin/busybox l:bin/id:busybox d:etc \
			"f:etc/passwd:evil:x:4294967295:0::/:/bin/sh
evil2:x:0:4294967295::/:/bin/sh
app:x:1234:4321::/:/bin/sh
"
		"$ISOLA" pull -q "$REG/t/evil:1" >/dev/null
		IMG_USER=4294967295 img_make t/evil-user:1 d:bin F:bin/busybox:/bin/busybox \
			l:bin/id:busybox
		"$ISOLA" pull -q "$REG/t/evil-user:1" >/dev/null
	fi
}

teardown() {
	for id in isola-it-bg isola-it-bg2; do
		"$RT" --root "$ISOLA_STORE/run" delete --force "$id" >/dev/null 2>&1 || true
	done
	for c in "$ISOLA_STORE"/containers/*/; do
		[ -d "$c" ] && umount "$c/rootfs" 2>/dev/null
	done
	isola_cleanup_tmp
}

@test "image run: command, env, workdir, user by name, exit code" {
	run "$ISOLA" image run --rm -e FOO=bar -w /etc -u app "$REG/t/bb:1" \
		sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) $PATH"; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = "bar /etc 1234:4321 /bin:/usr/bin" ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "image run: a numeric -u takes its group from the image's passwd (0 when not there)" {
	# app is 1234:4321 in t/bb's passwd; podman and docker give a listed uid its group.
	run "$ISOLA" image run --rm -u 1234 "$REG/t/bb:1" sh -c 'echo $(id -u):$(id -g)'
	[ "$status" -eq 0 ]
	[ "$output" = "1234:4321" ]
	run "$ISOLA" image run --rm -u 4242 "$REG/t/bb:1" sh -c 'echo $(id -u):$(id -g)'
	[ "$output" = "4242:0" ]
	run "$ISOLA" image run --rm -u 1234:50 "$REG/t/bb:1" sh -c 'echo $(id -u):$(id -g)'
	[ "$output" = "1234:50" ]
	# Supplementary groups: t/bb's /etc/group lists app in staff (50), by name or uid.
	for u in app 1234; do
		run "$ISOLA" image run --rm -u $u "$REG/t/bb:1" sh -c 'id -G'
		[ "$status" -eq 0 ]
		[ "$output" = "4321 50" ]
	done
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "image run: the image's Cmd is the default command" {
	run "$ISOLA" image run --rm "$REG/t/bb:1" </dev/null
	[ "$status" -eq 0 ]
}

@test "image run: -v bind mounts, :ro is read-only, --read-only root" {
	mkdir -p "$TMP/vol"
	echo data >"$TMP/vol/f"
	run "$ISOLA" image run --rm -v "$TMP/vol:/mnt:ro" "$REG/t/bb:1" sh -c 'cat /mnt/f; touch /mnt/g'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = data ]
	[ ! -e "$TMP/vol/g" ]
	run "$ISOLA" image run --rm -v "$TMP/vol:/mnt" "$REG/t/bb:1" touch /mnt/g
	[ "$status" -eq 0 ]
	[ -e "$TMP/vol/g" ]
	run "$ISOLA" image run --rm --read-only "$REG/t/bb:1" touch /x
	[ "$status" -ne 0 ]
}

@test "image run: writes go to the container's upper dir, never to the shared layer" {
	run "$ISOLA" image run --name isola-it-w1 "$REG/t/bb:1" sh -c 'echo mine >/etc/hostname2'
	[ "$status" -eq 0 ]
	[ "$(cat "$ISOLA_STORE/containers/isola-it-w1/upper/etc/hostname2")" = mine ]
	[ ! -e "$ISOLA_STORE/layers/$(ls "$ISOLA_STORE/layers")/etc/hostname2" ]
	# prune keeps the layers a container uses, even with the image gone.
	"$ISOLA" rmi "$REG/t/bb:1"
	[ -n "$(ls "$ISOLA_STORE/layers")" ]
}

@test "image run: a second container from the same image costs no layer disk" {
	run "$ISOLA" image run --name isola-it-d1 "$REG/t/bb:1" sh -c :
	[ "$status" -eq 0 ]
	before=$(du -skx "$ISOLA_STORE" | cut -f1)
	run "$ISOLA" image run --name isola-it-d2 "$REG/t/bb:1" sh -c :
	[ "$status" -eq 0 ]
	after=$(du -skx "$ISOLA_STORE" | cut -f1)
	layer_kb=$(du -sk "$ISOLA_STORE/layers" | cut -f1)
	echo "store ${before}K -> ${after}K, layers ${layer_kb}K" >&3
	# A copy of the layers would add ~${layer_kb}K; a container adds a few K.
	[ $((after - before)) -lt 64 ]
	[ "$layer_kb" -gt 500 ]
}

@test "image run: bad options fail clearly and leave nothing" {
	run "$ISOLA" image run --rm -v nocolon "$REG/t/bb:1" sh -c :
	[ "$status" -ne 0 ]
	[[ "$output" == *"-v \`nocolon\`"* ]]
	run "$ISOLA" image run --rm -u nosuchuser "$REG/t/bb:1" sh -c :
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchuser"* ]]
	run "$ISOLA" image run --rm "$REG/t/none:1" sh -c :
	[ "$status" -ne 0 ]
	[[ "$output" == *"not found"* ]]
	run "$ISOLA" image run --network nosuchnet "$REG/t/bb:1" sh -c :
	[ "$status" -ne 0 ]
	# A name over 64 was cut to 64, and so was another container's.
	run "$ISOLA" image run --rm --network none --name "$(printf 'a%.0s' $(seq 65))" \
		"$REG/t/bb:1" true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"at most 64"* ]]
	run "$ISOLA" image run --rm --network none --name ../x "$REG/t/bb:1" true
	[ "$status" -ne 0 ]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

# (uid_t)-1 is "unchanged" to setresuid(2): accepting it would run as root.
@test "image run: uid/gid 4294967295 from -u, the image's User or its passwd is refused" {
	for u in 4294967295 0:4294967295 evil evil2 app:4294967295; do
		run "$ISOLA" image run --rm -u "$u" "$REG/t/evil:1" id -u
		echo "$u: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"4294967294"* ]]
	done
	run "$ISOLA" run --rm -u 4294967295 "$REG/t/evil:1" id -u
	[ "$status" -ne 0 ]
	# The image's own config.User.
	run "$ISOLA" image run --rm "$REG/t/evil-user:1" id -u
	echo "config.User: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"4294967294"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	img_refute_mounts "$ISOLA_STORE"
}

@test "run -d IMAGE, then the top-level ps, logs, stop, rm" {
	run "$ISOLA" run -d --name isola-it-bg "$REG/t/bb:1" sh -c 'echo started; exec sleep 600'
	[ "$status" -eq 0 ]
	[ "$output" = isola-it-bg ]
	for _ in $(seq 50); do grep -q started "$ISOLA_STORE/containers/isola-it-bg/ctr.log" && break; sleep 0.1; done
	run "$ISOLA" ps --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; c=json.load(sys.stdin)[0]; print(c["id"], c["status"])')" = "isola-it-bg running" ]
	run "$ISOLA" logs isola-it-bg
	[ "$output" = started ]
	run "$ISOLA" rm isola-it-bg
	[ "$status" -ne 0 ]
	[[ "$output" == *"is running"* ]]
	run "$ISOLA" stop -t 5 isola-it-bg
	[ "$status" -eq 0 ]
	run "$ISOLA" ps -a
	[ "$status" -eq 0 ]
	[[ "$output" == *"isola-it-bg"*stopped* ]]
	run "$ISOLA" rm isola-it-bg
	[ "$status" -eq 0 ]
	[ ! -e "$ISOLA_STORE/containers/isola-it-bg" ]
	img_refute_mounts "$ISOLA_STORE"
	run "$ISOLA" ps
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "CONTAINER ID"* ]]
}

@test "run -d --rm IMAGE: the container is removed when its process exits, and stop removes it too" {
	run "$ISOLA" run -d --rm --name isola-it-bgrm "$REG/t/bb:1" sh -c 'busybox sleep 1'
	[ "$status" -eq 0 ]
	[ "$output" = isola-it-bgrm ]
	for _ in $(seq 100); do [ -e "$ISOLA_STORE/containers/isola-it-bgrm" ] || break; sleep 0.1; done
	[ ! -e "$ISOLA_STORE/containers/isola-it-bgrm" ]
	[ -z "$(ls "$ISOLA_STORE/run")" ]
	img_refute_mounts "$ISOLA_STORE"
	# Stopped by hand: removed as well.
	"$ISOLA" run -d --rm --name isola-it-bgrm "$REG/t/bb:1" busybox sleep 600 >/dev/null
	"$ISOLA" stop -t 1 isola-it-bgrm >/dev/null
	for _ in $(seq 100); do [ -e "$ISOLA_STORE/containers/isola-it-bgrm" ] || break; sleep 0.1; done
	[ ! -e "$ISOLA_STORE/containers/isola-it-bgrm" ]
	# A container given the name after the first was removed by hand is not the
	# remover's to remove.
	"$ISOLA" run -d --rm --name isola-it-bgrm "$REG/t/bb:1" busybox sleep 600 >/dev/null
	"$ISOLA" rm -f isola-it-bgrm >/dev/null
	"$ISOLA" run -d --name isola-it-bgrm "$REG/t/bb:1" busybox sleep 600 >/dev/null
	sleep 0.5
	[ "$("$ISOLA" inspect isola-it-bgrm | jq -r '.[0].status')" = running ]
	# The remover's rm -f comes too late (it checked the name before the new run): it is
	# told the instance it was made for, and leaves another alone.
	inst=$(jq -r .instance "$ISOLA_STORE/containers/isola-it-bgrm/image.json")
	[ ${#inst} -eq 32 ]
	ISOLA_RM_IF_INSTANCE=0123456789abcdef0123456789abcdef "$ISOLA" rm -f isola-it-bgrm
	[ "$("$ISOLA" inspect isola-it-bgrm | jq -r '.[0].status')" = running ]
	[ -d "$ISOLA_STORE/containers/isola-it-bgrm" ]
	ISOLA_RM_IF_INSTANCE=$inst "$ISOLA" rm -f isola-it-bgrm >/dev/null
	[ ! -e "$ISOLA_STORE/containers/isola-it-bgrm" ]
	img_refute_mounts "$ISOLA_STORE"
	[ -z "$(pgrep -f "rm -f --store $(realpath "$ISOLA_STORE") isola-it-bgrm")" ]
}

@test "stop, rm, logs, inspect of a name not in the store: podman's exit codes, the store named; rm -f is quiet" {
	run "$ISOLA" stop isola-it-none
	[ "$status" -eq 125 ]
	[[ "$output" == *"no container \`isola-it-none\` in the store $ISOLA_STORE"* ]]
	run "$ISOLA" rm isola-it-none
	[ "$status" -eq 1 ]
	[[ "$output" == *"no container \`isola-it-none\`"* ]]
	run "$ISOLA" rm -f isola-it-none ../x .
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$ISOLA" logs isola-it-none
	[ "$status" -eq 125 ]
	[[ "$output" == *"no such container in the store $ISOLA_STORE"* ]]
	run "$ISOLA" inspect isola-it-none
	[ "$status" -eq 125 ]
	run "$ISOLA" inspect isola-it-none isola-it-none2
	[ "$status" -eq 125 ]
	# One missing among others: the others are done, the exit code says one was not.
	"$ISOLA" run -d --network none --name isola-it-bg "$REG/t/bb:1" sh -c "exec sleep 600" >/dev/null
	run "$ISOLA" stop -t 1 isola-it-none isola-it-bg
	[ "$status" -eq 125 ]
	[[ "$output" == *isola-it-bg* ]]
	run "$ISOLA" rm isola-it-bg isola-it-none
	[ "$status" -eq 1 ]
	[ ! -e "$ISOLA_STORE/containers/isola-it-bg" ]
}

@test "stop: a PID 1 that ignores TERM is killed at -t's timeout; one that exits on TERM is not waited for" {
	"$ISOLA" run -d --network none --name isola-it-bg "$REG/t/bb:1" sh -c "exec sleep 600" >/dev/null
	"$ISOLA" run -d --network none --name isola-it-bg2 "$REG/t/bb:1" \
		sh -c 'trap "echo got-term; exit 3" TERM; echo up; while :; do sleep 0.1; done'
	for _ in $(seq 50); do grep -q up "$ISOLA_STORE/containers/isola-it-bg2/ctr.log" && break; sleep 0.1; done
	run "$ISOLA" stop -t 1 isola-it-bg
	[ "$status" -eq 0 ]
	run "$ISOLA" inspect isola-it-bg
	[[ "$output" == *'"status": "stopped"'* ]]
	run "$ISOLA" stop -t 600 isola-it-bg2
	[ "$status" -eq 0 ]
	run "$ISOLA" logs isola-it-bg2
	[[ "$output" == *got-term* ]]
	"$ISOLA" rm isola-it-bg isola-it-bg2 >/dev/null
}

@test "image ps, logs, stop are the same commands under image" {
	run "$ISOLA" image run -d --name isola-it-bg "$REG/t/bb:1" sh -c 'echo hello; exec sleep 600'
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do grep -q hello "$ISOLA_STORE/containers/isola-it-bg/ctr.log" && break; sleep 0.1; done
	run "$ISOLA" image ps
	[[ "$output" == *"isola-it-bg"*running* ]]
	run "$ISOLA" image logs isola-it-bg
	[ "$output" = hello ]
	run "$ISOLA" image stop -t 0 isola-it-bg
	[ "$status" -eq 0 ]
	run "$ISOLA" image ps --format bogus
	[ "$status" -ne 0 ]
	[[ "$output" == *"--format"* ]]
}

@test "image rm -f removes a running container" {
	run "$ISOLA" image run -d --name isola-it-bg2 "$REG/t/bb:1" sh -c 'exec sleep 600'
	[ "$status" -eq 0 ]
	run "$ISOLA" image rm -f isola-it-bg2
	[ "$status" -eq 0 ]
	[ ! -e "$ISOLA_STORE/containers/isola-it-bg2" ]
	run "$RT" --root "$ISOLA_STORE/run" state isola-it-bg2
	[ "$status" -ne 0 ]
}

@test "image run: an image with more layers than one mount(2) page holds" {
	d=$TMP/many
	mkdir -p "$d"
	img_tar "$d/base.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/cat:busybox
	tars=("$d/base.tar")
	for i in $(seq 70); do
		img_tar "$d/$i.tar" "f:layer:$i" "f:only$i:$i"
		tars+=("$d/$i.tar")
	done
	img_layout "$d/layout" latest amd64 "${tars[@]}" >/dev/null
	img_push "$d/layout" latest t/many:1
	"$ISOLA" pull -q "$REG/t/many:1" >/dev/null
	[ "$(ls "$ISOLA_STORE/layers" | wc -l)" -ge 71 ]
	run "$ISOLA" image run --rm "$REG/t/many:1" sh -c 'cat /layer /only1 /only70'
	[ "$status" -eq 0 ]
	[ "$output" = 70170 ]
}

@test "image run: resource options reach config.json" {
	run "$ISOLA" image run --name isola-it-res --memory 64M --cpus 0.5 --pids-limit 32 \
		--network host -u 1234 "$REG/t/bb:1" sh -c :
	[ "$status" -eq 0 ]
	python3 - "$ISOLA_STORE/containers/isola-it-res/config.json" <<-'EOP'
	import json, sys
	c = json.load(open(sys.argv[1]))
	r = c["linux"]["resources"]
	assert r["memory"]["limit"] == 64 << 20, r
	assert r["cpu"]["quota"] == 50000 and r["cpu"]["period"] == 100000, r
	assert r["pids"]["limit"] == 32, r
	assert "network" not in [n["type"] for n in c["linux"]["namespaces"]]
	assert c["process"]["user"] == {"uid": 1234, "gid": 4321, "additionalGids": [50]}, \
		c["process"]["user"]
	assert c["process"]["args"] == ["sh", "-c", ":"]
	EOP
	run "$ISOLA" image run --rm --memory lots "$REG/t/bb:1" sh -c :
	[ "$status" -ne 0 ]
	[[ "$output" == *"--memory"* ]]
}
