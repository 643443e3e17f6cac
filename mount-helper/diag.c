// SPDX-License-Identifier: GPL-2.0
/*
 * Why did a TLS mount fail?  Redo in user space what the kernel and tlshd
 * did: connect, AUTH_TLS probe, TLS 1.3 handshake with ALPN "sunrpc",
 * tlshd's priority string and the trust anchors and CRL of tlshd's client
 * role, the certificate verified by tlshd's rules (tlshd/policy.c: the
 * chain, then the name the user gave against the subjectAltName entries
 * only, no wildcards, no CN, and the RPC-with-TLS EKU when tlshd requires
 * it), then a NULL RPC over TLS (where a TLS 1.3 server that
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

#include "policy.h"
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

/* tlshd's configuration: RPCTLS_TLSHD_CONF, else where tlshd looks */
const char *mh_diag_tlshd_conf(void)
{
	const char *c = getenv("RPCTLS_TLSHD_CONF");

	return c && *c ? c : tlshd_config_default_path();
}

/* [authenticate.client] KEY of tlshd's configuration, or "" */
static void client_conf(const char *key, char *out, size_t len)
{
	if (ini_get(mh_diag_tlshd_conf(), "authenticate.client", key, out,
		    len) < 0)
		out[0] = '\0';
}

/* A boolean of tlshd's client role: [authenticate.client], else @section */
static bool client_bool(const char *section, const char *key, bool def)
{
	char v[32];
	bool b;

	client_conf(key, v, sizeof(v));
	if (!v[0] && section)
		ini_get(mh_diag_tlshd_conf(), section, key, v, sizeof(v));
	return v[0] && tlshd_config_parse_bool(v, &b) ? b : def;
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
	int ret = mh_rpc_send_record(fd, out, outlen);

	if (ret < 0)
		return ret;
	return mh_rpc_recv_record(fd, in, incap, 10000);
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

/* The chain failed: the status bits, most telling first, in words */
static void say_chain_status(unsigned int st, const char *store,
			     struct diag_report *r)
{
	char words[256];

	tlshd_log_cert_status(st, words, sizeof(words));
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
	else
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate (%s) does not verify (%s)",
		    r->peer_subject, words);
}

/* The name and the EKU, by tlshd's rules (policy.c) */
static bool check_name_eku(gnutls_x509_crt_t crt, const struct peer *p,
			   struct diag_report *r)
{
	char why[400];

	if (tlshd_x509_crt_name_match(crt, p->host, why, sizeof(why))) {
		say(r, DIAG_NAME_MISMATCH,
		    "the server certificate (%s) does not match the name '%s' checked (%s); it needs %s '%s' in its subjectAltName (tlshd uses no wildcard and no CN), or mount with the name it has",
		    r->peer_subject, p->host, why,
		    is_address(p->host) ? "an iPAddress entry" :
					  "a dNSName entry",
		    p->host);
		return false;
	}
	if (client_bool(NULL, "x509.require_eku", false) &&
	    !tlshd_x509_crt_has_eku(crt, TLSHD_OID_RPC_TLS_SERVER)) {
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate (%s) lacks the id-kp-rpcTLSServer EKU %s, which tlshd's x509.require_eku requires",
		    r->peer_subject, TLSHD_OID_RPC_TLS_SERVER);
		return false;
	}
	return true;
}

/* After the handshake: verify the server certificate as tlshd does. */
static bool check_server_cert(gnutls_session_t s, const struct peer *p,
			      const char *store, struct diag_report *r)
{
	const gnutls_datum_t *certs;
	unsigned int st = 0, n = 0;
	gnutls_x509_crt_t crt;
	bool ok;
	int ret;

	ret = gnutls_certificate_verify_peers2(s, &st);
	if (ret < 0) {
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate could not be verified: %s",
		    gnutls_strerror(ret));
		return false;
	}
	if (st) {
		say_chain_status(st, store, r);
		return false;
	}
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt) < 0) {
		say(r, DIAG_BAD_CERT_OTHER, "the server sent no certificate");
		return false;
	}
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		say(r, DIAG_BAD_CERT_OTHER,
		    "the server certificate does not parse");
		ok = false;
	} else {
		ok = check_name_eku(crt, p, r);
	}
	gnutls_x509_crt_deinit(crt);
	return ok;
}

