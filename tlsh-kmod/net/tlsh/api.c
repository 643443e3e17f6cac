// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TLSH consumer API (include/net/tlsh.h): check a consumer's arguments
 * for one handshake type, then queue the request.
 */

#include <linux/export.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/string.h>
#include <net/tcp_states.h>

#include "internal.h"

/* What each handshake type needs from the consumer */
#define CERT_PAIR	BIT(0)	/* certificate and key serials: both or neither */
#define NEED_PSK	BIT(1)
#define SERVER		BIT(2)

static int tlsh_args_check(const struct tlsh_args *args, unsigned int need)
{
	struct socket *sock = args->ta_sock;
	struct sock *sk;

	if (!sock || !sock->file || !sock->sk || !args->ta_done)
		return -EINVAL;
	sk = sock->sk;
	if (!sk_is_tcp(sk))
		return -EINVAL;
	if (tlsh_family_slot(sk->sk_family) < 0)
		return -EAFNOSUPPORT;
	if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return -ENOTCONN;
	if (args->ta_timeout_ms > TLSH_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (args->ta_flags & ~TLSH_F_PEER_CERT_REQUIRED)
		return -EINVAL;
	if ((args->ta_flags & TLSH_F_PEER_CERT_REQUIRED) && !(need & SERVER))
		return -EINVAL;
	if (args->ta_peername &&
	    strnlen(args->ta_peername, TLSH_PEERNAME_MAX) >= TLSH_PEERNAME_MAX)
		return -EINVAL;
	if (args->ta_priorities &&
	    strnlen(args->ta_priorities, TLSH_PRIORITIES_MAX) >=
	    TLSH_PRIORITIES_MAX)
		return -EINVAL;
	if (args->ta_num_psk_ids > TLSH_PSK_IDS_MAX ||
	    (args->ta_num_psk_ids && !args->ta_psk_ids))
		return -EINVAL;
	if ((need & CERT_PAIR) && !args->ta_x509_cert != !args->ta_privkey)
		return -EINVAL;
	if ((need & NEED_PSK) && !args->ta_num_psk_ids)
		return -EINVAL;
	return 0;
}

static int tlsh_hello(u32 type, const struct tlsh_args *args,
		      unsigned int need)
{
	int err = tlsh_args_check(args, need);

	return err ? err : tlsh_req_submit(type, args);
}

/**
 * tlsh_client_hello_anon - client handshake, server authenticated only
 * @args: the socket, done callback and parameters
 *
 * Returns 0 (ta_done will run) or a negative errno (it will not).
 */
int tlsh_client_hello_anon(const struct tlsh_args *args)
{
	return tlsh_hello(TLSH_TYPE_CLIENTHELLO_ANON, args, 0);
}
EXPORT_SYMBOL_GPL(tlsh_client_hello_anon);

/**
 * tlsh_client_hello_x509 - client handshake with a client certificate
 * @args: ta_x509_cert and ta_privkey both, or neither to have the agent
 *	  present its own configured client certificate
 *
 * Returns 0 (ta_done will run) or a negative errno (it will not).
 */
int tlsh_client_hello_x509(const struct tlsh_args *args)
{
	return tlsh_hello(TLSH_TYPE_CLIENTHELLO_X509, args, CERT_PAIR);
}
EXPORT_SYMBOL_GPL(tlsh_client_hello_x509);

/**
 * tlsh_client_hello_psk - client handshake with a pre-shared key
 * @args: needs at least one PSK identity in ta_psk_ids
 *
 * Returns 0 (ta_done will run) or a negative errno (it will not).
 */
int tlsh_client_hello_psk(const struct tlsh_args *args)
{
	return tlsh_hello(TLSH_TYPE_CLIENTHELLO_PSK, args, NEED_PSK);
}
EXPORT_SYMBOL_GPL(tlsh_client_hello_psk);

/**
 * tlsh_server_hello_x509 - server handshake with a certificate
 * @args: ta_x509_cert and ta_privkey both, or neither to have the agent
 *	  present its own configured certificate; TLSH_F_PEER_CERT_REQUIRED
 *	  makes a client certificate mandatory
 *
 * Returns 0 (ta_done will run) or a negative errno (it will not).
 */
int tlsh_server_hello_x509(const struct tlsh_args *args)
{
	return tlsh_hello(TLSH_TYPE_SERVERHELLO_X509, args,
			  CERT_PAIR | SERVER);
}
EXPORT_SYMBOL_GPL(tlsh_server_hello_x509);

/**
 * tlsh_server_hello_psk - server handshake with pre-shared keys
 * @args: the agent finds the client's PSK identity in ta_keyring
 *
 * Returns 0 (ta_done will run) or a negative errno (it will not).
 */
int tlsh_server_hello_psk(const struct tlsh_args *args)
{
	return tlsh_hello(TLSH_TYPE_SERVERHELLO_PSK, args, SERVER);
}
EXPORT_SYMBOL_GPL(tlsh_server_hello_psk);

/**
 * tlsh_cancel - withdraw the pending handshake request on @sock
 * @sock: the consumer's socket
 *
 * Returns true when the request was withdrawn before its ta_done ran;
 * ta_done will then never run.  Returns false when there was no pending
 * request, or when ta_done has run or is running.
 */
bool tlsh_cancel(struct socket *sock)
{
	return tlsh_req_cancel(sock);
}
EXPORT_SYMBOL_GPL(tlsh_cancel);
