// SPDX-License-Identifier: GPL-2.0
/*
 * Mainline Linux's handshake upcall: the generic netlink family
 * "handshake" of Linux 6.5 and later (nl_handshake.h has the exchange).
 *
 * Sockets: the dispatcher owns one socket that has joined the "tlshd"
 * multicast group (READY notifications) and one it sends ACCEPT on; each
 * worker owns one it sends DONE on, so no socket is shared between
 * threads.  Commands are synchronous: the kernel queues its reply (or
 * error) before sendmsg() returns, so each command reads its own answer
 * right away and a socket never holds stray replies.
 *
 * Library: libmnl, for building messages and walking attributes with
 * bounds checks (mnl_attr_ok, mnl_attr_validate).  It is a few hundred
 * lines with no allocation, no global state and no callbacks we need, so
 * each thread can use it on its own socket without locks, and it leaves
 * the socket I/O to us (we check that every message comes from the kernel,
 * port 0).  libnl-genl-3 (what ktls-utils uses) would bring caches, a
 * callback machinery and per-message allocations for four message types;
 * plain netlink sockets would mean re-writing the attribute walker that
 * libmnl already gets right.
 *
 * What the kernel sends is checked before anything is done with it: every
 * attribute's type, size and count, the message and authentication types,
 * the peer name (a printable name of at most TLSH_PEERNAME_MAX - 1 bytes),
 * the key serials.  An attribute this tlshd does not know is refused too:
 * it may carry a constraint (a newer kernel's policy) that must not be
 * silently dropped.  A request that fails these checks is logged with the
 * reason and answered with DONE status EINVAL, its socket closed; one
 * without a usable socket number can only be logged.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "tlshd.h"
#include "nl_handshake.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define NL_BUFSIZE	8192
#define NL_REPLY_MS	5000	/* the kernel answers at once; a fake may not */

int (*tlshd_netlink_test_socket)(bool join);
int tlshd_netlink_debug;

/* [debug] nl = N: the exchange with the kernel, whatever loglevel says */
#define nl_trace(level, ...)						\
	do {								\
		if (__atomic_load_n(&tlshd_netlink_debug,		\
				    __ATOMIC_RELAXED) >= (level))	\
			tlshd_log(TLSHD_LOG_NOTICE, "netlink: " __VA_ARGS__); \
	} while (0)

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---- parsing (no I/O: tlshd-unit feeds these crafted messages) ---------- */

/* The genl payload of @nlh if it is a well-formed @family message. */
static const struct genlmsghdr *genl_hdr(const struct nlmsghdr *nlh,
					 uint16_t family, char *why,
					 size_t whylen)
{
	if (nlh->nlmsg_type != family) {
		why_set(why, whylen, "message type %u, not the handshake family (%u)",
			nlh->nlmsg_type, family);
		return NULL;
	}
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + GENL_HDRLEN) {
		why_set(why, whylen, "message of %u bytes has no genetlink header",
			nlh->nlmsg_len);
		return NULL;
	}
	return mnl_nlmsg_get_payload(nlh);
}

/*
 * Walk the attributes between @pos and @end, calling @cb for each.  A
 * truncated or overlong attribute is an error; so is anything @cb refuses.
 */
static int walk(const void *pos, const void *end,
		int (*cb)(const struct nlattr *a, void *data), void *data,
		char *why, size_t whylen)
{
	const char *p = pos, *e = end;

	while (p < e) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (!mnl_attr_ok(a, (int)(e - p))) {
			why_set(why, whylen,
				"malformed attribute at offset %td (length %u, %td bytes left)",
				p - (const char *)pos,
				e - p >= (ptrdiff_t)sizeof(*a) ? a->nla_len : 0,
				e - p);
			return -EINVAL;
		}
		if (cb(a, data) < 0)
			return -EINVAL;
		p = (const char *)mnl_attr_next(a);
	}
	return 0;
}

/*
 * Does a whole message start at @nlh, with @len bytes left?  Not
 * mnl_nlmsg_ok(): libmnl 1.0.4 compares (int)nlmsg_len, so a length of
 * 2 GiB or more passes it (the fuzzer found that).
 */
static bool msg_ok(const struct nlmsghdr *nlh, size_t len)
{
	return len >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= len;
}

