# SPDX-License-Identifier: GPL-2.0
# The AF_TLSH upcall's test consumer tlsh_test.ko (debugfs) and its
# counters (source in the guest, after netns.sh):
#
#   tt NS COMMAND...        one or more tlsh_test commands (one a line),
#                           written from namespace NS; prints OK or the
#                           errno text of the failed write
#   tt_many NS < LINES      commands in writes of 50 lines (under the 4 KiB
#                           bash writes at once); OK when every write succeeded
#   field SLOT NAME         a field of the slot's line in $DBG/slots
#   tlsh_stat NS NAME       a counter in the namespace's /proc/net/tlsh
#   tlsh_stat_is NS NAME V  is it V?

DBG=/sys/kernel/debug/tlsh_test

tt() {
	local ns=$1 out
	shift
	if out=$(in_ns "$ns" bash -c 'printf "%s\n" "$1" >'"$DBG/ctl" _ "$*" 2>&1); then
		echo OK
	else
		echo "${out##*: }"
		return 1
	fi
}

tt_many() {
	local ns=$1 chunk=() line bad=0
	while IFS= read -r line; do
		chunk+=("$line")
		if [ ${#chunk[@]} -eq 50 ]; then
			tt "$ns" "$(printf '%s\n' "${chunk[@]}")" >/dev/null || bad=1
			chunk=()
		fi
	done
	[ ${#chunk[@]} -eq 0 ] || tt "$ns" "$(printf '%s\n' "${chunk[@]}")" >/dev/null || bad=1
	[ $bad = 0 ] && echo OK || echo FAILED
}

field() { awk -v s="$1" '$1 == s' "$DBG/slots" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

tlsh_stat() { in_ns "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/tlsh; }
tlsh_stat_is() { [ "$(tlsh_stat "$1" "$2")" = "$3" ]; }
