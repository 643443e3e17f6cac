// SPDX-License-Identifier: GPL-2.0
/*
 * What kTLS says about one TCP connection, through sock_diag (the netlink
 * interface behind ss(8)): INET_DIAG_ULP_INFO carries the ULP name ("tls")
 * and, for kTLS, TLS_INFO_VERSION, TLS_INFO_CIPHER, TLS_INFO_TXCONF and
 * TLS_INFO_RXCONF (net/tls/tls_main.c, tls_get_info).  The kernel sends
 * them only to a caller with CAP_NET_ADMIN in the socket's network
 * namespace.
 *
 * A mount's connection is found by the server's address and port (the
 * mount's addr= and port= options) and, when mountstats' "xprt:" line
 * gives it (non-zero), its local port; in this network namespace or in a
 * named one (/run/netns/NAME, entered in a child process).  Without the
 * local port, all connections to that server are summed up: the kernel
 * does not tell which one is a mount's.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "rpctls.h"

static void ulp_parse(struct rtattr *ulp, int len, struct ktls_info *ki)
{
	struct rtattr *a;

	for (a = ulp; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const void *d = RTA_DATA(a);
		__u16 v;

		if (a->rta_type == INET_ULP_INFO_NAME) {
			snprintf(ki->ulp, sizeof(ki->ulp), "%.*s",
				 (int)RTA_PAYLOAD(a), (const char *)d);
			continue;
		}
		if (a->rta_type != INET_ULP_INFO_TLS)
			continue;
		{
			struct rtattr *t = (struct rtattr *)RTA_DATA(a);
			int tl = (int)RTA_PAYLOAD(a);

			for (; RTA_OK(t, tl); t = RTA_NEXT(t, tl)) {
				if (RTA_PAYLOAD(t) < sizeof(v))
					continue;
				memcpy(&v, RTA_DATA(t), sizeof(v));
				switch (t->rta_type) {
				case TLS_INFO_VERSION:
					ki->version = v;
					break;
				case TLS_INFO_CIPHER:
					ki->cipher = v;
					break;
				case TLS_INFO_TXCONF:
					ki->txconf = v;
					break;
				case TLS_INFO_RXCONF:
					ki->rxconf = v;
					break;
				}
			}
		}
	}
}

/*
 * One buffer of a SOCK_DIAG_BY_FAMILY dump: the connections that match
 * @want are added to @ki.  Returns 1 when one matched, 0 when none, -1
 * for a malformed message; *done is set at NLMSG_DONE or NLMSG_ERROR.
 * Every length comes from the buffer and is checked before use.
 */
int mh_sockdiag_parse(const void *buf, size_t n, const struct ktls_match *want,
		      struct ktls_info *ki, bool *done)
{
	const struct nlmsghdr *h;
	int found = 0, left;

	/* signed: NLMSG_NEXT takes the aligned length off, which may pass 0 */
	if (n > 1U << 20)
		return -1;
	left = (int)n;
	for (h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		const struct inet_diag_msg *m = NLMSG_DATA(h);
		struct ktls_info one;
		struct rtattr *a;
		int len;

		if (h->nlmsg_type == NLMSG_DONE ||
		    h->nlmsg_type == NLMSG_ERROR) {
			*done = true;
			break;
		}
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -1;
		if ((want->sport && ntohs(m->id.idiag_sport) != want->sport) ||
		    ntohs(m->id.idiag_dport) != want->dport ||
		    memcmp(m->id.idiag_dst, want->daddr, want->alen))
			continue;
		memset(&one, 0, sizeof(one));
		len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (a = (struct rtattr *)(m + 1); RTA_OK(a, len);
		     a = RTA_NEXT(a, len))
			if (a->rta_type == INET_DIAG_ULP_INFO)
				ulp_parse(RTA_DATA(a), (int)RTA_PAYLOAD(a),
					  &one);
		found = 1;
		ki->nconn++;
		if (strcmp(one.ulp, "tls") || !one.version)
			continue;
		if (ki->ntls++ == 0) {
			memcpy(ki->ulp, one.ulp, sizeof(ki->ulp));
			ki->version = one.version;
			ki->cipher = one.cipher;
			ki->txconf = one.txconf;
			ki->rxconf = one.rxconf;
		} else if (one.version != ki->version ||
			   one.cipher != ki->cipher) {
			ki->mixed = true;
		}
	}
	return found;
}

