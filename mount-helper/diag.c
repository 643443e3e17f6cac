// SPDX-License-Identifier: GPL-2.0
/*
 * Why did a TLS mount fail?  Redo in user space what the kernel and tlshd
 * did: connect, AUTH_TLS probe, TLS 1.3 handshake with ALPN "sunrpc" and
 * the truststore tlshd uses, certificate verification against the name
 * the user gave, then a NULL RPC over TLS (where a TLS 1.3 server that
 * wants a client certificate says so with an alert), and, given an export
 * path, an NFSv4 LOOKUP of it (NFS4ERR_WRONGSEC).  Each verdict is one
 * that this run observed; nothing is inferred from the kernel's errno.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "rpctls.h"

#define NFS4ERR_WRONGSEC	10016

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	n = strspn(s, " \t");
	memmove(s, s + n, strlen(s + n) + 1);
}

/* Read "key = value" of [section] from an INI file; 0 when found. */
static int ini_get(const char *path, const char *section, const char *key,
		   char *out, size_t len)
{
	char line[1024], cur[128] = "";
	FILE *f = fopen(path, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq;

		trim(line);
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			char *rb = strchr(line, ']');

			if (rb)
				*rb = '\0';
			snprintf(cur, sizeof(cur), "%.127s", line + 1);
			trim(cur);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || strcmp(cur, section))
			continue;
		*eq = '\0';
		trim(line);
		trim(eq + 1);
		if (!strcmp(line, key)) {
			snprintf(out, len, "%s", eq + 1);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

int diag_read_tlshd_truststore(const char *conf, char *out, size_t len)
{
	return ini_get(conf, "authenticate.client", "x509.truststore", out,
		       len);
}

static const char *tlshd_conf(void)
{
	const char *c = getenv("RPCTLS_TLSHD_CONF");

	return c && *c ? c : "/etc/tlshd.conf";
}

static void say(struct diag_report *r, enum diag_verdict v,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(struct diag_report *r, enum diag_verdict v,
		const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* RPC I/O over the TLS session, for nfs4.c and the NULL call */
static int tls_io(void *ctx, const void *out, size_t outlen, void *in,
		  size_t incap)
{
	gnutls_session_t s = ctx;
	uint32_t mark = htonl(0x80000000U | (uint32_t)outlen);
	unsigned char *msg = malloc(outlen + 4);
	size_t total = 0;
	ssize_t n;

	if (!msg)
		return -ENOMEM;
	memcpy(msg, &mark, 4);
	memcpy(msg + 4, out, outlen);
	do {
		n = gnutls_record_send(s, msg, outlen + 4);
	} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	free(msg);
	if (n < 0)
		return (int)n - 100000;	/* a GnuTLS error, see tls_errno() */
	for (;;) {
		unsigned char hdr[4];
		uint32_t len, got = 0;

		while (got < 4) {
			n = gnutls_record_recv(s, hdr + got, 4 - got);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n <= 0)
				return n == 0 ? -ECONNRESET : (int)n - 100000;
			got += (uint32_t)n;
		}
		mark = ntohl(*(uint32_t *)hdr);
		len = mark & 0x7fffffffU;
		if (total + len > incap)
			return -EMSGSIZE;
		got = 0;
		while (got < len) {
			n = gnutls_record_recv(s, (char *)in + total + got,
					       len - got);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n <= 0)
				return n == 0 ? -ECONNRESET : (int)n - 100000;
			got += (uint32_t)n;
		}
		total += len;
		if (mark & 0x80000000U)
			return (int)total;
	}
}

/* plain TCP I/O, for the cleartext WRONGSEC check */
static int tcp_io(void *ctx, const void *out, size_t outlen, void *in,
		  size_t incap)
{
	int fd = *(int *)ctx;
	int ret = rpc_send_record(fd, out, outlen);

	if (ret < 0)
		return ret;
	return rpc_recv_record(fd, in, incap, 10000);
}

static void verify_words(unsigned int st, char *buf, size_t len)
{
	static const struct { unsigned int bit; const char *word; } w[] = {
		{ GNUTLS_CERT_SIGNER_NOT_FOUND, "issuer not in the truststore" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "issuer is not a CA" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not yet valid" },
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_UNEXPECTED_OWNER, "name mismatch" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "key purpose mismatch" },
	};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (!(st & w[i].bit))
			continue;
		off += (size_t)snprintf(buf + off, len > off ? len - off : 0,
					"%s%s", off ? ", " : "", w[i].word);
	}
}

static void peer_subject(gnutls_session_t s, struct diag_report *r)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	gnutls_x509_crt_t crt;
	size_t len = sizeof(r->peer_subject);

	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0)
		gnutls_x509_crt_get_dn(crt, r->peer_subject, &len);
	gnutls_x509_crt_deinit(crt);
}

