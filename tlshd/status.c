// SPDX-License-Identifier: GPL-2.0
/*
 * The status codes tlshd reports, one table for both upcalls.
 *
 * A handshake ends with 0 or a positive errno.  The AF_TLSH upcall carries
 * it in struct tlsh_result.status, mainline's netlink upcall in
 * HANDSHAKE_A_DONE_STATUS; both kernels hand the consumer its negation.
 * What the consumers make of it:
 *
 *  - rpctls' SunRPC client and server (AF_TLSH) keep each value and name it
 *    in their log line;
 *  - mainline's SunRPC client (6.5+) keeps 0, EACCES and ETIMEDOUT and turns
 *    any other failure into EACCES; only ETIMEDOUT lets it retry;
 *  - mainline's nfsd closes the connection on any failure;
 *  - mainline's NVMe/TCP host and target read EKEYREJECTED as "PSK
 *    rejected" and retry on ETIMEDOUT.
 *
 * So a wrong credential must be EACCES or EKEYREJECTED, never ETIMEDOUT,
 * and a peer that merely went quiet must be ETIMEDOUT.  tlshd(8) documents
 * this table; tlshd-unit checks that the man page lists every entry.  A
 * status that is not in the table is reported as EIO (and logged): the
 * table is the whole contract.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "tlshd.h"

/*
 * The table is the kernel's, TLSH_STATUS_TABLE in <linux/tlsh.h>: the same
 * one its counters, its documentation and rpctls' SunRPC log lines are
 * built from.  tlshd reports the entries marked as the agent's; the others
 * (EPROTO, EPIPE) are the kernel's own.
 */
#define TLSHD_STATUS(e, name, by, what)	{ e, #e, what, by },

static const struct tlshd_status statuses[] = {
	{ 0, "0", "handshake done, kTLS installed both ways",
	  TLSH_STATUS_BY_AGENT },
	TLSH_STATUS_TABLE(TLSHD_STATUS)
};

#undef TLSHD_STATUS

static bool tlshd_status_reported(const struct tlshd_status *st)
{
	return st->st_by & TLSH_STATUS_BY_AGENT;
}

const struct tlshd_status *tlshd_status_table(size_t *n)
{
	*n = sizeof(statuses) / sizeof(statuses[0]);
	return statuses;
}

const char *tlshd_status_name(int status)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].st_errno == status &&
		    tlshd_status_reported(&statuses[i]))
			return statuses[i].st_name;
	return NULL;
}

int tlshd_status_check(int status, uint64_t req_id)
{
	if (tlshd_status_name(status))
		return status;
	tlshd_log_err("req=%llu: status %d is not in tlshd's status table; reporting EIO",
		      (unsigned long long)req_id, status);
	return EIO;
}
