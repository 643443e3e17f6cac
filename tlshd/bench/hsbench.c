// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-hsbench: TLS 1.3 client handshakes to one peer, two ways, in one run:
 *
 *   in-process  this program does the handshake itself with GnuTLS on its
 *               own TCP socket, then hands the keys to kTLS (as an
 *               application doing TLS itself and using kTLS would);
 *   upcall      the kernel asks for it: tlsh_test.ko (debugfs) connects a
 *               kernel socket and calls tlsh_client_hello_anon(); the agent
 *               (tlshd) serving AF_TLSH in this network namespace does the
 *               handshake and installs kTLS; the kernel's done callback ends
 *               the measurement.
 *
 * Same peer, same certificates, same priority string (tlshd's default),
 * ALPN "sunrpc", no tickets, the server's chain and name verified (plus a
 * CRL when given).  The TCP connect is outside the measurement in both
 * paths.  The paths alternate in rounds so that a noisy host (qemu TCG on
 * shared CPUs) hurts both alike.  For each concurrency level J (handshakes
 * in flight at once, closed loop), prints handshakes per second, median
 * and p95 latency per path and the ratio upcall / in-process.
 *
 *   tlshd-hsbench [OPTIONS] ADDR PORT
 *     -n N            handshakes per path and concurrency level (200)
 *     -j J[,J...]     concurrency levels (1,8,64)
 *     --threads T     in-process path: T threads share the J sessions (1),
 *                     to compare with tlshd running T workers
 *     --agent-pid PID the agent (tlshd): its CPU time per handshake is
 *                     reported beside this process's for the in-process
 *                     path (user + system, all threads)
 *     -r R            rounds the paths alternate in (4)
 *     -w W            warm-up handshakes per path, not counted (2)
 *     --peername NAME name the server certificate must carry (required)
 *     --ca FILE       trust store for the in-process path (PEM, required)
 *     --crl FILE      CRL for the in-process path (PEM)
 *     --priorities P  in-process priority string (default: tlshd's)
 *     --no-ktls       in-process path stops after the handshake
 *     --only PATH     run one path: inproc or upcall
 *     --slot S        first tlsh_test slot (0); uses max(J) slots
 *     --timeout MS    per-handshake timeout (30000)
 *
 *   tlshd-hsbench --floor
 *     prints this process's RSS and Private_Dirty (KiB) right after
 *     gnutls_global_init(): the floor for any program using GnuTLS here.
 *
 *   tlshd-hsbench --serve PORT --cert FILE --key FILE [--threads T]
 *     the peer: a TLS 1.3 server (ALPN "sunrpc", no tickets, tlshd's
 *     priorities) on T threads, each with its own SO_REUSEPORT listener
 *     and non-blocking sessions; after the handshake it waits for the
 *     client to close (so the client can still install kTLS, which wants
 *     an established socket).  gnutls-serv runs on one thread only, which
 *     would cap every multi-threaded figure at the peer's.  Prints
 *     "serving".
 *
 * Exit status 0 when every handshake succeeded, 1 otherwise, 2 on usage
 * or set-up errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "tlshd.h"
#include "bench.h"

#define CTL	"/sys/kernel/debug/tlsh_test/ctl"
#define SLOTS	"/sys/kernel/debug/tlsh_test/slots"
#define MAX_J	64
#define MAX_LEVELS 8
/* tlshd's default (policy.h) */
#define DEFAULT_PRIO TLSHD_PRIORITY

enum path { INPROC, UPCALL, NPATHS };
static const char *const path_names[NPATHS] = { "in-process", "upcall" };

struct sample_set {
	double		*lat;		/* ticks each successful one took */
	unsigned int	n, ok, failed;	/* attempts, successes, failures */
	double		wall;		/* ticks, summed over rounds */
	double		cpu_ms;		/* CPU time of the side doing TLS */
	char		first_error[256];
};

static struct {
	const char	*addr, *port, *peername, *ca, *crl, *prio;
	unsigned int	n, rounds, warmup, slot, timeout_ms;
	unsigned int	levels[MAX_LEVELS], nlevels, threads;
	const char	*cert, *key;
	int		agent_pid;	/* tlshd, for its CPU time */
	bool		ktls, run[NPATHS];
	struct sockaddr_storage ss;
	socklen_t	sslen;
} opt = {
	.n = 200, .rounds = 4, .warmup = 2, .timeout_ms = 30000, .ktls = true,
	.threads = 1,
	.prio = DEFAULT_PRIO, .run = { true, true },
};

static gnutls_certificate_credentials_t creds;
static char negotiated[128];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Latencies are taken in TSC ticks: the test VM's clock source is jiffies
 * (4 ms steps) while qemu's TSC follows the host's.  The ticks are turned
 * into milliseconds with the rate measured against CLOCK_MONOTONIC over the
 * whole run (minutes, so the jiffy steps do not matter).
 */
static double tick0, tick0_ms;

static double ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return (double)__builtin_ia32_rdtsc();
#else
	return bench_now_ms() * 1e6;
#endif
}

