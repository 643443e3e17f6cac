// SPDX-License-Identifier: GPL-2.0
/*
 * RPC-with-TLS (RFC 9289): the bridge from SunRPC to the TLS handshake
 * upcall (AF_TLSH, include/net/tlsh.h).
 *
 * tlsh may be a module while SunRPC is built in, so its entry points are
 * looked up with symbol_get() at each request instead of being linked.
 * The module reference is dropped as soon as the call returns: a pending
 * request keeps the agent's listening socket, and so the module, alive,
 * and tlsh completes every request before its listener goes away.
 */

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/socket.h>
#include <linux/sunrpc/rpc_tls.h>
#include <linux/tcp.h>
#include <asm/unaligned.h>
#include <net/tls.h>

/**
 * rpc_tls_client_hello - ask the agent for a client handshake
 * @args: request (see include/net/tlsh.h)
 * @x509: present the certificate and key in @args (mutual TLS)
 *
 * Returns 0 when @args->ta_done will be called, or a negative errno;
 * -ESRCH when no handshake agent can be reached.
 */
int rpc_tls_client_hello(const struct tlsh_args *args, bool x509)
{
	int (*hello)(const struct tlsh_args *args);
	int ret;

	if (x509) {
		hello = symbol_get(tlsh_client_hello_x509);
		if (!hello)
			return -ESRCH;
		ret = hello(args);
		symbol_put(tlsh_client_hello_x509);
	} else {
		hello = symbol_get(tlsh_client_hello_anon);
		if (!hello)
			return -ESRCH;
		ret = hello(args);
		symbol_put(tlsh_client_hello_anon);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(rpc_tls_client_hello);

/**
 * rpc_tls_server_hello - ask the agent for a server handshake (x.509)
 * @args: request (see include/net/tlsh.h)
 *
 * Returns 0 when @args->ta_done will be called, or a negative errno;
 * -ESRCH when no handshake agent can be reached.
 */
int rpc_tls_server_hello(const struct tlsh_args *args)
{
	int (*hello)(const struct tlsh_args *args);
	int ret;

	hello = symbol_get(tlsh_server_hello_x509);
	if (!hello)
		return -ESRCH;
	ret = hello(args);
	symbol_put(tlsh_server_hello_x509);
	return ret;
}
EXPORT_SYMBOL_GPL(rpc_tls_server_hello);

/**
 * rpc_tls_cancel - withdraw a pending handshake request
 * @sock: the socket the request was made for
 *
 * Returns true when the request is gone and its done callback will not
 * run; false when the callback has run or is running.
 */
bool rpc_tls_cancel(struct socket *sock)
{
	bool (*cancel)(struct socket *sock);
	bool ret;

	cancel = symbol_get(tlsh_cancel);
	if (!cancel)
		return false;
	ret = cancel(sock);
	symbol_put(tlsh_cancel);
	return ret;
}
EXPORT_SYMBOL_GPL(rpc_tls_cancel);

/**
 * rpc_tls_record_type - TLS record type reported by a kTLS recvmsg()
 * @msg: the msghdr after sock_recvmsg() returned
 * @control: the control buffer that was handed to sock_recvmsg()
 * @controllen: its size
 *
 * Returns the record content type, or RPC_TLS_CT_DATA when kTLS reported
 * none (the socket is not a kTLS socket, or the record carried data).
 */
int rpc_tls_record_type(struct msghdr *msg, const void *control,
			size_t controllen)
{
	const struct cmsghdr *cmsg = control;

	if (msg->msg_controllen == controllen)
		return RPC_TLS_CT_DATA;
	if (cmsg->cmsg_level != SOL_TLS ||
	    cmsg->cmsg_type != TLS_GET_RECORD_TYPE)
		return RPC_TLS_CT_DATA;
	return *(const u8 *)CMSG_DATA(cmsg);
}
EXPORT_SYMBOL_GPL(rpc_tls_record_type);

/**
 * rpc_tls_hs_parse - walk post-handshake messages from a kTLS socket
 * @p: the parser's place in the handshake message stream
 * @buf: bytes of TLS records of type handshake, as recvmsg() gave them
 * @len: how many
 *
 * Handshake messages may span records and a record may carry several; a
 * message's body is skipped once its type is known.  Returns 0 when every
 * message seen so far may be dropped (NewSessionTicket), or the type of
 * the first one that ends the connection: RPC_TLS_HS_KEY_UPDATE, or any
 * message a server must not send after the handshake.
 */
int rpc_tls_hs_parse(struct rpc_tls_hs_parser *p, const u8 *buf, size_t len)
{
	size_t n;

	while (len) {
		if (p->left) {
			n = min_t(size_t, len, p->left);
			p->left -= n;
			buf += n;
			len -= n;
			continue;
		}
		p->hdr[p->hdrlen++] = *buf++;
		len--;
		if (p->hdrlen < sizeof(p->hdr))
			continue;
		p->hdrlen = 0;
		p->left = p->hdr[1] << 16 | p->hdr[2] << 8 | p->hdr[3];
		if (p->hdr[0] != RPC_TLS_HS_NEW_SESSION_TICKET)
			return p->hdr[0];
	}
	return 0;
}
EXPORT_SYMBOL_GPL(rpc_tls_hs_parse);

/* Key use limits (RFC 8446, 5.5).  AES-GCM keys are good for about 2^24.5
 * full-size records; the defaults stop at 2^23 records or 2^37 bytes (128
 * GiB, as many bytes as 2^23 full records), whichever comes first, and no
 * setting may go past 2^24 records or 2^38 bytes.  Bytes are the TCP
 * connection's (probe and handshake included), which errs on the safe
 * side.  sunrpc.tls_key_max_records= and sunrpc.tls_key_max_bytes= on the
 * kernel command line, or /sys/module/sunrpc/parameters/ at run time; a
 * value out of range is refused with EINVAL.
 */
static unsigned long rpc_tls_key_max_records = RPC_TLS_KEY_RECORDS_DEFAULT;
static unsigned long long rpc_tls_key_max_bytes = RPC_TLS_KEY_BYTES_DEFAULT;

static int rpc_tls_param_set_records(const char *val,
				     const struct kernel_param *kp)
{
	unsigned long n;
	int ret;

	ret = kstrtoul(val, 0, &n);
	if (ret)
		return ret;
	if (n < RPC_TLS_KEY_RECORDS_MIN || n > RPC_TLS_KEY_RECORDS_MAX)
		return -EINVAL;
	WRITE_ONCE(*(unsigned long *)kp->arg, n);
	return 0;
}

static int rpc_tls_param_set_bytes(const char *val,
				   const struct kernel_param *kp)
{
	unsigned long long n;
	int ret;

	ret = kstrtoull(val, 0, &n);
	if (ret)
		return ret;
	if (n < RPC_TLS_KEY_BYTES_MIN || n > RPC_TLS_KEY_BYTES_MAX)
		return -EINVAL;
	WRITE_ONCE(*(unsigned long long *)kp->arg, n);
	return 0;
}

static const struct kernel_param_ops rpc_tls_param_records = {
	.set = rpc_tls_param_set_records,
	.get = param_get_ulong,
};

static const struct kernel_param_ops rpc_tls_param_bytes = {
	.set = rpc_tls_param_set_bytes,
	.get = param_get_ullong,
};

module_param_cb(tls_key_max_records, &rpc_tls_param_records,
		&rpc_tls_key_max_records, 0644);
MODULE_PARM_DESC(tls_key_max_records,
		 "RPC-with-TLS: records under one key before a client replaces the connection");
module_param_cb(tls_key_max_bytes, &rpc_tls_param_bytes,
		&rpc_tls_key_max_bytes, 0644);
MODULE_PARM_DESC(tls_key_max_bytes,
		 "RPC-with-TLS: bytes under one key before a client replaces the connection");

/**
 * rpc_tls_key_use - how much the keys of a kTLS connection have been used
 * @sk: a TCP socket under kTLS (software crypto in both directions)
 * @use: filled in
 *
 * Records are kTLS's record sequence numbers, which count from the first
 * record under the current key; they are read without the socket lock,
 * which is good enough to compare against a limit.
 */
void rpc_tls_key_use(struct sock *sk, struct rpc_tls_key_use *use)
{
	struct tls_context *ctx = tls_get_ctx(sk);

	use->records_tx = get_unaligned_be64(READ_ONCE(ctx->tx.rec_seq));
	use->records_rx = get_unaligned_be64(READ_ONCE(ctx->rx.rec_seq));
	use->bytes_tx = READ_ONCE(tcp_sk(sk)->bytes_sent);
	use->bytes_rx = READ_ONCE(tcp_sk(sk)->bytes_received);
}
EXPORT_SYMBOL_GPL(rpc_tls_key_use);

/**
 * rpc_tls_key_worn - has a connection reached a key use limit?
 * @use: its key use
 *
 * Returns RPC_TLS_REKEY_NONE, or the limit it reached.
 */
enum rpc_tls_rekey_reason rpc_tls_key_worn(const struct rpc_tls_key_use *use)
{
	unsigned long records = READ_ONCE(rpc_tls_key_max_records);
	unsigned long long bytes = READ_ONCE(rpc_tls_key_max_bytes);

	if (use->records_tx >= records || use->records_rx >= records)
		return RPC_TLS_REKEY_RECORDS;
	if (use->bytes_tx >= bytes || use->bytes_rx >= bytes)
		return RPC_TLS_REKEY_BYTES;
	return RPC_TLS_REKEY_NONE;
}
EXPORT_SYMBOL_GPL(rpc_tls_key_worn);

/**
 * rpc_tls_rekey_str - why a connection was replaced, in words
 * @reason: the reason
 */
const char *rpc_tls_rekey_str(enum rpc_tls_rekey_reason reason)
{
	switch (reason) {
	case RPC_TLS_REKEY_KEYUPDATE:
		return "the server sent a TLS KeyUpdate, which kTLS cannot take";
	case RPC_TLS_REKEY_RECORDS:
		return "records under one key reached sunrpc.tls_key_max_records";
	case RPC_TLS_REKEY_BYTES:
		return "bytes under one key reached sunrpc.tls_key_max_bytes";
	default:
		return "none";
	}
}
EXPORT_SYMBOL_GPL(rpc_tls_rekey_str);

/* What a handshake status means, for the consumers' log lines: the
 * meaning TLSH_STATUS_TABLE gives it, so that the log, the agent's man
 * page, the counters and the documentation say the same.
 */
#define RPC_TLS_STATUS_DESC(e, name, by, what)	{ -(e), what },
static const struct {
	int		status;
	const char	*what;
} rpc_tls_statuses[] = {
	TLSH_STATUS_TABLE(RPC_TLS_STATUS_DESC)
};

#undef RPC_TLS_STATUS_DESC

const char *rpc_tls_status_str(int status)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rpc_tls_statuses); i++)
		if (rpc_tls_statuses[i].status == status)
			return rpc_tls_statuses[i].what;
	return "an agent status outside the table; see the agent's log";
}
EXPORT_SYMBOL_GPL(rpc_tls_status_str);
