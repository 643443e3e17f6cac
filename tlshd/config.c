// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd.conf: ktls-utils' INI format.
 *
 *   [debug]                 loglevel = N, tls = N (GnuTLS debug), nl = N
 *   [authenticate]          keyrings = name;name;..., alpn.required
 *   [authenticate.client]   x509.truststore, x509.crl, x509.certificate,
 *   [authenticate.server]   x509.private_key, x509.require_eku,
 *                           alpn.required (overrides [authenticate]'s)
 *
 * Lines are "key = value", "[section]", blank, or comments starting with
 * '#' or ';'.  Anything else is an error that names the file and line.
 * Parsing (tlshd_config_parse_buf) touches no files, so the fuzzer can
 * drive it; tlshd_config_load_creds() then reads the certificates.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlshd.h"

enum section {
	SEC_NONE,
	SEC_DEBUG,
	SEC_AUTH,
	SEC_CLIENT,
	SEC_SERVER,
};

static const char *const section_names[] = {
	[SEC_NONE] = "",
	[SEC_DEBUG] = "debug",
	[SEC_AUTH] = "authenticate",
	[SEC_CLIENT] = "authenticate.client",
	[SEC_SERVER] = "authenticate.server",
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool tlshd_config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static bool set_str(char **dst, const char *val)
{
	char *dup = strdup(val);

	if (!dup)
		return false;
	free(*dst);
	*dst = dup;
	return true;
}

/* "keyrings = .nfs;.nfsd" (GKeyFile list syntax; a trailing ';' is fine) */
static int parse_keyrings(struct tlshd_config *cf, char *val, char *why,
			  size_t whylen)
{
	char *save = NULL, *tok;
	unsigned int i;

	for (i = 0; i < cf->cf_nkeyrings; i++)
		free(cf->cf_keyrings[i]);
	cf->cf_nkeyrings = 0;
	for (tok = strtok_r(val, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		tok = trim(tok);
		if (!*tok)
			continue;
		if (cf->cf_nkeyrings == TLSHD_MAX_KEYRINGS) {
			seterr(why, whylen, "more than %d keyrings",
			       TLSHD_MAX_KEYRINGS);
			return -1;
		}
		cf->cf_keyrings[cf->cf_nkeyrings] = strdup(tok);
		if (!cf->cf_keyrings[cf->cf_nkeyrings]) {
			seterr(why, whylen, "out of memory");
			return -1;
		}
		cf->cf_nkeyrings++;
	}
	return 0;
}

static int parse_auth_key(struct tlshd_auth_conf *ac, const char *key,
			  const char *val, char *why, size_t whylen)
{
	char **dst = NULL;

	if (!strcmp(key, "x509.truststore"))
		dst = &ac->ac_truststore;
	else if (!strcmp(key, "x509.crl"))
		dst = &ac->ac_crl;
	else if (!strcmp(key, "x509.certificate"))
		dst = &ac->ac_certificate;
	else if (!strcmp(key, "x509.private_key"))
		dst = &ac->ac_private_key;
	else if (!strcmp(key, "x509.require_eku")) {
		if (!tlshd_config_parse_bool(val, &ac->ac_require_eku)) {
			seterr(why, whylen,
			       "'%s' wants true or false, not '%s'", key, val);
			return -1;
		}
		return 0;
	} else if (!strcmp(key, "alpn.required")) {
		bool on;

		if (!tlshd_config_parse_bool(val, &on)) {
			seterr(why, whylen,
			       "'%s' wants true or false, not '%s'", key, val);
			return -1;
		}
		ac->ac_alpn_required = on;
		return 0;
	} else {
		seterr(why, whylen, "unknown key '%s'", key);
		return -1;
	}
	if (!*val) {
		seterr(why, whylen, "'%s' needs a file name", key);
		return -1;
	}
	if (!set_str(dst, val)) {
		seterr(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_kv(struct tlshd_config *cf, enum section sec,
		    const char *key, char *val, char *why, size_t whylen)
{
	int dummy;

	switch (sec) {
	case SEC_NONE:
		seterr(why, whylen, "key '%s' outside of any [section]", key);
		return -1;
	case SEC_DEBUG:
		if (!strcmp(key, "loglevel")) {
			if (parse_int(val, 0, 9, &cf->cf_loglevel))
				return 0;
		} else if (!strcmp(key, "tls")) {
			if (parse_int(val, 0, 9, &cf->cf_tls_debug))
				return 0;
		} else if (!strcmp(key, "nl")) {
			/* ktls-utils' netlink debug level: no netlink here */
			if (parse_int(val, 0, 9, &dummy))
				return 0;
		} else {
			seterr(why, whylen, "unknown key '%s'", key);
			return -1;
		}
		seterr(why, whylen, "'%s' wants a number from 0 to 9, not '%s'",
		       key, val);
		return -1;
	case SEC_AUTH:
		if (!strcmp(key, "keyrings"))
			return parse_keyrings(cf, val, why, whylen);
		if (!strcmp(key, "alpn.required")) {
			if (tlshd_config_parse_bool(val, &cf->cf_alpn_required))
				return 0;
			seterr(why, whylen,
			       "'%s' wants true or false, not '%s'", key, val);
			return -1;
		}
		seterr(why, whylen, "unknown key '%s'", key);
		return -1;
	case SEC_CLIENT:
		return parse_auth_key(&cf->cf_client, key, val, why, whylen);
	case SEC_SERVER:
		return parse_auth_key(&cf->cf_server, key, val, why, whylen);
	}
	return -1;
}

static void free_auth(struct tlshd_auth_conf *ac)
{
	free(ac->ac_truststore);
	free(ac->ac_crl);
	free(ac->ac_certificate);
	free(ac->ac_private_key);
}

static void config_free(struct tlshd_config *cf)
{
	unsigned int i;

	if (!cf)
		return;
	for (i = 0; i < cf->cf_nkeyrings; i++)
		free(cf->cf_keyrings[i]);
	free_auth(&cf->cf_client);
	free_auth(&cf->cf_server);
	if (cf->cf_client_creds)
		gnutls_certificate_free_credentials(cf->cf_client_creds);
	if (cf->cf_server_creds)
		gnutls_certificate_free_credentials(cf->cf_server_creds);
	tlshd_x509_certkey_free(cf->cf_client_ck);
	tlshd_x509_certkey_free(cf->cf_server_ck);
	free(cf->cf_path);
	free(cf);
}

/*
 * RFC 9289 strict mode: is a peer that negotiates no ALPN refused in this
 * role?  By default it is accepted (deployed peers send none).
 */
bool tlshd_config_alpn_required(const struct tlshd_config *cf, bool server)
{
	const struct tlshd_auth_conf *ac = server ? &cf->cf_server :
						    &cf->cf_client;

	if (ac->ac_alpn_required >= 0)
		return ac->ac_alpn_required;
	return cf->cf_alpn_required;
}

struct tlshd_config *tlshd_config_get(struct tlshd_config *cf)
{
	cf->cf_refs++;
	return cf;
}

void tlshd_config_put(struct tlshd_config *cf)
{
	if (cf && --cf->cf_refs == 0)
		config_free(cf);
}

struct tlshd_config *tlshd_config_parse_buf(const char *buf, size_t len,
					    const char *name, char *err,
					    size_t errlen)
{
	enum section sec = SEC_NONE;
	struct tlshd_config *cf;
	char why[200];
	size_t pos = 0;
	unsigned int lineno = 0;
	char *line = NULL;

	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		seterr(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	cf->cf_refs = 1;
	cf->cf_client.ac_alpn_required = -1;
	cf->cf_server.ac_alpn_required = -1;
	cf->cf_path = strdup(name);
	if (!cf->cf_path)
		goto oom;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char *s, *eq, *key, *val;

		lineno++;
		if (memchr(buf + pos, '\0', n)) {
			seterr(err, errlen, "%s:%u: NUL byte in line", name,
			       lineno);
			goto fail;
		}
		free(line);
		line = strndup(buf + pos, n);
		if (!line)
			goto oom;
		pos += n + (nl ? 1 : 0);

		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			int i;

			if (!end || end[1]) {
				seterr(err, errlen,
				       "%s:%u: malformed section header '%s'",
				       name, lineno, s);
				goto fail;
			}
			*end = '\0';
			s = trim(s + 1);
			sec = SEC_NONE;
			for (i = SEC_DEBUG; i <= SEC_SERVER; i++)
				if (!strcmp(s, section_names[i]))
					sec = (enum section)i;
			if (sec == SEC_NONE) {
				seterr(err, errlen,
				       "%s:%u: unknown section [%s]", name,
				       lineno, s);
				goto fail;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			seterr(err, errlen,
			       "%s:%u: expected 'key = value', got '%s'", name,
			       lineno, s);
			goto fail;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (!*key) {
			seterr(err, errlen, "%s:%u: empty key", name, lineno);
			goto fail;
		}
		if (parse_kv(cf, sec, key, val, why, sizeof(why)) < 0) {
			if (sec == SEC_NONE)
				seterr(err, errlen, "%s:%u: %s", name, lineno,
				       why);
			else
				seterr(err, errlen, "%s:%u: [%s] %s", name,
				       lineno, section_names[sec], why);
			goto fail;
		}
	}
	free(line);
	return cf;

oom:
	seterr(err, errlen, "%s: out of memory", name);
fail:
	free(line);
	config_free(cf);
	return NULL;
}

struct tlshd_config *tlshd_config_load(const char *path, char *err,
				       size_t errlen)
{
	struct tlshd_config *cf;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap > (1U << 20)) {
				seterr(err, errlen, "%s: larger than 1 MiB",
				       path);
				goto fail;
			}
			nb = realloc(buf, cap + 8192);
			if (!nb) {
				seterr(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		seterr(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	cf = tlshd_config_parse_buf(buf ? buf : "", len, path, err, errlen);
	free(buf);
	return cf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static int load_trust(gnutls_certificate_credentials_t creds,
		      const struct tlshd_auth_conf *ac, const char *section,
		      const char *path, bool *system_trust, char *err,
		      size_t errlen)
{
	int ret;

	*system_trust = !ac->ac_truststore;
	if (ac->ac_truststore) {
		ret = gnutls_certificate_set_x509_trust_file(creds,
						ac->ac_truststore,
						GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			seterr(err, errlen,
			       "%s: [%s] x509.truststore %s: %s", path,
			       section, ac->ac_truststore,
			       ret == 0 ? "no certificates found" :
			       gnutls_strerror(ret));
			return -1;
		}
	}
	if (ac->ac_crl) {
		ret = gnutls_certificate_set_x509_crl_file(creds, ac->ac_crl,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			seterr(err, errlen, "%s: [%s] x509.crl %s: %s", path,
			       section, ac->ac_crl, gnutls_strerror(ret));
			return -1;
		}
	}
	return 0;
}

gnutls_certificate_credentials_t tlshd_config_creds(struct tlshd_config *cf,
						    bool server)
{
	bool *pending = server ? &cf->cf_server_system_trust :
				 &cf->cf_client_system_trust;
	gnutls_certificate_credentials_t creds = server ? cf->cf_server_creds :
							   cf->cf_client_creds;
	int ret;

	if (*pending) {
		*pending = false;
		ret = gnutls_certificate_set_x509_system_trust(creds);
		if (ret < 0)
			tlshd_log_warn("[%s]: no x509.truststore and no system trust store: %s",
				       server ? "authenticate.server" :
				       "authenticate.client",
				       gnutls_strerror(ret));
		else
			tlshd_log_info("[%s]: loaded %d CA certificates from the system trust store",
				       server ? "authenticate.server" :
				       "authenticate.client", ret);
	}
	return creds;
}

static int load_section(const struct tlshd_auth_conf *ac, const char *section,
			const char *path, bool *system_trust,
			gnutls_certificate_credentials_t *credsp,
			struct tlshd_certkey **ckp, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t creds;
	char why[256];
	int ret;

	if (!!ac->ac_certificate != !!ac->ac_private_key) {
		seterr(err, errlen,
		       "%s: [%s] x509.certificate and x509.private_key go together",
		       path, section);
		return -1;
	}
	ret = gnutls_certificate_allocate_credentials(&creds);
	if (ret < 0) {
		seterr(err, errlen, "%s", gnutls_strerror(ret));
		return -1;
	}
	if (load_trust(creds, ac, section, path, system_trust, err, errlen) < 0)
		goto fail;
	if (ac->ac_certificate) {
		struct tlshd_certkey *ck = calloc(1, sizeof(*ck));

		if (!ck) {
			seterr(err, errlen, "out of memory");
			goto fail;
		}
		if (tlshd_x509_certkey_load_files(ck, ac->ac_certificate,
						  ac->ac_private_key, why,
						  sizeof(why)) < 0) {
			free(ck);
			seterr(err, errlen, "%s: [%s] %s", path, section, why);
			goto fail;
		}
		*ckp = ck;
	}
	gnutls_certificate_set_verify_function(creds, tlshd_x509_verify_cb);
	gnutls_certificate_set_retrieve_function2(creds,
						  tlshd_x509_retrieve_cb);
	*credsp = creds;
	return 0;
fail:
	gnutls_certificate_free_credentials(creds);
	return -1;
}

int tlshd_config_load_creds(struct tlshd_config *cf, char *err, size_t errlen)
{
	if (load_section(&cf->cf_client, "authenticate.client", cf->cf_path,
			 &cf->cf_client_system_trust, &cf->cf_client_creds, &cf->cf_client_ck, err,
			 errlen) < 0)
		return -1;
	if (load_section(&cf->cf_server, "authenticate.server", cf->cf_path,
			 &cf->cf_server_system_trust, &cf->cf_server_creds, &cf->cf_server_ck, err,
			 errlen) < 0)
		return -1;
	return 0;
}
