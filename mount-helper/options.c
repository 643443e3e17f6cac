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

const char *xprtsec_name(enum xprtsec x)
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
bool rpctls_relevant(const char *opts)
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

int mopts_parse(const char *opts, bool nfs4, struct mopts *m, char *err,
		size_t errlen)
{
	char *copy, *tok, *save = NULL;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->vers = nfs4 ? 4 : 0;
	copy = strdup(opts ? opts : "");
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : NULL;
		size_t klen = eq ? (size_t)(eq - tok) : strlen(tok);

#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(tok, k, klen))
		if (KEY("xprtsec")) {
			enum xprtsec x;

			if (!val || !strcmp(val, ""))
				x = XS_UNSET;
			else if (!strcmp(val, "none"))
				x = XS_NONE;
			else if (!strcmp(val, "tls"))
				x = XS_TLS;
			else if (!strcmp(val, "mtls"))
				x = XS_MTLS;
			else if (!strcmp(val, "auto"))
				x = XS_AUTO;
			else
				x = XS_UNSET;
			if (x == XS_UNSET) {
				seterr(err, errlen,
				       "'%s': xprtsec= takes none, tls, mtls or auto",
				       tok);
				ret = -EINVAL;
				break;
			}
			if (m->xprtsec && m->xprtsec != x) {
				seterr(err, errlen,
				       "'%s' conflicts with xprtsec=%s given before",
				       tok, xprtsec_name(m->xprtsec));
				ret = -EINVAL;
				break;
			}
			m->xprtsec = x;
			continue;
		}
		if (KEY("tlscert") || KEY("tlskey")) {
			char **dst = KEY("tlscert") ? &m->tlscert : &m->tlskey;

			if (!val || !*val) {
				seterr(err, errlen, "'%s': needs a file name",
				       tok);
				ret = -EINVAL;
				break;
			}
			if (*dst) {
				seterr(err, errlen, "'%s': given twice", tok);
				ret = -EINVAL;
				break;
			}
			*dst = strdup(val);
			if (!*dst) {
				ret = -ENOMEM;
				break;
			}
			continue;
		}
		if (KEY("cert_serial") || KEY("privkey_serial"))
			m->has_serials = true;
		if (KEY("port")) {
			if (!val || !parse_uint(val, 65535, &m->port)) {
				seterr(err, errlen,
				       "'%s': port= takes a number 0-65535",
				       tok);
				ret = -EINVAL;
				break;
			}
		}
		if (KEY("vers") || KEY("nfsvers")) {
			if (val && (val[0] == '2' || val[0] == '3' ||
				    val[0] == '4'))
				m->vers = (unsigned int)(val[0] - '0');
		}
		if (KEY("v3"))
			m->vers = 3;
		if (KEY("v4"))
			m->vers = 4;
		if (KEY("proto") && val &&
		    (!strcmp(val, "rdma") || !strcmp(val, "rdma6") ||
		     !strcmp(val, "udp") || !strcmp(val, "udp6")))
			m->rdma_or_udp = true;
		if (KEY("proto") && val &&
		    (!strcmp(val, "tcp") || !strcmp(val, "tcp6")))
			m->rdma_or_udp = false;
		if (KEY("rdma") || KEY("udp"))
			m->rdma_or_udp = true;
		if (KEY("tcp"))
			m->rdma_or_udp = false;
#undef KEY
		ret = append(&m->passthru, tok);
		if (ret < 0)
			break;
	}
	free(copy);
	if (ret == -ENOMEM)
		seterr(err, errlen, "out of memory");
	if (ret < 0)
		return ret;

	/* Combinations */
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
		       xprtsec_name(m->xprtsec));
		return -EINVAL;
	}
	if (m->rdma_or_udp && (m->xprtsec == XS_TLS ||
			       m->xprtsec == XS_MTLS)) {
		seterr(err, errlen,
		       "xprtsec=%s needs TCP: RPC-with-TLS is not defined over UDP or RDMA here",
		       xprtsec_name(m->xprtsec));
		return -EINVAL;
	}
	return 0;
}

void mopts_free(struct mopts *m)
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
char *mopts_build(const struct mopts *m, enum xprtsec chosen,
		  int32_t cert_serial, int32_t key_serial)
{
	char *out = m->passthru ? strdup(m->passthru) : strdup("");
	char buf[96];

	if (!out)
		return NULL;
	if (chosen != XS_UNSET && chosen != XS_AUTO) {
		snprintf(buf, sizeof(buf), "xprtsec=%s", xprtsec_name(chosen));
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
int split_spec(const char *spec, char *host, size_t hlen, char *err,
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
