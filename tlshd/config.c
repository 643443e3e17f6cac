// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration file: ktls-utils' format (a GLib key file), so an
 * existing ktls-utils configuration works unchanged.
 *
 *   [debug]                 loglevel = N, tls = N (GnuTLS debug),
 *                           nl = N (netlink messages), delay_done = N
 *   [authenticate]          keyrings = name-or-serial;..., alpn.required
 *   [authenticate.client]   x509.truststore, x509.crl, x509.certificate,
 *   [authenticate.server]   x509.private_key (a file or a GnuTLS URL),
 *                           x509.pq.certificate, x509.pq.private_key,
 *                           x509.require_eku, x509.system_trust and
 *                           alpn.required (ours); x509.crl_cuts_sessions
 *                           (ours, [authenticate.server] only)
 *
 * Trust anchors: x509.truststore, plus the system store when
 * x509.system_trust is true.  Unset, x509.system_trust is true for the
 * client role without a truststore (servers are usually named by the web
 * PKI) and false for the server role: a client certificate chained to the
 * system store proves only that someone bought a certificate, and must not
 * open an mtls export.  A server role with no anchor at all does not ask
 * for client certificates.
 *
 * Lines are "key = value", "[section]", blank, or comments starting with
 * '#' (or ';').  Values take the key file's escapes (\s \n \t \r \\, and
 * \; inside lists).  The [debug] numbers take any integer, as ktls-utils
 * does; one that is not a number is read as 0 with a warning, as GLib
 * reads it.  Keys ktls-utils documents but tlshd does not implement
 * (delay_done, the post-quantum pair) are accepted with one warning each.
 * Anything else (an unknown key or section, a line that is neither) is an
 * error that names the file and line: a misspelt x509.crl must not go
 * unnoticed.  Parsing (tlshd_config_parse_buf) touches no files, so the
 * fuzzer can drive it; tlshd_config_load_creds() then reads the
 * certificates, and records each file's identity and times so that a
 * changed file is read again before the next handshake.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

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

