// SPDX-License-Identifier: GPL-2.0
/*
 * The upcalls and the event loop.
 *
 * Process model: one process, one thread, one epoll set.  It holds
 *   - with AF_TLSH (rpctls' kernel): two listeners (AF_INET and AF_INET6)
 *     in our network namespace; each accept() hands us a consumer's
 *     connected TCP socket and getsockopt(SOL_TLSH) its parameters;
 *   - with mainline's netlink upcall (Linux 6.5+, netlink.c): a socket in
 *     the "tlshd" multicast group; a READY notification means requests
 *     wait, and each ACCEPT takes one: its socket and parameters;
 *   - a signalfd for SIGHUP (reload), SIGTERM and SIGINT (exit);
 *   - every handshake in flight: a non-blocking GnuTLS session on the
 *     consumer's socket, stepped only when that socket is ready in the
 *     direction GnuTLS asked for.
 * Requests from either upcall become the same struct tlshd_handshake; only
 * the report at the end differs (setsockopt TLSH_RESULT, or netlink DONE).
 * So a slow or silent peer only ever costs its own memory and file
 * descriptor, never another handshake's time.  Each handshake carries the
 * kernel's timeout as a deadline; the epoll timeout is the nearest
 * deadline.  At most MAX_INFLIGHT handshakes run at once: beyond that the
 * listeners are muted and requests wait in the kernel (where the kernel's
 * own timeout still applies).
 *
 * A finished handshake is reported and its socket closed.  After a second
 * with nothing in flight the heap the handshakes (or a configuration
 * replaced by SIGHUP) left free is given back to the kernel (malloc_trim),
 * so a burst does not leave the idle daemon big.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "tlshd.h"

#define MAX_INFLIGHT	4096
#define MAX_EVENTS	64
#define TRIM_IDLE_MS	1000

struct listener {
	int	l_fd;
	int	l_family;
	bool	l_muted;
};

static struct listener listeners[2];
static struct listener sigsrc;
static struct listener nlsrc = { .l_fd = -1 };	/* netlink notifications */
static struct tlshd_nl nl_cmd = { .nl_fd = -1 };	/* ACCEPT and DONE */
static struct tlshd_nl nl_notify = { .nl_fd = -1 };
static bool nl_pending;		/* netlink requests may be waiting */
static uint64_t nl_req_id;
static struct tlshd_handshake *inflight;
static unsigned int ninflight;
static int epfd = -1;
static bool trim_pending;	/* memory was freed since the last trim */

static int get_opt(int fd, int opt, void *val, socklen_t len,
		   socklen_t *outlen)
{
	socklen_t l = len;

	if (getsockopt(fd, SOL_TLSH, opt, val, &l) < 0)
		return -errno;
	if (outlen)
		*outlen = l;
	else if (l != len)
		return -EINVAL;
	return 0;
}

int tlshd_upcall_read_params(int fd, struct tlshd_params *p)
{
	socklen_t len = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = get_opt(fd, TLSH_REQ_ID, &p->p_req_id, sizeof(p->p_req_id),
		      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_TYPE, &p->p_type, sizeof(p->p_type),
			      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_FLAGS, &p->p_flags, sizeof(p->p_flags),
			      NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_TIMEOUT_MS, &p->p_timeout_ms,
			      sizeof(p->p_timeout_ms), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_X509_CERT, &p->p_cert,
			      sizeof(p->p_cert), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_PRIVKEY, &p->p_privkey,
			      sizeof(p->p_privkey), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_KEYRING, &p->p_keyring,
			      sizeof(p->p_keyring), NULL);
	if (!ret)
		ret = get_opt(fd, TLSH_PEERNAME, p->p_peername,
			      sizeof(p->p_peername) - 1, &len);
	if (!ret)
		ret = get_opt(fd, TLSH_PRIORITIES, p->p_priorities,
			      sizeof(p->p_priorities) - 1, &len);
	if (!ret) {
		ret = get_opt(fd, TLSH_PSK_IDS, p->p_psk_ids,
			      sizeof(p->p_psk_ids), &len);
		p->p_npsk = len / sizeof(p->p_psk_ids[0]);
	}
	p->p_peername[sizeof(p->p_peername) - 1] = '\0';
	p->p_priorities[sizeof(p->p_priorities) - 1] = '\0';
	return ret;
}