/* The message after @nlh, @len updated; NULL at the end. */
static const struct nlmsghdr *msg_next(const struct nlmsghdr *nlh,
				       size_t *len)
{
	size_t step = MNL_ALIGN(nlh->nlmsg_len);

	if (step >= *len)
		return NULL;
	*len -= step;
	nlh = (const struct nlmsghdr *)((const char *)nlh + step);
	return msg_ok(nlh, *len) ? nlh : NULL;
}

/*
 * Where @nlh's attributes end.  Not mnl_nlmsg_get_payload_tail(): that
 * rounds nlmsg_len up to 4 and may point past the datagram.
 */
static const void *msg_end(const struct nlmsghdr *nlh)
{
	return (const char *)nlh + nlh->nlmsg_len;
}

/* The first message in @buf, checked against @len. */
static const struct nlmsghdr *first_msg(const void *buf, size_t len,
					char *why, size_t whylen)
{
	const struct nlmsghdr *nlh = buf;

	if (!msg_ok(nlh, len)) {
		why_set(why, whylen, "truncated netlink message (%zu bytes)",
			len);
		return NULL;
	}
	return nlh;
}

/* An NLMSG_ERROR's error code (0 for an ack), or 1 if @nlh is not one. */
static int nlmsg_errno(const struct nlmsghdr *nlh, char *why, size_t whylen)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type != NLMSG_ERROR)
		return 1;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e)) {
		why_set(why, whylen, "truncated netlink error message");
		return -EINVAL;
	}
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error > 0 || e->error < -4095) {
		why_set(why, whylen, "netlink error message with error %d",
			e->error);
		return -EINVAL;
	}
	if (e->error)
		why_set(why, whylen, "%s", strerror(-e->error));
	return e->error;
}

/* -- CTRL_CMD_GETFAMILY reply: the family id and the "tlshd" group -- */

struct family_walk {
	uint16_t	family;
	uint32_t	group;
	bool		have_family, have_group;
	char		*why;
	size_t		whylen;
	/* one multicast group entry */
	const char	*grp_name;
	uint32_t	grp_id;
	bool		grp_have_id;
};

static int grp_attr(const struct nlattr *a, void *data)
{
	struct family_walk *fw = data;

	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_MCAST_GRP_NAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			goto bad;
		fw->grp_name = mnl_attr_get_str(a);
		break;
	case CTRL_ATTR_MCAST_GRP_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			goto bad;
		fw->grp_id = mnl_attr_get_u32(a);
		fw->grp_have_id = true;
		break;
	}
	return 0;
bad:
	why_set(fw->why, fw->whylen, "malformed multicast group attribute %u",
		mnl_attr_get_type(a));
	return -1;
}

static int grp_entry(const struct nlattr *a, void *data)
{
	struct family_walk *fw = data;

	fw->grp_name = NULL;
	fw->grp_have_id = false;
	if (walk(mnl_attr_get_payload(a),
		 (const char *)a + a->nla_len, grp_attr, fw, fw->why,
		 fw->whylen) < 0)
		return -1;
	if (fw->grp_name && fw->grp_have_id &&
	    !strcmp(fw->grp_name, HANDSHAKE_MCGRP_TLSHD)) {
		fw->group = fw->grp_id;
		fw->have_group = true;
	}
	return 0;
}

static int family_attr(const struct nlattr *a, void *data)
{
	struct family_walk *fw = data;

	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			break;
		fw->family = mnl_attr_get_u16(a);
		fw->have_family = true;
		return 0;
	case CTRL_ATTR_MCAST_GROUPS:
		return walk(mnl_attr_get_payload(a),
			    (const char *)a + a->nla_len, grp_entry, fw,
			    fw->why, fw->whylen);
	default:
		return 0;	/* ops, policies, version: not needed */
	}
	why_set(fw->why, fw->whylen, "malformed family id attribute");
	return -1;
}