static double ticks_since(double t0)
{
	return ticks() - t0;
}

/* milliseconds per tick, measured since the start */
static double tick_ms(void)
{
	double t = ticks() - tick0, ms = bench_now_ms() - tick0_ms;

	return t > 0 ? ms / t : 0;
}

static void record(struct sample_set *set, double lat, const char *err)
{
	set->n++;
	if (!err) {
		set->lat[set->ok++] = lat;
		return;
	}
	if (!set->failed++)
		snprintf(set->first_error, sizeof(set->first_error), "%s",
			 err);
}

/* ---- in-process: T threads, J non-blocking GnuTLS sessions ------------- */

struct conn {
	int			fd;
	gnutls_session_t	s;
	double			t0;		/* ticks */
	double			deadline;	/* bench_now_ms() */
	bool			busy;
};

static int tcp_connect(void)
{
	int fd = socket(opt.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&opt.ss, opt.sslen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Returns NULL or why it could not start. */
static const char *inproc_start(struct conn *c)
{
	gnutls_datum_t alpn = { (unsigned char *)TLSHD_ALPN,
				sizeof(TLSHD_ALPN) - 1 };
	static _Thread_local char why[160];
	int ret;

	c->fd = tcp_connect();
	if (c->fd < 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		return why;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->t0 = ticks();
	c->deadline = bench_now_ms() + opt.timeout_ms;
	ret = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
			  GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
	if (!ret)
		ret = gnutls_priority_set_direct(c->s, opt.prio, NULL);
	if (!ret)
		ret = gnutls_alpn_set_protocols(c->s, &alpn, 1,
						GNUTLS_ALPN_MANDATORY);
	if (!ret)
		ret = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS,
					     opt.peername,
					     strlen(opt.peername));
	if (!ret)
		ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
					     creds);
	if (ret) {
		snprintf(why, sizeof(why), "session set-up: %s",
			 gnutls_strerror(ret));
		return why;
	}
	gnutls_session_set_verify_cert(c->s, opt.peername, 0);
	gnutls_transport_set_int(c->s, c->fd);
	c->busy = true;
	return NULL;
}

static void inproc_end(struct conn *c)
{
	if (c->s)
		gnutls_deinit(c->s);
	if (c->fd >= 0)
		close(c->fd);
	c->s = NULL;
	c->fd = -1;
	c->busy = false;
}

/* Step; returns 0 to wait, 1 done (ok), -1 done (failed, @why set). */
static int inproc_step(struct conn *c, char *why, size_t len)
{
	gnutls_datum_t proto;
	int ret;

	do {
		ret = gnutls_handshake(c->s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret) &&
		 ret != GNUTLS_E_AGAIN);
	if (ret == GNUTLS_E_AGAIN)
		return 0;
	if (ret < 0) {
		snprintf(why, len, "handshake: %s", gnutls_strerror(ret));
		return -1;
	}
	if (gnutls_alpn_get_selected_protocol(c->s, &proto) ||
	    proto.size != strlen(TLSHD_ALPN)) {
		snprintf(why, len, "no ALPN \"%s\"", TLSHD_ALPN);
		return -1;
	}
	if (opt.ktls) {
		ret = tlshd_ktls_install(c->s, c->fd, why, len);
		if (ret)
			return -1;
	}
	pthread_mutex_lock(&lock);
	if (!negotiated[0])
		snprintf(negotiated, sizeof(negotiated), "%s %s %s",
			 gnutls_protocol_get_name(gnutls_protocol_get_version(c->s)),
			 gnutls_cipher_get_name(gnutls_cipher_get(c->s)),
			 gnutls_group_get_name(gnutls_group_get(c->s)));
	pthread_mutex_unlock(&lock);
	return 1;
}

static void run_inproc_one(struct sample_set *set, unsigned int count,
			   unsigned int j)
{
	struct conn conns[MAX_J];
	struct pollfd pfd[MAX_J];
	unsigned int started = 0, finished = 0, busy, i;
	double t0 = ticks();
	char why[256];

	for (i = 0; i < j; i++)
		conns[i] = (struct conn){ .fd = -1 };
	while (finished < count) {
		for (i = 0; i < j; i++) {
			const char *err;
			int r;

			if (conns[i].busy || started >= count)
				continue;
			started++;
			err = inproc_start(&conns[i]);
			if (err) {
				record(set, 0, err);
				inproc_end(&conns[i]);
				finished++;
				i--;	/* start another in this place */
				continue;
			}
			/* the ClientHello goes out now; a quick peer may
			 * even let the handshake end in this first step */
			r = inproc_step(&conns[i], why, sizeof(why));
			if (r) {
				record(set, ticks_since(conns[i].t0),
				       r > 0 ? NULL : why);
				inproc_end(&conns[i]);
				finished++;
			}
		}
		busy = 0;
		for (i = 0; i < j; i++) {
			busy += conns[i].busy;
			pfd[i].fd = conns[i].busy ? conns[i].fd : -1;
			pfd[i].events = conns[i].busy &&
				gnutls_record_get_direction(conns[i].s) ?
				POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		if (!busy)
			continue;	/* all ended in their first step */
		if (poll(pfd, j, 1000) < 0 && errno != EINTR)
			bench_die("poll: %s", strerror(errno));
		for (i = 0; i < j; i++) {
			int r;

			if (!conns[i].busy)
				continue;
			if (!pfd[i].revents && bench_now_ms() < conns[i].deadline)
				continue;
			r = pfd[i].revents ? inproc_step(&conns[i], why,
							 sizeof(why)) :
				(snprintf(why, sizeof(why), "timed out"), -1);
			if (!r)
				continue;
			record(set, ticks_since(conns[i].t0),
			       r > 0 ? NULL : why);
			inproc_end(&conns[i]);
			finished++;
		}
	}
	set->wall += ticks_since(t0);
}

struct inproc_thread {
	pthread_t		th;
	struct sample_set	set;
	unsigned int		count, j;
};

static void *inproc_thread(void *arg)
{
	struct inproc_thread *t = arg;

	run_inproc_one(&t->set, t->count, t->j);
	return NULL;
}

/*
 * The in-process path on opt.threads threads (at most J): each runs its
 * share of the J sessions and of the handshakes, as tlshd's workers
 * share the requests.
 */
static void run_inproc(struct sample_set *set, unsigned int count,
		       unsigned int j)
{
	unsigned int nt = opt.threads < j ? opt.threads : j, i, k;
	struct inproc_thread *t;
	double t0 = ticks();

	if (nt <= 1) {
		run_inproc_one(set, count, j);
		return;
	}
	t = calloc(nt, sizeof(*t));
	if (!t)
		bench_die("out of memory");
	for (i = 0; i < nt; i++) {
		t[i].j = j / nt + (i < j % nt);
		t[i].count = count / nt + (i < count % nt);
		t[i].set.lat = calloc(t[i].count + 1, sizeof(double));
		if (!t[i].set.lat ||
		    pthread_create(&t[i].th, NULL, inproc_thread, &t[i]))
			bench_die("in-process thread: %s", strerror(errno));
	}
	for (i = 0; i < nt; i++) {
		pthread_join(t[i].th, NULL);
		for (k = 0; k < t[i].set.ok; k++)
			set->lat[set->ok++] = t[i].set.lat[k];
		set->n += t[i].set.n;
		if (t[i].set.failed && !set->failed)
			snprintf(set->first_error, sizeof(set->first_error),
				 "%s", t[i].set.first_error);
		set->failed += t[i].set.failed;
		free(t[i].set.lat);
	}
	free(t);
	set->wall += ticks_since(t0);
}

/* ---- the peer: a TLS server on T threads -------------------------------- */

struct serve_conn {
	int			fd;
	gnutls_session_t	s;
	double			deadline;
	bool			done;	/* handshake over: wait for the close */
};

static gnutls_certificate_credentials_t serve_creds;

static int serve_listen(unsigned int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int fd, one = 1, zero = 0;

	sa.sin6_port = htons((uint16_t)port);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024))
		bench_die("--serve: listen on %u: %s", port, strerror(errno));
	return fd;
}

