// SPDX-License-Identifier: GPL-2.0
/*
 * One handshake request: a non-blocking GnuTLS session on the consumer's
 * socket, stepped by the event loop whenever the socket is ready, then
 * checked (TLS 1.3, ALPN, peer identity), handed to kTLS and logged.
 *
 * ALPN (RFC 9289 section 5): both roles always offer or select "sunrpc".
 * A peer that offers or selects only other protocols is refused
 * (no_application_protocol).  A peer that negotiates no ALPN at all is
 * accepted by default, because the deployed implementations (mainline
 * Linux's tlshd, FreeBSD's rpc.tlsclntd/rpc.tlsservd) send none; the audit
 * line says alpn=none and the kernel counts it.  With alpn.required set in
 * tlshd.conf (strict RFC mode) such a peer is refused instead.
 *
 * The status a handshake ends with (0 or a positive errno, the same for
 * both upcalls) comes from the one table in status.c, which says what each
 * means and what the kernels' consumers make of it; tlshd(8) lists it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tlshd.h"

uint64_t tlshd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool is_psk(const struct tlshd_handshake *hs)
{
	return hs->hs_params.p_type == TLSH_TYPE_CLIENTHELLO_PSK ||
	       hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_PSK;
}

static bool is_server(const struct tlshd_handshake *hs)
{
	return hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_X509 ||
	       hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_PSK;
}

/*
 * TLS 1.3 only, no tickets, and only the ciphers 6.1's kTLS runs
 * (policy.h).  A priority string from the kernel replaces the ciphers but
 * cannot lift these limits; a cipher outside them still fails at the kTLS
 * hand-off.
 */
const char *tlshd_handshake_priorities(const struct tlshd_handshake *hs,
				       bool psk, char *buf, size_t len)
{
	const char *base = hs->hs_params.p_priorities;

	if (!*base)
		base = TLSHD_PRIORITY_CIPHERS;
	snprintf(buf, len, "%s%s%s", base, TLSHD_PRIORITY_LIMITS,
		 psk ? TLSHD_PRIORITY_PSK : "");
	return buf;
}

/*
 * Strict mode, server side: a ClientHello without ALPN ends the handshake
 * at once with a no_application_protocol alert (rather than after the
 * Finished).  GnuTLS has parsed the ClientHello's extensions when this runs.
 */
static int alpn_strict_hook(gnutls_session_t session, unsigned int htype,
			    unsigned int when, unsigned int incoming,
			    const gnutls_datum_t *msg)
{
	gnutls_datum_t proto;

	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	if (gnutls_alpn_get_selected_protocol(session, &proto))
		return GNUTLS_E_NO_APPLICATION_PROTOCOL;
	return 0;
}

/*
 * The GnuTLS session both roles start from: non-blocking, no tickets, the
 * priorities above, ALPN "sunrpc" (GNUTLS_ALPN_MANDATORY: a peer that
 * negotiates another protocol is refused; one without ALPN is judged in
 * finish(), or by alpn_strict_hook() on a strict server).  @init_flags is
 * GNUTLS_CLIENT or GNUTLS_SERVER; @alpn_flags adds to GNUTLS_ALPN_MANDATORY.
 * Returns 0 or the negative status tlshd_handshake_error() recorded.
 */
