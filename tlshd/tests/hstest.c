// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-hstest: drive tlshd's handshake engine (handshake.c, client.c,
 * server.c, ktls.c) without the upcall, for tests and the benchmark.
 *
 *   tlshd-hstest [OPTS] connect HOST PORT   client handshake over TCP
 *   tlshd-hstest [OPTS] listen PORT         accept one connection, serve it
 *   tlshd-hstest [OPTS] pair N              N loopback pairs, our client
 *                                           (-t) against our server (-T),
 *                                           all in flight at once
 * Types: anon, x509, psk (client); x509, psk (server).
 *
 * Without --ktls the test seam tlshd_ktls_disabled is set: the handshake
 * runs exactly as in tlshd but the keys are not handed to the kernel, and
 * data then flows through GnuTLS records.  With --ktls (in the test VM)
 * data flows through the kernel's kTLS socket.
 *
 * After a handshake the client sends --send STRING and expects the peer
 * to echo it back; the server echoes what it receives once.
 * Prints one line per handshake:
 *   result status=NAME peerid=N auth=0|1 version=V cipher=C [data=ok|...]
 *          alpn=sunrpc|none|- [reason="..."]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <keyutils.h>

#include "tlshd.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

static struct tlshd_params cparams, sparams;
static const char *opt_send;
static bool opt_ktls, opt_quiet;
static unsigned long skipped_records;
/* verified peers that got no identity key (keyring.c could not add one) */
static unsigned long unrecorded;

static uint32_t parse_type(const char *s, bool server)
{
	if (!strcmp(s, "anon") && !server)
		return TLSH_TYPE_CLIENTHELLO_ANON;
	if (!strcmp(s, "x509"))
		return server ? TLSH_TYPE_SERVERHELLO_X509 :
				TLSH_TYPE_CLIENTHELLO_X509;
	if (!strcmp(s, "psk"))
		return server ? TLSH_TYPE_SERVERHELLO_PSK :
				TLSH_TYPE_CLIENTHELLO_PSK;
	fprintf(stderr, "tlshd-hstest: unknown %s type '%s'\n",
		server ? "server" : "client", s);
	exit(2);
}

/* kTLS receive: skip non-application-data records (e.g. NewSessionTicket) */
static ssize_t ktls_recv(int fd, void *buf, size_t len)
{
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(unsigned char))];
		struct iovec iov = { buf, len };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		ssize_t n;

		n = recvmsg(fd, &msg, 0);
		if (n < 0)
			return -1;
		cm = CMSG_FIRSTHDR(&msg);
		if (cm && cm->cmsg_level == SOL_TLS &&
		    cm->cmsg_type == TLS_GET_RECORD_TYPE &&
		    *(unsigned char *)CMSG_DATA(cm) != 23) {
			skipped_records++;
			continue;
		}
		return n;
	}
}

static ssize_t do_send(struct tlshd_handshake *hs, const void *buf,
		       size_t len)
{
	if (opt_ktls)
		return send(hs->hs_fd, buf, len, MSG_NOSIGNAL);
	return gnutls_record_send(hs->hs_session, buf, len);
}

static ssize_t do_recv(struct tlshd_handshake *hs, void *buf, size_t len)
{
	ssize_t n;

	if (opt_ktls)
		return ktls_recv(hs->hs_fd, buf, len);
	do {
		n = gnutls_record_recv(hs->hs_session, buf, len);
	} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n;
}

static bool again(ssize_t n)
{
	if (opt_ktls)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	return n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED;
}

static void wait_fd(int fd, bool write)
{
	struct pollfd pfd = { .fd = fd, .events = write ? POLLOUT : POLLIN };

	poll(&pfd, 1, 10000);
}

/* Client side: send, read the echo back. */
static const char *client_data(struct tlshd_handshake *hs, char *buf,
			       size_t buflen)
{
	size_t len = strlen(opt_send), got = 0;
	ssize_t n;

	if (do_send(hs, opt_send, len) != (ssize_t)len)
		return "send-failed";
	while (got < len && got < buflen - 1) {
		wait_fd(hs->hs_fd, false);
		errno = 0;
		n = do_recv(hs, buf + got, buflen - 1 - got);
		if (again(n))
			continue;
		if (n <= 0)
			return "recv-failed";
		got += n;
	}
	buf[got] = '\0';
	return strcmp(buf, opt_send) ? "mismatch" : "ok";
}