static bool is_address(const char *host)
{
	unsigned char b[16];

	return inet_pton(AF_INET, host, b) == 1 ||
	       inet_pton(AF_INET6, host, b) == 1;
}

/* After the handshake: verify the server certificate like tlshd does. */
static bool check_server_cert(gnutls_session_t s, const struct peer *p,
			      const char *store, struct diag_report *r)
{
	unsigned int st = 0;
	char words[256];
	int ret;

	ret = gnutls_certificate_verify_peers3(s, p->host, &st);
	if (ret < 0) {
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate could not be verified: %s",
		    gnutls_strerror(ret));
		return false;
	}
	if (!st)
		return true;
	verify_words(st, words, sizeof(words));
	if (st & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		say(r, DIAG_UNTRUSTED,
		    "the server certificate (%s) is not trusted: it does not chain to a CA in %s (%s)",
		    r->peer_subject, store, words);
	else if (st & GNUTLS_CERT_EXPIRED)
		say(r, DIAG_EXPIRED,
		    "the server certificate (%s) has expired (%s)",
		    r->peer_subject, words);
	else if (st & GNUTLS_CERT_NOT_ACTIVATED)
		say(r, DIAG_NOT_ACTIVATED,
		    "the server certificate (%s) is not valid yet (%s)",
		    r->peer_subject, words);
	else if (st & GNUTLS_CERT_REVOKED)
		say(r, DIAG_REVOKED,
		    "the server certificate (%s) is revoked (%s)",
		    r->peer_subject, words);
	else if (st & GNUTLS_CERT_UNEXPECTED_OWNER)
		say(r, DIAG_NAME_MISMATCH,
		    "the server certificate (%s) does not match the name '%s' checked (%s); it needs %s '%s' in its subjectAltName, or mount with the name it has",
		    r->peer_subject, p->host, words,
		    is_address(p->host) ? "an iPAddress entry" :
					  "a dNSName entry",
		    p->host);
	else
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate (%s) does not verify (%s)",
		    r->peer_subject, words);
	return false;
}

static const char *alert_name(gnutls_session_t s)
{
	const char *n = gnutls_alert_get_name(gnutls_alert_get(s));

	return n ? n : "unknown alert";
}

/*
 * A plaintext mount failed: does the export refuse plaintext transports?
 * An NFSv4 LOOKUP of the export on a fresh connection, without the probe
 * (a server offering TLS would otherwise start a handshake nobody ends).
 */
void diag_plain(const struct peer *p, const struct diag_opts *o,
		struct diag_report *r)
{
	char err[256];
	uint32_t st;
	int fd;

	memset(r, 0, sizeof(*r));
	r->verdict = DIAG_UNKNOWN;
	if (!o->export_path || o->vers != 4)
		return;
	fd = peer_connect(p, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		say(r, DIAG_UNREACHABLE, "%s", err);
		return;
	}
	if (!nfs4_lookup_status(tcp_io, &fd, o->export_path, &st, err,
				sizeof(err)) && st == NFS4ERR_WRONGSEC)
		say(r, DIAG_WRONGSEC,
		    "the export %s refuses plaintext transports: LOOKUP without TLS answered NFS4ERR_WRONGSEC (mount with xprtsec=tls or mtls)",
		    o->export_path);
	close(fd);
}