static const char *alert_name(gnutls_session_t s)
{
	const char *n = gnutls_alert_get_name(gnutls_alert_get(s));

	return n ? n : "unknown alert";
}

/* One diagnosis: what mh_diag_run()'s steps share. */
struct diag_ctx {
	const struct peer		*p;
	const struct diag_opts		*o;
	struct diag_report		*r;
	int				fd;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t		s;
	char				store[640];	/* the trust anchors in words */
	bool				have_cert;	/* we present one */
	const char			*alpn_word;
};

/* A cleartext LOOKUP of the export on @fd: does it answer WRONGSEC? */
static void plain_wrongsec(int fd, const struct diag_opts *o,
			   struct diag_report *r)
{
	char err[256];
	uint32_t st;

	if (!mh_nfs4_lookup_status(tcp_io, &fd, o->export_path, &st, err,
				   sizeof(err)) && st == NFS4ERR_WRONGSEC)
		say(r, DIAG_WRONGSEC,
		    "the export %s refuses plaintext transports: LOOKUP without TLS answered NFS4ERR_WRONGSEC (mount with xprtsec=tls or mtls)",
		    o->export_path);
}

/*
 * A plaintext mount failed: does the export refuse plaintext transports?
 * An NFSv4 LOOKUP of the export on a fresh connection, without the probe
 * (a server offering TLS would otherwise start a handshake nobody ends).
 */
void mh_diag_plain(const struct peer *p, const struct diag_opts *o,
		   struct diag_report *r)
{
	char err[256];
	int fd;

	memset(r, 0, sizeof(*r));
	r->verdict = DIAG_UNKNOWN;
	if (!o->export_path || o->vers != 4)
		return;
	fd = mh_peer_connect(p, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		say(r, DIAG_UNREACHABLE, "%s", err);
		return;
	}
	plain_wrongsec(fd, o, r);
	close(fd);
}

/* Connect and send the AUTH_TLS probe: does the server offer STARTTLS? */
static bool step_probe(struct diag_ctx *c)
{
	char err[256], detail[256];
	enum probe_result pr;

	c->fd = mh_peer_connect(c->p, c->o->timeout_ms, err, sizeof(err));
	if (c->fd < 0) {
		say(c->r, DIAG_UNREACHABLE, "%s", err);
		return false;
	}
	pr = mh_probe_auth_tls(c->fd, c->o->vers, c->o->timeout_ms, detail,
			       sizeof(detail));
	if (pr == PROBE_STARTTLS)
		return true;
	if (pr == PROBE_UNREACHABLE || pr == PROBE_BAD_REPLY)
		say(c->r, DIAG_UNREACHABLE, "%s (%s port %u)", detail,
		    c->p->host, c->p->port);
	else
		say(c->r, DIAG_NO_STARTTLS,
		    "server %s (%s port %u) does not offer RPC-with-TLS: %s",
		    c->p->host, c->p->addrstr, c->p->port, detail);
	/* In cleartext, the export may refuse plain transports. */
	if (c->o->export_path && c->o->vers == 4) {
		close(c->fd);
		c->fd = mh_peer_connect(c->p, c->o->timeout_ms, err, sizeof(err));
		if (c->fd >= 0)
			plain_wrongsec(c->fd, c->o, c->r);
	}
	return false;
}

/*
 * The trust anchors of tlshd's client role (tlshd/config.c): its
 * x509.truststore (--ca instead, when given), plus the system store when
 * x509.system_trust says so (unset: only without a truststore), and the
 * revocations in x509.crl.
 */
