#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rpctls-exports on the host: the policy file parser, its errors by line,
# and what it would write to a kernel table (-n against a fake nfsd dir).
# The kernel side is in tests/scenarios/nfsd-tls.sh.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/fuzz.sh

X=build/bin/rpctls-exports
make -s -C rpctls-exports BUILD="$PWD/build" >/dev/null || { tap_fail "build rpctls-exports"; exit 1; }
t=$(mktemp -d /tmp/rpctls-exports.XXXXXX)
trap 'rm -rf "$t"' EXIT

# libFuzzer with AddressSanitizer and UBSan over the parsers (exports(5)
# lines, the kernel's table, escaping): a bounded run with a fixed seed.
fuzz_suite rpctls-exports "$PWD/build" "$t/corpus" exports:200000
R=$t/root
mkdir -p "$R/srv/a" "$R/srv/b" "$R/srv/with space" "$R/srv/plain" "$t/nfsd"

cat >"$t/good" <<'EOF'
# comment, blank lines, options mountd would read
/srv/a   *(rw,xprtsec=tls:mtls,sync) 192.0.2.0/24(xprtsec=mtls:tls)

/srv/b   -xprtsec=mtls client.test(rw) \
         other(ro)
"/srv/with space"  (xprtsec=none)
/srv/with\040space (xprtsec=none)  # the same path, octal-escaped
/srv/plain *(rw)
EOF
want=$(printf '%s\txprtsec=tls:mtls\n%s\txprtsec=mtls\n%s\txprtsec=none' \
	"$R/srv/a" "$R/srv/b" "$R/srv/with space")
out=$($X -c -f "$t/good" -r "$R" 2>&1)
tap_expect "a good file: one policy per path, rootdir prefixed" "$want" "$out"

# bad LINE MESSAGE: a file of that one line is refused with MESSAGE
bad() {
	printf '%s\n' "$1" >"$t/bad"
	out=$($X -c -f "$t/bad" -r "$R" 2>&1)
	rc=$?
	if [ $rc = 2 ] && grep -qF -- "$t/bad:1: $2" <<<"$out"; then
		tap_ok "refused by line: $1"
	else
		tap_fail "refused by line: $1: exit $rc, $out"
	fi
}
bad '/srv/a *(xprtsec=tlss)' "unknown xprtsec mode 'tlss'"
bad '/srv/a *(xprtsec=tls:tls)' "xprtsec mode 'tls' given twice"
bad '/srv/a *(xprtsec)' "option 'xprtsec' wants a value"
bad '/srv/a *(xprtsec=tls,xprtsec=mtls)' "xprtsec= given twice for one client"
bad '/srv/a a(xprtsec=tls) b' "clients of /srv/a get different xprtsec= policies (tls and none:tls:mtls)"
bad 'srv/a *(xprtsec=tls)' "'srv/a' is not an absolute path"
bad '"/srv/a *(xprtsec=tls)' "unterminated double quote"
bad '/srv/a *(xprtsec=tls' "'*(xprtsec=tls': options must end with ')'"
bad '/srv/missing *(xprtsec=tls)' "export path $R/srv/missing: No such file or directory"
printf '/srv/a *(xprtsec=tls)\n/srv/a *(xprtsec=mtls)\n' >"$t/bad"
out=$($X -c -f "$t/bad" -r "$R" 2>&1)
grep -qF "$t/bad:2: $R/srv/a: xprtsec=mtls, but $t/bad:1 says xprtsec=tls" <<<"$out"
tap_expect "two lines that disagree on a path are refused, naming both" 0 $?

# -n against a fake kernel table: one entry kept, one changed, one stale,
# and a path with a space in the kernel's octal escaping.
printf '%s tls:mtls\n%s tls\n/gone/path mtls\n' "$R/srv/a" "$R/srv/b" >"$t/nfsd/xprtsec"
cp "$t/nfsd/xprtsec" "$t/before"
out=$($X -n -f "$t/good" -r "$R" -d "$t/nfsd" 2>&1)
want=$(printf '%s\txprtsec=mtls\n%s\txprtsec=none\n%s\tremoved (was xprtsec=mtls)' \
	"$R/srv/b" "$R/srv/with space" /gone/path)
tap_expect "dry run: changes and stale entries, in the order they would be written" "$want" "$out"
cmp -s "$t/nfsd/xprtsec" "$t/before"
tap_expect "dry run writes nothing" 0 $?
printf '%s tls:mtls\n' "$(sed 's/ /\\040/g' <<<"$R/srv/with space")" >"$t/nfsd/xprtsec"
out=$($X -s -d "$t/nfsd" 2>&1)
tap_expect "-s reads the kernel's octal escapes" "$R/srv/with space	xprtsec=tls:mtls" "$out"
printf 'garbage\n' >"$t/nfsd/xprtsec"
out=$($X -s -d "$t/nfsd" 2>&1)
[ $? = 1 ] && grep -q "unexpected line 'garbage'" <<<"$out"
tap_expect "a kernel table it cannot read is named" 0 $?

