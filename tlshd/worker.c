// SPDX-License-Identifier: GPL-2.0
/*
 * Workers: the threads that run handshakes.
 *
 * Each worker owns an epoll set, the handshakes it was given, their
 * deadlines and (when the netlink upcall is served) a netlink socket for
 * its DONE reports; it shares nothing with the other workers.  The
 * dispatcher (dispatch.c, the main thread) takes each request from the
 * kernel and hands it, as a struct tlshd_handshake not yet started, to the
 * worker with the fewest handshakes: through that worker's inbox (a list
 * under a mutex held for two pointer moves) and an eventfd that wakes it.
 * The worker starts it, steps it whenever its socket is ready in the
 * direction GnuTLS asked for, and when it ends reports it to the kernel,
 * closes the socket and frees it.
 *
 * So N workers run N handshakes' crypto at once; a slow or silent peer
 * costs one worker nothing but a file descriptor and a deadline; and the
 * dispatcher, which does no crypto, keeps taking requests while every
 * worker computes (mainline's kernel holds only a handful of unaccepted
 * requests per network namespace before it refuses new ones).
 *
 * Counts are atomics: per worker (read by the dispatcher to choose) and in
 * total (at MAX_INFLIGHT the dispatcher stops taking requests until a
 * worker ends one and writes the dispatcher's eventfd).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "tlshd.h"

#define MAX_EVENTS	64

struct tlshd_worker {
	pthread_t		w_thread;
	unsigned int		w_id;
	int			w_epfd;
	int			w_wake;		/* eventfd: inbox or stop */
	pthread_mutex_t		w_lock;		/* guards w_inbox */
	struct tlshd_handshake	*w_inbox;	/* handed over, not started */
	struct tlshd_handshake	*w_inflight;
	unsigned int		w_count;	/* atomic: inbox + in flight */
	struct tlshd_nl		w_nl;		/* its DONE reports */
	bool			w_stop;		/* atomic */
	bool			w_started;
};

static struct tlshd_worker *workers;
static unsigned int nworkers, next_pick;
static unsigned int total;		/* atomic: handshakes given out */
static bool freed;			/* atomic: memory given back since */
static int dispatcher_wake = -1;

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		tlshd_log_err("eventfd write: %s", strerror(errno));
}

/* Report the outcome, close the socket, free it. */
static void complete(struct tlshd_worker *w, struct tlshd_handshake *hs)
{
	int status = tlshd_status_check(hs->hs_status,
					hs->hs_params.p_req_id);
	unsigned int prev;

	if (hs->hs_upcall == TLSHD_UPCALL_NETLINK)
		tlshd_netlink_done(&w->w_nl, hs->hs_fd, status,
				   hs->hs_peer_auth ? hs->hs_peerid : 0);
	else {
		if (!status && hs->hs_peer_auth)
			tlshd_upcall_report_anchor(hs->hs_fd,
						   hs->hs_params.p_req_id,
						   hs->hs_peer_anchor);
		tlshd_upcall_report(hs->hs_fd, hs->hs_params.p_req_id, status,
				    hs->hs_peerid, hs->hs_peer_auth,
				    hs->hs_alpn_none);
	}
	if (hs->hs_events)
		epoll_ctl(w->w_epfd, EPOLL_CTL_DEL, hs->hs_fd, NULL);
	if (hs->hs_prev)
		hs->hs_prev->hs_next = hs->hs_next;
	else if (w->w_inflight == hs)
		w->w_inflight = hs->hs_next;
	if (hs->hs_next)
		hs->hs_next->hs_prev = hs->hs_prev;
	close(hs->hs_fd);
	tlshd_handshake_free(hs);
	__atomic_sub_fetch(&w->w_count, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&freed, true, __ATOMIC_RELAXED);
	/* the dispatcher waits for room, or for the last one to trim */
	prev = __atomic_fetch_sub(&total, 1, __ATOMIC_ACQ_REL);
	if (prev == TLSHD_MAX_INFLIGHT || prev == 1)
		wake(dispatcher_wake);
}