static bool load_trust(struct diag_ctx *c)
{
	const struct diag_opts *o = c->o;
	char file[512], crl[512];
	bool system;
	int ret;

	if (o->truststore && *o->truststore)
		snprintf(file, sizeof(file), "%s", o->truststore);
	else
		client_conf("x509.truststore", file, sizeof(file));
	system = client_bool(NULL, "x509.system_trust", !file[0]);
	if (file[0]) {
		ret = gnutls_certificate_set_x509_trust_file(c->cred, file,
							     GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			say(c->r, DIAG_UNKNOWN,
			    "cannot load the truststore %s: %s", file,
			    ret ? gnutls_strerror(ret) : "no certificates");
			return false;
		}
	}
	if (system)
		gnutls_certificate_set_x509_system_trust(c->cred);
	snprintf(c->store, sizeof(c->store), "%s%s%s", file,
		 file[0] && system ? " and " : "",
		 system ? "the system trust store" :
		 file[0] ? "" : "no trust anchor (x509.system_trust is false)");
	client_conf("x509.crl", crl, sizeof(crl));
	if (!crl[0])
		return true;
	ret = gnutls_certificate_set_x509_crl_file(c->cred, crl,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		say(c->r, DIAG_UNKNOWN, "cannot load tlshd's x509.crl %s: %s",
		    crl, gnutls_strerror(ret));
		return false;
	}
	return true;
}

/* Our client certificate, if there is one: in memory or in files. */
static bool load_identity(struct diag_ctx *c)
{
	const struct diag_opts *o = c->o;
	int ret;

	if (o->certpem && o->keypem) {
		gnutls_datum_t cd = { (unsigned char *)o->certpem,
				      (unsigned int)o->certlen };
		gnutls_datum_t kd = { (unsigned char *)o->keypem,
				      (unsigned int)o->keylen };

		ret = gnutls_certificate_set_x509_key_mem(c->cred, &cd, &kd,
							  GNUTLS_X509_FMT_PEM);
		c->have_cert = ret >= 0;
		return true;
	}
	if (!o->certfile || !o->keyfile)
		return true;
	ret = gnutls_certificate_set_x509_key_file(c->cred, o->certfile,
						   o->keyfile,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		say(c->r, DIAG_UNKNOWN,
		    "cannot load the client certificate %s with key %s: %s",
		    o->certfile, o->keyfile, gnutls_strerror(ret));
		return false;
	}
	c->have_cert = true;
	return true;
}

/* A client session as the kernel asks tlshd for one. */
static bool setup_session(struct diag_ctx *c)
{
	gnutls_datum_t alpn = { (unsigned char *)TLSHD_ALPN,
				sizeof(TLSHD_ALPN) - 1 };
	const char *host = c->p->host;
	int ret;

	if (gnutls_init(&c->s, GNUTLS_CLIENT) < 0) {
		c->s = NULL;
		say(c->r, DIAG_UNKNOWN, "out of memory");
		return false;
	}
	ret = gnutls_priority_set_direct(c->s, TLSHD_PRIORITY, NULL);
	if (ret >= 0)
		ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
					     c->cred);
	if (ret >= 0)
		ret = gnutls_alpn_set_protocols(c->s, &alpn, 1,
						GNUTLS_ALPN_MANDATORY);
	if (ret >= 0 && !is_address(host))
		ret = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, host,
					     strlen(host));
	if (ret < 0) {
		say(c->r, DIAG_UNKNOWN, "GnuTLS set-up: %s",
		    gnutls_strerror(ret));
		return false;
	}
	gnutls_transport_set_int(c->s, c->fd);
	gnutls_handshake_set_timeout(c->s, (unsigned int)c->o->timeout_ms);
	gnutls_record_set_timeout(c->s, (unsigned int)c->o->timeout_ms);
	return true;
}

