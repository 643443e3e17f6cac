// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-nltest: tlshd's netlink upcall end to end on a host whose kernel
 * has no "handshake" family: a thread plays the kernel.
 *
 *   tlshd-nltest CERTDIR [WORKERS]
 *
 * The netlink test seam (tlshd_netlink_test_socket) hands tlshd one end of
 * an AF_UNIX SOCK_SEQPACKET pair for every netlink socket it opens; the
 * fake kernel holds the other ends and answers as net/handshake does:
 * CTRL_CMD_GETFAMILY, READY multicasts to the joined sockets, ACCEPT (it
 * "installs" the consumer's socket with dup() and replies with its number
 * and the request's attributes, or EAGAIN), DONE (looked up by socket
 * number, acked, or EBUSY when the request is gone).  The daemon's own
 * dispatcher and workers (tlshd_dispatch_run) run here; the TLS peers are
 * tlshd's engine in the other role on loopback TCP, each in its own
 * thread.  kTLS is disabled (tlshd_ktls_disabled): the host has none.
 *
 * Each scenario prints one TAP line; the last checks that no file
 * descriptor was left open.  WORKERS (default 2): tlshd's worker threads.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <keyutils.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "tlshd.h"
#include "nl_handshake.h"
#include "fakenl.h"

#define FAM		FAKENL_FAMILY
#define MAX_ENDS	64
#define MAX_REQS	128

static int failures;

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failures++;
	}
	fflush(stdout);
}

/* ---- requests, as the kernel holds them ---------------------------------- */

enum raw { RAW_NONE, RAW_UNKNOWN_ATTR, RAW_NO_MSGTYPE };

struct req {
	int		consumer;	/* the consumer's socket (ours) */
	int		installed;	/* its number in tlshd's table */
	uint32_t	msg_type, auth;
	const char	*peername;
	uint32_t	timeout_ms;
	int32_t		cert, key, psk;	/* sent to tlshd */
	int32_t		peer_cert, peer_key;	/* the peer client presents */
	struct tlshd_config *peer_conf;		/* NULL: peer_cf */
	enum raw	raw;
	bool		busy;		/* answer DONE with EBUSY */
	/* outcome */
	bool		done;
	int		status, nauth;
	uint32_t	remote_auth;
	/* the TLS peer */
	int		peer_fd;
	pthread_t	peer;
	bool		has_peer;
	int		peer_status;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct req reqs[MAX_REQS];
static unsigned int nreqs, queue_head, queue_tail;	/* queue: indexes */
static unsigned int queue[MAX_REQS];
static unsigned int eagain_replies, ready_sent;

struct end {
	int	fd;
	bool	joined;
};
static struct end ends[MAX_ENDS];
static unsigned int nends;
static int wake[2];

static struct tlshd_config *peer_cf, *peer_revoked_cf;
static const char *certdir;

/* Put a copy of CERTDIR/@from at CERTDIR/@to, renamed into place. */
static void install(const char *from, const char *to)
{
	char src[512], dst[512], tmp[520], buf[8192];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/%s", certdir, from);
	snprintf(dst, sizeof(dst), "%s/%s", certdir, to);
	snprintf(tmp, sizeof(tmp), "%s.new", dst);
	in = fopen(src, "re");
	out = fopen(tmp, "we");
	if (!in || !out) {
		perror("install");
		exit(2);
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	if (rename(tmp, dst) < 0) {
		perror("install");
		exit(2);
	}
}

/* The seam: a new "netlink socket" for tlshd. */
static int fake_socket(bool join)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pthread_mutex_lock(&lock);
	if (nends == MAX_ENDS) {
		pthread_mutex_unlock(&lock);
		close(sv[0]);
		close(sv[1]);
		return -EMFILE;
	}
	ends[nends].fd = sv[1];
	ends[nends].joined = join;
	nends++;
	pthread_mutex_unlock(&lock);
	if (write(wake[1], "x", 1) != 1)
		return -EIO;
	return sv[0];
}

static void send_msg(int fd, const struct nlmsghdr *nlh)
{
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		perror("fake kernel: send");
}

static void send_error(int fd, uint32_t seq, int error)
{
	char buf[128];

	send_msg(fd, fakenl_error(buf, seq, error));
}

static void answer_family(int fd, uint32_t seq)
{
	char buf[512];

	send_msg(fd, fakenl_family(buf, seq, true, true));
}

/* HANDSHAKE_CMD_ACCEPT: the oldest queued request, or EAGAIN. */
static void answer_accept(int fd, uint32_t seq)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	struct req *r;

