// SPDX-License-Identifier: GPL-2.0
/*
 * What tlshd requires of a TLS peer (policy.h), shared with rpctls probe
 * and the handshake benchmark.  The peer-name check of RFC 9289 section
 * 5.2.1:
 *
 *  - the peer name the kernel passes is a DNS name or an IP address;
 *  - a DNS name matches a dNSName SAN, case-insensitively, trailing dot
 *    ignored; SANs containing '*' never match (RFC 9289: no wildcards);
 *  - an address matches an iPAddress SAN of the same family, exactly;
 *  - the subject CN is never used (RFC 6125 DNS-ID only).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy.h"

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
		/* the peer's bytes: escaped before they reach the log */
		snprintf(buf, len, "DNS:");
		if (len > 4)
			tlshd_log_escape(s->san_data, s->san_len, buf + 4,
					 len - 4);
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

/* Each certificate-verification status bit in words. */
void tlshd_log_cert_status(unsigned int status, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *word;
	} bits[] = {
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_SIGNER_NOT_FOUND, "unknown issuer" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "issuer is not a CA" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not yet valid" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED, "CRL superseded" },
		{ GNUTLS_CERT_UNEXPECTED_OWNER, "unexpected owner" },
		{ GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE,
		  "CRL issued in the future" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
		  "issuer constraints violated" },
		{ GNUTLS_CERT_MISMATCH, "certificate mismatch" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "purpose mismatch" },
		{ GNUTLS_CERT_MISSING_OCSP_STATUS, "missing OCSP status" },
		{ GNUTLS_CERT_INVALID_OCSP_STATUS, "invalid OCSP status" },
		{ GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS,
		  "unknown critical extension" },
	};
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(status & bits[i].bit))
			continue;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", used ? ", " : "", bits[i].word);
		if (used >= len)
			return;
	}
	if (!used && (status & GNUTLS_CERT_INVALID))
		snprintf(buf, len, "invalid");
}

char *tlshd_log_escape(const void *in, size_t inlen, char *out,
		       size_t outlen)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	if (!outlen)
		return out;
	for (i = 0; i < inlen; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}

/* tlshd.conf: ktls-utils 1.3 moved it; the old place is read when alone */
const char *tlshd_config_default_path(void)
{
	if (access(TLSHD_DEFAULT_CONFIG, F_OK) &&
	    !access(TLSHD_LEGACY_CONFIG, F_OK))
		return TLSHD_LEGACY_CONFIG;
	return TLSHD_DEFAULT_CONFIG;
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