/* The server ended the handshake with an alert: which one says why. */
static void say_handshake_alert(struct diag_ctx *c)
{
	gnutls_alert_description_t a = gnutls_alert_get(c->s);

	if (a == GNUTLS_A_NO_APPLICATION_PROTOCOL)
		say(c->r, DIAG_ALPN,
		    "the server refused the TLS handshake: it does not accept ALPN \"sunrpc\" (alert %s)",
		    alert_name(c->s));
	else if (a == GNUTLS_A_PROTOCOL_VERSION)
		say(c->r, DIAG_TLS_VERSION,
		    "the server refused TLS 1.3 (alert %s); RFC 9289 needs TLS 1.3",
		    alert_name(c->s));
	else if (a == GNUTLS_A_CERTIFICATE_REQUIRED)
		say(c->r, DIAG_NEEDS_CLIENT_CERT,
		    "the server requires a client certificate (alert %s): mount with xprtsec=mtls",
		    alert_name(c->s));
	else
		say(c->r, DIAG_HANDSHAKE_FAILED,
		    "the server ended the TLS handshake with alert %s",
		    alert_name(c->s));
}

static void say_handshake_error(struct diag_ctx *c, int ret)
{
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
		say_handshake_alert(c);
	else if (ret == GNUTLS_E_NO_APPLICATION_PROTOCOL)
		say(c->r, DIAG_ALPN,
		    "the server selected an ALPN other than \"sunrpc\" (RFC 9289 section 5)");
	else if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
		say(c->r, DIAG_TLS_VERSION,
		    "the server does not speak TLS 1.3 (%s)",
		    gnutls_strerror(ret));
	else if (ret == GNUTLS_E_PREMATURE_TERMINATION)
		say(c->r, DIAG_HANDSHAKE_FAILED,
		    "the server %s answered STARTTLS, then closed the connection during the TLS handshake without an alert (so does a server whose handshake agent is not running)",
		    c->p->host);
	else
		say(c->r, DIAG_HANDSHAKE_FAILED,
		    "the TLS handshake with %s failed: %s", c->p->host,
		    gnutls_strerror(ret));
}

