#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare a conformance report of the stock server with what it is known to do.

  judge.py EXPECTED REPORT.json OUT.md

EXPECTED has one line per test whose outcome against the stock server is
not PASS: "CODE STATUS why", '#' starts a comment; STATUS may list
outcomes seen in different runs (PASS|FAIL) for behaviour of the stock
server that changes from run to run.  Every other test is expected to PASS.  Prints one TAP line per test (ok when the outcome is the
expected one, so a stock server that changes behaviour -- better or worse --
is noticed), and writes OUT.md: the report as a table, with the RFC 9289
section, the outcome, the suite's reason and, for deviations, why.
"""
import json
import sys


def load_expected(path):
    exp = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise SystemExit("%s:%d: want CODE STATUS why" % (path, n))
            exp[parts[0]] = (parts[1], parts[2])
    return exp


def main():
    exp = load_expected(sys.argv[1])
    with open(sys.argv[2]) as f:
        report = json.load(f)
    rows = []
    failed = 0
    seen = set()
    for t in report["tests"]:
        code, st, reason = t["code"], t["status"], t["reason"]
        seen.add(code)
        want, why = exp.get(code, ("PASS", ""))
        if st in want.split("|"):
            print("ok - conformance %s vs stock: %s%s" % (code, st, " (known: %s)" % why if why else ""))
        else:
            failed += 1
            print("not ok - conformance %s vs stock: %s, expected %s (%s)%s"
                  % (code, st, want, reason, "; known before: " + why if why else ""))
        rows.append("| %s | %s | %s | %s | %s |" % (
            code, t["rfc9289_section"], st, reason.replace("|", "/"), why))
    for code in sorted(set(exp) - seen):
        failed += 1
        print("not ok - conformance %s vs stock: not in the report" % code)
    s = report["summary"]
    with open(sys.argv[3], "w") as f:
        f.write("# RFC 9289 conformance of the stock server (%s)\n\n" % report["server"])
        f.write("PASS %d, FAIL %d, WARN %d, SKIP %d, OMIT %d\n\n"
                % (s["PASS"], s["FAIL"], s["WARN"], s["SKIP"], s["OMIT"]))
        f.write("| test | RFC 9289 | outcome | the suite's reason | why (mainline) |\n")
        f.write("|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
