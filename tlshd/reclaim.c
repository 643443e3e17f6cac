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
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

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
	snprintf(buf, len, "off (%s)", strerror(err));
	return buf;
}

/* Returns a bit per guard in place: 1 the I/O flusher, 2 the lock. */
int tlshd_reclaim_guard(void)
{
	char fbuf[64], lbuf[64];
	int ferr = 0, lerr = 0;

	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		ferr = errno;
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		lerr = errno;
	if (!ferr && !lerr)
		tlshd_log_info("in the writeback path: I/O flusher on, memory locked on");
	else
		tlshd_log_warn("in the writeback path: I/O flusher %s, memory locked %s: under memory pressure, NFS writeback that waits for a handshake can wait for tlshd's own reclaim",
			       tlshd_reclaim_state(ferr, fbuf, sizeof(fbuf)),
			       tlshd_reclaim_state(lerr, lbuf, sizeof(lbuf)));
	return (ferr ? 0 : 1) | (lerr ? 0 : 2);
}