static void serve_end(struct serve_conn *c)
{
	gnutls_deinit(c->s);
	close(c->fd);
	c->fd = -1;
}

static void *serve_thread(void *arg)
{
	gnutls_datum_t alpn = { (unsigned char *)TLSHD_ALPN,
				sizeof(TLSHD_ALPN) - 1 };
	unsigned int port = (unsigned int)(uintptr_t)arg, n = 0, i;
	struct serve_conn *conns = calloc(1024, sizeof(*conns));
	struct pollfd *pfd = calloc(1025, sizeof(*pfd));
	int lfd = serve_listen(port);

	if (!conns || !pfd)
		bench_die("out of memory");
	for (;;) {
		pfd[0].fd = n < 1024 ? lfd : -1;
		pfd[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = !conns[i].done &&
				gnutls_record_get_direction(conns[i].s) ?
				POLLOUT : POLLIN;
		}
		if (poll(pfd, n + 1, 1000) < 0 && errno != EINTR)
			bench_die("--serve: poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			int ret;

			if (!pfd[i + 1].revents) {
				if (bench_now_ms() > conns[i].deadline)
					serve_end(&conns[i]);
				continue;
			}
			if (conns[i].done) {
				char junk[4096];
				ssize_t r = recv(conns[i].fd, junk, sizeof(junk),
						 MSG_DONTWAIT);

				if (r == 0 || (r < 0 && errno != EAGAIN))
					serve_end(&conns[i]);
				continue;
			}
			do {
				ret = gnutls_handshake(conns[i].s);
			} while (ret < 0 && !gnutls_error_is_fatal(ret) &&
				 ret != GNUTLS_E_AGAIN);
			if (ret == GNUTLS_E_AGAIN)
				continue;
			if (ret < 0)
				serve_end(&conns[i]);
			else
				conns[i].done = true;
		}
		/* drop the ended ones */
		for (i = 0; i < n;) {
			if (conns[i].fd < 0)
				conns[i] = conns[--n];
			else
				i++;
		}
		while (n < 1024 && pfd[0].revents) {
			struct serve_conn *c = &conns[n];
			int fd = accept4(lfd, NULL, NULL,
					 SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd < 0)
				break;
			c->fd = fd;
			c->done = false;
			c->deadline = bench_now_ms() + 60000;
			if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
					GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL) ||
			    gnutls_priority_set_direct(c->s, DEFAULT_PRIO,
						       NULL) ||
			    gnutls_alpn_set_protocols(c->s, &alpn, 1,
						      GNUTLS_ALPN_MANDATORY |
						      GNUTLS_ALPN_SERVER_PRECEDENCE) ||
			    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
						   serve_creds))
				bench_die("--serve: session set-up failed");
			gnutls_transport_set_int(c->s, fd);
			n++;
		}
	}
	return NULL;
}