int tlshd_netlink_parse_family(const void *buf, size_t len,
			       struct tlshd_nl_family *fam, char *why,
			       size_t whylen)
{
	struct family_walk fw = { .why = why, .whylen = whylen };
	const struct genlmsghdr *g;
	const struct nlmsghdr *nlh;
	int err;

	nlh = first_msg(buf, len, why, whylen);
	if (!nlh)
		return -EINVAL;
	err = nlmsg_errno(nlh, why, whylen);
	if (err <= 0)
		return err ? err : -EINVAL;
	g = genl_hdr(nlh, GENL_ID_CTRL, why, whylen);
	if (!g)
		return -EINVAL;
	if (g->cmd != CTRL_CMD_NEWFAMILY) {
		why_set(why, whylen, "controller answered command %u", g->cmd);
		return -EINVAL;
	}
	if (walk((const char *)g + GENL_HDRLEN, msg_end(nlh),
		 family_attr, &fw, why, whylen) < 0)
		return -EINVAL;
	if (!fw.have_family) {
		why_set(why, whylen, "the controller's answer has no family id");
		return -EINVAL;
	}
	if (!fw.have_group) {
		why_set(why, whylen, "the handshake family has no \"%s\" multicast group",
			HANDSHAKE_MCGRP_TLSHD);
		return -EINVAL;
	}
	fam->nf_family = fw.family;
	fam->nf_group = fw.group;
	return 0;
}

/* -- READY notifications -- */

