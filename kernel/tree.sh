#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel work tree: pristine Debian linux-source-6.1, the repo's patch
# series as one git commit per patch on top of it (branch "series"), the
# repo's new files (overlays, untracked in the tree's git), configured from
# config fragments.
#
#   tree.sh prepare   unpack the pinned source into $TREE if it is not there,
#                     commit it as "pristine", commit the series on top
#   tree.sh sync      bring the repo's patches and overlay files into the
#                     tree (refuses when the tree holds work not exported)
#   tree.sh config    allnoconfig + config fragments, then check every option
#   tree.sh export    write the tree's work back to the repo: edits to
#                     upstream files are folded into the commit of the patch
#                     they belong to (EXPORT_PATCH names it, see below), the
#                     commits become kernel/patches/NNNN-*.patch and series
#                     (git format-patch), new files go to their overlay
#   tree.sh check     exit 1, naming files and commits, when the tree holds
#                     work the repo does not
#   tree.sh reset     drop the tree's work, rebuild it from the repo
#   tree.sh overlays  list "repo-path<TAB>tree-path" of every overlay file
#
# Working in the tree: commit as you like on the "series" branch (a new
# commit becomes a new patch; "git commit --fixup=<commit>" amends one; an
# interactive rebase reorders or splits), or leave edits uncommitted and let
# export place them:
#   EXPORT_PATCH unset     each edited file goes to the one patch that
#                          already touches it (refused when none or several)
#   EXPORT_PATCH=NNNN      everything goes to patch NNNN (its number or file
#                          name in kernel/patches/series)
#   EXPORT_PATCH="new:SUBJECT"  everything becomes a new last patch
#
# Layout in the repo:
#   kernel/VERSION           pinned Debian package version of linux-source-6.1
#   kernel/patches/series    patch order
#   kernel/patches/*.patch   git format-patch files: From, Date, Subject,
#                            body with Signed-off-by, diffstat, diff
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
BRANCH=series
SERIES_HEADER="# The patch series, applied in this order with patch -p1 to the pristine
# linux-source-6.1.  make kernel-export writes it from the kernel tree's
# commits (kernel/tree.sh)."
# Patches without a Date: header get this one, so that export is repeatable.
DEFAULT_DATE="Thu, 1 Jan 2026 00:00:00 +0000"

die() { echo "tree.sh: $*" >&2; exit 1; }
g() { git -C "$TREE" "$@"; }

series_in() { grep -v '^\s*\(#\|$\)' "$1/series" 2>/dev/null || true; }
series() { series_in "$KDIR/patches"; }
series_sum() { (cd "$1" && cat series $(series_in "$1") 2>/dev/null | sha1sum | cut -d' ' -f1); }

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

# Commit the patches of directory $1 (its series) on top of pristine without
# touching the work tree; print the last commit.
build_chain() {
	local pdir=$1 idx tmp parent p tree author email date subject
	tmp=$(mktemp -d)
	idx=$tmp/index
	GIT_INDEX_FILE=$idx g read-tree pristine
	parent=$(g rev-parse pristine)
	for p in $(series_in "$pdir"); do
		[ -f "$pdir/$p" ] || die "series names $p, which is not in ${pdir#"$REPO"/}"
		g mailinfo "$tmp/msg" "$tmp/patch" <"$pdir/$p" >"$tmp/info"
		GIT_INDEX_FILE=$idx g apply --cached "$tmp/patch" 2>"$tmp/err" ||
			die "patch $p does not apply: $(head -n 3 "$tmp/err")"
		tree=$(GIT_INDEX_FILE=$idx g write-tree)
		author=$(sed -n 's/^Author: //p' "$tmp/info")
		email=$(sed -n 's/^Email: //p' "$tmp/info")
		date=$(sed -n 's/^Date: //p' "$tmp/info")
		subject=$(sed -n 's/^Subject: //p' "$tmp/info")
		[ -n "$subject" ] || die "patch $p has no Subject:"
		parent=$( { echo "$subject"; [ -s "$tmp/msg" ] && { echo; cat "$tmp/msg"; }; } |
			GIT_AUTHOR_NAME=${author:-rpctls} GIT_AUTHOR_EMAIL=${email:-rpctls@localhost} \
			GIT_AUTHOR_DATE=${date:-$DEFAULT_DATE} GIT_COMMITTER_DATE=${date:-$DEFAULT_DATE} \
			g commit-tree "$tree" -p "$parent")
	done
	rm -rf "$tmp"
	echo "$parent"
}

