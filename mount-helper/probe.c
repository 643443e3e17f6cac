// SPDX-License-Identifier: GPL-2.0
/*
 * The RFC 9289 section 4.1 probe in user space: a NULL call to the NFS
 * program with credential AUTH_TLS (empty) and verifier AUTH_NONE (empty).
 * A server that offers TLS answers MSG_ACCEPTED with the verifier
 * AUTH_NONE "STARTTLS".  RPC record marking (RFC 5531 section 11) frames
 * every message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rpctls.h"

#define NFS_PROGRAM	100003
#define AUTH_NONE	0
#define AUTH_TLS	7
#define MSG_ACCEPTED	0
#define MSG_DENIED	1

const char *mh_probe_result_name(enum probe_result r)
{
	switch (r) {
	case PROBE_STARTTLS:
		return "STARTTLS";
	case PROBE_NO_STARTTLS:
		return "no STARTTLS";
	case PROBE_DENIED:
		return "denied";
	case PROBE_BAD_REPLY:
		return "bad reply";
	default:
		return "unreachable";
	}
}

int mh_peer_resolve(struct peer *p, const char *host, unsigned int port,
		    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res;
	char portstr[16];
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port ? port : 2049;
	snprintf(portstr, sizeof(portstr), "%u", p->port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "cannot resolve server '%s': %s", host,
			 gai_strerror(ret));
		return -ENOENT;
	}
	memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
	p->addrlen = res->ai_addrlen;
	p->family = res->ai_family;
	getnameinfo(res->ai_addr, res->ai_addrlen, p->addrstr,
		    sizeof(p->addrstr), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	return 0;
}

int mh_peer_connect(const struct peer *p, int timeout_ms, char *err,
		    size_t errlen)
{
	struct pollfd pfd;
	int fd, flags, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		soerr = errno;
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) != 1) {
		soerr = ETIMEDOUT;
		goto fail;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr)
		goto fail;
	fcntl(fd, F_SETFL, flags);
	return fd;
fail:
	snprintf(err, errlen, "cannot connect to %s port %u (%s): %s",
		 p->host, p->port, p->addrstr, strerror(soerr));
	close(fd);
	return -soerr;
}

int mh_rpc_send_record(int fd, const void *buf, size_t len)
{
	uint32_t mark = htonl(0x80000000U | (uint32_t)len);
	const unsigned char *b = buf;
	size_t off = 0;

	if (write(fd, &mark, 4) != 4)
		return -EIO;
	while (off < len) {
		ssize_t n = write(fd, b + off, len - off);

		if (n <= 0)
			return -EIO;
		off += (size_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	unsigned char *b = buf;
	size_t off = 0;

	while (off < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		n = read(fd, b + off, len - off);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* One whole record (all fragments); returns its length. */
int mh_rpc_recv_record(int fd, void *buf, size_t cap, int timeout_ms)
{
	size_t total = 0;
	uint32_t mark;
	int ret;

	for (;;) {
		uint32_t len;

		ret = read_full(fd, &mark, 4, timeout_ms);
		if (ret < 0)
			return ret;
		mark = ntohl(mark);
		len = mark & 0x7fffffffU;
		if (total + len > cap)
			return -EMSGSIZE;
		ret = read_full(fd, (char *)buf + total, len, timeout_ms);
		if (ret < 0)
			return ret;
		total += len;
		if (mark & 0x80000000U)
			return (int)total;
	}
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

enum probe_result mh_probe_auth_tls(int fd, unsigned int vers, int timeout_ms,
				    char *detail, size_t dlen)
{
	uint32_t xid = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	uint32_t call[10] = {
		htonl(xid), htonl(0), htonl(2), htonl(NFS_PROGRAM),
		htonl(vers ? vers : 4), htonl(0),
		htonl(AUTH_TLS), htonl(0), htonl(AUTH_NONE), htonl(0),
	};
	unsigned char reply[512];
	int n;

	if (mh_rpc_send_record(fd, call, sizeof(call)) < 0) {
		snprintf(detail, dlen, "cannot send the probe: %s",
			 strerror(errno));
		return PROBE_UNREACHABLE;
	}
	n = mh_rpc_recv_record(fd, reply, sizeof(reply), timeout_ms);
	if (n < 0) {
		snprintf(detail, dlen, "no answer to the AUTH_TLS probe: %s",
			 n == -ETIMEDOUT ? "timed out" :
			 n == -ECONNRESET ? "connection closed" :
			 strerror(-n));
		return n == -EMSGSIZE ? PROBE_BAD_REPLY : PROBE_UNREACHABLE;
	}
	return mh_probe_parse_reply(reply, (size_t)n, xid, detail, dlen);
}

/* The reply to the probe @xid: what the server said about RPC-with-TLS */
enum probe_result mh_probe_parse_reply(const unsigned char *reply, size_t n,
				       uint32_t xid, char *detail, size_t dlen)
{
	uint32_t vflavor, vlen;

	if (n < 12 || get32(reply) != xid || get32(reply + 4) != 1) {
		snprintf(detail, dlen, "the answer to the probe is not an RPC reply to it");
		return PROBE_BAD_REPLY;
	}
	if (get32(reply + 8) == MSG_DENIED) {
		snprintf(detail, dlen,
			 "the server rejected the AUTH_TLS probe (MSG_DENIED): it does not know RPC-with-TLS");
		return PROBE_DENIED;
	}
	if (get32(reply + 8) != MSG_ACCEPTED || n < 20) {
		snprintf(detail, dlen, "malformed reply to the probe");
		return PROBE_BAD_REPLY;
	}
	vflavor = get32(reply + 12);
	vlen = get32(reply + 16);
	if (vflavor == AUTH_NONE && vlen == 8 && n >= 28 &&
	    !memcmp(reply + 20, "STARTTLS", 8)) {
		snprintf(detail, dlen, "the server answered the AUTH_TLS probe with STARTTLS");
		return PROBE_STARTTLS;
	}
	snprintf(detail, dlen,
		 "the server answered the AUTH_TLS probe without STARTTLS (verifier flavor %u, %u bytes): it does not offer RPC-with-TLS",
		 vflavor, vlen);
	return PROBE_NO_STARTTLS;
}
