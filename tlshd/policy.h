/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tlshd requires of a TLS peer, in one place: tlshd itself,
 * rpctls probe (mount-helper/diag.c, so that it cannot call a server good
 * that tlshd refuses) and the handshake benchmark (tlshd/bench/hsbench.c)
 * build on it.  It depends on GnuTLS only, not on the rest of tlshd.
 *
 *  - the GnuTLS priority string: TLS 1.3 only, no session tickets, and
 *    only the ciphers 6.1's kTLS runs;
 *  - ALPN "sunrpc" (RFC 9289 section 5) and the RPC-with-TLS extended key
 *    usages (section 7.1);
 *  - the peer-name rule of RFC 9289 section 5.2.1 (tlshd_x509_name_match);
 *  - each certificate-verification status bit in words;
 *  - where the configuration file is, and how its booleans read.
 *
 * The functions keep the names they had in x509.c and log.c.
 */
#ifndef TLSHD_POLICY_H
#define TLSHD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define TLSHD_ALPN		"sunrpc"

/* ktls-utils 1.3 moved it; the old place is still read when it is absent */
#define TLSHD_DEFAULT_CONFIG	"/etc/tlshd/config"
#define TLSHD_LEGACY_CONFIG	"/etc/tlshd.conf"

/* RFC 9289 section 7.1: the RPC-with-TLS extended key usages */
#define TLSHD_OID_RPC_TLS_CLIENT	"1.3.6.1.5.5.7.3.33"
#define TLSHD_OID_RPC_TLS_SERVER	"1.3.6.1.5.5.7.3.34"

/*
 * The priority string is CIPHERS (which a priority string from the kernel
 * replaces), then LIMITS (which nothing lifts), then PSK for PSK
 * handshakes.  TLSHD_PRIORITY is the whole default for certificates.
 */
#define TLSHD_PRIORITY_CIPHERS \
	"NORMAL:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-128-CCM"
#define TLSHD_PRIORITY_LIMITS	":-VERS-ALL:+VERS-TLS1.3:-AES-128-CCM-8:%NO_TICKETS"
#define TLSHD_PRIORITY_PSK	":+ECDHE-PSK:+DHE-PSK:+PSK"
#define TLSHD_PRIORITY		TLSHD_PRIORITY_CIPHERS TLSHD_PRIORITY_LIMITS

/* A subjectAltName entry of a peer certificate */
enum tlshd_name_kind {
	TLSHD_NAME_DNS,
	TLSHD_NAME_IP,
};
struct tlshd_san {
	enum tlshd_name_kind	san_kind;
	unsigned char		san_data[256];	/* DNS name or address bytes */
	size_t			san_len;
};

/* 0 when @peername (a DNS name or an address) matches; -1 with @why */
int tlshd_x509_name_match(const struct tlshd_san *sans, unsigned int nsans,
			  const char *peername, char *why, size_t whylen);
int tlshd_x509_crt_name_match(gnutls_x509_crt_t crt, const char *peername,
			      char *why, size_t whylen);
bool tlshd_x509_crt_has_eku(gnutls_x509_crt_t crt, const char *oid);

/* GnuTLS certificate status bits as "expired, unknown issuer" */
void tlshd_log_cert_status(unsigned int status, char *buf, size_t len);
/* The peer's bytes made printable: \xNN for anything else, '"' and '\\' */
char *tlshd_log_escape(const void *in, size_t inlen, char *out,
		       size_t outlen);

/* The configuration file tlshd reads without --config */
const char *tlshd_config_default_path(void);
/* A key-file boolean: 1/true/yes/on or 0/false/no/off, any case */
bool tlshd_config_parse_bool(const char *s, bool *out);

#endif /* TLSHD_POLICY_H */