static void warn(struct tlshd_config *cf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keep a warning for the caller to log (parsing itself logs nothing). */
static void warn(struct tlshd_config *cf, const char *fmt, ...)
{
	size_t old = cf->cf_warnings ? strlen(cf->cf_warnings) : 0;
	char line[300], *nw;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	nw = realloc(cf->cf_warnings, old + strlen(line) + 2);
	if (!nw)
		return;
	memcpy(nw + old, line, strlen(line));
	nw[old + strlen(line)] = '\n';
	nw[old + strlen(line) + 1] = '\0';
	cf->cf_warnings = nw;
}

void tlshd_config_log_warnings(const struct tlshd_config *cf)
{
	const char *p = cf->cf_warnings, *nl;

	while (p && (nl = strchr(p, '\n'))) {
		tlshd_log_warn("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/*
 * The file ktls-utils 1.3 and later read: /etc/tlshd/config, or the old
 * /etc/tlshd.conf when only that one exists.
 */
/* [debug] numbers: any int, as g_key_file_get_integer() reads them */
static bool parse_any_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || errno || *end || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/*
 * The key file's escapes, in place: \s \n \t \r \\ (and \; when @list).
 * False for any other backslash sequence, as GLib refuses it.
 */
static bool unescape(char *s, bool list)
{
	char *d = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*d++ = *s;
			continue;
		}
		switch (*++s) {
		case 's':
			*d++ = ' ';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 't':
			*d++ = '\t';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case '\\':
			*d++ = '\\';
			break;
		case ';':
			if (list) {
				*d++ = ';';
				break;
			}
			/* fall through */
		default:
			return false;
		}
	}
	*d = '\0';
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

/* A keyring named by serial number (ktls-utils accepts both), else 0. */
int tlshd_config_keyring_serial(const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(name, &end, 0);
	if (!*name || *end || errno || v <= 0 || v > INT32_MAX)
		return 0;
	return (int)v;
}

static int add_keyring(struct tlshd_config *cf, const char *name,
		       bool implicit, char *why, size_t whylen)
{
	unsigned int i;

	for (i = 0; i < cf->cf_nkeyrings; i++)
		if (!strcmp(cf->cf_keyrings[i], name)) {
			cf->cf_keyring_implicit[i] &= implicit;
			return 0;
		}
	if (cf->cf_nkeyrings == TLSHD_MAX_KEYRINGS) {
		seterr(why, whylen, "more than %d keyrings",
		       TLSHD_MAX_KEYRINGS - 3);
		return -1;
	}
	cf->cf_keyrings[cf->cf_nkeyrings] = strdup(name);
	if (!cf->cf_keyrings[cf->cf_nkeyrings]) {
		seterr(why, whylen, "out of memory");
		return -1;
	}
	cf->cf_keyring_implicit[cf->cf_nkeyrings++] = implicit;
	return 0;
}

/*
 * "keyrings = .nfs;.nfsd" (the key file's list syntax: ';' separates, "\;"
 * is a ';' inside a name, a trailing ';' is fine).  A repeated key
 * replaces the list.
 */
static int parse_keyrings(struct tlshd_config *cf, char *val, char *why,
			  size_t whylen)
{
	char *tok = val, *p;
	unsigned int i;
	bool last = false;

	for (i = 0; i < cf->cf_nkeyrings; i++)
		free(cf->cf_keyrings[i]);
	cf->cf_nkeyrings = 0;
	while (!last) {
		/* the next ';' that is not escaped */
		for (p = tok; *p && *p != ';'; p++)
			if (*p == '\\' && p[1])
				p++;
		last = !*p;
		*p = '\0';
		if (!unescape(tok, true)) {
			seterr(why, whylen, "'keyrings': bad escape in '%s'",
			       tok);
			return -1;
		}
		tok = trim(tok);
		if (*tok && add_keyring(cf, tok, false, why, whylen) < 0)
			return -1;
		tok = p + 1;
	}
	return 0;
}

/* A boolean into a setting that is -1 while unset; 0 or -1 (why set) */
static int parse_setting(const char *key, const char *val, int *dst,
			 char *why, size_t whylen)
{
	bool on;

	if (!tlshd_config_parse_bool(val, &on)) {
		seterr(why, whylen, "'%s' wants true or false, not '%s'", key,
		       val);
		return -1;
	}
	*dst = on;
	return 0;
}

static int parse_auth_key(struct tlshd_auth_conf *ac, const char *key,
			  char *val, char *why, size_t whylen)
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
	else if (!strcmp(key, "x509.pq.certificate"))
		dst = &ac->ac_pq_certificate;
	else if (!strcmp(key, "x509.pq.private_key"))
		dst = &ac->ac_pq_private_key;
	else if (!strcmp(key, "x509.require_eku") ||
		 !strcmp(key, "x509.system_trust")) {
		bool *b = key[5] == 'r' ? &ac->ac_require_eku :
					  &ac->ac_system_trust;

		if (!tlshd_config_parse_bool(val, b)) {
			seterr(why, whylen,
			       "'%s' wants true or false, not '%s'", key, val);
			return -1;
		}
		if (b == &ac->ac_system_trust)
			ac->ac_system_trust_set = true;
		return 0;
	} else if (!strcmp(key, "x509.crl_cuts_sessions")) {
		return parse_setting(key, val, &ac->ac_crl_cuts, why, whylen);
	} else if (!strcmp(key, "alpn.required")) {
		return parse_setting(key, val, &ac->ac_alpn_required, why,
				     whylen);
	} else {
		seterr(why, whylen, "unknown key '%s'", key);
		return -1;
	}
	if (!unescape(val, false)) {
		seterr(why, whylen, "'%s': bad escape in '%s'", key, val);
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

/* [debug]: numbers, any integer; not a number: 0, with a warning */
static int parse_debug(struct tlshd_config *cf, const char *key,
		       const char *val, unsigned int lineno, char *why,
		       size_t whylen)
{
	int *dst, v = 0;

	if (!strcmp(key, "loglevel"))
		dst = &cf->cf_loglevel;
	else if (!strcmp(key, "tls"))
		dst = &cf->cf_tls_debug;
	else if (!strcmp(key, "nl"))
		dst = &cf->cf_nl_debug;
	else if (!strcmp(key, "delay_done"))
		dst = NULL;
	else {
		seterr(why, whylen, "unknown key '%s'", key);
		return -1;
	}
	if (!parse_any_int(val, &v)) {
		warn(cf, "%s:%u: [debug] '%s' is not a number ('%s'): using 0, as ktls-utils does",
		     cf->cf_path, lineno, key, val);
		v = 0;
	}
	if (dst)
		*dst = v < 0 ? 0 : v;
	else if (v)
		warn(cf, "%s:%u: [debug] delay_done = %d ignored: tlshd does not delay its reports (a ktls-utils testing aid)",
		     cf->cf_path, lineno, v);
	return 0;
}

static int parse_kv(struct tlshd_config *cf, enum section sec,
		    const char *key, char *val, unsigned int lineno,
		    char *why, size_t whylen)
{
	switch (sec) {
	case SEC_NONE:
		seterr(why, whylen, "key '%s' outside of any [section]", key);
		return -1;
	case SEC_DEBUG:
		return parse_debug(cf, key, val, lineno, why, whylen);
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
		if (!strcmp(key, "x509.crl_cuts_sessions")) {
			seterr(why, whylen,
			       "'%s' belongs in [authenticate.server]: only the server role keeps sessions to cut",
			       key);
			return -1;
		}
		return parse_auth_key(&cf->cf_client, key, val, why, whylen);
	case SEC_SERVER:
		return parse_auth_key(&cf->cf_server, key, val, why, whylen);
	}
	return -1;
}

/* After parsing: what ktls-utils always does, and what we do not. */
static int parse_done(struct tlshd_config *cf, char *why, size_t whylen)
{
	static const char *const always[] = { ".nfs", ".nfsd", ".nvme" };
	static const char *const sections[] = { "authenticate.client",
						"authenticate.server" };
	const struct tlshd_auth_conf *acs[] = { &cf->cf_client,
						&cf->cf_server };
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (add_keyring(cf, always[i], true, why, whylen) < 0)
			return -1;
	for (i = 0; i < 2; i++) {
		if (acs[i]->ac_pq_certificate)
			warn(cf, "%s: [%s] x509.pq.certificate ignored: this tlshd does not present post-quantum (ML-DSA) certificates (GnuTLS %s); x509.certificate is presented to every peer",
			     cf->cf_path, sections[i],
			     gnutls_check_version(NULL));
		if (acs[i]->ac_pq_private_key)
			warn(cf, "%s: [%s] x509.pq.private_key ignored: it goes with x509.pq.certificate, which this tlshd does not use",
			     cf->cf_path, sections[i]);
	}
	return 0;
}

static void free_auth(struct tlshd_auth_conf *ac)
{
	free(ac->ac_truststore);
	free(ac->ac_crl);
	free(ac->ac_certificate);
	free(ac->ac_private_key);
	free(ac->ac_pq_certificate);
	free(ac->ac_pq_private_key);
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
	if (cf->cf_client_file_tl)
		gnutls_x509_trust_list_deinit(cf->cf_client_file_tl, 1);
	if (cf->cf_server_file_tl)
		gnutls_x509_trust_list_deinit(cf->cf_server_file_tl, 1);
	free(cf->cf_path);
	free(cf->cf_text);
	free(cf->cf_warnings);
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
	__atomic_add_fetch(&cf->cf_refs, 1, __ATOMIC_RELAXED);
	return cf;
}

void tlshd_config_put(struct tlshd_config *cf)
{
	if (cf && __atomic_sub_fetch(&cf->cf_refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cf);
}

/* An empty configuration named @name that keeps a copy of its text */
static struct tlshd_config *config_new(const char *buf, size_t len,
				       const char *name)
{
	struct tlshd_config *cf = calloc(1, sizeof(*cf));

	if (!cf)
		return NULL;
	cf->cf_refs = 1;
	cf->cf_client.ac_alpn_required = -1;
	cf->cf_server.ac_alpn_required = -1;
	cf->cf_client.ac_crl_cuts = -1;
	cf->cf_server.ac_crl_cuts = -1;
	cf->cf_path = strdup(name);
	cf->cf_text = malloc(len + 1);
	if (!cf->cf_path || !cf->cf_text) {
		config_free(cf);
		return NULL;
	}
	memcpy(cf->cf_text, buf, len);
	cf->cf_text[len] = '\0';
	cf->cf_textlen = len;
	return cf;
}

/* "[name]" (@s trimmed) sets *@sec; -1 with @why for anything else */
static int parse_section(char *s, enum section *sec, char *why,
			 size_t whylen)
{
	char *end = strchr(s, ']');
	int i;

	if (!end || end[1]) {
		seterr(why, whylen, "malformed section header '%s'", s);
		return -1;
	}
	*end = '\0';
	s = trim(s + 1);
	*sec = SEC_NONE;
	for (i = SEC_DEBUG; i <= SEC_SERVER; i++)
		if (!strcmp(s, section_names[i]))
			*sec = (enum section)i;
	if (*sec == SEC_NONE) {
		seterr(why, whylen, "unknown section [%s]", s);
		return -1;
	}
	return 0;
}

/* One line (trimmed, not a comment) of section *@sec; -1 with @why */
static int parse_line(struct tlshd_config *cf, enum section *sec, char *s,
		      unsigned int lineno, char *why, size_t whylen)
{
	char *eq, *key, *val, kvwhy[200];

	if (*s == '[')
		return parse_section(s, sec, why, whylen);
	eq = strchr(s, '=');
	if (!eq) {
		seterr(why, whylen, "expected 'key = value', got '%s'", s);
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (!*key) {
		seterr(why, whylen, "empty key");
		return -1;
	}
	if (parse_kv(cf, *sec, key, val, lineno, kvwhy, sizeof(kvwhy)) < 0) {
		if (*sec == SEC_NONE)
			seterr(why, whylen, "%s", kvwhy);
		else
			seterr(why, whylen, "[%s] %s", section_names[*sec],
			       kvwhy);
		return -1;
	}
	return 0;
}

struct tlshd_config *tlshd_config_parse_buf(const char *buf, size_t len,
					    const char *name, char *err,
					    size_t errlen)
{
	enum section sec = SEC_NONE;
	struct tlshd_config *cf;
	unsigned int lineno = 0;
	char *line = NULL, *s;
	char why[1024];
	size_t pos = 0;

	cf = config_new(buf, len, name);
	if (!cf)
		goto oom;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

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
		if (parse_line(cf, &sec, s, lineno, why, sizeof(why)) < 0) {
			seterr(err, errlen, "%s:%u: %s", name, lineno, why);
			goto fail;
		}
	}
	if (parse_done(cf, why, sizeof(why)) < 0) {
		seterr(err, errlen, "%s: %s", name, why);
		goto fail;
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

/* Does @ac make the system store an anchor for its role? */
static bool uses_system(const struct tlshd_auth_conf *ac, bool server)
{
	if (ac->ac_system_trust_set)
		return ac->ac_system_trust;
	return !server && !ac->ac_truststore;
}

static int load_trust(gnutls_certificate_credentials_t creds,
		      const struct tlshd_auth_conf *ac, bool server,
		      const char *section, const char *path,
		      bool *system_trust, gnutls_x509_trust_list_t *file_tl,
		      char *err, size_t errlen)
{
	int ret;

	*system_trust = uses_system(ac, server);
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
	/* With both sources, a copy of the file's CAs tells them apart. */
	if (ac->ac_truststore && *system_trust) {
		ret = gnutls_x509_trust_list_init(file_tl, 0);
		if (ret >= 0)
			ret = gnutls_x509_trust_list_add_trust_file(*file_tl,
						ac->ac_truststore, NULL,
						GNUTLS_X509_FMT_PEM, 0, 0);
		if (ret < 0) {
			seterr(err, errlen, "%s: [%s] x509.truststore %s: %s",
			       path, section, ac->ac_truststore,
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

/* Does the role have any trust anchor (a truststore or the system's)? */
bool tlshd_config_has_anchors(const struct tlshd_config *cf, bool server)
{
	const struct tlshd_auth_conf *ac = server ? &cf->cf_server :
						    &cf->cf_client;

	return ac->ac_truststore || uses_system(ac, server);
}

/*
 * Where @anchor, a CA that verified a peer, comes from: "x509.truststore"
 * or "system trust store".
 */
const char *tlshd_config_anchor_source(const struct tlshd_config *cf,
				       bool server, gnutls_x509_crt_t anchor)
{
	const struct tlshd_auth_conf *ac = server ? &cf->cf_server :
						    &cf->cf_client;
	gnutls_x509_trust_list_t tl = server ? cf->cf_server_file_tl :
					       cf->cf_client_file_tl;
	gnutls_x509_crt_t found;

	if (!uses_system(ac, server))
		return "x509.truststore";
	if (!ac->ac_truststore || !tl)
		return "system trust store";
	/* Both: is @anchor one of the file's CAs? */
	if (!gnutls_x509_trust_list_get_issuer(tl, anchor, &found,
					       GNUTLS_TL_GET_COPY)) {
		bool same = gnutls_x509_crt_equals(found, anchor);

		gnutls_x509_crt_deinit(found);
		if (same)
			return "x509.truststore";
	}
	return "system trust store";
}

gnutls_certificate_credentials_t tlshd_config_creds(struct tlshd_config *cf,
						    bool server)
{
	bool *pending = server ? &cf->cf_server_system_trust :
				 &cf->cf_client_system_trust;
	gnutls_certificate_credentials_t creds = server ? cf->cf_server_creds :
							   cf->cf_client_creds;
	static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
	int ret;

	/*
	 * Workers ask at once: the first loads, the others wait for it, and
	 * once loaded the credentials are never written again.
	 */
	if (!__atomic_load_n(pending, __ATOMIC_ACQUIRE))
		return creds;
	pthread_mutex_lock(&trust_lock);
	if (*pending) {
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
		__atomic_store_n(pending, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&trust_lock);
	return creds;
}

static int load_section(const struct tlshd_auth_conf *ac, bool server,
			const char *section, const char *path,
			bool *system_trust, gnutls_x509_trust_list_t *file_tl,
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
	if (load_trust(creds, ac, server, section, path, system_trust,
		       file_tl, err, errlen) < 0)
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

/* ---- files that change on disk ---------------------------------------- */

static void stamp_fill(struct tlshd_file_stamp *fs)
{
	struct stat st;

	fs->fs_errno = stat(fs->fs_path, &st) < 0 ? errno : 0;
	if (fs->fs_errno) {
		fs->fs_dev = 0;
		fs->fs_ino = 0;
		fs->fs_size = 0;
		memset(&fs->fs_mtime, 0, sizeof(fs->fs_mtime));
		memset(&fs->fs_ctime, 0, sizeof(fs->fs_ctime));
		return;
	}
	fs->fs_dev = st.st_dev;
	fs->fs_ino = st.st_ino;
	fs->fs_size = st.st_size;
	fs->fs_mtime = st.st_mtim;
	fs->fs_ctime = st.st_ctim;
}

/* Note how @path looks now, before it is read. */
static void stamp(struct tlshd_config *cf, const char *section,
		  const char *key, const char *path)
{
	struct tlshd_file_stamp *fs;

	if (!path || tlshd_x509_is_url(path) ||
	    cf->cf_nstamps == TLSHD_MAX_STAMPS)
		return;
	fs = &cf->cf_stamps[cf->cf_nstamps++];
	fs->fs_path = path;
	fs->fs_section = section;
	fs->fs_key = key;
	stamp_fill(fs);
}

static void stamp_section(struct tlshd_config *cf,
			  const struct tlshd_auth_conf *ac,
			  const char *section)
{
	stamp(cf, section, "x509.truststore", ac->ac_truststore);
	stamp(cf, section, "x509.crl", ac->ac_crl);
	stamp(cf, section, "x509.certificate", ac->ac_certificate);
	stamp(cf, section, "x509.private_key", ac->ac_private_key);
}

/*
 * Has a file the credentials came from changed (replaced, rewritten,
 * touched, appeared or vanished) since it was read?  A stat() each, so it
 * is cheap enough to ask before every handshake, as ktls-utils reads the
 * files for every handshake.  @what names the first one changed.
 */
bool tlshd_config_changed(const struct tlshd_config *cf, char *what,
			  size_t len)
{
	unsigned int i;

	for (i = 0; i < cf->cf_nstamps; i++) {
		const struct tlshd_file_stamp *old = &cf->cf_stamps[i];
		struct tlshd_file_stamp now = *old;

		stamp_fill(&now);
		if (now.fs_errno == old->fs_errno && now.fs_dev == old->fs_dev &&
		    now.fs_ino == old->fs_ino && now.fs_size == old->fs_size &&
		    !memcmp(&now.fs_mtime, &old->fs_mtime, sizeof(now.fs_mtime)) &&
		    !memcmp(&now.fs_ctime, &old->fs_ctime, sizeof(now.fs_ctime)))
			continue;
		seterr(what, len, "[%s] %s %s", old->fs_section, old->fs_key,
		       old->fs_path);
		return true;
	}
	return false;
}

/* Take the files as they are now as read (after a rebuild that failed). */
void tlshd_config_restamp(struct tlshd_config *cf)
{
	unsigned int i;

	for (i = 0; i < cf->cf_nstamps; i++)
		stamp_fill(&cf->cf_stamps[i]);
}

/* The same settings, the credentials read again from the files. */
struct tlshd_config *tlshd_config_rebuild(const struct tlshd_config *cf,
					  char *err, size_t errlen)
{
	struct tlshd_config *nc;

	nc = tlshd_config_parse_buf(cf->cf_text, cf->cf_textlen, cf->cf_path,
				    err, errlen);
	if (nc && tlshd_config_load_creds(nc, err, errlen) < 0) {
		tlshd_config_put(nc);
		nc = NULL;
	}
	return nc;
}

int tlshd_config_load_creds(struct tlshd_config *cf, char *err, size_t errlen)
{
	cf->cf_nstamps = 0;
	stamp_section(cf, &cf->cf_client, "authenticate.client");
	stamp_section(cf, &cf->cf_server, "authenticate.server");
	if (load_section(&cf->cf_client, false, "authenticate.client",
			 cf->cf_path, &cf->cf_client_system_trust,
			 &cf->cf_client_file_tl, &cf->cf_client_creds,
			 &cf->cf_client_ck, err, errlen) < 0)
		return -1;
	if (load_section(&cf->cf_server, true, "authenticate.server",
			 cf->cf_path, &cf->cf_server_system_trust,
			 &cf->cf_server_file_tl, &cf->cf_server_creds,
			 &cf->cf_server_ck, err, errlen) < 0)
		return -1;
	return 0;
}
