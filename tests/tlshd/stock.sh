#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Our tlshd on the stock Debian 13 kernel, from the host: boots the pair
# (tests/pair/lib.sh), makes a throw-away PKI in the shared directory and
# runs tests/tlshd/stock-e2e.sh in the stock peer, which prints the result
# lines.  The agents' logs are kept in build/test-logs/pair.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/pair/lib.sh

for f in build/bin/tlshd build/bin/tlshd-rpcload; do
	[ -x "$f" ] || { tap_fail "missing $f (make userspace)"; exit 1; }
done
pair_start || { tap_fail "the pair did not come up (see build/test-logs/pair)"; exit 1; }
trap pair_stop EXIT
if ! tlshd/tests/mkcerts.sh "$PAIR_XFER/tlshd-certs" >/dev/null 2>&1; then
	tap_fail "mkcerts.sh"
	exit 1
fi
echo "# stock peer: $(pair_peer_versions | tr '\n' ' ')"
pair_run peer -t 1200 "tests/tlshd/stock-e2e.sh /run/pair/tlshd-certs"
