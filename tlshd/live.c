// SPDX-License-Identifier: GPL-2.0
/*
 * Live sessions that a new CRL cuts.
 *
 * A server session whose client authenticated with a certificate lasts as
 * long as the mount: months.  A certificate checked only at the handshake
 * would let a revoked client keep its sessions until it reconnects.  So,
 * when [authenticate.server] has an x509.crl (and x509.crl_cuts_sessions
 * is not false), tlshd keeps, for each such session, a duplicate of its
 * socket and the client's certificate chain.  Each time the credentials
 * are read again (a trust store or CRL file changed on disk, SIGHUP), every
 * kept chain is verified against the new trust list; a session whose
 * certificate is now revoked is shut down in both directions.  The kernel
 * consumer sees its connection close; the client reconnects, and its next
 * handshake is refused as revoked.  Only revocation cuts a session: a
 * certificate that expires while in use does not (RFC 5280 checks a
 * certificate when it is used to authenticate, and the handshake did).
 *
 * A kept socket is forgotten as soon as the consumer closes it: the kept
 * duplicates sit in an epoll set of their own, watched by the dispatcher,
 * which sees the hang-up (EPOLLHUP, EPOLLRDHUP) and calls
 * tlshd_live_reap().  While any session is kept, the dispatcher looks at
 * the files every TLSHD_LIVE_CHECK_MS, so a new CRL takes effect without
 * waiting for a handshake.
 *
 * Workers add (tlshd_live_keep()), the dispatcher reaps and checks: one
 * lock over the list.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <gnutls/x509.h>

#include "tlshd.h"

struct tlshd_live {
	struct tlshd_live	*l_next;
	int			l_fd;		/* our duplicate */
	uint64_t		l_req_id;
	unsigned int		l_ncrts;
	gnutls_x509_crt_t	l_crts[TLSHD_MAX_CHAIN];
	char			l_who[320];	/* "subject (address)" */
};

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlshd_live *live_head;
static unsigned int live_count;
static int live_epfd = -1;
static bool live_full_said;

int tlshd_live_open(void)
{
	live_epfd = epoll_create1(EPOLL_CLOEXEC);
	return live_epfd < 0 ? -errno : live_epfd;
}

static void live_free(struct tlshd_live *l)
{
	unsigned int i;

	if (l->l_fd >= 0) {
		/* the consumer holds the file too: remove it from the set */
		epoll_ctl(live_epfd, EPOLL_CTL_DEL, l->l_fd, NULL);
		close(l->l_fd);
	}
	for (i = 0; i < l->l_ncrts; i++)
		gnutls_x509_crt_deinit(l->l_crts[i]);
	free(l);
}

