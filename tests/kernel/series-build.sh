#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every prefix of the kernel patch series applies with patch -p1 to the
# pristine source and builds: a reviewer (and git bisect) may stop at any
# patch.  One TAP line per patch.
#
# The prefixes are built in a scratch git worktree of the kernel tree
# (build/series-build), one after the other, so each step recompiles only
# what its patch changed (and ccache, shared with make kernel, has most of
# it).  Each prefix builds the objects of every C file the series touches
# and of the new files its Makefiles reach, with the configuration of the
# kernel tree (make kernel); the whole kernel with the whole series is make
# kernel's own build.
#
#   tests/kernel/series-build.sh [-k]    -k: keep going after a failure
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
set -uo pipefail

REPO=$PWD
TREE=${TREE:-$REPO/build/linux}
SCRATCH=${SERIES_BUILD_DIR:-$REPO/build/series-build}
PATCHES=$REPO/kernel/patches
JOBS=${JOBS:-$(nproc)}
keep_going=0
[ "${1:-}" = -k ] && keep_going=1

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/rpctls/ccache}
export CCACHE_BASEDIR=$SCRATCH CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
kmake() {
	make -s -C "$SCRATCH" ARCH=x86_64 CC="ccache gcc" KBUILD_BUILD_TIMESTAMP=2026-01-01 \
		KBUILD_BUILD_USER=rpctls KBUILD_BUILD_HOST=rpctls -j"$JOBS" "$@"
}

if [ ! -f "$TREE/.config" ] || ! git -C "$TREE" rev-parse -q --verify pristine >/dev/null; then
	tap_fail "series builds: no configured kernel tree at $TREE (run make kernel first)"
	tap_done
	exit
fi

series=$(grep -v '^\s*\(#\|$\)' "$PATCHES/series")
# What to build at each prefix: the object of every C file the series
# touches (where it exists yet), and of every overlay C file that the
# prefix's Makefiles already reach; of those, what the configuration builds
# (make kernel left an object for it in the kernel tree).
built() { while read -r f; do [ -f "$TREE/${f%.c}.o" ] && echo "$f"; done; }
touched=$(for p in $series; do sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "$PATCHES/$p"; done | sort -u | built)
overlay_c=$(kernel/tree.sh overlays | cut -f2 | grep '\.c$' | sort | built)
if [ -z "$touched" ]; then
	tap_fail "series builds: the kernel tree at $TREE has no objects for the series' files (run make kernel first)"
	tap_done
	exit
fi
# reached FILE: FILE's Makefile names its object, and the folder above names
# the folder unless the folder is upstream's.
reached() {
	local d=${1%/*} b=${1##*/}
	grep -qw "${b%.c}\.o" "$SCRATCH/$d/Makefile" 2>/dev/null || return 1
	git -C "$SCRATCH" cat-file -e "pristine:$d/Makefile" 2>/dev/null && return 0
	grep -qw "${d##*/}/" "$SCRATCH/${d%/*}/Makefile" 2>/dev/null
}

# The scratch worktree, back at pristine (files the last run patched are
# rewritten; everything else keeps its objects).
if [ ! -d "$SCRATCH/.git" ] && [ ! -f "$SCRATCH/.git" ]; then
	rm -rf "$SCRATCH"
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$SCRATCH" pristine || {
		tap_fail "series builds: cannot make the scratch worktree $SCRATCH"
		tap_done
		exit
	}
fi
git -C "$SCRATCH" checkout -q -f --detach pristine &&
	git -C "$SCRATCH" clean -q -f -- $(cd "$SCRATCH" && ls -d */ | grep -v '^\.') >/dev/null
# Overlays: the new files, all of them at every prefix (a patch's Makefile
# line is what brings one into the build).
while IFS=$'\t' read -r src dst; do
	cmp -s "$REPO/$src" "$SCRATCH/$dst" && continue
	mkdir -p "$(dirname "$SCRATCH/$dst")"
	cp "$REPO/$src" "$SCRATCH/$dst"
