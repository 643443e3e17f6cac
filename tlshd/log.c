// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: syslog (LOG_DAEMON) or stderr with -s.
 *
 * Every handshake ends with exactly one audit line at NOTICE level, the
 * record of the security mode chosen for the connection that RFC 9289
 * section 6.1 requires.  Nothing here ever prints key material.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "tlshd.h"

static bool log_stderr;
static int log_level = TLSHD_LOG_NOTICE;

static void gnutls_log_cb(int level, const char *msg)
{
	size_t n = strlen(msg);

	while (n && msg[n - 1] == '\n')
		n--;
	tlshd_log(TLSHD_LOG_DEBUG, "gnutls[%d]: %.*s", level, (int)n, msg);
}

void tlshd_log_open(bool to_stderr)
{
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog("tlshd", LOG_PID, LOG_DAEMON);
}

/* loglevel 0: errors, warnings, audit; 1: + info; 2 and up: + debug */
void tlshd_log_set_level(int loglevel, int tls_debug)
{
	int level = TLSHD_LOG_NOTICE + (loglevel > 2 ? 2 : loglevel);

	gnutls_global_set_log_function(gnutls_log_cb);
	gnutls_global_set_log_level(tls_debug);
	if (tls_debug && level < TLSHD_LOG_DEBUG)
		level = TLSHD_LOG_DEBUG;
	/* set by the main thread, read by every worker */
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

void tlshd_log(enum tlshd_log_level level, const char *fmt, ...)
{
	static const int prio[] = {
		[TLSHD_LOG_ERR] = LOG_ERR,
		[TLSHD_LOG_WARN] = LOG_WARNING,
		[TLSHD_LOG_NOTICE] = LOG_NOTICE,
		[TLSHD_LOG_INFO] = LOG_INFO,
		[TLSHD_LOG_DEBUG] = LOG_DEBUG,
	};
	static const char *const tag[] = {
		[TLSHD_LOG_ERR] = "error: ",
		[TLSHD_LOG_WARN] = "warning: ",
		[TLSHD_LOG_NOTICE] = "",
		[TLSHD_LOG_INFO] = "",
		[TLSHD_LOG_DEBUG] = "debug: ",
	};
	char msg[1024];
	va_list ap;

	if ((int)level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_stderr)
		fprintf(stderr, "tlshd: %s%s\n", tag[level], msg);
	else
		syslog(prio[level], "%s%s", tag[level], msg);
}

/*
 * Copy @in (@inlen bytes, from a peer or a certificate) into @out as one
 * printable line: bytes outside printable ASCII, '"' and '\\' become
 * \\xHH, so a name cannot forge a log line or a field.  Always
 * NUL-terminates; cuts at a whole escape.  Returns @out.
 */
const char *tlshd_log_type_name(uint32_t type)
{
	switch (type) {
	case TLSH_TYPE_CLIENTHELLO_ANON:
		return "client-anon";
	case TLSH_TYPE_CLIENTHELLO_X509:
		return "client-x509";
	case TLSH_TYPE_CLIENTHELLO_PSK:
		return "client-psk";
	case TLSH_TYPE_SERVERHELLO_X509:
		return "server-x509";
	case TLSH_TYPE_SERVERHELLO_PSK:
		return "server-psk";
	}
	return "unknown";
}

void tlshd_log_audit(const struct tlshd_handshake *hs)
{
	const struct tlshd_params *p = &hs->hs_params;
	const char *version = "-", *cipher = "-", *alpn = "-";
	gnutls_datum_t proto;
	struct timespec now;
	long ms;
	char status[48], name[4 * TLSH_PEERNAME_MAX];
	bool anchor = !hs->hs_status && hs->hs_peer_auth &&
		      hs->hs_peer_anchor[0];

	if (hs->hs_session) {
		gnutls_protocol_t v = gnutls_protocol_get_version(hs->hs_session);
		gnutls_cipher_algorithm_t c = gnutls_cipher_get(hs->hs_session);

		if (v != GNUTLS_VERSION_UNKNOWN && gnutls_protocol_get_name(v))
			version = gnutls_protocol_get_name(v);
		if (c != GNUTLS_CIPHER_UNKNOWN && c != GNUTLS_CIPHER_NULL &&
		    gnutls_cipher_get_name(c))
			cipher = gnutls_cipher_get_name(c);
		if (!gnutls_alpn_get_selected_protocol(hs->hs_session, &proto) &&
		    proto.size == strlen(TLSHD_ALPN) &&
		    !memcmp(proto.data, TLSHD_ALPN, proto.size))
			alpn = TLSHD_ALPN;
		else if (hs->hs_alpn_none)
			alpn = "none";
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - hs->hs_start.tv_sec) * 1000 +
	     (now.tv_nsec - hs->hs_start.tv_nsec) / 1000000;
	/* the name the status table gives it (status.c) */
	if (tlshd_status_name(hs->hs_status))
		snprintf(status, sizeof(status), "%s",
			 tlshd_status_name(hs->hs_status));
	else
		snprintf(status, sizeof(status), "%d", hs->hs_status);

	tlshd_log_escape(p->p_peername, strlen(p->p_peername), name,
			 sizeof(name));
	tlshd_log(TLSHD_LOG_NOTICE,
		  "handshake req=%llu peer=%s name=%s type=%s result=%s status=%s version=%s cipher=%s alpn=%s auth=%s peerid=%d duration_ms=%ld%s%s%s%s%s%s%s%s%s",
		  (unsigned long long)p->p_req_id,
		  hs->hs_peeraddr[0] ? hs->hs_peeraddr : "-",
		  name[0] ? name : "-",
		  tlshd_log_type_name(p->p_type),
		  hs->hs_status ? "fail" : "ok", status, version, cipher, alpn,
		  hs->hs_status ? "none" :
		  hs->hs_peer_auth ? "peer-verified" : "peer-anonymous",
		  hs->hs_peerid, ms,
		  hs->hs_peer_subject[0] ? " subject=\"" : "",
		  hs->hs_peer_subject,
		  hs->hs_peer_subject[0] ? "\"" : "",
		  anchor ? " anchor=\"" : "",
		  anchor ? hs->hs_peer_anchor : "",
		  anchor ? "\"" : "",
		  hs->hs_reason[0] ? " reason=\"" : "",
		  hs->hs_reason,
		  hs->hs_reason[0] ? "\"" : "");
}