static int ready_attr(const struct nlattr *a, void *data)
{
	uint32_t *class = data;

	if (mnl_attr_get_type(a) == HANDSHAKE_A_ACCEPT_HANDLER_CLASS &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*class = mnl_attr_get_u32(a);
	return 0;
}

/*
 * 1: a READY for tlshd; 0: a message for someone else (another handler
 * class); -EINVAL: not a READY notification at all.
 */
int tlshd_netlink_parse_ready(const struct nlmsghdr *nlh, uint16_t family,
			      char *why, size_t whylen)
{
	uint32_t class = HANDSHAKE_HANDLER_CLASS_NONE;
	const struct genlmsghdr *g;

	g = genl_hdr(nlh, family, why, whylen);
	if (!g)
		return -EINVAL;
	if (g->cmd != HANDSHAKE_CMD_READY) {
		why_set(why, whylen, "notification with command %u, not READY",
			g->cmd);
		return -EINVAL;
	}
	if (walk((const char *)g + GENL_HDRLEN,
		 msg_end(nlh), ready_attr, &class, why,
		 whylen) < 0)
		return -EINVAL;
	return class == HANDSHAKE_HANDLER_CLASS_TLSHD;
}

/* -- ACCEPT replies -- */

struct accept_walk {
	struct tlshd_params	*p;
	int			sockfd;
	uint32_t		msg_type, auth_mode;
	unsigned int		seen;		/* bit per singular attribute */
	unsigned int		ncerts;
	int			err;		/* first problem, why says it */
	char			*why;
	size_t			whylen;
};

/* Record the first problem only; keep walking to find the socket. */
static int accept_bad(struct accept_walk *aw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int accept_bad(struct accept_walk *aw, const char *fmt, ...)
{
	va_list ap;

	if (!aw->err) {
		aw->err = -EINVAL;
		if (aw->why && aw->whylen) {
			va_start(ap, fmt);
			vsnprintf(aw->why, aw->whylen, fmt, ap);
			va_end(ap);
		}
	}
	return 0;
}

static const char *const accept_names[HANDSHAKE_A_ACCEPT_MAX + 1] = {
	[HANDSHAKE_A_ACCEPT_SOCKFD] = "SOCKFD",
	[HANDSHAKE_A_ACCEPT_HANDLER_CLASS] = "HANDLER_CLASS",
	[HANDSHAKE_A_ACCEPT_MESSAGE_TYPE] = "MESSAGE_TYPE",
	[HANDSHAKE_A_ACCEPT_TIMEOUT] = "TIMEOUT",
	[HANDSHAKE_A_ACCEPT_AUTH_MODE] = "AUTH_MODE",
	[HANDSHAKE_A_ACCEPT_PEER_IDENTITY] = "PEER_IDENTITY",
	[HANDSHAKE_A_ACCEPT_CERTIFICATE] = "CERTIFICATE",
	[HANDSHAKE_A_ACCEPT_PEERNAME] = "PEERNAME",
	[HANDSHAKE_A_ACCEPT_KEYRING] = "KEYRING",
};

static int x509_attr(const struct nlattr *a, void *data)
{
	struct accept_walk *aw = data;
	uint16_t type = mnl_attr_get_type(a);
	int32_t serial;

	if (type != HANDSHAKE_A_X509_CERT && type != HANDSHAKE_A_X509_PRIVKEY)
		return accept_bad(aw, "unknown attribute %u in CERTIFICATE",
				  type);
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return accept_bad(aw, "CERTIFICATE %s of %u bytes, want 4",
				  type == HANDSHAKE_A_X509_CERT ? "CERT" :
				  "PRIVKEY", mnl_attr_get_payload_len(a));
	serial = (int32_t)mnl_attr_get_u32(a);
	if (serial < 0)
		return accept_bad(aw, "negative key serial %d in CERTIFICATE",
				  serial);
	if (type == HANDSHAKE_A_X509_CERT)
		aw->p->p_cert = serial;
	else
		aw->p->p_privkey = serial;
	return 0;
}

static bool peername_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* PEERNAME: a printable name without spaces that fits p_peername */
static int accept_peername(struct accept_walk *aw, const struct nlattr *a)
{
	struct tlshd_params *p = aw->p;
	size_t len;

	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return accept_bad(aw, "PEERNAME is not a NUL-terminated string");
	len = strlen(mnl_attr_get_str(a));
	if (len + 1 != mnl_attr_get_payload_len(a))
		return accept_bad(aw, "PEERNAME has a NUL byte inside");
	if (len >= sizeof(p->p_peername))
		return accept_bad(aw, "PEERNAME of %zu bytes, at most %zu",
				  len, sizeof(p->p_peername) - 1);
	if (!peername_ok(mnl_attr_get_str(a), len))
		return accept_bad(aw, "PEERNAME has a space, control or non-ASCII byte");
	memcpy(p->p_peername, mnl_attr_get_str(a), len + 1);
	return 0;
}

/* CERTIFICATE: once, nested, its serials walked by x509_attr() */
static int accept_certificate(struct accept_walk *aw, const struct nlattr *a)
{
	char wwhy[160];

	if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return accept_bad(aw, "CERTIFICATE is not a nested attribute");
	if (++aw->ncerts > 1)
		return accept_bad(aw, "more than one CERTIFICATE");
	if (walk(mnl_attr_get_payload(a), (const char *)a + a->nla_len,
		 x509_attr, aw, wwhy, sizeof(wwhy)) < 0)
		return accept_bad(aw, "CERTIFICATE: %s", wwhy);
	return 0;
}

/* The attributes that are 32-bit numbers, validated as such */
static int accept_u32(struct accept_walk *aw, const struct nlattr *a,
		      uint16_t type)
{
	struct tlshd_params *p = aw->p;
	int32_t v;

	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return accept_bad(aw, "%s of %u bytes, want 4",
				  accept_names[type],
				  mnl_attr_get_payload_len(a));
	v = (int32_t)mnl_attr_get_u32(a);
	switch (type) {
	case HANDSHAKE_A_ACCEPT_SOCKFD:
		aw->sockfd = v;
		if (aw->sockfd < 0)
			return accept_bad(aw, "negative SOCKFD %d", aw->sockfd);
		break;
	case HANDSHAKE_A_ACCEPT_HANDLER_CLASS:
		if (mnl_attr_get_u32(a) != HANDSHAKE_HANDLER_CLASS_TLSHD)
			return accept_bad(aw, "HANDLER_CLASS %u, not tlshd",
					  mnl_attr_get_u32(a));
		break;
	case HANDSHAKE_A_ACCEPT_MESSAGE_TYPE:
		aw->msg_type = mnl_attr_get_u32(a);
		break;
	case HANDSHAKE_A_ACCEPT_TIMEOUT:
		p->p_timeout_ms = mnl_attr_get_u32(a);
		break;
	case HANDSHAKE_A_ACCEPT_AUTH_MODE:
		aw->auth_mode = mnl_attr_get_u32(a);
		break;
	case HANDSHAKE_A_ACCEPT_PEER_IDENTITY:
		if (v <= 0)
			return accept_bad(aw, "PEER_IDENTITY %d is not a key serial",
					  v);
		if (p->p_npsk == TLSH_PSK_IDS_MAX)
			return accept_bad(aw, "more than %d PEER_IDENTITY",
					  TLSH_PSK_IDS_MAX);
		p->p_psk_ids[p->p_npsk++] = v;
		break;
	case HANDSHAKE_A_ACCEPT_KEYRING:
		if (v < 0)
			return accept_bad(aw, "KEYRING %d is not a key serial",
					  v);
		p->p_keyring = v;
		break;
	}
	return 0;
}

static int accept_attr(const struct nlattr *a, void *data)
{
	struct accept_walk *aw = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type == 0 || type > HANDSHAKE_A_ACCEPT_MAX)
		return accept_bad(aw, "unknown attribute %u (the kernel's handshake protocol is newer than this tlshd)",
				  type);
	if (type != HANDSHAKE_A_ACCEPT_PEER_IDENTITY &&
	    type != HANDSHAKE_A_ACCEPT_CERTIFICATE) {
		if (aw->seen & (1U << type))
			return accept_bad(aw, "attribute %s more than once",
					  accept_names[type]);
		aw->seen |= 1U << type;
	}
	if (type == HANDSHAKE_A_ACCEPT_PEERNAME)
		return accept_peername(aw, a);
	if (type == HANDSHAKE_A_ACCEPT_CERTIFICATE)
		return accept_certificate(aw, a);
	return accept_u32(aw, a, type);
}

/* Message and authentication type as one of our handshake types. */
static int accept_type(struct accept_walk *aw)
{
	struct tlshd_params *p = aw->p;

	if (!(aw->seen & (1U << HANDSHAKE_A_ACCEPT_MESSAGE_TYPE)))
		return accept_bad(aw, "no MESSAGE_TYPE");
	if (!(aw->seen & (1U << HANDSHAKE_A_ACCEPT_AUTH_MODE)))
		return accept_bad(aw, "no AUTH_MODE");
	switch (aw->msg_type) {
	case HANDSHAKE_MSG_TYPE_CLIENTHELLO:
		switch (aw->auth_mode) {
		case HANDSHAKE_AUTH_UNAUTH:
			p->p_type = TLSH_TYPE_CLIENTHELLO_ANON;
			return 0;
		case HANDSHAKE_AUTH_X509:
			p->p_type = TLSH_TYPE_CLIENTHELLO_X509;
			return 0;
		case HANDSHAKE_AUTH_PSK:
			p->p_type = TLSH_TYPE_CLIENTHELLO_PSK;
			return 0;
		}
		break;
	case HANDSHAKE_MSG_TYPE_SERVERHELLO:
		switch (aw->auth_mode) {
		case HANDSHAKE_AUTH_X509:
			/*
			 * Mainline asks for a client certificate and lets
			 * the consumer judge the peer identity reported
			 * (nfsd: an mtls export needs one): request it,
			 * verify it when sent, never require it here.
			 */
			p->p_type = TLSH_TYPE_SERVERHELLO_X509;
			return 0;
		case HANDSHAKE_AUTH_PSK:
			p->p_type = TLSH_TYPE_SERVERHELLO_PSK;
			return 0;
		case HANDSHAKE_AUTH_UNAUTH:
			return accept_bad(aw, "a server handshake without authentication");
		}
		break;
	default:
		return accept_bad(aw, "MESSAGE_TYPE %u", aw->msg_type);
	}
	return accept_bad(aw, "AUTH_MODE %u", aw->auth_mode);
}

int tlshd_netlink_parse_accept(const void *buf, size_t len, uint16_t family,
			       int *sockfd, struct tlshd_params *p, char *why,
			       size_t whylen)
{
	struct accept_walk aw = {
		.p = p, .sockfd = -1, .why = why, .whylen = whylen,
	};
	const struct genlmsghdr *g;
	const struct nlmsghdr *nlh;
	char wwhy[160];
	int err;

	memset(p, 0, sizeof(*p));
	*sockfd = -1;
	nlh = first_msg(buf, len, why, whylen);
	if (!nlh)
		return -EINVAL;
	err = nlmsg_errno(nlh, why, whylen);
	if (err <= 0)
		return err ? err : (why_set(why, whylen, "an ack, not a request"),
				    -EINVAL);
	g = genl_hdr(nlh, family, why, whylen);
	if (!g)
		return -EINVAL;
	if (g->cmd != HANDSHAKE_CMD_ACCEPT) {
		why_set(why, whylen, "reply with command %u, not ACCEPT",
			g->cmd);
		return -EINVAL;
	}
	if (walk((const char *)g + GENL_HDRLEN, msg_end(nlh),
		 accept_attr, &aw, wwhy, sizeof(wwhy)) < 0)
		accept_bad(&aw, "%s", wwhy);
	if (!aw.err && !(aw.seen & (1U << HANDSHAKE_A_ACCEPT_SOCKFD)))
		accept_bad(&aw, "no SOCKFD");
	if (!aw.err)
		accept_type(&aw);
	*sockfd = aw.sockfd;
	return aw.err;
}

/* -- DONE -- */

size_t tlshd_netlink_build_done(void *buf, size_t len, uint16_t family,
				uint32_t seq, int sockfd, int status,
				int32_t peerid)
{
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN))
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = HANDSHAKE_CMD_DONE;
	g->version = HANDSHAKE_FAMILY_VERSION;
	if (!mnl_attr_put_u32_check(nlh, len, HANDSHAKE_A_DONE_STATUS,
				    (uint32_t)status) ||
	    !mnl_attr_put_u32_check(nlh, len, HANDSHAKE_A_DONE_SOCKFD,
				    (uint32_t)sockfd))
		return 0;
	if (!status && peerid > 0 &&
	    !mnl_attr_put_u32_check(nlh, len, HANDSHAKE_A_DONE_REMOTE_AUTH,
				    (uint32_t)peerid))
		return 0;
	return nlh->nlmsg_len;
}