static int serve(const char *port)
{
	unsigned int p = bench_number(port, "--serve", 65535), i;
	pthread_t th;
	int ret;

	if (!opt.cert || !opt.key)
		bench_die("--serve needs --cert and --key");
	ret = gnutls_global_init();
	if (!ret)
		ret = gnutls_certificate_allocate_credentials(&serve_creds);
	if (!ret)
		ret = gnutls_certificate_set_x509_key_file(serve_creds, opt.cert,
							   opt.key,
							   GNUTLS_X509_FMT_PEM);
	if (ret < 0)
		bench_die("--serve: %s", gnutls_strerror(ret));
	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < opt.threads; i++)
		if (pthread_create(&th, NULL, serve_thread,
				   (void *)(uintptr_t)p))
			bench_die("--serve: pthread_create failed");
	printf("serving port=%u threads=%u\n", p, opt.threads);
	fflush(stdout);
	serve_thread((void *)(uintptr_t)p);
	return 0;
}

/* ---- upcall: J threads, each drives one tlsh_test slot ----------------- */

struct worker {
	pthread_t		th;
	unsigned int		slot;
	struct sample_set	*set;
};

static unsigned int todo;

static int ctl(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, len, ret = 0;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(CTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* The slot's "status=" once its request is done; false if not found. */
static bool slot_status(unsigned int slot, int *status)
{
	char line[1024], want[16];
	bool found = false;
	FILE *f = fopen(SLOTS, "re");

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%u ", slot);
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, want, strlen(want)))
			continue;
		p = strstr(line, " status=");
		found = strstr(line, " req=done ") && p &&
			sscanf(p, " status=%d", status) == 1;
		break;
	}
	fclose(f);
	return found;
}

