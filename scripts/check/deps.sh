#!/usr/bin/env bash
# The deps lists stay true: every external command that the tests and
# benchmarks call (tests/**/*.{bats,bash,sh}, bench/*.sh, scripts/*.sh) must
# come from a Debian package listed in scripts/deps/*.txt, or from an
# Essential or Priority: required package (present on every Debian system,
# even a minimal container image), so that a fresh machine that ran
# scripts/install-deps.sh passes.  Run by scripts/test.sh.
#
# Commands are found by reading the shell sources: the first word of each
# command (after |, &&, ||, ;, $( and wrappers such as run, timeout, nice,
# env, exec), plus every argument of require_cmd and `command -v`.  Heredoc
# bodies, comments and shell functions are ignored; a word counts only when
# it is an executable in the system PATH (builtins and keywords are not;
# /usr/local and ~ are not searched: a fresh machine has nothing there), so
# the package is known exactly: `dpkg -S` on its path.  A require_cmd or
# `command -v` argument that is not installed at all is an error too.
#
# Packages a test needs without calling them by name are in the `implied`
# table below (pattern in the sources -> package), e.g. podman's pod infra
# container runs catatonit.  Commands of isola's own build are in `ours`.
# The scripts that run inside the L1 test bed's VMs (tests/l1/l1-*.sh,
# l2-*.sh) have busybox (busybox-static) as their userland: there a busybox
# applet needs no package of its own.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# pattern (ERE, grepped in the sources) -> package it needs.
implied=(
	' pod create | --pod ' catatonit
	'podman ' golang-github-containers-common
	'qemu-system-x86_64 .*-M microvm' qemu-system-x86
	'import grpc' python3-grpcio
	'google\.protobuf' python3-protobuf
	'^import websocket' python3-websocket
)
# Names that are not external commands although PATH may have them here.
ours='isola|isola-guest|bats'
# Commands that Debian provides through alternatives: command -> package.
declare -A via=([cc]=gcc [c++]=g++)
inside='^tests/l1/l[12]-[A-Za-z0-9-]*\.sh$'
applets=$(busybox --list 2>/dev/null)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mapfile -t srcs < <(git ls-files 'tests/*.bats' 'tests/*.bash' 'tests/*.sh' 'bench/*.sh' \
	'scripts/*.sh' | grep -v '^scripts/check/deps.sh$')
deps_dir=${DEPS_DIR:-scripts/deps} # a test points this at edited lists
mapfile -t listed < <(cat "$deps_dir"/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)

