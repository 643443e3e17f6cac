// SPDX-License-Identifier: GPL-2.0
/*
 * x.509: certificate chains with their keys, and peer verification (the
 * chain, then the peer-name and EKU rules of policy.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tlshd.h"

static void certkey_clear(struct tlshd_certkey *ck)
{
	unsigned int i;

	for (i = 0; i < ck->ck_ncerts; i++)
		gnutls_pcert_deinit(&ck->ck_pcert[i]);
	ck->ck_ncerts = 0;
	if (ck->ck_key)
		gnutls_privkey_deinit(ck->ck_key);
	ck->ck_key = NULL;
}

void tlshd_x509_certkey_free(struct tlshd_certkey *ck)
{
	if (!ck)
		return;
	certkey_clear(ck);
	free(ck);
}

static gnutls_x509_crt_fmt_t guess_format(const gnutls_datum_t *d)
{
	return memmem(d->data, d->size, "-----BEGIN", 10) ?
		GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
}

/* Prove that @key belongs to the leaf certificate: sign and verify. */
static int check_pair(struct tlshd_certkey *ck)
{
	static const unsigned char msg[] = "tlshd key pair check";
	const gnutls_datum_t data = { (unsigned char *)msg, sizeof(msg) };
	gnutls_datum_t sig = { NULL, 0 };
	gnutls_sign_algorithm_t algo;
	int pk, ret;

	pk = gnutls_pubkey_get_pk_algorithm(ck->ck_pcert[0].pubkey, NULL);
	if (pk == GNUTLS_PK_RSA_PSS)
		pk = GNUTLS_PK_RSA;
	algo = gnutls_pk_to_sign(pk, GNUTLS_DIG_SHA256);
	if (algo == GNUTLS_SIGN_UNKNOWN)
		return 0;	/* cannot tell; the handshake will */
	ret = gnutls_privkey_sign_data2(ck->ck_key, algo, 0, &data, &sig);
	if (ret < 0)
		return ret;
	ret = gnutls_pubkey_verify_data2(ck->ck_pcert[0].pubkey, algo, 0,
					 &data, &sig);
	gnutls_free(sig.data);
	return ret < 0 ? ret : 0;
}

int tlshd_x509_certkey_load_mem(struct tlshd_certkey *ck,
				const gnutls_datum_t *cert,
				const gnutls_datum_t *key, char *err,
				size_t errlen)
{
	unsigned int n = TLSHD_MAX_CHAIN;
	int ret;

	ret = gnutls_pcert_list_import_x509_raw(ck->ck_pcert, &n, cert,
						guess_format(cert), 0);
	if (ret < 0 || n == 0) {
		snprintf(err, errlen, "certificate: %s",
			 ret < 0 ? gnutls_strerror(ret) : "no certificate");
		return -1;
	}
	ck->ck_ncerts = n;
	ret = gnutls_privkey_init(&ck->ck_key);
	if (ret < 0)
		goto fail;
	ret = gnutls_privkey_import_x509_raw(ck->ck_key, key,
					     guess_format(key), NULL, 0);
	if (ret < 0) {
		snprintf(err, errlen, "private key: %s", gnutls_strerror(ret));
		return -1;
	}
	ret = check_pair(ck);
	if (ret < 0) {
		snprintf(err, errlen,
			 "private key does not match the certificate (%s)",
			 gnutls_strerror(ret));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", gnutls_strerror(ret));
	return -1;
}

/*
 * Does @s name a key by URL ("pkcs11:...", "tpmkey:...", "tpm2:...")?  An
 * RFC 3986 scheme followed by ':', as ktls-utils decides; a file whose name
 * looks like one is written "./name".
 */
bool tlshd_x509_is_url(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++) {
		if (*s == ':')
			return true;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '+' || *s == '-' ||
		      *s == '.'))
			return false;
	}
	return false;
}

/* @url for messages, with the value of any "pin-value=" left out. */
void tlshd_x509_redact_url(const char *url, char *buf, size_t len)
{
	static const char pin[] = "pin-value=";
	size_t o = 0;

	if (!len)
		return;
	while (*url && o + 1 < len) {
		if (!strncasecmp(url, pin, sizeof(pin) - 1)) {
			o += (size_t)snprintf(buf + o, len - o, "%s<redacted>",
					      pin);
			if (o >= len)
				break;
			url += sizeof(pin) - 1;
			while (*url && *url != ';' && *url != '&' &&
			       *url != '?')
				url++;
			continue;
		}
		buf[o++] = *url++;
	}
	buf[o < len ? o : len - 1] = '\0';
}

