#!/usr/bin/env bash
# Static analysis: GCC's -fanalyzer over everything that goes into the isola
# binary (src/lib, src/container, src/vmm, src/image, src/cli).  Run by
# scripts/test.sh; about 2 minutes on 2 cores.  Any warning fails, except:
#
# 1. The __attribute__((cleanup)) false positive (filtered by rule).
#    GCC 12's analyzer reports -Wanalyzer-use-of-uninitialized-value inside
#    the cleanup helpers of src/lib/cleanup.h (`free(*(void **)p)`) for
#    variables that are initialised at their declaration, e.g.
#    `_cleanup_free_ char *avail = NULL;` in cgroup-v2.c: it loses the
#    initialiser when the cleanup call runs on an early-return path.  Every
#    such warning is dropped.  What the rule could hide, a cleanup variable
#    that really is uninitialised, is checked here instead: each declarator
#    of a `_cleanup_*_` declaration in src/ must have an initialiser.
#
# 2. Reviewed false positives, one per line in scripts/check/analyzer-known.txt
#    as `file|warning|‘variable’`, each with the reason it is wrong (mostly:
#    the analyzer does not know that err_make() always returns a negative
#    errno, so it follows "error" paths that carry on as if they succeeded,
#    and it loses ownership that moved into a struct or an array).  Entries
#    carry no line numbers, so edits elsewhere in a file do not break them;
#    an entry that no longer matches anything is reported, not fatal.
#
# ANALYZER_BUILD (default build-analyzer) is configured afresh on each run,
# since ninja would not recompile (and re-warn about) unchanged files.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bdir=${ANALYZER_BUILD:-build-analyzer}
known=scripts/check/analyzer-known.txt
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bad=0

# Rule 1's safety net: every _cleanup_ declarator is initialised.
uninit=$(git grep -nE '^\s*_cleanup_[a-z_]+_\s' -- 'src/*.c' 'src/*.h' | perl -ne '
	my ($loc, $code) = /^([^:]+:\d+):(.*)$/;
	1 while $code =~ s/\([^()]*\)/_P_/;
	1 while $code =~ s/\{[^{}]*\}/_B_/;
	$code =~ s/^\s*_cleanup_\w+_\s+(?:(?:const|struct|enum|unsigned|signed|long|short)\s+)*\w+\s*//;
	$code =~ s/;.*$//;
	for my $d (split /,/, $code) {
		print "$loc: `$d` has no initialiser\n" if $d =~ /^\s*\**\s*\w+(\[\w*\])?\s*$/;
	}')
if [ -n "$uninit" ]; then
	echo "analyzer: _cleanup_ variables must be initialised where declared:"
	echo "$uninit"
	bad=1
fi

rm -rf --one-file-system "$bdir"
if ! CC=gcc meson setup "$bdir" -Dc_args=-fanalyzer >"$log" 2>&1; then
	cat "$log"
	exit 1
fi
targets=$(ninja -C "$bdir" -t targets all | grep -oE '^src/[^:]+\.a:|^src/cli/isola:' | tr -d :)
# shellcheck disable=SC2086
if ! nice ninja -C "$bdir" -k 0 $targets >"$log" 2>&1; then
	grep -E 'error|FAILED' "$log" | head -20
	echo "analyzer: the -fanalyzer build failed"
	exit 1
fi

# file|warning|‘first quoted name’ for each warning (GCC quotes with U+2018/9).
# shellcheck disable=SC1112
found=$(sed -nE 's/^\.\.\/(src\/[^:]+):[0-9]+:[0-9]+: warning: (.*) \[(-W[^]]+)\]$/\1|\3|\2/p' "$log" |
	perl -ne 'chomp; my ($f, $w, $m) = split /\|/, $_, 3; my ($q) = $m =~ /(‘[^’]*’)/;
		print "$f|$w|", ($q // ""), "\n"' | sort -u)
mapfile -t allowed < <(sed 's/[[:space:]]*#.*//; /^$/d' "$known")
n=0
while IFS= read -r w; do
	[ -n "$w" ] || continue
	n=$((n + 1))
	case $w in
	src/lib/cleanup.h\|-Wanalyzer-use-of-uninitialized-value\|*) continue ;; # rule 1
	esac
	if printf '%s\n' "${allowed[@]}" | grep -qxF -- "$w"; then
		continue
	fi
	loc=${w%%|*}
	echo "analyzer: new warning in $loc: $w"
	grep -E "^\.\./$loc:[0-9]+:[0-9]+: warning:" "$log" | head -3 | sed 's/^/    /'
	bad=1
done <<<"$found"
for a in "${allowed[@]}"; do
	grep -qxF -- "$a" <<<"$found" || echo "analyzer: note: $known entry no longer matches: $a"
done
if [ $bad -ne 0 ]; then
	echo "analyzer: fix the warning, or add it to $known with the reason it is a false positive"
	echo "analyzer: (the full report with the path to each warning: ninja -C $bdir after touching the file)"
	exit 1
fi
echo "analyzer: $n distinct warnings, all the cleanup false positive or reviewed in $known"
