// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-unit, netlink part: crafted messages, good and malformed, fed to
 * the parsers of netlink.c as the kernel would send them (the genetlink
 * controller's family answer, READY notifications, ACCEPT replies), and
 * the DONE message checked attribute by attribute.  Then the status table
 * against tlshd(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "tlshd.h"
#include "nl_handshake.h"
#include "unit.h"
#include "fakenl.h"

#define FAM	FAKENL_FAMILY

/*
 * With TLSHD_NL_CORPUS=DIR each crafted message is also written there as a
 * seed for the fuzzer (fuzz_netlink.c): a selector byte, then the message.
 */
static void seed(unsigned char sel, const void *msg, size_t len,
		 const char *name)
{
	const char *dir = getenv("TLSHD_NL_CORPUS");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%u-%s", dir, sel, name);
	f = fopen(path, "we");
	if (!f)
		return;
	fputc(sel, f);
	fwrite(msg, 1, len, f);
	fclose(f);
}

/* A message of the handshake family (or the controller's), sequence 5. */
static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint8_t cmd)
{
	return fakenl_genl(buf, type, cmd, 5);
}

/* ---- ACCEPT replies ---- */

/* What to change in the good x509 client request. */
enum mutation {
	M_NONE, M_ANON, M_PSK3, M_SERVER_X509, M_SERVER_PSK, M_NO_SOCKFD,
	M_NO_MSGTYPE, M_NO_AUTH, M_MSGTYPE_3, M_AUTH_9, M_SERVER_UNAUTH,
	M_SOCKFD_SHORT, M_SOCKFD_NEG, M_DUP_MSGTYPE, M_UNKNOWN_ATTR,
	M_NAME_NO_NUL, M_NAME_INNER_NUL, M_NAME_LONG, M_NAME_NEWLINE,
	M_NAME_SPACE, M_PSK17, M_PSK_ZERO, M_CERT_UNKNOWN, M_CERT_WIDE,
	M_CERT_TWICE, M_CERT_NEG, M_OVERRUN, M_TRUNCATED, M_WRONG_FAMILY,
	M_WRONG_CMD, M_NO_GENL, M_CLASS_2, M_CLASS_TLSHD, M_KEYRING_NEG,
	M_ATTR_TINY, M_NAME_MAX,
};

static size_t build_accept(char *buf, enum mutation m)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char name[400];
	unsigned int i;
	uint16_t type = m == M_WRONG_FAMILY ? FAM + 1 : FAM;

	nlh = msg_start(buf, type, m == M_WRONG_CMD ? HANDSHAKE_CMD_DONE :
			HANDSHAKE_CMD_ACCEPT);
	if (m == M_NO_GENL) {
		nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
		return nlh->nlmsg_len;
	}
	if (m == M_CLASS_2)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS, 2);
	if (m == M_CLASS_TLSHD)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
				 HANDSHAKE_HANDLER_CLASS_TLSHD);
	if (m == M_SOCKFD_SHORT)
		mnl_attr_put_u16(nlh, HANDSHAKE_A_ACCEPT_SOCKFD, 7);
	else if (m == M_SOCKFD_NEG)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_SOCKFD, (uint32_t)-3);
	else if (m != M_NO_SOCKFD)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_SOCKFD, 7);
	if (m != M_NO_MSGTYPE)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_MESSAGE_TYPE,
				 m == M_MSGTYPE_3 ? 3 :
				 m == M_SERVER_X509 || m == M_SERVER_PSK ||
				 m == M_SERVER_UNAUTH ?
				 HANDSHAKE_MSG_TYPE_SERVERHELLO :
				 HANDSHAKE_MSG_TYPE_CLIENTHELLO);
	if (m == M_DUP_MSGTYPE)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_MESSAGE_TYPE,
				 HANDSHAKE_MSG_TYPE_SERVERHELLO);
	if (m != M_ANON && m != M_SERVER_X509 && m != M_SERVER_PSK)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_TIMEOUT, 15000);
	if (m != M_NO_AUTH)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_AUTH_MODE,
				 m == M_AUTH_9 ? 9 :
				 m == M_ANON || m == M_SERVER_UNAUTH ?
				 HANDSHAKE_AUTH_UNAUTH :
				 m == M_PSK3 || m == M_SERVER_PSK ||
				 m == M_PSK17 || m == M_PSK_ZERO ?
				 HANDSHAKE_AUTH_PSK : HANDSHAKE_AUTH_X509);
	if (m == M_PSK3 || m == M_SERVER_PSK)
		for (i = 0; i < (m == M_PSK3 ? 3U : 1U); i++)
			mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_PEER_IDENTITY,
					 100 + i);
	if (m == M_PSK17)
		for (i = 0; i < 17; i++)
			mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_PEER_IDENTITY,
					 100 + i);
	if (m == M_PSK_ZERO)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_PEER_IDENTITY, 0);
	if (m == M_NONE || m == M_CERT_UNKNOWN || m == M_CERT_WIDE ||
	    m == M_CERT_TWICE || m == M_CERT_NEG || m == M_SERVER_X509) {
		for (i = 0; i < (m == M_CERT_TWICE ? 2U : 1U); i++) {
			nest = mnl_attr_nest_start(nlh,
					HANDSHAKE_A_ACCEPT_CERTIFICATE);
			if (m == M_CERT_WIDE)
				mnl_attr_put_u64(nlh, HANDSHAKE_A_X509_CERT,
						 11);
			else
				mnl_attr_put_u32(nlh, HANDSHAKE_A_X509_CERT,
						 m == M_CERT_NEG ? (uint32_t)-11 :
						 11);
			mnl_attr_put_u32(nlh, HANDSHAKE_A_X509_PRIVKEY, 12);
			if (m == M_CERT_UNKNOWN)
				mnl_attr_put_u32(nlh, 3, 1);
			mnl_attr_nest_end(nlh, nest);
		}
	}
	switch (m) {
	case M_NAME_NO_NUL:
		mnl_attr_put(nlh, HANDSHAKE_A_ACCEPT_PEERNAME, 11,
			     "server.test");
		break;
	case M_NAME_INNER_NUL:
		mnl_attr_put(nlh, HANDSHAKE_A_ACCEPT_PEERNAME, 12,
			     "server\0test");
		break;
	case M_NAME_LONG:
	case M_NAME_MAX:
		memset(name, 'a', sizeof(name));
		name[m == M_NAME_LONG ? 300 : TLSH_PEERNAME_MAX - 1] = '\0';
		mnl_attr_put_strz(nlh, HANDSHAKE_A_ACCEPT_PEERNAME, name);
		break;
	case M_NAME_NEWLINE:
		mnl_attr_put_strz(nlh, HANDSHAKE_A_ACCEPT_PEERNAME,
				  "server.test\nforged log line");
		break;
	case M_NAME_SPACE:
		mnl_attr_put_strz(nlh, HANDSHAKE_A_ACCEPT_PEERNAME,
				  "server test");
		break;
	case M_ANON:
	case M_SERVER_X509:
	case M_SERVER_PSK:
		break;
	default:
		mnl_attr_put_strz(nlh, HANDSHAKE_A_ACCEPT_PEERNAME,
				  "server.test");
	}
	if (m == M_NONE)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_KEYRING, 13);
	if (m == M_KEYRING_NEG)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_KEYRING, (uint32_t)-1);
	if (m == M_UNKNOWN_ATTR)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_MAX + 1, 1);
	if (m == M_ATTR_TINY) {
		/* an attribute header claiming 2 bytes */
		struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

		a->nla_len = 2;
		a->nla_type = HANDSHAKE_A_ACCEPT_TIMEOUT;
		nlh->nlmsg_len += 4;
	}
	if (m == M_OVERRUN) {
		struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_TIMEOUT, 1);
		a->nla_len = 64;	/* claims more than the message has */
	}
	if (m == M_TRUNCATED)
		return nlh->nlmsg_len - 8;
	return nlh->nlmsg_len;
}

