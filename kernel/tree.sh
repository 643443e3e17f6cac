#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel work tree: pristine Debian linux-source-6.1 + the repo's patch
# series + the repo's new files (overlays), configured from a fragment.
#
#   tree.sh prepare   unpack the pinned source into $TREE if it is not there,
#                     record it as the git commit "pristine", apply the series
#   tree.sh sync      copy the repo's overlay files into the tree (refuses
#                     when the tree holds edits that were not exported)
#   tree.sh config    allnoconfig + config fragments, then check every option
#   tree.sh export    write tree changes back: upstream files -> the patch
#                     that owns them, new files -> their overlay
#   tree.sh check     exit 1 and name the files when the tree holds changes
#                     the repo does not
#
# Layout in the repo:
#   kernel/VERSION           pinned Debian package version of linux-source-6.1
#   kernel/patches/series    patch order; each upstream file belongs to one patch
#   kernel/overlays          repo folders whose kernel-tree-shaped subfolders
#                            (net/, include/, Documentation/, ...) are new files
#   kernel/config/*.config   config fragments
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KDIR=$REPO/kernel
TREE=${TREE:-$REPO/build/linux}
TARBALL=${TREE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
STATE=$TREE/.rpctls
TOPDIRS="arch block crypto Documentation drivers fs include init ipc kernel lib mm net scripts security tools"

die() { echo "tree.sh: $*" >&2; exit 1; }
g() { git -C "$TREE" "$@"; }

series() { grep -v '^\s*\(#\|$\)' "$KDIR/patches/series" 2>/dev/null || true; }

# Print "repo-relative-path<TAB>tree-relative-path" for every overlay file.
overlay_files() {
	local root d
	for root in $(grep -v '^\s*\(#\|$\)' "$KDIR/overlays"); do
		for d in $TOPDIRS; do
			[ -d "$REPO/$root/$d" ] || continue
			(cd "$REPO/$root" && find "$d" -type f ! -name '*.o' ! -name '.*' | sort) |
				while read -r f; do printf '%s/%s\t%s\n' "$root" "$f" "$f"; done
		done
	done
}

# Files a patch touches, from its diff headers.
patch_files() {
	sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' "$1" | grep -v '^dev/null$' || true
}

prepare() {
	if [ -f "$STATE/prepared" ]; then
		return 0
	fi
	[ -f "$TARBALL" ] || die "$TARBALL missing: run make deps"
	local have want
	have=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || true)
	want=$(cat "$KDIR/VERSION")
	[ -n "${TREE_TARBALL:-}" ] || [ "$have" = "$want" ] ||
		die "linux-source-6.1 is '$have', kernel/VERSION pins '$want'"
	echo "  UNPACK  linux-source-6.1 $want -> ${TREE#"$REPO"/}"
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	tar -C "$TREE.tmp" -xf "$TARBALL"
	mv "$TREE.tmp/linux-source-6.1" "$TREE"
	rmdir "$TREE.tmp"
	# Debian's .gitignore ignores the whole top level; track the sources.
	sed -i -e '\|^/\*$|d' -e '\|^!/debian/$|d' "$TREE/.gitignore"
	echo "  GIT     pristine"
	g init -q
	g config user.name rpctls
	g config user.email rpctls@localhost
	g config core.autocrlf false
	g config gc.auto 0
	g add -A .
	g commit -q -m "pristine linux-source-6.1 $want"
	g tag pristine
	local p
	for p in $(series); do
		echo "  PATCH   $p"
		patch -s -p1 -d "$TREE" --no-backup-if-mismatch <"$KDIR/patches/$p" ||
			die "patch $p does not apply"
	done
	mkdir -p "$STATE"
	: >"$STATE/manifest"
	touch "$STATE/prepared"
}

# The tree's record of what the repo held at the last sync: "sha  path".
manifest_sum() { grep -P "\t$1\$" "$STATE/manifest" | cut -f1 || true; }
sum() { sha1sum "$1" | cut -d' ' -f1; }