done < <(kernel/tree.sh overlays)
cp "$TREE/.config" "$SCRATCH/.config.want"
cmp -s "$SCRATCH/.config.want" "$SCRATCH/.config.base" 2>/dev/null ||
	cp "$SCRATCH/.config.want" "$SCRATCH/.config.base"

# The final configuration, re-resolved against the Kconfig of the prefix,
# at pristine and after a patch that touches a Kconfig file only: rewriting
# .config regenerates autoconf.h, which every object includes, so resolving
# it at every prefix would rebuild everything every time.
resolve_config() {
	[ -z "${1:-}" ] || grep -q '^+++ b/\(.*/\)\?Kconfig' "$PATCHES/$1" || return 0
	cp "$SCRATCH/.config.base" "$SCRATCH/.config"
	kmake olddefconfig
}
# The objects to build at this prefix: of the C files the series touches
# (where they exist yet), and of the overlay files the Makefiles reach.
prefix_objs() {
	local f
	for f in $touched; do [ -f "$SCRATCH/$f" ] && echo "${f%.c}.o"; done
	for f in $overlay_c; do reached "$f" && echo "${f%.c}.o"; done
}
# sparse over OBJS (C=2: checked even when up to date), one finding a line
# without line and column, sorted: comparable before and after the series.
sparse_findings() {
	kmake C=2 CHECK="sparse" "$@" 2>&1 >/dev/null |
		sed -n 's/^\([^: ]*\.[ch]\):[0-9]*:[0-9]*: \(warning\|error\): /\1: \2: /p' | sort
}
have_sparse=0
command -v sparse >/dev/null && have_sparse=1
if [ $have_sparse = 1 ]; then
	if out=$(resolve_config "" 2>&1); then
		sparse_findings $(prefix_objs) >"$SCRATCH/.sparse.before"
	else
		tap_fail "series builds: olddefconfig at pristine"
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
	fi
fi
failed=0
first=1
for p in $series; do
	start=$(date +%s)
	if [ $failed = 1 ] && [ $keep_going = 0 ]; then
		tap_fail "$p builds: not tried, an earlier patch failed"
		continue
	fi
	if ! out=$(patch -s -p1 -d "$SCRATCH" --no-backup-if-mismatch <"$PATCHES/$p" 2>&1); then
		tap_fail "$p applies with patch -p1 after the patches before it"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
		failed=1
		continue
	fi
	objs=$(prefix_objs)
	if out=$(resolve_config "$( [ $first = 1 ] || echo "$p")" 2>&1 && kmake $objs 2>&1); then
		tap_ok "$p builds ($(echo $objs | wc -w) objects, $(( $(date +%s) - start )) s)"
		echo "#   $(echo $objs)"
	else
		tap_fail "$p builds"
		printf '%s\n' "$out" | grep -E 'error|Error' | head -n 15 | sed 's/^/#   /'
		failed=1
	fi
	first=0
done
# sparse: the series adds no finding to the files it touches, and its new
# files have none (the kernel's own findings in those files stay as they are).
if [ $have_sparse = 0 ]; then
	tap_skip "sparse: no new findings" "sparse is not installed (tests/deps.sh installs it)"
elif [ $failed = 0 ]; then
	sparse_findings $(prefix_objs) >"$SCRATCH/.sparse.after"
	new=$(comm -13 "$SCRATCH/.sparse.before" "$SCRATCH/.sparse.after")
	if [ -z "$new" ]; then
		tap_ok "sparse (C=2): no new findings in the $(prefix_objs | wc -l) objects the series touches or adds ($(wc -l <"$SCRATCH/.sparse.before") before it, kept)"
	else
		tap_fail "sparse (C=2): the series adds findings"
		printf '%s\n' "$new" | head -n 20 | sed 's/^/#   /'
	fi
fi
tap_done