static void test_accept(void)
{
	static const struct {
		const char *name;
		enum mutation m;
		int ret;		/* 0 or negative errno */
		int sockfd;		/* expected *sockfd */
		const char *why;	/* substring of the reason */
	} cases[] = {
		{ "netlink: ACCEPT x509 client request parses", M_NONE, 0, 7, NULL },
		{ "netlink: ACCEPT anonymous client, no name or timeout", M_ANON, 0, 7, NULL },
		{ "netlink: ACCEPT PSK client with three identities", M_PSK3, 0, 7, NULL },
		{ "netlink: ACCEPT x509 server request parses", M_SERVER_X509, 0, 7, NULL },
		{ "netlink: ACCEPT PSK server request parses", M_SERVER_PSK, 0, 7, NULL },
		{ "netlink: ACCEPT with HANDLER_CLASS tlshd parses", M_CLASS_TLSHD, 0, 7, NULL },
		{ "netlink: PEERNAME of the maximum length parses", M_NAME_MAX, 0, 7, NULL },
		{ "netlink: no SOCKFD: nothing to report to", M_NO_SOCKFD, -EINVAL, -1, "no SOCKFD" },
		{ "netlink: no MESSAGE_TYPE refused, socket known", M_NO_MSGTYPE, -EINVAL, 7, "no MESSAGE_TYPE" },
		{ "netlink: no AUTH_MODE refused", M_NO_AUTH, -EINVAL, 7, "no AUTH_MODE" },
		{ "netlink: unknown MESSAGE_TYPE refused", M_MSGTYPE_3, -EINVAL, 7, "MESSAGE_TYPE 3" },
		{ "netlink: unknown AUTH_MODE refused", M_AUTH_9, -EINVAL, 7, "AUTH_MODE 9" },
		{ "netlink: server without authentication refused", M_SERVER_UNAUTH, -EINVAL, 7, "without authentication" },
		{ "netlink: 2-byte SOCKFD refused", M_SOCKFD_SHORT, -EINVAL, -1, "SOCKFD of 2 bytes" },
		{ "netlink: negative SOCKFD refused", M_SOCKFD_NEG, -EINVAL, -3, "negative SOCKFD" },
		{ "netlink: a repeated MESSAGE_TYPE refused", M_DUP_MSGTYPE, -EINVAL, 7, "MESSAGE_TYPE more than once" },
		{ "netlink: unknown attribute refused (fail closed)", M_UNKNOWN_ATTR, -EINVAL, 7, "unknown attribute 10" },
		{ "netlink: PEERNAME without NUL refused", M_NAME_NO_NUL, -EINVAL, 7, "not a NUL-terminated" },
		{ "netlink: PEERNAME with an inner NUL refused", M_NAME_INNER_NUL, -EINVAL, 7, "NUL byte inside" },
		{ "netlink: PEERNAME longer than 255 bytes refused", M_NAME_LONG, -EINVAL, 7, "PEERNAME of 300 bytes" },
		{ "netlink: PEERNAME with a newline refused (log forging)", M_NAME_NEWLINE, -EINVAL, 7, "control or non-ASCII" },
		{ "netlink: PEERNAME with a space refused", M_NAME_SPACE, -EINVAL, 7, "control or non-ASCII" },
		{ "netlink: 17 PEER_IDENTITY refused", M_PSK17, -EINVAL, 7, "more than 16 PEER_IDENTITY" },
		{ "netlink: PEER_IDENTITY 0 refused", M_PSK_ZERO, -EINVAL, 7, "not a key serial" },
		{ "netlink: unknown attribute in CERTIFICATE refused", M_CERT_UNKNOWN, -EINVAL, 7, "unknown attribute 3 in CERTIFICATE" },
		{ "netlink: 8-byte certificate serial refused", M_CERT_WIDE, -EINVAL, 7, "CERT of 8 bytes" },
		{ "netlink: two CERTIFICATEs refused", M_CERT_TWICE, -EINVAL, 7, "more than one CERTIFICATE" },
		{ "netlink: negative certificate serial refused", M_CERT_NEG, -EINVAL, 7, "negative key serial" },
		{ "netlink: negative KEYRING refused", M_KEYRING_NEG, -EINVAL, 7, "KEYRING -1" },
		{ "netlink: attribute overrunning the message refused", M_OVERRUN, -EINVAL, 7, "length 64" },
		{ "netlink: attribute shorter than its header refused", M_ATTR_TINY, -EINVAL, 7, "malformed attribute" },
		{ "netlink: truncated datagram refused", M_TRUNCATED, -EINVAL, -1, "truncated netlink message" },
		{ "netlink: reply of another family refused", M_WRONG_FAMILY, -EINVAL, -1, "not the handshake family" },
		{ "netlink: reply with another command refused", M_WRONG_CMD, -EINVAL, -1, "not ACCEPT" },
		{ "netlink: reply without genetlink header refused", M_NO_GENL, -EINVAL, -1, "no genetlink header" },
		{ "netlink: HANDLER_CLASS other than tlshd refused", M_CLASS_2, -EINVAL, 7, "HANDLER_CLASS 2" },
	};
	char buf[2048], why[256];
	struct tlshd_params p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = build_accept(buf, cases[i].m);
		int fd = -2, ret;
		char sname[16];

		snprintf(sname, sizeof(sname), "accept-%zu", i);
		seed(0, buf, len, sname);
		why[0] = '\0';
		ret = tlshd_netlink_parse_accept(buf, len, FAM, &fd, &p, why,
						 sizeof(why));
		if (ret != cases[i].ret || fd != cases[i].sockfd) {
			char got[400];

			snprintf(got, sizeof(got), "ret %d sockfd %d (want %d, %d): %s",
				 ret, fd, cases[i].ret, cases[i].sockfd, why);
			result(false, cases[i].name, got);
			continue;
		}
		result(!cases[i].why || strstr(why, cases[i].why), cases[i].name,
		       why);
	}

	/* the values, for the good ones */
	build_accept(buf, M_NONE);
	tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 }, &p, why,
				   sizeof(why));
	result(p.p_type == TLSH_TYPE_CLIENTHELLO_X509 && p.p_cert == 11 &&
	       p.p_privkey == 12 && p.p_timeout_ms == 15000 &&
	       p.p_keyring == 13 && !strcmp(p.p_peername, "server.test") &&
	       !p.p_flags && !p.p_npsk,
	       "netlink: x509 client values: type, serials, timeout, keyring, name",
	       "wrong values");
	build_accept(buf, M_ANON);
	tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 }, &p, why,
				   sizeof(why));
	result(p.p_type == TLSH_TYPE_CLIENTHELLO_ANON && !p.p_timeout_ms &&
	       !p.p_peername[0] && !p.p_cert,
	       "netlink: anonymous client: no timeout (the engine's default), no name",
	       "wrong values");
	build_accept(buf, M_PSK3);
	tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 }, &p, why,
				   sizeof(why));
	result(p.p_type == TLSH_TYPE_CLIENTHELLO_PSK && p.p_npsk == 3 &&
	       p.p_psk_ids[0] == 100 && p.p_psk_ids[2] == 102,
	       "netlink: PSK identities in order", "wrong PSK ids");
	build_accept(buf, M_SERVER_X509);
	tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 }, &p, why,
				   sizeof(why));
	result(p.p_type == TLSH_TYPE_SERVERHELLO_X509 &&
	       !(p.p_flags & TLSH_F_PEER_CERT_REQUIRED) && p.p_cert == 11,
	       "netlink: x509 server requests, does not require, a client certificate",
	       "wrong type or flags");

	/* error replies */
	fakenl_error(buf, 0, -EAGAIN);
	result(tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 },
					  &p, why, sizeof(why)) == -EAGAIN,
	       "netlink: EAGAIN reply means no request waiting", why);
	fakenl_error(buf, 0, -EPERM);
	result(tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 },
					  &p, why, sizeof(why)) == -EPERM &&
	       strstr(why, "not permitted"),
	       "netlink: EPERM reply passed on with its reason", why);
	fakenl_error(buf, 0, 0);
	result(tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 },
					  &p, why, sizeof(why)) == -EINVAL &&
	       strstr(why, "an ack"),
	       "netlink: an ack instead of a request refused", why);
	fakenl_error(buf, 0, 5);
	result(tlshd_netlink_parse_accept(buf, sizeof(buf), FAM, &(int){ 0 },
					  &p, why, sizeof(why)) == -EINVAL,
	       "netlink: error message with a positive error refused", why);
	result(tlshd_netlink_parse_accept(buf, 10, FAM, &(int){ 0 }, &p, why,
					  sizeof(why)) == -EINVAL,
	       "netlink: 10-byte datagram refused", why);
}

