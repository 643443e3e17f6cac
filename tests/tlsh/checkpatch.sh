#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over every patch of the kernel series (sign-off
# included) and every new kernel file of the overlays (tlsh-kmod/,
# sunrpc-tls/), one TAP line each; and the cover letter names every patch.
# Needs the kernel work tree (make kernel).
#
# Accepted findings, each the surrounding file's own convention, which
# checkpatch --strict flags in mainline too; every other finding fails:
#   OPEN_ENDED_LINE, PARENTHESIS_ALIGNMENT  in trace headers
#       (include/trace/events/*.h, */trace.h): TP_PROTO( / TP_STRUCT__entry(
#       / TP_fast_assign( on a line of their own is how trace events are laid out
#   CAMELCASE <Opt_*>  in fs/*/fs_context.c: fs_parameter_spec option enums
#   COMPLEX_MACRO, MACRO_ARG_REUSE  on "#define NAME_TABLE(S)" in the new
#       files: an X-macro table, whose body is a list of S(...) entries
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

CP=${TREE:-$PWD/build/linux}/scripts/checkpatch.pl
if [ ! -x "$CP" ]; then
	# the project makes the tree (make check-host prepares it): a failure
	tap_fail "checkpatch: no kernel work tree at ${CP%/scripts/*}: run make kernel (or kernel/tree.sh prepare)"
	exit 1
fi

# accepted PATCH-FILE: read checkpatch --terse --show-types lines on stdin,
# print "accepted: ..." for the convention findings above and the others
# as they are.
accepted() {
	awk -v patch="$1" '
	BEGIN {
		n = 0
		while ((getline l < patch) > 0) {
			n++
			if (l ~ /^\+\+\+ b\//)
				cur = substr(l, 7)
			file[n] = cur
		}
	}
	{
		split($0, f, ":")
		ln = f[2] + 0
		type = f[4]
		src = (ln in file) ? file[ln] : ""
		trace = src ~ /^include\/trace\/events\/[^\/]*\.h$/ || src ~ /\/trace\.h$/
		if (trace && (type == "OPEN_ENDED_LINE" || type == "PARENTHESIS_ALIGNMENT"))
			print "accepted: " src ": " $0
		else if (type == "CAMELCASE" && src ~ /^fs\/[^\/]*\/fs_context\.c$/ && $0 ~ /<Opt_[A-Za-z0-9_]*>/)
			print "accepted: " src ": " $0
		else
			print
	}'
}

# xmacro_accepted FILE: as accepted, for a new file: the X-macro tables.
xmacro_accepted() {
	awk -v src="$1" '
	BEGIN { n = 0; while ((getline l < src) > 0) line[++n] = l }
	{
		split($0, f, ":")
		ln = f[2] + 0
		type = f[4]
		if ((type == "COMPLEX_MACRO" || type == "MACRO_ARG_REUSE") &&
		    line[ln] ~ /^#define [A-Z0-9_]+_TABLE\(S\)/)
			print "accepted: " $0
		else
			print
	}'
}

# run_cp DIR ARGS...: checkpatch from DIR, so that paths read as in the
# kernel tree (include/uapi/... is checked as uapi)
run_cp() {
	local dir=$1 out
	shift
	out=$(cd "$dir" && "$CP" --strict --no-tree --terse --show-types "$@" 2>/dev/null |
		grep ': \(ERROR\|WARNING\|CHECK\):')
	[ -n "$out" ] || return 0
	if [ "$1" != -f ]; then
		out=$(accepted "$1" <<<"$out")
	else
		out=$(xmacro_accepted "$dir/$2" <<<"$out")
	fi
	printf '%s\n' "$out" | sed 's/^/#   /'
	! grep -qv '^accepted: ' <<<"$out"
}

mapfile -t series < <(grep -v '^\s*\(#\|$\)' kernel/patches/series)
[ "${#series[@]}" -gt 0 ] || tap_fail "kernel/patches/series lists no patch"
for p in "${series[@]}"; do
	tap_run "checkpatch --strict $p" run_cp /tmp "$PWD/kernel/patches/$p"
done

# The cover letter explains the series: it names every patch's subject.
cover=kernel/patches/0000-cover-letter.patch
cover_names_all() {
	local p s missing=
	[ -f "$cover" ] || { echo "# no $cover"; return 1; }
	for p in "${series[@]}"; do
		s=$(git mailinfo /dev/null /dev/null <"kernel/patches/$p" | sed -n 's/^Subject: //p')
		grep -qF -- "$s" "$cover" || missing="$missing${missing:+, }$p"
	done
	[ -z "$missing" ] || { echo "# cover letter does not name: $missing"; return 1; }
}
tap_run "cover letter names every patch of the series" cover_names_all

for root in tlsh-kmod sunrpc-tls; do
	while read -r f; do
		tap_run "checkpatch --strict $root/$f" run_cp "$root" -f "$f"
	done < <(cd "$root" && find net include -name '*.[ch]' | sort)
done
tap_done
