// SPDX-License-Identifier: GPL-2.0
/*
 * The dispatcher: tlshd's main thread.
 *
 * Process model: one process; this thread plus the workers (worker.c, one
 * per CPU by default).  This thread's epoll set holds
 *   - with AF_TLSH (rpctls' kernel, upcall.c): two listeners (AF_INET and
 *     AF_INET6) in our network namespace; each accept() hands us a
 *     consumer's connected TCP socket and getsockopt(SOL_TLSH) its
 *     parameters;
 *   - with mainline's netlink upcall (Linux 6.5+, netlink.c): a socket in
 *     the "tlshd" multicast group; a READY notification means requests
 *     wait, and each ACCEPT takes one: its socket and parameters;
 *   - a signalfd for SIGHUP (reload), SIGTERM and SIGINT (exit);
 *   - an eventfd the workers write when room frees up or the last
 *     handshake ends;
 *   - the epoll set of the server sessions kept for CRL checks (live.c),
 *     readable when one of them hangs up.
 * It does no crypto: it takes each request as soon as the kernel offers
 * it, makes it a struct tlshd_handshake (from either upcall alike) with
 * the current configuration, and hands it to the least busy worker, which
 * runs, reports and frees it.  Before each request it checks whether a
 * credential file changed on disk (tlshd.conf(5)), and SIGHUP reloads
 * everything here; a handshake keeps the configuration it started with.
 *
 * At most TLSHD_MAX_INFLIGHT handshakes run at once: beyond that the
 * AF_TLSH listeners are muted and no ACCEPT is sent; requests wait in the
 * kernel, where the kernel's own timeout still applies.  After a second
 * with nothing in flight the heap the handshakes (or a configuration
 * replaced) left free is given back to the kernel (malloc_trim), so a
 * burst does not leave the idle daemon big.  While server sessions are kept
 * for CRL checks, the files are looked at every TLSHD_LIVE_CHECK_MS, and
 * credentials read again are checked against those sessions at once.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "tlshd.h"

#define MAX_EVENTS	64
#define TRIM_IDLE_MS	1000

struct source {
	int	s_fd;
	bool	s_muted;
};

static struct source listeners[2] = { { -1, false }, { -1, false } };
static struct source sigsrc = { -1, false };
static struct source wakesrc = { -1, false };	/* from the workers */
static struct source nlsrc = { -1, false };	/* READY notifications */
static struct source livesrc = { -1, false };	/* kept sessions hung up */
static struct tlshd_nl nl_notify = { .nl_fd = -1 };
static struct tlshd_nl nl_cmd = { .nl_fd = -1 };	/* ACCEPT; early DONE */
static bool nl_pending;		/* netlink requests may be waiting */
static uint64_t nl_req_id;
static int epfd = -1;
static bool trim_pending;	/* memory was freed since the last trim */

static bool room(void)
{
	return tlshd_workers_inflight() < TLSHD_MAX_INFLIGHT;
}

static void mute_listeners(bool mute)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = mute ? 0 : EPOLLIN,
					  .data.ptr = &listeners[i] };

		if (listeners[i].s_fd < 0 || listeners[i].s_muted == mute)
			continue;
		epoll_ctl(epfd, EPOLL_CTL_MOD, listeners[i].s_fd, &ev);
		listeners[i].s_muted = mute;
	}
}

/*
 * The configuration for the next handshake: the current one, or, when a
 * certificate, key, trust store or CRL file changed on disk since it was
 * read (an ACME renewal, a new CRL), the same settings with the files read
 * again.  Handshakes in flight keep what they started with.  Files that
 * no longer load leave the old credentials in place, said once.
 */
static struct tlshd_config *fresh_config(struct tlshd_config **cfp)
{
	struct tlshd_config *nc;
	char what[300], err[512];

	if (!tlshd_config_changed(*cfp, what, sizeof(what)))
		return *cfp;
	nc = tlshd_config_rebuild(*cfp, err, sizeof(err));
	if (!nc) {
		tlshd_log_err("%s changed on disk but does not load, keeping the credentials read before: %s",
			      what, err);
		tlshd_config_restamp(*cfp);
		return *cfp;
	}
	tlshd_log(TLSHD_LOG_NOTICE, "%s changed on disk: credentials read again for the next handshakes",
		  what);
	tlshd_config_put(*cfp);
	*cfp = nc;
	trim_pending = true;
	return nc;
}