/* ---- sockets ------------------------------------------------------------ */

static int nl_send(struct tlshd_nl *nl, const struct nlmsghdr *nlh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;

	if (nl->nl_kernel)
		n = sendto(nl->nl_fd, nlh, nlh->nlmsg_len, 0,
			   (struct sockaddr *)&sa, sizeof(sa));
	else
		n = send(nl->nl_fd, nlh, nlh->nlmsg_len, 0);
	if (n < 0)
		return -errno;
	return n == (ssize_t)nlh->nlmsg_len ? 0 : -EMSGSIZE;
}

/*
 * One datagram into @buf.  Messages that do not come from the kernel
 * (netlink port 0) are dropped: another process with CAP_NET_ADMIN could
 * otherwise hand us forged requests.  Returns its length, -EAGAIN when
 * nothing is waiting (after @wait_ms), or -errno.
 */
static ssize_t nl_recv(struct tlshd_nl *nl, void *buf, size_t len,
		       int wait_ms)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { buf, len };
		struct msghdr msg = {
			.msg_name = &sa,
			.msg_namelen = sizeof(sa),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n;

		n = recvmsg(nl->nl_fd, &msg, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN && wait_ms > 0) {
			struct pollfd pfd = { .fd = nl->nl_fd,
					      .events = POLLIN };

			if (poll(&pfd, 1, wait_ms) <= 0)
				return -EAGAIN;
			wait_ms = 0;
			continue;
		}
		if (n < 0)
			return -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (nl->nl_kernel &&
		    (msg.msg_namelen < sizeof(sa) || sa.nl_pid != 0)) {
			tlshd_log_warn("netlink: dropped a message from port %u, not from the kernel",
				       msg.msg_namelen >= sizeof(sa) ?
				       sa.nl_pid : 0);
			continue;
		}
		return n;
	}
}