/* ---- READY and the controller's family answer ---- */

static void test_ready(void)
{
	char buf[512], why[200];
	struct nlmsghdr *nlh;

	nlh = msg_start(buf, FAM, HANDSHAKE_CMD_READY);
	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
			 HANDSHAKE_HANDLER_CLASS_TLSHD);
	seed(2, buf, nlh->nlmsg_len, "ready");
	result(tlshd_netlink_parse_ready(nlh, FAM, why, sizeof(why)) == 1,
	       "netlink: READY for tlshd", why);
	nlh = msg_start(buf, FAM, HANDSHAKE_CMD_READY);
	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS, 2);
	result(tlshd_netlink_parse_ready(nlh, FAM, why, sizeof(why)) == 0,
	       "netlink: READY for another handler class ignored", why);
	nlh = msg_start(buf, FAM, HANDSHAKE_CMD_ACCEPT);
	result(tlshd_netlink_parse_ready(nlh, FAM, why, sizeof(why)) < 0 &&
	       strstr(why, "not READY"),
	       "netlink: notification with another command is unexpected",
	       why);
	nlh = msg_start(buf, FAM + 3, HANDSHAKE_CMD_READY);
	result(tlshd_netlink_parse_ready(nlh, FAM, why, sizeof(why)) < 0,
	       "netlink: notification of another family is unexpected", why);
}