static void *upcall_worker(void *arg)
{
	struct worker *w = arg;
	char why[256];

	for (;;) {
		double t0, lat;
		int ret, status;

		pthread_mutex_lock(&lock);
		if (!todo) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		todo--;
		pthread_mutex_unlock(&lock);

		ret = ctl("connect %u %s %s", w->slot, opt.addr, opt.port);
		if (ret) {
			snprintf(why, sizeof(why), "tlsh_test connect: %s",
				 strerror(-ret));
			pthread_mutex_lock(&lock);
			record(w->set, 0, why);
			pthread_mutex_unlock(&lock);
			continue;
		}
		t0 = ticks();
		ret = ctl("hello %u client_anon peername=%s timeout=%u\nwait %u %u",
			  w->slot, opt.peername, opt.timeout_ms, w->slot,
			  opt.timeout_ms + 5000);
		lat = ticks_since(t0);
		if (ret)
			snprintf(why, sizeof(why), "tlsh_test hello/wait: %s",
				 strerror(-ret));
		else if (!slot_status(w->slot, &status))
			snprintf(why, sizeof(why), "slot %u: no result",
				 w->slot);
		else if (status)
			snprintf(why, sizeof(why), "status %d (%s)", status,
				 strerror(-status));
		ctl("close %u", w->slot);
		pthread_mutex_lock(&lock);
		record(w->set, lat, ret || status ? why : NULL);
		pthread_mutex_unlock(&lock);
	}
}

static void run_upcall(struct sample_set *set, unsigned int count,
		       unsigned int j)
{
	struct worker w[MAX_J];
	double t0 = ticks();
	unsigned int i;

	todo = count;
	for (i = 0; i < j; i++) {
		w[i].slot = opt.slot + i;
		w[i].set = set;
		if (pthread_create(&w[i].th, NULL, upcall_worker, &w[i]))
			bench_die("pthread_create failed");
	}
	for (i = 0; i < j; i++)
		pthread_join(w[i].th, NULL);
	set->wall += ticks_since(t0);
}

/* ---- CPU time ----------------------------------------------------------- */

/* This process's user + system time (every thread), ms. */
static double self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* The agent's user + system time from /proc/PID/stat, ms (0: unknown). */
static double agent_cpu_ms(void)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	if (!opt.agent_pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", opt.agent_pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "comm)": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

/* ---- figures ----------------------------------------------------------- */

/* Nearest-rank percentile of the successful handshakes' latencies, ms. */
static double pct(struct sample_set *set, double p, double ms_per_tick)
{
	return bench_pct(set->lat, set->ok, p) * ms_per_tick;
}

/* One line of the table: both figures and num / den ("-" when not run). */
static void row(const char *name, const double v[NPATHS], double num,
		double den)
{
	unsigned int p;

	printf("  %-22s", name);
	for (p = 0; p < NPATHS; p++)
		if (opt.run[p])
			printf(" %12.1f", v[p]);
		else
			printf(" %12s", "-");
	if (opt.run[INPROC] && opt.run[UPCALL] && den > 0)
		printf(" %8.2f", num / den);
	printf("\n");
}

