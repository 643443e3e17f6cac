#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gcc's static analyzer (-fanalyzer, Debian's gcc 12) over the user-space
# programs: every source of tlshd/ (the daemon and tlshd/policy.c), of
# mount-helper/ (rpctls) and of rpctls-exports/, compiled with the flags of
# their Makefiles ("make analyze" in each), where any finding is an
# error.  One result line per source file; a failure shows the findings.
# Host only, about 15 s of CPU.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/tap.sh"
BUILD=${BUILD:-$REPO/build}

CC=${CC:-gcc}
if ! echo 'int main(void) { return 0; }' |
	"$CC" -fanalyzer -x c -c -o /dev/null - 2>/dev/null; then
	tap_skip "analyzer" "$CC has no -fanalyzer (gcc 10 or later has it)"
	exit 0
fi

for dir in tlshd mount-helper rpctls-exports; do
	out=$(make -s -C "$REPO/$dir" BUILD="$BUILD" analyze 2>&1)
	rc=$?
	n=0
	while read -r word state file; do
		[ "$word" = ANALYZE ] || continue
		n=$((n + 1))
		if [ "$state" = ok ]; then
			tap_ok "analyzer: $dir/$file: no findings"
		else
			tap_fail "analyzer: $dir/$file: findings"
			# the findings of this file: up to the next ANALYZE line
			awk -v f="$file" '$1 == "ANALYZE" { on = ($3 == f && $2 == "fail"); next }
				on' <<<"$out" | grep -E 'warning|error|note' | head -n 12 | sed 's/^/#   /'
		fi
	done <<<"$out"
	# make itself failed, or listed no file: the target is broken
	if [ "$n" -eq 0 ]; then
		tap_fail "analyzer: $dir: make analyze ran no file (exit $rc)"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
	elif [ "$rc" -ne 0 ] && ! grep -q '^ANALYZE fail ' <<<"$out"; then
		tap_fail "analyzer: $dir: make analyze failed (exit $rc)"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
	fi
done
tap_done