static void test_family(void)
{
	struct tlshd_nl_family fam = { 0, 0 };
	char buf[1024], why[200] = "";
	struct nlmsghdr *nlh;

	nlh = fakenl_family(buf, 5, true, true);
	seed(1, buf, nlh->nlmsg_len, "family");
	result(!tlshd_netlink_parse_family(buf, nlh->nlmsg_len, &fam, why,
					   sizeof(why)) &&
	       fam.nf_family == FAM && fam.nf_group == 9,
	       "netlink: family id and the \"tlshd\" group from the controller",
	       why);
	nlh = fakenl_family(buf, 5, true, false);
	result(tlshd_netlink_parse_family(buf, nlh->nlmsg_len, &fam, why,
					  sizeof(why)) == -EINVAL &&
	       strstr(why, "no \"tlshd\" multicast group"),
	       "netlink: family without the tlshd group refused", why);
	nlh = fakenl_family(buf, 5, false, true);
	result(tlshd_netlink_parse_family(buf, nlh->nlmsg_len, &fam, why,
					  sizeof(why)) == -EINVAL &&
	       strstr(why, "no family id"),
	       "netlink: controller answer without family id refused", why);
	fakenl_error(buf, 0, -ENOENT);
	result(tlshd_netlink_parse_family(buf, sizeof(buf), &fam, why,
					  sizeof(why)) == -ENOENT,
	       "netlink: ENOENT from the controller: no handshake family", why);
}