# Re-apply the series when patches changed in the repo since the last sync.
sync_patches() {
	local want have
	want=$(cd "$KDIR/patches" && cat series $(series) 2>/dev/null | sha1sum | cut -d' ' -f1)
	have=$(cat "$STATE/series.sum" 2>/dev/null || true)
	[ "$want" = "$have" ] && return 0
	if [ -n "$have" ]; then
		# Refuse to clobber tree edits that no patch holds yet: compare
		# with the series as it was at the last sync.
		local tmp
		tmp=$(mktemp -d)
		if [ -d "$STATE/synced-patches" ] &&
		   (KDIR=$STATE/synced-kdir compare_to "$tmp") 2>/dev/null &&
		   [ -s "$tmp/stale-upstream" ]; then
			rm -rf "$tmp"
			die "the repo's patches changed and the tree holds unexported edits to upstream files; run 'make kernel-export' first or 'make kernel-reset'"
		fi
		rm -rf "$tmp"
	fi
	echo "  SERIES  re-applying the patch series"
	local f changed
	changed=$(g diff --name-only pristine -- . ':!*.rpctls*' || true)
	for f in $changed; do
		g checkout -q pristine -- "$f" 2>/dev/null || true
	done
	local p
	for p in $(series); do
		echo "  PATCH   $p"
		patch -s -p1 -d "$TREE" --no-backup-if-mismatch <"$KDIR/patches/$p" ||
			die "patch $p does not apply"
	done
	echo "$want" >"$STATE/series.sum"
	rm -rf "$STATE/synced-kdir"
	mkdir -p "$STATE/synced-kdir"
	cp -r "$KDIR/patches" "$KDIR/overlays" "$STATE/synced-kdir/"
	mkdir -p "$STATE/synced-patches"
}

sync() {
	prepare
	sync_patches
	local new conflicts="" line src dst rs ts ms
	new=$(mktemp)
	while IFS=$'\t' read -r src dst; do
		rs=$(sum "$REPO/$src")
		ms=$(manifest_sum "$dst")
		if [ -f "$TREE/$dst" ]; then
			ts=$(sum "$TREE/$dst")
			if [ "$ts" != "$rs" ]; then
				if [ -n "$ms" ] && [ "$ts" != "$ms" ] && [ "$rs" != "$ms" ]; then
					conflicts="$conflicts $dst"
				elif [ "$ts" = "$ms" ] || [ -z "$ms" ]; then
					mkdir -p "$(dirname "$TREE/$dst")"
					cp "$REPO/$src" "$TREE/$dst"
					echo "  SYNC    $dst"
				else
					die "$dst was edited in the tree and not exported: run 'make kernel-export'"
				fi
			fi
		else
			mkdir -p "$(dirname "$TREE/$dst")"
			cp "$REPO/$src" "$TREE/$dst"
			echo "  SYNC    $dst"
		fi
		printf '%s\t%s\n' "$rs" "$dst" >>"$new"
	done < <(overlay_files)
	[ -z "$conflicts" ] || die "edited both in the tree and in the repo:$conflicts"
	# Overlay files removed from the repo disappear from the tree.
	while IFS=$'\t' read -r ms dst; do
		if ! grep -qP "\t$dst\$" "$new" && [ -f "$TREE/$dst" ]; then
			if [ "$(sum "$TREE/$dst")" = "$ms" ]; then
				rm -f "$TREE/$dst"
				echo "  REMOVE  $dst"
			fi
		fi
	done <"$STATE/manifest"
	mv "$new" "$STATE/manifest"
}

# Where a new tree file belongs in the repo: the overlay root that already
# has its folder.  Prints the repo path, or nothing.
overlay_home() {
	local f=$1 root
	for root in $(grep -v '^\s*\(#\|$\)' "$KDIR/overlays"); do
		if [ -d "$REPO/$root/$(dirname "$f")" ]; then
			echo "$root/$f"
			return 0
		fi
	done
}