static void report(unsigned int j, struct sample_set sets[NPATHS],
		   double ms_per_tick)
{
	double rate[NPATHS], med[NPATHS], p95[NPATHS], cpu[NPATHS];
	unsigned int p;

	for (p = 0; p < NPATHS; p++) {
		double s = sets[p].wall * ms_per_tick / 1e3;

		cpu[p] = sets[p].ok ? sets[p].cpu_ms / sets[p].ok : 0;
		rate[p] = s > 0 ? sets[p].ok / s : 0;
		med[p] = pct(&sets[p], 50, ms_per_tick);
		p95[p] = pct(&sets[p], 95, ms_per_tick);
	}
	printf("%u in flight:\n", j);
	printf("  %-22s %12s %12s %8s\n", "", path_names[INPROC],
	       path_names[UPCALL], "ratio");
	row("handshakes/s", rate, rate[UPCALL], rate[INPROC]);
	row("latency median (ms)", med, med[INPROC], med[UPCALL]);
	row("latency p95 (ms)", p95, p95[INPROC], p95[UPCALL]);
	if (opt.agent_pid)
		row("CPU ms per handshake", cpu, cpu[INPROC], cpu[UPCALL]);
	printf("  %-22s %5u of %-5u %5u of %-5u\n", "succeeded",
	       sets[INPROC].ok, sets[INPROC].n, sets[UPCALL].ok,
	       sets[UPCALL].n);
	for (p = 0; p < NPATHS; p++)
		if (sets[p].failed)
			printf("  %s: %u failed, first: %s\n", path_names[p],
			       sets[p].failed, sets[p].first_error);
	/* machine-readable, for scripts */
	printf("result j=%u inproc_hs_per_s=%.2f upcall_hs_per_s=%.2f inproc_median_ms=%.2f upcall_median_ms=%.2f inproc_p95_ms=%.2f upcall_p95_ms=%.2f inproc_cpu_ms=%.2f upcall_cpu_ms=%.2f failed=%u\n",
	       j, rate[INPROC], rate[UPCALL], med[INPROC], med[UPCALL],
	       p95[INPROC], p95[UPCALL], cpu[INPROC], cpu[UPCALL],
	       sets[INPROC].failed + sets[UPCALL].failed);
	fflush(stdout);
}