/* Send @req and read its answer (the message with its sequence number). */
static ssize_t nl_command(struct tlshd_nl *nl, struct nlmsghdr *req,
			  void *buf, size_t len)
{
	uint32_t seq = req->nlmsg_seq;
	int ret;

	ret = nl_send(nl, req);
	if (ret < 0)
		return ret;
	for (;;) {
		const struct nlmsghdr *nlh = buf;
		ssize_t n = nl_recv(nl, buf, len, NL_REPLY_MS);

		if (n < 0)
			return n == -EAGAIN ? -ETIMEDOUT : n;
		if (msg_ok(nlh, (size_t)n) && nlh->nlmsg_seq != seq) {
			tlshd_log_debug("netlink: skipped a message with sequence %u (want %u)",
					nlh->nlmsg_seq, seq);
			continue;
		}
		return n;
	}
}

static int open_socket(struct tlshd_nl *nl, bool join, char *why,
		       size_t whylen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);

	if (tlshd_netlink_test_socket) {
		nl->nl_fd = tlshd_netlink_test_socket(join);
		nl->nl_kernel = false;
		if (nl->nl_fd < 0) {
			why_set(why, whylen, "test socket: %s",
				strerror(-nl->nl_fd));
			return nl->nl_fd;
		}
		return 0;
	}
	nl->nl_kernel = true;
	nl->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			   NETLINK_GENERIC);
	if (nl->nl_fd < 0) {
		int e = errno;

		why_set(why, whylen, "socket(AF_NETLINK): %s%s", strerror(e),
			e == EAFNOSUPPORT || e == EPERM ?
			" (is AF_NETLINK blocked, e.g. by RestrictAddressFamilies=?)" :
			"");
		return -e;
	}
	if (bind(nl->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->nl_fd, (struct sockaddr *)&sa, &salen) < 0) {
		int e = errno;

		why_set(why, whylen, "netlink bind: %s", strerror(e));
		close(nl->nl_fd);
		nl->nl_fd = -1;
		return -e;
	}
	nl->nl_portid = sa.nl_pid;
	return 0;
}