	pthread_mutex_lock(&lock);
	if (queue_head == queue_tail) {
		eagain_replies++;
		pthread_mutex_unlock(&lock);
		send_error(fd, seq, -EAGAIN);
		return;
	}
	r = &reqs[queue[queue_head++ % MAX_REQS]];
	r->installed = dup(r->consumer);
	pthread_mutex_unlock(&lock);

	nlh = fakenl_genl(buf, FAM, HANDSHAKE_CMD_ACCEPT, seq);
	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_SOCKFD, (uint32_t)r->installed);
	if (r->raw != RAW_NO_MSGTYPE)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_MESSAGE_TYPE,
				 r->msg_type);
	if (r->peername)
		mnl_attr_put_strz(nlh, HANDSHAKE_A_ACCEPT_PEERNAME,
				  r->peername);
	if (r->timeout_ms)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_TIMEOUT,
				 r->timeout_ms);
	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_AUTH_MODE, r->auth);
	if (r->psk)
		mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_PEER_IDENTITY,
				 (uint32_t)r->psk);
	if (r->cert) {
		struct nlattr *nest = mnl_attr_nest_start(nlh,
					HANDSHAKE_A_ACCEPT_CERTIFICATE);

		mnl_attr_put_u32(nlh, HANDSHAKE_A_X509_CERT, (uint32_t)r->cert);
		mnl_attr_put_u32(nlh, HANDSHAKE_A_X509_PRIVKEY,
				 (uint32_t)r->key);
		mnl_attr_nest_end(nlh, nest);
	}
	if (r->raw == RAW_UNKNOWN_ATTR)
		mnl_attr_put_u32(nlh, 12, 1);
	if (send(fd, buf, nlh->nlmsg_len, 0) < 0)
		perror("fake kernel: send");
}

/* HANDSHAKE_CMD_DONE: find the request by its installed socket. */
static void answer_done(int fd, const struct nlmsghdr *nlh)
{
	struct fakenl_done d = { .status = EIO, .sockfd = -1 };
	struct req *r = NULL;
	unsigned int i;
	int error = 0;

	if (!fakenl_done_parse(nlh, &d)) {
		send_error(fd, nlh->nlmsg_seq, -EINVAL);
		return;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nreqs; i++)
		if (reqs[i].installed == d.sockfd && !reqs[i].done)
			r = &reqs[i];
	if (!r || r->busy) {
		error = -EBUSY;
	} else {
		r->done = true;
		r->status = d.status;
		r->nauth = d.nauth;
		r->remote_auth = d.auth;
		pthread_cond_broadcast(&changed);
	}
	if (r && r->busy) {
		r->busy = false;	/* the next DONE for it is taken */
		r->done = true;
		r->status = -EBUSY;
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&lock);
	send_error(fd, nlh->nlmsg_seq, error);
}

static void *fake_kernel(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd[MAX_ENDS + 1];
		unsigned int n, i;

		pthread_mutex_lock(&lock);
		n = nends;
		for (i = 0; i < n; i++) {
			pfd[i].fd = ends[i].fd;
			pfd[i].events = POLLIN;
		}
		pthread_mutex_unlock(&lock);
		pfd[n].fd = wake[0];
		pfd[n].events = POLLIN;
		if (poll(pfd, n + 1, -1) < 0)
			continue;
		if (pfd[n].revents) {
			char c;

			if (read(wake[0], &c, 1) == 1 && c == 'q')
				return NULL;
		}
		for (i = 0; i < n; i++) {
			char buf[8192];
			const struct nlmsghdr *nlh = (void *)buf;
			const struct genlmsghdr *g;
			ssize_t len;

			if (!(pfd[i].revents & POLLIN))
				continue;
			len = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (len <= 0 || !mnl_nlmsg_ok(nlh, (int)len))
				continue;
			g = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_type == GENL_ID_CTRL &&
			    g->cmd == CTRL_CMD_GETFAMILY)
				answer_family(pfd[i].fd, nlh->nlmsg_seq);
			else if (nlh->nlmsg_type == FAM &&
				 g->cmd == HANDSHAKE_CMD_ACCEPT)
				answer_accept(pfd[i].fd, nlh->nlmsg_seq);
			else if (nlh->nlmsg_type == FAM &&
				 g->cmd == HANDSHAKE_CMD_DONE)
				answer_done(pfd[i].fd, nlh);
			else
				send_error(pfd[i].fd, nlh->nlmsg_seq,
					   -EOPNOTSUPP);
		}
	}
}

