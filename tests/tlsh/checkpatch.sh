#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over the AF_TLSH core patches and every file of
# tlsh-kmod/, one TAP line each.  Needs the kernel work tree (make kernel).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

CP=${TREE:-$PWD/build/linux}/scripts/checkpatch.pl
if [ ! -x "$CP" ]; then
	# the project makes the tree (make check-host prepares it): a failure
	tap_fail "checkpatch: no kernel work tree at ${CP%/scripts/*}: run make kernel (or kernel/tree.sh prepare)"
	exit 1
fi
# run_cp DIR ARGS...: checkpatch from DIR, so that paths read as in the
# kernel tree (include/uapi/... is checked as uapi)
run_cp() {
	local dir=$1 out
	shift
	out=$(cd "$dir" && "$CP" --strict --no-tree --terse "$@" 2>&1)
	if printf '%s\n' "$out" | grep -q ': \(ERROR\|WARNING\|CHECK\):'; then
		printf '%s\n' "$out" | sed 's/^/#   /'
		return 1
	fi
}
for p in kernel/patches/000[0-9]-*.patch; do
	tap_run "checkpatch --strict ${p##*/}" run_cp /tmp "$PWD/$p"
done
while read -r f; do
	tap_run "checkpatch --strict $f" run_cp tlsh-kmod -f "$f"
done < <(cd tlsh-kmod && find net include -name '*.[ch]' | sort)
tap_done
