#!/usr/bin/env bash
# Every tracked C file matches .clang-format (run by scripts/test.sh; fix with -i).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=--dry-run
[ "${1:-}" = "-i" ] && mode=-i
bad=0
while IFS= read -r f; do
	if [ "$mode" = -i ]; then
		clang-format -i "$f"
	elif ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "format: $f does not match .clang-format (scripts/check/format.sh -i fixes it)"
		bad=1
	fi
done < <(git ls-files '*.c' '*.h')
exit $bad
