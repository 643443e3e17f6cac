#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The handshake status codes have one table, TLSH_STATUS_TABLE in the uapi
# header: the kernel's counters, SunRPC's log lines and tlshd are built from
# it.  The prose that cannot be built from it must say the same: the
# upcall's documentation lists every status with the table's meaning and
# every failed_NAME counter.  (tlshd-unit checks tlshd(8); tlsh-upcall
# checks the counters /proc/net/tlsh really shows.)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

UAPI=tlsh-kmod/include/uapi
DOC=tlsh-kmod/Documentation/networking/tls-handshake-upcall.rst
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The table as lines "ERRNO<TAB>name<TAB>by<TAB>meaning", from the header.
cat >"$tmp/dump.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <linux/tlsh.h>

#define DUMP(e, name, by, what) printf("%s\t%s\t%d\t%s\n", #e, #name, by, what);

int main(void)
{
	TLSH_STATUS_TABLE(DUMP)
	return 0;
}
EOF
if ! gcc -std=c11 -Wall -Wextra -Werror -I "$UAPI" -o "$tmp/dump" "$tmp/dump.c" 2>"$tmp/cc.err"; then
	tap_fail "TLSH_STATUS_TABLE compiles in user space: $(head -n 3 "$tmp/cc.err" | tr '\n' ' ')"
	tap_done
	exit
fi
"$tmp/dump" >"$tmp/table"
tap_run "the table has entries" test -s "$tmp/table"

# The documentation's status table, whitespace folded: "``ERRNO`` by meaning".
doc_flat=$(sed -n '/^The handshake status codes/,/^When the agent goes away/p' "$DOC" |
	tr '\n' ' ' | tr -s ' ')
by_word() { case $1 in 1) echo agent ;; 2) echo kernel ;; 3) echo both ;; esac; }
doc_lists() {
	local e=$1 by=$2 what=$3 want
	want="\`\`$e\`\` $(by_word "$by") $what"
	grep -qF -- "$want" <<<"$doc_flat" || { echo "# the documentation lacks: $want"; return 1; }
}
counter_doc() { grep -q "^\`\`failed_$1\`\`" "$DOC" || { echo "# no failed_$1 in the counter table"; return 1; }; }
while IFS=$'\t' read -r e name by what; do
	tap_run "documentation: $e by $(by_word "$by") with the table's meaning" doc_lists "$e" "$by" "$what"
	tap_run "documentation: counter failed_$name" counter_doc "$name"
done <"$tmp/table"

# No errno in the documentation's status table that the header lacks.
extra() {
	local e bad=
	for e in $(sed -n '/^The handshake status codes/,/^When the agent goes away/p' "$DOC" |
		sed -n 's/^``\(E[A-Z]*\)``.*/\1/p'); do
		cut -f1 "$tmp/table" | grep -qx "$e" || bad="$bad $e"
	done
	[ -z "$bad" ] || { echo "# documented but not in TLSH_STATUS_TABLE:$bad"; return 1; }
}
tap_run "documentation lists no status outside the table" extra
tap_done
