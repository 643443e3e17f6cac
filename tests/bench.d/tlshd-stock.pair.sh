#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlshd against ktls-utils' tlshd and in-process GnuTLS on the stock Debian 13
# kernel (tlshd/bench/stock-vs-ktls.sh says what and how), through the pair.
exec "$(dirname "$0")/../../tlshd/bench/stock.sh" "$@"
