// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-rpcload: RPC-with-TLS connections to a server, as many NFS
 * clients coming back at once would open them, for measuring the
 * server's handshake agent (ours or ktls-utils') behind nfsd.
 *
 * Each connection: TCP connect; an RPC NULL call with AUTH_TLS (the
 * RFC 9289 probe); the reply must be accepted with the "STARTTLS"
 * verifier; a TLS 1.3 handshake (GnuTLS client, the server's name and
 * chain verified, ALPN "sunrpc" offered unless --no-alpn, a client
 * certificate with --cert/--key); one NULL call inside TLS, its reply;
 * close.  Its latency runs from connect() to that reply.  J connections are
 * in flight at once (a closed loop), N in all, for each level J; every
 * connection is a non-blocking state machine in one poll loop.
 *
 *   tlshd-rpcload --ca FILE --name NAME [--cert FILE --key FILE]
 *       [--no-alpn] [-n N] [-j J,...] [--timeout MS] [--dump FILE]
 *       [--retry MS] [--tls-only] ADDR [PORT]
 *
 * --retry MS: a connection the server closes before its handshake (what
 * mainline does when too many requests wait for the agent to accept them)
 * is opened again after MS, as an NFS client reconnects; its latency then
 * counts from the first attempt, and the reconnects are counted.
 *
 * --tls-only: the TLS handshake alone, no RPC before or after it: against
 * a plain TLS server (tlshd-hsbench --serve), the in-process reference.
 *
 * Prints, per level, connections per second, median and 99th percentile
 * latency, failures (with the first one's cause), and a line
 *   result j=J n=N ok=OK rate=R median_ms=M p99_ms=P failed=F secs=S
 *          reconnects=C
 * --dump FILE appends "lat J MS" per connection served and "fail J CAUSE"
 * per failure, so that runs in rounds can be summed up.
 * Exit status 0 when every connection got its NULL reply inside TLS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "bench.h"

#define MAX_J		256
#define MAX_LEVELS	8
#define USAGE "usage: tlshd-rpcload --ca FILE --name NAME [--cert F --key F] " \
	"[--no-alpn] [-n N] [-j J,...] [--timeout MS] [--dump FILE] " \
	"[--retry MS] [--tls-only] ADDR [PORT]"
#define PRIO "NORMAL:-VERS-ALL:+VERS-TLS1.3:%NO_TICKETS"

enum state { S_CONNECT, S_PROBE, S_PROBE_REPLY, S_TLS, S_NULL, S_NULL_REPLY,
	     S_BACKOFF };

struct conn {
	int			fd;
	enum state		st;
	gnutls_session_t	s;
	double			t0, deadline, wake;
	unsigned int		tries;
	bool			closed;	/* the server closed before TLS was up */
	unsigned char		buf[256];
	size_t			have, want;
	uint32_t		xid;
	bool			busy;
};

static struct {
	const char		*ca, *name, *cert, *key, *dump;
	bool			alpn, tls_only;
	unsigned int		n, timeout_ms, levels[MAX_LEVELS], nlevels;
	unsigned int		retry_ms;
	struct sockaddr_storage	ss;
	socklen_t		sslen;
} opt = { .alpn = true, .n = 200, .timeout_ms = 30000 };

static gnutls_certificate_credentials_t creds;
static uint32_t next_xid = 0x7f000001;

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A record-marked NFSv4 NULL call with @flavor's empty credential. */
static size_t null_call(unsigned char *b, uint32_t xid, uint32_t flavor)
{
	static const uint32_t words[] = { 0, 2, 100003, 4, 0 };
	size_t i, o = 4;

	put32(b + o, xid);
	o += 4;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++, o += 4)
		put32(b + o, words[i]);
	put32(b + o, flavor);	/* credential, empty */
	put32(b + o + 4, 0);
	put32(b + o + 8, 0);	/* verifier AUTH_NONE, empty */
	put32(b + o + 12, 0);
	o += 16;
	put32(b, 0x80000000U | (uint32_t)(o - 4));
	return o;
}

/*
 * Check a whole reply in @b (@len bytes, marker included): our xid,
 * accepted, SUCCESS, and with @starttls the verifier "STARTTLS".
 */