/* The handshake, then what it negotiated: version, cipher, peer, ALPN. */
static bool step_handshake(struct diag_ctx *c)
{
	struct diag_report *r = c->r;
	gnutls_datum_t sel;
	int ret;

	do {
		ret = gnutls_handshake(c->s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		say_handshake_error(c, ret);
		return false;
	}
	snprintf(r->tls_version, sizeof(r->tls_version), "%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(c->s)));
	snprintf(r->cipher, sizeof(r->cipher), "%s",
		 gnutls_cipher_get_name(gnutls_cipher_get(c->s)));
	peer_subject(c->s, r);
	/*
	 * No ALPN at all is what mainline's tlshd and FreeBSD answer: tlshd
	 * accepts it unless alpn.required is set, and so does the probe.
	 */
	c->alpn_word = "ALPN sunrpc";
	if (gnutls_alpn_get_selected_protocol(c->s, &sel) < 0) {
		if (client_bool("authenticate", "alpn.required", false)) {
			say(r, DIAG_ALPN,
			    "the server negotiated no ALPN, and tlshd's alpn.required is set (RFC 9289 section 5)");
			return false;
		}
		c->alpn_word = "no ALPN (accepted: tlshd's alpn.required is not set)";
	} else if (sel.size != strlen(TLSHD_ALPN) ||
		   memcmp(sel.data, TLSHD_ALPN, sel.size)) {
		say(r, DIAG_ALPN,
		    "the server selected an ALPN other than \"sunrpc\" (RFC 9289 section 5)");
		return false;
	}
	return check_server_cert(c->s, c->p, c->store, r);
}

/* A NULL call over TLS: TLS 1.3 servers judge our certificate now. */
static bool step_null_call(struct diag_ctx *c)
{
	uint32_t call[10] = {
		htonl(0x72706374U), htonl(0), htonl(2), htonl(100003),
		htonl(c->o->vers ? c->o->vers : 4), htonl(0),
		htonl(0), htonl(0), htonl(0), htonl(0),
	};
	bool asked = gnutls_certificate_client_get_request_status(c->s);
	unsigned char reply[256];
	int ret;

	ret = tls_io(c->s, call, sizeof(call), reply, sizeof(reply));
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED - 100000) {
		gnutls_alert_description_t a = gnutls_alert_get(c->s);

		if (a == GNUTLS_A_CERTIFICATE_REQUIRED)
			say(c->r, DIAG_NEEDS_CLIENT_CERT,
			    "the server requires a client certificate (alert %s after the handshake): mount with xprtsec=mtls%s",
			    alert_name(c->s),
			    c->have_cert ? "" : " and a client certificate (tlscert=/tlskey= or tlshd's x509.certificate)");
		else if (c->have_cert)
			say(c->r, DIAG_CLIENT_CERT_REJECTED,
			    "the server rejected our client certificate (alert %s)",
			    alert_name(c->s));
		else
			say(c->r, DIAG_HANDSHAKE_FAILED,
			    "the server ended the session with alert %s before answering an RPC%s",
			    alert_name(c->s),
			    asked ? "; it had asked for a client certificate and we sent none" : "");
		return false;
	}
	if (ret < 0) {
		say(c->r, DIAG_HANDSHAKE_FAILED,
		    "the server did not answer an RPC over TLS: %s%s",
		    ret <= -100000 ? gnutls_strerror(ret + 100000) :
				     strerror(-ret),
		    !c->have_cert && asked ?
		    " (it had asked for a client certificate and we sent none)" : "");
		return false;
	}
	return true;
}

/* Given an export: does a LOOKUP over TLS get NFS4ERR_WRONGSEC? */
static bool step_lookup(struct diag_ctx *c)
{
	char err[256];
	uint32_t st;

	if (!c->o->export_path || c->o->vers != 4)
		return true;
	if (mh_nfs4_lookup_status(tls_io, c->s, c->o->export_path, &st, err,
				  sizeof(err)) || st != NFS4ERR_WRONGSEC)
		return true;
	say(c->r, DIAG_WRONGSEC,
	    "the export %s refuses this security mode: LOOKUP over TLS (%s client) answered NFS4ERR_WRONGSEC%s",
	    c->o->export_path, c->have_cert ? "with a" : "without a",
	    c->have_cert ? "" : " (the export may need xprtsec=mtls)");
	return false;
}

void mh_diag_run(const struct peer *p, const struct diag_opts *o,
		 struct diag_report *r)
{
	struct diag_ctx c = { .p = p, .o = o, .r = r, .fd = -1 };

	memset(r, 0, sizeof(*r));
	if (!step_probe(&c))
		goto out;
	if (gnutls_certificate_allocate_credentials(&c.cred) < 0) {
		c.cred = NULL;
		say(r, DIAG_UNKNOWN, "out of memory");
		goto out;
	}
	if (!load_trust(&c) || !load_identity(&c) || !setup_session(&c) ||
	    !step_handshake(&c) || !step_null_call(&c) || !step_lookup(&c))
		goto out;
	say(r, DIAG_OK,
	    "the TLS handshake with %s worked (%s, %s, %s, server certificate %s verified against %s%s)",
	    p->host, r->tls_version, r->cipher, c.alpn_word, r->peer_subject,
	    c.store, c.have_cert ? ", client certificate accepted" : "");
out:
	if (c.s) {
		gnutls_bye(c.s, GNUTLS_SHUT_WR);
		gnutls_deinit(c.s);
	}
	if (c.cred)
		gnutls_certificate_free_credentials(c.cred);
	if (c.fd >= 0)
		close(c.fd);
}
