#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The side by side on the stock Debian 13 kernel, from the host: boots the
# pair (tests/pair/lib.sh) and runs tlshd/bench/stock-vs-ktls.sh in the
# stock peer (its environment variables pass through).
cd "$(dirname "$0")/../.." || exit 1
. tests/pair/lib.sh

for f in build/bin/tlshd build/bin/tlshd-rpcload build/bin/tlshd-hsbench; do
	[ -x "$f" ] || { echo "tlshd stock bench: missing $f (make userspace)" >&2; exit 1; }
done
pair_start || exit 1
trap pair_stop EXIT
tlshd/tests/mkcerts.sh "$PAIR_XFER/tlshd-certs" >/dev/null 2>&1 || exit 1
echo "stock peer: $(pair_peer_versions | tr '\n' ' ')"
env=
for v in RPCTLS_BENCH_STOCK_N RPCTLS_BENCH_STOCK_J RPCTLS_BENCH_STOCK_ROUNDS; do
	[ -z "${!v:-}" ] || env="$env $v=${!v}"
done
pair_run peer -t 7200 "env $env tlshd/bench/stock-vs-ktls.sh /run/pair/tlshd-certs"
