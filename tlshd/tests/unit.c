// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd-unit: table-driven unit tests for the configuration parser, the
 * peer-name matcher, the PSK lookup and (unit_netlink.c) the netlink
 * upcall's messages and the status table.  Prints one TAP line per case.
 *
 *   tlshd-unit TMPDIR CERTDIR [TLSHD.8]   (CERTDIR: tests/mkcerts.sh)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <keyutils.h>

#include "tlshd.h"
#include "unit.h"

static int failures, cases;

void result(bool ok, const char *name, const char *why)
{
	cases++;
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
	{ "config: non-numeric loglevel is 0 with a warning (as GLib reads it)",
	  "[debug]\nloglevel = lots\n", NULL },
	{ "config: loglevel takes any integer (ktls-utils' range)",
	  "[debug]\nloglevel = 10\ntls = 99\nnl = -3\n", NULL },
	{ "config: ktls-utils 1.4's example configuration, every key set",
	  "#\n# ktls-utils 1.4 etc/tlshd/config, with each key given a value\n#\n"
	  "[debug]\nloglevel=0\ntls=0\nnl=0\n\n"
	  "[authenticate]\nkeyrings= .nfs;.nfsd;.nvme\n\n"
	  "[authenticate.client]\nx509.truststore= /etc/tlshd/ca.pem\n"
	  "x509.crl= /etc/tlshd/crl.pem\nx509.certificate= /etc/tlshd/client.pem\n"
	  "x509.private_key= /etc/tlshd/client.key\n"
	  "x509.pq.certificate= /etc/tlshd/client-mldsa.pem\n"
	  "x509.pq.private_key= /etc/tlshd/client-mldsa.key\n\n"
	  "[authenticate.server]\nx509.truststore= /etc/tlshd/ca.pem\n"
	  "x509.crl= /etc/tlshd/crl.pem\nx509.certificate= /etc/tlshd/server.pem\n"
	  "x509.private_key= /etc/tlshd/server.key\n"
	  "x509.pq.certificate= /etc/tlshd/server-mldsa.pem\n"
	  "x509.pq.private_key= /etc/tlshd/server-mldsa.key\n", NULL },
	{ "config: ktls-utils 1.4's example as shipped (all commented out)",
	  "[debug]\nloglevel=0\ntls=0\nnl=0\n\n[authenticate]\n"
	  "#keyrings= <keyring>;<keyring>;<keyring>\n\n[authenticate.client]\n"
	  "#x509.truststore= <pathname>\n#x509.crl= <pathname>\n"
	  "#x509.pq.certificate= <pathname>\n\n[authenticate.server]\n"
	  "#x509.private_key= <pathname>\n", NULL },
	{ "config: Debian 13's ktls-utils 1.0 /etc/tlshd.conf (empty sections)",
	  "[debug]\nloglevel=0\ntls=0\nnl=0\n\n[authenticate]\n\n"
	  "[authenticate.client]\n\n[authenticate.server]\n", NULL },
	{ "config: tlshd.conf(5) forms: keyring by serial, key by URL, ./ file",
	  "[authenticate]\nkeyrings = 123456;.nfsd\n[authenticate.client]\n"
	  "x509.certificate = /c.pem\n"
	  "x509.private_key = pkcs11:token=nfs;object=client-key\n"
	  "[authenticate.server]\nx509.certificate = /s.pem\n"
	  "x509.private_key = ./pkcs11:not-a-url.pem\n", NULL },
	{ "config: delay_done accepted (with a warning)",
	  "[debug]\ndelay_done = 3\n", NULL },
	{ "config: value escapes \\s \\t \\\\ are read",
	  "[authenticate.client]\nx509.truststore = /a\\sb\\tc\\\\d\n", NULL },
	{ "config: an unknown escape is an error",
	  "[authenticate.client]\nx509.crl = /a\\qb\n",
	  "t.conf:2: [authenticate.client] 'x509.crl': bad escape" },
	{ "config: an unknown key in [debug] is still an error",
	  "[debug]\nloglvel = 1\n", "t.conf:2: [debug] unknown key 'loglvel'" },
	{ "config: empty file name",
	  "[authenticate.server]\nx509.certificate =\n",
	  "t.conf:2: [authenticate.server] 'x509.certificate' needs a file name" },
	{ "config: bad boolean",
	  "[authenticate.client]\nx509.require_eku = maybe\n",
	  "t.conf:2: [authenticate.client] 'x509.require_eku' wants true or false" },
	{ "config: bad alpn.required",
	  "[authenticate]\nalpn.required = strict\n",
	  "t.conf:2: [authenticate] 'alpn.required' wants true or false" },
	{ "config: bad x509.system_trust",
	  "[authenticate.server]\nx509.system_trust = sometimes\n",
	  "t.conf:2: [authenticate.server] 'x509.system_trust' wants true or false" },
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

static struct tlshd_config *parse(const char *text, char *err, size_t len)
{
	err[0] = '\0';
	return tlshd_config_parse_buf(text, strlen(text), "p.conf", err, len);
}

static bool has_warning(const struct tlshd_config *cf, const char *s)
{
	return cf && cf->cf_warnings && strstr(cf->cf_warnings, s);
}

/* ktls-utils' keys, as ktls-utils reads them */
static void config_parity_values(void)
{
	struct tlshd_config *cf;
	char err[512];

	cf = parse("[authenticate]\n", err, sizeof(err));
	result(cf && cf->cf_nkeyrings == 3 &&
	       !strcmp(cf->cf_keyrings[0], ".nfs") &&
	       !strcmp(cf->cf_keyrings[1], ".nfsd") &&
	       !strcmp(cf->cf_keyrings[2], ".nvme") &&
	       cf->cf_keyring_implicit[0] && cf->cf_keyring_implicit[2],
	       "config: .nfs, .nfsd, .nvme linked without being configured",
	       err);
	tlshd_config_put(cf);

	cf = parse("[authenticate]\nkeyrings = a\\;b; 4242 ;\n", err,
		   sizeof(err));
	result(cf && cf->cf_nkeyrings == 5 &&
	       !strcmp(cf->cf_keyrings[0], "a;b") &&
	       !strcmp(cf->cf_keyrings[1], "4242") &&
	       tlshd_config_keyring_serial(cf->cf_keyrings[1]) == 4242 &&
	       !tlshd_config_keyring_serial(cf->cf_keyrings[0]) &&
	       !tlshd_config_keyring_serial("-4") &&
	       !tlshd_config_keyring_serial(".nfs"),
	       "config: keyrings: \\; inside a name, a serial number", err);
	tlshd_config_put(cf);

	cf = parse("[debug]\nloglevel = lots\ntls = 99\nnl = 2\n", err,
		   sizeof(err));
	result(cf && cf->cf_loglevel == 0 && cf->cf_tls_debug == 99 &&
	       cf->cf_nl_debug == 2 &&
	       has_warning(cf, "p.conf:2: [debug] 'loglevel' is not a number ('lots'): using 0"),
	       "config: [debug] numbers: any integer, a word is 0 and named",
	       cf && cf->cf_warnings ? cf->cf_warnings : err);
	tlshd_config_put(cf);

	cf = parse("[debug]\nloglevel = -4\ndelay_done = 0\n", err,
		   sizeof(err));
	result(cf && cf->cf_loglevel == 0 && !cf->cf_warnings,
	       "config: negative loglevel is 0; delay_done = 0 says nothing",
	       cf && cf->cf_warnings ? cf->cf_warnings : err);
	tlshd_config_put(cf);

	cf = parse("[debug]\ndelay_done = 5\n", err, sizeof(err));
	result(has_warning(cf, "delay_done = 5 ignored: tlshd does not delay its reports"),
	       "config: delay_done accepted with one warning naming it and why",
	       cf && cf->cf_warnings ? cf->cf_warnings : err);
	tlshd_config_put(cf);

	cf = parse("[authenticate.server]\nx509.pq.certificate = /pq.pem\n"
		   "x509.pq.private_key = /pq.key\n", err, sizeof(err));
	result(has_warning(cf, "[authenticate.server] x509.pq.certificate ignored: this tlshd does not present post-quantum (ML-DSA) certificates") &&
	       has_warning(cf, "[authenticate.server] x509.pq.private_key ignored"),
	       "config: x509.pq.* accepted with one warning each, naming it and why",
	       cf && cf->cf_warnings ? cf->cf_warnings : err);
	tlshd_config_put(cf);

	cf = parse("[authenticate.client]\nx509.truststore = /a\\sb\\tc\\\\d\n",
		   err, sizeof(err));
	result(cf && cf->cf_client.ac_truststore &&
	       !strcmp(cf->cf_client.ac_truststore, "/a b\tc\\d"),
	       "config: value escapes become space, tab, backslash",
	       cf && cf->cf_client.ac_truststore ? cf->cf_client.ac_truststore :
	       err);
	tlshd_config_put(cf);
}

static void test_urls(void)
{
	static const struct {
		const char *s;
		bool url;
	} cases[] = {
		{ "pkcs11:token=nfs;object=key", true },
		{ "tpmkey:file=/etc/tlshd/key.tpm", true },
		{ "tpm2:handle=0x81000001", true },
		{ "/etc/tlshd/server.key", false },
		{ "./pkcs11:a-file-after-all.key", false },
		{ "server.key", false },
		{ "1pkcs11:x", false },
		{ "pk cs11:x", false },
	};
	char buf[200];
	size_t i;
	bool ok = true;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tlshd_x509_is_url(cases[i].s) != cases[i].url) {
			snprintf(buf, sizeof(buf), "'%s'", cases[i].s);
			result(false, "config: key URLs told from file names", buf);
			ok = false;
		}
	if (ok)
		result(true, "config: key URLs told from file names (RFC 3986 scheme, ./ for files)", "");
	tlshd_x509_redact_url("pkcs11:token=t;object=k;pin-value=1234;type=private",
			      buf, sizeof(buf));
	result(!strcmp(buf, "pkcs11:token=t;object=k;pin-value=<redacted>;type=private"),
	       "config: a PIN in a key URL never reaches a message", buf);
	tlshd_x509_redact_url("pkcs11:object=k?PIN-VALUE=99&x=1", buf,
			      sizeof(buf));
	result(!strcmp(buf, "pkcs11:object=k?pin-value=<redacted>&x=1"),
	       "config: pin-value in the query part redacted too", buf);
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
	result(cf->cf_nkeyrings == 3 && !strcmp(cf->cf_keyrings[0], ".nfs") &&
	       !strcmp(cf->cf_keyrings[1], ".nfsd") &&
	       !strcmp(cf->cf_keyrings[2], ".nvme") &&
	       !cf->cf_keyring_implicit[0] && !cf->cf_keyring_implicit[1] &&
	       cf->cf_keyring_implicit[2],
	       "config: keyrings split on ';' and trimmed; .nvme added as ktls-utils does",
	       "wrong list");
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

	/* Finding: the server role must not trust the system store unasked */
	{
		static const struct {
			const char *name, *text;
			bool client, server;
		} t[] = {
			{ "trust: no truststore: the client role uses the system store, the server role has no anchor",
			  "", true, false },
			{ "trust: x509.truststore gives the server role an anchor",
			  "[authenticate.server]\nx509.truststore = /ca.pem\n", true, true },
			{ "trust: the server role uses the system store only when asked (x509.system_trust = yes)",
			  "[authenticate.server]\nx509.system_trust = yes\n", true, true },
			{ "trust: x509.system_trust = no leaves a client role without truststore no anchor",
			  "[authenticate.client]\nx509.system_trust = no\n", false, false },
		};
		size_t i;

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			struct tlshd_config *c;

			c = tlshd_config_parse_buf(t[i].text, strlen(t[i].text),
						   "a.conf", err, sizeof(err));
			result(c && tlshd_config_has_anchors(c, false) == t[i].client &&
			       tlshd_config_has_anchors(c, true) == t[i].server,
			       t[i].name, c ? "wrong anchors" : err);
			tlshd_config_put(c);
		}
	}

	config_parity_values();

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