/* The chain as the peer sent it, leaf first; 0 or -errno */
static int live_import(struct tlshd_live *l, const gnutls_datum_t *chain,
		       unsigned int n)
{
	if (n > TLSHD_MAX_CHAIN)
		n = TLSHD_MAX_CHAIN;
	for (l->l_ncrts = 0; l->l_ncrts < n; l->l_ncrts++) {
		gnutls_x509_crt_t *crt = &l->l_crts[l->l_ncrts];

		if (gnutls_x509_crt_init(crt) < 0)
			return -ENOMEM;
		if (gnutls_x509_crt_import(*crt, &chain[l->l_ncrts],
					   GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(*crt);
			return -EINVAL;
		}
	}
	return n ? 0 : -EINVAL;
}

int tlshd_live_keep(int fd, const gnutls_datum_t *chain, unsigned int n,
		    uint64_t req_id, const char *who)
{
	struct epoll_event ev = { .events = EPOLLRDHUP };
	struct tlshd_live *l;
	int ret;

	if (live_epfd < 0)
		return -EBADF;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->l_fd = -1;
	l->l_req_id = req_id;
	snprintf(l->l_who, sizeof(l->l_who), "%s", who);
	ret = live_import(l, chain, n);
	if (ret)
		goto out_free;
	pthread_mutex_lock(&live_lock);
	if (live_count >= TLSHD_LIVE_MAX) {
		if (!live_full_said)
			tlshd_log_warn("%u sessions kept for CRL checks: more are not kept, a CRL cannot cut them",
				       live_count);
		live_full_said = true;
		ret = -ENOSPC;
		goto out_unlock;
	}
	l->l_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ev.data.ptr = l;
	if (l->l_fd < 0 ||
	    epoll_ctl(live_epfd, EPOLL_CTL_ADD, l->l_fd, &ev) < 0) {
		ret = -errno;
		goto out_unlock;
	}
	l->l_next = live_head;
	live_head = l;
	live_count++;
	pthread_mutex_unlock(&live_lock);
	return 0;

out_unlock:
	pthread_mutex_unlock(&live_lock);
out_free:
	live_free(l);
	return ret;
}

/* A worker, after a server handshake that verified a client certificate */
void tlshd_live_add(struct tlshd_handshake *hs)
{
	const struct tlshd_auth_conf *ac = &hs->hs_config->cf_server;
	const gnutls_datum_t *peers;
	unsigned int n = 0;
	char who[320];
	int ret;

	if (!ac->ac_crl || ac->ac_crl_cuts == 0)
		return;
	peers = gnutls_certificate_get_peers(hs->hs_session, &n);
	if (!peers || !n)
		return;
	snprintf(who, sizeof(who), "%s (%s)", hs->hs_peer_subject,
		 hs->hs_peeraddr);
	ret = tlshd_live_keep(hs->hs_fd, peers, n, hs->hs_params.p_req_id, who);
	if (ret && ret != -ENOSPC)
		tlshd_log_warn("req=%llu: session of %s not kept for CRL checks: %s",
			       (unsigned long long)hs->hs_params.p_req_id, who,
			       strerror(-ret));
}

static void live_unlink(struct tlshd_live *l)
{
	struct tlshd_live **pp;

	for (pp = &live_head; *pp; pp = &(*pp)->l_next)
		if (*pp == l) {
			*pp = l->l_next;
			live_count--;
			return;
		}
}

/* The dispatcher, when the set is readable: forget what hung up. */
void tlshd_live_reap(void)
{
	struct epoll_event evs[64];
	int n, i;

	pthread_mutex_lock(&live_lock);
	do {
		n = epoll_wait(live_epfd, evs, 64, 0);
		for (i = 0; i < n; i++) {
			struct tlshd_live *l = evs[i].data.ptr;

			tlshd_log_debug("req=%llu: session of %s closed, no longer kept",
					(unsigned long long)l->l_req_id,
					l->l_who);
			live_unlink(l);
			live_free(l);
		}
	} while (n == 64);
	pthread_mutex_unlock(&live_lock);
}

unsigned int tlshd_live_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&live_lock);
	n = live_count;
	pthread_mutex_unlock(&live_lock);
	return n;
}

/* Is @l's chain revoked under @tl?  Only revocation counts. */
static bool live_revoked(const struct tlshd_live *l,
			 gnutls_x509_trust_list_t tl)
{
	unsigned int out = 0;

	if (gnutls_x509_trust_list_verify_crt2(tl,
			(gnutls_x509_crt_t *)l->l_crts, l->l_ncrts, NULL, 0,
			GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
			GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
			&out, NULL) < 0)
		return false;
	return out & GNUTLS_CERT_REVOKED;
}

/*
 * The dispatcher, with credentials just read: cut the kept sessions whose
 * client certificate they revoke.  Returns how many were cut.
 */
unsigned int tlshd_live_check(struct tlshd_config *cf)
{
	gnutls_certificate_credentials_t creds;
	struct tlshd_live **pp, *l;
	gnutls_x509_trust_list_t tl;
	unsigned int cut = 0;

	if (!cf->cf_server.ac_crl || cf->cf_server.ac_crl_cuts == 0 ||
	    !tlshd_config_has_anchors(cf, true))
		return 0;
	creds = tlshd_config_creds(cf, true);
	if (!creds)
		return 0;
	gnutls_certificate_get_trust_list(creds, &tl);
	pthread_mutex_lock(&live_lock);
	for (pp = &live_head; (l = *pp);) {
		if (!live_revoked(l, tl)) {
			pp = &l->l_next;
			continue;
		}
		if (shutdown(l->l_fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
			tlshd_log_err("req=%llu: cutting the session of %s: %s",
				      (unsigned long long)l->l_req_id,
				      l->l_who, strerror(errno));
		else
			tlshd_log(TLSHD_LOG_NOTICE,
				  "req=%llu: the client certificate of %s is revoked by %s: its session is cut",
				  (unsigned long long)l->l_req_id, l->l_who,
				  cf->cf_server.ac_crl);
		*pp = l->l_next;
		live_count--;
		live_free(l);
		cut++;
	}
	pthread_mutex_unlock(&live_lock);
	return cut;
}

void tlshd_live_close(void)
{
	struct tlshd_live *l;

	pthread_mutex_lock(&live_lock);
	while ((l = live_head)) {
		live_head = l->l_next;
		live_free(l);
	}
	live_count = 0;
	pthread_mutex_unlock(&live_lock);
	if (live_epfd >= 0)
		close(live_epfd);
	live_epfd = -1;
}