# Commits made in the tree (and their Signed-off-by) are the developer's:
# the identity of the repo's git configuration.
identity() {
	g config user.name "$(git -C "$REPO" config user.name || echo rpctls)"
	g config user.email "$(git -C "$REPO" config user.email || echo rpctls@localhost)"
}

prepare() {
	if [ -f "$STATE/prepared" ]; then
		return 0
	fi
	[ -f "$TARBALL" ] || die "$TARBALL missing: run make deps"
	local have want tip
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
	identity
	g config core.autocrlf false
	g config gc.auto 0
	g add -A .
	g commit -q -m "pristine linux-source-6.1 $want"
	g tag pristine
	echo "  SERIES  $(series | wc -l) patches"
	tip=$(build_chain "$KDIR/patches")
	g checkout -q -b "$BRANCH" "$tip"
	mkdir -p "$STATE"
	: >"$STATE/manifest"
	series_sum "$KDIR/patches" >"$STATE/series.sum"
	g rev-parse HEAD >"$STATE/exported"
	touch "$STATE/prepared" "$STATE/layout-commits"
}

# Trees made before the series became commits hold it as uncommitted edits
# on pristine: commit the series they were synced with under those edits,
# so that what is left uncommitted is exactly the unexported work.
migrate() {
	[ -f "$STATE/layout-commits" ] && return 0
	local have pdir tip
	have=$(cat "$STATE/series.sum" 2>/dev/null || true)
	if [ "$have" = "$(series_sum "$KDIR/patches")" ]; then
		pdir=$KDIR/patches
	elif [ -d "$STATE/synced-kdir/patches" ] &&
	     [ "$have" = "$(series_sum "$STATE/synced-kdir/patches")" ]; then
		pdir=$STATE/synced-kdir/patches
	else
		die "the kernel tree predates commits per patch and its series is unknown: run 'make kernel-reset' (drops its unexported edits)"
	fi
	echo "  MIGRATE the series becomes commits on pristine"
	identity
	tip=$(build_chain "$pdir")
	g checkout -q -B "$BRANCH"
	g reset -q "$tip"
	echo "$tip" >"$STATE/exported"
	rm -rf "$STATE/synced-kdir" "$STATE/synced-patches"
	touch "$STATE/layout-commits"
}

# The tree's record of what the repo held at the last sync: "sha  path".
manifest_sum() { grep -P "\t$1\$" "$STATE/manifest" | cut -f1 || true; }
sum() { sha1sum "$1" | cut -d' ' -f1; }

# Upstream files with uncommitted edits (overlay files are untracked).
dirty_upstream() { g diff --name-only HEAD -- . ':!.rpctls' 2>/dev/null || true; }

# Commits on the series branch that the repo does not hold yet.
unexported_commits() {
	local exported
	exported=$(cat "$STATE/exported" 2>/dev/null || true)
	[ "$(g rev-parse HEAD)" = "$exported" ] && return 0
	if [ -n "$exported" ] && g merge-base --is-ancestor "$exported" HEAD 2>/dev/null; then
		g log --format='%h %s' --reverse "$exported..HEAD"
	else
		echo "the series branch was rewritten since the last export (HEAD $(g rev-parse --short HEAD))"
	fi
}

# Re-apply the series when patches changed in the repo since the last sync.
sync_patches() {
	local want have tip
	want=$(series_sum "$KDIR/patches")
	have=$(cat "$STATE/series.sum" 2>/dev/null || true)
	[ "$want" = "$have" ] && return 0
	if [ -n "$(dirty_upstream)" ] || [ -n "$(unexported_commits)" ]; then
		die "the repo's patches changed and the tree holds unexported kernel work; run 'make kernel-export' first (or 'make kernel-reset' to drop it)"
	fi
	echo "  SERIES  re-applying the patch series"
	tip=$(build_chain "$KDIR/patches")
	# A two-way checkout rewrites only the files that differ.
	g checkout -q -B "$BRANCH" "$tip"
	echo "$want" >"$STATE/series.sum"
	echo "$tip" >"$STATE/exported"
}