void tlshd_netlink_close(struct tlshd_nl *nl)
{
	if (nl->nl_fd >= 0)
		close(nl->nl_fd);
	nl->nl_fd = -1;
}

int tlshd_netlink_probe(struct tlshd_nl_family *fam, char *why, size_t whylen)
{
	struct tlshd_nl nl = { .nl_fd = -1 };
	char req[128], *reply;
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	ssize_t n;
	int ret;

	ret = open_socket(&nl, false, why, whylen);
	if (ret < 0)
		return ret;
	reply = malloc(NL_BUFSIZE);
	if (!reply) {
		tlshd_netlink_close(&nl);
		why_set(why, whylen, "out of memory");
		return -ENOMEM;
	}
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, HANDSHAKE_FAMILY_NAME);
	n = nl_command(&nl, nlh, reply, NL_BUFSIZE);
	if (n < 0) {
		why_set(why, whylen, "asking for the handshake family: %s",
			strerror((int)-n));
		ret = (int)n;
	} else {
		ret = tlshd_netlink_parse_family(reply, (size_t)n, fam, why,
						 whylen);
		if (ret == -ENOENT)
			why_set(why, whylen,
				"no generic netlink family \"%s\" (Linux 6.5 or later with CONFIG_NET_HANDSHAKE)",
				HANDSHAKE_FAMILY_NAME);
	}
	free(reply);
	tlshd_netlink_close(&nl);
	return ret;
}