/* Server side: echo one message. */
static const char *server_data(struct tlshd_handshake *hs)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		wait_fd(hs->hs_fd, false);
		errno = 0;
		n = do_recv(hs, buf, sizeof(buf));
		if (again(n))
			continue;
		break;
	}
	if (n <= 0)
		return "recv-failed";
	if (do_send(hs, buf, n) != n)
		return "send-failed";
	return "ok";
}

static void print_result(struct tlshd_handshake *hs, const char *data)
{
	const char *v = "-", *c = "-", *a = "-";
	gnutls_datum_t proto;

	if (opt_quiet)
		return;
	if (hs->hs_session && !hs->hs_status) {
		v = gnutls_protocol_get_name(
			gnutls_protocol_get_version(hs->hs_session));
		c = gnutls_cipher_get_name(gnutls_cipher_get(hs->hs_session));
		a = hs->hs_alpn_none ? "none" : "?";
		if (!gnutls_alpn_get_selected_protocol(hs->hs_session, &proto))
			a = proto.size == 6 && !memcmp(proto.data, "sunrpc", 6) ?
			    "sunrpc" : "other";
	}
	printf("result status=%s peerid=%d auth=%d version=%s cipher=%s",
	       hs->hs_status ? strerrorname_np(hs->hs_status) : "0",
	       hs->hs_peerid, hs->hs_peer_auth, v, c);
	if (data)
		printf(" data=%s", data);
	if (skipped_records)
		printf(" skipped_records=%lu", skipped_records);
	printf(" alpn=%s", a);
	if (hs->hs_status)
		printf(" reason=\"%s\"", hs->hs_reason);
	printf("\n");
	fflush(stdout);
}

/* Step one handshake to completion with poll(); honours its deadline. */
static void run_one(struct tlshd_handshake *hs)
{
	if (tlshd_handshake_start(hs))
		return;
	for (;;) {
		struct pollfd pfd = {
			.fd = hs->hs_fd,
			.events = hs->hs_want_write ? POLLOUT : POLLIN,
		};
		uint64_t now = tlshd_now_ms();
		int n;

		if (now >= hs->hs_deadline_ms) {
			tlshd_handshake_timeout(hs);
			return;
		}
		n = poll(&pfd, 1, (int)(hs->hs_deadline_ms - now));
		if (n < 0 && errno != EINTR) {
			tlshd_handshake_fail(hs, EIO, "poll: %m");
			return;
		}
		if (n > 0 && tlshd_handshake_step(hs))
			return;
	}
}

/*
 * After one handshake on @fd (and the data exchange that gave @data): its
 * result line, the close, the exit status.
 */
static int finish_one(struct tlshd_handshake *hs, int fd, const char *data)
{
	int status = hs->hs_status;

	print_result(hs, data);
	if (!status && !opt_ktls)
		gnutls_bye(hs->hs_session, GNUTLS_SHUT_WR);
	tlshd_handshake_free(hs);
	close(fd);
	return status || (data && strcmp(data, "ok")) ? 1 : 0;
}

static int cmd_connect(struct tlshd_config *cf, const char *host,
		       const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	struct tlshd_handshake *hs;
	const char *data = NULL;
	char buf[4096];
	int fd = -1, ret;

	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		fprintf(stderr, "tlshd-hstest: %s: %s\n", host,
			gai_strerror(ret));
		return 2;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		fprintf(stderr, "tlshd-hstest: connect %s:%s: %m\n", host, port);
		return 2;
	}
	hs = tlshd_handshake_new(fd, &cparams, cf);
	run_one(hs);
	if (!hs->hs_status && opt_send)
		data = client_data(hs, buf, sizeof(buf));
	return finish_one(hs, fd, data);
}

static int listen_on(const char *port, int *portp)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(sa);
	int fd, one = 1, zero = 0;

	sa.sin6_port = htons((uint16_t)atoi(port));
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	if (portp && !getsockname(fd, (struct sockaddr *)&sa, &len))
		*portp = ntohs(sa.sin6_port);
	return fd;
}