int tlshd_handshake_session_init(struct tlshd_handshake *hs,
				 unsigned int init_flags,
				 unsigned int alpn_flags, bool psk)
{
	gnutls_datum_t alpn = { (unsigned char *)TLSHD_ALPN,
				sizeof(TLSHD_ALPN) - 1 };
	char prio[TLSH_PRIORITIES_MAX + 128];
	const char *err_pos = NULL;
	int ret;

	ret = gnutls_init(&hs->hs_session, init_flags | GNUTLS_NONBLOCK |
			  GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
	if (ret < 0) {
		hs->hs_session = NULL;
		return tlshd_handshake_error(hs, ENOMEM, "gnutls_init: %s",
					     gnutls_strerror(ret));
	}
	gnutls_session_set_ptr(hs->hs_session, hs);
	tlshd_handshake_priorities(hs, psk, prio, sizeof(prio));
	ret = gnutls_priority_set_direct(hs->hs_session, prio, &err_pos);
	if (ret < 0)
		return tlshd_handshake_error(hs, EINVAL,
					     "priority string rejected at '%s': %s",
					     err_pos ? err_pos : "?",
					     gnutls_strerror(ret));
	ret = gnutls_alpn_set_protocols(hs->hs_session, &alpn, 1,
					GNUTLS_ALPN_MANDATORY | alpn_flags);
	if (ret < 0)
		return tlshd_handshake_error(hs, EIO, "ALPN: %s",
					     gnutls_strerror(ret));
	if ((init_flags & GNUTLS_SERVER) &&
	    tlshd_config_alpn_required(hs->hs_config, true))
		gnutls_handshake_set_hook_function(hs->hs_session,
						   GNUTLS_HANDSHAKE_CLIENT_HELLO,
						   GNUTLS_HOOK_POST,
						   alpn_strict_hook);
	return 0;
}

/*
 * The ALPN outcome of a finished handshake: "sunrpc", or none (accepted
 * unless alpn.required is set for this role).  Returns 0 or -1 with the
 * failure recorded.
 */
static int check_alpn(struct tlshd_handshake *hs)
{
	gnutls_datum_t proto;

	if (gnutls_alpn_get_selected_protocol(hs->hs_session, &proto)) {
		if (tlshd_config_alpn_required(hs->hs_config, is_server(hs)))
			return tlshd_handshake_error(hs, EPROTONOSUPPORT,
						     "peer negotiated no ALPN and alpn.required is set");
		hs->hs_alpn_none = true;
		return 0;
	}
	if (proto.size != strlen(TLSHD_ALPN) ||
	    memcmp(proto.data, TLSHD_ALPN, proto.size))
		return tlshd_handshake_error(hs, EPROTONOSUPPORT,
					     "peer negotiated an ALPN other than \"%s\"",
					     TLSHD_ALPN);
	return 0;
}

struct tlshd_handshake *tlshd_handshake_new(int fd,
					    const struct tlshd_params *p,
					    struct tlshd_config *cf)
{
	struct tlshd_handshake *hs;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return NULL;
	hs->hs_fd = fd;
	hs->hs_state = TLSHD_HS_RUNNING;
	hs->hs_params = *p;
	hs->hs_params.p_peername[sizeof(hs->hs_params.p_peername) - 1] = '\0';
	hs->hs_params.p_priorities[sizeof(hs->hs_params.p_priorities) - 1] =
		'\0';
	hs->hs_config = tlshd_config_get(cf);
	hs->hs_orig_flags = -1;
	clock_gettime(CLOCK_MONOTONIC, &hs->hs_start);
	if (!getpeername(fd, (struct sockaddr *)&ss, &sslen)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, hs->hs_peeraddr,
				  sizeof(hs->hs_peeraddr));
			hs->hs_peerport = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, hs->hs_peeraddr,
				  sizeof(hs->hs_peeraddr));
			hs->hs_peerport = ntohs(sin6->sin6_port);
		}
	}
	return hs;
}

static void done(struct tlshd_handshake *hs)
{
	hs->hs_state = TLSHD_HS_DONE;
	if (hs->hs_orig_flags >= 0)
		fcntl(hs->hs_fd, F_SETFL, hs->hs_orig_flags);
	if (hs->hs_status) {
		hs->hs_peerid = 0;
		hs->hs_peer_auth = false;
	}
	tlshd_log_audit(hs);
}

void tlshd_handshake_fail(struct tlshd_handshake *hs, int status,
			  const char *fmt, ...)
{
	va_list ap;

	hs->hs_status = status;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(hs->hs_reason, sizeof(hs->hs_reason), fmt, ap);
		va_end(ap);
	}
	done(hs);
}

/* Record a failure for setup and finish steps; returns -1. */
int tlshd_handshake_error(struct tlshd_handshake *hs, int status,
			  const char *fmt, ...)
{
	va_list ap;

	hs->hs_status = status;
	va_start(ap, fmt);
	vsnprintf(hs->hs_reason, sizeof(hs->hs_reason), fmt, ap);
	va_end(ap);
	return -1;
}

void tlshd_handshake_timeout(struct tlshd_handshake *hs)
{
	tlshd_handshake_fail(hs, ETIMEDOUT,
			     "not done within the %u ms timeout",
			     hs->hs_params.p_timeout_ms);
}