out=$($X -s -d "$t/none" 2>&1)
[ $? = 1 ] && grep -q "cannot open $t/none/xprtsec: No such file or directory (is the nfsd filesystem mounted" <<<"$out"
tap_expect "no nfsd filesystem: named, exit 1" 0 $?
out=$($X -c -s 2>&1)
[ $? = 2 ] && grep -q "exclude each other" <<<"$out"
tap_expect "conflicting commands: exit 2" 0 $?
out=$($X extra 2>&1)
[ $? = 2 ] && grep -q "unexpected argument 'extra'" <<<"$out"
tap_expect "a stray argument: exit 2" 0 $?
out=$($X -c -f "$t/nonexistent" -r "$R" 2>&1)
[ $? = 2 ] && grep -q "cannot open $t/nonexistent" <<<"$out"
tap_expect "a missing policy file: exit 2" 0 $?
[ -s rpctls-exports/rpctls-exports.8 ] && man -l rpctls-exports/rpctls-exports.8 >/dev/null 2>&1
tap_expect "the man page renders" 0 $?

# --- a stricter export below a looser one on the same file system -----------
# nfsd applies an export's policy down to the next mount point: /srv/a/in
# (tls) under /srv/a (mountd's export, no xprtsec: all modes) is reachable
# in clear through /srv/a.
mkdir -p "$R/srv/a/in" "$R/srv/a/own"
printf '/srv/a *(rw)\n' >"$t/etc-exports"
printf '/srv/a/in *(xprtsec=tls:mtls)\n' >"$t/nested"
out=$($X -c -f "$t/nested" -e "$t/etc-exports" -r "$R" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -qF "warning: $R/srv/a/in (xprtsec=tls:mtls, $t/nested:1) is on the same file system as the export $R/srv/a (xprtsec=none:tls:mtls, $t/etc-exports:1) above it" <<<"$out" &&
	grep -qF "reachable with xprtsec=none through $R/srv/a" <<<"$out"; then
	tap_ok "a stricter export below a looser one on one file system is named, with the mode it leaks"
else
	tap_fail "nested stricter export: exit $rc, $out"
fi
printf '/srv/a *(xprtsec=none:tls:mtls)\n/srv/a/in *(xprtsec=mtls)\n' >"$t/nested2"
out=$($X -c -f "$t/nested2" -e /dev/null -r "$R" 2>&1)
grep -qF "$R/srv/a/in (xprtsec=mtls, $t/nested2:2) is on the same file system as the export $R/srv/a (xprtsec=none:tls:mtls, $t/nested2:1)" <<<"$out"
tap_expect "... also when both are in the policy file" 0 $?
printf '/srv/a *(xprtsec=tls:mtls)\n/srv/a/in *(xprtsec=tls:mtls)\n/srv/b *(xprtsec=none)\n' >"$t/flat"
out=$($X -c -f "$t/flat" -e "$t/etc-exports" -r "$R" 2>&1)
! grep -q warning <<<"$out"
tap_expect "no warning for an export below one that allows nothing more" 0 $?
if unshare -m true 2>/dev/null; then
	printf '/srv/a/own *(xprtsec=mtls)\n' >"$t/own"
	out=$(unshare -m sh -c 'mount -t tmpfs none "$1" && "$2" -c -f "$3" -e "$4" -r "$5"' sh \
		"$R/srv/a/own" "$X" "$t/own" "$t/etc-exports" "$R" 2>&1)
	! grep -q warning <<<"$out" && grep -q "$R/srv/a/own	xprtsec=mtls" <<<"$out"
	tap_expect "no warning for a stricter export on a file system of its own" 0 $?
else
	tap_skip "no warning for a stricter export on its own file system" "no private mount namespace (unshare -m)"
fi

# --- applying ends with "commit": the kernel's table is complete ----------------
: >"$t/nfsd/xprtsec"
$X -f "$t/flat" -e /dev/null -r "$R" -d "$t/nfsd" >/dev/null 2>&1
# (a regular file stands in: each write lands at its start)
tap_expect "applying a file ends with the commit line (the table is loaded)" commit \
	"$(head -n 1 "$t/nfsd/xprtsec")"
printf '# table not loaded (nfsd.xprtsec_policy_required=Y): no export is served\n/srv/x tls\n' >"$t/nfsd/xprtsec"
out=$($X -s -d "$t/nfsd" 2>&1)
grep -q "^# table not loaded" <<<"$out" && grep -q "^/srv/x	xprtsec=tls$" <<<"$out"
tap_expect "-s shows whether the kernel's table is loaded" 0 $?

tap_done
