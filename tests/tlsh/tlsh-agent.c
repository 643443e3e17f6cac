// SPDX-License-Identifier: GPL-2.0
/*
 * tlsh-agent: a fake AF_TLSH handshake agent for the upcall tests.
 *
 * It does not speak TLS: for a "successful" handshake it installs kTLS on
 * the accepted socket with fixed, made-up key material (AES-GCM-128, TLS
 * 1.2, the same keys both ways); the "peer" and "client" commands install
 * the same keys on the other end of the TCP connection, so data goes
 * through kTLS end to end.
 *
 *   tlsh-agent rules
 *	listener rules, printed as TAP lines ("ok - ..." / "not ok - ...")
 *   tlsh-agent bind FAMILY
 *	bind and listen a listener; print "ok" or the errno name; exit 0 on
 *	success, 1 otherwise
 *   tlsh-agent serve [-f FAMILY] [-n COUNT] [-a ACTION] [-s ERRNO]
 *		      [-p PEERID] [-d MS] [-w GATE] [-A ANCHOR] [-b]
 *	listen and handle COUNT requests (0: forever), printing one
 *	"req ..." line with every parameter and one "result ..." line each.
 *	ACTION: ktls (install kTLS, report success: the default), fail
 *	(report ERRNO), noktls (report success without kTLS), close (close
 *	without a report), hold (keep the socket, never report), idle
 *	(never accept).  -d waits MS before reporting, -w until the file
 *	GATE exists (60 s at most).  With hold and idle, or after COUNT
 *	requests with hold, it waits to be killed.  -A reports ANCHOR with
 *	TLSH_PEER_ANCHOR before a success.  -b makes the first accept() pass
 *	an unwritable peer address buffer (it must fail with EFAULT and
 *	leave the request queued), printing "accept-badaddr=ERRNO".
 *   tlsh-agent peer [-f FAMILY] -P PORT [-k] [-n COUNT]
 *	a TCP server on loopback: accept COUNT connections (0: forever),
 *	install kTLS on each with -k, echo what it reads; logs "rx TEXT"
 *   tlsh-agent client -c ADDR -P PORT [-k] -m TEXT
 *	connect, install kTLS with -k, read one message (printed as
 *	"rx TEXT"), send TEXT, wait for the peer to close
 *
 * FAMILY: inet (default) or inet6.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/tls.h>
#include <linux/tlsh.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
#endif

static const char *err_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

static int family_of(const char *s)
{
	if (!strcmp(s, "inet"))
		return AF_INET;
	if (!strcmp(s, "inet6"))
		return AF_INET6;
	return atoi(s);
}

static int listener_bind(int family)
{
	struct sockaddr_tlsh sa = {
		.tlsh_sa_family = AF_TLSH,
		.tlsh_family = family,
	};
	int fd, err;

	fd = socket(AF_TLSH, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 64)) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* kTLS both ways with made-up keys; the other end uses the same ones. */
static int ktls_install(int fd)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_2_VERSION;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memset(ci.key, 0x11, sizeof(ci.key));
	memset(ci.iv, 0x22, sizeof(ci.iv));
	memset(ci.salt, 0x33, sizeof(ci.salt));
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) ||
	    setsockopt(fd, SOL_TLS, TLS_TX, &ci, sizeof(ci)) ||
	    setsockopt(fd, SOL_TLS, TLS_RX, &ci, sizeof(ci)))
		return -errno;
	return 0;
}

/* ---- rules ---- */

static int tap_failed;

static void expect(const char *name, int want, int got)
{
	if (want == got) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s: want %s, got %s\n", name,
		       want ? err_name(-want) : "success",
		       got ? err_name(-got) : "success");
		tap_failed++;
	}
}

static int try(int ret)
{
	return ret < 0 ? -errno : 0;
}