/* Multicast READY to every joined socket. */
static void ready(void)
{
	char buf[128];
	struct nlmsghdr *nlh = fakenl_genl(buf, FAM, HANDSHAKE_CMD_READY, 0);
	unsigned int i;

	mnl_attr_put_u32(nlh, HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
			 HANDSHAKE_HANDLER_CLASS_TLSHD);
	pthread_mutex_lock(&lock);
	for (i = 0; i < nends; i++)
		if (ends[i].joined && send(ends[i].fd, buf, nlh->nlmsg_len,
					   MSG_DONTWAIT) < 0)
			perror("fake kernel: READY");
	ready_sent++;
	pthread_mutex_unlock(&lock);
}

/* ---- TLS peers: tlshd's engine in the other role ------------------------ */

static void *peer_main(void *arg)
{
	struct req *r = arg;
	struct tlshd_params p = { .p_timeout_ms = 20000 };
	struct tlshd_handshake *hs;

	p.p_req_id = 1000 + (uint64_t)(r - reqs);
	if (r->msg_type == HANDSHAKE_MSG_TYPE_CLIENTHELLO) {
		p.p_type = r->auth == HANDSHAKE_AUTH_PSK ?
			   TLSH_TYPE_SERVERHELLO_PSK : TLSH_TYPE_SERVERHELLO_X509;
		if (r->auth == HANDSHAKE_AUTH_X509)
			p.p_flags = TLSH_F_PEER_CERT_REQUIRED;
	} else {
		p.p_type = r->peer_cert ? TLSH_TYPE_CLIENTHELLO_X509 :
					  TLSH_TYPE_CLIENTHELLO_ANON;
		p.p_cert = r->peer_cert;
		p.p_privkey = r->peer_key;
		snprintf(p.p_peername, sizeof(p.p_peername), "localhost");
	}
	hs = tlshd_handshake_new(r->peer_fd, &p,
				 r->peer_conf ? r->peer_conf : peer_cf);
	if (!hs) {
		r->peer_status = ENOMEM;
		return NULL;
	}
	if (!tlshd_handshake_start(hs)) {
		for (;;) {
			struct pollfd pfd = {
				.fd = hs->hs_fd,
				.events = hs->hs_want_write ? POLLOUT : POLLIN,
			};
			uint64_t now = tlshd_now_ms();

			if (now >= hs->hs_deadline_ms) {
				tlshd_handshake_timeout(hs);
				break;
			}
			if (poll(&pfd, 1, (int)(hs->hs_deadline_ms - now)) > 0 &&
			    tlshd_handshake_step(hs))
				break;
		}
	}
	r->peer_status = hs->hs_status;
	tlshd_handshake_free(hs);
	return NULL;
}

/* A loopback TCP pair: the consumer's socket and the peer's. */
static int tcp_pair(int *consumer, int *peer, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (type == SOCK_DGRAM) {
		*consumer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		*peer = -1;
		return *consumer < 0 ? -1 : 0;
	}
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&sa, &len))
		return -1;
	*consumer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*consumer < 0 || connect(*consumer, (struct sockaddr *)&sa,
				     sizeof(sa)))
		return -1;
	*peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return *peer < 0 ? -1 : 0;
}

/* Queue a request (and start its peer unless @silent). */
static struct req *submit(struct req tmpl, bool silent, int sotype)
{
	struct req *r;

	pthread_mutex_lock(&lock);
	r = &reqs[nreqs++];
	*r = tmpl;
	r->installed = -1;
	pthread_mutex_unlock(&lock);
	if (tcp_pair(&r->consumer, &r->peer_fd, sotype)) {
		perror("tcp_pair");
		exit(2);
	}
	if (!silent && sotype == SOCK_STREAM) {
		r->has_peer = true;
		pthread_create(&r->peer, NULL, peer_main, r);
	}
	pthread_mutex_lock(&lock);
	queue[queue_tail++ % MAX_REQS] = (unsigned int)(r - reqs);
	pthread_mutex_unlock(&lock);
	return r;
}