/* Wait for the direction GnuTLS asked for. */
static int arm(struct tlshd_worker *w, struct tlshd_handshake *hs)
{
	struct epoll_event ev = {
		.events = hs->hs_want_write ? EPOLLOUT : EPOLLIN,
		.data.ptr = hs,
	};
	int op = hs->hs_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (hs->hs_events == ev.events)
		return 0;
	if (epoll_ctl(w->w_epfd, op, hs->hs_fd, &ev) < 0)
		return -errno;
	hs->hs_events = ev.events;
	return 0;
}

static void start(struct tlshd_worker *w, struct tlshd_handshake *hs)
{
	int ret;

	hs->hs_next = hs->hs_prev = NULL;
	if (tlshd_handshake_start(hs)) {
		complete(w, hs);
		return;
	}
	ret = arm(w, hs);
	if (ret < 0) {
		tlshd_handshake_fail(hs, EIO, "epoll: %s", strerror(-ret));
		complete(w, hs);
		return;
	}
	hs->hs_next = w->w_inflight;
	if (w->w_inflight)
		w->w_inflight->hs_prev = hs;
	w->w_inflight = hs;
}

static void take_inbox(struct tlshd_worker *w)
{
	struct tlshd_handshake *list, *hs, *oldest = NULL;
	uint64_t n;

	if (read(w->w_wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
		tlshd_log_err("worker %u: eventfd read: %s", w->w_id,
			      strerror(errno));
	pthread_mutex_lock(&w->w_lock);
	list = w->w_inbox;
	w->w_inbox = NULL;
	pthread_mutex_unlock(&w->w_lock);
	/* the inbox is newest first: start the oldest first */
	while (list) {
		hs = list;
		list = hs->hs_next;
		hs->hs_next = oldest;
		oldest = hs;
	}
	while (oldest) {
		hs = oldest;
		oldest = hs->hs_next;
		start(w, hs);
	}
}

static int next_timeout(const struct tlshd_worker *w)
{
	uint64_t now = tlshd_now_ms(), min = UINT64_MAX;
	const struct tlshd_handshake *hs;

	for (hs = w->w_inflight; hs; hs = hs->hs_next)
		if (hs->hs_deadline_ms < min)
			min = hs->hs_deadline_ms;
	if (min == UINT64_MAX)
		return -1;
	return min <= now ? 0 : (int)(min - now > 60000 ? 60000 : min - now);
}

static void expire(struct tlshd_worker *w)
{
	uint64_t now = tlshd_now_ms();
	struct tlshd_handshake *hs, *next;

	for (hs = w->w_inflight; hs; hs = next) {
		next = hs->hs_next;
		if (hs->hs_deadline_ms <= now) {
			tlshd_handshake_timeout(hs);
			complete(w, hs);
		}
	}
}

static void forget(struct epoll_event *evs, int from, int n, void *ptr)
{
	for (; from < n; from++)
		if (evs[from].data.ptr == ptr)
			evs[from].data.ptr = NULL;
}

static void *run(void *arg)
{
	struct tlshd_worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];
	int n, i, ret;

	while (!__atomic_load_n(&w->w_stop, __ATOMIC_ACQUIRE)) {
		n = epoll_wait(w->w_epfd, evs, MAX_EVENTS, next_timeout(w));
		if (n < 0 && errno != EINTR) {
			tlshd_log_err("worker %u: epoll_wait: %s", w->w_id,
				      strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct tlshd_handshake *hs = evs[i].data.ptr;

			if (!hs)
				continue;
			if (evs[i].data.ptr == &w->w_wake) {
				take_inbox(w);
				continue;
			}
			if (tlshd_handshake_step(hs)) {
				complete(w, hs);
				forget(evs, i + 1, n, hs);	/* freed */
			} else if ((ret = arm(w, hs)) < 0) {
				tlshd_handshake_fail(hs, EIO, "epoll: %s",
						     strerror(-ret));
				complete(w, hs);
				forget(evs, i + 1, n, hs);
			}
		}
		expire(w);
	}

	/* stopping: what was handed over and what runs fails with EIO */
	take_inbox(w);
	while (w->w_inflight) {
		struct tlshd_handshake *hs = w->w_inflight;

		tlshd_handshake_fail(hs, EIO, "tlshd is shutting down");
		complete(w, hs);
	}
	return NULL;
}

/*
 * How many workers by default: one per CPU this process may run on (its
 * affinity mask, so a cpuset or taskset is honoured).
 */
unsigned int tlshd_workers_default(void)
{
	cpu_set_t set;
	long n;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return (unsigned int)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned int)n : 1;
}

int tlshd_workers_start(unsigned int n, const struct tlshd_nl_family *fam,
			int wake_fd)
{
	char why[256];
	unsigned int i;
	int ret;

	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	nworkers = n;
	dispatcher_wake = wake_fd;
	for (i = 0; i < n; i++) {
		workers[i].w_epfd = workers[i].w_wake = -1;
		workers[i].w_nl.nl_fd = -1;
		pthread_mutex_init(&workers[i].w_lock, NULL);
	}
	for (i = 0; i < n; i++) {
		struct tlshd_worker *w = &workers[i];
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &w->w_wake };

		w->w_id = i;
		w->w_epfd = epoll_create1(EPOLL_CLOEXEC);
		w->w_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->w_epfd < 0 || w->w_wake < 0 ||
		    epoll_ctl(w->w_epfd, EPOLL_CTL_ADD, w->w_wake, &ev) < 0) {
			ret = -errno;
			tlshd_log_err("worker %u: %s", i, strerror(-ret));
			return ret;
		}
		if (fam) {
			ret = tlshd_netlink_open(&w->w_nl, fam, false, why,
						 sizeof(why));
			if (ret < 0) {
				tlshd_log_err("worker %u: netlink: %s", i, why);
				return ret;
			}
		}
		ret = pthread_create(&w->w_thread, NULL, run, w);
		if (ret) {
			tlshd_log_err("worker %u: pthread_create: %s", i,
				      strerror(ret));
			return -ret;
		}
		w->w_started = true;
	}
	return 0;
}