static int cmd_listen(struct tlshd_config *cf, const char *port)
{
	struct tlshd_handshake *hs;
	const char *data = NULL;
	int lfd, fd, bound = 0;

	lfd = listen_on(port, &bound);
	if (lfd < 0) {
		fprintf(stderr, "tlshd-hstest: listen on %s: %m\n", port);
		return 2;
	}
	printf("listening port=%d\n", bound);
	fflush(stdout);
	wait_fd(lfd, false);	/* up to 10 s */
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	close(lfd);
	if (fd < 0) {
		fprintf(stderr, "tlshd-hstest: accept: %m\n");
		return 2;
	}
	hs = tlshd_handshake_new(fd, &sparams, cf);
	run_one(hs);
	if (!hs->hs_status && opt_send)
		data = server_data(hs);
	return finish_one(hs, fd, data);
}

/*
 * N client/server pairs over loopback TCP, all in flight at once, driven
 * by one poll loop: the same non-blocking engine tlshd runs.
 */
static int cmd_pair(struct tlshd_config *cf, unsigned int n)
{
	struct tlshd_handshake **hs = calloc(2 * n, sizeof(*hs));
	struct pollfd *pfd = calloc(2 * n, sizeof(*pfd));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	unsigned int i, running = 0, ok = 0, failed = 0;
	struct timespec t0, t1;
	int lfd, one = 1;
	double secs;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!hs || !pfd || lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, (int)n) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		fprintf(stderr, "tlshd-hstest: loopback listener: %m\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa))) {
			fprintf(stderr, "tlshd-hstest: connect: %m\n");
			return 2;
		}
		s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0) {
			fprintf(stderr, "tlshd-hstest: accept: %m\n");
			return 2;
		}
		cparams.p_req_id = 2 * i + 1;
		sparams.p_req_id = 2 * i + 2;
		hs[2 * i] = tlshd_handshake_new(c, &cparams, cf);
		hs[2 * i + 1] = tlshd_handshake_new(s, &sparams, cf);
		if (!hs[2 * i] || !hs[2 * i + 1])
			return 2;
	}
	close(lfd);
	for (i = 0; i < 2 * n; i++) {
		if (!tlshd_handshake_start(hs[i]))
			running++;
		else if (hs[i]->hs_status)
			shutdown(hs[i]->hs_fd, SHUT_RDWR);	/* as tlshd */
	}
	while (running) {
		uint64_t now = tlshd_now_ms();

		for (i = 0; i < 2 * n; i++) {
			pfd[i].fd = hs[i]->hs_state == TLSHD_HS_DONE ? -1 :
				    hs[i]->hs_fd;
			pfd[i].events = hs[i]->hs_want_write ? POLLOUT : POLLIN;
			if (pfd[i].fd >= 0 && now >= hs[i]->hs_deadline_ms) {
				tlshd_handshake_timeout(hs[i]);
				running--;
				pfd[i].fd = -1;
			}
		}
		if (poll(pfd, 2 * n, 1000) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2 * n; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents ||
			    !tlshd_handshake_step(hs[i]))
				continue;
			running--;
			/* as tlshd closes it: the peer sees the end */
			if (hs[i]->hs_status)
				shutdown(hs[i]->hs_fd, SHUT_RDWR);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (i = 0; i < n; i++) {
		struct tlshd_handshake *c = hs[2 * i], *s = hs[2 * i + 1];
		const char *data = NULL;
		char buf[4096];

		if (!c->hs_status && !s->hs_status && opt_send && !opt_ktls) {
			gnutls_record_send(c->hs_session, opt_send,
					   strlen(opt_send));
			server_data(s);
			data = client_data(c, buf, sizeof(buf));
		}
		if (n == 1) {
			print_result(c, data);
			print_result(s, NULL);
		}
		if (!c->hs_status && !s->hs_status && (!data || !strcmp(data, "ok")))
			ok++;
		else
			failed++;
		unrecorded += (!c->hs_status && c->hs_peer_auth && !c->hs_peerid) +
			      (!s->hs_status && s->hs_peer_auth && !s->hs_peerid);
	}
	printf("pairs=%u ok=%u failed=%u seconds=%.3f handshakes_per_s=%.1f\n",
	       n, ok, failed, secs, n / secs);
	for (i = 0; i < 2 * n; i++) {
		close(hs[i]->hs_fd);
		tlshd_handshake_free(hs[i]);
	}
	free(hs);
	free(pfd);
	return failed ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tlshd-hstest -c CONF [-t CTYPE] [-T STYPE] [-n PEERNAME] [-r]\n"
		"         [--cert S] [--key S] [--psk S] [--keyring S] [--timeout MS]\n"
		"         [--priorities P] [--send STR] [--ktls] [-q] [-v]\n"
		"         connect HOST PORT | listen PORT | pair N [--rounds R]\n"
		"--rounds R: pair N, R times over, then print the number of peer\n"
		"identity keys in tlshd's keyring and of verified peers left without one\n");
	exit(2);
}