static bool wait_done(struct req *r, int secs)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&lock);
	while (!r->done &&
	       pthread_cond_timedwait(&changed, &lock, &ts) != ETIMEDOUT)
		;
	done = r->done;
	pthread_mutex_unlock(&lock);
	return done;
}

static void finish(struct req *r)
{
	if (r->has_peer)
		pthread_join(r->peer, NULL);
	r->has_peer = false;
	if (r->peer_fd >= 0)
		close(r->peer_fd);
	close(r->consumer);
	r->peer_fd = -1;
}

static const char *sname(int status)
{
	const char *n = status == -EBUSY ? "EBUSY(kernel)" :
			tlshd_status_name(status);

	return n ? n : "?";
}

/* One request, one READY: wait for its DONE and check it. */
static void one(const char *name, struct req tmpl, int want_status,
		int want_nauth)
{
	struct req *r = submit(tmpl, false, SOCK_STREAM);

	ready();
	if (!wait_done(r, 30)) {
		result(false, name, "no DONE within 30 s");
		return;
	}
	result(r->status == want_status && r->nauth == want_nauth &&
	       (!want_nauth || r->remote_auth > 0), name,
	       "DONE status %s with %d REMOTE_AUTH (want %s with %d)",
	       sname(r->status), r->nauth, sname(want_status), want_nauth);
	finish(r);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int32_t add_file_key(const char *file, const char *desc)
{
	gnutls_datum_t d = { NULL, 0 };
	key_serial_t k;

	if (gnutls_load_file(file, &d) < 0)
		return -1;
	k = add_key("user", desc, d.data, d.size, KEY_SPEC_SESSION_KEYRING);
	gnutls_free(d.data);
	return k;
}

static void *scenarios(void *arg)
{
	const struct req client = {
		.msg_type = HANDSHAKE_MSG_TYPE_CLIENTHELLO,
		.auth = HANDSHAKE_AUTH_UNAUTH, .peername = "localhost",
		.timeout_ms = 20000, .peer_fd = -1,
	};
	const struct req server = {
		.msg_type = HANDSHAKE_MSG_TYPE_SERVERHELLO,
		.auth = HANDSHAKE_AUTH_X509, .peer_fd = -1,
	};
	struct req t, *r, *burst[32];
	char path[512];
	unsigned int i, ok, before;
	int32_t cert, key, psk;
	static const unsigned char pskkey[32] = { 1, 2, 3 };

	(void)arg;
	snprintf(path, sizeof(path), "%s/client.der", certdir);
	cert = add_file_key(path, "nltest-cert");
	snprintf(path, sizeof(path), "%s/client.key.der", certdir);
	key = add_file_key(path, "nltest-key");
	psk = add_key("user", "nltest-psk-identity", pskkey, sizeof(pskkey),
		      KEY_SPEC_SESSION_KEYRING);

	one("netlink e2e: client x509 anon: DONE 0 with the server's identity",
	    client, 0, 1);
	t = client;
	t.auth = HANDSHAKE_AUTH_X509;
	t.cert = cert;
	t.key = key;
	one("netlink e2e: client mtls with CERTIFICATE key serials: DONE 0",
	    t, 0, 1);
	t = client;
	t.auth = HANDSHAKE_AUTH_PSK;
	t.psk = psk;
	one("netlink e2e: client PSK with a PEER_IDENTITY: DONE 0", t, 0, 1);
	t = client;
	t.peername = "other.test";
	one("netlink e2e: client, wrong peer name: DONE EACCES, no REMOTE_AUTH",
	    t, EACCES, 0);
	t = client;
	t.peername = NULL;
	one("netlink e2e: client without PEERNAME checks the connected address",
	    t, 0, 1);
	one("netlink e2e: server x509, client without certificate: DONE 0, no REMOTE_AUTH",
	    server, 0, 0);
	t = server;
	t.peer_cert = cert;
	t.peer_key = key;
	one("netlink e2e: server x509, client certificate verified: REMOTE_AUTH is its key",
	    t, 0, 1);

	t = client;
	t.raw = RAW_UNKNOWN_ATTR;
	r = submit(t, true, SOCK_STREAM);
	ready();
	result(wait_done(r, 10) && r->status == EINVAL && !r->nauth,
	       "netlink e2e: request with an unknown attribute: DONE EINVAL",
	       "DONE %s", r->done ? sname(r->status) : "missing");
	finish(r);
	t = client;
	t.raw = RAW_NO_MSGTYPE;
	r = submit(t, true, SOCK_STREAM);
	ready();
	result(wait_done(r, 10) && r->status == EINVAL,
	       "netlink e2e: request without MESSAGE_TYPE: DONE EINVAL",
	       "DONE %s", r->done ? sname(r->status) : "missing");
	finish(r);
	r = submit(client, true, SOCK_DGRAM);
	ready();
	result(wait_done(r, 10) && r->status == EPROTONOSUPPORT,
	       "netlink e2e: a UDP socket: DONE EPROTONOSUPPORT",
	       "DONE %s", r->done ? sname(r->status) : "missing");
	finish(r);

	t = client;
	t.timeout_ms = 400;
	r = submit(t, true, SOCK_STREAM);
	ready();
	result(wait_done(r, 10) && r->status == ETIMEDOUT,
	       "netlink e2e: silent peer: DONE ETIMEDOUT after the request's TIMEOUT",
	       "DONE %s", r->done ? sname(r->status) : "missing");
	finish(r);

	pthread_mutex_lock(&lock);
	before = eagain_replies;
	pthread_mutex_unlock(&lock);
	ready();	/* nothing queued */
	one("netlink e2e: a READY with nothing queued (EAGAIN), then the next request served",
	    client, 0, 1);
	result(eagain_replies > before,
	       "netlink e2e: ACCEPT answered EAGAIN when nothing was queued",
	       "%u EAGAIN replies", eagain_replies - before);

	/* three requests, one READY: accept until EAGAIN */
	for (i = 0; i < 3; i++)
		burst[i] = submit(client, false, SOCK_STREAM);
	ready();
	for (i = 0, ok = 0; i < 3; i++)
		ok += wait_done(burst[i], 30) && burst[i]->status == 0;
	result(ok == 3, "netlink e2e: three requests behind one READY all served",
	       "%u of 3", ok);
	for (i = 0; i < 3; i++)
		finish(burst[i]);

	t = client;
	t.busy = true;
	r = submit(t, false, SOCK_STREAM);
	ready();
	result(wait_done(r, 30) && r->status == -EBUSY,
	       "netlink e2e: kernel refuses DONE (EBUSY): logged", "DONE %s",
	       r->done ? sname(r->status) : "missing");
	finish(r);
	one("netlink e2e: the next request after a refused DONE is served",
	    client, 0, 1);

	/*
	 * Files that change on disk take effect for the next handshake,
	 * without SIGHUP: a CRL that now revokes the peer, a renewed
	 * certificate, and a broken one that leaves the old in place.
	 */
	t = client;
	t.peer_conf = peer_revoked_cf;
	one("netlink e2e: peer certificate not in the CRL yet: DONE 0", t, 0, 1);
	install("crl.pem", "live-crl.pem");
	one("netlink e2e: CRL replaced on disk: the next handshake refuses the revoked peer (EACCES)",
	    t, EACCES, 0);
	install("expired.pem", "live-server.pem");
	one("netlink e2e: our certificate replaced by an expired one: the peer refuses it",
	    server, EACCES, 0);
	install("server.pem", "live-server.pem");
	one("netlink e2e: certificate renewed on disk: the next handshake presents it (DONE 0)",
	    server, 0, 0);
	install("ca.key", "live-server.pem");
	one("netlink e2e: a certificate file that does not parse keeps the last good one",
	    server, 0, 0);
	install("server.pem", "live-server.pem");

	for (i = 0; i < 32; i++) {
		burst[i] = submit(client, false, SOCK_STREAM);
		ready();
	}
	for (i = 0, ok = 0; i < 32; i++)
		ok += wait_done(burst[i], 60) && burst[i]->status == 0 &&
		      burst[i]->nauth == 1;
	result(ok == 32, "netlink e2e: 32 requests at once all DONE 0",
	       "%u of 32", ok);
	for (i = 0; i < 32; i++)
		finish(burst[i]);

	/* last: one in flight when tlshd is told to stop */
	t = client;
	t.timeout_ms = 60000;
	r = submit(t, true, SOCK_STREAM);
	ready();
	usleep(300000);
	kill(getpid(), SIGTERM);
	result(wait_done(r, 10) && r->status == EIO,
	       "netlink e2e: SIGTERM fails the request in flight with EIO",
	       "DONE %s", r->done ? sname(r->status) : "missing");
	finish(r);
	return NULL;
}

int main(int argc, char **argv)
{
	struct tlshd_config *cf;
	pthread_t kt, st;
	char conf[512], path[512], err[512];
	sigset_t set;
	FILE *f;
	unsigned int workers;
	int fds0, ret;

	if (argc < 2) {
		fprintf(stderr, "usage: tlshd-nltest CERTDIR [WORKERS]\n");
		return 2;
	}
	workers = argc > 2 ? (unsigned int)atoi(argv[2]) : 2;
	if (workers < 1 || workers > 16)
		return 2;
	certdir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	tlshd_ktls_disabled = true;
	tlshd_netlink_test_socket = fake_socket;
	tlshd_log_open(true);
	gnutls_global_init();
	snprintf(conf, sizeof(conf), "%s/nltest.conf", certdir);
	f = fopen(conf, "w");
	if (!f)
		return 2;
	/* tlshd's certificate and CRL change during the test */
	install("server.pem", "live-server.pem");
	install("crl-empty.pem", "live-crl.pem");
	fprintf(f, "[authenticate.client]\nx509.truststore = %s/ca.pem\n"
		   "x509.crl = %s/live-crl.pem\n"
		   "[authenticate.server]\nx509.truststore = %s/ca.pem\n"
		   "x509.certificate = %s/live-server.pem\n"
		   "x509.private_key = %s/server.key\n",
		certdir, certdir, certdir, certdir, certdir);
	fclose(f);
	snprintf(path, sizeof(path), "%s/nltest-peer.conf", certdir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "[authenticate.client]\nx509.truststore = %s/ca.pem\n"
		   "[authenticate.server]\nx509.truststore = %s/ca.pem\n"
		   "x509.certificate = %s/server.pem\n"
		   "x509.private_key = %s/server.key\n",
		certdir, certdir, certdir, certdir);
	fclose(f);
	peer_cf = tlshd_config_load(path, err, sizeof(err));
	if (!peer_cf || tlshd_config_load_creds(peer_cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "tlshd-nltest: %s\n", err);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/nltest-revoked.conf", certdir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "[authenticate.server]\nx509.certificate = %s/revoked.pem\n"
		   "x509.private_key = %s/server.key\n", certdir, certdir);
	fclose(f);
	peer_revoked_cf = tlshd_config_load(path, err, sizeof(err));
	if (!peer_revoked_cf ||
	    tlshd_config_load_creds(peer_revoked_cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "tlshd-nltest: %s\n", err);
		return 2;
	}
	cf = tlshd_config_load(conf, err, sizeof(err));
	if (!cf || tlshd_config_load_creds(cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "tlshd-nltest: %s\n", err);
		return 2;
	}
	tlshd_log_set_level(cf->cf_loglevel, 0);
	signal(SIGPIPE, SIG_IGN);
	/* signals go to the daemon's signalfd, in every thread */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	fds0 = count_fds();
	if (pipe(wake))
		return 2;
	pthread_create(&kt, NULL, fake_kernel, NULL);
	pthread_create(&st, NULL, scenarios, NULL);
	ret = tlshd_dispatch_run(&cf, conf, TLSHD_UPCALL_NETLINK, workers);
	result(ret == 0, "netlink e2e: the daemon loop ran and exited cleanly",
	       "returned %d", ret);
	pthread_join(st, NULL);
	if (write(wake[1], "q", 1) != 1)
		return 2;
	pthread_join(kt, NULL);
	while (nends)
		close(ends[--nends].fd);
	close(wake[0]);
	close(wake[1]);
	result(count_fds() == fds0,
	       "netlink e2e: no file descriptor left open (installed sockets closed)",
	       "%d open, %d before", count_fds(), fds0);
	tlshd_config_put(cf);
	tlshd_config_put(peer_cf);
	tlshd_config_put(peer_revoked_cf);
	return failures ? 1 : 0;
}