static int cmd_rules(void)
{
	struct sockaddr_tlsh sa = { .tlsh_sa_family = AF_TLSH };
	struct sockaddr_tlsh got;
	socklen_t len = sizeof(got);
	int a, b, c, fd, t;

	fd = socket(AF_TLSH, SOCK_DGRAM, 0);
	expect("rules: SOCK_DGRAM is refused", -ESOCKTNOSUPPORT,
	       fd < 0 ? -errno : 0);
	fd = socket(AF_TLSH, SOCK_STREAM, 6);
	expect("rules: a protocol number is refused", -EPROTONOSUPPORT,
	       fd < 0 ? -errno : 0);

	a = socket(AF_TLSH, SOCK_STREAM, 0);
	expect("rules: socket(AF_TLSH, SOCK_STREAM, 0)", 0, a < 0 ? -errno : 0);
	sa.tlsh_family = AF_UNIX;
	expect("rules: bind to AF_UNIX is refused", -EAFNOSUPPORT,
	       try(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
	sa.tlsh_family = AF_INET;
	sa.tlsh_reserved = 1;
	expect("rules: bind with reserved bits is refused", -EINVAL,
	       try(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
	sa.tlsh_reserved = 0;
	expect("rules: short bind address is refused", -EINVAL,
	       try(bind(a, (struct sockaddr *)&sa, 2)));
	sa.tlsh_sa_family = AF_INET;
	expect("rules: bind with sa_family other than AF_TLSH is refused",
	       -EAFNOSUPPORT, try(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
	sa.tlsh_sa_family = AF_TLSH;
	expect("rules: listen before bind is refused", -EDESTADDRREQ,
	       try(listen(a, 4)));
	expect("rules: accept before listen is refused", -EINVAL,
	       try(accept(a, NULL, NULL)));
	expect("rules: bind to AF_INET", 0,
	       try(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
	expect("rules: a second bind of the same socket is refused", -EINVAL,
	       try(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
	expect("rules: listen", 0, try(listen(a, 4)));
	memset(&got, 0xff, sizeof(got));
	t = getsockname(a, (struct sockaddr *)&got, &len);
	expect("rules: getsockname gives the bound family", 0,
	       t < 0 ? -errno : (got.tlsh_sa_family == AF_TLSH &&
				 got.tlsh_family == AF_INET &&
				 len == sizeof(got)) ? 0 : -EBADMSG);
	fcntl(a, F_SETFL, O_NONBLOCK);
	expect("rules: accept on an empty non-blocking listener: EAGAIN",
	       -EAGAIN, try(accept(a, NULL, NULL)));
	{
		struct pollfd p = { .fd = a, .events = POLLIN };

		expect("rules: poll on an empty queue is not readable", 0,
		       poll(&p, 1, 0));
	}
	expect("rules: connect is not supported", -EOPNOTSUPP,
	       try(connect(a, (struct sockaddr *)&sa, sizeof(sa))));

	b = socket(AF_TLSH, SOCK_STREAM, 0);
	expect("rules: a second AF_INET listener gets EADDRINUSE", -EADDRINUSE,
	       try(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
	sa.tlsh_family = AF_INET6;
	expect("rules: an AF_INET6 listener beside it", 0,
	       try(bind(b, (struct sockaddr *)&sa, sizeof(sa))));
	c = socket(AF_TLSH, SOCK_STREAM, 0);
	expect("rules: a second AF_INET6 listener gets EADDRINUSE",
	       -EADDRINUSE, try(bind(c, (struct sockaddr *)&sa, sizeof(sa))));
	close(a);
	sa.tlsh_family = AF_INET;
	expect("rules: the AF_INET slot is free again after close", 0,
	       try(bind(c, (struct sockaddr *)&sa, sizeof(sa))));
	close(b);
	close(c);

	t = socket(AF_INET, SOCK_STREAM, 0);
	{
		uint32_t v;
		socklen_t vl = sizeof(v);
		struct tlsh_result r = { 0 };

		expect("rules: SOL_TLSH on a TCP socket without a request: ENOENT",
		       -ENOENT, try(getsockopt(t, SOL_TLSH, TLSH_TYPE, &v, &vl)));
		expect("rules: TLSH_RESULT without a request: ENOENT", -ENOENT,
		       try(setsockopt(t, SOL_TLSH, TLSH_RESULT, &r, sizeof(r))));
		r.reserved = 1;
		expect("rules: TLSH_RESULT with reserved bits: EINVAL", -EINVAL,
		       try(setsockopt(t, SOL_TLSH, TLSH_RESULT, &r, sizeof(r))));
		r.reserved = 0;
		r.status = -5;
		expect("rules: TLSH_RESULT with a negative status: EINVAL",
		       -EINVAL,
		       try(setsockopt(t, SOL_TLSH, TLSH_RESULT, &r, sizeof(r))));
		expect("rules: a short TLSH_RESULT: EINVAL", -EINVAL,
		       try(setsockopt(t, SOL_TLSH, TLSH_RESULT, &r, 4)));
		r.status = 0;
		r.peerid = 5;
		expect("rules: TLSH_RESULT naming a peer without PEER_AUTHENTICATED: EINVAL",
		       -EINVAL,
		       try(setsockopt(t, SOL_TLSH, TLSH_RESULT, &r, sizeof(r))));
	}
	close(t);
	return tap_failed ? 1 : 0;
}

static int cmd_bind(int argc, char **argv)
{
	int fd = listener_bind(family_of(argc > 2 ? argv[2] : "inet"));

	if (fd < 0) {
		printf("%s\n", err_name(-fd));
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* ---- serve ---- */

static int get_u32(int fd, int opt, uint32_t *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_TLSH, opt, v, &len) ? -errno : 0;
}

static int get_str(int fd, int opt, char *buf, socklen_t size)
{
	socklen_t len = size;

	if (getsockopt(fd, SOL_TLSH, opt, buf, &len))
		return -errno;
	return len > 0 && buf[len - 1] == '\0' ? 0 : -EBADMSG;
}

/* Print every parameter of the request on @fd; 0 or -errno. */
static int print_req(int fd, uint64_t *id)
{
	char peer[TLSH_PEERNAME_MAX], prio[TLSH_PRIORITIES_MAX], psk[256];
	int32_t ids[TLSH_PSK_IDS_MAX];
	uint32_t type, flags, cert, key, ring, timeout;
	socklen_t len = sizeof(*id);
	int err, i, n;

	if (getsockopt(fd, SOL_TLSH, TLSH_REQ_ID, id, &len))
		return -errno;
	err = get_u32(fd, TLSH_TYPE, &type) ?:
	      get_u32(fd, TLSH_FLAGS, &flags) ?:
	      get_u32(fd, TLSH_X509_CERT, &cert) ?:
	      get_u32(fd, TLSH_PRIVKEY, &key) ?:
	      get_u32(fd, TLSH_KEYRING, &ring) ?:
	      get_u32(fd, TLSH_TIMEOUT_MS, &timeout) ?:
	      get_str(fd, TLSH_PEERNAME, peer, sizeof(peer)) ?:
	      get_str(fd, TLSH_PRIORITIES, prio, sizeof(prio));
	if (err)
		return err;
	len = sizeof(ids);
	if (getsockopt(fd, SOL_TLSH, TLSH_PSK_IDS, ids, &len))
		return -errno;
	psk[0] = '\0';
	for (i = 0, n = 0; i < (int)(len / sizeof(ids[0])); i++)
		n += snprintf(psk + n, sizeof(psk) - n, "%s%d", i ? "," : "",
			      ids[i]);
	printf("req id=%llu type=%u flags=%u peername=%s cert=%d privkey=%d keyring=%d timeout=%u prio=%s psk=%s\n",
	       (unsigned long long)*id, type, flags, peer[0] ? peer : "-",
	       (int32_t)cert, (int32_t)key, (int32_t)ring, timeout,
	       prio[0] ? prio : "-", psk[0] ? psk : "-");
	return 0;
}

static int report(int fd, int status, int peerid)
{
	struct tlsh_result r = {
		.status = status,
		.peerid = status ? 0 : peerid,
		.flags = !status && peerid ? TLSH_RESULT_F_PEER_AUTHENTICATED : 0,
	};

	return setsockopt(fd, SOL_TLSH, TLSH_RESULT, &r, sizeof(r)) ? -errno : 0;
}

static int cmd_serve(int argc, char **argv)
{
	const char *action = "ktls";
	int family = AF_INET, count = 1, status = EIO, peerid = 0, delay = 0;
	const char *gate = NULL, *anchor = NULL;
	int lfd, fd, opt, i, err, badaddr = 0;
	uint64_t id;

	while ((opt = getopt(argc - 1, argv + 1, "f:n:a:s:p:d:w:A:b")) != -1) {
		switch (opt) {
		case 'f': family = family_of(optarg); break;
		case 'n': count = atoi(optarg); break;
		case 'a': action = optarg; break;
		case 's': status = atoi(optarg); break;
		case 'p': peerid = atoi(optarg); break;
		case 'd': delay = atoi(optarg); break;
		case 'w': gate = optarg; break;
		case 'A': anchor = optarg; break;
		case 'b': badaddr = 1; break;
		default: return 2;
		}
	}
	lfd = listener_bind(family);
	if (lfd < 0) {
		fprintf(stderr, "serve: listener: %s\n", err_name(-lfd));
		return 1;
	}
	printf("listening\n");
	if (!strcmp(action, "idle"))
		for (;;)
			pause();
	if (badaddr) {
		socklen_t alen = sizeof(struct sockaddr_in6);

		fd = accept(lfd, (struct sockaddr *)8, &alen);
		printf("accept-badaddr=%s\n", fd < 0 ? err_name(errno) : "accepted");
		fflush(stdout);
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; !count || i < count; i++) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			fprintf(stderr, "serve: accept: %s\n", err_name(errno));
			return 1;
		}
		err = print_req(fd, &id);
		if (err) {
			printf("result id=? params=%s\n", err_name(-err));
			close(fd);
			continue;
		}
		if (!strcmp(action, "hold"))
			continue;	/* keep fd open, never report */
		if (delay)
			usleep(delay * 1000);
		for (err = 0; gate && access(gate, F_OK) && err < 600; err++)
			usleep(100 * 1000);
		if (!strcmp(action, "close")) {
			close(fd);
			printf("result id=%llu closed\n", (unsigned long long)id);
			continue;
		}
		err = 0;
		if (!strcmp(action, "ktls"))
			err = ktls_install(fd);
		if (err)
			printf("result id=%llu ktls=%s\n",
			       (unsigned long long)id, err_name(-err));
		if (anchor && strcmp(action, "fail") &&
		    setsockopt(fd, SOL_TLSH, TLSH_PEER_ANCHOR, anchor,
			       strlen(anchor) + 1))
			printf("result id=%llu anchor=%s\n",
			       (unsigned long long)id, err_name(errno));
		err = report(fd, strcmp(action, "fail") ? 0 : status, peerid);
		printf("result id=%llu report=%s\n", (unsigned long long)id,
		       err ? err_name(-err) : "OK");
		close(fd);
	}
	if (!strcmp(action, "hold"))
		for (;;)
			pause();
	close(lfd);
	return 0;
}

/* ---- peer and client: the other end of the consumer's connection ---- */

static int tcp_addr(int family, const char *addr, int port,
		    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr ?: "127.0.0.1", &sin->sin_addr);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr ?: "::1", &sin6->sin6_addr);
	return sizeof(*sin6);
}

#define PEER_MAX 512

static int cmd_peer(int argc, char **argv)
{
	int family = AF_INET, port = 0, count = 0, ktls = 0, opt, i, n;
	struct pollfd pfd[PEER_MAX + 1];
	struct sockaddr_storage ss;
	int nfds = 1, accepted = 0, one = 1;
	char buf[4096];
	socklen_t len;

	while ((opt = getopt(argc - 1, argv + 1, "f:P:kn:")) != -1) {
		switch (opt) {
		case 'f': family = family_of(optarg); break;
		case 'P': port = atoi(optarg); break;
		case 'k': ktls = 1; break;
		case 'n': count = atoi(optarg); break;
		default: return 2;
		}
	}
	len = tcp_addr(family, NULL, port, &ss);
	pfd[0].fd = socket(family, SOCK_STREAM, 0);
	setsockopt(pfd[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(pfd[0].fd, (struct sockaddr *)&ss, len) ||
	    listen(pfd[0].fd, 512)) {
		fprintf(stderr, "peer: %s\n", err_name(errno));
		return 1;
	}
	pfd[0].events = POLLIN;
	printf("listening\n");
	for (;;) {
		if (poll(pfd, nfds, -1) < 0)
			return 1;
		if ((pfd[0].revents & POLLIN) && nfds <= PEER_MAX &&
		    (!count || accepted < count)) {
			int fd = accept(pfd[0].fd, NULL, NULL);

			if (fd >= 0) {
				accepted++;
				if (ktls && ktls_install(fd))
					printf("peer ktls %s\n", err_name(errno));
				pfd[nfds].fd = fd;
				pfd[nfds].events = POLLIN;
				nfds++;
			}
		}
		for (i = 1; i < nfds; i++) {
			if (!pfd[i].revents)
				continue;
			n = recv(pfd[i].fd, buf, sizeof(buf) - 1, 0);
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i--] = pfd[--nfds];
				continue;
			}
			buf[n] = '\0';
			printf("rx %s\n", buf);
			send(pfd[i].fd, buf, n, MSG_NOSIGNAL);
		}
	}
}

static int cmd_client(int argc, char **argv)
{
	const char *addr = NULL, *msg = "hello";
	int family = AF_INET, port = 0, ktls = 0, opt, fd, n;
	struct sockaddr_storage ss;
	char buf[4096];
	socklen_t len;

	while ((opt = getopt(argc - 1, argv + 1, "f:c:P:km:")) != -1) {
		switch (opt) {
		case 'f': family = family_of(optarg); break;
		case 'c': addr = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'k': ktls = 1; break;
		case 'm': msg = optarg; break;
		default: return 2;
		}
	}
	len = tcp_addr(family, addr, port, &ss);
	fd = socket(family, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		fprintf(stderr, "client: connect: %s\n", err_name(errno));
		return 1;
	}
	if (ktls && ktls_install(fd)) {
		fprintf(stderr, "client: ktls: %s\n", err_name(errno));
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		fprintf(stderr, "client: recv: %s\n", err_name(errno));
		return 1;
	}
	buf[n] = '\0';
	printf("rx %s\n", buf);
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		return 1;
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "rules"))
		return cmd_rules();
	if (!strcmp(argv[1], "bind"))
		return cmd_bind(argc, argv);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(argv[1], "peer"))
		return cmd_peer(argc, argv);
	if (!strcmp(argv[1], "client"))
		return cmd_client(argc, argv);
usage:
	fprintf(stderr, "usage: tlsh-agent rules|bind|serve|peer|client ...\n");
	return 2;
}