static const char *check_reply(const unsigned char *b, size_t len,
			       uint32_t xid, bool starttls)
{
	uint32_t vlen;

	if (len < 4 + 24 || get32(b + 4) != xid || get32(b + 8) != 1)
		return "not a reply to our call";
	if (get32(b + 12) != 0)
		return "call denied";
	vlen = get32(b + 20);
	if (vlen > 400 || len < 4 + 20 + ((vlen + 3) & ~3U) + 4)
		return "malformed verifier";
	if (starttls && (vlen != 8 || memcmp(b + 24, "STARTTLS", 8)))
		return "no STARTTLS verifier: the server does not offer RPC-with-TLS";
	if (get32(b + 24 + ((vlen + 3) & ~3U)) != 0)
		return "accept_stat not SUCCESS";
	return NULL;
}

/* Bytes of the reply still to read: from its record marker. */
static size_t reply_want(const struct conn *c)
{
	return c->have < 4 ? 4 : 4 + (get32(c->buf) & 0x7fffffffU);
}

static const char *tls_start(struct conn *c)
{
	gnutls_datum_t alpn = { (unsigned char *)"sunrpc", 6 };
	int ret;

	ret = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
			  GNUTLS_NO_SIGNAL);
	if (!ret)
		ret = gnutls_priority_set_direct(c->s, PRIO, NULL);
	if (!ret && opt.alpn)
		ret = gnutls_alpn_set_protocols(c->s, &alpn, 1, 0);
	if (!ret)
		ret = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, opt.name,
					     strlen(opt.name));
	if (!ret)
		ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
					     creds);
	if (ret)
		return gnutls_strerror(ret);
	gnutls_session_set_verify_cert(c->s, opt.name, 0);
	gnutls_transport_set_int(c->s, c->fd);
	return NULL;
}

/* Advance @c; NULL to go on (or done: !c->busy), else why it failed. */
static const char *step(struct conn *c)
{
	static char why[200];
	ssize_t n;
	int ret, err;
	socklen_t len = sizeof(err);

	for (;;) {
		switch (c->st) {
		case S_CONNECT:
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
			    err) {
				snprintf(why, sizeof(why), "connect: %s",
					 strerror(err));
				return why;
			}
			if (opt.tls_only) {
				if (tls_start(c))
					return "TLS session set-up failed";
				c->st = S_TLS;
				continue;
			}
			c->xid = next_xid++;
			c->want = null_call(c->buf, c->xid, 7 /* AUTH_TLS */);
			c->have = 0;
			c->st = S_PROBE;
			continue;
		case S_PROBE:
			n = send(c->fd, c->buf + c->have, c->want - c->have,
				 MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN ? NULL : "probe: send failed";
			c->have += (size_t)n;
			if (c->have < c->want)
				return NULL;
			c->have = 0;
			c->st = S_PROBE_REPLY;
			continue;
		case S_PROBE_REPLY:
			c->want = reply_want(c);
			if (c->want > sizeof(c->buf))
				return "probe reply too long";
			n = recv(c->fd, c->buf + c->have, c->want - c->have, 0);
			if (n == 0)
				return "probe: the server closed the connection";
			if (n < 0)
				return errno == EAGAIN ? NULL : "probe: recv failed";
			c->have += (size_t)n;
			if (c->have < 4 || c->have < reply_want(c))
				continue;
			{
				const char *bad = check_reply(c->buf, c->have,
							      c->xid, true);

				if (bad)
					return bad;
			}
			if (tls_start(c))
				return "TLS session set-up failed";
			c->st = S_TLS;
			continue;
		case S_TLS:
			do {
				ret = gnutls_handshake(c->s);
			} while (ret < 0 && !gnutls_error_is_fatal(ret) &&
				 ret != GNUTLS_E_AGAIN);
			if (ret == GNUTLS_E_AGAIN)
				return NULL;
			if (ret < 0) {
				c->closed = ret == GNUTLS_E_PREMATURE_TERMINATION ||
					    ret == GNUTLS_E_PULL_ERROR ||
					    ret == GNUTLS_E_PUSH_ERROR;
				snprintf(why, sizeof(why), "TLS handshake: %s",
					 gnutls_strerror(ret));
				return why;
			}
			if (opt.tls_only) {
				c->busy = false;
				return NULL;
			}
			c->xid = next_xid++;
			c->want = null_call(c->buf, c->xid, 0 /* AUTH_NONE */);
			c->have = 0;
			c->st = S_NULL;
			continue;
		case S_NULL:
			n = gnutls_record_send(c->s, c->buf + c->have,
					       c->want - c->have);
			if (n == GNUTLS_E_AGAIN)
				return NULL;
			if (n < 0)
				return "NULL in TLS: send failed";
			c->have += (size_t)n;
			if (c->have < c->want)
				continue;
			c->have = 0;
			c->st = S_NULL_REPLY;
			continue;
		case S_BACKOFF:
			return NULL;
		case S_NULL_REPLY:
			c->want = reply_want(c);
			if (c->want > sizeof(c->buf))
				return "NULL reply too long";
			n = gnutls_record_recv(c->s, c->buf + c->have,
					       c->want - c->have);
			if (n == GNUTLS_E_AGAIN)
				return NULL;
			if (n <= 0) {
				snprintf(why, sizeof(why), "NULL in TLS: %s",
					 n ? gnutls_strerror((int)n) :
					 "the server closed the connection");
				return why;
			}
			c->have += (size_t)n;
			if (c->have < 4 || c->have < reply_want(c))
				continue;
			{
				const char *bad = check_reply(c->buf, c->have,
							      c->xid, false);

				if (bad)
					return bad;
			}
			c->busy = false;
			return NULL;
		}
	}
}