bool tlshd_upcall_tlsh_present(void)
{
	int fd = socket(AF_TLSH, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno != EAFNOSUPPORT;
	close(fd);
	return true;
}

static void report_tlsh(int fd, uint64_t req_id, int status, int32_t peerid,
			bool auth, bool alpn_none)
{
	struct tlsh_result r = {
		.status = status,
		.peerid = status ? 0 : peerid,
	};

	if (!status && auth)
		r.flags |= TLSH_RESULT_F_PEER_AUTHENTICATED;
	if (!status && alpn_none)
		r.flags |= TLSH_RESULT_F_NO_ALPN;

	if (setsockopt(fd, SOL_TLSH, TLSH_RESULT, &r, sizeof(r)) < 0)
		tlshd_log_warn("req=%llu: reporting the result failed: %s",
			       (unsigned long long)req_id, strerror(errno));
}

static void report(const struct tlshd_handshake *hs)
{
	int status = tlshd_status_check(hs->hs_status,
					hs->hs_params.p_req_id);

	if (hs->hs_upcall == TLSHD_UPCALL_NETLINK)
		tlshd_netlink_done(&nl_cmd, hs->hs_fd, status,
				   hs->hs_peer_auth ? hs->hs_peerid : 0);
	else
		report_tlsh(hs->hs_fd, hs->hs_params.p_req_id, status,
			    hs->hs_peerid, hs->hs_peer_auth, hs->hs_alpn_none);
}

static void mute_listeners(bool mute)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = mute ? 0 : EPOLLIN,
					  .data.ptr = &listeners[i] };

		if (listeners[i].l_fd < 0 || listeners[i].l_muted == mute)
			continue;
		epoll_ctl(epfd, EPOLL_CTL_MOD, listeners[i].l_fd, &ev);
		listeners[i].l_muted = mute;
	}
}

static void complete(struct tlshd_handshake *hs)
{
	bool listed = hs->hs_prev || hs->hs_next || inflight == hs;

	report(hs);
	if (hs->hs_events)
		epoll_ctl(epfd, EPOLL_CTL_DEL, hs->hs_fd, NULL);
	if (hs->hs_prev)
		hs->hs_prev->hs_next = hs->hs_next;
	else if (inflight == hs)
		inflight = hs->hs_next;
	if (hs->hs_next)
		hs->hs_next->hs_prev = hs->hs_prev;
	if (listed)
		ninflight--;
	close(hs->hs_fd);
	tlshd_handshake_free(hs);
	trim_pending = true;
	if (ninflight < MAX_INFLIGHT)
		mute_listeners(false);
}

static void accept_netlink(struct tlshd_config **cfp);

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

