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
 * MCL_ONFAULT, so that thread stacks are not populated up front).  It
 * also takes tlshd out of the OOM killer's choice (oom_score_adj -1000):
 * its few MiB of locked libraries make it the largest of the small
 * processes a memory-starved NFS client runs, and killing it leaves every
 * dropped TLS connection unable to reconnect, so the dirty pages that
 * would free memory stay dirty.  The flag and the exemption need
 * CAP_SYS_RESOURCE, the locking CAP_IPC_LOCK or an unlimited
 * RLIMIT_MEMLOCK: what could not be done is logged with its cause, and
 * tlshd serves anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* Out of the OOM killer's choice: 0, or the errno of the failed write. */
static int tlshd_reclaim_oom_exempt(void)
{
	static const char val[] = "-1000";
	ssize_t n;
	int fd, err = 0;

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = write(fd, val, sizeof(val) - 1);
	if (n < 0)
		err = errno;
	else if (n != (ssize_t)sizeof(val) - 1)
		err = EIO;
	close(fd);
	return err;
}

void tlshd_reclaim_guard(void)
{
	char fbuf[64], lbuf[96], obuf[64];
	int ferr = 0, lerr = 0, oerr;

	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		ferr = errno;
	lerr = tlshd_reclaim_may_lock();
	if (!lerr && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		lerr = errno;
	oerr = tlshd_reclaim_oom_exempt();
	if (!ferr && !lerr && !oerr)
		tlshd_log_info("in the writeback path: I/O flusher on, memory locked on, OOM killer exemption on");
	else
		tlshd_log_warn("in the writeback path: I/O flusher %s, memory locked %s, OOM killer exemption %s: under memory pressure, NFS writeback that waits for a handshake can wait for tlshd's own reclaim, or for a tlshd the OOM killer chose",
			       tlshd_reclaim_state(ferr, fbuf, sizeof(fbuf)),
			       tlshd_reclaim_state(lerr, lbuf, sizeof(lbuf)),
			       tlshd_reclaim_state(oerr, obuf, sizeof(obuf)));
}