void diag_run(const struct peer *p, const struct diag_opts *o,
	      struct diag_report *r)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	gnutls_datum_t alpn = { (unsigned char *)"sunrpc", 6 }, sel;
	const char *alpn_word = "ALPN sunrpc";
	char err[256], store[512], detail[256];
	bool have_cert = false;
	enum probe_result pr;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	fd = peer_connect(p, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		say(r, DIAG_UNREACHABLE, "%s", err);
		return;
	}
	pr = probe_auth_tls(fd, o->vers, o->timeout_ms, detail,
			    sizeof(detail));
	if (pr != PROBE_STARTTLS) {
		if (pr == PROBE_UNREACHABLE || pr == PROBE_BAD_REPLY)
			say(r, DIAG_UNREACHABLE, "%s (%s port %u)", detail,
			    p->host, p->port);
		else
			say(r, DIAG_NO_STARTTLS,
			    "server %s (%s port %u) does not offer RPC-with-TLS: %s",
			    p->host, p->addrstr, p->port, detail);
		/* In cleartext, the export may refuse plain transports. */
		if (o->export_path && o->vers == 4) {
			uint32_t st;

			close(fd);
			fd = peer_connect(p, o->timeout_ms, err, sizeof(err));
			if (fd >= 0 &&
			    !nfs4_lookup_status(tcp_io, &fd, o->export_path,
						&st, err, sizeof(err)) &&
			    st == NFS4ERR_WRONGSEC)
				say(r, DIAG_WRONGSEC,
				    "the export %s refuses plaintext transports: LOOKUP without TLS answered NFS4ERR_WRONGSEC (mount with xprtsec=tls or mtls)",
				    o->export_path);
		}
		goto out;
	}

	if (o->truststore && *o->truststore)
		snprintf(store, sizeof(store), "%s", o->truststore);
	else if (diag_read_tlshd_truststore(tlshd_conf(), store,
					    sizeof(store)) < 0)
		store[0] = '\0';
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		goto oom;
	if (store[0]) {
		ret = gnutls_certificate_set_x509_trust_file(cred, store,
							     GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			say(r, DIAG_UNKNOWN,
			    "cannot load the truststore %s: %s", store,
			    ret ? gnutls_strerror(ret) : "no certificates");
			goto out;
		}
	} else {
		gnutls_certificate_set_x509_system_trust(cred);
		snprintf(store, sizeof(store), "the system trust store");
	}
	if (o->certpem && o->keypem) {
		gnutls_datum_t c = { (unsigned char *)o->certpem,
				     (unsigned int)o->certlen };
		gnutls_datum_t k = { (unsigned char *)o->keypem,
				     (unsigned int)o->keylen };

		ret = gnutls_certificate_set_x509_key_mem(cred, &c, &k,
							  GNUTLS_X509_FMT_PEM);
		have_cert = ret >= 0;
	} else if (o->certfile && o->keyfile) {
		ret = gnutls_certificate_set_x509_key_file(cred, o->certfile,
							   o->keyfile,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			say(r, DIAG_UNKNOWN,
			    "cannot load the client certificate %s with key %s: %s",
			    o->certfile, o->keyfile, gnutls_strerror(ret));
			goto out;
		}
		have_cert = true;
	}

	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto oom;
	ret = gnutls_priority_set_direct(s,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	if (ret >= 0)
		ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (ret >= 0)
		ret = gnutls_alpn_set_protocols(s, &alpn, 1,
						GNUTLS_ALPN_MANDATORY);
	if (ret >= 0 && !is_address(p->host))
		ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, p->host,
					     strlen(p->host));
	if (ret < 0) {
		say(r, DIAG_UNKNOWN, "GnuTLS set-up: %s", gnutls_strerror(ret));
		goto out;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, (unsigned int)o->timeout_ms);
	gnutls_record_set_timeout(s, (unsigned int)o->timeout_ms);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
			gnutls_alert_description_t a = gnutls_alert_get(s);

			if (a == GNUTLS_A_NO_APPLICATION_PROTOCOL)
				say(r, DIAG_ALPN,
				    "the server refused the TLS handshake: it does not accept ALPN \"sunrpc\" (alert %s)",
				    alert_name(s));
			else if (a == GNUTLS_A_PROTOCOL_VERSION)
				say(r, DIAG_TLS_VERSION,
				    "the server refused TLS 1.3 (alert %s); RFC 9289 needs TLS 1.3",
				    alert_name(s));
			else if (a == GNUTLS_A_CERTIFICATE_REQUIRED)
				say(r, DIAG_NEEDS_CLIENT_CERT,
				    "the server requires a client certificate (alert %s): mount with xprtsec=mtls",
				    alert_name(s));
			else
				say(r, DIAG_HANDSHAKE_FAILED,
				    "the server ended the TLS handshake with alert %s",
				    alert_name(s));
		} else if (ret == GNUTLS_E_NO_APPLICATION_PROTOCOL) {
			say(r, DIAG_ALPN,
			    "the server selected an ALPN other than \"sunrpc\" (RFC 9289 section 5)");
		} else if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET) {
			say(r, DIAG_TLS_VERSION,
			    "the server does not speak TLS 1.3 (%s)",
			    gnutls_strerror(ret));
		} else if (ret == GNUTLS_E_PREMATURE_TERMINATION) {
			say(r, DIAG_HANDSHAKE_FAILED,
			    "the server %s answered STARTTLS, then closed the connection during the TLS handshake without an alert (so does a server whose handshake agent is not running)",
			    p->host);
		} else {
			say(r, DIAG_HANDSHAKE_FAILED,
			    "the TLS handshake with %s failed: %s", p->host,
			    gnutls_strerror(ret));
		}
		goto out;
	}
	snprintf(r->tls_version, sizeof(r->tls_version), "%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
	snprintf(r->cipher, sizeof(r->cipher), "%s",
		 gnutls_cipher_get_name(gnutls_cipher_get(s)));
	peer_subject(s, r);
	/*
	 * No ALPN at all is what mainline's tlshd and FreeBSD answer: tlshd
	 * accepts it unless alpn.required is set, so the probe does too.
	 */
	if (gnutls_alpn_get_selected_protocol(s, &sel) < 0) {
		alpn_word = "no ALPN (accepted unless tlshd's alpn.required is set)";
	} else if (sel.size != 6 || memcmp(sel.data, "sunrpc", 6)) {
		say(r, DIAG_ALPN,
		    "the server selected an ALPN other than \"sunrpc\" (RFC 9289 section 5)");
		goto out;
	}
	if (!check_server_cert(s, p, store, r))
		goto out;

	/* A NULL call over TLS: TLS 1.3 servers judge our certificate now. */
	{
		uint32_t xid = htonl(0x72706374U);
		uint32_t call[10] = {
			xid, htonl(0), htonl(2), htonl(100003),
			htonl(o->vers ? o->vers : 4), htonl(0),
			htonl(0), htonl(0), htonl(0), htonl(0),
		};
		unsigned char reply[256];
		bool asked = gnutls_certificate_client_get_request_status(s);

		ret = tls_io(s, call, sizeof(call), reply, sizeof(reply));
		if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED - 100000) {
			gnutls_alert_description_t a = gnutls_alert_get(s);

			if (a == GNUTLS_A_CERTIFICATE_REQUIRED)
				say(r, DIAG_NEEDS_CLIENT_CERT,
				    "the server requires a client certificate (alert %s after the handshake): mount with xprtsec=mtls%s",
				    alert_name(s),
				    have_cert ? "" : " and a client certificate (tlscert=/tlskey= or tlshd's x509.certificate)");
			else if (have_cert)
				say(r, DIAG_CLIENT_CERT_REJECTED,
				    "the server rejected our client certificate (alert %s)",
				    alert_name(s));
			else
				say(r, DIAG_HANDSHAKE_FAILED,
				    "the server ended the session with alert %s before answering an RPC%s",
				    alert_name(s),
				    asked ? "; it had asked for a client certificate and we sent none" : "");
			goto out;
		}
		if (ret < 0) {
			say(r, DIAG_HANDSHAKE_FAILED,
			    "the server did not answer an RPC over TLS: %s%s",
			    ret <= -100000 ? gnutls_strerror(ret + 100000) :
					     strerror(-ret),
			    !have_cert && asked ?
			    " (it had asked for a client certificate and we sent none)" : "");
			goto out;
		}
	}
	if (o->export_path && o->vers == 4) {
		uint32_t st;

		if (!nfs4_lookup_status(tls_io, s, o->export_path, &st, err,
					sizeof(err)) && st == NFS4ERR_WRONGSEC) {
			say(r, DIAG_WRONGSEC,
			    "the export %s refuses this security mode: LOOKUP over TLS (%s client) answered NFS4ERR_WRONGSEC%s",
			    o->export_path,
			    have_cert ? "with a" : "without a",
			    have_cert ? "" : " (the export may need xprtsec=mtls)");
			goto out;
		}
	}
	say(r, DIAG_OK,
	    "the TLS handshake with %s worked (%s, %s, %s, server certificate %s verified against %s%s)",
	    p->host, r->tls_version, r->cipher, alpn_word, r->peer_subject, store,
	    have_cert ? ", client certificate accepted" : "");
	goto out;
oom:
	say(r, DIAG_UNKNOWN, "out of memory");
out:
	if (s) {
		gnutls_bye(s, GNUTLS_SHUT_WR);
		gnutls_deinit(s);
	}
	if (cred)
		gnutls_certificate_free_credentials(cred);
	close(fd);
}
