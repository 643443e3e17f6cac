// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-unit: table-driven unit tests for the configuration parser, the
 * peer-name matcher and (unit_netlink.c) the netlink upcall's messages and
 * the status table.  Prints one TAP line per case.
 *
 *   tlshd-unit [TMPDIR [TLSHD.8]]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlshd.h"
#include "unit.h"

static int failures;

void result(bool ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s: %s\n", name, why);
		failures++;
	}
}

/* ---- configuration ---- */

struct cfg_case {
	const char *name;
	const char *text;
	const char *want_err;	/* NULL: must parse; else substring */
};

static const struct cfg_case cfg_cases[] = {
	{ "config: empty file parses", "", NULL },
	{ "config: ktls-utils example parses",
	  "# tlshd.conf\n[debug]\nloglevel=0\ntls=0\nnl=0\n\n"
	  "[authenticate]\nkeyrings= .nfs;.nfsd;\n\n"
	  "[authenticate.client]\n#x509.truststore= <pathname>\n"
	  "x509.certificate= /etc/c.pem\nx509.private_key= /etc/k.pem\n\n"
	  "[authenticate.server]\nx509.truststore = /etc/ca.pem\n"
	  "x509.crl = /etc/crl.pem\n", NULL },
	{ "config: CRLF line ends and ; comments",
	  "; c\r\n[debug]\r\nloglevel = 2\r\n", NULL },
	{ "config: key outside a section names line 1",
	  "loglevel=1\n", "t.conf:1: key 'loglevel' outside" },
	{ "config: unknown section names its line",
	  "[debug]\n\n[bogus]\n", "t.conf:3: unknown section [bogus]" },
	{ "config: unknown key names key and line",
	  "[authenticate.client]\nx509.trustore = /x\n",
	  "t.conf:2: [authenticate.client] unknown key 'x509.trustore'" },
	{ "config: line without '=' is an error",
	  "[debug]\nloglevel\n", "t.conf:2: expected 'key = value'" },
	{ "config: unterminated section header",
	  "[debug\n", "t.conf:1: malformed section header" },
	{ "config: trailing junk after section header",
	  "[debug] x\n", "t.conf:1: malformed section header" },
	{ "config: non-numeric loglevel",
	  "[debug]\nloglevel = lots\n", "t.conf:2: [debug] 'loglevel' wants a number" },
	{ "config: loglevel out of range",
	  "[debug]\nloglevel = 10\n", "wants a number from 0 to 9" },
	{ "config: empty file name",
	  "[authenticate.server]\nx509.certificate =\n",
	  "t.conf:2: [authenticate.server] 'x509.certificate' needs a file name" },
	{ "config: bad boolean",
	  "[authenticate.client]\nx509.require_eku = maybe\n",
	  "t.conf:2: [authenticate.client] 'x509.require_eku' wants true or false" },
	{ "config: bad alpn.required",
	  "[authenticate]\nalpn.required = strict\n",
	  "t.conf:2: [authenticate] 'alpn.required' wants true or false" },
	{ "config: empty key",
	  "[debug]\n = 1\n", "t.conf:2: empty key" },
	{ "config: NUL byte rejected",
	  "[debug]\nloglevel=1\0\n", "t.conf:2: NUL byte" },
};

static void test_config(void)
{
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
		const struct cfg_case *c = &cfg_cases[i];
		size_t len = strlen(c->text);
		struct tlshd_config *cf;

		if (strstr(c->name, "NUL"))
			len += 2;	/* include the embedded NUL and '\n' */
		err[0] = '\0';
		cf = tlshd_config_parse_buf(c->text, len, "t.conf", err,
					    sizeof(err));
		if (!c->want_err)
			result(cf != NULL, c->name, err);
		else if (cf)
			result(false, c->name, "parsed, error expected");
		else
			result(strstr(err, c->want_err) != NULL, c->name, err);
		tlshd_config_put(cf);
	}
}