static int alert_errno(const struct tlshd_handshake *hs,
		       gnutls_alert_description_t a)
{
	switch (a) {
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		return EACCES;
	case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
		return EKEYREJECTED;
	case GNUTLS_A_DECRYPT_ERROR:
	case GNUTLS_A_ILLEGAL_PARAMETER:
		return is_psk(hs) ? EKEYREJECTED : EACCES;
	case GNUTLS_A_HANDSHAKE_FAILURE:
		/* no acceptable parameters, e.g. a peer without TLS 1.3 */
		return is_psk(hs) ? EKEYREJECTED : EPROTONOSUPPORT;
	case GNUTLS_A_PROTOCOL_VERSION:
	case GNUTLS_A_INSUFFICIENT_SECURITY:
	case GNUTLS_A_NO_APPLICATION_PROTOCOL:
		return EPROTONOSUPPORT;
	default:
		return EIO;
	}
}

/* Map a fatal GnuTLS error to the status reported to the kernel. */
static void fail_gnutls(struct tlshd_handshake *hs, int ret)
{
	gnutls_alert_description_t a;

	/* Tell the peer why, unless it told us (best effort). */
	if (hs->hs_psk_unknown)
		gnutls_alert_send(hs->hs_session, GNUTLS_AL_FATAL,
				  GNUTLS_A_UNKNOWN_PSK_IDENTITY);
	else if (hs->hs_verify_alert)
		gnutls_alert_send(hs->hs_session, GNUTLS_AL_FATAL,
				  hs->hs_verify_alert);
	else if (ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
		gnutls_alert_send_appropriate(hs->hs_session, ret);

	/* Our verify or PSK callback already said why. */
	if (hs->hs_verify_errno) {
		tlshd_handshake_fail(hs, hs->hs_verify_errno, NULL);
		return;
	}
	if (hs->hs_psk_unknown) {
		tlshd_handshake_fail(hs, EKEYREJECTED, NULL);
		return;
	}
	switch (ret) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		a = gnutls_alert_get(hs->hs_session);
		tlshd_handshake_fail(hs, alert_errno(hs, a),
				     "peer sent alert '%s'",
				     gnutls_alert_get_name(a) ?
				     gnutls_alert_get_name(a) : "unknown");
		return;
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_NO_APPLICATION_PROTOCOL:
	case GNUTLS_E_INSUFFICIENT_SECURITY:
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
	case GNUTLS_E_NO_PRIORITIES_WERE_SET:
	case GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM:
		tlshd_handshake_fail(hs, EPROTONOSUPPORT, "%s",
				     gnutls_strerror(ret));
		return;
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		tlshd_handshake_fail(hs, EACCES, "%s", gnutls_strerror(ret));
		return;
	case GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER:
		/* a PSK binder that does not verify: wrong key */
		tlshd_handshake_fail(hs, is_psk(hs) ? EKEYREJECTED : EIO,
				     "%s", gnutls_strerror(ret));
		return;
	case GNUTLS_E_DECRYPTION_FAILED:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_KEYFILE_ERROR:
		tlshd_handshake_fail(hs, is_psk(hs) ? EKEYREJECTED : EIO, "%s",
				     gnutls_strerror(ret));
		return;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
		tlshd_handshake_fail(hs, ECONNRESET, "%s",
				     gnutls_strerror(ret));
		return;
	case GNUTLS_E_TIMEDOUT:
		tlshd_handshake_fail(hs, ETIMEDOUT, "%s", gnutls_strerror(ret));
		return;
	default:
		tlshd_handshake_fail(hs, EIO, "%s", gnutls_strerror(ret));
	}
}

