// SPDX-License-Identifier: GPL-2.0
/*
 * Mount options: the ones rpctls handles are taken out, the rest is passed
 * to the real mount.nfs unchanged and in order.
 *
 *   xprtsec=none|tls|mtls   passed on (checked first)
 *   xprtsec=auto            probe; becomes xprtsec=tls (or mtls) or nothing
 *   tlscert=FILE            PEM certificate for this mount (needs mtls/auto)
 *   tlskey=FILE             its PEM private key
 *
 * Read but passed on: port=, vers=/nfsvers=, proto=, cert_serial=,
 * privkey_serial=.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpctls.h"

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *mh_xprtsec_name(enum xprtsec x)
{
	switch (x) {
	case XS_NONE:
		return "none";
	case XS_TLS:
		return "tls";
	case XS_MTLS:
		return "mtls";
	case XS_AUTO:
		return "auto";
	default:
		return "unset";
	}
}

static bool parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

static int append(char **dst, const char *opt)
{
	size_t old = *dst ? strlen(*dst) : 0;
	char *n = realloc(*dst, old + strlen(opt) + 2);

	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ',';
	strcpy(n + old, opt);
	*dst = n;
	return 0;
}

/* True when the options contain anything rpctls acts on. */
bool mh_rpctls_relevant(const char *opts)
{
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, "xprtsec=", 8) || !strncmp(p, "tlscert=", 8) ||
		    !strncmp(p, "tlskey=", 7))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* One option: the name (@klen bytes of @tok) and the value after '=' */
struct mopt {
	const char	*tok;
	size_t		klen;
	const char	*val;	/* NULL without '=' */
};

static bool is_key(const struct mopt *o, const char *k)
{
	return o->klen == strlen(k) && !strncmp(o->tok, k, o->klen);
}

static enum xprtsec xprtsec_of(const char *val)
{
	static const enum xprtsec all[] = { XS_NONE, XS_TLS, XS_MTLS,
					    XS_AUTO };
	size_t i;

	for (i = 0; val && i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(val, mh_xprtsec_name(all[i])))
			return all[i];
	return XS_UNSET;
}

/* xprtsec=: one of ours, once (or repeated with the same value) */
static int parse_xprtsec(const struct mopt *o, struct mopts *m, char *err,
			 size_t errlen)
{
	enum xprtsec x = xprtsec_of(o->val);

	if (x == XS_UNSET) {
		seterr(err, errlen,
		       "'%s': xprtsec= takes none, tls, mtls or auto", o->tok);
		return -EINVAL;
	}
	if (m->xprtsec && m->xprtsec != x) {
		seterr(err, errlen, "'%s' conflicts with xprtsec=%s given before",
		       o->tok, mh_xprtsec_name(m->xprtsec));
		return -EINVAL;
	}
	m->xprtsec = x;
	return 0;
}

/* tlscert=FILE, tlskey=FILE: each once, with a file name */
static int parse_tls_file(const struct mopt *o, struct mopts *m, char *err,
			  size_t errlen)
{
	bool cert = is_key(o, "tlscert");

	if (!o->val || !*o->val) {
		seterr(err, errlen, "'%s': needs a file name", o->tok);
		return -EINVAL;
	}
	if (cert ? m->tlscert : m->tlskey) {
		seterr(err, errlen, "'%s': given twice", o->tok);
		return -EINVAL;
	}
	if (cert)
		m->tlscert = strdup(o->val);
	else
		m->tlskey = strdup(o->val);
	return (cert ? m->tlscert : m->tlskey) ? 0 : -ENOMEM;
}

/* The transport: proto=, or the udp/rdma/tcp flags; the last one counts. */
static void note_transport(const struct mopt *o, struct mopts *m)
{
	const char *v = o->val;

	if (is_key(o, "proto") && v &&
	    (!strcmp(v, "rdma") || !strcmp(v, "rdma6") ||
	     !strcmp(v, "udp") || !strcmp(v, "udp6")))
		m->rdma_or_udp = true;
	if (is_key(o, "proto") && v && (!strcmp(v, "tcp") || !strcmp(v, "tcp6")))
		m->rdma_or_udp = false;
	if (is_key(o, "rdma") || is_key(o, "udp"))
		m->rdma_or_udp = true;
	if (is_key(o, "tcp"))
		m->rdma_or_udp = false;
}

/* An option mount.nfs gets: what of it the probe and checks need. */
static int note_passthru(const struct mopt *o, struct mopts *m, char *err,
			 size_t errlen)
{
	const char *v = o->val;

	if (is_key(o, "cert_serial") || is_key(o, "privkey_serial"))
		m->has_serials = true;
	if (is_key(o, "port") && (!v || !parse_uint(v, 65535, &m->port))) {
		seterr(err, errlen, "'%s': port= takes a number 0-65535",
		       o->tok);
		return -EINVAL;
	}
	if ((is_key(o, "vers") || is_key(o, "nfsvers")) && v &&
	    (v[0] == '2' || v[0] == '3' || v[0] == '4'))
		m->vers = (unsigned int)(v[0] - '0');
	if (is_key(o, "v3"))
		m->vers = 3;
	if (is_key(o, "v4"))
		m->vers = 4;
	note_transport(o, m);
	return append(&m->passthru, o->tok);
}