/* Wait for the direction GnuTLS asked for. */
static int arm(struct tlshd_handshake *hs)
{
	struct epoll_event ev = {
		.events = hs->hs_want_write ? EPOLLOUT : EPOLLIN,
		.data.ptr = hs,
	};
	int op = hs->hs_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (hs->hs_events == ev.events)
		return 0;
	if (epoll_ctl(epfd, op, hs->hs_fd, &ev) < 0)
		return -errno;
	hs->hs_events = ev.events;
	return 0;
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

static void new_request(int fd, struct tlshd_params *p,
			enum tlshd_upcall upcall, struct tlshd_config *cf)
{
	struct tlshd_handshake *hs;
	int ret;

	hs = tlshd_handshake_new(fd, p, cf);
	if (!hs) {
		tlshd_log_err("req=%llu: out of memory",
			      (unsigned long long)p->p_req_id);
		if (upcall == TLSHD_UPCALL_NETLINK)
			tlshd_netlink_done(&nl_cmd, fd, ENOMEM, 0);
		else
			report_tlsh(fd, p->p_req_id, ENOMEM, 0, false, false);
		close(fd);
		return;
	}
	hs->hs_upcall = upcall;
	tlshd_log_debug("req=%llu: %s handshake with %s (%s), timeout %u ms",
			(unsigned long long)p->p_req_id,
			tlshd_log_type_name(p->p_type), hs->hs_peeraddr,
			p->p_peername, p->p_timeout_ms);
	if (upcall == TLSHD_UPCALL_NETLINK) {
		char why[160];
		int status = check_transport(fd, why, sizeof(why));

		if (status) {
			tlshd_handshake_fail(hs, status, "%s", why);
			complete(hs);
			return;
		}
	}
	if (tlshd_handshake_start(hs)) {
		complete(hs);
		return;
	}
	ret = arm(hs);
	if (ret < 0) {
		tlshd_handshake_fail(hs, EIO, "epoll: %s", strerror(-ret));
		complete(hs);
		return;
	}
	hs->hs_next = inflight;
	if (inflight)
		inflight->hs_prev = hs;
	inflight = hs;
	ninflight++;
	if (ninflight >= MAX_INFLIGHT)
		mute_listeners(true);
}

static void new_tlsh_request(int fd, struct tlshd_config *cf)
{
	struct tlshd_params p;
	int ret;

	ret = tlshd_upcall_read_params(fd, &p);
	if (ret < 0) {
		tlshd_log_err("req=%llu: reading the request parameters: %s",
			      (unsigned long long)p.p_req_id, strerror(-ret));
		report_tlsh(fd, p.p_req_id, EINVAL, 0, false, false);
		close(fd);
		return;
	}
	new_request(fd, &p, TLSHD_UPCALL_TLSH, cf);
}

/*
 * Take netlink requests while there is room.  A READY may stand for
 * several requests, and another agent may take some: accept until the
 * kernel says none is left (EAGAIN), or remember to go on when a
 * handshake ends.
 */
static void accept_netlink(struct tlshd_config **cfp)
{
	while (nl_pending && ninflight < MAX_INFLIGHT) {
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
		new_request(fd, &p, TLSHD_UPCALL_NETLINK, fresh_config(cfp));
	}
}

static void accept_all(struct listener *l, struct tlshd_config **cfp)
{
	for (;;) {
		int fd = accept4(l->l_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tlshd_log_err("accept on the AF_TLSH listener: %s",
					      strerror(errno));
			return;
		}
		new_tlsh_request(fd, fresh_config(cfp));
		if (ninflight >= MAX_INFLIGHT)
			return;
	}
}

static int open_listener(struct listener *l, int family)
{
	struct sockaddr_tlsh sa = {
		.tlsh_sa_family = AF_TLSH,
		.tlsh_family = (uint16_t)family,
	};
	const char *fam = family == AF_INET ? "AF_INET" : "AF_INET6";
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	int fd;

	l->l_fd = -1;
	l->l_family = family;
	fd = socket(AF_TLSH, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;

		tlshd_log_err("socket(AF_TLSH): %s%s", strerror(e),
			      e == EAFNOSUPPORT ?
			      " (this kernel has no AF_TLSH handshake upcall: is the tlsh module loaded?)" :
			      "");
		return -e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		tlshd_log_err("bind(AF_TLSH, %s): %s%s", fam, strerror(e),
			      e == EADDRINUSE ?
			      " (another agent already serves this network namespace)" :
			      e == EPERM || e == EACCES ?
			      " (needs CAP_NET_ADMIN in this network namespace)" :
			      "");
		close(fd);
		return -e;
	}
	if (listen(fd, SOMAXCONN) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		tlshd_log_err("listen(AF_TLSH, %s): %s", fam, strerror(e));
		close(fd);
		return -e;
	}
	l->l_fd = fd;
	tlshd_log_info("listening for %s handshake requests", fam);
	return 0;
}

static int open_signals(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sigsrc };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sigsrc.l_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigsrc.l_fd < 0)
		return -errno;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigsrc.l_fd, &ev) < 0)
		return -errno;
	return 0;
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
	tlshd_netlink_debug = cf->cf_nl_debug;
	tlshd_keyring_link_session(cf);
	/* Handshakes in flight keep their reference to the old one. */
	tlshd_config_put(*cfp);
	*cfp = cf;
	trim_pending = true;
	tlshd_log(TLSHD_LOG_NOTICE, "configuration reloaded from %s (%u handshakes in flight)",
		  path, ninflight);
}

/* Returns the signal that ended the loop (SIGTERM, SIGINT), 0 if none. */
static int handle_signals(struct tlshd_config **cfp, const char *path)
{
	struct signalfd_siginfo si;

	while (read(sigsrc.l_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(cfp, path);
		else
			return (int)si.ssi_signo;
	}
	return 0;
}

static int next_timeout(void)
{
	uint64_t now = tlshd_now_ms(), min = UINT64_MAX;
	struct tlshd_handshake *hs;

	for (hs = inflight; hs; hs = hs->hs_next)
		if (hs->hs_deadline_ms < min)
			min = hs->hs_deadline_ms;
	if (min == UINT64_MAX)
		return trim_pending ? TRIM_IDLE_MS : -1;
	return min <= now ? 0 : (int)(min - now > 60000 ? 60000 : min - now);
}

static void expire(void)
{
	uint64_t now = tlshd_now_ms();
	struct tlshd_handshake *hs, *next;

	for (hs = inflight; hs; hs = next) {
		next = hs->hs_next;
		if (hs->hs_deadline_ms <= now) {
			tlshd_handshake_timeout(hs);
			complete(hs);
		}
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_netlink(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &nlsrc };
	struct tlshd_nl_family fam;
	char why[256];
	int ret;

	ret = tlshd_netlink_probe(&fam, why, sizeof(why));
	if (!ret)
		ret = tlshd_netlink_open(&nl_cmd, &fam, false, why,
					 sizeof(why));
	if (!ret)
		ret = tlshd_netlink_open(&nl_notify, &fam, true, why,
					 sizeof(why));
	if (ret < 0) {
		tlshd_log_err("netlink handshake upcall: %s", why);
		return ret;
	}
	nlsrc.l_fd = nl_notify.nl_fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, nlsrc.l_fd, &ev) < 0) {
		ret = -errno;
		tlshd_log_err("epoll: %s", strerror(-ret));
		return ret;
	}
	/* requests queued before we joined sent their READY to nobody */
	nl_pending = true;
	tlshd_log_info("listening for netlink handshake requests (family %u, group %u)",
		       fam.nf_family, fam.nf_group);
	return 0;
}

