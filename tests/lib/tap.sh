# SPDX-License-Identifier: GPL-2.0
# Test result lines for shell suites (TAP style), read by tests/check:
#   ok - NAME                 passed
#   not ok - NAME: REASON     failed
#   ok - NAME # SKIP REASON   not run (feature not landed, tool missing)
# Source this file; call tap_done at the end (exit status = failures > 0).

TAP_FAILED=0

tap_ok() { echo "ok - $*"; }
tap_fail() { echo "not ok - $*"; TAP_FAILED=$((TAP_FAILED + 1)); }
tap_skip() { local n=$1; shift; echo "ok - $n # SKIP $*"; }

# tap_run NAME CMD...: run CMD, pass when it exits 0; show its output on
# failure (and its "# " comment lines on success too when TAP_VERBOSE=1).
tap_run() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "$name"
		[ "${TAP_VERBOSE:-0}" != 1 ] || printf '%s\n' "$out" | grep '^#' | sed 's/^#/#  /'
	else
		tap_fail "$name: exit $rc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
	return 0
}

# tap_expect NAME WANT GOT: exact comparison.
tap_expect() {
	if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1: want '$2', got '$3'"; fi
}

tap_done() { [ "$TAP_FAILED" -eq 0 ]; }
