#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the kernel work-tree tooling (kernel/tree.sh, behind make
# kernel / kernel-export / kernel-check) on a tiny fake source tarball, so that
# it never touches the real tree in build/.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A fake pristine source and a fake repo with one patch and one overlay.
src=$tmp/src/linux-source-6.1
mkdir -p "$src/net/core" "$src/include/linux"
printf 'int a;\nint b;\n' >"$src/net/core/sock.c"
printf '#define AF_MAX 46\n' >"$src/include/linux/socket.h"
printf '.*\n*.o\n/*\n!/debian/\n' >"$src/.gitignore"
tar -C "$tmp/src" -cJf "$tmp/src.tar.xz" linux-source-6.1
repo=$tmp/repo
patches=$repo/kernel/patches
mkdir -p "$patches" "$repo/tlsh-kmod/net/tlsh"
cp kernel/tree.sh kernel/VERSION "$repo/kernel/"
echo tlsh-kmod >"$repo/kernel/overlays"
printf 'int x;\n' >"$repo/tlsh-kmod/net/tlsh/main.c"
printf 'README, not a kernel file\n' >"$repo/tlsh-kmod/README.md"
cat >"$patches/0001-af.patch" <<'P'
From: A Developer <dev@example.org>
Subject: [PATCH] net: add AF_TLSH

The handshake upcall's family.

Signed-off-by: A Developer <dev@example.org>
---
diff --git a/include/linux/socket.h b/include/linux/socket.h
--- a/include/linux/socket.h
+++ b/include/linux/socket.h
@@ -1 +1 @@
-#define AF_MAX 46
+#define AF_MAX 47
P
echo 0001-af.patch >"$patches/series"
git -C "$repo" init -q
tree=$repo/build/linux
ts() { TREE_TARBALL=$tmp/src.tar.xz TREE=$tree "$repo/kernel/tree.sh" "$@"; }
tg() { git -C "$tree" "$@"; }
# tsx PATCH CMD: tree.sh CMD with EXPORT_PATCH=PATCH
tsx() { (export EXPORT_PATCH=$1; shift; ts "$@"); }

# fails_naming NAME WANT CMD...: CMD must fail and say WANT.
fails_naming() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1) && rc=0 || rc=1
	if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out"; then
		tap_ok "$name"
	else
		tap_fail "$name: rc=$rc, want '$want' in: $out"
	fi
}

prepared() { ts prepare >/dev/null && grep -q 'AF_MAX 47' "$tree/include/linux/socket.h" &&
	[ "$(tg rev-list --count pristine..HEAD)" = 1 ] &&
	[ "$(tg log -1 --format='%an|%s' HEAD)" = 'A Developer|net: add AF_TLSH' ]; }
tap_run "prepare commits each patch on pristine, with its author and subject" prepared
synced() { ts sync >/dev/null && test -f "$tree/net/tlsh/main.c" && ! test -e "$tree/README.md"; }
tap_run "sync copies overlay files, not README" synced
tap_run "clean tree passes check" ts check