static void forget(struct epoll_event *evs, int from, int n, void *ptr)
{
	for (; from < n; from++)
		if (evs[from].data.ptr == ptr)
			evs[from].data.ptr = NULL;
}

int tlshd_upcall_run(struct tlshd_config **cfp, const char *config_path,
		     unsigned int upcalls)
{
	struct epoll_event evs[MAX_EVENTS];
	int ret, sig = 0, n, i;

	listeners[0].l_fd = listeners[1].l_fd = -1;
	raise_nofile();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		tlshd_log_err("epoll_create1: %s", strerror(errno));
		return 1;
	}
	ret = open_signals();
	if (ret < 0) {
		tlshd_log_err("signalfd: %s", strerror(-ret));
		return 1;
	}
	if (upcalls & TLSHD_UPCALL_TLSH) {
		ret = open_listener(&listeners[0], AF_INET);
		if (ret == -EAFNOSUPPORT)
			return 1;
		ret = open_listener(&listeners[1], AF_INET6);
		if (listeners[0].l_fd < 0 && listeners[1].l_fd < 0)
			return 1;
	}
	if ((upcalls & TLSHD_UPCALL_NETLINK) && open_netlink() < 0)
		return 1;
	tlshd_log(TLSHD_LOG_NOTICE, "tlshd %s ready (config %s, upcall %s)",
		  TLSHD_VERSION, config_path,
		  upcalls == (TLSHD_UPCALL_TLSH | TLSHD_UPCALL_NETLINK) ?
		  "AF_TLSH and netlink" :
		  upcalls == TLSHD_UPCALL_TLSH ? "AF_TLSH" : "netlink");

	while (!sig) {
		if (nl_pending)
			accept_netlink(cfp);
		n = epoll_wait(epfd, evs, MAX_EVENTS, next_timeout());
		if (n < 0 && errno != EINTR) {
			tlshd_log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			struct tlshd_handshake *hs;

			if (!ptr)
				continue;
			if (ptr == &listeners[0] || ptr == &listeners[1]) {
				accept_all(ptr, cfp);
				continue;
			}
			if (ptr == &nlsrc) {
				if (tlshd_netlink_ready(&nl_notify) > 0)
					nl_pending = true;
				continue;
			}
			if (ptr == &sigsrc) {
				sig = handle_signals(cfp, config_path);
				continue;
			}
			hs = ptr;
			if (tlshd_handshake_step(hs)) {
				complete(hs);
				/* a later event may name a freed hs */
				forget(evs, i + 1, n, hs);
			} else if ((ret = arm(hs)) < 0) {
				tlshd_handshake_fail(hs, EIO, "epoll: %s",
						     strerror(-ret));
				complete(hs);
				forget(evs, i + 1, n, hs);
			}
		}
		expire();
		if (!n && !ninflight && trim_pending) {
			malloc_trim(0);
			trim_pending = false;
		}
	}

	if (sig)
		tlshd_log(TLSHD_LOG_NOTICE, "exiting on signal %d, failing %u handshakes in flight",
			  sig, ninflight);
	while (inflight) {
		struct tlshd_handshake *hs = inflight;

		tlshd_handshake_fail(hs, EIO, "tlshd is shutting down");
		complete(hs);
	}
	for (i = 0; i < 2; i++)
		if (listeners[i].l_fd >= 0)
			close(listeners[i].l_fd);
	tlshd_netlink_close(&nl_notify);
	tlshd_netlink_close(&nl_cmd);
	close(sigsrc.l_fd);
	close(epfd);
	return 0;
}