static void test_config_values(void)
{
	static const char text[] =
		"[debug]\nloglevel = 3\ntls=1\n"
		"[authenticate]\nkeyrings = .nfs ; .nfsd;\n"
		"[authenticate.client]\nx509.truststore = /etc/ca file.pem\n"
		"x509.require_eku = yes\n"
		"[authenticate.server]\nx509.certificate=/c.pem\n"
		"x509.private_key=/k.pem\nx509.crl=/crl.pem\n"
		"[authenticate.client]\nx509.truststore = /later.pem\n";
	char err[256];
	struct tlshd_config *cf;
	bool b;

	cf = tlshd_config_parse_buf(text, sizeof(text) - 1, "v.conf", err,
				    sizeof(err));
	if (!cf) {
		result(false, "config: values are stored", err);
		return;
	}
	result(cf->cf_loglevel == 3 && cf->cf_tls_debug == 1,
	       "config: [debug] numbers stored", "wrong loglevel/tls");
	result(cf->cf_nkeyrings == 2 && !strcmp(cf->cf_keyrings[0], ".nfs") &&
	       !strcmp(cf->cf_keyrings[1], ".nfsd"),
	       "config: keyrings list split on ';' and trimmed", "wrong list");
	result(cf->cf_client.ac_truststore &&
	       !strcmp(cf->cf_client.ac_truststore, "/later.pem"),
	       "config: a repeated section adds, a repeated key overrides",
	       cf->cf_client.ac_truststore ? cf->cf_client.ac_truststore :
					     "(null)");
	result(cf->cf_client.ac_require_eku && !cf->cf_server.ac_require_eku,
	       "config: require_eku per section", "wrong eku flags");
	result(cf->cf_server.ac_certificate && cf->cf_server.ac_private_key &&
	       cf->cf_server.ac_crl &&
	       !strcmp(cf->cf_server.ac_crl, "/crl.pem"),
	       "config: server paths stored", "missing path");
	result(!tlshd_config_alpn_required(cf, false) &&
	       !tlshd_config_alpn_required(cf, true),
	       "config: ALPN is not required by default (interop)",
	       "alpn.required on without the key");
	tlshd_config_put(cf);

	{
		static const char strict[] =
			"[authenticate.client]\nalpn.required = no\n"
			"[authenticate]\nalpn.required = yes\n";

		cf = tlshd_config_parse_buf(strict, sizeof(strict) - 1,
					    "s.conf", err, sizeof(err));
		result(cf && tlshd_config_alpn_required(cf, true) &&
		       !tlshd_config_alpn_required(cf, false),
		       "config: alpn.required in [authenticate], overridden per role",
		       cf ? "wrong per-role ALPN policy" : err);
		tlshd_config_put(cf);
	}

	result(tlshd_config_parse_bool("TRUE", &b) && b &&
	       tlshd_config_parse_bool("off", &b) && !b &&
	       !tlshd_config_parse_bool("2", &b),
	       "config: booleans", "parse_bool");
}