/* mainline's consumers hand over TCP sockets; QUIC is not served here */
static int check_transport(int fd, char *why, size_t whylen)
{
	int type = 0, proto = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		snprintf(why, whylen, "SOCKFD %d is not a socket: %s", fd,
			 strerror(errno));
		return EINVAL;
	}
	len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		proto = -1;
	if (type != SOCK_STREAM || proto != IPPROTO_TCP) {
		snprintf(why, whylen,
			 "socket type %d protocol %d: tlshd serves TLS over TCP only",
			 type, proto);
		return EPROTONOSUPPORT;
	}
	return 0;
}

static void report_here(int fd, enum tlshd_upcall upcall, uint64_t req_id,
			int status)
{
	if (upcall == TLSHD_UPCALL_NETLINK)
		tlshd_netlink_done(&nl_cmd, fd, status, 0);
	else
		tlshd_upcall_report(fd, req_id, status, 0, false, false);
}

/* A request from either upcall: check it, then a worker runs it. */
static void hand_over(int fd, struct tlshd_params *p,
		      enum tlshd_upcall upcall, struct tlshd_config **cfp)
{
	struct tlshd_handshake *hs;
	char why[160];
	int status;

	hs = tlshd_handshake_new(fd, p, fresh_config(cfp));
	if (!hs) {
		tlshd_log_err("req=%llu: out of memory",
			      (unsigned long long)p->p_req_id);
		report_here(fd, upcall, p->p_req_id, ENOMEM);
		close(fd);
		return;
	}
	hs->hs_upcall = upcall;
	tlshd_log_debug("req=%llu: %s handshake with %s (%s), timeout %u ms",
			(unsigned long long)p->p_req_id,
			tlshd_log_type_name(p->p_type), hs->hs_peeraddr,
			p->p_peername, p->p_timeout_ms);
	status = upcall == TLSHD_UPCALL_NETLINK ?
		 check_transport(fd, why, sizeof(why)) : 0;
	if (status) {
		tlshd_handshake_fail(hs, status, "%s", why);
		report_here(fd, upcall, p->p_req_id, status);
		close(fd);
		tlshd_handshake_free(hs);
		return;
	}
	tlshd_workers_submit(hs);
}

static void accept_tlsh(struct source *l, struct tlshd_config **cfp)
{
	while (room()) {
		struct tlshd_params p;
		int fd, ret;

		fd = accept4(l->s_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tlshd_log_err("accept on the AF_TLSH listener: %s",
					      strerror(errno));
			return;
		}
		ret = tlshd_upcall_read_params(fd, &p);
		if (ret < 0) {
			tlshd_log_err("req=%llu: reading the request parameters: %s",
				      (unsigned long long)p.p_req_id,
				      strerror(-ret));
			tlshd_upcall_report(fd, p.p_req_id, EINVAL, 0, false,
					    false);
			close(fd);
			continue;
		}
		hand_over(fd, &p, TLSHD_UPCALL_TLSH, cfp);
	}
	mute_listeners(true);
}

/*
 * Take netlink requests while there is room.  A READY may stand for
 * several requests, and another agent may take some: accept until the
 * kernel says none is left (EAGAIN), or go on when room frees up.
 */
static void accept_netlink(struct tlshd_config **cfp)
{
	while (nl_pending && room()) {
		struct tlshd_params p;
		int fd, ret;

		ret = tlshd_netlink_accept(&nl_cmd, &fd, &p);
		if (ret == TLSHD_NL_REFUSED)
			continue;
		if (ret <= 0) {
			nl_pending = false;
			return;
		}
		p.p_req_id = ++nl_req_id;
		hand_over(fd, &p, TLSHD_UPCALL_NETLINK, cfp);
	}
}

static int watch(struct source *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, s->s_fd, &ev) < 0 ? -errno : 0;
}

/* Before any worker exists, so that every thread has them blocked. */
static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	sigsrc.s_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigsrc.s_fd < 0)
		return -errno;
	return watch(&sigsrc);
}