/*
 * A private key file: root's (or ours), and nobody else may touch it; as
 * ktls-utils asks for (it only warns; a key others can read is as good as
 * published, so tlshd refuses it).
 */
static int read_key_file(const char *path, gnutls_datum_t *out, char *err,
			 size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "x509.private_key %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "x509.private_key %s: not a regular file",
			 path);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "x509.private_key %s is owned by uid %u, not root: refused (chown root, chmod 0600)",
			 path, (unsigned int)st.st_uid);
		goto fail;
	}
	if (st.st_mode & S_IRWXO) {
		snprintf(err, errlen,
			 "x509.private_key %s can be read or written by others (mode %04o): refused (chmod 0600)",
			 path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_mode & S_IRWXG)
		tlshd_log_warn("x509.private_key %s is group-accessible (mode %04o); 0600 is safer",
			       path, (unsigned int)(st.st_mode & 07777));
	if (st.st_size <= 0 || st.st_size > (1 << 20)) {
		snprintf(err, errlen, "x509.private_key %s: %s", path,
			 st.st_size ? "larger than 1 MiB" : "empty");
		goto fail;
	}
	out->data = gnutls_malloc((size_t)st.st_size);
	if (!out->data) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = read(fd, out->data, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, errlen, "x509.private_key %s: short read", path);
		gnutls_memset(out->data, 0, (size_t)st.st_size);
		gnutls_free(out->data);
		out->data = NULL;
		goto fail;
	}
	out->size = (unsigned int)n;
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* A key by GnuTLS URL (PKCS#11 token, TPM): it never leaves the device. */
static int load_url_key(struct tlshd_certkey *ck, const char *url, char *err,
			size_t errlen)
{
	char shown[300];
	int ret;

	tlshd_x509_redact_url(url, shown, sizeof(shown));
	if (!gnutls_url_is_supported(url)) {
		snprintf(err, errlen,
			 "x509.private_key %s: this GnuTLS cannot open '%.*s' URLs (write a file name that looks like a URL as ./name)",
			 shown, (int)(strchr(url, ':') - url + 1), url);
		return -1;
	}
	ret = gnutls_privkey_init(&ck->ck_key);
	if (!ret)
		ret = gnutls_privkey_import_url(ck->ck_key, url, 0);
	if (ret < 0) {
		snprintf(err, errlen, "x509.private_key %s: %s%s", shown,
			 gnutls_strerror(ret),
			 ret == GNUTLS_E_PKCS11_PIN_ERROR ?
			 " (give the PIN with pin-value= or pin-source= in the URL)" :
			 "");
		return -1;
	}
	return 0;
}

int tlshd_x509_certkey_load_files(struct tlshd_certkey *ck,
				  const char *certfile, const char *keyfile,
				  char *err, size_t errlen)
{
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	unsigned int n = TLSHD_MAX_CHAIN;
	char why[300];
	int ret;

	errno = 0;
	ret = gnutls_load_file(certfile, &cert);
	if (ret < 0) {
		snprintf(err, errlen, "x509.certificate %s: %s", certfile,
			 errno ? strerror(errno) : gnutls_strerror(ret));
		return -1;
	}
	if (tlshd_x509_is_url(keyfile)) {
		ret = gnutls_pcert_list_import_x509_raw(ck->ck_pcert, &n, &cert,
							guess_format(&cert), 0);
		gnutls_free(cert.data);
		if (ret < 0 || !n) {
			snprintf(err, errlen, "x509.certificate %s: %s",
				 certfile, ret < 0 ? gnutls_strerror(ret) :
				 "no certificate");
			return -1;
		}
		ck->ck_ncerts = n;
		ret = load_url_key(ck, keyfile, err, errlen);
		if (!ret && check_pair(ck) < 0) {
			snprintf(err, errlen,
				 "x509.private_key does not match the certificate %s",
				 certfile);
			ret = -1;
		}
		if (ret)
			certkey_clear(ck);
		return ret;
	}
	if (read_key_file(keyfile, &key, err, errlen) < 0) {
		gnutls_free(cert.data);
		return -1;
	}
	ret = tlshd_x509_certkey_load_mem(ck, &cert, &key, why, sizeof(why));
	if (ret < 0) {
		/* Name the file that holds the culprit. */
		snprintf(err, errlen, "%s %s: %s",
			 strncmp(why, "certificate", 11) ? "x509.private_key" :
			 "x509.certificate",
			 strncmp(why, "certificate", 11) ? keyfile : certfile,
			 why);
		certkey_clear(ck);
	}
	gnutls_memset(key.data, 0, key.size);
	gnutls_free(key.data);
	gnutls_free(cert.data);
	return ret;
}

static bool is_server(const struct tlshd_handshake *hs)
{
	return hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_X509 ||
	       hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_PSK;
}

static int verify_fail(struct tlshd_handshake *hs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int verify_fail(struct tlshd_handshake *hs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hs->hs_reason, sizeof(hs->hs_reason), fmt, ap);
	va_end(ap);
	hs->hs_verify_errno = EACCES;
	return GNUTLS_E_CERTIFICATE_ERROR;
}

/*
 * The alert RFC 8446 6.2 has for a chain that failed with @status, so that
 * the peer (and its kernel's log) learns the cause, not just
 * bad_certificate.  Other refusals (no certificate, name, EKU) keep the
 * alert GnuTLS picks for them.
 */
static gnutls_alert_description_t status_alert(unsigned int status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return GNUTLS_A_CERTIFICATE_REVOKED;
	if (status & GNUTLS_CERT_EXPIRED)
		return GNUTLS_A_CERTIFICATE_EXPIRED;
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return GNUTLS_A_UNKNOWN_CA;
	return GNUTLS_A_BAD_CERTIFICATE;
}

/*
 * The trust anchor that verified @peers: the CA in our trust list that
 * issued the first certificate of the chain it issued one of (the leaf,
 * or the intermediate the peer sent), as "DN (source)" in
 * hs_peer_anchor.  GnuTLS's verification stops at the same CA.
 */
static void find_anchor(struct tlshd_handshake *hs, gnutls_session_t session,
			const gnutls_datum_t *peers, unsigned int n)
{
	gnutls_certificate_credentials_t creds;
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t crt, issuer = NULL;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned int i;

	snprintf(hs->hs_peer_anchor, sizeof(hs->hs_peer_anchor), "unknown");
	if (gnutls_credentials_get(session, GNUTLS_CRD_CERTIFICATE,
				   (void **)&creds) < 0)
		return;
	gnutls_certificate_get_trust_list(creds, &tl);
	for (i = 0; i < n && !issuer; i++) {
		if (gnutls_x509_crt_init(&crt) < 0)
			return;
		if (!gnutls_x509_crt_import(crt, &peers[i],
					    GNUTLS_X509_FMT_DER) &&
		    gnutls_x509_trust_list_get_issuer(tl, crt, &issuer,
						      GNUTLS_TL_GET_COPY))
			issuer = NULL;
		gnutls_x509_crt_deinit(crt);
	}
	if (!issuer)
		return;
	if (!gnutls_x509_crt_get_dn3(issuer, &dn, 0)) {
		char name[TLSHD_ANCHOR_MAX];

		snprintf(hs->hs_peer_anchor, sizeof(hs->hs_peer_anchor),
			 "%s (%s)",
			 tlshd_log_escape(dn.data, dn.size, name, sizeof(name)),
			 tlshd_config_anchor_source(hs->hs_config,
						    is_server(hs), issuer));
		gnutls_free(dn.data);
	}
	gnutls_x509_crt_deinit(issuer);
}

/* The peer's leaf certificate into *@crt, its subject noted; 0 or an error */
static int peer_leaf(struct tlshd_handshake *hs, const gnutls_datum_t *der,
		     gnutls_x509_crt_t *crt)
{
	gnutls_datum_t dn;

	if (gnutls_x509_crt_init(crt) < 0)
		return GNUTLS_E_MEMORY_ERROR;
	if (gnutls_x509_crt_import(*crt, der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*crt);
		return verify_fail(hs, "peer certificate does not parse");
	}
	if (!gnutls_x509_crt_get_dn3(*crt, &dn, 0)) {
		tlshd_log_escape(dn.data, dn.size, hs->hs_peer_subject,
				 sizeof(hs->hs_peer_subject));
		gnutls_free(dn.data);
	}
	return 0;
}

/* The chain: truststore, CRLs, validity; 0 or an error */
static int check_chain(struct tlshd_handshake *hs, gnutls_session_t session)
{
	unsigned int status = 0;
	char words[256];
	int ret;

	ret = gnutls_certificate_verify_peers2(session, &status);
	if (ret < 0)
		return verify_fail(hs, "certificate verification: %s",
				   gnutls_strerror(ret));
	if (status) {
		tlshd_log_cert_status(status, words, sizeof(words));
		hs->hs_verify_alert = status_alert(status);
		return verify_fail(hs, "peer certificate: %s", words);
	}
	return 0;
}

/* The name (client side) and the RPC-with-TLS EKU when configured */
static int check_name_eku(struct tlshd_handshake *hs,
			  const struct tlshd_auth_conf *ac,
			  gnutls_x509_crt_t crt)
{
	const char *name = hs->hs_params.p_peername;
	char why[400];

	if (!is_server(hs)) {
		/* No name from the kernel: the address it connected to. */
		if (!*name)
			name = hs->hs_peeraddr;
		if (tlshd_x509_crt_name_match(crt, name, why, sizeof(why)))
			return verify_fail(hs, "%s", why);
	}
	if (ac->ac_require_eku &&
	    !tlshd_x509_crt_has_eku(crt, is_server(hs) ?
				    TLSHD_OID_RPC_TLS_CLIENT :
				    TLSHD_OID_RPC_TLS_SERVER))
		return verify_fail(hs, "peer certificate lacks the %s EKU %s",
				   is_server(hs) ? "id-kp-rpcTLSClient" :
				   "id-kp-rpcTLSServer",
				   is_server(hs) ? TLSHD_OID_RPC_TLS_CLIENT :
				   TLSHD_OID_RPC_TLS_SERVER);
	return 0;
}

/*
 * Called by GnuTLS once the peer's Certificate and CertificateVerify are
 * in: verify the chain (truststore, CRLs, validity), then the name
 * (client side) and the RPC-with-TLS EKU when configured.
 */
int tlshd_x509_verify_cb(gnutls_session_t session)
{
	struct tlshd_handshake *hs = gnutls_session_get_ptr(session);
	const struct tlshd_auth_conf *ac;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt;
	unsigned int n = 0;
	int ret;

	if (!hs)
		return GNUTLS_E_CERTIFICATE_ERROR;
	ac = is_server(hs) ? &hs->hs_config->cf_server :
			     &hs->hs_config->cf_client;
	peers = gnutls_certificate_get_peers(session, &n);
	if (!peers || !n) {
		if (is_server(hs) &&
		    !(hs->hs_params.p_flags & TLSH_F_PEER_CERT_REQUIRED))
			return 0;
		return verify_fail(hs, "peer sent no certificate");
	}
	ret = peer_leaf(hs, &peers[0], &crt);
	if (ret)
		return ret;
	ret = check_chain(hs, session);
	if (!ret)
		ret = check_name_eku(hs, ac, crt);
	gnutls_x509_crt_deinit(crt);
	if (ret)
		return ret;
	find_anchor(hs, session, peers, n);
	hs->hs_peer_auth = true;
	return 0;
}

/* Hands GnuTLS our certificate: from the kernel's key serials, or config. */
int tlshd_x509_retrieve_cb(gnutls_session_t session,
			   const gnutls_datum_t *req_ca_rdn, int nreqs,
			   const gnutls_pk_algorithm_t *pk_algos,
			   int pk_algos_length, gnutls_pcert_st **pcert,
			   unsigned int *pcert_length,
			   gnutls_privkey_t *privkey)
{
	struct tlshd_handshake *hs = gnutls_session_get_ptr(session);
	struct tlshd_certkey *ck = NULL;

	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	*pcert_length = 0;
	*pcert = NULL;
	*privkey = NULL;
	if (!hs)
		return -1;
	switch (hs->hs_params.p_type) {
	case TLSH_TYPE_CLIENTHELLO_X509:
		ck = hs->hs_keyring_ck ? hs->hs_keyring_ck :
					 hs->hs_config->cf_client_ck;
		break;
	case TLSH_TYPE_SERVERHELLO_X509:
		ck = hs->hs_keyring_ck ? hs->hs_keyring_ck :
					 hs->hs_config->cf_server_ck;
		break;
	default:
		break;
	}
	if (ck) {
		*pcert = ck->ck_pcert;
		*pcert_length = ck->ck_ncerts;
		*privkey = ck->ck_key;
	}
	return 0;
}
