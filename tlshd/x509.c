// SPDX-License-Identifier: GPL-2.0
/*
 * x.509: certificate chains with their keys, peer verification, and the
 * peer-name check of RFC 9289 section 5.2.1:
 *
 *  - the peer name the kernel passes is a DNS name or an IP address;
 *  - a DNS name matches a dNSName SAN, case-insensitively, trailing dot
 *    ignored; SANs containing '*' never match (RFC 9289: no wildcards);
 *  - an address matches an iPAddress SAN of the same family, exactly;
 *  - the subject CN is never used (RFC 6125 DNS-ID only).
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

#define MAX_SANS	64

static bool dns_equal(const unsigned char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen && a[alen - 1] == '.')
		alen--;
	if (blen && b[blen - 1] == '.')
		blen--;
	return alen && alen == blen && !strncasecmp((const char *)a, b, alen);
}

/*
 * Parse @name as an address: "192.0.2.1", "fd00::1", "[fd00::1]".
 * Returns the address length (4 or 16), or 0 for a DNS name.
 */
static size_t parse_addr(const char *name, unsigned char *addr)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(name);

	if (inet_pton(AF_INET, name, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, name, addr) == 1)
		return 16;
	if (n > 2 && n < sizeof(buf) && name[0] == '[' && name[n - 1] == ']') {
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1)
			return 16;
	}
	return 0;
}

static void describe_san(const struct tlshd_san *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (s->san_kind == TLSHD_NAME_DNS) {
		char name[4 * sizeof(s->san_data)];

		/* the peer's bytes: escaped before they reach the log */
		snprintf(buf, len, "DNS:%s",
			 tlshd_log_escape(s->san_data, s->san_len, name,
					  sizeof(name)));
	} else if (s->san_len == 4 || s->san_len == 16) {
		inet_ntop(s->san_len == 4 ? AF_INET : AF_INET6, s->san_data, a,
			  sizeof(a));
		snprintf(buf, len, "IP:%s", a);
	} else {
		snprintf(buf, len, "IP:(%zu bytes)", s->san_len);
	}
}

int tlshd_x509_name_match(const struct tlshd_san *sans, unsigned int nsans,
			  const char *peername, char *why, size_t whylen)
{
	unsigned char addr[16];
	size_t alen, used = 0;
	bool wildcard = false;
	unsigned int i;
	char one[300];

	if (!peername || !*peername) {
		snprintf(why, whylen, "no peer name to check the certificate against");
		return -1;
	}
	alen = parse_addr(peername, addr);
	for (i = 0; i < nsans; i++) {
		const struct tlshd_san *s = &sans[i];

		if (alen) {
			if (s->san_kind == TLSHD_NAME_IP && s->san_len == alen &&
			    !memcmp(s->san_data, addr, alen))
				return 0;
			continue;
		}
		if (s->san_kind != TLSHD_NAME_DNS)
			continue;
		if (memchr(s->san_data, '*', s->san_len)) {
			wildcard = true;
			continue;
		}
		if (memchr(s->san_data, '\0', s->san_len))
			continue;
		if (dns_equal(s->san_data, s->san_len, peername))
			return 0;
	}

	used = snprintf(why, whylen, "certificate names (");
	for (i = 0; i < nsans && used < whylen; i++) {
		describe_san(&sans[i], one, sizeof(one));
		used += snprintf(why + used, whylen - used, "%s%s",
				 i ? " " : "", one);
	}
	if (used < whylen)
		used += snprintf(why + used, whylen - used,
				 "%s) do not match %s '%s'%s",
				 nsans ? "" : "none", alen ? "address" : "name",
				 tlshd_log_escape(peername, strlen(peername), one,
						  sizeof(one)),
				 wildcard ? " (wildcard names are not accepted)" :
				 "");
	return -1;
}

int tlshd_x509_crt_name_match(gnutls_x509_crt_t crt, const char *peername,
			      char *why, size_t whylen)
{
	/* 17 KiB: off the stack, one per worker thread */
	static _Thread_local struct tlshd_san sans[MAX_SANS];
	unsigned int n = 0, idx;

	for (idx = 0; n < MAX_SANS; idx++) {
		size_t size = sizeof(sans[n].san_data);
		unsigned int critical;
		int ret;

		ret = gnutls_x509_crt_get_subject_alt_name(crt, idx,
							   sans[n].san_data,
							   &size, &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;	/* longer than any DNS name */
		if (ret < 0)
			break;
		if (ret == GNUTLS_SAN_DNSNAME)
			sans[n].san_kind = TLSHD_NAME_DNS;
		else if (ret == GNUTLS_SAN_IPADDRESS)
			sans[n].san_kind = TLSHD_NAME_IP;
		else
			continue;
		sans[n].san_len = size;
		n++;
	}
	return tlshd_x509_name_match(sans, n, peername, why, whylen);
}

bool tlshd_x509_crt_has_eku(gnutls_x509_crt_t crt, const char *oid)
{
	unsigned int idx;

	for (idx = 0;; idx++) {
		char buf[128];
		size_t size = sizeof(buf);
		int ret;

		ret = gnutls_x509_crt_get_key_purpose_oid(crt, idx, buf, &size,
							  NULL);
		if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (ret < 0)
			return false;
		if (!strcmp(buf, oid))
			return true;
	}
}

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
	unsigned int n = 0, status = 0;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	char words[256], why[400];
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

	if (gnutls_x509_crt_init(&crt) < 0)
		return GNUTLS_E_MEMORY_ERROR;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return verify_fail(hs, "peer certificate does not parse");
	}
	if (!gnutls_x509_crt_get_dn3(crt, &dn, 0)) {
		tlshd_log_escape(dn.data, dn.size, hs->hs_peer_subject,
				 sizeof(hs->hs_peer_subject));
		gnutls_free(dn.data);
	}

	ret = gnutls_certificate_verify_peers2(session, &status);
	if (ret < 0) {
		gnutls_x509_crt_deinit(crt);
		return verify_fail(hs, "certificate verification: %s",
				   gnutls_strerror(ret));
	}
	if (status) {
		tlshd_log_cert_status(status, words, sizeof(words));
		gnutls_x509_crt_deinit(crt);
		return verify_fail(hs, "peer certificate: %s", words);
	}

	if (!is_server(hs)) {
		const char *name = hs->hs_params.p_peername;

		/* No name from the kernel: the address it connected to. */
		if (!*name)
			name = hs->hs_peeraddr;
		if (tlshd_x509_crt_name_match(crt, name, why, sizeof(why))) {
			gnutls_x509_crt_deinit(crt);
			return verify_fail(hs, "%s", why);
		}
	}
	if (ac->ac_require_eku) {
		const char *oid = is_server(hs) ? TLSHD_OID_RPC_TLS_CLIENT :
						  TLSHD_OID_RPC_TLS_SERVER;

		if (!tlshd_x509_crt_has_eku(crt, oid)) {
			gnutls_x509_crt_deinit(crt);
			return verify_fail(hs,
					   "peer certificate lacks the %s EKU %s",
					   is_server(hs) ? "id-kp-rpcTLSClient" :
					   "id-kp-rpcTLSServer", oid);
		}
	}
	gnutls_x509_crt_deinit(crt);
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