int tlshd_netlink_open(struct tlshd_nl *nl, const struct tlshd_nl_family *fam,
		       bool join, char *why, size_t whylen)
{
	int ret, rcvbuf = 1 << 20;

	memset(nl, 0, sizeof(*nl));
	nl->nl_fd = -1;
	nl->nl_family = fam->nf_family;
	ret = open_socket(nl, join, why, whylen);
	if (ret < 0 || !join || !nl->nl_kernel)
		return ret;
	/*
	 * A burst of requests queues one READY each; a lost one (ENOBUFS)
	 * is recovered by accepting until EAGAIN, but a big buffer makes
	 * that rare.  SO_RCVBUFFORCE needs CAP_NET_ADMIN, which tlshd has.
	 */
	if (setsockopt(nl->nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(nl->nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (setsockopt(nl->nl_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
		       &fam->nf_group, sizeof(fam->nf_group)) < 0) {
		ret = -errno;
		why_set(why, whylen, "joining the \"%s\" multicast group: %s",
			HANDSHAKE_MCGRP_TLSHD, strerror(-ret));
		tlshd_netlink_close(nl);
		return ret;
	}
	return 0;
}

int tlshd_netlink_parse_notifications(const void *buf, size_t len,
				      uint16_t family)
{
	const struct nlmsghdr *nlh = buf;
	int ready = 0;

	for (nlh = msg_ok(nlh, len) ? nlh : NULL; nlh;
	     nlh = msg_next(nlh, &len)) {
		char why[200] = "";
		int r = tlshd_netlink_parse_ready(nlh, family, why,
						  sizeof(why));

		if (r < 0)
			tlshd_log_warn("netlink: unexpected notification: %s",
				       why);
		else
			ready += r;
	}
	return ready;
}

int tlshd_netlink_ready(struct tlshd_nl *nl)
{
	char buf[NL_BUFSIZE];
	int ready = 0;

	for (;;) {
		ssize_t n = nl_recv(nl, buf, sizeof(buf), 0);

		if (n == -EAGAIN)
			return ready;
		if (n == -ENOBUFS) {
			/* notifications were lost: there may be requests */
			tlshd_log_info("netlink: READY notifications overflowed; accepting until none is left");
			ready = 1;
			continue;
		}
		if (n < 0) {
			tlshd_log_err("netlink: reading notifications: %s",
				      strerror((int)-n));
			return ready ? ready : (int)n;
		}
		if (!msg_ok((const struct nlmsghdr *)buf, (size_t)n))
			tlshd_log_warn("netlink: truncated notification (%zd bytes)",
				       n);
		n = tlshd_netlink_parse_notifications(buf, (size_t)n,
						      nl->nl_family);
		nl_trace(2, "READY x%zd", n);
		ready += (int)n;
	}
}

int tlshd_netlink_accept(struct tlshd_nl *nl, int *fd, struct tlshd_params *p)
{
	char req[128], reply[NL_BUFSIZE], why[256] = "";
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	ssize_t n;
	int ret;

	*fd = -1;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = nl->nl_family;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++nl->nl_seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = HANDSHAKE_CMD_ACCEPT;
	g->version = HANDSHAKE_FAMILY_VERSION;
	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
			 HANDSHAKE_HANDLER_CLASS_TLSHD);
	n = nl_command(nl, nlh, reply, sizeof(reply));
	if (n < 0) {
		tlshd_log_err("netlink: ACCEPT: %s", strerror((int)-n));
		return (int)n;
	}
	ret = tlshd_netlink_parse_accept(reply, (size_t)n, nl->nl_family, fd,
					 p, why, sizeof(why));
	if (ret == -EAGAIN) {
		nl_trace(1, "ACCEPT seq %u: none waiting", nl->nl_seq);
		return 0;	/* another agent took it, or none left */
	}
	if (!ret) {
		nl_trace(1, "ACCEPT seq %u: fd %d %s name '%s' timeout %u ms cert %d key %d psk x%u keyring %d",
			 nl->nl_seq, *fd, tlshd_log_type_name(p->p_type),
			 p->p_peername, p->p_timeout_ms, p->p_cert,
			 p->p_privkey, p->p_npsk, p->p_keyring);
		return 1;
	}
	if (*fd < 0) {
		tlshd_log_err("netlink: ACCEPT failed: %s", why);
		return ret;
	}
	tlshd_log_err("netlink: refusing the request on fd %d: %s", *fd, why);
	tlshd_netlink_done(nl, *fd, EINVAL, 0);
	close(*fd);
	*fd = -1;
	return TLSHD_NL_REFUSED;
}

int tlshd_netlink_done(struct tlshd_nl *nl, int sockfd, int status,
		       int32_t peerid)
{
	char req[256], reply[NL_BUFSIZE], why[200] = "";
	const struct nlmsghdr *nlh;
	size_t len;
	ssize_t n;
	int err;

	len = tlshd_netlink_build_done(req, sizeof(req), nl->nl_family,
				       ++nl->nl_seq, sockfd, status, peerid);
	if (!len)
		return -EMSGSIZE;
	n = nl_command(nl, (struct nlmsghdr *)req, reply, sizeof(reply));
	if (n < 0) {
		tlshd_log_err("netlink: DONE for fd %d: %s", sockfd,
			      strerror((int)-n));
		return (int)n;
	}
	nlh = first_msg(reply, (size_t)n, why, sizeof(why));
	err = nlh ? nlmsg_errno(nlh, why, sizeof(why)) : -EINVAL;
	if (err == 1) {
		why_set(why, sizeof(why), "an answer that is not an ack");
		err = -EINVAL;
	}
	nl_trace(1, "DONE seq %u: fd %d status %d remote auth %d: %s",
		 nl->nl_seq, sockfd, status, status ? 0 : peerid,
		 err ? why : "acked");
	if (err)
		tlshd_log_warn("netlink: the kernel did not take DONE for fd %d: %s%s",
			       sockfd, why,
			       err == -EBUSY ? " (the request was already cancelled or completed, e.g. the consumer timed out)" :
			       "");
	return err;
}
