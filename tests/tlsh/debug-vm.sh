#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tlsh-upcall scenario on the debug kernel (lockdep, KASAN, kmemleak,
# DEBUG_OBJECTS: kernel/config/debug.config), when it has been built with
#   make kernel-debug
# Skipped otherwise: the debug build is a second cold kernel build.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

DTREE=${DEBUG_TREE:-$PWD/build/linux-debug}
if [ ! -f "$DTREE/arch/x86/boot/bzImage" ] || [ ! -d "$DTREE-modules" ]; then
	tap_skip "tlsh-upcall on the debug kernel" "no debug kernel: run make kernel-debug"
	exit 0
fi
# KASAN and lockdep slow the emulated guest down: more time, more memory.
VM_KERNEL=$DTREE/arch/x86/boot/bzImage VM_MODULES=$DTREE-modules \
	VM_MEM=${VM_MEM:-3072} tests/vm/run --timeout "${VM_TIMEOUT:-1800}" -- \
	tests/scenarios/tlsh-upcall.sh
