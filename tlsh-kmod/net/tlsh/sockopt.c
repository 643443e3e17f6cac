// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_TLSH socket options on an accepted TCP socket: the agent reads the
 * request's parameters and reports the outcome.  net/socket.c routes
 * SOL_TLSH on TCP sockets here (struct sol_tlsh_ops).
 *
 * Errors: ENOENT when the socket has no accepted, live request (never
 * handed out, or already done, timed out or cancelled); ENOPROTOOPT for an
 * unknown option; EINVAL for a short scalar buffer or a bad report; ERANGE
 * for a short string or array buffer (*optlen then says how much is
 * needed).
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/sockptr.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "trace.h"

static int tlsh_put_scalar(char __user *optval, int __user *optlen, int len,
			   const void *val, int size)
{
	if (len < size)
		return -EINVAL;
	if (put_user(size, optlen) || copy_to_user(optval, val, size))
		return -EFAULT;
	return 0;
}

static int tlsh_put_buf(char __user *optval, int __user *optlen, int len,
			const void *val, int size)
{
	if (put_user(size, optlen))
		return -EFAULT;
	if (len < size)
		return -ERANGE;
	if (size && copy_to_user(optval, val, size))
		return -EFAULT;
	return 0;
}

static int tlsh_put_str(char __user *optval, int __user *optlen, int len,
			const char *str)
{
	if (!str)
		str = "";
	return tlsh_put_buf(optval, optlen, len, str, strlen(str) + 1);
}

static int tlsh_getopt(struct tlsh_req *req, int optname,
		       char __user *optval, int __user *optlen, int len)
{
	switch (optname) {
	case TLSH_TYPE:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_type,
				       sizeof(u32));
	case TLSH_FLAGS:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_flags,
				       sizeof(u32));
	case TLSH_PEERNAME:
		return tlsh_put_str(optval, optlen, len, req->tr_peername);
	case TLSH_X509_CERT:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_x509_cert,
				       sizeof(s32));
	case TLSH_PRIVKEY:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_privkey,
				       sizeof(s32));
	case TLSH_PSK_IDS:
		return tlsh_put_buf(optval, optlen, len, req->tr_psk_ids,
				    req->tr_num_psk_ids * sizeof(s32));
	case TLSH_KEYRING:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_keyring,
				       sizeof(s32));
	case TLSH_TIMEOUT_MS:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_timeout_ms,
				       sizeof(u32));
	case TLSH_PRIORITIES:
		return tlsh_put_str(optval, optlen, len, req->tr_priorities);
	case TLSH_REQ_ID:
		return tlsh_put_scalar(optval, optlen, len, &req->tr_id,
				       sizeof(u64));
	default:
		return -ENOPROTOOPT;
	}
}

static int tlsh_getsockopt(struct socket *sock, int optname,
			   char __user *optval, int __user *optlen)
{
	struct tlsh_req *req;
	int len, err;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	req = tlsh_req_lookup(sock);
	if (!req)
		return -ENOENT;
	err = tlsh_getopt(req, optname, optval, optlen, len);
	trace_tlsh_getsockopt(req, optname, err);
	tlsh_req_put(req);
	return err;
}

/* TLSH_PEER_ANCHOR: a string, at most TLSH_ANCHOR_MAX - 1 bytes kept */
static int tlsh_set_anchor(struct socket *sock, sockptr_t optval,
			   unsigned int optlen)
{
	char anchor[TLSH_ANCHOR_MAX];
	struct tlsh_req *req;

	if (!optlen)
		return -EINVAL;
	optlen = min_t(unsigned int, optlen, sizeof(anchor) - 1);
	if (copy_from_sockptr(anchor, optval, optlen))
		return -EFAULT;
	anchor[optlen] = '\0';
	req = tlsh_req_lookup(sock);
	if (!req)
		return -ENOENT;
	tlsh_req_set_anchor(req, anchor);
	tlsh_req_put(req);
	return 0;
}

static int tlsh_setsockopt(struct socket *sock, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct tlsh_result res;
	struct tlsh_req *req;
	int err;

	if (optname == TLSH_PEER_ANCHOR)
		return tlsh_set_anchor(sock, optval, optlen);
	if (optname != TLSH_RESULT)
		return -ENOPROTOOPT;
	if (optlen < sizeof(res))
		return -EINVAL;
	if (copy_from_sockptr(&res, optval, sizeof(res)))
		return -EFAULT;
	if (res.reserved || (res.flags & ~TLSH_RESULT_F_ALL))
		return -EINVAL;
	if (res.status < 0 || res.status >= MAX_ERRNO)
		return -EINVAL;
	/* A peer identity is the agent's word that it verified the peer:
	 * consumers grant it (nfsd's mtls), so it needs the flag that says so.
	 */
	if (!res.status && res.peerid &&
	    !(res.flags & TLSH_RESULT_F_PEER_AUTHENTICATED))
		return -EINVAL;
	req = tlsh_req_lookup(sock);
	if (!req)
		return -ENOENT;
	err = tlsh_req_report(req, -res.status, res.peerid);
	if (!err && !res.status && (res.flags & TLSH_RESULT_F_NO_ALPN))
		tlsh_stat_inc(req->tr_tn, TLSH_STAT_ALPN_NONE);
	tlsh_req_put(req);
	return err;
}

static const struct sol_tlsh_ops tlsh_sol_ops = {
	.owner		= THIS_MODULE,
	.setsockopt	= tlsh_setsockopt,
	.getsockopt	= tlsh_getsockopt,
};

void tlsh_sockopt_init(void)
{
	sol_tlsh_register(&tlsh_sol_ops);
}

void tlsh_sockopt_exit(void)
{
	sol_tlsh_unregister(&tlsh_sol_ops);
}
