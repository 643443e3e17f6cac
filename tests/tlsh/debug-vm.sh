#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One scenario on the debug kernel (lockdep, KASAN, kmemleak,
# DEBUG_OBJECTS: kernel/config/debug.config), built by make kernel-debug:
#   tests/tlsh/debug-vm.sh SCENARIO     (tests/scenarios/SCENARIO.sh)
# make check-debug runs the list in tests/suites-debug.  The scenario runs
# under tests/scenarios/debug-check.sh, which adds the kmemleak and dmesg
# checks after it.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

scenario=${1:?usage: debug-vm.sh SCENARIO}
DTREE=${DEBUG_TREE:-$PWD/build/linux-debug}
if [ ! -f "$DTREE/arch/x86/boot/bzImage" ] || [ ! -d "$DTREE-modules" ]; then
	# the project builds it (make check-debug does): missing is a failure
	tap_fail "$scenario on the debug kernel: no debug kernel in $DTREE: run make kernel-debug"
	exit 1
fi
# KASAN and lockdep slow the emulated guest down: more time, more memory.
# acpi=noirq: under TCG the debug kernel's ACPI interpreter ran so slowly
# that evaluating \_SB.PCI0._PRT hit AE_AML_LOOP_TIMEOUT (after an RCU
# stall) and the guest never reached init; PCI interrupts routed without
# ACPI boot it.  no_timer_check: one boot under load then panicked in
# setup_IO_APIC ("8254 timer not connected to IO-APIC").
# Bounds that the scenarios set for the test kernel (a refused mount fails
# within 10 s) are tripled: the debug kernel runs several times slower, and
# a sunrpc-tls run on it took 13.5 s for a refusal the test kernel makes in
# 1-3 s.  RPCTLS_* reaches the guest (tests/vm/run).
# The hung-task watchdog too (60 s, and a panic, on both kernels): on this
# one, 128 writers fsyncing through kTLS with memory pinned (fault case 9)
# waited more than 60 s for their writeback while the VM shared the host.
# RPCTLS_HUNG_TASK_SECS sets it for one suite: case 9 alone on this kernel
# kept single writers blocked more than 3 minutes under memory pressure,
# and all 128 finished in 407 s (issue 16, stop 23).
export RPCTLS_TIME_SCALE=${RPCTLS_TIME_SCALE:-3}
VM_KERNEL=$DTREE/arch/x86/boot/bzImage VM_MODULES=$DTREE-modules \
	VM_MEM=${VM_MEM:-3072} tests/vm/run --timeout "${VM_TIMEOUT:-3600}" \
	--append "acpi=noirq no_timer_check sysctl.kernel.hung_task_timeout_secs=${RPCTLS_HUNG_TASK_SECS:-$((60 * RPCTLS_TIME_SCALE))}" -- \
	tests/scenarios/debug-check.sh "$scenario"
