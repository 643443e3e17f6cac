/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TLSH consumer API: ask the user-space handshake agent to run a TLS
 * handshake on a connected kernel TCP socket.
 *
 * The consumer owns @ta_sock, which must have a struct file
 * (sock_alloc_file()): the agent receives that file through accept().
 * While the request lives, tlsh holds a reference on the file, so the
 * consumer may release its own reference at any time.
 *
 * A tlsh_*_hello_*() call returns 0 when the request was queued: @ta_done
 * will then be called exactly once, unless tlsh_cancel() returns true
 * first.  A negative return means @ta_done will never be called:
 *
 *	-EINVAL		bad arguments (no file, not TCP, missing keys, ...)
 *	-ENOTCONN	the socket is not connected
 *	-EAFNOSUPPORT	the socket is neither AF_INET nor AF_INET6
 *	-ESRCH		no agent listens for this family in the socket's
 *			network namespace (fail the mount at once)
 *	-EBUSY		a request is already pending on this socket, or the
 *			listener's queue is full
 *	-ENOMEM
 *
 * @ta_done(data, status, peerid) runs in process context (the agent's
 * setsockopt(), the agent's close of its listener, or the tlsh
 * workqueue for timeouts) with no tlsh lock held.  It may queue work or
 * take a mutex, but should not wait for a long time.  @status is 0
 * (handshake done, kTLS TX and RX are installed) or the negation of an
 * errno of TLSH_STATUS_TABLE in <uapi/linux/tlsh.h>, which says what each
 * means; an agent that reports another errno is passed through.
 *
 * @peerid is the key serial of the authenticated peer identity (certificate
 * or PSK) on success, 0 otherwise; @ta_peer_anchor, when given, holds the
 * trust anchor the agent reported by then.
 *
 * Submission and tlsh_cancel() may sleep.  See
 * Documentation/networking/tls-handshake-upcall.rst.
 */
#ifndef _NET_TLSH_H
#define _NET_TLSH_H

#include <linux/types.h>
#include <linux/key.h>
#include <uapi/linux/tlsh.h>

struct socket;

typedef void (*tlsh_done_t)(void *data, int status, key_serial_t peerid);

/* Timeout used when ta_timeout_ms is 0, and the largest one accepted */
#define TLSH_DEFAULT_TIMEOUT_MS	20000U
#define TLSH_MAX_TIMEOUT_MS	600000U

struct tlsh_args {
	struct socket		*ta_sock;
	tlsh_done_t		ta_done;
	void			*ta_data;
	const char		*ta_peername;	/* SNI and certificate check */
	unsigned int		ta_timeout_ms;	/* 0: TLSH_DEFAULT_TIMEOUT_MS */
	key_serial_t		ta_keyring;
	key_serial_t		ta_x509_cert;
	key_serial_t		ta_privkey;
	const key_serial_t	*ta_psk_ids;
	unsigned int		ta_num_psk_ids;
	const char		*ta_priorities;	/* NULL: agent's default */
	u32			ta_flags;	/* TLSH_F_* (uapi/linux/tlsh.h) */
	/*
	 * Optional: on success, before ta_done, the trust anchor that
	 * verified the peer as the agent names it (TLSH_PEER_ANCHOR),
	 * NUL-terminated and cut to fit; "" when it named none.
	 */
	char			*ta_peer_anchor;
	size_t			ta_peer_anchor_len;
};

int tlsh_client_hello_anon(const struct tlsh_args *args);
int tlsh_client_hello_x509(const struct tlsh_args *args);
int tlsh_client_hello_psk(const struct tlsh_args *args);
int tlsh_server_hello_x509(const struct tlsh_args *args);
int tlsh_server_hello_psk(const struct tlsh_args *args);

/*
 * Withdraw the pending request on @sock.  True: the request is gone and
 * ta_done will not be called.  False: there was no pending request, or its
 * ta_done has been or is being called.
 */
bool tlsh_cancel(struct socket *sock);

#endif /* _NET_TLSH_H */