bool copy_file(const char *from, const char *to, mode_t mode)
{
	char tmp[600], buf[8192];
	FILE *in = fopen(from, "re"), *out;
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	out = fopen(tmp, "we");
	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	/* in place as an ACME client does: a new file renamed over the old */
	return !chmod(tmp, mode) && !rename(tmp, to);
}

struct tlshd_config *load_conf(const char *path, const char *text,
			       char *err, size_t len)
{
	struct tlshd_config *cf;
	FILE *f = fopen(path, "we");

	if (!f) {
		snprintf(err, len, "cannot write %s", path);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	cf = tlshd_config_load(path, err, len);
	if (cf && tlshd_config_load_creds(cf, err, len) < 0) {
		tlshd_config_put(cf);
		cf = NULL;
	}
	return cf;
}

static bool same_leaf(const struct tlshd_config *a,
		      const struct tlshd_config *b)
{
	const gnutls_datum_t *x = &a->cf_server_ck->ck_pcert[0].cert;
	const gnutls_datum_t *y = &b->cf_server_ck->ck_pcert[0].cert;

	return x->size == y->size && !memcmp(x->data, y->data, x->size);
}

/* Certificates, keys and CRLs that change on disk; key file rules. */
static void test_config_disk(const char *dir, const char *certs)
{
	char conf[512], text[2048], from[512], live[512], key[512], crl[512];
	char err[512], what[300];
	struct tlshd_config *cf, *nc;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/disk.conf", dir);
	snprintf(live, sizeof(live), "%s/live.pem", dir);
	snprintf(key, sizeof(key), "%s/live.key", dir);
	snprintf(crl, sizeof(crl), "%s/live-crl.pem", dir);
	snprintf(from, sizeof(from), "%s/server.pem", certs);
	if (!copy_file(from, live, 0644)) {
		result(false, "config: files that change on disk", "no certificates");
		return;
	}
	snprintf(from, sizeof(from), "%s/server.key", certs);
	copy_file(from, key, 0600);
	snprintf(from, sizeof(from), "%s/crl-empty.pem", certs);
	copy_file(from, crl, 0644);
	snprintf(text, sizeof(text),
		 "[authenticate.server]\nx509.truststore = %s/ca.pem\n"
		 "x509.crl = %s\nx509.certificate = %s\nx509.private_key = %s\n",
		 certs, crl, live, key);
	cf = load_conf(conf, text, err, sizeof(err));
	if (!cf) {
		result(false, "config: files that change on disk", err);
		return;
	}
	result(cf->cf_nstamps == 4 && !tlshd_config_changed(cf, what, sizeof(what)),
	       "config: the four files are noted when read, unchanged since", what);

	snprintf(from, sizeof(from), "%s/expired.pem", certs);
	copy_file(from, live, 0644);
	result(tlshd_config_changed(cf, what, sizeof(what)) &&
	       strstr(what, "[authenticate.server] x509.certificate") &&
	       strstr(what, "live.pem"),
	       "config: a certificate renamed into place is seen as changed", what);
	nc = tlshd_config_rebuild(cf, err, sizeof(err));
	result(nc && !same_leaf(cf, nc) && !tlshd_config_changed(nc, what, sizeof(what)),
	       "config: rebuilt from the same settings, the new certificate read",
	       nc ? what : err);
	tlshd_config_put(cf);
	cf = nc;
	if (!cf)
		return;

	f = fopen(crl, "we");
	if (f) {
		fputs("-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n", f);
		fclose(f);
	}
	nc = NULL;
	result(tlshd_config_changed(cf, what, sizeof(what)) &&
	       strstr(what, "x509.crl") &&
	       !(nc = tlshd_config_rebuild(cf, err, sizeof(err))) &&
	       strstr(err, "x509.crl"),
	       "config: a CRL that no longer parses: the rebuild fails, naming it",
	       err);
	tlshd_config_put(nc);
	tlshd_config_restamp(cf);
	result(!tlshd_config_changed(cf, what, sizeof(what)),
	       "config: after a failed rebuild the files count as read (no retry storm)",
	       what);
	unlink(key);
	result(tlshd_config_changed(cf, what, sizeof(what)) &&
	       strstr(what, "x509.private_key"),
	       "config: a key file that vanished is a change", what);
	tlshd_config_put(cf);

	/* the key file rules (ktls-utils': root's, mode 0600) */
	snprintf(from, sizeof(from), "%s/crl-empty.pem", certs);
	copy_file(from, crl, 0644);
	snprintf(from, sizeof(from), "%s/server.key", certs);
	copy_file(from, key, 0644);
	cf = load_conf(conf, text, err, sizeof(err));
	result(!cf && strstr(err, "live.key can be read or written by others (mode 0644): refused"),
	       "config: a key file others can read is refused, saying so", err);
	tlshd_config_put(cf);
	copy_file(from, key, 0600);
	if (!chown(key, 65534, 65534)) {
		cf = load_conf(conf, text, err, sizeof(err));
		result(!cf && strstr(err, "live.key is owned by uid 65534, not root: refused"),
		       "config: a key file not owned by root is refused, saying so",
		       err);
		tlshd_config_put(cf);
	} else {
		result(false, "config: a key file not owned by root is refused",
		       "chown failed (not root?)");
	}
	copy_file(from, key, 0640);
	cf = load_conf(conf, text, err, sizeof(err));
	result(cf != NULL, "config: a group-readable key loads (a warning)", err);
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

/* ---- log escaping ---- */

static void test_escape(void)
{
	static const struct {
		const char *name, *in;
		size_t inlen;
		const char *want;
	} t[] = {
		{ "escape: printable text unchanged", "server.test", 11,
		  "server.test" },
		{ "escape: a newline cannot start a forged log line",
		  "a\nhandshake req=1 result=ok", 27,
		  "a\\x0ahandshake req=1 result=ok" },
		{ "escape: quotes and backslashes cannot end a field",
		  "x\" y\\z", 6, "x\\x22 y\\x5cz" },
		{ "escape: NUL, DEL and bytes above 0x7f",
		  "a\0b\x7f\xff", 5, "a\\x00b\\x7f\\xff" },
	};
	struct tlshd_san san = { .san_kind = TLSHD_NAME_DNS };
	char out[128], why[512];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tlshd_log_escape(t[i].in, t[i].inlen, out, sizeof(out));
		result(!strcmp(out, t[i].want), t[i].name, out);
	}
	tlshd_log_escape("\n\n\n\n", 4, out, 10);
	result(!strcmp(out, "\\x0a\\x0a"),
	       "escape: cut at a whole escape, always terminated", out);
	memcpy(san.san_data, "evil\n.test", 10);
	san.san_len = 10;
	tlshd_x509_name_match(&san, 1, "server.test", why, sizeof(why));
	result(!strchr(why, '\n') && strstr(why, "DNS:evil\\x0a.test"),
	       "escape: a certificate name in a mismatch reason is escaped",
	       why);
}

/* ---- keyrings ---- */

static void test_keyring(void)
{
	struct tlshd_config *cf;
	key_serial_t peer, psk;
	char err[256];

	cf = tlshd_config_parse_buf("", 0, "k.conf", err, sizeof(err));
	/* what an older tlshd put into its session keyring */
	peer = add_key("user", "tlshd:peer:1234", "public certificate", 18,
		       KEY_SPEC_SESSION_KEYRING);
	psk = add_key("user", "unit-psk-identity", "0123456789abcdef", 16,
		      KEY_SPEC_SESSION_KEYRING);
	if (!cf || peer < 0 || psk < 0) {
		result(false, "keyring: test keys", strerror(errno));
	} else {
		result(tlshd_keyring_find_psk(cf, 0, "unit-psk-identity") == psk,
		       "keyring: a PSK identity is found in the session keyring",
		       "not found");
		result(tlshd_keyring_find_psk(cf, 0, "tlshd:peer:1234") == 0,
		       "keyring: a peer certificate key is never taken for a PSK",
		       "found: its public payload would be the PSK");
	}
	if (peer > 0)
		keyctl_invalidate(peer);
	if (psk > 0)
		keyctl_invalidate(psk);
	tlshd_config_put(cf);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *certs = argc > 2 ? argv[2] : NULL;
	const char *manpage = argc > 3 ? argv[3] : "tlshd/tlshd.8";

	setvbuf(stdout, NULL, _IOLBF, 0);	/* in order with the log lines */
	tlshd_log_open(true);
	gnutls_global_init();
	test_config();
	test_config_values();
	test_config_files(dir);
	if (certs)
		test_config_disk(dir, certs);
	else
		result(false, "config: files that change on disk", "no CERTDIR given");
	test_names();
	test_urls();
	test_escape();
	test_keyring();
	test_netlink(manpage);
	if (certs)
		test_live(dir, certs);
	else
		result(false, "live: sessions a new CRL cuts", "no CERTDIR given");
	gnutls_global_deinit();
	/* host.sh checks for this line: a run that stops early lacks it */
	printf("# tlshd-unit: %d cases, %d failed\n", cases, failures);
	return failures ? 1 : 0;
}
