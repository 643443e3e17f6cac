/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_TLSH: the TLS handshake upcall.
 *
 * A kernel consumer (SunRPC, a test module, ...) that owns a connected TCP
 * socket asks a user-space agent to perform a TLS handshake on it.  The
 * agent:
 *
 *   1. fd = socket(AF_TLSH, SOCK_STREAM, 0);
 *      bind(fd, &(struct sockaddr_tlsh){ .tlsh_sa_family = AF_TLSH,
 *                                        .tlsh_family = AF_INET }, ...);
 *      listen(fd, backlog);
 *      One listener per address family (AF_INET, AF_INET6) per network
 *      namespace; a second bind() fails with EADDRINUSE.  bind() needs
 *      CAP_NET_ADMIN in the socket's network namespace.
 *   2. poll(fd, POLLIN); tcp = accept(fd, NULL, NULL);
 *      @tcp is the consumer's connected TCP socket.
 *   3. getsockopt(tcp, SOL_TLSH, TLSH_*, ...) reads the request parameters.
 *   4. The agent runs the handshake on @tcp, installs the kTLS keys
 *      (TCP_ULP "tls", TLS_TX and TLS_RX), then reports the outcome:
 *      optionally setsockopt(tcp, SOL_TLSH, TLSH_PEER_ANCHOR, name, len)
 *      for a verified peer, then
 *      setsockopt(tcp, SOL_TLSH, TLSH_RESULT, &result, sizeof(result));
 *   5. close(tcp).
 *
 * @tcp is the consumer's own socket file: closing it tells the kernel
 * nothing (the consumer holds it too), so a request the agent closes
 * without a TLSH_RESULT report stays with the agent until the request's
 * timeout, which the kernel enforces whatever the agent does, fails it
 * with ETIMEDOUT.  The agent's listener going away fails every request it
 * holds, queued or accepted, at once with EPIPE.  An accept() that fails
 * after taking a request (for instance EFAULT copying the peer address)
 * puts the request back at the head of the queue.
 */
#ifndef _UAPI_LINUX_TLSH_H
#define _UAPI_LINUX_TLSH_H

#include <linux/types.h>
#include <linux/socket.h>

#ifndef AF_TLSH
#define AF_TLSH		46
#endif
#ifndef PF_TLSH
#define PF_TLSH		AF_TLSH
#endif
#ifndef SOL_TLSH
#define SOL_TLSH	287
#endif

/* bind() address of a listener */
struct sockaddr_tlsh {
	__kernel_sa_family_t	tlsh_sa_family;	/* AF_TLSH */
	__u16			tlsh_family;	/* AF_INET or AF_INET6 */
	__u32			tlsh_reserved;	/* must be zero */
};

/* TLSH_TYPE values */
enum tlsh_type {
	TLSH_TYPE_CLIENTHELLO_ANON	= 1,	/* x.509, no client certificate */
	TLSH_TYPE_CLIENTHELLO_X509	= 2,	/* x.509, mutual */
	TLSH_TYPE_CLIENTHELLO_PSK	= 3,
	TLSH_TYPE_SERVERHELLO_X509	= 4,
	TLSH_TYPE_SERVERHELLO_PSK	= 5,
};

/* TLSH_FLAGS bits */
#define TLSH_F_PEER_CERT_REQUIRED	(1U << 0) /* server: client cert required */

/*
 * Socket options at level SOL_TLSH on an accepted fd.  Reading an option
 * whose value was not set by the consumer returns a zero value (an empty
 * string, a zero serial, an empty array).
 */
enum {
	TLSH_TYPE		= 1,	/* get: __u32, enum tlsh_type */
	TLSH_FLAGS		= 2,	/* get: __u32, TLSH_F_* */
	TLSH_PEERNAME		= 3,	/* get: NUL-terminated string */
	TLSH_X509_CERT		= 4,	/* get: __s32 key serial, 0 = none */
	TLSH_PRIVKEY		= 5,	/* get: __s32 key serial, 0 = none */
	TLSH_PSK_IDS		= 6,	/* get: __s32[] key serials */
	TLSH_KEYRING		= 7,	/* get: __s32 key serial, 0 = none */
	TLSH_TIMEOUT_MS		= 8,	/* get: __u32, whole request timeout */
	TLSH_PRIORITIES		= 9,	/* get: NUL-terminated string, may be "" */
	TLSH_REQ_ID		= 10,	/* get: __u64 request id (logs, traces) */
	TLSH_RESULT		= 20,	/* set: struct tlsh_result */
	TLSH_PEER_ANCHOR	= 21,	/* set, before TLSH_RESULT: the trust
					 * anchor that verified the peer, a
					 * string of at most TLSH_ANCHOR_MAX
					 * bytes with its NUL (longer names
					 * are cut), for the consumer's logs
					 */
};