/* ---- DONE ---- */

static bool done_check(int status, int32_t peerid, int want_nauth,
		       char *why, size_t whylen)
{
	struct fakenl_done d = { .status = -1, .sockfd = -1 };
	char buf[256];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct genlmsghdr *g;
	size_t len;

	len = tlshd_netlink_build_done(buf, sizeof(buf), FAM, 42, 9, status,
				       peerid);
	if (!len || len != nlh->nlmsg_len) {
		snprintf(why, whylen, "built %zu bytes", len);
		return false;
	}
	g = mnl_nlmsg_get_payload(nlh);
	fakenl_done_parse(nlh, &d);
	snprintf(why, whylen, "type %u flags %#x seq %u cmd %u status %d sockfd %d auth %u x%d%s",
		 nlh->nlmsg_type, nlh->nlmsg_flags, nlh->nlmsg_seq, g->cmd,
		 d.status, d.sockfd, d.auth, d.nauth, d.bad ? " bad" : "");
	return nlh->nlmsg_type == FAM && nlh->nlmsg_seq == 42 &&
	       nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK) &&
	       g->cmd == HANDSHAKE_CMD_DONE && !d.bad && d.status == status &&
	       d.sockfd == 9 && d.nauth == want_nauth &&
	       (!want_nauth || d.auth == (uint32_t)peerid);
}