static int32_t serial_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (*end || v <= 0 || v > INT32_MAX) {
		fprintf(stderr, "tlshd-hstest: bad key serial '%s'\n", s);
		exit(2);
	}
	return (int32_t)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "psk", required_argument, NULL, 'P' },
		{ "keyring", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "priorities", required_argument, NULL, 'p' },
		{ "send", required_argument, NULL, 'S' },
		{ "ktls", no_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	struct tlshd_config *cf;
	char err[512];
	int c, verbose = 0, ret, rounds = 0;

	cparams.p_type = TLSH_TYPE_CLIENTHELLO_ANON;
	sparams.p_type = TLSH_TYPE_SERVERHELLO_X509;
	cparams.p_timeout_ms = sparams.p_timeout_ms = 20000;
	while ((c = getopt_long(argc, argv, "c:t:T:n:rqv", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 't':
			cparams.p_type = parse_type(optarg, false);
			break;
		case 'T':
			sparams.p_type = parse_type(optarg, true);
			break;
		case 'n':
			snprintf(cparams.p_peername, sizeof(cparams.p_peername),
				 "%s", optarg);
			break;
		case 'r':
			sparams.p_flags |= TLSH_F_PEER_CERT_REQUIRED;
			break;
		case 'C':
			cparams.p_cert = sparams.p_cert = serial_arg(optarg);
			break;
		case 'K':
			cparams.p_privkey = sparams.p_privkey =
				serial_arg(optarg);
			break;
		case 'P':
			cparams.p_psk_ids[cparams.p_npsk++] = serial_arg(optarg);
			break;
		case 'R':
			cparams.p_keyring = sparams.p_keyring =
				serial_arg(optarg);
			break;
		case 'o':
			cparams.p_timeout_ms = sparams.p_timeout_ms =
				(uint32_t)atoi(optarg);
			break;
		case 'p':
			snprintf(cparams.p_priorities,
				 sizeof(cparams.p_priorities), "%s", optarg);
			memcpy(sparams.p_priorities, cparams.p_priorities,
			       sizeof(sparams.p_priorities));
			break;
		case 'S':
			opt_send = optarg;
			break;
		case 'k':
			opt_ktls = true;
			break;
		case 'N':
			rounds = atoi(optarg);
			break;
		case 'q':
			opt_quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (!conf || optind >= argc)
		usage();
	tlshd_ktls_disabled = !opt_ktls;
	tlshd_log_open(true);
	gnutls_global_init();
	cf = tlshd_config_load(conf, err, sizeof(err));
	if (cf && tlshd_config_load_creds(cf, err, sizeof(err)) < 0) {
		tlshd_config_put(cf);
		cf = NULL;
	}
	if (!cf) {
		fprintf(stderr, "tlshd-hstest: %s\n", err);
		return 2;
	}
	tlshd_log_set_level(verbose ? verbose : cf->cf_loglevel,
			    verbose > 2 ? verbose : 0);
	if (!verbose)
		tlshd_log_set_level(-1, 0);	/* no audit lines */

	if (!strcmp(argv[optind], "connect") && argc - optind == 3)
		ret = cmd_connect(cf, argv[optind + 1], argv[optind + 2]);
	else if (!strcmp(argv[optind], "listen") && argc - optind == 2)
		ret = cmd_listen(cf, argv[optind + 1]);
	else if (!strcmp(argv[optind], "pair") && argc - optind == 2 && rounds > 0) {
		long keys;
		int r;

		for (ret = 0, r = 0; r < rounds; r++)
			ret |= cmd_pair(cf, (unsigned int)atoi(argv[optind + 1]));
		keys = keyctl_search(KEY_SPEC_PROCESS_KEYRING, "keyring",
				     "tlshd:peers", 0);
		keys = keys > 0 ? keyctl_read((key_serial_t)keys, NULL, 0) : -1;
		printf("peer_keys=%ld unrecorded=%lu\n",
		       keys < 0 ? -1 : keys / (long)sizeof(key_serial_t),
		       unrecorded);
	} else if (!strcmp(argv[optind], "pair") && argc - optind == 2)
		ret = cmd_pair(cf, (unsigned int)atoi(argv[optind + 1]));
	else
		usage();
	tlshd_config_put(cf);
	return ret;
}