/* Give @hs (made by tlshd_handshake_new, not started) to a worker. */
void tlshd_workers_submit(struct tlshd_handshake *hs)
{
	/* the fewest handshakes; ties go round, from next_pick */
	struct tlshd_worker *w = &workers[next_pick % nworkers];
	unsigned int i, best = __atomic_load_n(&w->w_count, __ATOMIC_RELAXED);

	for (i = 1; i < nworkers; i++) {
		struct tlshd_worker *c = &workers[(next_pick + i) % nworkers];
		unsigned int load = __atomic_load_n(&c->w_count,
						    __ATOMIC_RELAXED);

		if (load < best) {
			best = load;
			w = c;
		}
	}
	next_pick = (next_pick + 1) % nworkers;
	__atomic_add_fetch(&w->w_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&w->w_lock);
	hs->hs_next = w->w_inbox;
	w->w_inbox = hs;
	pthread_mutex_unlock(&w->w_lock);
	wake(w->w_wake);
}

unsigned int tlshd_workers_inflight(void)
{
	return __atomic_load_n(&total, __ATOMIC_ACQUIRE);
}

/* Has memory been given back since the last call? */
bool tlshd_workers_freed(void)
{
	return __atomic_exchange_n(&freed, false, __ATOMIC_RELAXED);
}

/* Stop every worker: each fails what it holds with EIO, then exits. */
void tlshd_workers_stop(void)
{
	unsigned int i;

	for (i = 0; i < nworkers; i++) {
		__atomic_store_n(&workers[i].w_stop, true, __ATOMIC_RELEASE);
		if (workers[i].w_wake >= 0)
			wake(workers[i].w_wake);
	}
	for (i = 0; i < nworkers; i++) {
		struct tlshd_worker *w = &workers[i];

		if (w->w_started)
			pthread_join(w->w_thread, NULL);
		tlshd_netlink_close(&w->w_nl);
		if (w->w_wake >= 0)
			close(w->w_wake);
		if (w->w_epfd >= 0)
			close(w->w_epfd);
		pthread_mutex_destroy(&w->w_lock);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}