static void test_done(void)
{
	char why[200], buf[16];

	result(done_check(0, 77, 1, why, sizeof(why)),
	       "netlink: DONE success carries STATUS 0, SOCKFD, REMOTE_AUTH", why);
	result(done_check(EACCES, 77, 0, why, sizeof(why)),
	       "netlink: DONE failure carries no REMOTE_AUTH", why);
	result(done_check(0, 0, 0, why, sizeof(why)),
	       "netlink: DONE success without a peer identity: no REMOTE_AUTH", why);
	result(done_check(EKEYREJECTED, 0, 0, why, sizeof(why)),
	       "netlink: DONE status is the positive errno", why);
	result(!tlshd_netlink_build_done(buf, sizeof(buf), FAM, 1, 9, 0, 7),
	       "netlink: DONE that does not fit the buffer is not built",
	       "built");
}

/* ---- the status table ---- */

static void test_status(const char *manpage)
{
	const struct tlshd_status *t;
	char *text = NULL, missing[256] = "";
	size_t n, i, len = 0;
	FILE *f;

	t = tlshd_status_table(&n);
	f = fopen(manpage, "re");
	if (f) {
		text = malloc(1 << 16);
		if (text)
			len = fread(text, 1, (1 << 16) - 1, f);
		fclose(f);
	}
	if (!text) {
		result(false, "status: tlshd(8) lists every status", manpage);
		return;
	}
	text[len] = '\0';
	for (i = 0; i < n; i++) {
		char want[64];

		if (!t[i].st_errno || !(t[i].st_by & TLSH_STATUS_BY_AGENT))
			continue;
		snprintf(want, sizeof(want), ".B %s\n", t[i].st_name);
		if (!strstr(text, want))
			snprintf(missing + strlen(missing),
				 sizeof(missing) - strlen(missing), " %s",
				 t[i].st_name);
	}
	result(!missing[0], "status: tlshd(8) lists every status of the table",
	       missing);
	free(text);
	result(!strcmp(tlshd_status_name(ETIMEDOUT), "ETIMEDOUT") &&
	       !strcmp(tlshd_status_name(0), "0") && !tlshd_status_name(EPERM),
	       "status: names from the table", "wrong name");
	result(tlshd_status_check(EPERM, 1) == EIO &&
	       tlshd_status_check(EKEYREJECTED, 1) == EKEYREJECTED,
	       "status: a status outside the table is reported as EIO",
	       "not mapped");
}

void test_netlink(const char *manpage)
{
	test_accept();
	test_ready();
	test_family();
	test_done();
	test_status(manpage);
}