sync() {
	prepare
	migrate
	sync_patches
	local new conflicts="" src dst rs ts ms
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

# New files in the tree: print "repo-path<TAB>tree-path" of overlay files
# that differ from the repo; fail, naming the files, when a new file has no
# home or an overlay file was edited on both sides.
stale_overlays() {
	local f src ms homeless="" conflicts=""
	declare -A ovl=()
	while IFS=$'\t' read -r src f; do ovl[$f]=$src; done < <(overlay_files)
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
			printf '%s\t%s\n' "$src" "$f"
		fi
	done
	[ -z "$conflicts" ] || die "edited both in the tree and in the repo since the last sync:$conflicts (merge by hand, then export or sync)"
	[ -z "$homeless" ] || die "new files in the tree outside every overlay:$homeless (make their folder in an overlay, e.g. mkdir -p tlsh-kmod/$(dirname "${homeless# *}"), then export)"
}

# The commit of the series that EXPORT_PATCH names (number or file name).
named_commit() {
	local want=$1 i=0 p n
	n=$(g rev-list --count pristine..HEAD)
	for p in $(series); do
		i=$((i + 1))
		case "$p" in "$want"|"$want"-*|"$want".patch) ;; *) continue ;; esac
		[ "$(series | wc -l)" = "$n" ] ||
			die "the tree has $n commits on pristine and the series $(series | wc -l) patches: export the commits first"
		g rev-list --reverse pristine..HEAD | sed -n "${i}p"
		return 0
	done
	die "EXPORT_PATCH=$want names no patch in kernel/patches/series"
}

# Fold uncommitted edits to upstream files into commits of the series.
commit_edits() {
	local files f c n target=${EXPORT_PATCH:-} orphans="" several=""
	files=$(dirty_upstream)
	[ -n "$files" ] || return 0
	case "$target" in
	new:*)
		[ -n "${target#new:}" ] || die "EXPORT_PATCH=new: needs a subject"
		g add -A -- $files
		g commit -q -s -m "${target#new:}"
		echo "  COMMIT  new patch: ${target#new:}"
		return 0
		;;
	'')
		declare -A to=()
		for f in $files; do
			c=$(g rev-list pristine..HEAD -- "$f")
			n=$(printf '%s' "$c" | grep -c . || true)
			case "$n" in
			0) orphans="$orphans $f" ;;
			1) to[$c]="${to[$c]:-} $f" ;;
			*) several="$several $f" ;;
			esac
		done
		[ -z "$orphans" ] || die "changed upstream files that no patch touches:$orphans (name one: make kernel-export PATCH=NNNN, or PATCH=new:'subsys: summary')"
		[ -z "$several" ] || die "changed upstream files that several patches touch:$several (name the one: make kernel-export PATCH=NNNN)"
		for c in "${!to[@]}"; do
			g add -A -- ${to[$c]}
			g commit -q --fixup="$c"
		done
		;;
	*)
		c=$(named_commit "$target")
		g add -A -- $files
		g commit -q --fixup="$c"
		;;
	esac
}

# Squash fixup!/squash! commits into their targets, keeping author dates
# (a patch's Date:) and making committer dates equal to them.
# On a conflict, go back to commit $1 with the edits uncommitted again.
autosquash() {
	local before=$1
	grep -q '^\(fixup\|squash\|amend\)! ' <<<"$(g log --format=%s pristine..HEAD)" || return 0
	if ! GIT_SEQUENCE_EDITOR=: GIT_EDITOR=: g rebase -q -i --autosquash \
			--committer-date-is-author-date pristine >/dev/null 2>&1; then
		g rebase --abort >/dev/null 2>&1 || true
		g reset -q "$before"
		die "folding the edits into their patches conflicts with a later patch; fold them by hand (git -C ${TREE#"$REPO"/} rebase -i --autosquash pristine), then export"
	fi
	echo "  FOLD    edits into their patches"
}

# Overlay files are the repo's plain files, never part of a patch: print
# those that a commit of the series holds ("git add -A" in the tree adds
# them), so that export and check can refuse them by name.
overlays_in_commits() {
	local paths
	paths=$(overlay_files | cut -f2)
	[ -n "$paths" ] || return 0
	g log --format= --name-only pristine..HEAD | sort -u | grep -xF "$paths" || true
}

# A patch file's subject, as git reads it.
subject_of() { git mailinfo /dev/null /dev/null <"$1" | sed -n 's/^Subject: //p'; }