/* --floor: what linking and initialising GnuTLS alone costs */
static int floor_report(void)
{
	char line[256];
	long rss = -1, dirty = -1;
	FILE *f;
	int ret = gnutls_global_init();

	if (ret < 0)
		bench_die("GnuTLS: %s", gnutls_strerror(ret));
	f = fopen("/proc/self/smaps_rollup", "re");
	if (!f)
		bench_die("/proc/self/smaps_rollup: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld", &rss);
		sscanf(line, "Private_Dirty: %ld", &dirty);
	}
	fclose(f);
	printf("floor rss_kib=%ld private_dirty_kib=%ld\n", rss, dirty);
	gnutls_global_deinit();
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tlshd-hsbench --peername NAME --ca FILE [--crl FILE] [-n N] [-j J,...]\n"
		"         [-r ROUNDS] [-w WARMUP] [--priorities P] [--no-ktls] [--only inproc|upcall]\n"
		"         [--slot S] [--timeout MS] [--threads T] [--agent-pid PID] ADDR PORT\n"
		"       tlshd-hsbench --floor\n"
		"       tlshd-hsbench --serve PORT --cert FILE --key FILE [--threads T]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "peername", required_argument, NULL, 'N' },
		{ "ca", required_argument, NULL, 'A' },
		{ "crl", required_argument, NULL, 'L' },
		{ "priorities", required_argument, NULL, 'p' },
		{ "no-ktls", no_argument, NULL, 'k' },
		{ "only", required_argument, NULL, 'o' },
		{ "slot", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "floor", no_argument, NULL, 'F' },
		{ "serve", required_argument, NULL, 'S' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "threads", required_argument, NULL, 'T' },
		{ "agent-pid", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sample_set sets[MAX_LEVELS][NPATHS];
	unsigned int r, l, p, failed = 0;
	const char *serve_port = NULL;
	char default_levels[] = "1,8,64";
	double ms_per_tick;
	int c;

	bench_prog = "tlshd-hsbench";
	opt.nlevels = bench_levels(default_levels, opt.levels, MAX_LEVELS,
				   MAX_J);
	while ((c = getopt_long(argc, argv, "n:j:r:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.n = bench_number(optarg, "-n", 100000);
			break;
		case 'j':
			opt.nlevels = bench_levels(optarg, opt.levels,
						   MAX_LEVELS, MAX_J);
			break;
		case 'r':
			opt.rounds = bench_number(optarg, "-r", 1000);
			break;
		case 'w':
			opt.warmup = strcmp(optarg, "0") ?
				     bench_number(optarg, "-w", 1000) : 0;
			break;
		case 'F':
			return floor_report();
		case 'S':
			serve_port = optarg;
			break;
		case 'C':
			opt.cert = optarg;
			break;
		case 'K':
			opt.key = optarg;
			break;
		case 'T':
			opt.threads = bench_number(optarg, "--threads", MAX_J);
			break;
		case 'P':
			opt.agent_pid = (int)bench_number(optarg, "--agent-pid",
						    4194304);
			break;
		case 'N':
			opt.peername = optarg;
			break;
		case 'A':
			opt.ca = optarg;
			break;
		case 'L':
			opt.crl = optarg;
			break;
		case 'p':
			opt.prio = optarg;
			break;
		case 'k':
			opt.ktls = false;
			break;
		case 'o':
			if (!strcmp(optarg, "inproc"))
				opt.run[UPCALL] = false;
			else if (!strcmp(optarg, "upcall"))
				opt.run[INPROC] = false;
			else
				bench_die("--only '%s': want inproc or upcall",
				    optarg);
			break;
		case 's':
			opt.slot = bench_number(optarg, "--slot", 511);
			break;
		case 't':
			opt.timeout_ms = bench_number(optarg, "--timeout", 3600000);
			break;
		default:
			usage();
		}
	}
	if (serve_port)
		return serve(serve_port);
	if (argc - optind != 2 || !opt.peername || !opt.ca)
		usage();
	opt.addr = argv[optind];
	opt.port = argv[optind + 1];
	opt.sslen = bench_addr(opt.addr, bench_number(opt.port, "port", 65535),
			       &opt.ss);
	if (opt.rounds > opt.n)
		opt.rounds = opt.n;
	for (l = 0; l < opt.nlevels; l++)
		if (opt.slot + opt.levels[l] > 512)
			bench_die("--slot %u with %u in flight runs past tlsh_test's 512 slots",
			    opt.slot, opt.levels[l]);
	if (opt.run[UPCALL] && access(CTL, W_OK))
		bench_die("%s: %s (is tlsh_test loaded and debugfs mounted?)", CTL,
		    strerror(errno));

	creds = bench_client_creds(opt.ca, opt.crl, NULL, NULL);

	for (l = 0; l < opt.nlevels; l++)
		for (p = 0; p < NPATHS; p++) {
			sets[l][p] = (struct sample_set){ 0 };
			sets[l][p].lat = calloc(opt.n, sizeof(double));
			if (!sets[l][p].lat)
				bench_die("out of memory");
		}
	/* first handshakes fault in code and fill caches: not counted */
	if (opt.warmup) {
		struct sample_set warm = { 0 };

		warm.lat = calloc(opt.warmup, sizeof(double));
		if (!warm.lat)
			bench_die("out of memory");
		for (p = 0; p < NPATHS; p++) {
			if (!opt.run[p])
				continue;
			warm.n = warm.ok = warm.failed = 0;
			if (p == INPROC)
				run_inproc(&warm, opt.warmup, 1);
			else
				run_upcall(&warm, opt.warmup, 1);
			if (warm.failed)
				bench_die("%s warm-up failed: %s", path_names[p],
				    warm.first_error);
		}
		free(warm.lat);
	}
	tick0 = ticks();
	tick0_ms = bench_now_ms();
	/* rounds: every level, each path in turn, n / rounds handshakes */
	for (r = 0; r < opt.rounds; r++) {
		unsigned int count = opt.n / opt.rounds +
				     (r < opt.n % opt.rounds);

		for (l = 0; l < opt.nlevels; l++) {
			double c0;

			if (opt.run[INPROC]) {
				c0 = self_cpu_ms();
				run_inproc(&sets[l][INPROC], count,
					   opt.levels[l]);
				sets[l][INPROC].cpu_ms += self_cpu_ms() - c0;
			}
			if (opt.run[UPCALL]) {
				c0 = agent_cpu_ms();
				run_upcall(&sets[l][UPCALL], count,
					   opt.levels[l]);
				sets[l][UPCALL].cpu_ms += agent_cpu_ms() - c0;
			}
		}
	}
	ms_per_tick = tick_ms();
	printf("negotiated (in-process): %s; %u handshakes per path and level in %u alternating rounds; in-process on %u thread%s\n",
	       negotiated[0] ? negotiated : "-", opt.n, opt.rounds,
	       opt.threads, opt.threads == 1 ? "" : "s");
	for (l = 0; l < opt.nlevels; l++) {
		report(opt.levels[l], sets[l], ms_per_tick);
		for (p = 0; p < NPATHS; p++) {
			failed += sets[l][p].failed;
			free(sets[l][p].lat);
		}
	}
	gnutls_certificate_free_credentials(creds);
	gnutls_global_deinit();
	return failed ? 1 : 0;
}
