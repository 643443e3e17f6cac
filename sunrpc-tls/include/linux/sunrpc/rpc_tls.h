/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RPC-with-TLS (RFC 9289) helpers shared by the SunRPC client and server.
 *
 * SunRPC is usually built in while the AF_TLSH handshake upcall (tlsh) may
 * be a module.  A built-in cannot link against a module's symbols, so the
 * upcall is reached through symbol_get(): when tlsh is not loaded no agent
 * can be listening either, and every request fails closed with -ESRCH,
 * exactly as tlsh itself reports a network namespace without an agent.
 */
#ifndef _LINUX_SUNRPC_RPC_TLS_H
#define _LINUX_SUNRPC_RPC_TLS_H

#include <linux/types.h>
#include <net/tlsh.h>

/* Wire form of the AUTH_TLS probe reply verifier (RFC 9289, 4.1) */
#define RPC_TLS_STARTTLS	"STARTTLS"
#define RPC_TLS_STARTTLS_LEN	8

/* Handshake timeouts (milliseconds) */
#define RPC_TLS_CLIENT_TIMEOUT_MS	20000U
#define RPC_TLS_SERVER_TIMEOUT_MS	20000U

/* TLS record content types (RFC 8446, 5.1) */
#define RPC_TLS_CT_ALERT	21
#define RPC_TLS_CT_HANDSHAKE	22
#define RPC_TLS_CT_DATA		23

/* TLS alert level and the close_notify description (RFC 8446, 6) */
#define RPC_TLS_ALERT_FATAL		2
#define RPC_TLS_ALERT_CLOSE_NOTIFY	0

int rpc_tls_client_hello(const struct tlsh_args *args, bool x509);
int rpc_tls_server_hello(const struct tlsh_args *args);
bool rpc_tls_cancel(struct socket *sock);
int rpc_tls_record_type(struct msghdr *msg, const void *control,
			size_t controllen);

#endif /* _LINUX_SUNRPC_RPC_TLS_H */