# The commits become patch files.  A patch keeps its file name while its
# subject stays; a new or retitled one gets format-patch's name.
write_patches() {
	local tmp p old name
	tmp=$(mktemp -d)
	mkdir "$tmp/out"
	g format-patch -q -N --zero-commit --no-signature --stat=72 \
		-o "$tmp/out" pristine..HEAD >/dev/null
	old=$(series)
	declare -A by_subject=()
	for p in $old; do
		[ -f "$KDIR/patches/$p" ] && by_subject[$(subject_of "$KDIR/patches/$p")]=$p
	done
	printf '%s\n' "$SERIES_HEADER" >"$tmp/series"
	for p in $(cd "$tmp/out" && ls -1); do
		name=${by_subject[$(subject_of "$tmp/out/$p")]:-$p}
		[ "$name" = "$p" ] || mv "$tmp/out/$p" "$tmp/out/$name"
		echo "$name" >>"$tmp/series"
	done
	for p in $old; do
		grep -qx "$p" "$tmp/series" || { rm -f "$KDIR/patches/$p"; echo "  DROP    kernel/patches/$p"; }
	done
	for p in $(grep -v "^#" "$tmp/series"); do
		cmp -s "$tmp/out/$p" "$KDIR/patches/$p" && continue
		cp "$tmp/out/$p" "$KDIR/patches/$p"
		echo "  EXPORT  kernel/patches/$p"
	done
	cmp -s "$tmp/series" "$KDIR/patches/series" || cp "$tmp/series" "$KDIR/patches/series"
	rm -rf "$tmp"
}

export_cmd() {
	[ -f "$STATE/prepared" ] || die "no kernel tree at $TREE"
	migrate
	local overlays src dst orig bad
	overlays=$(stale_overlays)
	orig=$(g rev-parse HEAD)
	commit_edits
	autosquash "$orig"
	bad=$(overlays_in_commits)
	[ -z "$bad" ] || die "commits of the series hold overlay files:" $bad "(new files stay untracked in the tree; drop them from the commit with git rm --cached and commit --fixup)"
	write_patches
	while IFS=$'\t' read -r src dst; do
		[ -n "$src" ] || continue
		mkdir -p "$(dirname "$REPO/$src")"
		cp "$TREE/$dst" "$REPO/$src"
		echo "  EXPORT  $src"
	done <<<"$overlays"
	# The tree and the repo agree now, on the tree's content: an overlay
	# file the repo changed since the last sync keeps the sum of what the
	# tree holds, so that the next sync brings the repo's version in.
	: >"$STATE/manifest"
	while IFS=$'\t' read -r src dst; do
		if [ -f "$TREE/$dst" ]; then
			printf '%s\t%s\n' "$(sum "$TREE/$dst")" "$dst"
		else
			printf '%s\t%s\n' "$(sum "$REPO/$src")" "$dst"
		fi >>"$STATE/manifest"
	done < <(overlay_files)
	series_sum "$KDIR/patches" >"$STATE/series.sum"
	g rev-parse HEAD >"$STATE/exported"
}

check() {
	[ -f "$STATE/prepared" ] || exit 0
	migrate >/dev/null
	local err overlays dirty commits
	err=$(mktemp)
	if ! overlays=$(stale_overlays 2>"$err"); then
		cat "$err" >&2
		rm -f "$err"
		exit 1
	fi
	rm -f "$err"
	dirty=$(dirty_upstream)
	commits=$(unexported_commits)
	if [ -n "$overlays$dirty$commits" ]; then
		{
			echo "kernel work tree differs from the repo in:"
			[ -z "$dirty" ] || sed 's/^/  /' <<<"$dirty"
			[ -z "$overlays" ] || cut -f2 <<<"$overlays" | sed 's/^/  /'
			[ -z "$commits" ] || sed 's/^/  commit /' <<<"$commits"
			echo "run 'make kernel-export' to keep these changes (or 'make kernel-reset' to drop them)"
		} >&2
		exit 1
	fi
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
	local tip
	g rebase --abort >/dev/null 2>&1 || true
	tip=$(build_chain "$KDIR/patches")
	g checkout -q -f -B "$BRANCH" "$tip"
	g clean -q -f -- $TOPDIRS >/dev/null
	rm -rf "$STATE/synced-kdir" "$STATE/synced-patches"
	touch "$STATE/layout-commits"
	series_sum "$KDIR/patches" >"$STATE/series.sum"
	echo "$tip" >"$STATE/exported"
	: >"$STATE/manifest"
	sync
}

case "${1:-}" in
prepare) prepare ;;
sync) sync ;;
config) prepare; config ;;
export) export_cmd ;;
check) check ;;
reset) reset ;;
overlays) overlay_files ;;
*) die "usage: tree.sh prepare|sync|config|export|check|reset|overlays" ;;
esac