static void test_config_files(const char *dir)
{
	char path[512], err[512];
	struct tlshd_config *cf;
	FILE *f;

	cf = tlshd_config_load("/nonexistent/tlshd.conf", err, sizeof(err));
	result(!cf && strstr(err, "/nonexistent/tlshd.conf: No such file"),
	       "config: missing file named in the error", err);
	tlshd_config_put(cf);

	snprintf(path, sizeof(path), "%s/missing-cert.conf", dir);
	f = fopen(path, "w");
	if (!f) {
		result(false, "config: missing certificate file", "fopen");
		return;
	}
	fprintf(f, "[authenticate.server]\nx509.certificate = %s/nope.pem\n"
		   "x509.private_key = %s/nope.key\n", dir, dir);
	fclose(f);
	cf = tlshd_config_load(path, err, sizeof(err));
	if (cf && !tlshd_config_load_creds(cf, err, sizeof(err)))
		result(false, "config: missing certificate file",
		       "loaded, error expected");
	else
		result(strstr(err, "x509.certificate") &&
		       strstr(err, "nope.pem") && strstr(err, "No such file"),
		       "config: missing certificate file named in the error",
		       err);
	tlshd_config_put(cf);

	snprintf(path, sizeof(path), "%s/half.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "[authenticate.client]\nx509.certificate = /c.pem\n");
	fclose(f);
	cf = tlshd_config_load(path, err, sizeof(err));
	result(cf && tlshd_config_load_creds(cf, err, sizeof(err)) < 0 &&
	       strstr(err, "go together"),
	       "config: certificate without private key rejected", err);
	tlshd_config_put(cf);
}

/* ---- peer names ---- */

static struct tlshd_san dns(const char *s)
{
	struct tlshd_san san = { .san_kind = TLSHD_NAME_DNS };

	san.san_len = strlen(s);
	memcpy(san.san_data, s, san.san_len);
	return san;
}

static struct tlshd_san ip(const char *s)
{
	struct tlshd_san san = { .san_kind = TLSHD_NAME_IP };

	if (inet_pton(AF_INET, s, san.san_data) == 1)
		san.san_len = 4;
	else if (inet_pton(AF_INET6, s, san.san_data) == 1)
		san.san_len = 16;
	return san;
}

static void test_names(void)
{
	struct {
		const char *name;
		struct tlshd_san sans[3];
		unsigned int n;
		const char *peer;
		bool match;
	} cases[] = {
		{ "name: exact DNS-ID matches", { dns("server.test") }, 1,
		  "server.test", true },
		{ "name: DNS-ID is case-insensitive", { dns("Server.TEST") }, 1,
		  "server.test", true },
		{ "name: trailing dot ignored", { dns("server.test.") }, 1,
		  "server.test", true },
		{ "name: second SAN matches", { dns("a.test"), dns("b.test") },
		  2, "b.test", true },
		{ "name: different name rejected", { dns("server.test") }, 1,
		  "client.test", false },
		{ "name: suffix is not a match", { dns("server.test") }, 1,
		  "evil-server.test", false },
		{ "name: prefix is not a match", { dns("server.test") }, 1,
		  "server.test.evil", false },
		{ "name: wildcard SAN rejected (RFC 9289)",
		  { dns("*.test") }, 1, "server.test", false },
		{ "name: literal '*' peer name never matches a wildcard",
		  { dns("*.test") }, 1, "*.test", false },
		{ "name: IPv4 address matches iPAddress SAN",
		  { dns("server.test"), ip("192.0.2.1") }, 2, "192.0.2.1",
		  true },
		{ "name: IPv4 address does not match a DNS SAN spelled as it",
		  { dns("192.0.2.1") }, 1, "192.0.2.1", false },
		{ "name: other IPv4 address rejected", { ip("192.0.2.1") }, 1,
		  "192.0.2.2", false },
		{ "name: IPv6 address matches", { ip("fd00::1") }, 1,
		  "fd00:0:0::1", true },
		{ "name: bracketed IPv6 address matches", { ip("fd00::1") }, 1,
		  "[fd00::1]", true },
		{ "name: IPv4-mapped IPv6 does not match IPv4 SAN",
		  { ip("192.0.2.1") }, 1, "::ffff:192.0.2.1", false },
		{ "name: DNS name does not match an iPAddress SAN",
		  { ip("192.0.2.1") }, 1, "server.test", false },
		{ "name: no SANs rejected", { { 0 } }, 0, "server.test",
		  false },
		{ "name: empty peer name rejected", { dns("server.test") }, 1,
		  "", false },
	};
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = tlshd_x509_name_match(cases[i].sans, cases[i].n,
					      cases[i].peer, why, sizeof(why));

		result((r == 0) == cases[i].match, cases[i].name,
		       r ? why : "matched");
	}
	/* The reason names what the certificate holds and what we wanted. */
	{
		struct tlshd_san s[2] = { dns("*.test"), ip("192.0.2.9") };

		tlshd_x509_name_match(s, 2, "server.test", why, sizeof(why));
		result(strstr(why, "DNS:*.test") && strstr(why, "IP:192.0.2.9") &&
		       strstr(why, "'server.test'") && strstr(why, "wildcard"),
		       "name: mismatch reason lists the certificate names", why);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *manpage = argc > 2 ? argv[2] : "tlshd/tlshd.8";

	gnutls_global_init();
	test_config();
	test_config_values();
	test_config_files(dir);
	test_names();
	test_netlink(manpage);
	gnutls_global_deinit();
	return failures ? 1 : 0;
}
