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
#include <linux/socket.h>
#include <linux/sunrpc/rpc_tls.h>
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