static int parse_one(char *tok, struct mopts *m, char *err, size_t errlen)
{
	char *eq = strchr(tok, '=');
	struct mopt o = { .tok = tok, .val = eq ? eq + 1 : NULL,
			  .klen = eq ? (size_t)(eq - tok) : strlen(tok) };

	if (is_key(&o, "xprtsec"))
		return parse_xprtsec(&o, m, err, errlen);
	if (is_key(&o, "tlscert") || is_key(&o, "tlskey"))
		return parse_tls_file(&o, m, err, errlen);
	return note_passthru(&o, m, err, errlen);
}

/* Options that are fine one by one but not together */
static int check_combinations(const struct mopts *m, char *err,
			      size_t errlen)
{
	if (!!m->tlscert != !!m->tlskey) {
		seterr(err, errlen, "%s given without %s",
		       m->tlscert ? "tlscert=" : "tlskey=",
		       m->tlscert ? "tlskey=" : "tlscert=");
		return -EINVAL;
	}
	if (m->tlscert && m->has_serials) {
		seterr(err, errlen,
		       "tlscert=/tlskey= and cert_serial=/privkey_serial= both name a client identity: give one of them");
		return -EINVAL;
	}
	if (m->tlscert && m->xprtsec != XS_MTLS && m->xprtsec != XS_AUTO) {
		seterr(err, errlen,
		       "tlscert= needs xprtsec=mtls (or auto): xprtsec=%s does not present a client certificate",
		       mh_xprtsec_name(m->xprtsec));
		return -EINVAL;
	}
	if (m->rdma_or_udp && (m->xprtsec == XS_TLS ||
			       m->xprtsec == XS_MTLS)) {
		seterr(err, errlen,
		       "xprtsec=%s needs TCP: RPC-with-TLS is not defined over UDP or RDMA here",
		       mh_xprtsec_name(m->xprtsec));
		return -EINVAL;
	}
	return 0;
}

int mh_mopts_parse(const char *opts, bool nfs4, struct mopts *m, char *err,
		   size_t errlen)
{
	char *copy, *tok, *save = NULL;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->vers = nfs4 ? 4 : 0;
	copy = strdup(opts ? opts : "");
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save))
		ret = parse_one(tok, m, err, errlen);
	free(copy);
	if (ret == -ENOMEM)
		seterr(err, errlen, "out of memory");
	if (ret < 0)
		return ret;
	return check_combinations(m, err, errlen);
}

void mh_mopts_free(struct mopts *m)
{
	free(m->tlscert);
	free(m->tlskey);
	free(m->passthru);
	memset(m, 0, sizeof(*m));
}

/*
 * The option string for the real mount.nfs: the passed-through options,
 * then xprtsec=@chosen (nothing for XS_UNSET) and the key serials.
 */
char *mh_mopts_build(const struct mopts *m, enum xprtsec chosen,
		     int32_t cert_serial, int32_t key_serial)
{
	char *out = m->passthru ? strdup(m->passthru) : strdup("");
	char buf[96];

	if (!out)
		return NULL;
	if (chosen != XS_UNSET && chosen != XS_AUTO) {
		snprintf(buf, sizeof(buf), "xprtsec=%s", mh_xprtsec_name(chosen));
		if (append(&out, buf) < 0)
			goto oom;
	}
	if (cert_serial > 0 && key_serial > 0) {
		snprintf(buf, sizeof(buf), "cert_serial=%d,privkey_serial=%d",
			 cert_serial, key_serial);
		if (append(&out, buf) < 0)
			goto oom;
	}
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
oom:
	free(out);
	return NULL;
}

/* "host:/path", "[v6]:/path" or "v6:addr:/path" with the last ':' */
int mh_split_spec(const char *spec, char *host, size_t hlen, char *err,
		  size_t errlen)
{
	const char *colon;
	size_t n;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':') {
			seterr(err, errlen,
			       "'%s': expected [ADDRESS]:/PATH", spec);
			return -EINVAL;
		}
		n = (size_t)(rb - spec - 1);
		spec++;
	} else {
		colon = strstr(spec, ":/");
		if (!colon)
			colon = strrchr(spec, ':');
		if (!colon || colon == spec) {
			seterr(err, errlen, "'%s': expected SERVER:/PATH",
			       spec);
			return -EINVAL;
		}
		n = (size_t)(colon - spec);
	}
	if (n == 0 || n >= hlen) {
		seterr(err, errlen, "'%s': bad server name", spec);
		return -EINVAL;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	return 0;
}