static void reload(struct tlshd_config **cfp, const char *path)
{
	struct tlshd_config *cf;
	char err[512];

	cf = tlshd_config_load(path, err, sizeof(err));
	if (cf && tlshd_config_load_creds(cf, err, sizeof(err)) < 0) {
		tlshd_config_put(cf);
		cf = NULL;
	}
	if (!cf) {
		tlshd_log_err("reload failed, keeping the old configuration: %s",
			      err);
		return;
	}
	tlshd_config_log_warnings(cf);
	tlshd_log_set_level(cf->cf_loglevel, cf->cf_tls_debug);
	__atomic_store_n(&tlshd_netlink_debug, cf->cf_nl_debug,
			 __ATOMIC_RELAXED);
	tlshd_keyring_link_session(cf);
	/* Handshakes in flight keep their reference to the old one. */
	tlshd_config_put(*cfp);
	*cfp = cf;
	trim_pending = true;
	tlshd_log(TLSHD_LOG_NOTICE, "configuration reloaded from %s (%u handshakes in flight)",
		  path, tlshd_workers_inflight());
}

/* Returns the signal that ends the loop (SIGTERM, SIGINT), 0 if none. */
static int handle_signals(struct tlshd_config **cfp, const char *path)
{
	struct signalfd_siginfo si;

	while (read(sigsrc.s_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(cfp, path);
		else
			return (int)si.ssi_signo;
	}
	return 0;
}

static int open_netlink(struct tlshd_nl_family *fam)
{
	char why[256];
	int ret;

	ret = tlshd_netlink_probe(fam, why, sizeof(why));
	if (!ret)
		ret = tlshd_netlink_open(&nl_cmd, fam, false, why,
					 sizeof(why));
	if (!ret)
		ret = tlshd_netlink_open(&nl_notify, fam, true, why,
					 sizeof(why));
	if (ret < 0) {
		tlshd_log_err("netlink handshake upcall: %s", why);
		return ret;
	}
	nlsrc.s_fd = nl_notify.nl_fd;
	ret = watch(&nlsrc);
	if (ret < 0) {
		tlshd_log_err("epoll: %s", strerror(-ret));
		return ret;
	}
	/* requests queued before we joined sent their READY to nobody */
	nl_pending = true;
	tlshd_log_info("listening for netlink handshake requests (family %u, group %u)",
		       fam->nf_family, fam->nf_group);
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const char *upcall_names(unsigned int upcalls)
{
	if (upcalls == (TLSHD_UPCALL_TLSH | TLSHD_UPCALL_NETLINK))
		return "AF_TLSH and netlink";
	return upcalls == TLSHD_UPCALL_TLSH ? "AF_TLSH" : "netlink";
}

static void close_all(void)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (listeners[i].s_fd >= 0) {
			close(listeners[i].s_fd);
			listeners[i].s_fd = -1;
		}
	tlshd_netlink_close(&nl_notify);
	tlshd_netlink_close(&nl_cmd);
	nlsrc.s_fd = -1;
	if (sigsrc.s_fd >= 0)
		close(sigsrc.s_fd);
	if (wakesrc.s_fd >= 0)
		close(wakesrc.s_fd);
	if (epfd >= 0)
		close(epfd);
	tlshd_live_close();
	sigsrc.s_fd = wakesrc.s_fd = epfd = livesrc.s_fd = -1;
}

/* epoll, the wake-up eventfd, signals and the upcall sockets; 0 or -1 */
static int open_sources(unsigned int upcalls, struct tlshd_nl_family *fam)
{
	int ret;

	raise_nofile();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	wakesrc.s_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || wakesrc.s_fd < 0 || watch(&wakesrc) < 0) {
		tlshd_log_err("epoll/eventfd: %s", strerror(errno));
		return -1;
	}
	ret = open_signals();
	if (ret < 0) {
		tlshd_log_err("signalfd: %s", strerror(-ret));
		return -1;
	}
	livesrc.s_fd = tlshd_live_open();
	if (livesrc.s_fd < 0 || watch(&livesrc) < 0) {
		tlshd_log_err("epoll for kept sessions: %s", strerror(errno));
		return -1;
	}
	if (upcalls & TLSHD_UPCALL_TLSH) {
		listeners[0].s_fd = tlshd_upcall_listen(AF_INET);
		listeners[1].s_fd = tlshd_upcall_listen(AF_INET6);
		if ((listeners[0].s_fd < 0 && listeners[1].s_fd < 0) ||
		    (listeners[0].s_fd >= 0 && watch(&listeners[0]) < 0) ||
		    (listeners[1].s_fd >= 0 && watch(&listeners[1]) < 0))
			return -1;
	}
	if ((upcalls & TLSHD_UPCALL_NETLINK) && open_netlink(fam) < 0)
		return -1;
	return 0;
}

