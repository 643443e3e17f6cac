#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fault matrix's quick subset, run by make check (tests/suites): one
# case of each kind the whole matrix (make faults) covers, on 8 MiB copies,
# so that a regression in recovery shows up in every CI run.  About 5
# minutes under TCG; make faults runs every case on 16 MiB copies.
#   1a  an agent killed during a handshake (the client's)
#   4b  an RST in the middle of a copy
#   5c  the server's TLS 1.3 KeyUpdate: a rekey by reconnecting
#   6b  a tiny key use limit: dozens of rekeys during a copy
#   8   a new CRL cuts a revoked mtls client's live session
# RPCTLS_FAULTS_CASES and RPCTLS_FAULTS_MB set in the environment win.
export RPCTLS_FAULTS_CASES=${RPCTLS_FAULTS_CASES:-'^(1a|4b|5c|6b|8)\.'}
export RPCTLS_FAULTS_MB=${RPCTLS_FAULTS_MB:-8}
exec "$(dirname "$0")/../scenarios/faults.sh"
