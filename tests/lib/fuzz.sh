# SPDX-License-Identifier: GPL-2.0
# Bounded libFuzzer runs of the project's parsers, one TAP line each.
#
# fuzz_suite DIR BUILD CORPUS NAME:RUNS...: build DIR's fuzzers (make fuzz),
# write their seed corpus (DIR/fuzz/mkcorpus.py CORPUS), then run each
# BUILD/bin/rpctls-fuzz-NAME for RUNS inputs with a fixed seed.  A missing
# clang (a host tool) is a SKIP; a build failure or a crash is a FAIL.

fuzz_suite() {
	local dir=$1 build=$2 corpus=$3 out f name runs
	shift 3
	if ! command -v clang >/dev/null; then
		for f in "$@"; do tap_skip "fuzz-${f%%:*}" "clang not installed"; done
		return 0
	fi
	if ! out=$(make -s -C "$dir" BUILD="$build" fuzz 2>&1); then
		tap_fail "fuzz ($dir): build failed"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
		return 0
	fi
	python3 "$dir/fuzz/mkcorpus.py" "$corpus"
	for f in "$@"; do
		name=${f%%:*} runs=${f#*:}
		if out=$("$build/bin/rpctls-fuzz-$name" -runs="$runs" -max_len=4096 -seed=1 \
			"$corpus/$name" 2>&1); then
			tap_ok "fuzz-$name: $runs runs, no crash, leak or undefined behaviour"
		else
			tap_fail "fuzz-$name: the fuzzer found a crash"
			printf '%s\n' "$out" | grep -v '^#[0-9]' | tail -n 30 | sed 's/^/#   /'
		fi
	done
}