/* One epoll event; a signal that ends tlshd, or 0 */
static int dispatch_event(void *ptr, struct tlshd_config **cfp,
			  const char *config_path)
{
	uint64_t junk;

	if (ptr == &listeners[0] || ptr == &listeners[1])
		accept_tlsh(ptr, cfp);
	else if (ptr == &nlsrc && tlshd_netlink_ready(&nl_notify) > 0)
		nl_pending = true;
	else if (ptr == &sigsrc)
		return handle_signals(cfp, config_path);
	else if (ptr == &livesrc)
		tlshd_live_reap();
	else if (ptr == &wakesrc &&
		 read(wakesrc.s_fd, &junk, sizeof(junk)) < 0 &&
		 errno != EAGAIN)
		tlshd_log_err("eventfd read: %s", strerror(errno));
	return 0;
}

/*
 * While server sessions are kept for CRL checks: the files looked at every
 * TLSHD_LIVE_CHECK_MS (read again when changed), and credentials that the
 * kept sessions were not checked against yet (read again here, by a
 * handshake, or by SIGHUP) checked at once.  *@checked holds a reference
 * to the configuration they were last checked against.
 */
static void check_live(struct tlshd_config **cfp,
		       struct tlshd_config **checked, uint64_t *next_ms)
{
	uint64_t now = tlshd_now_ms();

	if (!tlshd_live_count() || (now < *next_ms && *checked == *cfp))
		return;
	*next_ms = now + TLSHD_LIVE_CHECK_MS;
	fresh_config(cfp);
	if (*cfp == *checked)
		return;
	tlshd_live_check(*cfp);
	tlshd_config_put(*checked);
	*checked = tlshd_config_get(*cfp);
}

static int loop_timeout(void)
{
	int ms = trim_pending && !tlshd_workers_inflight() ? TRIM_IDLE_MS : -1;

	if (tlshd_live_count() && (ms < 0 || ms > TLSHD_LIVE_CHECK_MS))
		ms = TLSHD_LIVE_CHECK_MS;
	return ms;
}

/* Until a signal ends it: requests to workers, room made, memory trimmed */
static int dispatch_loop(struct tlshd_config **cfp, const char *config_path)
{
	struct epoll_event evs[MAX_EVENTS];
	struct tlshd_config *checked = NULL;
	uint64_t next_check = 0;
	int sig = 0, n, i;

	while (!sig) {
		if (nl_pending && room())
			accept_netlink(cfp);
		n = epoll_wait(epfd, evs, MAX_EVENTS, loop_timeout());
		if (n < 0 && errno != EINTR) {
			tlshd_log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			int s = dispatch_event(evs[i].data.ptr, cfp,
					       config_path);

			if (s)
				sig = s;
		}
		if (room())
			mute_listeners(false);
		if (tlshd_workers_freed())
			trim_pending = true;
		if (!n && trim_pending && !tlshd_workers_inflight()) {
			malloc_trim(0);
			trim_pending = false;
		}
		check_live(cfp, &checked, &next_check);
	}
	tlshd_config_put(checked);
	return sig;
}

int tlshd_dispatch_run(struct tlshd_config **cfp, const char *config_path,
		       unsigned int upcalls, unsigned int nworkers)
{
	struct tlshd_nl_family fam;
	int sig, ret = 1;

	if (open_sources(upcalls, &fam) < 0)
		goto out;
	if (tlshd_workers_start(nworkers, (upcalls & TLSHD_UPCALL_NETLINK) ?
				&fam : NULL, wakesrc.s_fd) < 0)
		goto out_workers;
	tlshd_log(TLSHD_LOG_NOTICE, "tlshd %s ready (config %s, upcall %s, %u worker%s)",
		  TLSHD_VERSION, config_path, upcall_names(upcalls), nworkers,
		  nworkers == 1 ? "" : "s");
	sig = dispatch_loop(cfp, config_path);
	if (sig)
		tlshd_log(TLSHD_LOG_NOTICE, "exiting on signal %d, failing %u handshakes in flight",
			  sig, tlshd_workers_inflight());
	/* no new requests; then every worker fails what it holds (EIO) */
	mute_listeners(true);
	ret = 0;
out_workers:
	tlshd_workers_stop();
out:
	close_all();
	return ret;
}
