#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the kernel work-tree tooling (kernel/tree.sh, behind make
# kernel / kernel-export / kernel-check) on a tiny fake source tarball, so that
# it never touches the real tree in build/.
cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
top=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A fake pristine source and a fake repo with one patch and one overlay.
mkdir -p "$tmp/src/linux-source-6.1/net/core" "$tmp/src/linux-source-6.1/include/linux"
printf 'int a;\nint b;\n' >"$tmp/src/linux-source-6.1/net/core/sock.c"
printf '#define AF_MAX 46\n' >"$tmp/src/linux-source-6.1/include/linux/socket.h"
printf '.*\n*.o\n/*\n!/debian/\n' >"$tmp/src/linux-source-6.1/.gitignore"
tar -C "$tmp/src" -cJf "$tmp/src.tar.xz" linux-source-6.1
repo=$tmp/repo
mkdir -p "$repo/kernel/patches" "$repo/tlsh-kmod/net/tlsh"
cp kernel/tree.sh kernel/VERSION "$repo/kernel/"
echo tlsh-kmod >"$repo/kernel/overlays"
printf 'int x;\n' >"$repo/tlsh-kmod/net/tlsh/main.c"
printf 'README, not a kernel file\n' >"$repo/tlsh-kmod/README.md"
cat >"$repo/kernel/patches/0001-af.patch" <<'P'
Subject: [PATCH] net: add AF_TLSH

diff --git a/include/linux/socket.h b/include/linux/socket.h
--- a/include/linux/socket.h
+++ b/include/linux/socket.h
@@ -1 +1 @@
-#define AF_MAX 46
+#define AF_MAX 47
P
echo 0001-af.patch >"$repo/kernel/patches/series"
git -C "$repo" init -q
tree=$repo/build/linux
ts() { TREE_TARBALL=$tmp/src.tar.xz TREE=$tree "$repo/kernel/tree.sh" "$@"; }

tap_run "prepare unpacks and applies the series" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts prepare >/dev/null && grep -q 'AF_MAX 47' $tree/include/linux/socket.h"
tap_run "sync copies overlay files, not README" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts sync >/dev/null && test -f $tree/net/tlsh/main.c && ! test -e $tree/README.md"
tap_run "clean tree passes check" ts check

echo 'int c;' >>"$tree/net/core/sock.c"
out=$(ts check 2>&1) && rc=0 || rc=1
if [ $rc = 1 ] && grep -q 'net/core/sock.c' <<<"$out"; then
	tap_ok "edit to an unowned upstream file fails check, naming it"
else
	tap_fail "edit to an unowned upstream file fails check, naming it: rc=$rc: $out"
fi
tap_run "export into a named new patch" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; EXPORT_PATCH=0002-sock.patch ts export >/dev/null && grep -q '^+int c;' $repo/kernel/patches/0002-sock.patch && grep -qx 0002-sock.patch $repo/kernel/patches/series"
tap_run "check passes after export" ts check

sed -i 's/AF_MAX 47/AF_MAX 48/' "$tree/include/linux/socket.h"
out=$(ts check 2>&1) && rc=0 || rc=1
if [ $rc = 1 ] && grep -q 'include/linux/socket.h' <<<"$out"; then
	tap_ok "edit to a patched file fails check, naming it"
else
	tap_fail "edit to a patched file fails check, naming it: rc=$rc: $out"
fi
tap_run "export updates the owning patch, keeps its description" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts export >/dev/null && grep -q '^+#define AF_MAX 48' $repo/kernel/patches/0001-af.patch && grep -q '^Subject: \[PATCH\] net: add AF_TLSH' $repo/kernel/patches/0001-af.patch"

echo 'int y;' >"$tree/net/tlsh/new.c"
out=$(ts check 2>&1) && rc=0 || rc=1
if [ $rc = 1 ] && grep -q 'net/tlsh/new.c' <<<"$out"; then
	tap_ok "new file in an overlay folder fails check"
else
	tap_fail "new file in an overlay folder fails check: rc=$rc: $out"
fi
tap_run "export copies the new file into the overlay" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts export >/dev/null && cmp $tree/net/tlsh/new.c $repo/tlsh-kmod/net/tlsh/new.c"

echo 'int z;' >>"$repo/tlsh-kmod/net/tlsh/main.c"
tap_run "repo edit reaches the tree on sync" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts sync >/dev/null && cmp $repo/tlsh-kmod/net/tlsh/main.c $tree/net/tlsh/main.c"

echo 'int q;' >>"$repo/tlsh-kmod/net/tlsh/main.c"
tap_run "repo ahead of the tree is not a tree change" ts check
tap_run "sync brings the repo's edit in" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts sync >/dev/null && cmp $repo/tlsh-kmod/net/tlsh/main.c $tree/net/tlsh/main.c"

echo 'int t;' >>"$tree/net/tlsh/main.c"
echo 'int r;' >>"$repo/tlsh-kmod/net/tlsh/main.c"
if ts sync >/dev/null 2>&1; then
	tap_fail "file edited on both sides: sync refuses"
else
	tap_ok "file edited on both sides: sync refuses"
fi
if ts export >/dev/null 2>&1; then
	tap_fail "file edited on both sides: export refuses"
else
	tap_ok "file edited on both sides: export refuses"
fi
grep -q 'int r;' "$repo/tlsh-kmod/net/tlsh/main.c" && tap_ok "the repo's edit survives" || tap_fail "the repo's edit survives: export overwrote it"
tap_run "reset restores the tree from the repo" bash -c "$(declare -f ts); tmp=$tmp repo=$repo tree=$tree; ts reset >/dev/null && cmp $repo/tlsh-kmod/net/tlsh/main.c $tree/net/tlsh/main.c && ts check"
tap_done
