// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd sits in the kernel's writeback path: an NFS mount whose
 * connection dropped cannot write a dirty page back until tlshd has done
 * a new handshake.  If tlshd then needs memory, direct reclaim may wait
 * for that very writeback, and if its code was paged out, a page fault
 * may wait on I/O too.  tlshd_reclaim_guard() declares the process an
 * I/O flusher (PR_SET_IO_FLUSHER, Linux 5.6: its allocations do not
 * recurse into I/O and it is not throttled as a dirtier; its threads
 * inherit it) and locks its pages as they are touched (mlockall with
 * MCL_ONFAULT, so that thread stacks are not populated up front).  Each
 * needs a privilege (CAP_SYS_RESOURCE; CAP_IPC_LOCK or RLIMIT_MEMLOCK):
 * what could not be done is logged with its cause, and tlshd serves
 * anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "tlshd.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER	57
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT		4
#endif

static const char *tlshd_reclaim_state(int err, char *buf, size_t len)
{
	if (!err)
		return "on";
	if (err == EDQUOT)
		snprintf(buf, len, "off (RLIMIT_MEMLOCK is not infinity and no CAP_IPC_LOCK)");
	else
		snprintf(buf, len, "off (%s)", strerror(err));
	return buf;
}

/*
 * May every future mapping be locked?  Only without a limit: with
 * MCL_FUTURE, a mapping that would take the locked total past
 * RLIMIT_MEMLOCK fails (a new worker's stack, a malloc arena), which is
 * worse than paging.  CAP_IPC_LOCK lifts the limit.
 */
static int tlshd_reclaim_may_lock(void)
{
	char line[128];
	uint64_t eff = 0;
	struct rlimit rl;
	FILE *f;

	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur == RLIM_INFINITY)
		return 0;
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1)
				break;
		fclose(f);
	}
	return eff & (UINT64_C(1) << 14) ? 0 : EDQUOT;	/* CAP_IPC_LOCK */
}

void tlshd_reclaim_guard(void)
{
	char fbuf[64], lbuf[96];
	int ferr = 0, lerr = 0;

	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		ferr = errno;
	lerr = tlshd_reclaim_may_lock();
	if (!lerr && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		lerr = errno;
	if (!ferr && !lerr)
		tlshd_log_info("in the writeback path: I/O flusher on, memory locked on");
	else
		tlshd_log_warn("in the writeback path: I/O flusher %s, memory locked %s: under memory pressure, NFS writeback that waits for a handshake can wait for tlshd's own reclaim",
			       tlshd_reclaim_state(ferr, fbuf, sizeof(fbuf)),
			       tlshd_reclaim_state(lerr, lbuf, sizeof(lbuf)));
}
