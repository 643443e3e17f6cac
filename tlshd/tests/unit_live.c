// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-unit, live part (live.c): server sessions kept so that a new CRL
 * cuts those of the clients it revokes.  Socket pairs stand for the
 * kernel's connections; the chains are mkcerts.sh's certificates.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tlshd.h"
#include "unit.h"

/* @name (a PEM file in @certs) as one DER datum; 0 or -1 */
static int der_of(const char *certs, const char *name, gnutls_datum_t *der)
{
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crt_t crt;
	char path[512];
	int ret = -1;

	snprintf(path, sizeof(path), "%s/%s", certs, name);
	if (gnutls_load_file(path, &pem) < 0)
		return -1;
	if (gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (!gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) &&
	    !gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der))
		ret = 0;
	gnutls_x509_crt_deinit(crt);
out:
	gnutls_free(pem.data);
	return ret;
}

/* A connection kept under @cert: pair[0] is the consumer's, pair[1] the peer */
static bool keep(const char *certs, const char *cert, int pair[2],
		 uint64_t req)
{
	gnutls_datum_t der = { NULL, 0 };
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return false;
	if (der_of(certs, cert, &der) < 0)
		return false;
	ret = tlshd_live_keep(pair[0], &der, 1, req, cert);
	gnutls_free(der.data);
	return !ret;
}

/* Did the peer's end see the connection shut down (EOF)? */
static bool cut(int peer)
{
	char c;

	return recv(peer, &c, 1, MSG_DONTWAIT) == 0;
}

static bool still_up(int peer)
{
	char c;

	return recv(peer, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* The kept set is readable once a kept connection hangs up */
static bool hangup_seen(int epfd)
{
	struct pollfd p = { .fd = epfd, .events = POLLIN };

	return poll(&p, 1, 1000) == 1;
}

static void closepair(int pair[2])
{
	close(pair[0]);
	close(pair[1]);
}

static struct tlshd_config *parse(const char *text, const char *path,
				  char *err, size_t len)
{
	return tlshd_config_parse_buf(text, strlen(text), path, err, len);
}

static void live_config_keys(const char *dir)
{
	char path[512], err[512];
	struct tlshd_config *cf;

	snprintf(path, sizeof(path), "%s/live-keys.conf", dir);
	cf = parse("[authenticate.server]\nx509.crl_cuts_sessions = false\n",
		   path, err, sizeof(err));
	result(cf && cf->cf_server.ac_crl_cuts == 0 &&
	       cf->cf_client.ac_crl_cuts == -1,
	       "live: x509.crl_cuts_sessions = false is read ([authenticate.server])",
	       err);
	tlshd_config_put(cf);
	cf = parse("[authenticate.client]\nx509.crl_cuts_sessions = true\n",
		   path, err, sizeof(err));
	result(!cf && strstr(err, "belongs in [authenticate.server]"),
	       "live: x509.crl_cuts_sessions in [authenticate.client] is refused, saying where it belongs",
	       err);
	tlshd_config_put(cf);
	cf = parse("[authenticate.server]\nx509.crl_cuts_sessions = sometimes\n",
		   path, err, sizeof(err));
	result(!cf && strstr(err, "wants true or false"),
	       "live: x509.crl_cuts_sessions = sometimes is refused", err);
	tlshd_config_put(cf);
}

void test_live(const char *dir, const char *certs)
{
	char conf[512], text[2048], crl[512], from[512], err[512];
	int revoked[2], good[2], expired[2], epfd;
	struct tlshd_config *cf, *nc, *off;

	live_config_keys(dir);
	snprintf(conf, sizeof(conf), "%s/live.conf", dir);
	snprintf(crl, sizeof(crl), "%s/live-cut-crl.pem", dir);
	snprintf(from, sizeof(from), "%s/crl-empty.pem", certs);
	if (!copy_file(from, crl, 0644)) {
		result(false, "live: sessions a new CRL cuts", "no certificates");
		return;
	}
	snprintf(text, sizeof(text),
		 "[authenticate.server]\nx509.truststore = %s/ca.pem\n"
		 "x509.crl = %s\nx509.certificate = %s/server.pem\n"
		 "x509.private_key = %s/server.key\n", certs, crl, certs, certs);
	cf = load_conf(conf, text, err, sizeof(err));
	epfd = tlshd_live_open();
	if (!cf || epfd < 0) {
		result(false, "live: sessions a new CRL cuts", cf ? strerror(-epfd) : err);
		tlshd_config_put(cf);
		return;
	}
	result(keep(certs, "revoked-client.pem", revoked, 1) &&
	       keep(certs, "client.pem", good, 2) &&
	       keep(certs, "expired.pem", expired, 3) &&
	       tlshd_live_count() == 3,
	       "live: three sessions kept (a client to be revoked, a good one, an expired one)",
	       NULL);
	result(tlshd_live_check(cf) == 0 && tlshd_live_count() == 3 &&
	       still_up(revoked[1]),
	       "live: the CRL the handshake used cuts nothing", NULL);

	/* the CA publishes a CRL that revokes serial 108: a rename in place */
	snprintf(from, sizeof(from), "%s/crl.pem", certs);
	copy_file(from, crl, 0644);
	nc = tlshd_config_rebuild(cf, err, sizeof(err));
	snprintf(text, sizeof(text), "[authenticate.server]\nx509.truststore = %s/ca.pem\n"
		 "x509.crl = %s\nx509.crl_cuts_sessions = false\n", certs, crl);
	off = load_conf(conf, text, err, sizeof(err));
	result(off && tlshd_live_check(off) == 0 && tlshd_live_count() == 3,
	       "live: with x509.crl_cuts_sessions = false the new CRL cuts nothing",
	       err);
	tlshd_config_put(off);
	result(nc && tlshd_live_check(nc) == 1 && tlshd_live_count() == 2,
	       "live: the new CRL cuts exactly one session", err);
	result(cut(revoked[1]),
	       "live: the revoked client's connection is shut down (its end reads EOF)",
	       NULL);
	result(still_up(good[1]) && still_up(expired[1]),
	       "live: the good and the expired client's connections stay up (only revocation cuts)",
	       NULL);
	result(nc && tlshd_live_check(nc) == 0,
	       "live: checked again, nothing more is cut", NULL);

	/* the consumer closes a connection: the kept duplicate goes too */
	closepair(good);
	result(hangup_seen(epfd), "live: a connection closed by its consumer makes the kept set readable",
	       NULL);
	tlshd_live_reap();
	result(tlshd_live_count() == 1, "live: reaped, one session left", NULL);
	closepair(revoked);
	closepair(expired);
	tlshd_live_close();
	result(tlshd_live_count() == 0 && tlshd_live_keep(0, NULL, 0, 0, "x") == -EBADF,
	       "live: closed, nothing kept and nothing accepted", NULL);
	tlshd_config_put(nc);
	tlshd_config_put(cf);
}
