#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In the VM on the debug kernel: run tests/scenarios/SCENARIO.sh, then
# report what the debug options found while it ran:
#   - kmemleak: no unreferenced object whose allocation backtrace goes
#     through SunRPC, NFS, nfsd, kTLS or tlsh (other subsystems' reports
#     are listed as comments);
#   - dmesg: no WARN, BUG, lockdep, KASAN, UBSAN or refcount report (the
#     VM panics on a WARN anyway: panic_on_warn=1).
#   tests/scenarios/debug-check.sh SCENARIO
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

scenario=${1:?usage: debug-check.sh SCENARIO}
dmesg -c >/dev/null
out=/tmp/debug-check.$$
bash "tests/scenarios/$scenario.sh" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
# As tests/check does: an exit without a failure line is a failure.
if [ "$rc" != 0 ] && ! grep -q '^not ok - ' "$out"; then
	tap_fail "$scenario exited $rc without a result line"
fi

if [ -w /sys/kernel/debug/kmemleak ]; then
	sleep 6		# kmemleak ignores objects younger than 5 s
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	report=/tmp/kmemleak.$$
	cat /sys/kernel/debug/kmemleak >"$report"
	ours=$(awk '/^unreferenced object/ { if (blk ~ /(svc_|rpc_|xs_|xprt|nfsd|nfs_|nfs4|tlsh|tt_|tls_|sunrpc)/) n++; blk = "" }
		{ blk = blk $0 "\n" }
		END { if (blk ~ /(svc_|rpc_|xs_|xprt|nfsd|nfs_|nfs4|tlsh|tt_|tls_|sunrpc)/) n++; print n + 0 }' "$report")
	all=$(grep -c '^unreferenced object' "$report")
	tap_expect "$scenario: kmemleak: no leak from SunRPC, NFS, nfsd, kTLS or tlsh ($all reports in all)" 0 "$ours"
	[ "$all" = 0 ] || sed 's/^/#   /' "$report" | head -n 80
else
	tap_fail "$scenario: no kmemleak: this is not the debug kernel (make kernel-debug)"
fi
bad=$(dmesg | grep -E 'WARNING:|BUG:|BUG |lockdep|KASAN|UBSAN|Oops|circular locking|refcount_t:|general protection' || true)
tap_expect "$scenario: no WARN, BUG, lockdep, KASAN or UBSAN report in dmesg" "" "$bad"
# Stalls and hung-task notes are shown, not judged: under TCG with KASAN a
# slow guest can trip them without a bug.
dmesg | grep -E 'rcu.*stall|blocked for more than' | sed 's/^/# /' | head -n 20
tap_done