static short events(const struct conn *c)
{
	switch (c->st) {
	case S_BACKOFF:
		return 0;
	case S_CONNECT:
	case S_PROBE:
		return POLLOUT;
	case S_TLS:
	case S_NULL:
	case S_NULL_REPLY:
		return gnutls_record_get_direction(c->s) ? POLLOUT : POLLIN;
	default:
		return POLLIN;
	}
}

/* (Re)connect @c: a first attempt, or a retry keeping t0 and tries. */
static const char *dial(struct conn *c)
{
	int one = 1;

	c->s = NULL;
	c->have = c->want = 0;
	c->closed = false;
	c->fd = socket(opt.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		       SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return "socket failed";
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->busy = true;
	c->st = S_CONNECT;
	if (connect(c->fd, (struct sockaddr *)&opt.ss, opt.sslen) < 0 &&
	    errno != EINPROGRESS)
		return "connect failed";
	return NULL;
}

static const char *start(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->t0 = bench_now_ms();
	c->deadline = c->t0 + opt.timeout_ms;
	c->tries = 1;
	return dial(c);
}

static void end(struct conn *c)
{
	if (c->s)
		gnutls_deinit(c->s);
	if (c->fd >= 0)
		close(c->fd);
	c->s = NULL;
	c->fd = -1;
	c->busy = false;
}

static unsigned int run_level(unsigned int j)
{
	struct conn *conns = calloc(j, sizeof(*conns));
	struct pollfd *pfd = calloc(j, sizeof(*pfd));
	double *lat = calloc(opt.n, sizeof(double)), t0 = bench_now_ms();
	double secs, median, p99;
	unsigned int started = 0, finished = 0, ok = 0, failed = 0, i;
	unsigned int retries = 0;
	char first[256] = "";

	FILE *dump = NULL;

	if (!conns || !pfd || !lat)
		bench_die("out of memory");
	if (opt.dump && !(dump = fopen(opt.dump, "ae")))
		bench_die("--dump %s: %s", opt.dump, strerror(errno));
	for (i = 0; i < j; i++)
		conns[i].fd = -1;
	while (finished < opt.n) {
		for (i = 0; i < j; i++) {
			const char *err;

			if (conns[i].busy || started >= opt.n)
				continue;
			started++;
			err = start(&conns[i]);
			if (err) {
				if (!failed++)
					snprintf(first, sizeof(first), "%s", err);
				end(&conns[i]);
				finished++;
			}
		}
		for (i = 0; i < j; i++) {
			pfd[i].fd = conns[i].busy && conns[i].st != S_BACKOFF ?
				    conns[i].fd : -1;
			pfd[i].events = conns[i].busy ? events(&conns[i]) : 0;
			pfd[i].revents = 0;
		}
		if (poll(pfd, j, opt.retry_ms ? 20 : 200) < 0 && errno != EINTR)
			bench_die("poll: %s", strerror(errno));
		for (i = 0; i < j; i++) {
			const char *err = NULL;

			if (!conns[i].busy)
				continue;
			if (conns[i].st == S_BACKOFF) {
				if (bench_now_ms() < conns[i].wake)
					continue;
				conns[i].tries++;
				err = dial(&conns[i]);
				if (!err)
					continue;
			} else if (pfd[i].revents) {
				err = step(&conns[i]);
			} else if (bench_now_ms() > conns[i].deadline) {
				err = "timed out";
			} else {
				continue;
			}
			if (!err && conns[i].busy)
				continue;
			/*
			 * The server closed it while the handshake should have
			 * run: mainline refused the request (too many waiting
			 * to be accepted).  An NFS client reconnects: so do we.
			 */
			if (err && conns[i].closed && opt.retry_ms &&
			    bench_now_ms() + opt.retry_ms < conns[i].deadline) {
				retries++;
				if (conns[i].s)
					gnutls_deinit(conns[i].s);
				close(conns[i].fd);
				conns[i].s = NULL;
				conns[i].fd = -1;
				conns[i].st = S_BACKOFF;
				conns[i].wake = bench_now_ms() + opt.retry_ms;
				continue;
			}
			if (err) {
				if (!failed++)
					snprintf(first, sizeof(first),
						 "%s (at state %d)", err,
						 conns[i].st);
				if (dump)
					fprintf(dump, "fail %u %s (at state %d)\n",
						j, err, conns[i].st);
			} else {
				lat[ok++] = bench_now_ms() - conns[i].t0;
				if (dump)
					fprintf(dump, "lat %u %.2f\n", j,
						lat[ok - 1]);
			}
			end(&conns[i]);
			finished++;
		}
	}
	secs = (bench_now_ms() - t0) / 1e3;
	printf("%u in flight: %u connections, %u ok, %u failed%s%s; %u reconnects\n",
	       j, opt.n, ok, failed, failed ? "; first: " : "", first, retries);
	median = bench_pct(lat, ok, 50);
	p99 = bench_pct(lat, ok, 99);
	printf("  connections/s %.2f   latency median %.1f ms   p99 %.1f ms\n",
	       ok / secs, median, p99);
	printf("result j=%u n=%u ok=%u rate=%.3f median_ms=%.2f p99_ms=%.2f failed=%u secs=%.3f reconnects=%u\n",
	       j, opt.n, ok, ok / secs, median, p99, failed, secs, retries);
	fflush(stdout);
	if (dump)
		fclose(dump);
	free(conns);
	free(pfd);
	free(lat);
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'A' },
		{ "name", required_argument, NULL, 'N' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "no-alpn", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dump", required_argument, NULL, 'D' },
		{ "retry", required_argument, NULL, 'R' },
		{ "tls-only", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int port = 2049, failed = 0, l;
	char default_levels[] = "1";
	int c;

	bench_prog = "tlshd-rpcload";
	opt.nlevels = bench_levels(default_levels, opt.levels, MAX_LEVELS,
				   MAX_J);
	while ((c = getopt_long(argc, argv, "n:j:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.n = bench_number(optarg, "-n", 1000000);
			break;
		case 'j':
			opt.nlevels = bench_levels(optarg, opt.levels,
						   MAX_LEVELS, MAX_J);
			break;
		case 'A':
			opt.ca = optarg;
			break;
		case 'N':
			opt.name = optarg;
			break;
		case 'C':
			opt.cert = optarg;
			break;
		case 'K':
			opt.key = optarg;
			break;
		case 'a':
			opt.alpn = false;
			break;
		case 't':
			opt.timeout_ms = bench_number(optarg, "--timeout",
						      3600000);
			break;
		case 'D':
			opt.dump = optarg;
			break;
		case 'R':
			opt.retry_ms = bench_number(optarg, "--retry", 60000);
			break;
		case 'O':
			opt.tls_only = true;
			break;
		default:
			bench_die(USAGE);
		}
	}
	if (optind >= argc || !opt.ca || !opt.name || !opt.cert != !opt.key)
		bench_die(USAGE);
	if (optind + 1 < argc)
		port = bench_number(argv[optind + 1], "port", 65535);
	opt.sslen = bench_addr(argv[optind], port, &opt.ss);
	creds = bench_client_creds(opt.ca, NULL, opt.cert, opt.key);
	for (l = 0; l < opt.nlevels; l++)
		failed += run_level(opt.levels[l]);
	gnutls_certificate_free_credentials(creds);
	gnutls_global_deinit();
	return failed ? 1 : 0;
}
