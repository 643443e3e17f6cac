// SPDX-License-Identifier: GPL-2.0
/*
 * rpctls' AF_TLSH upcall (tlsh-kmod/include/uapi/linux/tlsh.h): the
 * listeners a consumer's socket arrives on, the request parameters read
 * from it with getsockopt(SOL_TLSH), and the report with setsockopt
 * TLSH_RESULT.  The dispatcher (dispatch.c) accepts; a worker reports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tlshd.h"

static int get_opt(int fd, int opt, void *val, socklen_t len,
		   socklen_t *outlen)
{
	socklen_t l = len;

	if (getsockopt(fd, SOL_TLSH, opt, val, &l) < 0)
		return -errno;
	if (outlen)
		*outlen = l;
	else if (l != len)
		return -EINVAL;
	return 0;
}

int tlshd_upcall_read_params(int fd, struct tlshd_params *p)
{
	socklen_t len = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = get_opt(fd, TLSH_REQ_ID, &p->p_req_id, sizeof(p->p_req_id),
		      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_TYPE, &p->p_type, sizeof(p->p_type),
			      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_FLAGS, &p->p_flags, sizeof(p->p_flags),
			      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_TIMEOUT_MS, &p->p_timeout_ms,
			      sizeof(p->p_timeout_ms), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_X509_CERT, &p->p_cert,
			      sizeof(p->p_cert), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_PRIVKEY, &p->p_privkey,
			      sizeof(p->p_privkey), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_KEYRING, &p->p_keyring,
			      sizeof(p->p_keyring), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_PEERNAME, p->p_peername,
			      sizeof(p->p_peername) - 1, &len);
	if (!ret)
		ret = get_opt(fd, TLSH_PRIORITIES, p->p_priorities,
			      sizeof(p->p_priorities) - 1, &len);
	if (!ret) {
		ret = get_opt(fd, TLSH_PSK_IDS, p->p_psk_ids,
			      sizeof(p->p_psk_ids), &len);
		p->p_npsk = len / sizeof(p->p_psk_ids[0]);
	}
	p->p_peername[sizeof(p->p_peername) - 1] = '\0';
	p->p_priorities[sizeof(p->p_priorities) - 1] = '\0';
	return ret;
}

bool tlshd_upcall_tlsh_present(void)
{
	int fd = socket(AF_TLSH, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno != EAFNOSUPPORT;
	close(fd);
	return true;
}

/*
 * Before a success report: the CA that verified the peer, for the
 * consumer's logs and /proc/fs/nfsd/tls (kernels before TLSH_PEER_ANCHOR
 * answer ENOPROTOOPT, which is not worth a line).
 */
void tlshd_upcall_report_anchor(int fd, uint64_t req_id, const char *anchor)
{
	if (!anchor[0])
		return;
	if (setsockopt(fd, SOL_TLSH, TLSH_PEER_ANCHOR, anchor,
		       strlen(anchor) + 1) < 0 && errno != ENOPROTOOPT)
		tlshd_log_warn("req=%llu: reporting the trust anchor failed: %s",
			       (unsigned long long)req_id, strerror(errno));
}

void tlshd_upcall_report(int fd, uint64_t req_id, int status, int32_t peerid,
			 bool auth, bool alpn_none)
{
	struct tlsh_result r = {
		.status = status,
		.peerid = status ? 0 : peerid,
	};

	if (!status && auth)
		r.flags |= TLSH_RESULT_F_PEER_AUTHENTICATED;
	if (!status && alpn_none)
		r.flags |= TLSH_RESULT_F_NO_ALPN;

	if (setsockopt(fd, SOL_TLSH, TLSH_RESULT, &r, sizeof(r)) < 0)
		tlshd_log_warn("req=%llu: reporting the result failed: %s",
			       (unsigned long long)req_id, strerror(errno));
}

/*
 * An AF_TLSH listener for @family in our network namespace: a
 * non-blocking fd, or -errno (logged, with the likely cause).
 */
int tlshd_upcall_listen(int family)
{
	struct sockaddr_tlsh sa = {
		.tlsh_sa_family = AF_TLSH,
		.tlsh_family = (uint16_t)family,
	};
	const char *fam = family == AF_INET ? "AF_INET" : "AF_INET6";
	int fd;

	fd = socket(AF_TLSH, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;

		tlshd_log_err("socket(AF_TLSH): %s%s", strerror(e),
			      e == EAFNOSUPPORT ?
			      " (this kernel has no AF_TLSH handshake upcall: is the tlsh module loaded?)" :
			      "");
		return -e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		tlshd_log_err("bind(AF_TLSH, %s): %s%s", fam, strerror(e),
			      e == EADDRINUSE ?
			      " (another agent already serves this network namespace)" :
			      e == EPERM || e == EACCES ?
			      " (needs CAP_NET_ADMIN in this network namespace)" :
			      "");
		close(fd);
		return -e;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		tlshd_log_err("listen(AF_TLSH, %s): %s", fam, strerror(e));
		close(fd);
		return -e;
	}
	tlshd_log_info("listening for %s handshake requests", fam);
	return fd;
}