# A file no patch touches.
echo 'int c;' >>"$tree/net/core/sock.c"
fails_naming "edit to an untouched upstream file fails check, naming it" net/core/sock.c ts check
fails_naming "export refuses to guess its patch" "no patch touches: net/core/sock.c" ts export
new_patch() {
	EXPORT_PATCH="new:net: count sockets" ts export >/dev/null &&
	[ "$(grep -v '^#' "$patches/series")" = "$(printf '0001-af.patch\n0002-net-count-sockets.patch')" ] &&
	grep -q '^+int c;' "$patches/0002-net-count-sockets.patch" &&
	grep -q '^Subject: \[PATCH\] net: count sockets$' "$patches/0002-net-count-sockets.patch" &&
	grep -q '^Signed-off-by: ' "$patches/0002-net-count-sockets.patch" &&
	grep -q '^ net/core/sock.c | 1 +$' "$patches/0002-net-count-sockets.patch" &&
	test -e "$patches/0001-af.patch"
}
tap_run "export PATCH=new:... writes a format-patch file with sign-off and diffstat" new_patch
kept() {
	local p=$patches/0001-af.patch
	grep -q '^From: A Developer <dev@example.org>$' "$p" && grep -q '^The handshake upcall' "$p" &&
	grep -q '^Date: ' "$p" && grep -q '^From 0000000000000000000000000000000000000000 ' "$p"
}
tap_run "the first patch keeps author and body, gains Date and a zero From line" kept
tap_run "check passes after export" ts check
same_again() { local before; before=$(cat "$patches"/*); ts export >/dev/null && [ "$before" = "$(cat "$patches"/*)" ]; }
tap_run "export again changes nothing" same_again
applies() {
	rm -rf "$tmp/apply" && mkdir "$tmp/apply" && tar -C "$tmp/apply" -xJf "$tmp/src.tar.xz" &&
	local p
	for p in $(grep -v '^#' "$patches/series"); do
		patch -s -p1 -d "$tmp/apply/linux-source-6.1" <"$patches/$p" || return 1
	done
	grep -q 'int c;' "$tmp/apply/linux-source-6.1/net/core/sock.c"
}
tap_run "the exported series applies with patch -p1 to the pristine source" applies

# A file one patch touches: the edit is folded into that patch.
sed -i 's/AF_MAX 47/AF_MAX 48/' "$tree/include/linux/socket.h"
fails_naming "edit to a patched file fails check, naming it" include/linux/socket.h ts check
folded() {
	local p=$patches/0001-af.patch
	ts export >/dev/null && grep -q '^+#define AF_MAX 48' "$p" && grep -q '^The handshake upcall' "$p" &&
	[ "$(tg rev-list --count pristine..HEAD)" = 2 ] && [ "$(grep -vc '^#' "$patches/series")" = 2 ]
}
tap_run "export folds it into the patch that touches the file, keeps its description" folded

# A commit made in the tree is a new patch.
printf '#define SOL_TLSH 287\n' >>"$tree/include/linux/socket.h"
tg commit -q -a -s -m "net: add SOL_TLSH" -m "The option level."
fails_naming "a commit not exported fails check, naming it" "commit " ts check
committed() { ts export >/dev/null && grep -q '^+#define SOL_TLSH 287' "$patches/0003-net-add-SOL_TLSH.patch" &&
	grep -qx 0003-net-add-SOL_TLSH.patch "$patches/series"; }
tap_run "export turns a tree commit into a patch" committed

# Two patches touch socket.h now: export wants a name.
sed -i 's/AF_MAX 48/AF_MAX 49/' "$tree/include/linux/socket.h"
fails_naming "an edit to a file several patches touch needs a name" "several patches touch: include/linux/socket.h" ts export
fails_naming "a name that is no patch is refused" "names no patch" tsx 0009 export
# Folding AF_MAX 49 into 0001 conflicts with 0003, whose context has 48.
fails_naming "a fold that conflicts with a later patch is refused" "conflicts with a later patch" tsx 0001 export
kept_edit() { grep -q 'AF_MAX 49' "$tree/include/linux/socket.h" && [ -n "$(tg diff --name-only HEAD)" ] &&
	[ "$(tg rev-list --count pristine..HEAD)" = 3 ] && grep -q '^+#define AF_MAX 48' "$patches/0001-af.patch"; }
tap_run "after the refused fold the edit is still in the tree, the series as it was" kept_edit
named() { EXPORT_PATCH=0003 ts export >/dev/null && grep -q '^+#define AF_MAX 49' "$patches/0003-net-add-SOL_TLSH.patch" && ts check; }
tap_run "export PATCH=NNNN folds into the named patch" named
tg commit -q --amend -m "net: add SOL_TLSH for the agent" -m "The option level." -m "Signed-off-by: A Developer <dev@example.org>"
retitled() { ts export >/dev/null && test -f "$patches/0003-net-add-SOL_TLSH-for-the-agent.patch" &&
	! test -e "$patches/0003-net-add-SOL_TLSH.patch" && grep -qx 0003-net-add-SOL_TLSH-for-the-agent.patch "$patches/series" &&
	grep -qx 0001-af.patch "$patches/series"; }
tap_run "a retitled patch gets a new file name, the others keep theirs" retitled

# New files in an overlay folder.
echo 'int y;' >"$tree/net/tlsh/new.c"
fails_naming "new file in an overlay folder fails check" net/tlsh/new.c ts check
tap_run "export copies the new file into the overlay" bash -c "TREE_TARBALL=$tmp/src.tar.xz TREE=$tree $repo/kernel/tree.sh export >/dev/null && cmp $tree/net/tlsh/new.c $repo/tlsh-kmod/net/tlsh/new.c"
# An overlay file committed in the tree ("git add -A") is no patch's.
tg add -f net/tlsh/new.c && tg commit -q -s -m "net: tlsh: new file" -m "Committed by mistake."
fails_naming "export refuses a commit that holds an overlay file, naming it" "hold overlay files: net/tlsh/new.c" ts export
tg reset -q --soft HEAD~1 && tg rm -q --cached net/tlsh/new.c
tap_run "after the refusal and git rm --cached, check passes" ts check
echo 'int w;' >"$tree/net/core/new.c"
fails_naming "a new file outside every overlay is refused, named" "outside every overlay: net/core/new.c" ts check
rm -f "$tree/net/core/new.c"

# The repo moves (a pull): overlays and patches reach the tree on sync.
echo 'int z;' >>"$repo/tlsh-kmod/net/tlsh/main.c"
tap_run "repo ahead of the tree is not a tree change" ts check
# An export while the repo is ahead (nothing to export) must not record the
# repo's version as the tree's: the next sync still brings it in.
ahead_export() { ts export >/dev/null && ts check && ! cmp -s "$repo/tlsh-kmod/net/tlsh/main.c" "$tree/net/tlsh/main.c"; }
tap_run "export while the repo is ahead leaves the repo's edit for sync" ahead_export
tap_run "repo edit reaches the tree on sync" bash -c "TREE_TARBALL=$tmp/src.tar.xz TREE=$tree $repo/kernel/tree.sh sync >/dev/null && cmp $repo/tlsh-kmod/net/tlsh/main.c $tree/net/tlsh/main.c"
sed -i 's/^+int c;/+int c, d;/' "$patches/0002-net-count-sockets.patch"
tap_run "a patch changed in the repo is not a tree change" ts check
repatched() { ts sync >/dev/null && grep -q 'int c, d;' "$tree/net/core/sock.c" && ts check &&
	[ "$(tg log -1 --format=%s HEAD~1)" = "net: count sockets" ]; }
tap_run "sync re-applies the changed series as commits" repatched
echo 'int e;' >>"$tree/net/core/sock.c"
sed -i 's/^+int c, d;/+int c;/' "$patches/0002-net-count-sockets.patch"
fails_naming "sync refuses new patches over unexported tree work" "unexported kernel work" ts sync
grep -q 'int e;' "$tree/net/core/sock.c" && tap_ok "the tree's work survives the refusal" || tap_fail "the tree's work survives the refusal"
tap_run "reset drops the work and takes the repo's series" bash -c "TREE_TARBALL=$tmp/src.tar.xz TREE=$tree $repo/kernel/tree.sh reset >/dev/null && ! grep -q 'int e;\|int c, d;' $tree/net/core/sock.c && grep -q 'int c;' $tree/net/core/sock.c"

# Overlay edited on both sides.
echo 'int t;' >>"$tree/net/tlsh/main.c"
echo 'int r;' >>"$repo/tlsh-kmod/net/tlsh/main.c"
fails_naming "file edited on both sides: sync refuses" "edited both" ts sync
fails_naming "file edited on both sides: export refuses" "edited both" ts export
grep -q 'int r;' "$repo/tlsh-kmod/net/tlsh/main.c" && tap_ok "the repo's edit survives" || tap_fail "the repo's edit survives: export overwrote it"
reset_ok() { ts reset >/dev/null && cmp "$repo/tlsh-kmod/net/tlsh/main.c" "$tree/net/tlsh/main.c" && ts check; }
tap_run "reset restores the tree from the repo" reset_ok
tap_done
