// SPDX-License-Identifier: GPL-2.0
/*
 * Hand the session to kTLS: TCP_ULP "tls", then TLS_TX and TLS_RX with the
 * traffic keys, IVs and record sequence numbers GnuTLS holds right now.
 *
 * TLS 1.3 only.  The 12-byte GnuTLS IV splits into kTLS's 4-byte salt and
 * 8-byte iv for the AES modes; CHACHA20-POLY1305 takes all 12 bytes as iv.
 * The sequence numbers come from gnutls_record_get_state(), so records
 * GnuTLS already processed after the handshake are accounted for.
 * GnuTLS reads exactly one record at a time, so nothing undecrypted stays
 * in its buffers; decrypted application data it still holds would be lost
 * and fails the hand-off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <linux/tls.h>

#include "tlshd.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

bool tlshd_ktls_disabled;

bool tlshd_ktls_cipher_ok(gnutls_cipher_algorithm_t cipher)
{
	switch (cipher) {
	case GNUTLS_CIPHER_AES_128_GCM:
	case GNUTLS_CIPHER_AES_256_GCM:
	case GNUTLS_CIPHER_AES_128_CCM:
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		return true;
	default:
		return false;
	}
}

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_aes_ccm_128 ccm128;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

#define FILL(ci, f, key, iv, seq, saltlen)				\
	do {								\
		if ((key).size != sizeof((ci)->f.key) ||		\
		    (iv).size != saltlen + sizeof((ci)->f.iv))		\
			return -EINVAL;					\
		memcpy((ci)->f.key, (key).data, sizeof((ci)->f.key));	\
		memcpy((ci)->f.salt, (iv).data, saltlen);		\
		memcpy((ci)->f.iv, (iv).data + saltlen,			\
		       sizeof((ci)->f.iv));				\
		memcpy((ci)->f.rec_seq, seq, sizeof((ci)->f.rec_seq));	\
		len = sizeof((ci)->f);					\
	} while (0)

static int build(gnutls_session_t session, unsigned int read,
		 union crypto_info *ci, socklen_t *lenp)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	socklen_t len = 0;
	int ret;

	ret = gnutls_record_get_state(session, read, &mac, &iv, &key, seq);
	if (ret < 0)
		return -EIO;
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_3_VERSION;
	switch (gnutls_cipher_get(session)) {
	case GNUTLS_CIPHER_AES_128_GCM:
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		FILL(ci, gcm128, key, iv, seq, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		FILL(ci, gcm256, key, iv, seq, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		break;
	case GNUTLS_CIPHER_AES_128_CCM:
		ci->info.cipher_type = TLS_CIPHER_AES_CCM_128;
		FILL(ci, ccm128, key, iv, seq, TLS_CIPHER_AES_CCM_128_SALT_SIZE);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		ci->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		if (key.size != sizeof(ci->chacha.key) ||
		    iv.size != sizeof(ci->chacha.iv))
			return -EINVAL;
		memcpy(ci->chacha.key, key.data, sizeof(ci->chacha.key));
		memcpy(ci->chacha.iv, iv.data, sizeof(ci->chacha.iv));
		memcpy(ci->chacha.rec_seq, seq, sizeof(ci->chacha.rec_seq));
		len = sizeof(ci->chacha);
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	*lenp = len;
	return 0;
}

int tlshd_ktls_install(gnutls_session_t session, int fd, char *why,
		       size_t whylen)
{
	union crypto_info ci;
	socklen_t len;
	int ret;

	if (gnutls_protocol_get_version(session) != GNUTLS_TLS1_3) {
		snprintf(why, whylen, "kTLS hand-off: not TLS 1.3");
		return -EPROTONOSUPPORT;
	}
	if (!tlshd_ktls_cipher_ok(gnutls_cipher_get(session))) {
		snprintf(why, whylen, "kTLS hand-off: cipher %s not supported",
			 gnutls_cipher_get_name(gnutls_cipher_get(session)));
		return -EPROTONOSUPPORT;
	}
	if (gnutls_record_check_pending(session)) {
		snprintf(why, whylen,
			 "kTLS hand-off: %zu bytes of application data already read",
			 gnutls_record_check_pending(session));
		return -EIO;
	}
	if (tlshd_ktls_disabled)
		return 0;

	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		ret = -errno;
		snprintf(why, whylen, "kTLS: TCP_ULP tls: %s%s", strerror(errno),
			 errno == ENOENT ? " (is the tls module available?)" :
			 "");
		return ret;
	}
	ret = build(session, 0, &ci, &len);
	if (!ret && setsockopt(fd, SOL_TLS, TLS_TX, &ci, len) < 0)
		ret = -errno;
	if (ret) {
		snprintf(why, whylen, "kTLS: TLS_TX: %s", strerror(-ret));
		goto out;
	}
	ret = build(session, 1, &ci, &len);
	if (!ret && setsockopt(fd, SOL_TLS, TLS_RX, &ci, len) < 0)
		ret = -errno;
	if (ret)
		snprintf(why, whylen, "kTLS: TLS_RX: %s", strerror(-ret));
out:
	explicit_bzero(&ci, sizeof(ci));
	return ret;
}