int tlshd_handshake_start(struct tlshd_handshake *hs)
{
	struct tlshd_params *p = &hs->hs_params;
	int ret;

	if (!p->p_timeout_ms)
		p->p_timeout_ms = TLSHD_DEFAULT_TIMEOUT_MS;
	hs->hs_deadline_ms = tlshd_now_ms() + p->p_timeout_ms;

	hs->hs_orig_flags = fcntl(hs->hs_fd, F_GETFL);
	if (hs->hs_orig_flags < 0 ||
	    fcntl(hs->hs_fd, F_SETFL, hs->hs_orig_flags | O_NONBLOCK) < 0) {
		tlshd_handshake_fail(hs, EIO, "fcntl: %s", strerror(errno));
		return 1;
	}

	switch (p->p_type) {
	case TLSH_TYPE_CLIENTHELLO_ANON:
	case TLSH_TYPE_CLIENTHELLO_X509:
	case TLSH_TYPE_CLIENTHELLO_PSK:
		ret = tlshd_client_setup(hs);
		break;
	case TLSH_TYPE_SERVERHELLO_X509:
	case TLSH_TYPE_SERVERHELLO_PSK:
		ret = tlshd_server_setup(hs);
		break;
	default:
		tlshd_handshake_fail(hs, EINVAL, "unknown handshake type %u",
				     p->p_type);
		return 1;
	}
	if (ret) {
		/* setup filled in status and reason */
		done(hs);
		return 1;
	}
	gnutls_session_set_ptr(hs->hs_session, hs);
	gnutls_transport_set_int(hs->hs_session, hs->hs_fd);
	gnutls_handshake_set_timeout(hs->hs_session,
				     GNUTLS_INDEFINITE_TIMEOUT);
	return tlshd_handshake_step(hs);
}

/* The session is up: check it, hand it to kTLS, name the peer. */
static void finish(struct tlshd_handshake *hs)
{
	char why[200];
	int ret;

	if (gnutls_protocol_get_version(hs->hs_session) != GNUTLS_TLS1_3) {
		tlshd_handshake_fail(hs, EPROTONOSUPPORT,
				     "negotiated %s, not TLS1.3",
				     gnutls_protocol_get_name(
				     gnutls_protocol_get_version(hs->hs_session)));
		return;
	}
	if (check_alpn(hs)) {
		done(hs);
		return;
	}
	ret = is_server(hs) ? tlshd_server_finish(hs) :
			      tlshd_client_finish(hs);
	if (ret) {
		done(hs);
		return;
	}
	ret = tlshd_ktls_install(hs->hs_session, hs->hs_fd, why, sizeof(why));
	if (ret) {
		tlshd_handshake_fail(hs, -ret, "%s", why);
		return;
	}
	/* Peer identity for the kernel: the verified certificate as a key. */
	if (hs->hs_peer_auth && !is_psk(hs)) {
		const gnutls_datum_t *peers;
		unsigned int n = 0;

		peers = gnutls_certificate_get_peers(hs->hs_session, &n);
		if (peers && n)
			hs->hs_peerid = tlshd_keyring_add_peer_cert(
				hs->hs_params.p_keyring,
				hs->hs_params.p_req_id, &peers[0]);
		/* a server keeps it, so that a new CRL can cut it */
		if (is_server(hs))
			tlshd_live_add(hs);
	}
	hs->hs_status = 0;
	done(hs);
}

/* Returns 1 when the handshake is over (see hs_status), 0 to wait. */
int tlshd_handshake_step(struct tlshd_handshake *hs)
{
	int ret;

	if (hs->hs_state != TLSHD_HS_RUNNING)
		return 1;
	for (;;) {
		ret = gnutls_handshake(hs->hs_session);
		if (ret == 0) {
			finish(hs);
			return 1;
		}
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
			hs->hs_want_write =
				gnutls_record_get_direction(hs->hs_session);
			return 0;
		}
		if (!gnutls_error_is_fatal(ret)) {
			tlshd_log_debug("req=%llu: %s",
					(unsigned long long)
					hs->hs_params.p_req_id,
					gnutls_strerror(ret));
			continue;
		}
		fail_gnutls(hs, ret);
		return 1;
	}
}

void tlshd_handshake_free(struct tlshd_handshake *hs)
{
	if (!hs)
		return;
	if (hs->hs_session)
		gnutls_deinit(hs->hs_session);
	if (hs->hs_psk_client)
		gnutls_psk_free_client_credentials(hs->hs_psk_client);
	if (hs->hs_psk_server)
		gnutls_psk_free_server_credentials(hs->hs_psk_server);
	tlshd_x509_certkey_free(hs->hs_keyring_ck);
	tlshd_config_put(hs->hs_config);
	free(hs);
}
