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

#include <linux/bits.h>
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

/* Handshake messages a TLS 1.3 peer may send after the handshake (RFC 8446,
 * 4.6): NewSessionTicket is harmless; KeyUpdate switches the peer's sending
 * key, which kTLS in this kernel cannot follow.
 */
#define RPC_TLS_HS_NEW_SESSION_TICKET	4
#define RPC_TLS_HS_KEY_UPDATE		24

/* Handshake messages may span records: the parser keeps its place */
struct rpc_tls_hs_parser {
	u32	left;		/* body bytes of the current message to skip */
	u8	hdr[4];		/* msg_type and uint24 length */
	u8	hdrlen;
};

/* Why a client replaces its connection by a fresh handshake (a rekey) */
enum rpc_tls_rekey_reason {
	RPC_TLS_REKEY_NONE = 0,
	RPC_TLS_REKEY_KEYUPDATE,	/* the peer sent a KeyUpdate */
	RPC_TLS_REKEY_RECORDS,		/* records under one key: the limit */
	RPC_TLS_REKEY_BYTES,		/* bytes under one key: the limit */
};

/* Use of the keys of one kTLS connection, in each direction */
struct rpc_tls_key_use {
	u64	records_tx;
	u64	records_rx;
	u64	bytes_tx;
	u64	bytes_rx;
};

/* Key use limits (RFC 8446, 5.5): module parameters
 * sunrpc.tls_key_max_records and sunrpc.tls_key_max_bytes
 */
#define RPC_TLS_KEY_RECORDS_DEFAULT	BIT(23)
#define RPC_TLS_KEY_RECORDS_MIN		1UL
#define RPC_TLS_KEY_RECORDS_MAX		BIT(24)
#define RPC_TLS_KEY_BYTES_DEFAULT	BIT_ULL(37)
#define RPC_TLS_KEY_BYTES_MIN		BIT_ULL(20)
#define RPC_TLS_KEY_BYTES_MAX		BIT_ULL(38)

int rpc_tls_client_hello(const struct tlsh_args *args, bool x509);
int rpc_tls_server_hello(const struct tlsh_args *args);
bool rpc_tls_cancel(struct socket *sock);
int rpc_tls_record_type(struct msghdr *msg, const void *control,
			size_t controllen);
int rpc_tls_hs_parse(struct rpc_tls_hs_parser *p, const u8 *buf, size_t len);
void rpc_tls_key_use(struct sock *sk, struct rpc_tls_key_use *use);
enum rpc_tls_rekey_reason rpc_tls_key_worn(const struct rpc_tls_key_use *use);
const char *rpc_tls_rekey_str(enum rpc_tls_rekey_reason reason);
const char *rpc_tls_status_str(int status);

#endif /* _LINUX_SUNRPC_RPC_TLS_H */