/*
 * Look in the current network namespace; 1 found, 0 not, -errno.  SPORT 0
 * (the kernel did not say which local port a mount uses): every
 * established connection to DADDR:DPORT is counted.
 */
static int lookup_here(int family, const void *daddr, unsigned int dport,
		       unsigned int sport, struct ktls_info *ki)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = (__u8)family,
		       .sdiag_protocol = IPPROTO_TCP,
		       .idiag_ext = 1 << (INET_DIAG_INFO - 1),
		       .idiag_states = 1 << TCP_ESTABLISHED },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const struct ktls_match want = {
		.daddr = daddr, .alen = family == AF_INET ? 4 : 16,
		.dport = dport, .sport = sport,
	};
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, found = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int r;

		if (n <= 0)
			break;
		r = mh_sockdiag_parse(buf, (size_t)n, &want, ki, &done);
		if (r < 0)
			break;
		found |= r;
	}
	close(fd);
	return found;
}

int mh_ktls_lookup(const char *addr, unsigned int dport, unsigned int sport,
		   struct ktls_info *ki)
{
	unsigned char daddr[16] = { 0 };
	int family, ret, p[2];
	DIR *d;
	struct dirent *e;

	memset(ki, 0, sizeof(*ki));
	if (inet_pton(AF_INET, addr, daddr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, daddr) == 1)
		family = AF_INET6;
	else
		return -EINVAL;
	ret = lookup_here(family, daddr, dport, sport, ki);
	if (ret != 0 || getenv("RPCTLS_PROC"))
		return ret;

	/* named network namespaces: each one in a child, answer by pipe */
	d = opendir("/run/netns");
	while (d && (e = readdir(d))) {
		char path[512];
		pid_t pid;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%.255s", e->d_name);
		if (pipe2(p, O_CLOEXEC) < 0)
			break;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			close(p[0]);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				_exit(1);
			if (lookup_here(family, daddr, dport, sport, ki) == 1 &&
			    write(p[1], ki, sizeof(*ki)) == (ssize_t)sizeof(*ki))
				_exit(0);
			_exit(1);
		}
		close(p[1]);
		if (pid < 0) {
			close(p[0]);
			break;
		}
		n = read(p[0], ki, sizeof(*ki));
		close(p[0]);
		waitpid(pid, NULL, 0);
		if (n == (ssize_t)sizeof(*ki)) {
			snprintf(ki->netns, sizeof(ki->netns), "%.63s",
				 e->d_name);
			closedir(d);
			return 1;
		}
		memset(ki, 0, sizeof(*ki));
	}
	if (d)
		closedir(d);
	return 0;
}

const char *mh_ktls_version_name(unsigned int v)
{
	switch (v) {
	case TLS_1_2_VERSION:
		return "TLS 1.2";
	case TLS_1_3_VERSION:
		return "TLS 1.3";
	}
	return NULL;
}

const char *mh_ktls_cipher_name(unsigned int c)
{
	switch (c) {
	case TLS_CIPHER_AES_GCM_128:
		return "AES-128-GCM";
	case TLS_CIPHER_AES_GCM_256:
		return "AES-256-GCM";
	case TLS_CIPHER_AES_CCM_128:
		return "AES-128-CCM";
	case TLS_CIPHER_CHACHA20_POLY1305:
		return "CHACHA20-POLY1305";
	}
	return NULL;
}

const char *mh_ktls_conf_name(unsigned int c)
{
	switch (c) {
	case TLS_CONF_BASE:
		return "none";
	case TLS_CONF_SW:
		return "sw";
	case TLS_CONF_HW:
		return "hw";
	case TLS_CONF_HW_RECORD:
		return "hw-record";
	}
	return "?";
}
