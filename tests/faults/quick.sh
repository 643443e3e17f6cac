#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fault matrix's quick subset, run by make check (tests/suites): one
# case of each kind the whole matrix (make faults) covers, on 8 MiB copies,
# so that a regression in recovery shows up in every CI run.  2-4
# minutes under TCG; make faults runs every case on 16 MiB copies.
#   1a  an agent killed during a handshake (the client's)
#   4b  an RST in the middle of a copy
#   5c  the server's TLS 1.3 KeyUpdate: a rekey by reconnecting
#   6b  a tiny key use limit: dozens of rekeys during a copy
#   8   a new CRL cuts a revoked mtls client's live session
# Paced at 1 MiB/s, so that each copy lasts as long as the whole matrix's
# (16 MiB at 2 MiB/s): at 2 MiB/s an 8 MiB copy could end before case 1a's
# agent was killed.  RPCTLS_FAULTS_* set in the environment win.
export RPCTLS_FAULTS_CASES=${RPCTLS_FAULTS_CASES:-'^(1a|4b|5c|6b|8)\.'}
export RPCTLS_FAULTS_MB=${RPCTLS_FAULTS_MB:-8}
export RPCTLS_FAULTS_RATE=${RPCTLS_FAULTS_RATE:-1}
exec "$(dirname "$0")/../scenarios/faults.sh"