# words: "FILE WORD explicit|pos" per candidate command.
words=$(perl -ne '
	BEGIN { $wrap = qr/^(?:run|timeout|nice|exec|env|nohup|setsid|sudo|command|time|then|do|else|!|\{|\(|if|while|until)$/ }
	if (defined $tag) { $tag = undef if /^\s*\Q$tag\E\s*$/; next }
	$tag = $1 if /<<-?\s*["\x27]?([A-Za-z_]\w*)["\x27]?/;
	next if /^\s*#/ || /^\s*\@test /;
	s/\s#\s.*$//;
	while (/\b(?:require_cmd|command -v)\s+([A-Za-z][\w.+-]*)(?![\w.+\$-])/g) { print "$ARGV $1 explicit\n" }
	for my $seg (split /\|\||&&|[|;`]|\$\(|\bthen\b|\bdo\b|\belse\b/) {
		my @w = split " ", $seg;
		while (@w) {
			my $x = $w[0];
			if ($x =~ /^[A-Za-z_]\w*=/ || $x =~ $wrap || $x =~ /^-/ || $x =~ /^\d+[smh]?$/) { shift @w; next }
			last;
		}
		print "$ARGV $w[0] pos\n" if @w && $w[0] =~ /^[A-Za-z][\w.+-]*$/;
	}
	close ARGV if eof;
' "${srcs[@]}" | sort -u)
funcs=$(grep -ohE '^\s*(function\s+)?[A-Za-z_][A-Za-z0-9_-]*\(\)' "${srcs[@]}" |
	sed -E 's/^\s*(function\s+)?//; s/\(\)$//' | sort -u)

bad=0
declare -A where path
while read -r file word kind; do
	[[ $word =~ ^($ours)$ ]] && continue
	[[ $file =~ $inside ]] && grep -qxF -- "$word" <<<"$applets" && continue
	grep -qxF -- "$word" <<<"$funcs" && continue
	t=$(type -t -- "$word" 2>/dev/null)
	case $t in
	builtin | keyword | function | alias) continue ;;
	file) path[$word]=$(type -P -- "$word") ;;
	*)
		if [ "$kind" = explicit ] && [ -z "${where[$word]:-}" ]; then
			echo "deps: '$word' ($file) is not installed: list its package in scripts/deps/*.txt"
			bad=1
		fi
		;;
	esac
	where[$word]=${where[$word]:-$file}
done <<<"$words"

# ok: the listed packages, what they depend on (installed with them), and
# every Essential or Priority: required package.
declare -A ok
for p in "${listed[@]}"; do ok[$p]=1; done
while read -r p; do ok[$p]=1; done < <(
	dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' "${listed[@]}" 2>/dev/null |
		tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/:[a-z0-9]+//; s/^ *//; s/ *$//' | sed '/^$/d'
	dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
		awk '$2 == "yes" || $3 == "required" { print $1 }'
)
is_listed() { # $1 = package
	# Not grep -q in a pipe: under pipefail, printf's SIGPIPE when grep stops
	# early made a listed package look unlisted now and then.
	grep -xF -- "$1" <<<"$(printf '%s\n' "${listed[@]}")" >/dev/null
}

# One dpkg -S for every path (usrmerge: dpkg may know a file under /bin or
# /usr/bin, as the link or as its target).
declare -A owner
cands=()
for word in "${!path[@]}"; do
	for c in "${path[$word]}" "$(readlink -f "${path[$word]}")"; do
		cands+=("$c")
		case $c in
		/usr/*) cands+=("${c#/usr}") ;;
		*) cands+=("/usr$c") ;;
		esac
	done
done
while IFS= read -r line; do
	f=${line##*: } pk=${line%: *}
	owner[$f]="${owner[$f]:-} ${pk//,/}"
done < <(dpkg -S "${cands[@]}" 2>/dev/null | grep -v '^diversion')

n=0
for word in "${!path[@]}"; do
	p=${path[$word]}
	n=$((n + 1))
	if [ -n "${via[$word]:-}" ]; then
		is_listed "${via[$word]}" && continue
		echo "deps: '$word' (used in ${where[$word]}) needs package ${via[$word]}, which no scripts/deps/*.txt lists"
		bad=1
		continue
	fi
	r=$(readlink -f "$p")
	pkgs="${owner[$p]:-} ${owner[$r]:-} ${owner[/usr$p]:-} ${owner[${p#/usr}]:-}"
	pkgs="$pkgs ${owner[/usr$r]:-} ${owner[${r#/usr}]:-}"
	pkgs=$(tr ' ' '\n' <<<"$pkgs" | sed 's/:.*//; /^$/d' | sort -u | tr '\n' ' ')
	if [ -z "${pkgs// /}" ]; then
		echo "deps: '$word' (used in ${where[$word]}) is $p, which no Debian package installed; use a packaged command"
		bad=1
		continue
	fi
	good=0
	for pkg in $pkgs; do
		[ -n "${ok[$pkg]:-}" ] && good=1
	done
	if [ $good -eq 0 ]; then
		echo "deps: '$word' (used in ${where[$word]}) comes from package ${pkgs% }, which no scripts/deps/*.txt lists"
		bad=1
	fi
done

for ((i = 0; i < ${#implied[@]}; i += 2)); do
	pat=${implied[i]} pkg=${implied[i + 1]}
	f=$(grep -lE -- "$pat" "${srcs[@]}" | head -1)
	if [ -n "$f" ] && ! is_listed "$pkg"; then
		echo "deps: $f needs package $pkg (pattern '$pat'), which no scripts/deps/*.txt lists"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "deps: ${n} external commands in ${#srcs[@]} test/bench/script files all come from listed or Essential packages"
exit $bad
