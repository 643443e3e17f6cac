# SPDX-License-Identifier: GPL-2.0
# Reports of the conformance suite (tests/pynfs-tls/testserver.py --json):
#
#   conformance CODE JSON [FIELD]   a test's FIELD (default status: PASS,
#                                   WARN, FAIL, SKIP; or reason, ...) in the
#                                   report JSON; empty when it is not there

conformance() {
	"${PY:-python3}" -c 'import json, sys
for t in json.load(open(sys.argv[2]))["tests"]:
    if t["code"] == sys.argv[1]:
        print(t[sys.argv[3]])' "$1" "$2" "${3:-status}" 2>/dev/null
}