# Compare the tree with what the repo describes.  Fills, in $1:
#   stale-upstream   upstream files whose tree content differs from
#                    pristine + series
#   stale-overlay    "repo-path<TAB>tree-path" of new files that differ
# and fails, naming the files, when a changed file has no home.
compare_to() {
	local out=$1 f src dst
	mkdir -p "$out/expect"
	: >"$out/stale-upstream"
	: >"$out/stale-overlay"
	declare -A ovl=()
	while IFS=$'\t' read -r src dst; do ovl[$dst]=$src; done < <(overlay_files)
	# Every upstream file that the tree or a patch changes.
	local files p
	files=$( {
		g diff --name-only pristine -- . 2>/dev/null
		for p in $(series); do patch_files "$KDIR/patches/$p"; done
	} | sort -u)
	for f in $files; do
		[ -n "${ovl[$f]:-}" ] && continue
		mkdir -p "$out/expect/$(dirname "$f")"
		g show "pristine:$f" >"$out/expect/$f" 2>/dev/null || rm -f "$out/expect/$f"
	done
	for p in $(series); do
		patch -s -p1 -d "$out/expect" --no-backup-if-mismatch <"$KDIR/patches/$p" >/dev/null ||
			die "patch $p does not apply to pristine"
	done
	for f in $files; do
		[ -n "${ovl[$f]:-}" ] && continue
		if [ -f "$TREE/$f" ] && [ -f "$out/expect/$f" ]; then
			cmp -s "$TREE/$f" "$out/expect/$f" || echo "$f" >>"$out/stale-upstream"
		elif [ -f "$TREE/$f" ] || [ -f "$out/expect/$f" ]; then
			echo "$f" >>"$out/stale-upstream"
		fi
	done
	# New files: overlay files that differ, and files the repo does not have.
	local homeless="" conflicts="" ms
	for f in $(g ls-files --others --exclude-standard -- $TOPDIRS); do
		src=${ovl[$f]:-$(overlay_home "$f")}
		if [ -z "$src" ]; then
			homeless="$homeless $f"
		elif ! cmp -s "$TREE/$f" "$REPO/$src" 2>/dev/null; then
			# Unchanged in the tree since the last sync: the repo is
			# ahead, and the next sync brings its edit in.
			ms=$(manifest_sum "$f")
			if [ -n "$ms" ] && [ "$(sum "$TREE/$f")" = "$ms" ]; then
				continue
			fi
			# Edited on both sides: exporting would lose the repo's edit.
			if [ -n "$ms" ] && [ -f "$REPO/$src" ] && [ "$(sum "$REPO/$src")" != "$ms" ]; then
				conflicts="$conflicts $f"
			fi
			printf '%s\t%s\n' "$src" "$f" >>"$out/stale-overlay"
		fi
	done
	[ -z "$conflicts" ] || die "edited both in the tree and in the repo since the last sync:$conflicts (merge by hand, then export or sync)"
	[ -z "$homeless" ] || die "new files in the tree outside every overlay:$homeless (make their folder in an overlay, e.g. mkdir -p tlsh-kmod/$(dirname "${homeless# *}"), then export)"
}

export_cmd() {
	[ -f "$STATE/prepared" ] || die "no kernel tree at $TREE"
	local tmp p f src dst
	tmp=$(mktemp -d)
	compare_to "$tmp"
	declare -A own=() redo=()
	for p in $(series); do
		for f in $(patch_files "$KDIR/patches/$p"); do own[$f]=$p; done
	done
	local orphans=""
	while read -r f; do
		p=${own[$f]:-${EXPORT_PATCH:-}}
		[ -n "$p" ] || { orphans="$orphans $f"; continue; }
		own[$f]=$p
		redo[$p]=1
	done <"$tmp/stale-upstream"
	[ -z "$orphans" ] || die "changed upstream files that no patch owns:$orphans (name a patch: make kernel-export PATCH=NNNN-subject.patch)"
	for p in "${!redo[@]}"; do
		local pf=()
		for f in "${!own[@]}"; do [ "${own[$f]}" = "$p" ] && pf+=("$f"); done
		{
			if [ -f "$KDIR/patches/$p" ]; then
				sed '/^diff --git /,$d' "$KDIR/patches/$p"
			else
				printf 'Subject: [PATCH] %s\n\n' "${p%.patch}"
			fi
			g diff --no-color --no-ext-diff pristine -- "${pf[@]}"
		} >"$tmp/$p"
		if grep -q '^diff --git ' "$tmp/$p"; then
			cp "$tmp/$p" "$KDIR/patches/$p"
			echo "  EXPORT  kernel/patches/$p"
			grep -qx "$p" "$KDIR/patches/series" || echo "$p" >>"$KDIR/patches/series"
		else
			rm -f "$KDIR/patches/$p"
			sed -i "/^$p\$/d" "$KDIR/patches/series"
			echo "  DROP    kernel/patches/$p (no changes left)"
		fi
	done
	while IFS=$'\t' read -r src dst; do
		mkdir -p "$(dirname "$REPO/$src")"
		cp "$TREE/$dst" "$REPO/$src"
		echo "  EXPORT  $src"
	done <"$tmp/stale-overlay"
	rm -rf "$tmp"
	# The tree and the repo agree now.
	: >"$STATE/manifest"
	while IFS=$'\t' read -r src dst; do
		printf '%s\t%s\n' "$(sum "$REPO/$src")" "$dst" >>"$STATE/manifest"
	done < <(overlay_files)
	(cd "$KDIR/patches" && cat series $(series) | sha1sum | cut -d' ' -f1) >"$STATE/series.sum"
}

check() {
	[ -f "$STATE/prepared" ] || exit 0
	local tmp
	tmp=$(mktemp -d)
	if ! (compare_to "$tmp") 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		rm -rf "$tmp"
		exit 1
	fi
	if [ -s "$tmp/stale-upstream" ] || [ -s "$tmp/stale-overlay" ]; then
		{
			echo "kernel work tree differs from the repo in:"
			sed 's/^/  /' "$tmp/stale-upstream"
			cut -f2 "$tmp/stale-overlay" | sed 's/^/  /'
			echo "run 'make kernel-export' to keep these changes (or 'make kernel-reset' to drop them)"
		} >&2
		rm -rf "$tmp"
		exit 1
	fi
	rm -rf "$tmp"
}

config() {
	local frags=("$KDIR/config/base.config")
	local extra
	for extra in ${CONFIG_EXTRA:-}; do frags+=("$KDIR/config/$extra.config"); done
	local want
	want=$(cat "${frags[@]}" | sha1sum | cut -d' ' -f1)
	if [ -f "$TREE/.config" ] && [ "$(cat "$STATE/config.sum" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	echo "  CONFIG  allnoconfig + ${frags[*]##*/}"
	make -s -C "$TREE" ARCH=x86_64 allnoconfig >/dev/null
	(cd "$TREE" && ARCH=x86_64 scripts/kconfig/merge_config.sh -n -m .config "${frags[@]}" >/dev/null)
	make -s -C "$TREE" ARCH=x86_64 olddefconfig >/dev/null
	# merge_config only warns: every requested value must be in the result.
	local line opt val missing=""
	while read -r line; do
		case "$line" in ''|'#'*) continue ;; esac
		opt=${line%%=*}
		val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$opt=" "$TREE/.config" && missing="$missing $line"
		else
			grep -qx "$opt=$val" "$TREE/.config" || missing="$missing $line"
		fi
	done < <(cat "${frags[@]}")
	[ -z "$missing" ] || die "config options not in the final .config:$missing"
	echo "$want" >"$STATE/config.sum"
}

reset() {
	[ -f "$STATE/prepared" ] || exit 0
	rm -f "$STATE/series.sum" "$STATE/manifest"
	g checkout -q pristine -- .
	g clean -q -f -- $TOPDIRS >/dev/null
	touch "$STATE/manifest"
	sync
}

case "${1:-}" in
prepare) prepare ;;
sync) sync ;;
config) prepare; config ;;
export) export_cmd ;;
check) check ;;
reset) reset ;;
*) die "usage: tree.sh prepare|sync|config|export|check|reset" ;;
esac
