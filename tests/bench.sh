#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: benchmarks measured side by side in one VM run (never timed
# assertions).  Each bench script in tests/bench.d/ runs in its own VM boot;
# a *.pair.sh one runs on the host and boots the pair itself (tests/pair).
cd "$(dirname "$0")/.." || exit 1
rc=0
for b in tests/bench.d/*.sh; do
	echo "=== bench $(basename "$b" .sh)"
	case $b in
	*.pair.sh) "$b" || rc=1 ;;
	*) tests/vm/run --timeout 1200 -- "$b" || rc=1 ;;
	esac
done
exit $rc
