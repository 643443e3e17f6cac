/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The numbers of mainline Linux's generic netlink "handshake" family
 * (Linux 6.5 and later; Documentation/netlink/specs/handshake.yaml is the
 * protocol's definition).  Debian 12's kernel headers predate it, so tlshd
 * carries the values it uses here.  They are ABI: never renumber.
 *
 * The exchange, as tlshd uses it:
 *
 *   1. resolve the family "handshake" and its multicast group "tlshd"
 *      (CTRL_CMD_GETFAMILY), join the group;
 *   2. the kernel multicasts HANDSHAKE_CMD_READY (attribute HANDLER_CLASS)
 *      when a consumer queued a request;
 *   3. HANDSHAKE_CMD_ACCEPT { HANDLER_CLASS = TLSHD } takes the oldest queued
 *      request; the reply installs the consumer's socket in our fd table and
 *      carries SOCKFD, MESSAGE_TYPE, AUTH_MODE, and optionally TIMEOUT,
 *      PEERNAME, PEER_IDENTITY (PSK key serials, repeated), CERTIFICATE
 *      (nested X509_CERT and X509_PRIVKEY key serials) and, in kernels newer
 *      than 6.12, KEYRING.  No request queued: an error reply, EAGAIN;
 *   4. HANDSHAKE_CMD_DONE { STATUS, SOCKFD, REMOTE_AUTH... } reports the
 *      outcome: STATUS is 0 or a positive errno (the kernel hands the
 *      consumer its negation; no STATUS at all means EIO), REMOTE_AUTH the
 *      key serial of the authenticated peer; then tlshd closes the fd.
 *
 * ACCEPT and DONE need CAP_NET_ADMIN in the network namespace of the
 * netlink socket; requests are per network namespace.
 */
#ifndef TLSHD_NL_HANDSHAKE_H
#define TLSHD_NL_HANDSHAKE_H

#define HANDSHAKE_FAMILY_NAME		"handshake"
#define HANDSHAKE_FAMILY_VERSION	1
#define HANDSHAKE_MCGRP_TLSHD		"tlshd"

/* handler classes */
#define HANDSHAKE_HANDLER_CLASS_NONE	0
#define HANDSHAKE_HANDLER_CLASS_TLSHD	1

/* HANDSHAKE_A_ACCEPT_MESSAGE_TYPE */
#define HANDSHAKE_MSG_TYPE_UNSPEC	0
#define HANDSHAKE_MSG_TYPE_CLIENTHELLO	1
#define HANDSHAKE_MSG_TYPE_SERVERHELLO	2

/* HANDSHAKE_A_ACCEPT_AUTH_MODE */
#define HANDSHAKE_AUTH_UNSPEC		0
#define HANDSHAKE_AUTH_UNAUTH		1
#define HANDSHAKE_AUTH_PSK		2
#define HANDSHAKE_AUTH_X509		3

/* nested in HANDSHAKE_A_ACCEPT_CERTIFICATE */
#define HANDSHAKE_A_X509_CERT		1	/* s32 key serial */
#define HANDSHAKE_A_X509_PRIVKEY	2	/* s32 key serial */
#define HANDSHAKE_A_X509_MAX		2

/* attributes of READY and ACCEPT */
#define HANDSHAKE_A_ACCEPT_SOCKFD		1	/* s32 */
#define HANDSHAKE_A_ACCEPT_HANDLER_CLASS	2	/* u32 */
#define HANDSHAKE_A_ACCEPT_MESSAGE_TYPE		3	/* u32 */
#define HANDSHAKE_A_ACCEPT_TIMEOUT		4	/* u32, ms */
#define HANDSHAKE_A_ACCEPT_AUTH_MODE		5	/* u32 */
#define HANDSHAKE_A_ACCEPT_PEER_IDENTITY	6	/* u32, repeated */
#define HANDSHAKE_A_ACCEPT_CERTIFICATE		7	/* nested, X509 */
#define HANDSHAKE_A_ACCEPT_PEERNAME		8	/* NUL-terminated */
#define HANDSHAKE_A_ACCEPT_KEYRING		9	/* u32 (after 6.12) */
#define HANDSHAKE_A_ACCEPT_MAX			9

/* attributes of DONE */
#define HANDSHAKE_A_DONE_STATUS		1	/* u32, 0 or a positive errno */
#define HANDSHAKE_A_DONE_SOCKFD		2	/* s32 */
#define HANDSHAKE_A_DONE_REMOTE_AUTH	3	/* u32, repeated */

/* commands */
#define HANDSHAKE_CMD_READY		1
#define HANDSHAKE_CMD_ACCEPT		2
#define HANDSHAKE_CMD_DONE		3

#endif /* TLSHD_NL_HANDSHAKE_H */