/* TLSH_RESULT: the agent's report */
struct tlsh_result {
	__s32	status;		/* 0, or TLSH_STATUS_TABLE's errno */
	__s32	peerid;		/* success: key serial of the verified peer
				 * certificate, or of the PSK identity used;
				 * 0 when the peer was not authenticated
				 */
	__u32	flags;		/* TLSH_RESULT_F_* */
	__u32	reserved;	/* must be zero */
};

/*
 * Handshake status codes: one table for the agent, the kernel's counters
 * (failed_NAME in /proc/net/tlsh), the consumers' log lines and the
 * documentation.  A request ends with 0 or one of these; the agent reports
 * the positive errno in struct tlsh_result.status, consumers receive its
 * negation.  TLSH_STATUS_BY_AGENT: the agent reports it (an agent reports
 * nothing else: an unknown status is counted as failed_other);
 * TLSH_STATUS_BY_KERNEL: tlsh ends a request with it.  A wrong credential
 * is EACCES or EKEYREJECTED, never ETIMEDOUT, which consumers may retry.
 *
 * TLSH_STATUS_TABLE(S) expands S(errno, name, by, meaning) for each.
 */
#define TLSH_STATUS_BY_AGENT	1
#define TLSH_STATUS_BY_KERNEL	2
#define TLSH_STATUS_BY_BOTH	3

#define TLSH_STATUS_TABLE(S)						\
	S(EACCES, eacces, TLSH_STATUS_BY_AGENT,				\
	  "the peer's certificate was rejected (chain, name, validity, "	\
	  "revocation, EKU, a required certificate missing), or the "	\
	  "peer rejected ours")						\
	S(EKEYREJECTED, ekeyrejected, TLSH_STATUS_BY_AGENT,		\
	  "PSK identity unknown or PSK wrong")				\
	S(ENOKEY, enokey, TLSH_STATUS_BY_AGENT,				\
	  "our own certificate, key or PSK is not available")		\
	S(EPROTONOSUPPORT, eprotonosupport, TLSH_STATUS_BY_AGENT,	\
	  "the peer cannot do what RFC 9289 requires (TLS 1.3, ALPN, a "	\
	  "cipher kTLS runs), or the agent does not serve this request")	\
	S(ETIMEDOUT, etimedout, TLSH_STATUS_BY_BOTH,			\
	  "not done within the request's timeout")			\
	S(ECONNRESET, econnreset, TLSH_STATUS_BY_AGENT,			\
	  "the peer closed or reset the connection")			\
	S(EINVAL, einval, TLSH_STATUS_BY_AGENT,				\
	  "the agent found the request's parameters malformed or "	\
	  "unsupported")						\
	S(ENOMEM, enomem, TLSH_STATUS_BY_AGENT,				\
	  "the agent ran out of memory")				\
	S(EIO, eio, TLSH_STATUS_BY_AGENT,				\
	  "anything else: malformed records, kTLS refused the keys, the "	\
	  "agent shutting down; the agent's log says which")		\
	S(EPROTO, eproto, TLSH_STATUS_BY_KERNEL,			\
	  "the agent reported success but kTLS is not installed")	\
	S(EPIPE, epipe, TLSH_STATUS_BY_KERNEL,				\
	  "the agent went away (its listener was closed)")

/* success: the agent verified the peer (its certificate chain and name,
 * or its PSK).  A report that names a peer (peerid) without it is refused
 * with EINVAL; with it and peerid 0 the peer is verified but has no key.
 */
#define TLSH_RESULT_F_PEER_AUTHENTICATED	(1U << 0)
/* success: the peer negotiated no ALPN (RFC 9289 wants "sunrpc"; deployed
 * peers send none, so agents accept that unless configured strict)
 */
#define TLSH_RESULT_F_NO_ALPN			(1U << 1)
#define TLSH_RESULT_F_ALL	(TLSH_RESULT_F_PEER_AUTHENTICATED | \
				 TLSH_RESULT_F_NO_ALPN)

#define TLSH_PEERNAME_MAX	256
#define TLSH_PRIORITIES_MAX	512
#define TLSH_PSK_IDS_MAX	16
#define TLSH_ANCHOR_MAX		128

#endif /* _UAPI_LINUX_TLSH_H */
